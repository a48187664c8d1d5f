"""The manifests in ``examples/`` are what admission accepts: the README tells users to
apply them as they are."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

import pytest
import yaml

from almanac.core.params import validate_params
from almanac.core.specs import check_spec
from almanac.templates import builtin_params_schema

EXAMPLES: Final = Path(__file__).resolve().parents[3] / "examples"


def _scheduled_jobs() -> list[tuple[str, dict[str, Any]]]:
    found = []
    for path in sorted(EXAMPLES.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc and doc.get("kind") == "ScheduledJob":
                found.append((f"{path.name}:{doc['metadata']['name']}", doc))
    return found


JOBS: Final = _scheduled_jobs()


def test_the_readmes_first_job_is_there() -> None:
    assert "hello.yaml:hello" in [name for name, _ in JOBS]


@pytest.mark.parametrize(("name", "manifest"), JOBS, ids=[n for n, _ in JOBS])
def test_each_example_job_passes_the_spec_and_params_checks(
    name: str, manifest: dict[str, Any]
) -> None:
    spec = check_spec(manifest["spec"])
    schema = builtin_params_schema(spec.template)
    if schema is not None:  # a built-in type: its params are checked as admission does
        validate_params(spec.params, schema)

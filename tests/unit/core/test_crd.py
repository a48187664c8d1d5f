"""The committed CRD YAML is generated from the models and is a structural schema."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from almanac.core.crd import check_crds, render_crds

CRD_DIR = Path(__file__).resolve().parents[3] / "crds"
FORBIDDEN_KEYS = {"$ref", "$defs", "anyOf", "oneOf", "allOf", "title", "const"}


def test_committed_crds_match_the_models() -> None:
    assert check_crds(CRD_DIR) == [], "run: python -m almanac crds"


def walk(node: Any, path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(node, dict):
        yield path, node
        for key, value in node.get("properties", {}).items():
            yield from walk(value, f"{path}.{key}")
        if isinstance(node.get("items"), dict):
            yield from walk(node["items"], f"{path}[]")
        if isinstance(node.get("additionalProperties"), dict):
            yield from walk(node["additionalProperties"], f"{path}{{}}")


@pytest.mark.parametrize("name", sorted(render_crds()))
def test_schemas_are_structural(name: str) -> None:
    crd = yaml.safe_load(render_crds()[name])
    schema = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    for path, node in walk(schema):
        assert not FORBIDDEN_KEYS & node.keys(), f"{path}: {FORBIDDEN_KEYS & node.keys()}"
        untyped_ok = node.get("x-kubernetes-preserve-unknown-fields") or node.get(
            "x-kubernetes-int-or-string"
        )
        assert "type" in node or untyped_ok, f"{path} has no type"
        assert not ("properties" in node and "additionalProperties" in node), path
        if node.get("x-kubernetes-validations"):
            assert "type" in node, f"{path}: CEL needs a typed node"


def test_scheduled_job_crd_shape() -> None:
    crd = yaml.safe_load(render_crds()["almanac.dev_scheduledjobs.yaml"])
    names = crd["spec"]["names"]
    assert names["shortNames"] == ["sj"]
    assert names["categories"] == ["almanac"]
    version = crd["spec"]["versions"][0]
    assert version["subresources"] == {"status": {}}
    printed = version["additionalPrinterColumns"]
    columns = [c["name"].upper() for c in printed if not c.get("priority")]
    assert columns == [
        "SCHEDULE", "TZ", "SUSPEND", "ACTIVE", "LAST RUN", "LAST RESULT", "READY", "NEXT RUN", "AGE"
    ]  # fmt: skip
    wide = [c["name"].upper() for c in printed if c.get("priority") == 1]
    assert wide == ["TEMPLATE", "QUEUED", "LAST SUCCESS", "MESSAGE"]
    last_run = next(c for c in printed if c["name"] == "Last Run")
    assert last_run["jsonPath"] == ".status.lastStartTime"  # not the last slot considered
    spec = version["schema"]["openAPIV3Schema"]["properties"]["spec"]
    schedule = spec["properties"]["schedule"]
    assert schedule["properties"]["timeZone"]["default"] == "UTC"
    assert schedule["properties"]["every"]["pattern"].startswith("^([0-9]+d)?")
    assert spec["properties"]["catchUp"]["properties"]["window"]["default"] == "1h"
    assert spec["x-kubernetes-validations"][0]["message"].startswith("spec.schedule is required")


def test_template_crds_carry_params_schema_and_allowed_namespaces() -> None:
    for name in ("almanac.dev_jobtemplates.yaml", "almanac.dev_clusterjobtemplates.yaml"):
        crd = yaml.safe_load(render_crds()[name])
        spec = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
        assert spec["properties"]["paramsSchema"]["x-kubernetes-preserve-unknown-fields"]
        for field in ("image", "command", "args", "env", "allowedNamespaces"):
            assert field in spec["properties"]

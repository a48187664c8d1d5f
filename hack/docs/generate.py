"""Write the generated reference pages of ``docs/`` (``--check``: only compare).

Run from the repository root: ``.venv/bin/python -m hack.docs.generate [--check]``. The
pages restate the code (the facade's OpenAPI document, the CRDs built from the models), so
writing them by hand would let them drift; ``tests/unit/docs/test_generated_pages.py``
fails when a committed page differs from what this writes now.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Final

import yaml

from almanac.api import ApiSettings, create_app
from almanac.core.crd import render_crds
from hack.docs.crdref import render_crd_reference
from hack.docs.restref import render_rest_reference

__all__ = ["COMMAND", "DOCS", "PAGES", "drift", "render_pages", "write_pages"]

REPO: Final = Path(__file__).resolve().parents[2]
DOCS: Final = REPO / "docs"
#: How the pages name their generator (and what to run when the check fails).
COMMAND: Final = "python -m hack.docs.generate"


def _rest() -> str:
    return render_rest_reference(create_app(ApiSettings()).openapi(), generator=COMMAND)


def _crds() -> str:
    crds = [yaml.safe_load(text) for text in render_crds().values()]
    return render_crd_reference(crds, generator=COMMAND)


#: Page (relative to ``docs/``) -> what renders it.
PAGES: Final[dict[str, Callable[[], str]]] = {
    "rest-reference.md": _rest,
    "crd-reference.md": _crds,
}


def render_pages() -> dict[Path, str]:
    """Every generated page's path and the text it should have now."""
    return {DOCS / name: render() for name, render in PAGES.items()}


def drift() -> list[str]:
    """A line per page that is missing or differs from what the generator writes."""
    problems = []
    for path, text in render_pages().items():
        if not path.is_file():
            problems.append(f"{path.relative_to(REPO)} is missing")
        elif path.read_text(encoding="utf-8") != text:
            problems.append(f"{path.relative_to(REPO)} is stale")
    return problems


def write_pages() -> list[Path]:
    """Write the pages whose text changed; return those written."""
    written = []
    for path, text in render_pages().items():
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if a page is stale")
    args = parser.parse_args(argv)
    if args.check:
        problems = drift()
        for problem in problems:
            print(f"{problem}; run {COMMAND}", file=sys.stderr)
        return 1 if problems else 0
    for path in write_pages():
        print(f"wrote {path.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

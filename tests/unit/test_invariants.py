"""The invariants are written down once (docs/architecture.md) and the code cites them by
name: a citation of one that is not there, or a bare number, fails here."""

from __future__ import annotations

import re
from pathlib import Path

import almanac

PACKAGE = Path(almanac.__file__).parent
PAGE = PACKAGE.parent / "docs" / "architecture.md"
CITATION = re.compile(r"invariant\s+([a-z0-9-]+)", re.IGNORECASE)


def _defined() -> set[str]:
    return set(re.findall(r"^### ([a-z0-9-]+)$", PAGE.read_text(), re.MULTILINE))


def test_every_cited_invariant_is_defined_in_the_docs() -> None:
    defined = _defined()
    assert len(defined) >= 6
    unknown = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for name in CITATION.findall(path.read_text()):
            if name.lower() != "protected" and name not in defined:
                unknown.append(f"{path.relative_to(PACKAGE)}: invariant {name}")
    assert unknown == [], f"define them in {PAGE} or cite one that is:\n" + "\n".join(unknown)


def test_every_defined_invariant_is_cited_somewhere() -> None:
    cited = {name for path in PACKAGE.rglob("*.py") for name in CITATION.findall(path.read_text())}
    assert _defined() <= cited

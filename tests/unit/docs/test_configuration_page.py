"""``docs/configuration.md`` (with ``docs/run-contract.md`` for the variables of run pods)
lists exactly the ``ALMANAC_*`` variables the code uses, each once.

"Uses" means: the name is spelled in a string of ``almanac/`` that is not a docstring (a
variable read with ``env.get``, named in an error message, or set on a run pod). Comments
and docstrings do not count, so prose about a variable cannot keep a dead one listed. A
name must be complete: ``ALMANAC_API_`` style prefixes are skipped.
"""

from __future__ import annotations

import ast
import re
from collections import Counter
from pathlib import Path
from typing import Final

import almanac

PACKAGE: Final = Path(almanac.__file__).parent
DOCS: Final = PACKAGE.parent / "docs"
#: Where variables are listed: the run contract holds those of run pods.
PAGES: Final = (DOCS / "configuration.md", DOCS / "run-contract.md")
NAME: Final = re.compile(r"\bALMANAC_[A-Z0-9_]*[A-Z0-9]\b")
ROW: Final = re.compile(r"^\| `(ALMANAC_[A-Z0-9_]+)` \|(.*)\|\s*$")


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            first = node.body[0] if node.body else None
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def used_names() -> dict[str, set[str]]:
    """Every variable name in a non-docstring string of the package, with its modules."""
    used: dict[str, set[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        skip = _docstrings(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                if id(node) in skip:
                    continue
                for name in NAME.findall(node.value):
                    used.setdefault(name, set()).add(str(path.relative_to(PACKAGE)))
    return used


def documented_rows() -> list[tuple[str, list[str]]]:
    """``(name, other cells)`` of every table row whose first cell is a variable."""
    rows = []
    for page in PAGES:
        for line in page.read_text(encoding="utf-8").splitlines():
            if match := ROW.match(line):
                rows.append((match[1], [c.strip() for c in match[2].split(" | ")]))
    return rows


def test_the_scan_finds_the_variables_it_should() -> None:
    used = used_names()
    # One read by each process, one set on run pods, one built from a prefix table.
    for name in (
        "ALMANAC_WATCH_NAMESPACES",
        "ALMANAC_API_PORT",
        "ALMANAC_TIMEOUT",
        "ALMANAC_SEQUENCE_STEP",
        "ALMANAC_KAFKA_SSL_KEYFILE",
    ):
        assert name in used, name
    assert not any(name.endswith("_") for name in used)


def test_every_variable_the_code_uses_is_documented() -> None:
    documented = {name for name, _ in documented_rows()}
    missing = {n: sorted(m) for n, m in used_names().items() if n not in documented}
    assert missing == {}, f"add these to {PAGES[0].name} (meaning and default): {missing}"


def test_every_documented_variable_is_used_by_the_code() -> None:
    used = used_names()
    dead = sorted(name for name, _ in documented_rows() if name not in used)
    assert dead == [], f"the pages list variables nothing in almanac/ uses: {dead}"


def test_each_variable_has_one_row_with_reader_default_and_meaning() -> None:
    rows = documented_rows()
    twice = [name for name, count in Counter(name for name, _ in rows).items() if count > 1]
    assert twice == [], f"listed more than once: {twice}"
    for name, cells in rows:
        assert len(cells) == 3, f"{name}: want | reader | default | meaning |, got {cells}"
        assert all(cells), f"{name}: an empty cell"

"""Almanac's API names are spelled once (``almanac/core/vocabulary.py``): no other module
of the package holds an ``almanac.dev`` string (docstrings aside), so a label the operator
writes and the facade selects on cannot drift apart."""

from __future__ import annotations

import ast
from pathlib import Path

import almanac
from almanac.core import vocabulary
from almanac.core.status import RunPhase

PACKAGE = Path(almanac.__file__).parent
#: pydantic's ``Literal`` needs the literal itself; the test below pins it to the vocabulary.
ALLOWED = {("core/resource.py", "almanac.dev/v1alpha1")}


def _docstrings(tree: ast.AST) -> set[int]:
    found: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def test_no_module_but_the_vocabulary_spells_an_almanac_dev_name() -> None:
    spelled: list[str] = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE).as_posix()
        if relative == "core/vocabulary.py":
            continue
        tree = ast.parse(path.read_text(), str(path))
        docstrings = _docstrings(tree)
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and "almanac.dev" in node.value
                and id(node) not in docstrings
                and (relative, node.value) not in ALLOWED
            ):
                spelled.append(f"{relative}:{node.lineno}: {node.value!r}")
    assert spelled == [], "use almanac.core.vocabulary instead:\n" + "\n".join(spelled)


def test_the_one_literal_copy_is_the_vocabularys_api_version() -> None:
    assert {("core/resource.py", vocabulary.API_VERSION)} == ALLOWED


def test_every_finished_run_phase_is_an_event_reason() -> None:
    """The operator posts a finished run's phase as the Event's reason."""
    for phase in (RunPhase.SUCCEEDED, RunPhase.FAILED, RunPhase.CANCELLED):
        assert vocabulary.EventReason(phase.value) == phase.value

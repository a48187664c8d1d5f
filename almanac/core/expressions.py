"""CEL expressions of a spec, compiled once and refused with their field and position.

Trigger ``filter``, ``key`` and ``params`` are CEL. Compiling them at admission turns a typo
into an error that names the field, the ``line:column`` and the fix, instead of a failure on
every event; this module is the one place that reads the CEL library's compile errors and
rewrites them for people. Compiled programs are cached by source text, so replicas and
re-reads of an unchanged spec do not compile again.

Expressions that describe too much work per event (too long, comprehensions nested inside
one another) are refused here too, by :mod:`almanac.core.celbounds`, which says why the caps
are what they are. The operator compiles stored specs with this same function, so an object
admitted before the caps existed is reported ``InvalidSpec`` instead of being served.
"""

from __future__ import annotations

import functools
import re
from typing import Final

import cel

from almanac.core.celbounds import check_bounds, check_size
from almanac.core.errors import InvalidInputError

__all__ = ["EVENT_ONLY", "FILTER_EXAMPLE", "VARIABLES", "compile_expression", "program_of"]

#: Variables a trigger expression may use: the event, and the sequence step (params only).
VARIABLES: Final = frozenset({"event", "step"})
#: Variables of ``filter`` and ``key``: they decide on an event before any step exists.
EVENT_ONLY: Final = frozenset({"event"})
#: The example filter error messages end with, so each one shows a working expression.
FILTER_EXAMPLE: Final = 'e.g. event.type == "ticket.opened"'
# Type denotations (``type(x) == int``) and the ``optional`` namespace are reported as
# variables by the library; other namespaces (``math``, ``strings``) it does not implement.
_BUILTIN_NAMES: Final = frozenset(
    {"bool", "bytes", "double", "int", "uint", "string", "list", "map", "null_type", "type"}
    | {"optional"}
)
_MACROS: Final = "all|exists|exists_one|map|filter"
_POSITION: Final = re.compile(r"<input>:(\d+):(\d+): (?:Syntax error: )?([^\n]*)")
_EXPECTING: Final = re.compile(r"\s*expecting \{.*$")


@functools.lru_cache(maxsize=4096)
def _compile(source: str) -> cel.Program:
    return cel.compile(source)


def program_of(source: str) -> cel.Program:
    """The program of a source :func:`compile_expression` accepted before (in this process
    or another: the evaluator process receives sources, not programs), from the cache.

    Raises
    ------
    ValueError
        The source does not parse (it was never accepted).
    """
    return _compile(source)


def _position(source: str, index: int) -> str:
    line = source.count("\n", 0, index) + 1
    column = index - source.rfind("\n", 0, index)
    return f"{line}:{column}"


def _syntax_message(source: str, error: ValueError) -> str:
    if not source.strip():
        return f"the expression is empty; write a CEL expression, {FILTER_EXAMPLE}"
    found = _POSITION.search(str(error))
    if found is None:
        return f"invalid CEL: {str(error).splitlines()[0]}; fix the expression, {FILTER_EXAMPLE}"
    line, column, reason = found.groups()
    reason = _EXPECTING.sub("", reason).replace("mismatched input '<EOF>'", "unexpected end")
    return (
        f"invalid CEL at {line}:{column}: {reason}; fix the expression there (quotes, "
        f"parentheses, operators), {FILTER_EXAMPLE}"
    )


def _is_bound(source: str, name: str) -> bool:
    """Whether ``name`` is a macro's loop variable (``event.tags.exists(t, t == "x")``)."""
    return re.search(rf"\.\s*(?:{_MACROS})\s*\(\s*{re.escape(name)}\s*,", source) is not None


def _unknown_message(source: str, name: str, variables: frozenset[str]) -> str:
    found = re.search(rf"(?<![\w.]){re.escape(name)}(?!\w)", source)
    where = f" at {_position(source, found.start())}" if found else ""
    allowed = " and ".join(sorted(variables)) or "no variables"
    hint = "; step is only defined in params" if name in VARIABLES else ""
    return f"unknown variable {name!r}{where}; expressions can use {allowed}{hint}"


def compile_expression(
    source: str, field: str, *, variables: frozenset[str] = VARIABLES
) -> cel.Program:
    """Compile one CEL expression of a spec, or refuse it naming ``field`` and the position.

    Compiled programs are cached by source text: a spec read again compiles nothing.

    Raises
    ------
    InvalidInputError
        Syntax errors (with ``line:column``), references to variables outside
        ``variables`` (loop variables of ``all``/``exists``/``map``/... are allowed), and
        expressions over the caps of :mod:`almanac.core.celbounds` (too long, nested or too
        many comprehensions).
    """
    check_size(source, field)  # before parsing: the parser's time grows with the length
    try:
        program = _compile(source)
    except ValueError as exc:
        raise InvalidInputError(_syntax_message(source, exc), field) from None
    check_bounds(source, field)
    for name in program.variables():
        if name not in variables and name not in _BUILTIN_NAMES and not _is_bound(source, name):
            raise InvalidInputError(_unknown_message(source, name, variables), field)
    return program

"""How much work a CEL expression may describe: the caps applied when it is compiled.

Why: the leader evaluates every trigger ``filter`` (and ``key``, ``params``) on every event
of its topic, for every tenant reading that topic, so one expensive expression slows every
other tenant down. Measured with ``common-expression-language`` 0.10.0 (cel-rust 0.14) on a
2-core machine:

- a comprehension inside another multiplies the list sizes, and ``map``/``filter`` copy
  their accumulator on every iteration (quadratic in the list): the 52-character
  ``event.items.all(a, event.items.map(b, b).size() > 0)`` takes 2.4 s on a 904-byte event
  whose ``items`` holds 430 numbers;
- even one ``map`` is quadratic: ``size(event.items.map(b, b)) > 0`` takes 7.2 s over the
  16,000 numbers a 32 KiB event can hold.

The library offers no cost limit: its API is ``compile``, ``execute``, ``variables`` and
``functions`` (no cost estimate, budget or cancellation), and ``execute`` holds the GIL
until it returns. So these caps refuse what admission can see (size, and comprehensions
nested inside one another); what they cannot see (a single comprehension over a long list)
is cut by the per-evaluation deadline of the operator's evaluator processes
(:mod:`almanac.operator.evaluation`). Invariant protected: no single expression can make
the work per event grow with a power of the event's size above the first, except through
one comprehension at a time, which the deadline bounds.

The caps, and why each value: every expression in the README, the examples and the tests
is far below them (the longest is about 100 characters, with one comprehension).

- :data:`MAX_SOURCE` 2,000 characters: room for a long ``params`` JSON template, and a
  bound on the number of operations one evaluation performs outside comprehensions.
- :data:`MAX_COMPREHENSIONS` 8 per expression: each is one pass over a list; chained or
  side by side they add up (``a.exists(...) || b.exists(...)``) instead of multiplying.
- no comprehension inside another's arguments: that is the nesting that multiplies.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from almanac.core.errors import InvalidInputError

__all__ = ["MAX_COMPREHENSIONS", "MAX_SOURCE", "check_bounds", "check_size"]

#: Longest expression accepted, in characters.
MAX_SOURCE: Final = 2_000
#: Most comprehension macros (``all exists exists_one map filter``) in one expression.
MAX_COMPREHENSIONS: Final = 8
_MACRO: Final = re.compile(r"\.\s*(all|exists_one|exists|map|filter)\s*\(")
_ONE_PER_LIST: Final = 'e.g. event.items.exists(i, i.n > 1) && event.tags.exists(t, t == "vip")'


@dataclass(frozen=True)
class _Open:
    """An open ``(``, ``[`` or ``{``; ``macro`` names the comprehension it opens, if any."""

    at: int
    macro: str | None


def _position(source: str, index: int) -> str:
    line = source.count("\n", 0, index) + 1
    column = index - source.rfind("\n", 0, index)
    return f"{line}:{column}"


def _string_end(source: str, start: int) -> int:
    """Index after the string literal opening at ``start`` (raw when prefixed by r or R,
    alone or beside b: ``r'..'``, ``rb'..'``, ``br'..'``)."""
    quote = source[start] * 3 if source.startswith(source[start] * 3, start) else source[start]
    raw = "r" in source[max(0, start - 2) : start].lower()
    index = start + len(quote)
    while index < len(source):
        if not raw and source[index] == "\\":
            index += 2
            continue
        if source.startswith(quote, index):
            return index + len(quote)
        if len(quote) == 1 and source[index] == "\n":
            return index
        index += 1
    return index


def _code_only(source: str) -> str:
    """``source`` with string literals and ``//`` comments blanked (same length), so
    brackets and macro names inside text are not mistaken for code."""
    chars = list(source)
    index = 0
    while index < len(source):
        char = source[index]
        if char in "\"'":
            end = _string_end(source, index)
            chars[index:end] = " " * (end - index)
            index = end
        elif source.startswith("//", index):
            end = source.find("\n", index)
            end = len(source) if end < 0 else end
            chars[index:end] = " " * (end - index)
            index = end
        else:
            index += 1
    return "".join(chars)


def check_size(source: str, field: str) -> None:
    """Refuse an expression longer than :data:`MAX_SOURCE` (before it is even parsed).

    Raises
    ------
    InvalidInputError
        Naming ``field``, the length and the cap.
    """
    if len(source) > MAX_SOURCE:
        raise InvalidInputError(
            f"the expression is {len(source):,} characters; expressions are limited to "
            f"{MAX_SOURCE:,} because they run on every event: shorten it, or move the work "
            "into the run",
            field,
        )


def check_bounds(source: str, field: str) -> None:
    """Refuse an expression (already parsed) with nested or too many comprehensions.

    Raises
    ------
    InvalidInputError
        Naming ``field``, the ``line:column`` of the offending comprehension and the fix.
    """
    check_size(source, field)
    code = _code_only(source)
    macros = {m.end() - 1: (m.group(1), m.start(1)) for m in _MACRO.finditer(code)}
    if len(macros) > MAX_COMPREHENSIONS:
        raise InvalidInputError(
            f"the expression has {len(macros)} comprehensions (all, exists, exists_one, map, "
            f"filter); at most {MAX_COMPREHENSIONS} are allowed: combine conditions inside "
            "fewer of them",
            field,
        )
    stack: list[_Open] = []
    for index, char in enumerate(code):
        if char in "([{":
            macro, at = macros.get(index, (None, index))
            outer = next((o for o in reversed(stack) if o.macro is not None), None)
            if macro is not None and outer is not None:
                raise InvalidInputError(
                    f"{macro}() at {_position(source, at)} is inside {outer.macro}() at "
                    f"{_position(source, outer.at)}: a comprehension inside another "
                    "multiplies the work by the list sizes on every event; use one "
                    f"comprehension per list, {_ONE_PER_LIST}",
                    field,
                )
            stack.append(_Open(at, macro))
        elif char in ")]}" and stack:
            stack.pop()

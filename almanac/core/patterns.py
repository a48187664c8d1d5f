"""Regular expressions of a ``paramsSchema`` that cannot backtrack for long.

jsonschema checks ``pattern`` and ``patternProperties`` with Python's ``re``, a
backtracking engine, and the operator checks params on its event loop. Measured here:
``\\d*\\d*x`` took 64 s on 4,096 digits, ``[a-z]+[a-z]+x`` 19 s, and ``(a+)+$`` grows
exponentially. :func:`pattern_problem` refuses, from the parsed pattern (``re._parser``,
not regexes over its text), what makes the work grow faster than the string squared:

- backreferences (``(a)\\1``): matching them is NP-hard in general;
- a repeated group that can match one text in several ways: its body can be empty
  (``(a*)*``), or holds a repeat or an alternation (``(a+)+``, ``(a|a)*``) while no
  character marks where one repetition ends and the next begins (allowed:
  ``([._-][a-z0-9]+)*``, ``(\\.[a-z0-9]+)*``, ``([a-z]+,)*``, ``(ab|cd)*``);
- an alternation inside a repeated group whose branches can start with the same character
  (``(a|ab)*``);
- two repeats in a row that can trade characters (``a*a*``, ``\\d+\\.?\\d+``,
  ``[a-z]+a[a-z]+``), unless a required character neither of them matches sits between
  them (``[a-z]+@[a-z]+``, ``\\d+\\.\\d+`` are fine);
- patterns longer than :data:`MAX_PATTERN` characters.

What remains can still be quadratic when searched in a long string: JSON Schema patterns
are searched, so a pattern not anchored with ``^`` is tried from every position
(``(\\w|\\d)+$`` took 0.2 s on 4,096 characters, 1.1 s on 8,192). Params strings checked
against such a pattern are limited to :data:`MAX_MATCHED` characters (50 ms at worst);
anchored patterns, tried from the start only, took at most 5 ms on 64 KiB and have no
limit (:func:`anchored`, used by :mod:`almanac.core.params`).

Characters are compared as ASCII sets plus four classes of other characters (digits,
letters, spaces, the rest), so overlap is judged conservatively: a pattern may be refused
that is in fact safe, never the reverse for these shapes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import reduce
from typing import TYPE_CHECKING, Any, Final, cast

if TYPE_CHECKING:  # typeshed describes the parser under its old public names
    import sre_constants as sre
    import sre_parse
else:  # the same modules; importing the old names warns that they are deprecated
    import re._constants as sre
    import re._parser as sre_parse

__all__ = ["MAX_MATCHED", "MAX_PATTERN", "anchored", "pattern_problem"]

#: Longest pattern accepted, in characters.
MAX_PATTERN: Final = 1_000
#: Longest string (value or property name) checked against an unanchored pattern.
MAX_MATCHED: Final = 2_048
_COPIES: Final = 3  # copies of a fixed repeat's body looked at for neighbouring repeats
_ALL: Final = (1 << 128) - 1
_OTHER: Final = frozenset({"digit", "letter", "space", "rest"})
_FIX: Final = "rewrite it so that each repeat is followed by a character it cannot match"


def _bits(text: str) -> int:
    return sum(1 << ord(char) for char in set(text))


_DIGITS: Final = _bits("0123456789")
_WORD: Final = _DIGITS | _bits("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_")
_SPACE: Final = _bits(" \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f")
_LETTERS: Final = _bits("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


@dataclass(frozen=True)
class _Chars:
    """A set of characters: ASCII exactly (a bit per code point), others by class."""

    ascii: int = 0
    other: frozenset[str] = frozenset()

    def __or__(self, more: _Chars) -> _Chars:
        return _Chars(self.ascii | more.ascii, self.other | more.other)

    def overlaps(self, more: _Chars) -> bool:
        return bool(self.ascii & more.ascii) or bool(self.other & more.other)


_NONE: Final = _Chars()
#: category → (characters, classes of non-ASCII characters it holds entirely)
_CATEGORIES: Final = {
    sre.CATEGORY_DIGIT: (_Chars(_DIGITS, frozenset({"digit"})), frozenset({"digit"})),
    sre.CATEGORY_NOT_DIGIT: (
        _Chars(_ALL & ~_DIGITS, _OTHER - {"digit"}),
        _OTHER - {"digit"},
    ),
    sre.CATEGORY_WORD: (
        _Chars(_WORD, frozenset({"digit", "letter"})),
        frozenset({"digit", "letter"}),
    ),
    sre.CATEGORY_NOT_WORD: (
        _Chars(_ALL & ~_WORD, frozenset({"space", "rest"})),
        frozenset({"space", "rest"}),
    ),
    sre.CATEGORY_SPACE: (_Chars(_SPACE, frozenset({"space"})), frozenset({"space"})),
    sre.CATEGORY_NOT_SPACE: (_Chars(_ALL & ~_SPACE, _OTHER - {"space"}), _OTHER - {"space"}),
    sre.CATEGORY_LINEBREAK: (_Chars(_bits("\n")), frozenset()),
    sre.CATEGORY_NOT_LINEBREAK: (_Chars(_ALL & ~_bits("\n"), _OTHER), _OTHER),
}


def _class_of(code: int) -> str:
    char = chr(code)
    if char.isdecimal():
        return "digit"
    if char.isalnum() or char == "_":
        return "letter"
    return "space" if char.isspace() else "rest"


@dataclass(frozen=True)
class _Info:
    """What a piece of a pattern can match: width bounds, the characters it can start and
    end with, hold at all, hold after its first / before its last character; whether it
    holds something that can match one text in several ways (``ambiguous``: a repeat or an
    alternation), and whether that includes an alternation whose branches can start alike
    (``clash``)."""

    low: int
    high: int
    first: _Chars = _NONE
    last: _Chars = _NONE
    chars: _Chars = _NONE
    inner: _Chars = _NONE
    init: _Chars = _NONE
    ambiguous: bool = False
    clash: bool = False

    @property
    def nullable(self) -> bool:
        return self.low == 0

    @property
    def variable(self) -> bool:
        return self.low != self.high


_EMPTY: Final = _Info(0, 0)


class _Unsafe(Exception):
    """The pattern can backtrack for long; the message says which shape."""


@dataclass
class _Vetter:
    fold: bool
    dotall: bool
    stack: list[int] = field(default_factory=list)

    # -- characters -------------------------------------------------------------------------

    def _literal(self, code: int) -> _Chars:
        if code >= 128:
            return _Chars(0, frozenset({_class_of(code)}))
        bits = 1 << code
        if self.fold and bits & _LETTERS:
            bits |= 1 << ord(chr(code).swapcase())
            return _Chars(bits, frozenset({"letter"}))  # e.g. k folds to the Kelvin sign
        return _Chars(bits)

    def _set(self, items: list[tuple[Any, Any]]) -> _Chars:
        chars, full, negate = _NONE, frozenset[str](), False
        for op, av in items:
            if op is sre.NEGATE:
                negate = True
            elif op is sre.LITERAL:
                chars |= self._literal(av)
            elif op is sre.RANGE:
                low, high = av
                bits = sum(1 << c for c in range(low, min(high, 127) + 1))
                if self.fold and bits & _LETTERS:
                    bits |= _LETTERS
                chars |= _Chars(bits, _OTHER if high >= 128 else frozenset())
            elif op is sre.CATEGORY:
                held, whole = _CATEGORIES.get(av, (_Chars(_ALL, _OTHER), frozenset()))
                chars, full = chars | held, full | whole
        return _Chars(_ALL & ~chars.ascii, _OTHER - full) if negate else chars

    def _char(self, chars: _Chars) -> _Info:
        return _Info(1, 1, chars, chars, chars)

    # -- structure --------------------------------------------------------------------------

    def sequence(self, items: list[_Info]) -> _Info:
        """Combine the pieces of a concatenation, refusing repeats that trade characters."""
        self._check_neighbours(items)
        solid = [i for i in items if i.high > 0]
        clash = any(i.clash for i in items)
        if not solid:
            return _Info(0, 0, ambiguous=any(i.ambiguous for i in items), clash=clash)
        first, last = _NONE, _NONE
        for piece in solid:
            first |= piece.first
            if not piece.nullable:
                break
        for piece in reversed(solid):
            last |= piece.last
            if not piece.nullable:
                break
        rest = reduce(lambda a, b: a | b, (p.chars for p in solid[1:]), _NONE)
        head = reduce(lambda a, b: a | b, (p.chars for p in solid[:-1]), _NONE)
        chars = solid[0].chars | rest
        return _Info(
            low=sum(i.low for i in solid),
            high=min(sum(i.high for i in solid), sre.MAXREPEAT),
            first=first,
            last=last,
            chars=chars,
            inner=solid[0].inner | rest if not solid[0].nullable else chars,
            init=solid[-1].init | head if not solid[-1].nullable else chars,
            ambiguous=any(i.ambiguous or i.variable for i in items),
            clash=clash,
        )

    def _check_neighbours(self, items: list[_Info]) -> None:
        for index, left in enumerate(items):
            if not left.variable:
                continue
            tail = left.last
            for right in items[index + 1 :]:
                if right.variable and tail.overlaps(right.first):
                    raise _Unsafe(
                        "two repeats in a row can match the same characters (like a*a* or "
                        "[a-z]+a[a-z]+): on a long string the split between them is tried "
                        f"every way; {_FIX}"
                    )
                if not right.nullable and not right.chars.overlaps(left.chars):
                    break  # a required character the left repeat cannot cross
                tail = right.last if not right.nullable else tail | right.last

    def parsed(self, pattern: Any) -> list[_Info]:
        """The pieces of a parsed (sub)pattern, groups without a repeat spliced in."""
        pieces: list[_Info] = []
        for op, av in pattern:
            pieces += self._piece(op, av)
        return pieces

    def _piece(self, op: Any, av: Any) -> list[_Info]:
        if op in (sre.LITERAL, sre.NOT_LITERAL):
            chars = self._literal(av)
            return [self._char(chars if op is sre.LITERAL else _Chars(_ALL & ~chars.ascii, _OTHER))]
        if op is sre.ANY:
            return [self._char(_Chars(_ALL if self.dotall else _ALL & ~_bits("\n"), _OTHER))]
        if op is sre.IN:
            return [self._char(self._set(av))]
        if op in (sre.AT, sre.ASSERT, sre.ASSERT_NOT):
            if op is not sre.AT:
                self.sequence(self.parsed(av[1]))  # checked, but it consumes nothing
            return [_EMPTY]
        if op in (sre.GROUPREF, sre.GROUPREF_EXISTS):
            raise _Unsafe(
                "backreferences (\\1, (?P=name), (?(1)...)) can take exponential time; remove them"
            )
        if op is sre.SUBPATTERN:
            return self.parsed(av[3])
        if op is sre.ATOMIC_GROUP:
            return self.parsed(av)
        if op is sre.BRANCH:
            return [self._branch([self.sequence(self.parsed(b)) for b in av[1]])]
        if op in (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT):
            return self._repeat(*av)
        raise _Unsafe(f"unsupported construct {op}; simplify the pattern")

    def _branch(self, branches: list[_Info]) -> _Info:
        starts = [b.first for b in branches]
        clash = any(b.nullable for b in branches) or any(
            a.overlaps(b) for i, a in enumerate(starts) for b in starts[i + 1 :]
        )

        def union(part: str) -> _Chars:
            return reduce(lambda a, b: a | b, (getattr(b, part) for b in branches), _NONE)

        return _Info(
            low=min(b.low for b in branches),
            high=max(b.high for b in branches),
            first=union("first"),
            last=union("last"),
            chars=union("chars"),
            inner=union("inner"),
            init=union("init"),
            ambiguous=clash or any(b.ambiguous for b in branches),
            clash=clash or any(b.clash for b in branches),
        )

    def _repeat(self, low: int, high: int, pattern: list[tuple[Any, Any]]) -> list[_Info]:
        body = self.sequence(self.parsed(pattern))
        if low == high:  # {k}: k copies in a row, neighbours checked as such
            copies = [body] * min(low, _COPIES)
            return [] if low == 0 else ([body] if not body.ambiguous else copies)
        if high > 1 and body.high > 0:
            self._check_repeated(body)
        top = sre.MAXREPEAT if high == sre.MAXREPEAT else min(body.high * high, sre.MAXREPEAT)
        spread = high > 1
        return [
            _Info(
                low=body.low * low,
                high=top,
                first=body.first,
                last=body.last,
                chars=body.chars,
                inner=body.chars if spread else body.inner,
                init=body.chars if spread else body.init,
                ambiguous=body.ambiguous,
                clash=body.clash,
            )
        ]

    def _check_repeated(self, body: _Info) -> None:
        if body.nullable:
            raise _Unsafe(
                "a repeated group can match the empty string (like (a*)* or (a?)+), so "
                "it can repeat in endless ways; make its content required"
            )
        if body.clash:
            raise _Unsafe(
                "a repeated group holds an alternation whose branches can match the same "
                "text (like (a|ab)*): each repetition can be matched several ways, which "
                "takes exponential time; make the branches start with different characters"
            )
        if not body.ambiguous:
            return
        if body.first.overlaps(body.inner) and body.last.overlaps(body.init):
            raise _Unsafe(
                "a repeated group holds a repeat or an alternation (like (a+)+ or (a|a)*) "
                "and nothing marks where one repetition ends: it can take exponential time; "
                "start or end each repetition with a character the rest cannot match, e.g. "
                "[a-z0-9]+(-[a-z0-9]+)*"
            )


def pattern_problem(pattern: str) -> str | None:
    """Why ``pattern`` is refused as a paramsSchema pattern, or None when it is safe."""
    if len(pattern) > MAX_PATTERN:
        return (
            f"the pattern is {len(pattern):,} characters; patterns are limited to {MAX_PATTERN:,}"
        )
    try:
        parsed = sre_parse.parse(pattern)
    except re.error as exc:
        return f"{pattern!r} is not a valid regular expression ({exc})"
    flags = parsed.state.flags
    for op, av in _walk(parsed):
        if op is sre.SUBPATTERN:
            flags |= av[1]
    vetter = _Vetter(
        fold=bool(flags & sre.SRE_FLAG_IGNORECASE), dotall=bool(flags & sre.SRE_FLAG_DOTALL)
    )
    try:
        vetter.sequence(vetter.parsed(parsed))
    except _Unsafe as exc:
        return f"{pattern!r}: {exc}"
    except RecursionError:
        return f"{pattern!r} nests too deeply; simplify it"
    return None


def anchored(pattern: str) -> bool:
    """Whether ``pattern`` can only match at the start of the string (``^`` or ``\\A``
    first, without MULTILINE), so searching it costs one attempt, not one per position."""
    try:
        parsed = sre_parse.parse(pattern)
    except re.error:
        return False
    if parsed.state.flags & sre.SRE_FLAG_MULTILINE or not len(parsed):
        return False
    op, av = cast(tuple[Any, Any], parsed.data[0])
    return op is sre.AT and av in (sre.AT_BEGINNING, sre.AT_BEGINNING_STRING)


def _walk(pattern: Any) -> list[tuple[Any, Any]]:
    """Every (op, av) node of a parsed pattern, depth first."""
    found: list[tuple[Any, Any]] = []
    for op, av in pattern:
        found.append((op, av))
        if op is sre.SUBPATTERN:
            found += _walk(av[3])
        elif op in (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT):
            found += _walk(av[2])
        elif op is sre.BRANCH:
            for branch in av[1]:
                found += _walk(branch)
        elif op in (sre.ASSERT, sre.ASSERT_NOT):
            found += _walk(av[1])
        elif op is sre.ATOMIC_GROUP:
            found += _walk(av)
    return found

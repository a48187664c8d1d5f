"""What an ``sql`` dry run may run: one statement that does not end its own transaction.

A dry run promises that nothing persists: the statement runs inside a transaction that
is rolled back. A statement that ends that transaction itself (``COMMIT``, ``END``,
``PREPARE TRANSACTION`` ...) or a second statement after one (``INSERT ...; COMMIT``,
which psycopg sends over the simple query protocol when there are no parameters) would
turn the rollback into a no-op. :func:`dry_run_problem` finds those in the text before
anything is sent. It is the first of three layers (the others are in
:mod:`~almanac.executor.payloads.sql`: dry runs use the extended protocol, where the
server refuses several statements in one query, and the transaction must still be open
after the statement).

The lexer follows PostgreSQL's lexical rules where they decide where a statement ends
and which word starts it: ``--`` and nested ``/* */`` comments, ``'...'`` strings
(``''`` escapes; backslashes literal, as with ``standard_conforming_strings`` on, the
default), ``E'...'`` strings (backslash escapes), ``"..."`` identifiers and
``$tag$...$tag$`` dollar quotes (not after an identifier character: ``a$b$`` is one
identifier). Text it cannot close (an unterminated quote) is refused, not guessed at.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = ["TRANSACTION_CONTROL", "blank_literals", "dry_run_problem", "split_statements"]

#: Statement openings that end, nest or escape the current transaction (upper case).
TRANSACTION_CONTROL: Final[tuple[tuple[str, ...], ...]] = (
    ("BEGIN",),
    ("START",),
    ("COMMIT",),
    ("END",),
    ("ROLLBACK",),
    ("ABORT",),
    ("SAVEPOINT",),
    ("RELEASE",),
    ("PREPARE", "TRANSACTION"),
    ("CALL",),
    ("SET", "TRANSACTION"),
    ("SET", "SESSION", "CHARACTERISTICS"),
)
_DOLLAR_TAG: Final = re.compile(r"\$(?:[A-Za-z_\u0080-\uffff][\w\u0080-\uffff]*)?\$")
_WORD: Final = re.compile(r"[A-Za-z_]+")
_SHOWN: Final = 80


def _after_identifier(text: str, index: int) -> bool:
    """Whether ``text[index]`` continues an identifier or number (``a$b$``, ``E`` in ``fE``)."""
    return index > 0 and (text[index - 1].isalnum() or text[index - 1] in "_$")


def _end_of_quoted(text: str, start: int, backslash: bool) -> int:
    """Index after the quote closing the literal opened at ``start`` (doubled = escaped)."""
    quote, index = text[start], start + 1
    while index < len(text):
        char = text[index]
        if (backslash and char == "\\") or (char == quote and text[index + 1 : index + 2] == quote):
            index += 2
        elif char == quote:
            return index + 1
        else:
            index += 1
    raise ValueError(f"an unterminated {quote}...{quote} literal")


def _end_of_comment(text: str, start: int) -> int:
    """Index after the ``*/`` closing the (nestable) block comment opened at ``start``."""
    depth, index = 0, start
    while index < len(text):
        if text.startswith("/*", index):
            depth, index = depth + 1, index + 2
        elif text.startswith("*/", index):
            depth, index = depth - 1, index + 2
            if depth == 0:
                return index
        else:
            index += 1
    raise ValueError("an unterminated /* comment")


def _skip(text: str, index: int) -> int | None:
    """Index after the comment or literal starting at ``index``, or ``None`` if none does."""
    char = text[index]
    if text.startswith("--", index):
        end = text.find("\n", index)
        return len(text) if end < 0 else end
    if text.startswith("/*", index):
        return _end_of_comment(text, index)
    if char == "'":
        escapes = index > 0 and text[index - 1] in "eE" and not _after_identifier(text, index - 1)
        return _end_of_quoted(text, index, backslash=escapes)
    if char == '"':
        return _end_of_quoted(text, index, backslash=False)
    if char == "$" and not _after_identifier(text, index):
        tag = _DOLLAR_TAG.match(text, index)
        if tag is not None:
            close = text.find(tag.group(), tag.end())
            if close < 0:
                raise ValueError(f"an unterminated {tag.group()} dollar quote")
            return close + len(tag.group())
    return None


def blank_literals(text: str) -> str:
    """``text`` with every comment, string, quoted identifier and dollar quote replaced by a
    space, so that what remains is keywords, names, operators and ``;``.

    Raises
    ------
    ValueError
        A quote, dollar quote or block comment is not closed.
    """
    kept: list[str] = []
    index = 0
    while index < len(text):
        end = _skip(text, index)
        if end is None:
            kept.append(text[index])
            index += 1
        else:
            kept.append(" ")
            index = end
    return "".join(kept)


def split_statements(text: str) -> list[str]:
    """The statements of ``text`` (literals blanked), empty ones (``;;``, a trailing ``;``)
    dropped."""
    return [part.strip() for part in blank_literals(text).split(";") if part.strip()]


def _shown(statement: str) -> str:
    flat = " ".join(statement.split())
    return flat if len(flat) <= _SHOWN else flat[: _SHOWN - 1] + "…"


def dry_run_problem(text: str) -> str | None:
    """Why ``text`` cannot run as a dry run (a sentence with the fix), or ``None``."""
    try:
        statements = split_statements(text)
    except ValueError as exc:
        return f"the statement has {exc}; close it, or set dryRun: false"
    if len(statements) > 1:
        return (
            f"a dry run takes exactly one statement, got {len(statements)} (separated by ;), "
            "since a later one could commit the earlier ones; run them one per ScheduledJob "
            "or set dryRun: false"
        )
    words = tuple(word.upper() for word in _WORD.findall(statements[0] if statements else ""))
    for opening in TRANSACTION_CONTROL:
        if words[: len(opening)] == opening:
            return (
                f"a dry run cannot run {' '.join(opening)} ({_shown(statements[0])!r}): "
                "transaction control would end or escape the transaction the dry run rolls "
                "back; remove it, or set dryRun: false"
            )
    return None

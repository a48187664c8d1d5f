"""Parsing what users type that argparse cannot check: instants (naive ones refused: whose
midnight?). Errors name the flag, so the CLI exits 2 saying what to fix."""

from __future__ import annotations

from datetime import datetime

from almanac.core.errors import InvalidInputError

__all__ = ["parse_instant"]


def parse_instant(text: str, flag: str) -> datetime:
    """An RFC 3339 instant with an offset."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInputError(
            f"{text!r} is not an RFC 3339 instant; write e.g. 2026-10-24T12:00:00Z", flag
        ) from None
    if value.tzinfo is None:
        raise InvalidInputError(f"{text!r} has no UTC offset; add Z or +hh:mm", flag)
    return value

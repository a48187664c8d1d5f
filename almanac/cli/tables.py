"""Pure formatting of what the CLI prints: aligned tables, ages, ``-o json|yaml``.

Why separate from the verbs: output is what users script against, so it is tested as plain
functions of plain data (``tests/unit/cli/test_tables.py``), with a fixed ``now``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Final

import yaml

__all__ = ["NONE", "OUTPUTS", "age", "dump", "parse_time", "short_time", "table"]

#: What an empty cell shows (kubectl's spelling).
NONE: Final = "<none>"
#: ``-o`` values every listing verb takes ("wide" only where there are wide columns).
OUTPUTS: Final = ("json", "yaml")


def table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """Columns aligned with three spaces, headers upper case, as ``kubectl get`` prints."""
    cells = [[h.upper() for h in headers]] + [
        [NONE if v is None or v == "" else str(v) for v in row] for row in rows
    ]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["   ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    return "".join(line.rstrip() + "\n" for line in lines)


def age(since: datetime | None, now: datetime) -> str:
    """kubectl's short age: ``45s``, ``12m``, ``5h``, ``3d`` (``<none>`` when unknown;
    a future instant reads ``in 12m``)."""
    if since is None:
        return NONE
    seconds = int((now - since).total_seconds())
    prefix = "in " if seconds < 0 else ""
    seconds = abs(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size * (2 if unit != "m" else 1):
            return f"{prefix}{seconds // size}{unit}"
    return f"{prefix}{seconds}s"


def parse_time(value: Any) -> datetime | None:
    """An RFC 3339 string from the API (``Z`` or an offset) as an aware datetime."""
    if not isinstance(value, str) or not value:
        return None
    return datetime.fromisoformat(value)


def short_time(instant: datetime | None) -> str:
    """An instant as RFC 3339 to the second, for tables."""
    if instant is None:
        return NONE
    return instant.isoformat(timespec="seconds").replace("+00:00", "Z")


def dump(data: Any, output: str) -> str:
    """``-o json`` (indented, as kubectl) or ``-o yaml`` (block style, keys in order)."""
    if output == "json":
        return json.dumps(data, indent=2, default=str) + "\n"
    return yaml.safe_dump(_plain(data), sort_keys=False, default_flow_style=False)


def _plain(data: Any) -> Any:
    """YAML's safe dumper knows no datetimes with ``Z``: write them as RFC 3339 text."""
    if isinstance(data, Mapping):
        return {str(k): _plain(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [_plain(v) for v in data]
    if isinstance(data, datetime):
        return short_time(data)
    return data

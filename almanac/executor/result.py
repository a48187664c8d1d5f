"""The run's result: one small JSON object in the container's termination message.

Kubernetes keeps at most 4096 bytes of ``/dev/termination-log`` per container (and 12 KiB
per pod); a longer message is cut mid-byte and the operator would read broken JSON. So
:func:`encode_result` always returns valid JSON within the limit, shrinking ``details``
first, then the ``summary``, and says so with ``"truncated": true``. ``status`` is never
lost: it is what the operator and the history record.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal

__all__ = [
    "RESULT_LIMIT",
    "Result",
    "encode_result",
    "redact",
    "write_result",
]

#: Bytes Kubernetes keeps from a container's termination message.
RESULT_LIMIT: Final = 4096
_STRING_CUTS: Final = (1024, 256, 64, 16)
_MARK: Final = "…"


@dataclass(frozen=True)
class Result:
    """Outcome of one run: ``succeeded`` or ``failed``, a sentence, and JSON-safe facts."""

    status: Literal["succeeded", "failed"]
    summary: str
    details: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def succeeded(cls, summary: str, **details: Any) -> Result:
        return cls("succeeded", summary, details)

    @classmethod
    def failed(cls, summary: str, **details: Any) -> Result:
        return cls("failed", summary, details)

    @property
    def ok(self) -> bool:
        return self.status == "succeeded"

    def as_json(self) -> dict[str, Any]:
        return {"status": self.status, "summary": self.summary, "details": dict(self.details)}


def _dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str).encode()


def _cut_strings(value: Any, limit: int) -> Any:
    if isinstance(value, str):
        return value if len(value) <= limit else value[:limit] + _MARK
    if isinstance(value, Mapping):
        return {str(k): _cut_strings(v, limit) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_cut_strings(v, limit) for v in value[:limit]]
    return value


def _fit_summary(body: dict[str, Any], limit: int) -> bytes:
    summary: str = body["summary"]
    low, high = 0, len(summary)
    best = _dumps(body | {"summary": ""})
    while low <= high:  # longest prefix that fits: bounded by log2(len(summary)) steps
        middle = (low + high) // 2
        candidate = _dumps(body | {"summary": summary[:middle] + _MARK})
        if len(candidate) <= limit:
            best, low = candidate, middle + 1
        else:
            high = middle - 1
    return best


def encode_result(result: Result, limit: int = RESULT_LIMIT) -> bytes:
    """Serialise ``result`` as UTF-8 JSON of at most ``limit`` bytes.

    Shrinking order: long strings inside ``details`` (ever shorter cuts), then ``details``
    replaced by ``{"truncated": true}``, then the summary cut to fit.
    """
    body = result.as_json()
    encoded = _dumps(body)
    if len(encoded) <= limit:
        return encoded
    for cut in _STRING_CUTS:
        details = _cut_strings(body["details"], cut) | {"truncated": True}
        encoded = _dumps(body | {"details": details})
        if len(encoded) <= limit:
            return encoded
    body["details"] = {"truncated": True}
    encoded = _dumps(body)
    return encoded if len(encoded) <= limit else _fit_summary(body, limit)


def redact(value: Any, secrets: Iterable[str]) -> Any:
    """Replace every occurrence of a secret value inside strings of ``value`` by ``***``.

    A defence in depth: payloads never put secrets in results on purpose, but a peer's
    error message may echo one back (a DSN, an Authorization header).
    """
    hidden = sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True)
    if not hidden:
        return value
    if isinstance(value, str):
        for secret in hidden:
            value = value.replace(secret, "***")
        return value
    if isinstance(value, Mapping):
        return {str(k): redact(v, hidden) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v, hidden) for v in value]
    return value


def write_result(result: Result, path: Path, secrets: Iterable[str] = ()) -> bytes:
    """Redact, encode and write ``result`` to ``path``; return the bytes written."""
    hidden = list(secrets)
    clean = Result(
        result.status, redact(result.summary, hidden), redact(dict(result.details), hidden)
    )
    encoded = encode_result(clean)
    path.write_bytes(encoded)
    return encoded

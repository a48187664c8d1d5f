"""``Idempotency-Key`` on job creation: a create sent again makes no second job. Pure.

A caller whose ``POST /jobs`` lost its answer (the facade restarted, the connection broke)
cannot tell whether the job was made; without a key, sending it again made a second job
(the chaos suite's careful caller did, after each facade SIGKILL). With a key, the job's
object name takes its suffix from the key (a second create meets AlreadyExists) and the
job carries two annotations: a digest of the organisation and key, and one of the
request body. The same key with the same body answers the job made the first time; the
same key with another body is a 409 naming the key, since the caller means two things.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any, Final

from almanac.api.errors import ConflictError
from almanac.core.vocabulary import ANNOTATION_IDEMPOTENCY_KEY, ANNOTATION_REQUEST_DIGEST

__all__ = ["CreateKey", "replayed"]

_SUFFIX_HEX: Final = 10


class CreateKey:
    """One create's key, as the job's name suffix and annotations carry it."""

    def __init__(self, org_id: str, key: str, changes: Mapping[str, Any]) -> None:
        self.key = key
        self.digest = hashlib.sha256(f"{org_id}\n{key}".encode()).hexdigest()[:32]
        body = json.dumps(changes, sort_keys=True, separators=(",", ":"), default=str)
        self.request = hashlib.sha256(body.encode()).hexdigest()[:32]

    @property
    def suffix(self) -> str:
        return self.digest[:_SUFFIX_HEX]

    @property
    def annotations(self) -> dict[str, str]:
        return {ANNOTATION_IDEMPOTENCY_KEY: self.digest, ANNOTATION_REQUEST_DIGEST: self.request}


def replayed(key: CreateKey, jobs: Iterable[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The job an earlier create with ``key`` made (``None``: none yet); a 409 when that
    create had another body."""
    for obj in jobs:
        annotations = (obj.get("metadata") or {}).get("annotations") or {}
        if annotations.get(ANNOTATION_IDEMPOTENCY_KEY) != key.digest:
            continue
        if annotations.get(ANNOTATION_REQUEST_DIGEST) != key.request:
            raise ConflictError(
                f"Idempotency-Key {key.key!r} was used for a job with another body; send "
                "this job with a new key",
                "Idempotency-Key",
            )
        return obj
    return None

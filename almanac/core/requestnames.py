"""The names of RunRequests: deterministic per event, so a redelivered event meets its
own record (AlreadyExists) instead of running twice."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Final

from almanac.core.errors import InvalidInputError
from almanac.core.naming import MAX_RUN_NAME, validate_object_name

__all__ = ["legacy_request_name", "request_name"]

_LEGACY_HASH_LEN: Final = 10
_MAX_STEP: Final = 999_999


def request_name(scheduled_job: str, uid: str, trigger: str, event_id: str, step: int = 0) -> str:
    """Deterministic RunRequest name: ``<ScheduledJob name>-<26 base32>[-s<step>]``.

    The base32 is 128 bits of sha256 over (uid, trigger, event_id): two distinct events
    never share a name in practice (with 40 bits, the earlier length, two of a day's events
    at 100 events/s shared one with a chance of about 30 %, and the second was taken for a
    redelivery and dropped). Every step of
    one event shares it, so the steps list together; ``-s<step>`` is added for steps after
    the first. The ScheduledJob name (dots turned into ``-``) is truncated to fit 63
    characters: always a DNS-1123 label.
    """
    digest = base64.b32encode(_identity_digest(uid, trigger, event_id)[:16]).decode()
    return _request_name(scheduled_job, digest.rstrip("=").lower(), step)


def legacy_request_name(
    scheduled_job: str, uid: str, trigger: str, event_id: str, step: int = 0
) -> str:
    """The name an event's RunRequest had before 128-bit names (10 hex digits): asked
    only so an event accepted under it before an upgrade is not accepted again."""
    digest = _identity_digest(uid, trigger, event_id).hex()[:_LEGACY_HASH_LEN]
    return _request_name(scheduled_job, digest, step)


def _identity_digest(uid: str, trigger: str, event_id: str) -> bytes:
    return hashlib.sha256(
        json.dumps([uid, trigger, event_id], ensure_ascii=False).encode()
    ).digest()


def _request_name(scheduled_job: str, digest: str, step: int) -> str:
    validate_object_name(scheduled_job, "scheduledJob")
    if not 0 <= step <= _MAX_STEP:
        raise InvalidInputError(f"step {step} is outside 0..{_MAX_STEP}", "step")
    suffix = f"-{digest}" + (f"-s{step}" if step else "")
    prefix = scheduled_job.replace(".", "-")[: MAX_RUN_NAME - len(suffix)].rstrip("-")
    return prefix + suffix

"""ScheduledJob bodies as the watch delivers them, built by the code that writes them.

The REST facade's own ``new_manifest``/``apply_changes`` make the spec and annotations;
:func:`stored` adds what the API server adds on a write (uid, ``resourceVersion``,
``generation`` bumped by a spec change only, creation time); :func:`kubectl_patch` is a
``kubectl patch --type merge``. Fixtures of the lifecycle-event tests, so the rule is
tested against the shapes it will really meet.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from almanac.api.mapping import apply_changes, new_manifest

__all__ = [
    "NOW",
    "UID",
    "created_body",
    "kubectl_patch",
    "rest_change",
    "status_echo",
    "stored",
]

NOW: Final = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
UID: Final = "5d3b1f7e-2222-4333-8444-955566667777"


def stored(
    body: dict[str, Any], *, rv: int, generation: int, created: datetime, uid: str = UID
) -> dict[str, Any]:
    """``body`` as the API server returns it after a write."""
    body = copy.deepcopy(body)
    body["metadata"] |= {
        "uid": uid,
        "resourceVersion": str(rv),
        "generation": generation,
        "creationTimestamp": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    return body


def created_body(
    *,
    created: datetime = NOW - timedelta(seconds=5),
    namespace: str = "org-000101",
    uid: str = UID,
    **changes: Any,
) -> dict[str, Any]:
    """A job created through REST by ``alice`` (``changes``: more POST body fields)."""
    manifest = new_manifest(
        {"name": "Nightly report", "schedule": "0 2 * * *", "type": "command"}
        | {"payload": {"command": ["true"]}}
        | changes,
        namespace=namespace,
        org_id="000101",
        actor="alice",
        suffix="x7k2p",
    )
    return stored(manifest, rv=100, generation=1, created=created, uid=uid)


def rest_change(
    body: dict[str, Any], changes: dict[str, Any], *, actor: str = "bob"
) -> dict[str, Any]:
    """``body`` after a REST PATCH/pause/resume by ``actor`` (one write)."""
    new = apply_changes(body, changes, actor)
    meta = body["metadata"]
    bump = 1 if new["spec"] != body["spec"] else 0
    new["metadata"] |= {
        "resourceVersion": str(int(meta["resourceVersion"]) + 1),
        "generation": meta["generation"] + bump,
    }
    return new


def kubectl_patch(
    body: dict[str, Any], spec: dict[str, Any], annotations: dict[str, Any]
) -> dict[str, Any]:
    """``body`` after ``kubectl patch --type merge`` of ``spec`` and ``annotations``."""
    new = copy.deepcopy(body)
    new["spec"] |= spec
    new["metadata"].setdefault("annotations", {}).update(annotations)
    new["metadata"]["resourceVersion"] = str(int(body["metadata"]["resourceVersion"]) + 1)
    if spec:
        new["metadata"]["generation"] += 1
    return new


def status_echo(body: dict[str, Any]) -> dict[str, Any]:
    """The operator's own status write coming back through the watch."""
    new = copy.deepcopy(body)
    new["status"] = {"nextRunTime": "2026-03-02T02:00:00Z"}
    new["metadata"]["resourceVersion"] = str(int(body["metadata"]["resourceVersion"]) + 50)
    return new

"""What ``get``, ``describe`` and ``runs`` print, as pure functions of plain data.

The columns of ``almanac get`` are those of ``kubectl get sj`` (the CRD's printer columns,
:func:`almanac.core.crd.render_crds`), so the two read alike; ``describe`` reads like
``kubectl describe`` (label, value; then sections), with what kubectl cannot show: the next
slots and the last runs from the history.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from almanac.cli.tables import NONE, age, parse_time, short_time, table
from almanac.core.vocabulary import ConditionType

__all__ = ["RunRow", "describe_job", "job_table", "run_table"]

_HEADERS: Final = (
    "name",
    "schedule",
    "tz",
    "suspend",
    "active",
    "last run",
    "last result",
    "ready",
    "next run",
    "age",
)
_WIDE: Final = ("template", "queued", "last success", "message")


@dataclass(frozen=True)
class RunRow:
    """One run as every history source can tell it (facade, Postgres, the Jobs)."""

    name: str
    phase: str
    trigger: str
    attempt: int
    slot: datetime
    started: datetime | None
    finished: datetime | None
    message: str = ""


def _ready(status: Mapping[str, Any]) -> Mapping[str, Any]:
    conditions = status.get("conditions") or []
    return next((c for c in conditions if c.get("type") == ConditionType.READY.value), {})


def job_table(
    objs: Sequence[Mapping[str, Any]], now: datetime, *, wide: bool = False, namespaces: bool
) -> str:
    """``almanac get``: one row per ScheduledJob (``namespaces``: a NAMESPACE column)."""
    headers = (("namespace",) if namespaces else ()) + _HEADERS + (_WIDE if wide else ())
    rows = []
    for obj in objs:
        meta, spec, status = obj["metadata"], obj.get("spec") or {}, obj.get("status") or {}
        ready = _ready(status)
        row: list[object] = [meta["name"], status.get("scheduleSummary")]
        row += [(spec.get("schedule") or {}).get("timeZone"), str(bool(spec.get("suspend")))]
        row += [status.get("activeCount", 0), age(parse_time(status.get("lastStartTime")), now)]
        row += [(status.get("lastRun") or {}).get("phase"), ready.get("status")]
        row += [status.get("nextRunTime"), age(parse_time(meta.get("creationTimestamp")), now)]
        if wide:
            row += [spec.get("template"), status.get("queuedCount")]
            row += [age(parse_time(status.get("lastSuccessfulTime")), now)]
            row += [ready.get("message")]
        rows.append(([meta.get("namespace")] if namespaces else []) + row)
    return table(headers, rows)


def run_table(runs: Sequence[RunRow], now: datetime) -> str:
    """``almanac runs``: newest slot first, as the history lists them."""
    return table(
        ("run", "phase", "trigger", "attempt", "slot", "started", "duration", "message"),
        [
            (
                r.name,
                r.phase,
                r.trigger,
                r.attempt,
                short_time(r.slot),
                age(r.started, now) if r.started else NONE,
                _duration(r.started, r.finished),
                r.message.splitlines()[0][:80] if r.message else "",
            )
            for r in runs
        ],
    )


def _duration(start: datetime | None, end: datetime | None) -> str:
    if start is None or end is None:
        return NONE
    seconds = max(0, int((end - start).total_seconds()))
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


def _field(label: str, value: object) -> str:
    return f"{label + ':':<16}{NONE if value is None or value == '' else value}\n"


def describe_job(
    obj: Mapping[str, Any],
    *,
    slots: Sequence[str],
    runs: Sequence[RunRow] | None,
    runs_note: str,
    events: Sequence[Mapping[str, Any]],
    now: datetime,
) -> str:
    """``almanac describe``: identity, state, the next slots, the last runs and Events.
    ``runs`` ``None``: no history source (``runs_note`` says how to configure one)."""
    meta, spec, status = obj["metadata"], obj.get("spec") or {}, obj.get("status") or {}
    ready, last = _ready(status), status.get("lastRun") or {}
    counts = status.get("counts") or {}
    out = _field("Name", meta["name"]) + _field("Namespace", meta.get("namespace"))
    out += _field("Template", spec.get("template"))
    out += _field("Schedule", status.get("scheduleSummary"))
    out += _field("Time Zone", (spec.get("schedule") or {}).get("timeZone"))
    out += _field("Suspend", str(bool(spec.get("suspend"))).lower())
    verdict = f"{ready.get('status')} ({ready.get('reason')})" if ready else None
    out += _field("Ready", verdict) + _field("Message", ready.get("message"))
    out += _field("Active", status.get("activeCount", 0))
    started = parse_time(status.get("lastStartTime"))
    out += _field(
        "Last Run", f"{short_time(started)} ({age(started, now)} ago)" if started else None
    )
    result = f"{last.get('phase')} ({last.get('job')})" if last else None
    out += _field("Last Result", result)
    out += _field("Last Success", status.get("lastSuccessfulTime"))
    out += _field(
        "Counts",
        ", ".join(
            f"{k} {counts.get(k, 0)}" for k in ("succeeded", "failed", "skipped", "launched")
        ),
    )
    out += (
        "Next Slots:\n" + "".join(f"  {s}\n" for s in slots)
        if slots
        else _field("Next Slots", None)
    )
    out += f"Last Runs ({runs_note}):\n"
    if runs is None:
        out += "  <none>\n"
    else:
        out += _indent(run_table(runs, now)) if runs else "  <none>\n"
    out += "Events:\n"
    if not events:
        return out + "  <none>\n"
    ordered = sorted(events, key=lambda e: str(e.get("lastTimestamp") or e.get("eventTime") or ""))
    rows = [
        (
            e.get("type"),
            e.get("reason"),
            age(parse_time(e.get("lastTimestamp") or e.get("eventTime")), now),
            e.get("message"),
        )
        for e in ordered[-10:]
    ]
    return out + _indent(table(("type", "reason", "age", "message"), rows))


def _indent(text: str) -> str:
    return "".join(f"  {line}\n" for line in text.splitlines())

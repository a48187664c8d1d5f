"""The lifecycle event examples of ``docs/history.md`` are what the formatters write.

Each ```json block of the page's "Lifecycle events" section that holds a CloudEvent must
equal, field for field, the event the code makes of the change it illustrates (built
below through the real pipeline: the pure rule, then the formatter), and every job action
and a retried failure must have its example.
"""

from __future__ import annotations

import itertools
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

import almanac
from almanac.core.jobchanges import JobAction, job_changes, job_facts
from almanac.core.models import Retry
from almanac.core.runs import JobObservation
from almanac.core.status import RunPhase, TriggerKind
from almanac.core.vocabulary import ANNOTATION_CANCELLED
from almanac.notify import job_event, run_event
from almanac.operator.kube import ObjectRef, RunOutcome
from almanac.operator.recording import run_record
from tests.support.jobbodies import NOW, UID, created_body, kubectl_patch, rest_change

PAGE: Final = Path(almanac.__file__).parent.parent / "docs" / "history.md"
SECTION: Final = "## Lifecycle events"
BLOCK: Final = re.compile(r"```json\n(.*?)\n```", re.S)


def job_examples() -> dict[str, dict[str, Any]]:
    """One event per job action, from the bodies REST and kubectl write."""
    steps = [created_body()]
    steps.append(rest_change(steps[-1], {"schedule": "0 3 * * *"}))
    steps.append(rest_change(steps[-1], {"status": "paused"}))
    steps.append(rest_change(steps[-1], {"status": "scheduled"}))
    cancelled = {ANNOTATION_CANCELLED: "2026-03-01T12:00:00Z"}
    steps.append(kubectl_patch(steps[-1], {"suspend": True}, cancelled))
    facts = [job_facts(body) for body in steps]
    changes = [*job_changes(None, facts[0], NOW)]
    for old, new in itertools.pairwise(facts):
        changes += job_changes(old, new, NOW + timedelta(seconds=len(changes)))
    changes += job_changes(facts[-1], None, NOW + timedelta(minutes=1))
    return {f"almanac.job.{c.action}": job_event(c, "000101") for c in changes}


def run_examples() -> dict[str, dict[str, Any]]:
    """The first of two attempts failing, as the operator records it."""
    slot = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
    job = JobObservation(
        name="nightly-report-x7k2p-202603020200",
        slot=slot,
        trigger=TriggerKind.SCHEDULE,
        attempt=1,
        phase=RunPhase.FAILED,
        start_time=slot + timedelta(seconds=3),
        completion_time=slot + timedelta(seconds=9),
    )
    ref = ObjectRef("org-000101", "nightly-report-x7k2p", UID)
    outcome = RunOutcome('{"status": "failed", "summary": "exit status 1"}', 1, "pod-1")
    record = run_record(
        ref, "command", job, outcome, params={}, retry=Retry.model_validate({"maxAttempts": 2})
    )
    event = run_event(record)
    assert event is not None
    return {"almanac.run.failed": event}


def documented() -> dict[str, dict[str, Any]]:
    text = PAGE.read_text(encoding="utf-8")
    section = text[text.index(SECTION) :]
    following = section.find("\n## ", len(SECTION))
    section = section if following < 0 else section[:following]
    events = [json.loads(b) for b in BLOCK.findall(section)]
    return {e["type"]: e for e in events if "specversion" in e}


def test_every_job_action_and_a_retried_failure_are_documented() -> None:
    expected = {f"almanac.job.{a}" for a in JobAction} | {"almanac.run.failed"}

    assert set(documented()) == expected


def test_each_documented_event_is_what_the_code_writes() -> None:
    made = job_examples() | run_examples()

    for kind, example in documented().items():
        assert example == made[kind], f"{kind}: the page's example differs from the code's"

"""What ``get``, ``describe`` and ``runs`` print, from plain data and a fixed ``now``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Final

import pytest

from almanac.cli.tables import age, dump, table
from almanac.cli.views import RunRow, describe_job, job_table, run_table

NOW: Final = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def scheduled_job(name: str = "nightly", **status: Any) -> dict[str, Any]:
    return {
        "apiVersion": "almanac.dev/v1alpha1",
        "kind": "ScheduledJob",
        "metadata": {
            "name": name,
            "namespace": "team-a",
            "creationTimestamp": "2026-12-01T12:00:00Z",
        },
        "spec": {"template": "command", "schedule": {"cron": "0 2 * * *", "timeZone": "UTC"}},
        "status": {
            "scheduleSummary": "0 2 * * *",
            "activeCount": 0,
            "lastStartTime": "2026-12-04T02:00:03Z",
            "lastRun": {"job": f"{name}-1", "phase": "Succeeded"},
            "nextRunTime": "2026-12-05T02:00:00Z",
            "lastSuccessfulTime": "2026-12-04T02:00:09Z",
            "conditions": [
                {"type": "Suspended", "status": "False", "reason": "Running", "message": ""},
                {"type": "Ready", "status": "True", "reason": "Scheduled", "message": "next run"},
            ],
            "counts": {"succeeded": 3, "failed": 1, "skipped": 0, "launched": 4},
            **status,
        },
    }


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [(0, "0s"), (59, "59s"), (60, "1m"), (7199, "119m"), (7200, "2h"), (3 * 86400, "3d")],
    ids=["now", "under a minute", "a minute", "under two hours", "two hours", "days"],
)
def test_age_reads_like_kubectl(seconds: int, shown: str) -> None:
    assert age(NOW - timedelta(seconds=seconds), NOW) == shown


def test_age_of_a_future_instant_and_of_nothing() -> None:
    assert age(NOW + timedelta(minutes=5), NOW) == "in 5m"
    assert age(None, NOW) == "<none>"


def test_table_aligns_columns_and_shows_none_for_empty_cells() -> None:
    assert table(("name", "x"), [("a", None), ("longer", 7)]) == (
        "NAME     X\n" "a        <none>\n" "longer   7\n"
    )  # fmt: skip


def test_get_has_the_printer_columns_of_kubectl_get_sj() -> None:
    text = job_table([scheduled_job()], NOW, namespaces=False)
    header, row = text.splitlines()
    assert header.split() == [
        "NAME", "SCHEDULE", "TZ", "SUSPEND", "ACTIVE", "LAST", "RUN", "LAST", "RESULT",
        "READY", "NEXT", "RUN", "AGE",
    ]  # fmt: skip
    assert row.split() == [
        "nightly", "0", "2", "*", "*", "*", "UTC", "False", "0", "9h", "Succeeded", "True",
        "2026-12-05T02:00:00Z", "3d",
    ]  # fmt: skip


def test_get_wide_adds_template_queued_last_success_and_message() -> None:
    text = job_table([scheduled_job()], NOW, wide=True, namespaces=True)
    header = text.splitlines()[0]
    assert header.startswith("NAMESPACE")
    assert header.endswith("TEMPLATE   QUEUED   LAST SUCCESS   MESSAGE")
    assert text.splitlines()[1].endswith("command    <none>   9h             next run")


def test_get_of_a_job_never_run_shows_none() -> None:
    obj = scheduled_job(lastStartTime=None, lastRun=None)
    row = job_table([obj], NOW, namespaces=False).splitlines()[1]
    assert row.split()[9:11] == ["<none>", "<none>"]


RUNS: Final = [
    RunRow("nightly-2", "Failed", "retry", 2, NOW - timedelta(hours=10), NOW - timedelta(hours=9),
           NOW - timedelta(hours=9) + timedelta(seconds=75), "exit 1\ntraceback"),
    RunRow("nightly-1", "Running", "schedule", 1, NOW - timedelta(hours=10), None, None),
]  # fmt: skip


def test_runs_table_shows_duration_and_the_message_first_line() -> None:
    lines = run_table(RUNS, NOW).splitlines()
    assert lines[0].split() == [
        "RUN", "PHASE", "TRIGGER", "ATTEMPT", "SLOT", "STARTED", "DURATION", "MESSAGE",
    ]  # fmt: skip
    assert lines[1].split() == [
        "nightly-2", "Failed", "retry", "2", "2026-12-04T02:00:00Z", "9h", "1m15s", "exit", "1",
    ]  # fmt: skip
    assert lines[2].split()[-3:] == ["<none>", "<none>", "<none>"]


def test_describe_lists_state_next_slots_runs_and_events() -> None:
    events = [
        {"type": "Normal", "reason": "Launched", "message": "run nightly-1",
         "lastTimestamp": "2026-12-04T02:00:00Z"},
    ]  # fmt: skip
    text = describe_job(
        scheduled_job(),
        slots=["2026-12-05T02:00:00Z", "2026-12-06T02:00:00Z"],
        runs=RUNS,
        runs_note="history",
        events=events,
        now=NOW,
    )
    assert "Name:           nightly\n" in text
    assert "Ready:          True (Scheduled)\n" in text
    assert "Last Run:       2026-12-04T02:00:03Z (9h ago)\n" in text
    assert "Last Result:    Succeeded (nightly-1)\n" in text
    assert "Counts:         succeeded 3, failed 1, skipped 0, launched 4\n" in text
    assert "Next Slots:\n  2026-12-05T02:00:00Z\n  2026-12-06T02:00:00Z\n" in text
    assert "Last Runs (history):\n  RUN " in text
    assert "  Normal   Launched   10h   run nightly-1\n" in text


def test_describe_without_a_history_source_says_how_to_configure_one() -> None:
    text = describe_job(
        scheduled_job(), slots=[], runs=None, runs_note="set ALMANAC_API_URL", events=[], now=NOW
    )
    assert "Next Slots:     <none>\n" in text
    assert "Last Runs (set ALMANAC_API_URL):\n  <none>\n" in text
    assert text.endswith("Events:\n  <none>\n")


def test_dump_writes_json_and_yaml_with_rfc3339_times() -> None:
    assert dump({"at": NOW}, "yaml") == "at: '2026-12-04T12:00:00Z'\n"
    assert dump({"n": 1}, "json") == '{\n  "n": 1\n}\n'


def test_next_slots_of_a_stored_job_and_none_while_suspended() -> None:
    from almanac.cli.jobs import next_slots  # noqa: PLC0415  (needs the runtime extra)

    obj = scheduled_job()
    assert next_slots(obj, NOW) == [f"2026-12-0{d}T02:00:00Z" for d in range(5, 10)]
    obj["spec"]["suspend"] = True
    assert next_slots(obj, NOW) == []


def test_get_columns_are_the_crd_printer_columns() -> None:
    import yaml  # noqa: PLC0415

    from almanac.core.crd import render_crds  # noqa: PLC0415

    crd = yaml.safe_load(render_crds()["almanac.dev_scheduledjobs.yaml"].split("\n", 1)[1])
    printed = crd["spec"]["versions"][0]["additionalPrinterColumns"]
    names = ["NAME"] + [c["name"].upper() for c in printed if not c.get("priority")]
    wide = [c["name"].upper() for c in printed if c.get("priority")]
    header = job_table([scheduled_job()], NOW, wide=True, namespaces=False).splitlines()[0]
    assert [h.strip() for h in header.split("   ") if h.strip()] == names + wide

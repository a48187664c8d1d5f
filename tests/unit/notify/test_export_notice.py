"""Seed 000's ``export-completed`` notice, from what the export payload really writes: the
seed's status words, the export's id and link, and the organisation and account the export
ran as (from its admitted params, never from its result)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from almanac.core.status import RunPhase
from almanac.notify import NotifySettings, event_id, platform_notification
from almanac.notify.formats import notice_identity
from tests.unit.history.builders import UID, finished, record
from tests.unit.notify.exportruns import EXPORT_ID, ROOT, export_record, run_export

SETTINGS = NotifySettings(enabled=True, bootstrap="127.0.0.1:9092")
IDENTITY = {"orgId": "7310042", "accountNumber": "5512200", "username": "jdoe"}


def notice_of(run: Any) -> dict[str, Any]:
    notice = platform_notification(run, SETTINGS)
    assert notice is not None
    return notice


async def test_a_complete_export_names_its_link_org_and_account(tmp_path: Path) -> None:
    # A namespace whose name says nothing: the org comes from the (admitted) params.
    message = await run_export(tmp_path, **IDENTITY)
    notice = notice_of(export_record(message, namespace="acme-analytics", params=IDENTITY))

    assert (notice["org_id"], notice["account_id"]) == ("7310042", "5512200")
    assert notice["context"]["status"] == "complete"
    assert notice["context"]["export_id"] == EXPORT_ID
    assert notice["context"]["download_url"] == f"{ROOT}/exports/{EXPORT_ID}"
    assert notice["events"][0]["payload"]["status"] == "completed"  # REST's word stays


async def test_a_failed_export_names_the_export_and_the_error(tmp_path: Path) -> None:
    message = await run_export(tmp_path, "failed", **IDENTITY)
    notice = notice_of(export_record(message, RunPhase.FAILED, params=IDENTITY))

    context = notice["context"]
    assert context["status"] == "failed"
    assert context["export_id"] == EXPORT_ID
    assert "download_url" not in context
    assert context["error"] == f"export {EXPORT_ID} failed: inventory/hosts: timed out"


async def test_a_cancelled_export_says_cancelled(tmp_path: Path) -> None:
    message = await run_export(tmp_path, **IDENTITY)
    run = export_record(message, params=IDENTITY)
    assert notice_of(replace(run, phase=RunPhase.CANCELLED))["context"]["status"] == "cancelled"


async def test_the_notice_id_does_not_depend_on_the_status_word(tmp_path: Path) -> None:
    """A notice already in an outbox keeps its id when the run is recorded again."""
    notice = notice_of(export_record(await run_export(tmp_path)))
    assert notice["id"] == event_id("notification", UID, "nightly-202603010200", "completed")


async def test_other_templates_keep_their_words_and_carry_no_export_facts(
    tmp_path: Path,
) -> None:
    export = export_record(await run_export(tmp_path), params=IDENTITY)
    notice = notice_of(replace(export, template="http"))

    assert notice["event_type"] == "job-run-completed"
    assert notice["context"]["status"] == "completed"
    assert not {"export_id", "download_url"} & set(notice["context"])
    assert (notice["org_id"], notice["account_id"]) == ("000101", "")


def test_a_result_cannot_name_the_organisation() -> None:
    """A custom image behind an ``export`` template may write any result; only the params
    passed admission."""
    forged = {"status": "succeeded", "summary": "x", "details": {"orgId": "1", "org_id": "1"}}
    run = finished(RunPhase.SUCCEEDED, record(namespace="acme"), result=forged)
    assert notice_of(run)["org_id"] == ""


@pytest.mark.parametrize(
    ("namespace", "template", "params", "expected"),
    [
        pytest.param("acme", "export", IDENTITY, ("7310042", "5512200"), id="export-params"),
        pytest.param("org-000101", "export", {}, ("000101", ""), id="export-org-namespace"),
        pytest.param("org-000101", "export", None, ("000101", ""), id="params-unknown"),
        pytest.param("acme", "export", None, ("", ""), id="nothing-says"),
        pytest.param("org-1", "export", {"orgId": ""}, ("", ""), id="empty-org-not-guessed"),
        pytest.param("org-1", "export", {"orgId": 42}, ("", ""), id="odd-org-not-guessed"),
        pytest.param(
            "acme", "export", {"orgId": "9", "accountNumber": 7}, ("9", ""), id="odd-account"
        ),
        pytest.param("org-1", "http", IDENTITY, ("1", ""), id="not-an-export"),
    ],
)
def test_notice_identity(
    namespace: str,
    template: str,
    params: dict[str, Any] | None,
    expected: tuple[str, str],
) -> None:
    run = record(namespace=namespace, template=template, params=params)
    assert notice_identity(run) == expected


def test_explicit_identity_overrides_the_record() -> None:
    run = finished(RunPhase.SUCCEEDED, record(params=IDENTITY))
    notice = platform_notification(run, SETTINGS, org_id="1", account_id="2")
    assert notice is not None
    assert (notice["org_id"], notice["account_id"]) == ("1", "2")

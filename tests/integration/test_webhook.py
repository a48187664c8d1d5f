"""The admission webhook on the real API server: what the CRD cannot check (cron syntax,
time zones, schedules that never fire, template JSON Schemas) is refused at ``kubectl
apply`` with the engine's field-named message; valid objects are accepted.

The server runs in this process on 127.0.0.1 (the API server is a host process of the
stack); the webhook configuration is unique to the test, scoped by ``namespaceSelector`` to
the test's namespace, and deleted at the end even when the test fails. kubectl runs in a
thread so the event loop keeps serving the API server's calls.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.integration.admission import (
    PROBE_REFUSED,
    TRUSTED_WRITER,
    apply,
    job_template,
    refusal,
    scheduled_job,
)
from tests.support import Kubectl


@pytest.fixture
def k(guarded: Kubectl) -> Kubectl:
    """The test's namespace, guarded by the webhook (``tests/integration/admission.py``)."""
    return guarded


async def test_out_of_range_cron_is_refused_naming_the_field_and_the_range(k: Kubectl) -> None:
    error = await refusal(k, scheduled_job("bad-minute", cron="61 * * * *"))
    assert 'The ScheduledJob "bad-minute" is invalid: ' in error
    assert PROBE_REFUSED in error


async def test_unknown_time_zone_is_refused_naming_the_field(k: Kubectl) -> None:
    error = await refusal(k, scheduled_job("mars", cron="0 9 * * *", timeZone="Mars/Olympus"))
    assert (
        "spec.schedule.timeZone: unknown time zone 'Mars/Olympus'; "
        "use an IANA name such as Europe/Berlin or UTC"
    ) in error


async def test_never_firing_schedule_and_bad_second_line_are_refused(k: Kubectl) -> None:
    error = await refusal(k, scheduled_job("feb-30", cron="0 0 30 2 *"))
    assert "spec.schedule.cron: '0 0 30 2 *' never fires" in error
    error = await refusal(k, scheduled_job("two-lines", cron=["0 9 * * *", "0 25 * * *"]))
    assert "spec.schedule.cron[1]: '0 25 * * *': hour value 25 is out of range 0-23" in error


async def test_valid_scheduled_job_is_accepted_and_stored(k: Kubectl) -> None:
    await apply(k, scheduled_job("nightly", cron="30 2 * * *", timeZone="Europe/Berlin"))
    stored = await asyncio.to_thread(k.get, "scheduledjob", "nightly")
    assert stored["spec"]["schedule"]["cron"] == "30 2 * * *"


async def test_edit_to_a_bad_schedule_is_refused_and_the_old_one_kept(k: Kubectl) -> None:
    await apply(k, scheduled_job("hourly", cron="0 * * * *"))
    error = await refusal(k, scheduled_job("hourly", cron="0 * * * * * *"))
    assert "spec.schedule.cron" in error
    stored = await asyncio.to_thread(k.get, "scheduledjob", "hourly")
    assert stored["spec"]["schedule"]["cron"] == "0 * * * *"


async def test_the_trusted_writer_skips_the_webhook_and_nobody_else_does(k: Kubectl) -> None:
    """The facade runs the same check itself; the matchCondition reads the authenticated
    user, so the admin and every other user are still reviewed."""
    assert PROBE_REFUSED in await refusal(k, scheduled_job("as-admin", cron="61 * * * *"))
    await apply(k, scheduled_job("as-facade", cron="61 * * * *"), user=TRUSTED_WRITER)
    stored = await asyncio.to_thread(k.get, "scheduledjob", "as-facade")
    assert stored["spec"]["schedule"]["cron"] == "61 * * * *"  # not reviewed: stored as sent
    other = await refusal(k, scheduled_job("as-other", cron="61 * * * *"), user="someone-else")
    assert PROBE_REFUSED in other


async def test_template_params_schema_must_be_a_json_schema(k: Kubectl) -> None:
    error = await refusal(k, job_template("broken", {"type": "object", "required": "url"}))
    assert 'The JobTemplate "broken" is invalid: ' in error
    assert "spec.paramsSchema.required: is not a valid JSON Schema (draft 2020-12)" in error
    await apply(k, job_template("fine", {"type": "object", "required": ["url"]}))


def triggered(name: str, *triggers: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "almanac.dev/v1alpha1",
        "kind": "ScheduledJob",
        "metadata": {"name": name},
        "spec": {"template": "http", "triggers": list(triggers)},
    }


async def test_bad_cel_expression_is_refused_naming_the_trigger_and_position(
    k: Kubectl,
) -> None:
    error = await refusal(
        k, triggered("bad-filter", {"kafka": {"topic": "tickets", "filter": "event.type == "}})
    )
    assert "spec.triggers[0].kafka.filter" in error
    assert "1:" in error  # line:column of the mistake


async def test_after_triggers_forming_a_cycle_are_refused(k: Kubectl) -> None:
    await apply(k, triggered("a", {"after": {"scheduledJob": "b"}}))
    await apply(k, triggered("c", {"after": {"scheduledJob": "a"}}))
    error = await refusal(k, triggered("b", {"after": {"scheduledJob": "c"}}))
    assert "spec.triggers[0].after.scheduledJob" in error
    assert "b -> c -> a -> b" in error
    error = await refusal(k, triggered("self", {"after": {"scheduledJob": "self"}}))
    assert "self -> self" in error


async def test_a_params_pattern_that_can_backtrack_is_refused(k: Kubectl) -> None:
    schema = {"type": "object", "properties": {"code": {"type": "string", "pattern": "^(a+)+$"}}}
    error = await refusal(k, job_template("slow", schema))
    assert "spec.paramsSchema.properties.code.pattern" in error
    safe = {"type": "object", "properties": {"code": {"type": "string", "pattern": "^a+$"}}}
    await apply(k, job_template("quick", safe))  # control


async def test_a_cel_filter_nesting_comprehensions_is_refused(k: Kubectl) -> None:
    heavy = "event.items.all(a, event.items.map(b, b).size() > 0)"
    error = await refusal(k, triggered("heavy", {"kafka": {"topic": "tickets", "filter": heavy}}))
    assert "spec.triggers[0].kafka.filter" in error
    assert "is inside all()" in error
    light = "event.items.exists(a, a == 1)"
    await apply(k, triggered("light", {"kafka": {"topic": "tickets", "filter": light}}))


async def test_params_of_built_in_types_are_checked_at_apply_naming_each(k: Kubectl) -> None:
    """The seed's examples of what must not pass: the built-in types are judged by the
    schemas Almanac ships for them, installed as ClusterJobTemplates or not."""
    command = scheduled_job("wipe", cron="0 3 * * *")
    command["spec"] |= {"template": "command", "params": {"command": 12}}
    refused = await refusal(k, command)
    assert "spec.params.command" in refused
    fetch = scheduled_job("fetch", cron="0 3 * * *")
    fetch["spec"]["params"] = {"url": 12345, "method": "FETCH"}
    refused = await refusal(k, fetch)
    assert "spec.params.url" in refused
    assert "spec.params.method" in refused
    assert await asyncio.to_thread(k.list, "scheduledjobs") == []
    # The controls: the same types with params their schemas accept.
    command["spec"]["params"] = {"command": ["true"]}
    await apply(k, command)
    fetch["spec"]["params"] = {"url": "https://example.com/", "method": "GET"}
    await apply(k, fetch)

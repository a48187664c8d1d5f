"""A namespace's Kafka topic allow-list (annotation ``almanac.dev/kafka-topics``) holds at
admission and at run time, each refusal beside its control: a ``message`` job or a trigger
on a topic outside the list is refused naming the field; a run whose namespace was
narrowed after admission refuses to publish there (the operator hands the list to the run
as ``ALMANAC_KAFKA_TOPICS``) and publishes nothing."""

from __future__ import annotations

import uuid
from typing import Any

from tests.integration.admission import apply, refusal
from tests.integration.executor.conftest import (  # noqa: F401 (fixtures)
    RunExecutor,
    run_executor,
    secrets_dir,
)
from tests.integration.test_kafka_tenancy import message_job, triggered_job, whole_topic
from tests.support import Kubectl

ANNOTATION = "almanac.dev/kafka-topics"


async def test_admission_keeps_jobs_to_the_namespaces_topics(
    guarded: Kubectl, crds: Kubectl
) -> None:
    k = guarded
    crds.run("annotate", "namespace", str(k.namespace), f"{ANNOTATION}=team-a.*, tickets")

    error = await refusal(k, message_job("leak", "payroll", {}))
    assert "spec.params.topic: topic 'payroll' is not one this namespace may use" in error
    assert "allows: team-a.*, tickets" in error
    error = await refusal(k, triggered_job("spy", "payroll.changes"))
    assert "spec.triggers[0].kafka.topic: topic 'payroll.changes' is not one" in error

    # The controls: topics of the list, by prefix and by name.
    await apply(k, message_job("report", "team-a.reports", {}), dry_run=True)
    await apply(k, triggered_job("on-tickets", "tickets"), dry_run=True)

    crds.run("annotate", "--overwrite", "namespace", str(k.namespace), f"{ANNOTATION}=bad topic!")
    error = await refusal(k, message_job("report", "team-a.reports", {}))
    assert f"{ANNOTATION}: 'bad topic!' is neither a topic name nor a prefix" in error


async def test_a_run_publishes_only_to_its_namespaces_topics(
    run_executor: RunExecutor,  # noqa: F811 (fixture)
    stack: dict[str, str],
) -> None:
    bootstrap = stack["ALMANAC_KAFKA_BOOTSTRAP"]
    allowed = f"t-allowed-{uuid.uuid4().hex[:8]}"
    outside = f"t-outside-{uuid.uuid4().hex[:8]}"
    env: dict[str, Any] = {
        "ALMANAC_KAFKA_BOOTSTRAP": bootstrap,
        "ALMANAC_KAFKA_TOPICS": "t-allowed-*",
    }
    run = run_executor("message", {"topic": outside, "value": "payroll"}, **env)
    assert run.code == 1
    assert (run.details["error"], run.details["field"]) == ("payload_failed", "params.topic")
    assert f"topic {outside!r} is not one this namespace may use" in run.result["summary"]
    assert await whole_topic(bootstrap, outside) == []

    run = run_executor("message", {"topic": allowed, "value": "report"}, **env)  # control
    assert run.code == 0, run.result
    assert len(await whole_topic(bootstrap, allowed)) == 1

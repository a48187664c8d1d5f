"""Per-job series on the real stack: the operator's /metrics carries, for a ScheduledJob
running every 5 s, its interval, its run duration histogram, its last success, its failure
streak and whether it is suspended, labelled by the job's namespace and name, and drops
them when the job is deleted."""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.integration.operator_support import module_operator, scheduled_job, with_script_template
from tests.support import Kubectl, eventually
from tests.support.operator import OperatorProcess

#: Two runs of a 5 s job, with the operator's first list and pod start-up on a loaded node.
SERIES_WITHIN = 120.0


@pytest.fixture(scope="module")
def operator(crds: Kubectl, tmp_path_factory: pytest.TempPathFactory) -> Iterator[OperatorProcess]:
    with module_operator("metrics-suite", tmp_path_factory) as replica:
        yield replica


@pytest.fixture
def k(crds: Kubectl, operator: OperatorProcess, namespace: str) -> Kubectl:
    return with_script_template(crds, namespace)


def job_samples(operator: OperatorProcess, namespace: str, name: str) -> dict[str, float]:
    """The job's samples on the operator's /metrics, by sample name (``le`` appended to
    histogram buckets: ``..._bucket{le=5.0}``)."""
    url = f"http://127.0.0.1:{operator.metrics_port}/metrics"
    with urllib.request.urlopen(url, timeout=5) as response:
        text = response.read().decode()
    found: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = dict(sample.labels)
            if (
                labels.pop("namespace", None) != namespace
                or labels.pop("scheduledjob", None) != name
            ):
                continue
            suffix = f"{{le={labels['le']}}}" if "le" in labels else ""
            found[sample.name + suffix] = sample.value
    return found


async def test_a_job_every_5s_has_its_interval_durations_and_last_success_scraped(
    k: Kubectl, operator: OperatorProcess, namespace: str
) -> None:
    k.apply(scheduled_job("tick", schedule={"every": "5s"}, params={"say": "ok"}))

    def two_runs_measured() -> dict[str, float] | None:
        samples = job_samples(operator, namespace, "tick")
        return samples if samples.get("almanac_job_run_duration_seconds_count", 0) >= 2 else None

    samples = await eventually(two_runs_measured, timeout=SERIES_WITHIN, what="durations of tick")
    assert samples["almanac_job_interval_seconds"] == 5.0
    assert samples["almanac_job_consecutive_failures"] == 0.0
    assert samples["almanac_job_suspended"] == 0.0
    assert samples["almanac_job_last_success_timestamp_seconds"] > 0
    assert samples["almanac_job_next_run_timestamp_seconds"] % 5 == 0
    runs = samples["almanac_job_run_duration_seconds_count"]
    assert samples["almanac_job_run_duration_seconds_bucket{le=+Inf}"] == runs
    assert 0 < samples["almanac_job_run_duration_seconds_sum"] < runs * 300

    k.run("delete", "scheduledjob", "tick", "--wait=true")
    await eventually(
        lambda: not job_samples(operator, namespace, "tick"),
        timeout=60,
        what="tick's series gone with it",
    )

"""``after`` chains survive API errors: a transient failure is tried again until the
follower's run is recorded (one transient error used to drop it), a refusal for good is
counted failed with the reason, and an upstream run older than the retention is given up
with a reason too."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from kubernetes_asyncio.client.exceptions import ApiException

from almanac.core.runrequests import RunRequestSpec
from almanac.core.runs import JobObservation
from almanac.core.status import RunPhase, TriggerKind
from almanac.operator.chains import AfterChains
from almanac.operator.kube import RunOutcome
from almanac.operator.observability import Metrics
from almanac.operator.scheduler import Scheduler
from almanac.operator.tracked import Tracked

from .evaluators import InlineEvaluator
from .objects import trigger_job

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
RETENTION = timedelta(minutes=15)


def upstream_body() -> dict[str, object]:
    body = trigger_job()
    body["metadata"] = {**body["metadata"], "name": "up", "uid": "u0"}
    return body


def setup(
    failures: Sequence[Exception],
) -> tuple[AfterChains, list[str], Tracked, Tracked, list[datetime]]:
    s = Scheduler(None, Metrics(), image="img", clock=lambda: NOW)  # type: ignore[arg-type]
    s.upsert(trigger_job(triggers=[{"name": "next", "after": {"scheduledJob": "up"}}]))
    s.upsert(upstream_body())
    follower, upstream = s.find("ns", "a"), s.find("ns", "up")
    assert follower is not None
    assert upstream is not None
    stored: list[str] = []
    clock = [NOW]
    failing = list(failures)

    async def store(t: Tracked, name: str, spec: RunRequestSpec) -> bool:
        if failing:
            raise failing.pop(0)
        stored.append(name)
        return True

    async def no_sleep(_: float) -> None:
        clock[0] += timedelta(seconds=30)

    chains = AfterChains(
        s,
        InlineEvaluator(),
        store,
        retention=RETENTION,
        backoff=(0.0, 0.0),
        clock=lambda: clock[0],
        sleep=no_sleep,
    )
    return chains, stored, follower, upstream, clock


def finished() -> JobObservation:
    return JobObservation(
        "up-202612011200", NOW, TriggerKind.SCHEDULE, 1, RunPhase.SUCCEEDED, NOW, NOW
    )


async def follow(chains: AfterChains, follower: Tracked, upstream: Tracked) -> None:
    (trigger,) = follower.triggers
    await chains.follow(follower, trigger, upstream, finished(), RunOutcome())


async def test_a_transient_error_is_tried_again_until_the_run_is_recorded() -> None:
    unavailable = [ApiException(status=503) for _ in range(7)]  # beyond one backoff round
    chains, stored, follower, upstream, _ = setup(unavailable)
    await follow(chains, follower, upstream)
    assert len(stored) == 1
    assert follower.trigger_counts["next"] == {"received": 1, "matched": 1}


async def test_a_refusal_for_good_is_counted_failed_with_the_reason() -> None:
    chains, stored, follower, upstream, _ = setup([ApiException(status=403, reason="Forbidden")])
    await follow(chains, follower, upstream)
    assert stored == []
    counts = follower.trigger_counts["next"]
    assert counts["failed"] == 1
    assert "refused" in counts["last_error"]
    assert "403" in counts["last_error"]


async def test_past_the_retention_the_chain_gives_up_and_says_so() -> None:
    chains, stored, follower, upstream, clock = setup([OSError("down")] * 200)
    await follow(chains, follower, upstream)
    assert stored == []
    assert clock[0] - NOW > RETENTION
    assert "gave up past the retention" in follower.trigger_counts["next"]["last_error"]

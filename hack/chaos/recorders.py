"""The chaos suite's recorders, independent of the operator's code: a Job ledger from its
own watch (kubernetes_asyncio's, not the operator's), a leader sampler that asks every
replica's /metrics whether it leads, twice a second, and a reader of the run history's
rows straight from Postgres (plain SQL, not the operator's store)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from kubernetes_asyncio import client, watch
from psycopg import AsyncConnection

from hack.bench.operatorproc import metric
from hack.chaos.ledger import RunSeen

__all__ = ["JobLedger", "LeaderSampler", "history_rows"]

_FINISHED = ("Complete", "Failed", "SuccessCriteriaMet", "FailureTarget")
_SUCCEEDED = ("Complete", "SuccessCriteriaMet")


def _outcome(job: client.V1Job) -> str | None:
    """``Succeeded``/``Failed`` from a finished Job's conditions."""
    for c in (job.status.conditions if job.status else None) or []:
        if c.type in _FINISHED and c.status == "True":
            return "Succeeded" if c.type in _SUCCEEDED else "Failed"
    return None


async def history_rows(database_url: str, namespace: str) -> dict[str, str]:
    """Run name to stored phase, for every history row of ``namespace``."""
    async with await AsyncConnection.connect(database_url) as conn:
        cursor = await conn.execute(
            "SELECT run_name, status FROM job_runs WHERE namespace = %s", (namespace,)
        )
        return {name: status for name, status in await cursor.fetchall()}


def _run_env(job: client.V1Job) -> dict[str, str]:
    """The run's ``ALMANAC_*`` environment, as the Job hands it to the run."""
    containers = job.spec.template.spec.containers if job.spec else []
    return {e.name: e.value or "" for c in containers for e in c.env or []}


def _upstream(env: dict[str, str]) -> str | None:
    """An ``after`` run's upstream run, from the event it was given."""
    if env.get("ALMANAC_TRIGGER") != "after":
        return None
    run = json.loads(env.get("ALMANAC_EVENT", "{}")).get("run")
    return run if isinstance(run, str) else None


def _finished_at(job: client.V1Job) -> datetime | None:
    status = job.status
    if status is None:
        return None
    if status.completion_time is not None:
        return status.completion_time  # type: ignore[no-any-return]
    times = [
        c.last_transition_time
        for c in status.conditions or []
        if c.type in _FINISHED and c.status == "True" and c.last_transition_time
    ]
    return min(times) if times else None


class JobLedger:
    """Every Job the namespace ever had (deleted ones stay), latest state of each."""

    def __init__(self, api: client.ApiClient, namespace: str) -> None:
        self._batch = client.BatchV1Api(api)
        self._namespace = namespace
        self.jobs: dict[str, client.V1Job] = {}
        self.restarts = 0

    async def run(self) -> None:
        """Watch until cancelled; a broken stream (API-server restart) is listed again."""
        while True:
            try:
                stream = watch.Watch().stream(
                    self._batch.list_namespaced_job, self._namespace, timeout_seconds=60
                )
                async for event in stream:
                    job = event["object"]
                    self.jobs[job.metadata.name] = job
            except asyncio.CancelledError:
                raise
            except Exception:  # the API server went away: watch again
                self.restarts += 1
                await asyncio.sleep(1)

    async def settle(self) -> None:
        """Fold in a list (finish times the stream may not have delivered yet)."""
        listed = await self._batch.list_namespaced_job(self._namespace)
        for job in listed.items:
            self.jobs[job.metadata.name] = job

    async def quiesce(self, quiet: float, within: float) -> bool:
        """Wait until every Job has finished and none was added for ``quiet`` seconds
        (the runs asked for before the stop may still be coming: delayed steps, chains,
        a backlog of events), listing every two seconds; False if that took longer than
        ``within`` (the count goes on with what is there)."""
        deadline = time.monotonic() + within
        count, since = -1, time.monotonic()
        while time.monotonic() < deadline:
            await self.settle()
            runs = self.runs()
            if len(runs) != count:
                count, since = len(runs), time.monotonic()
            elif all(r.finished for r in runs) and time.monotonic() - since >= quiet:
                return True
            await asyncio.sleep(2)
        return False

    def runs(self) -> list[RunSeen]:
        out = []
        for job in self.jobs.values():
            labels = job.metadata.labels or {}
            if "almanac.dev/slot" not in labels:
                continue
            env = _run_env(job)
            step = env.get("ALMANAC_SEQUENCE_STEP")
            out.append(
                RunSeen(
                    job=job.metadata.name,
                    scheduledjob=labels.get("almanac.dev/scheduledjob", ""),
                    slot=datetime.fromtimestamp(int(labels["almanac.dev/slot"]), UTC),
                    trigger=labels.get("almanac.dev/trigger", "schedule"),
                    attempt=int(labels.get("almanac.dev/attempt", "1")),
                    created=job.metadata.creation_timestamp,
                    finished=_finished_at(job),
                    outcome=_outcome(job),
                    event_id=(job.metadata.annotations or {}).get("almanac.dev/event-id"),
                    step=int(step) if step is not None else None,
                    upstream=_upstream(env),
                )
            )
        return out


class LeaderSampler:
    """Who says it leads, twice a second: ``samples`` of (monotonic time, identities)."""

    def __init__(self, replicas: Callable[[], Iterable[tuple[str, int]]]) -> None:
        self._replicas = replicas
        self.samples: list[tuple[float, frozenset[str]]] = []

    async def run(self, every: float = 0.5) -> None:
        while True:
            began = time.monotonic()
            replicas = list(self._replicas())
            answers = await asyncio.gather(
                *(asyncio.to_thread(metric, port, "almanac_is_leader") for _, port in replicas)
            )
            leaders = frozenset(
                who for (who, _), says in zip(replicas, answers, strict=True) if says
            )
            self.samples.append((began, leaders))
            with contextlib.suppress(TimeoutError):
                await asyncio.sleep(max(0.0, every - (time.monotonic() - began)))

    def leader(self) -> str | None:
        """The replica the latest sample says leads (``None``: none yet, or two)."""
        if not self.samples or len(self.samples[-1][1]) != 1:
            return None
        return next(iter(self.samples[-1][1]))

    def tenure(self) -> float:
        """How long the latest samples have shown the same single leader (0: none)."""
        if self.leader() is None:
            return 0.0
        latest, newest = self.samples[-1][1], self.samples[-1][0]
        began = newest
        for at, leaders in reversed(self.samples):
            if leaders != latest:
                break
            began = at
        return newest - began

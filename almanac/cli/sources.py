"""Where the CLI reads run history and sends requests the cluster alone cannot carry.

Three sources, in this order: the REST facade (``--api`` or ``ALMANAC_API_URL``, with an
identity: ``--identity`` or ``ALMANAC_API_IDENTITY``, the ``x-rh-identity`` value), the
history database directly (``ALMANAC_DATABASE_URL``, read only: nothing is migrated), and
else the run Jobs still in the cluster (history limits prune them), said as such. Why not
always the cluster: Jobs are pruned, the history keeps every run and its result.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from almanac.cli.errors import CliError, NotFoundError, SetupError
from almanac.cli.views import RunRow
from almanac.core.runs import observe_job

__all__ = [
    "API_IDENTITY_VARIABLE",
    "API_URL_VARIABLE",
    "Facade",
    "HistorySettings",
    "facade_run",
    "facade_states",
    "jobs_as_runs",
    "read_runs",
]

API_URL_VARIABLE: Final = "ALMANAC_API_URL"
API_IDENTITY_VARIABLE: Final = "ALMANAC_API_IDENTITY"
_IDENTITY_HEADER: Final = "x-rh-identity"
#: Runs ``describe`` shows.
DESCRIBE_RUNS: Final = 10


@dataclass(frozen=True)
class HistorySettings:
    """The sources configured by flags and environment (flags win)."""

    api_url: str | None
    identity: str | None
    database_url: str | None

    @classmethod
    def from_args(
        cls, api: str | None, identity: str | None, env: Mapping[str, str] | None = None
    ) -> HistorySettings:
        from almanac.history.errors import DATABASE_URL_VARIABLE  # noqa: PLC0415

        env = os.environ if env is None else env
        return cls(
            api_url=(api or env.get(API_URL_VARIABLE) or None),
            identity=identity or env.get(API_IDENTITY_VARIABLE) or None,
            database_url=env.get(DATABASE_URL_VARIABLE) or None,
        )

    def facade(self) -> Facade | None:
        """The facade client, or ``None`` when no URL is set; a URL without an identity is
        a setup error (every facade route needs one)."""
        if self.api_url is None:
            return None
        if self.identity is None:
            raise SetupError(
                f"the facade needs an identity: pass --identity or set {API_IDENTITY_VARIABLE} "
                "(the x-rh-identity header value)",
                "--identity",
            )
        return Facade(self.api_url.rstrip("/"), self.identity)


@dataclass(frozen=True)
class Facade:
    """The REST facade's routes the CLI uses (``docs/rest-api.md``)."""

    url: str
    identity: str

    async def call(
        self, method: str, path: str, body: Any = None, headers: Mapping[str, str] | None = None
    ) -> Any:
        """One request; the facade's error body becomes a :class:`CliError` (404:
        :class:`NotFoundError`)."""
        import httpx  # noqa: PLC0415  (an extra's; imported where used)

        headers = {**(headers or {}), _IDENTITY_HEADER: self.identity}
        try:
            async with httpx.AsyncClient(timeout=30) as http:
                reply = await http.request(method, self.url + path, json=body, headers=headers)
        except httpx.HTTPError as exc:
            raise CliError(f"cannot reach the facade at {self.url}: {exc}", "--api") from None
        if reply.status_code >= 400:
            try:
                errors = reply.json().get("errors") or []
                message = "; ".join(
                    f"{e['field']}: {e['message']}" if e.get("field") else str(e["message"])
                    for e in errors
                )
            except (ValueError, KeyError, TypeError, AttributeError):
                message = reply.text[:500]
            error = NotFoundError if reply.status_code == 404 else CliError
            raise error(f"the facade answered {reply.status_code}: {message}", "")
        return reply.json() if reply.content else None

    async def runs(self, uid: str, limit: int) -> list[RunRow]:
        page = await self.call("GET", f"/jobs/{uid}/runs?limit={limit}")
        states = facade_states()
        return [facade_run(r, states) for r in page.get("data") or []]


def _time(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None


def facade_states() -> dict[str, str]:
    """The facade's run status words read back as the history's states (``completed`` →
    ``Succeeded``), so every source shows one vocabulary (``running`` stands for Pending
    and Running alike: read as Running)."""
    from almanac.history.states import RunState  # noqa: PLC0415
    from almanac.notify.formats import run_status  # noqa: PLC0415

    words: dict[str, str] = {}
    for state in sorted(RunState, key=lambda s: s is RunState.PENDING):
        words.setdefault(run_status(state), state.value)
    return words


def facade_run(run: Mapping[str, Any], states: Mapping[str, str]) -> RunRow:
    slot = _time(run.get("slot"))
    assert slot is not None
    status = str(run.get("status"))
    return RunRow(
        name=str(run["id"]),
        phase=states.get(status, status),
        trigger=str(run.get("trigger")),
        attempt=int(run.get("attempt") or 1),
        slot=slot,
        started=_time(run.get("start_time")),
        finished=_time(run.get("end_time")),
        message=str(run.get("error_message") or run.get("reason") or ""),
    )


def jobs_as_runs(jobs: Sequence[Mapping[str, Any]]) -> list[RunRow]:
    """The run Jobs still in the cluster, newest slot first."""
    rows = []
    for job in jobs:
        seen = observe_job(job)
        if seen is None:
            continue
        rows.append(
            RunRow(
                name=seen.name,
                phase=seen.phase.value,
                trigger=seen.trigger.value,
                attempt=seen.attempt,
                slot=seen.slot,
                started=seen.start_time,
                finished=seen.completion_time,
            )
        )
    return sorted(rows, key=lambda r: (r.slot, r.attempt, r.name), reverse=True)


async def _database_runs(dsn: str, namespace: str, uid: str, limit: int) -> list[RunRow]:
    from psycopg import Error as DatabaseError  # noqa: PLC0415
    from psycopg_pool import PoolTimeout  # noqa: PLC0415

    from almanac.history import HistoryError, PostgresRunStore, open_pool  # noqa: PLC0415
    from almanac.history.errors import DATABASE_URL_VARIABLE  # noqa: PLC0415
    from almanac.history.states import state_of  # noqa: PLC0415

    pool = open_pool(dsn, max_size=1, timeout=10)
    try:
        await pool.open(wait=True, timeout=10)
        records, _ = await PostgresRunStore(pool).list_runs(
            namespace, scheduledjob_uid=uid, limit=limit
        )
    except (PoolTimeout, DatabaseError, HistoryError) as exc:
        raise CliError(f"the history database failed: {exc}", DATABASE_URL_VARIABLE) from None
    finally:
        await pool.close()
    return [
        RunRow(
            name=r.run_name,
            phase=state_of(r).value,
            trigger=r.trigger,
            attempt=r.attempt,
            slot=r.slot,
            started=r.started_at,
            finished=r.finished_at,
            message=r.reason or r.error or "",
        )
        for r in records
    ]


async def read_runs(
    settings: HistorySettings,
    namespace: str,
    uid: str,
    limit: int,
    jobs: Sequence[Mapping[str, Any]] | None,
) -> tuple[list[RunRow] | None, str]:
    """The newest ``limit`` runs and where they came from; ``jobs``: the cluster's run
    Jobs, the fallback when no history source is configured (``None``: no fallback)."""
    facade = settings.facade()
    if facade is not None:
        return await facade.runs(uid, limit), "history, through the facade"
    if settings.database_url is not None:
        return await _database_runs(settings.database_url, namespace, uid, limit), "history"
    from almanac.history.errors import DATABASE_URL_VARIABLE  # noqa: PLC0415

    note = (
        f"the Jobs left in the cluster; set {API_URL_VARIABLE} or {DATABASE_URL_VARIABLE} "
        "for the whole history"
    )
    if jobs is None:
        return None, note
    return jobs_as_runs(jobs)[:limit], note

"""The chaos suite's execution ledger: every run's container reports to it as it starts,
over the pod bridge, so what actually executed is counted apart from the Jobs that exist.
A Job can exist and never execute (its pod never started), or execute twice (a pod
replaced): only the runs themselves can tell.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Final

from aiohttp import web

from hack.chaos.ledger import RunSeen

__all__ = ["ExecutionLedger", "execution_gaps"]

_PATH: Final = "/executed"


class ExecutionLedger:
    """``pods``: run name (``ALMANAC_RUN``) to the pods that executed it. A run reports
    ``<run> <pod>``; a report sent again (its answer was slow) names the same pod, so it
    is one execution."""

    def __init__(self, host: str) -> None:
        self._host = host
        self.pods: dict[str, set[str]] = {}
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post(_PATH, self._executed)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://{self._host}:{port}{_PATH}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _executed(self, request: web.Request) -> web.Response:
        run, _, pod = (await request.text()).strip().partition(" ")
        self.pods.setdefault(run, set()).add(pod)
        return web.Response(text="ok")


def execution_gaps(runs: Iterable[RunSeen], pods: Mapping[str, set[str]]) -> tuple[int, int]:
    """(finished runs that never reported, runs executed by more than one pod)."""
    finished = [run for run in runs if run.outcome is not None]
    unexecuted = sum(1 for run in finished if not pods.get(run.job))
    twice = sum(1 for executed in pods.values() if len(executed) > 1)
    return unexecuted, twice

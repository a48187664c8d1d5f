"""BufferedRecorder over a Postgres that is unreachable at first, then comes back."""

from __future__ import annotations

import asyncio

from psycopg_pool import AsyncConnectionPool

from almanac.core.status import RunPhase
from almanac.history import Backoff, BufferedRecorder, PostgresRunStore, open_pool
from tests.integration.history.conftest import through
from tests.integration.history.proxy import LateProxy
from tests.support import eventually
from tests.unit.history.builders import UID, finished, running


async def test_buffers_while_postgres_is_down_then_flushes(
    dsn: str, schema_pool: tuple[AsyncConnectionPool, str], proxy: LateProxy
) -> None:
    pool, schema = schema_pool
    late_pool = open_pool(through(dsn, proxy.port), schema=schema, timeout=1, connect_timeout=1)
    await late_pool.open(wait=False)
    recorder = BufferedRecorder(
        PostgresRunStore(late_pool), backoff=Backoff(initial=0.05, maximum=0.2)
    )
    stop = asyncio.Event()
    loop = asyncio.create_task(recorder.run(stop))
    try:
        recorder.submit(running())
        recorder.submit(finished())

        await eventually(lambda: not recorder.healthy, timeout=15, interval=0.1, what="unhealthy")
        assert recorder.backlog == 1  # merged by run: the latest phase won
        assert not await recorder.has_final_record(UID, finished().run_name)

        await proxy.start()

        await eventually(
            lambda: recorder.backlog == 0 and recorder.healthy,
            timeout=30,
            interval=0.1,
            what="flushed",
        )
        stored = await PostgresRunStore(pool).get_run(UID, finished().run_name)
        assert stored is not None
        assert stored.phase == RunPhase.SUCCEEDED
        assert await recorder.has_final_record(UID, finished().run_name)
    finally:
        stop.set()
        await loop
        await late_pool.close()

"""One rate limit for all processes: four `article-mcp worker` processes with
EMBEDDING_REQUESTS_PER_MINUTE against one database and one provider (the fake server on
loopback, which records when each request arrived). The provider must never see more than the
limit allows in a window, counted from the requests themselves, whatever the test's speed.

The limit is 120 a minute: a burst of 6, then 1.9 a second. Any 10-second window may then
hold at most 6 + 19 = 25 requests; four processes each pacing themselves would send about
four times that. (The minute-long figures are in BENCHMARKS.md, `scripts/bench_rate_limit.py`.)
"""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from article_mcp.db.pool import Database
from article_mcp.embeddings.providers.ratelimit import Budget
from tests.support.worker_fleet import most_in_a_window, queued_work, worker_env, worker_fleet

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

RPM = 120
PROCESSES = 4
WINDOW = 10.0
# Requests to watch: enough for the 10-second windows to be full ones, well past the burst.
WATCH = 45


async def test_four_worker_processes_share_one_provider_budget(
    db: Database, database_url: str, tmp_path: Path
) -> None:
    # Far more work than the budget lets through.
    async with queued_work(database_url, 4 * WATCH) as (_, server):
        env = worker_env(
            database_url,
            server,
            embedding_requests_per_minute=RPM,
            embedding_batch_size=1,  # one task, one passage, one request
        )
        async with worker_fleet([env] * PROCESSES, tmp_path / "workers.log"):
            with anyio.fail_after(120):
                while server.call_count < WATCH:  # noqa: ASYNC110 - the calls are counted by another thread
                    await anyio.sleep(0.1)
        times = [call.at for call in server.calls]

    budget = Budget.per_minute(RPM)
    assert budget is not None
    assert budget.capacity + budget.rate * WINDOW == pytest.approx(25)
    assert most_in_a_window(times, [1.0] * len(times), WINDOW) <= 25, (tmp_path / "workers.log").read_text()
    # Every process took part: the budget was shared, not held by one of them.
    busy = await db.pool.fetchval(
        "SELECT count(DISTINCT pid) FROM embedding_worker_status WHERE tasks_completed > 0"
    )
    assert busy == PROCESSES

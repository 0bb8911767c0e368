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
from tests.conftest import cli_env
from tests.support.fake_providers import FakeEmbeddingServer
from tests.support.queue_writes import CHUNK_OVERLAP, CHUNK_SIZE
from tests.support.worker_fleet import most_in_a_window, register_model, seed_tasks, worker_fleet

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

RPM = 120
PROCESSES = 4
WINDOW = 10.0
# Requests to watch: enough for the 10-second windows to be full ones, well past the burst.
WATCH = 45


async def test_four_worker_processes_share_one_provider_budget(
    db: Database, database_url: str, fake_server: FakeEmbeddingServer, tmp_path: Path
) -> None:
    async with db.pool.acquire() as conn:
        model_id = await register_model(conn, "ollama", "nomic-embed-text", fake_server.dimensions)
        await seed_tasks(conn, model_id, 4 * WATCH)  # far more work than the budget lets through
    env = cli_env(
        DATABASE_URL=database_url,
        **fake_server.env(
            "ollama",
            embedding_model="nomic-embed-text",
            embedding_requests_per_minute=RPM,
            embedding_batch_size=1,  # one task, one passage, one request
            embedding_worker_interval=200,
            chunk_size=CHUNK_SIZE,
            chunk_overlap=CHUNK_OVERLAP,
        ),
    )
    async with worker_fleet([env] * PROCESSES, tmp_path / "workers.log"):
        with anyio.fail_after(120):
            while fake_server.call_count < WATCH:  # noqa: ASYNC110 - the calls are counted by another thread
                await anyio.sleep(0.1)
    times = [call.at for call in fake_server.calls]

    budget = Budget.per_minute(RPM)
    assert budget is not None
    allowed = budget.capacity + budget.rate * WINDOW
    assert allowed == pytest.approx(25)
    assert most_in_a_window(times, [1.0] * len(times), WINDOW) <= 25, (tmp_path / "workers.log").read_text()
    # Every process took part: the budget was shared, not held by one of them.
    busy = await db.pool.fetchval(
        "SELECT count(DISTINCT pid) FROM embedding_worker_status WHERE tasks_completed > 0"
    )
    assert busy == PROCESSES

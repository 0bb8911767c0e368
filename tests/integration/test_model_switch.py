"""The blue/green switch from a 32-dimension model to a 48-dimension one (two models of the fake
server on loopback) while writes and searches go on: search never fails and never mixes two
models, the new model covers everything before it is activated, a rollback is instant until
prune, prune removes the old vectors and index; and `embeddings plan` foresaw the tokens sent."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import anyio
import anyio.lowlevel
import asyncpg
import pytest

from article_mcp.config import Settings
from article_mcp.db.pool import Database
from article_mcp.embeddings import backfill, lifecycle
from article_mcp.embeddings.costs import switch_plan
from article_mcp.embeddings.registry import ModelRecord, all_models, hnsw_index_name
from article_mcp.embeddings.status import model_statuses
from article_mcp.errors import ConflictError
from article_mcp.passages.tokens import count_tokens
from article_mcp.search.models import SearchRequest
from article_mcp.server.runtime import Runtime, open_runtime
from article_mcp.worker.serving import run_pools
from tests.support.fake_providers import FakeEmbeddingServer
from tests.support.worker_runs import wait_until, worker_settings, wrong_or_missing_vectors

pytestmark = pytest.mark.anyio

OLD, NEW = "small-32", "large-48"
WORDS = ["river", "stone", "garden", "lamp", "window", "ocean", "forest", "bridge", "candle", "mirror"]
QUERIES = ["garden lamp by the river", "a violin near the ocean", "paper bridge"]


def article(i: int) -> tuple[str, str]:
    """A title and two short sections of distinct text."""
    words = [WORDS[(i * 7 + k) % len(WORDS)] for k in range(40)]
    first, second = " ".join(words[:20]), " ".join(words[20:])
    body = f"## Part one\n\n{first} number {i}.\n\n## Part two\n\n{second} item {i}."
    return f"Note {i} on {WORDS[i % len(WORDS)]}", body


@pytest.fixture
def server() -> AsyncIterator[FakeEmbeddingServer]:
    with FakeEmbeddingServer() as fake:
        fake.model_dimensions = {OLD: 32, NEW: 48}
        yield fake


def settings_for(database_url: str, server: FakeEmbeddingServer, tmp_path: Path, model: str) -> Settings:
    return worker_settings(database_url, server, embedding_model=model, article_mcp_data_dir=tmp_path)


@asynccontextmanager
async def embedded(settings: Settings, articles: Iterable[int]) -> AsyncIterator[Runtime]:
    """A runtime with its worker pools running, the articles written and embedded."""
    async with open_runtime(settings) as runtime, anyio.create_task_group() as tg:
        await tg.start(run_pools, settings, runtime.db, runtime.embeddings)
        for i in articles:
            await runtime.services.articles.create(*article(i))
        await wait_until(lambda: settled(runtime.db))
        yield runtime
        tg.cancel_scope.cancel()


async def model_named(db: Database, name: str) -> ModelRecord:
    async with db.pool.acquire() as conn:
        return next(m for m in await all_models(conn) if m.name == name)


async def missing(db: Database, name: str) -> int:
    async with db.pool.acquire() as conn:
        return await lifecycle.missing_articles(conn, (await model_named(db, name)).id)


async def settled(db: Database) -> bool:
    async with db.pool.acquire() as conn:
        live: int = await conn.fetchval(
            "SELECT count(*) FROM embedding_tasks WHERE status IN ('pending', 'processing')"
        )
    return live == 0 and await missing(db, OLD) == 0


@dataclass
class Searches:
    """Searches run while the switch happens: which model each used, and in which epoch."""

    # Even: no activation in flight; epoch // 2 activations done. Odd: one is running.
    epoch: int = 0
    expected: list[str] = field(default_factory=lambda: [OLD])
    seen: list[tuple[int, int, str | None, str]] = field(default_factory=list)

    async def run(self, runtime: Runtime) -> None:
        while True:
            for query in QUERIES:
                for mode in ("hybrid", "semantic"):
                    start = self.epoch
                    response = await runtime.services.search.search(SearchRequest(query=query, mode=mode))
                    assert not response.fallback, response.notice
                    self.seen.append((start, self.epoch, response.model, mode))
            await anyio.lowlevel.checkpoint()

    async def activate(self, conn: asyncpg.Connection, model: ModelRecord, *, grace_hours: float) -> None:
        self.epoch += 1
        await lifecycle.activate(conn, model, force=False, grace_hours=grace_hours)
        self.expected.append(model.name)
        self.epoch += 1

    def check(self) -> None:
        steady = [(start, used) for start, end, used, _ in self.seen if start == end and start % 2 == 0]
        assert steady, "searches ran"
        for start, used in steady:
            assert used == self.expected[start // 2]
        assert {used for _, _, used, _ in self.seen} <= {OLD, NEW}


async def test_a_switch_to_a_larger_model_keeps_search_working_and_rolls_back_until_prune(
    database_url: str, server: FakeEmbeddingServer, tmp_path: Path
) -> None:
    # Before: the old model active and complete.
    async with embedded(settings_for(database_url, server, tmp_path, OLD), range(16)):
        pass

    new_settings = settings_for(database_url, server, tmp_path, NEW)
    searches = Searches()
    async with open_runtime(new_settings) as runtime:
        db = runtime.db
        new, old = await model_named(db, NEW), await model_named(db, OLD)
        # Configuring the new model registered it building; search stays on the old one.
        assert (new.state, old.state) == ("building", "active")
        async with db.pool.acquire() as conn:
            plan = await switch_plan(conn, new_settings, new)
            planned = {r["text_hash"] for r in await conn.fetch("SELECT text_hash FROM article_chunks")}
        assert (plan.articles, plan.counted_by) == (16, "estimate")
        sent_from = len(server.calls)

        async with anyio.create_task_group() as tg:
            await tg.start(run_pools, new_settings, db, runtime.embeddings)
            tg.start_soon(searches.run, runtime)
            async with db.pool.acquire() as conn:
                ids = await backfill.articles_needing_vectors(conn, new.id)
                await backfill.enqueue_backfill(
                    conn, new.id, ids, priority="low", batch_size=5, max_attempts=3, run_id="switch"
                )
            # Writes go on while the new model builds: each is queued for both models.
            for i in range(16, 24):
                written = await runtime.services.articles.create(*article(i))
                async with db.pool.acquire() as conn:
                    models = await conn.fetch(
                        "SELECT DISTINCT t.model_id FROM embedding_tasks t"
                        " JOIN articles a ON a.id = t.article_id WHERE a.slug = $1",
                        written.slug,
                    )
                assert {r["model_id"] for r in models} == {old.id, new.id}
            # Not complete yet (or just now): activation waits for full coverage.
            await wait_until(lambda: settled(db))
            await wait_until(lambda: missing_is_zero(db, NEW))
            async with db.pool.acquire() as conn:
                await searches.activate(conn, new, grace_hours=1)
                assert await wrong_or_missing_vectors(conn, new.id, dimensions=48) == []
                # Rollback: the old model stayed current, so it is complete and instant.
                await searches.activate(conn, old, grace_hours=1)
                await searches.activate(conn, new, grace_hours=0)
            await wait_until(lambda: searched_after(searches, 6))
            tg.cancel_scope.cancel()
        searches.check()

        async with db.pool.acquire() as conn:
            statuses = {s.name: s for s in await model_statuses(conn, new_settings)}
            assert (statuses[NEW].state, statuses[NEW].articles_embedded) == ("active", 24)
            assert statuses[OLD].state == "retired"
            pruned = await lifecycle.prune(conn, old)
            assert pruned.vectors > 0
            left = await conn.fetchval("SELECT count(*) FROM chunk_embeddings WHERE model_id = $1", old.id)
            assert left == 0
            assert await conn.fetchval("SELECT to_regclass($1)", hnsw_index_name(old.id)) is None
            # After prune, a rollback is a rebuild: refused with the count.
            with pytest.raises(ConflictError, match="24 articles"):
                await lifecycle.activate(conn, old, force=False, grace_hours=1)
            new_hashes = {
                r["text_hash"] for r in await conn.fetch("SELECT text_hash FROM article_chunks")
            } - planned

    # What the plan foresaw against what was sent for the new model (queries left out).
    sent = [t for call in server.calls[sent_from:] if call.model == NEW for t in call.inputs]
    documents = [t for t in sent if t not in QUERIES and _sha(t) not in new_hashes]
    assert len(documents) == len(set(documents)), "no text is sent twice for one model"
    used = sum(map(count_tokens, documents))
    assert abs(plan.tokens - used) <= 0.1 * used
    assert plan.passages == len(documents)


async def missing_is_zero(db: Database, name: str) -> bool:
    return await missing(db, name) == 0


async def searched_after(searches: Searches, epoch: int) -> bool:
    return any(start == epoch for start, *_ in searches.seen)


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


async def test_a_model_that_changes_dimension_under_its_name_fails_its_tasks_and_keeps_its_index(
    database_url: str, server: FakeEmbeddingServer, tmp_path: Path
) -> None:
    settings = settings_for(database_url, server, tmp_path, OLD)
    async with embedded(settings, [1]) as runtime:
        # The same name now serves another model.
        server.model_dimensions[OLD] = 40
        written = await runtime.services.articles.create(*article(2))

        async def failed() -> bool:
            async with runtime.db.pool.acquire() as conn:
                status = await conn.fetchval(
                    "SELECT t.status::text FROM embedding_tasks t JOIN articles a ON a.id = t.article_id"
                    " WHERE a.slug = $1",
                    written.slug,
                )
            return status == "failed"

        await wait_until(failed)
        async with runtime.db.pool.acquire() as conn:
            [status] = await model_statuses(conn, settings)
            dims = await conn.fetchval(
                "SELECT DISTINCT vector_dims(embedding) FROM chunk_embeddings WHERE model_id = $1",
                status.model_id,
            )
            index = await conn.fetchval("SELECT to_regclass($1)", hnsw_index_name(status.model_id))
        assert status.failed_last_day == 1
        assert status.failure_reason is not None and "40-dimensional" in status.failure_reason
        assert (status.dimensions, dims, index is not None) == (32, 32, True)
        # Search does not fail on it: hybrid answers from full text and says why.
        response = await runtime.services.search.search(SearchRequest(query="river stone", mode="hybrid"))
        assert response.fallback and response.notice and "40-dimensional" in response.notice


async def test_auto_activate_switches_once_the_building_model_covers_every_article(
    database_url: str, server: FakeEmbeddingServer, tmp_path: Path
) -> None:
    async with embedded(settings_for(database_url, server, tmp_path, OLD), range(4)):
        pass
    settings = settings_for(database_url, server, tmp_path, NEW).model_copy(
        update={"embedding_auto_activate": True}
    )
    async with embedded(settings, range(4, 6)) as runtime:
        new = await model_named(runtime.db, NEW)
        assert new.state == "building"
        async with runtime.db.pool.acquire() as conn:
            ids = await backfill.articles_needing_vectors(conn, new.id)
            await backfill.enqueue_backfill(
                conn, new.id, ids, priority="low", batch_size=10, max_attempts=3, run_id="auto"
            )

        async def active() -> bool:
            return (await model_named(runtime.db, NEW)).state == "active"

        await wait_until(active)
        assert await missing(runtime.db, NEW) == 0
        assert (await model_named(runtime.db, OLD)).state == "retired"

"""Several `article-mcp worker` processes against one database and the fake embedding server:
what the shared rate-limit test and the scaling benchmarks (scripts/) run.

`queued_work` gives a database with many one-passage articles queued (in a few set-based
statements, the real chunker's passages, so the workers' hash check passes) and the fake
server running; `worker_env` the environment of a worker process against them; `worker_fleet`
runs N worker processes for the length of a block and stops them with SIGTERM;
`most_in_a_window` counts what a provider saw in its busiest window.
"""

from __future__ import annotations

import bisect
import signal
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import asyncpg
from anyio.abc import Process

from article_mcp.db.migrate import migrate_to_latest
from article_mcp.passages.chunking import chunk_article
from article_mcp.queue import tasks as queue
from tests.conftest import ARTICLE_MCP, cli_env
from tests.support.fake_providers import FakeEmbeddingServer
from tests.support.queue_writes import CHUNK_OVERLAP, CHUNK_SIZE

MODEL = "nomic-embed-text"

# How long stopping workers may take to finish their batches before they are killed.
STOP_LIMIT = 60.0


@asynccontextmanager
async def queued_work(
    dsn: str, tasks: int, *, latency: float = 0.0
) -> AsyncIterator[tuple[asyncpg.Connection, FakeEmbeddingServer]]:
    """The database at `dsn`, migrated, with `tasks` pending tasks for the fake server's model,
    and that server running (answering after `latency` seconds); a connection to the database."""
    await migrate_to_latest(dsn)
    conn = await asyncpg.connect(dsn)
    try:
        with FakeEmbeddingServer() as server:
            server.latency = latency
            model_id = await register_model(conn, "ollama", MODEL, server.dimensions)
            await seed_tasks(conn, model_id, tasks)
            await conn.execute("ANALYZE")
            yield conn, server
    finally:
        await conn.close()


def worker_env(dsn: str, server: FakeEmbeddingServer, **settings: Any) -> dict[str, str]:
    """The environment of an `article-mcp worker` against `dsn` and the fake server's model,
    with the test CHUNK_SIZE (the seeded passages') and the given settings."""
    values: dict[str, Any] = {
        "embedding_model": MODEL,
        # No instruction prefixes: the seeded passages' hashes are of the bare texts.
        "embedding_query_prefix": "",
        "embedding_document_prefix": "",
        "embedding_worker_interval": 200,
        "chunk_size": CHUNK_SIZE,
        "chunk_overlap": CHUNK_OVERLAP,
    }
    return cli_env(DATABASE_URL=dsn, **server.env("ollama", **{**values, **settings}))


async def register_model(conn: asyncpg.Connection, provider: str, name: str, dimensions: int) -> int:
    """The model's id, without instruction prefixes (as `worker_env` configures it), registered
    with its dimension known (no worker needs a probe call)."""
    model_id: int = await conn.fetchval(
        "INSERT INTO embedding_models (provider, name, dimensions) VALUES ($1, $2, $3)"
        " ON CONFLICT (provider, name, query_prefix, document_prefix)"
        " DO UPDATE SET dimensions = EXCLUDED.dimensions RETURNING id",
        provider,
        name,
        dimensions,
    )
    return model_id


async def seed_tasks(conn: asyncpg.Connection, model_id: int, count: int, *, start: int = 0) -> None:
    """`count` articles of one passage each (cut at the test CHUNK_SIZE), each with a pending task."""
    titles = [f"Article {n}" for n in range(start, start + count)]
    contents = [
        f"Passage {n} on running many workers against one database." for n in range(start, start + count)
    ]
    chunks = [
        chunk_article(t, c, max_tokens=CHUNK_SIZE, overlap=CHUNK_OVERLAP)
        for t, c in zip(titles, contents, strict=True)
    ]
    assert all(len(c) == 1 and not c[0].heading_path for c in chunks)
    async with conn.transaction():
        ids: list[int] = [
            row["id"]
            for row in await conn.fetch(
                "INSERT INTO articles (slug, title, content, content_hash)"
                " SELECT 'a-' || md5(t), t, c, md5(c) FROM unnest($1::text[], $2::text[]) AS u (t, c)"
                " RETURNING id",
                titles,
                contents,
            )
        ]
        await conn.execute(
            "INSERT INTO article_chunks (article_id, article_version, chunk_index, content, text_hash,"
            " token_count, tsv, lexeme_count)"
            " SELECT i, 1, 0, c, h, n, to_tsvector('simple', c), length(to_tsvector('simple', c))"
            " FROM unnest($1::bigint[], $2::text[], $3::text[], $4::int[]) AS u (i, c, h, n)",
            ids,
            [c[0].text for c in chunks],
            [c[0].text_hash for c in chunks],
            [c[0].token_count for c in chunks],
        )
        for first in range(0, len(ids), 10_000):
            await queue.enqueue(conn, ids[first : first + 10_000], model_id, max_attempts=4)


@asynccontextmanager
async def worker_fleet(envs: Sequence[dict[str, str]], log: Path) -> AsyncIterator[list[Process]]:
    """One `article-mcp worker` per environment, running for the block; SIGTERM at its end."""
    processes: list[Process] = []
    with log.open("ab") as output:
        try:
            for env in envs:
                # One by one: those started are stopped even if a later one cannot start.
                processes.append(  # noqa: PERF401
                    await anyio.open_process([*ARTICLE_MCP, "worker"], env=env, stdout=output, stderr=output)
                )
            yield processes
        finally:
            for process in processes:
                if process.returncode is None:
                    process.send_signal(signal.SIGTERM)
            with anyio.move_on_after(STOP_LIMIT, shield=True):
                for process in processes:
                    await process.wait()
            for process in processes:
                if process.returncode is None:
                    process.kill()
                    await process.wait()


def most_in_a_window(times: Sequence[float], costs: Sequence[float], window: float) -> float:
    """The largest total cost sent in any half-open window [t, t + window) (the busiest window
    starts at a send)."""
    order = sorted(range(len(times)), key=times.__getitem__)
    ordered, weights = [times[i] for i in order], [costs[i] for i in order]
    return max(
        (sum(weights[i : bisect.bisect_left(ordered, start + window)]) for i, start in enumerate(ordered)),
        default=0.0,
    )

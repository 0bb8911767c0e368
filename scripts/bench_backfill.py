"""How fast `embeddings backfill` queues a large corpus: 100k articles by default.

A fresh database gets N articles lacking vectors, 3 chunks each, plus N/10 already embedded
and N/10 marked no_rag (no chunks), inserted set-based; then the backfill's own code runs:
the plan (the dry run's counts), the scan for articles lacking vectors, the enqueue in batches of
1000 (the default), 100 and 25 (the deployment guide's example), each rolled back before the
next. One article per statement (batch size 1, what a per-article loop costs) runs on a
slice and is reported as a rate beside the others.

    .venv/bin/python scripts/bench_backfill.py [--articles 100000] [--single 5000]

Uses DATABASE_URL if set (creating and dropping a database `bench_backfill` in it),
otherwise an embedded PostgreSQL in a temporary directory.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import anyio
import asyncpg

from article_mcp.config import load_settings
from article_mcp.db.embedded import database_address
from article_mcp.db.migrate import migrate_to_latest
from article_mcp.db.pool import connect
from article_mcp.embeddings.backfill import articles_needing_vectors, enqueue_backfill, plan, rollback
from article_mcp.logs import configure_logging

T = TypeVar("T")
DATABASE = "bench_backfill"

SEED = """
INSERT INTO embedding_models (provider, name, dimensions) VALUES ('local', 'bench', 3);
INSERT INTO articles (slug, title, content, content_hash, no_rag)
SELECT 'article-' || i, 'Article ' || i, 'content ' || i, md5(i::text), i > $1::int * 1.1
FROM generate_series(1, ($1::int * 1.2)::int) AS i;
INSERT INTO article_chunks (article_id, article_version, chunk_index, content, text_hash,
                            token_count, tsv, lexeme_count)
SELECT a.id, 1, c, 'passage ' || c || ' of ' || a.slug, md5(a.slug || '/' || c), 40,
       to_tsvector('simple', 'passage ' || a.slug), 2
FROM articles a CROSS JOIN generate_series(0, 2) AS c
WHERE NOT a.no_rag;
INSERT INTO chunk_embeddings (model_id, text_hash, embedding)
SELECT 1, k.text_hash, '[1,0,0]'::vector
FROM article_chunks k
WHERE k.article_id > $1::int;
ANALYZE;
"""


async def timed(step: Callable[[], Awaitable[T]]) -> tuple[T, float]:
    start = time.perf_counter()
    result = await step()
    return result, time.perf_counter() - start


async def seed(conn: asyncpg.Connection, articles: int) -> float:
    # Executed statement by statement: asyncpg runs a parameterised script only one at a time.
    start = time.perf_counter()
    for statement in filter(str.strip, SEED.split(";")):
        if "$1" in statement:
            await conn.execute(statement, articles)
        else:
            await conn.execute(statement)
    return time.perf_counter() - start


async def enqueue_run(conn: asyncpg.Connection, ids: list[int], batch_size: int) -> float:
    _, seconds = await timed(
        lambda: enqueue_backfill(
            conn,
            1,
            ids,
            priority="normal",
            batch_size=batch_size,
            max_attempts=4,
            run_id=f"bench-{batch_size}",
        )
    )
    await rollback(conn, f"bench-{batch_size}")
    return seconds


async def bench(dsn: str, articles: int, single: int) -> list[tuple[str, str, int, float]]:
    await migrate_to_latest(dsn)
    conn = await connect(dsn)
    try:
        rows: list[tuple[str, str, int, float]] = [
            ("seed (set-based inserts)", "-", articles * 12 // 10, await seed(conn, articles))
        ]
        counted, seconds = await timed(lambda: plan(conn, 1))
        rows.append(("plan (dry-run counts)", "-", counted.to_queue, seconds))
        ids, seconds = await timed(lambda: articles_needing_vectors(conn, 1))
        rows.append(("scan: articles lacking vectors", "-", len(ids), seconds))
        rows.extend(
            [("enqueue", str(size), len(ids), await enqueue_run(conn, ids, size)) for size in (1000, 100, 25)]
        )
        rows.append(("enqueue (slice)", "1", single, await enqueue_run(conn, ids[:single], 1)))
        return rows
    finally:
        await conn.close()


async def main(articles: int, single: int) -> None:
    settings = load_settings(article_mcp_data_dir=Path(tempfile.mkdtemp(prefix="bench-backfill-")))
    async with database_address(settings) as admin_dsn:
        admin = await asyncpg.connect(admin_dsn)
        await admin.execute(f"DROP DATABASE IF EXISTS {DATABASE}")
        await admin.execute(f"CREATE DATABASE {DATABASE}")
        try:
            rows = await bench(_with_database(admin_dsn, DATABASE), articles, single)
        finally:
            await admin.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
            await admin.close()
    report(rows)


def _with_database(dsn: str, name: str) -> str:
    from urllib.parse import urlsplit, urlunsplit

    return urlunsplit(urlsplit(dsn)._replace(path=f"/{name}"))


def report(rows: list[tuple[str, str, int, float]]) -> None:
    default = next(seconds / count for step, size, count, seconds in rows if size == "1000")
    print("| step | batch size | articles | seconds | articles/s | time per article vs batch 1000 |")
    print("|---|---:|---:|---:|---:|---:|")
    for step, size, count, seconds in rows:
        rate = count / seconds if seconds else 0.0
        ratio = f"{seconds / count / default:.1f}x" if size != "-" and count else "-"
        print(f"| {step} | {size} | {count:,} | {seconds:.2f} | {rate:,.0f} | {ratio} |")


def parse() -> Any:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--single", type=int, default=5_000, help="articles enqueued one per statement")
    return parser.parse_args()


if __name__ == "__main__":
    args = parse()
    configure_logging("WARNING", "console")
    anyio.run(main, args.articles, args.single)

"""What `article-mcp db reindex` costs next to writing the same articles.

The Cranfield abstracts (1,400 articles, about 1 KB each) are written one by one through the
article service (semantic search off: chunks and full-text index only, as every write does),
then reindexed three times on the same database:

- with CHUNK_SIZE 64 and CHUNK_OVERLAP 8 (every article's passages change);
- again with the same settings (nothing changes: nothing is written);
- with TEXT_SEARCH_CONFIG `simple` (the passages stay, every search vector changes).

    .venv/bin/python scripts/bench_reindex.py [--articles 1400] [--batch-size 200]

Each row is reported as articles per second and as time per article next to a write.
"""

from __future__ import annotations

import argparse
import time

import anyio

from article_mcp.articles.reindex import reindex
from article_mcp.articles.service import ArticleService
from article_mcp.config import Settings
from article_mcp.db.migrate import migrate_to_latest
from article_mcp.db.pool import Database, create_pool
from article_mcp.logs import configure_logging
from bench_pipeline import load_articles
from bench_server import temporary_server


def settings(dsn: str, **overrides: object) -> Settings:
    return Settings(_env_file=None, database_url=dsn, semantic_search_enabled=False, **overrides)  # type: ignore[call-arg, arg-type]


async def measure(dsn: str, args: argparse.Namespace) -> list[tuple[str, int, float, int]]:
    """(what, articles, seconds, articles whose passages changed) per step."""
    await migrate_to_latest(dsn)
    pool = await create_pool(dsn, min_size=1, max_size=2)
    try:
        articles = load_articles(args.articles)
        service = ArticleService(settings(dsn), Database(pool=pool, dsn=dsn), None)
        started = time.perf_counter()
        for title, text in articles:
            await service.create(title, text)
        rows = [("write (create_article, default settings)", len(articles), time.perf_counter() - started, 0)]
        steps = [
            ("reindex, CHUNK_SIZE 64 (passages change)", settings(dsn, chunk_size=64, chunk_overlap=8)),
            ("reindex again, same settings (no change)", settings(dsn, chunk_size=64, chunk_overlap=8)),
            (
                "reindex, TEXT_SEARCH_CONFIG simple",
                settings(dsn, chunk_size=64, chunk_overlap=8, text_search_config="simple"),
            ),
        ]
        async with pool.acquire() as conn:
            for name, step_settings in steps:
                started = time.perf_counter()
                result = await reindex(conn, step_settings, batch_size=args.batch_size)
                rows.append((name, result.articles, time.perf_counter() - started, result.rechunked))
    finally:
        await pool.close()
    return rows


def report(rows: list[tuple[str, int, float, int]]) -> None:
    write_each = rows[0][2] / rows[0][1]
    print("| step | articles | passages changed | seconds | articles/s | time per article vs a write |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, count, seconds, changed in rows:
        ratio = seconds / count / write_each
        print(f"| {name} | {count:,} | {changed:,} | {seconds:.2f} | {count / seconds:,.0f} | {ratio:.2f}x |")


async def main(args: argparse.Namespace) -> None:
    configure_logging("WARNING", "console")
    async with temporary_server("bench-reindex-") as admin_dsn:
        rows = await measure(admin_dsn, args)
    report(rows)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=1400)
    parser.add_argument("--batch-size", type=int, default=200)
    anyio.run(main, parser.parse_args())

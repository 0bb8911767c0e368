"""What version history costs in storage: a 10 KB article edited in small steps.

A markdown article of about 10 KB (Cranfield abstracts under headings: real English text) is
created and then edited VERSIONS - 1 times through the article service, each edit changing
a few words in one paragraph, as an agent's small fixes do. The history table's size on disk
(pg_total_relation_size: heap, TOAST and indexes) divided by the versions it holds is the cost
of one version, next to the article's own size. Side by side, in the same run, the same rows
copied into tables that store content:

- uncompressed (STORAGE EXTERNAL): what full copies would cost without TOAST compression;
- with lz4 instead of the default pglz, where the server has it.

And for reference, what a delta per version would take: each version's unified diff from
the one before, zlib-compressed (computed here, not stored).

    .venv/bin/python scripts/bench_history.py [--versions 200] [--size 10000]
"""

from __future__ import annotations

import argparse
import difflib
import itertools
import random
import tempfile
import zlib
from pathlib import Path

import anyio
import asyncpg

from article_mcp.articles.service import ArticleService
from article_mcp.config import Settings
from article_mcp.db.embedded import EmbeddedServer
from article_mcp.db.migrate import migrate_to_latest
from article_mcp.db.pool import Database, create_pool
from article_mcp.logs import configure_logging
from bench_pipeline import load_articles

SEED = 12


def article_text(size: int) -> str:
    """About `size` bytes of markdown: abstracts as sections."""
    parts: list[str] = []
    for title, text in load_articles(400):
        parts.append(f"## {title.strip().capitalize()}\n\n{text.strip()}\n")
        if sum(len(p) for p in parts) >= size:
            break
    return "\n".join(parts)


def small_edit(text: str, rng: random.Random) -> str:
    """The text with a few neighbouring words of one paragraph replaced by others of the text."""
    words = text.split(" ")
    at = rng.randrange(len(words) - 4)
    for offset in range(rng.randint(1, 4)):
        words[at + offset] = rng.choice(words).strip("\n") or "word"
    return " ".join(words)


async def table_size(conn: asyncpg.Connection, table: str) -> int:
    size: int = await conn.fetchval("SELECT pg_total_relation_size($1::regclass)", table)
    return size


async def copy_with(conn: asyncpg.Connection, table: str, clause: str) -> int | None:
    """Size of the history copied into a table whose content column is set by `clause`."""
    try:
        await conn.execute(f"CREATE TABLE {table} (LIKE article_versions INCLUDING ALL)")
        await conn.execute(f"ALTER TABLE {table} ALTER COLUMN content {clause}")
    except asyncpg.PostgresError:
        return None  # lz4 not built into this server
    await conn.execute(f"INSERT INTO {table} SELECT * FROM article_versions")
    # A copied value keeps the compression it had: make each content a new value, stored
    # under the column's own setting, and drop the rows it replaced.
    await conn.execute(f"UPDATE {table} SET content = content || ''")
    await conn.execute(f"VACUUM FULL {table}")
    return await table_size(conn, table)


async def measure(dsn: str, args: argparse.Namespace) -> None:
    await migrate_to_latest(dsn)
    pool = await create_pool(dsn, min_size=1, max_size=2)
    rng = random.Random(SEED)
    try:
        settings = Settings(_env_file=None, database_url=dsn, semantic_search_enabled=False)  # type: ignore[call-arg]
        service = ArticleService(settings, Database(pool=pool, dsn=dsn), None)
        texts = [article_text(args.size)]
        written = await service.create("A long article", texts[0])
        for n in range(1, args.versions):
            texts.append(small_edit(texts[-1], rng))
            await service.update(written.slug, content=texts[-1], message=f"edit {n}")
        async with pool.acquire() as conn:
            await conn.execute("VACUUM ANALYZE article_versions")
            versions = await conn.fetchval("SELECT count(*) FROM article_versions")
            default = await conn.fetchval("SHOW default_toast_compression")
            rows = [
                (f"full copies, TOAST {default} (as stored)", await table_size(conn, "article_versions")),
                (
                    "full copies, uncompressed (reference)",
                    await copy_with(conn, "v_plain", "SET STORAGE EXTERNAL"),
                ),
                ("full copies, TOAST lz4", await copy_with(conn, "v_lz4", "SET COMPRESSION lz4")),
            ]
    finally:
        await pool.close()
    deltas = sum(len(zlib.compress(diff(a, b).encode())) for a, b in itertools.pairwise(texts))
    report(args, versions, len(texts[0].encode()), rows, deltas / (len(texts) - 1))


def diff(old: str, new: str) -> str:
    return "".join(difflib.unified_diff(old.splitlines(keepends=True), new.splitlines(keepends=True)))


def report(
    args: argparse.Namespace, versions: int, text_bytes: int, rows: list[tuple[str, int | None]], delta: float
) -> None:
    print(f"{versions} versions of a {text_bytes:,}-byte article, each a small edit of the one before")
    print()
    print("| storage | table bytes | bytes per version | per version / article size |")
    print("|---|---:|---:|---:|")
    for name, size in rows:
        if size is None:
            print(f"| {name} | not available | - | - |")
            continue
        each = size / versions
        print(f"| {name} | {size:,} | {each:,.0f} | {each / text_bytes:.2f}x |")
    print(
        f"| deltas: zlib'd unified diff per version (reference, not stored) | - | {delta:,.0f} | "
        f"{delta / text_bytes:.3f}x |"
    )


async def main(args: argparse.Namespace) -> None:
    configure_logging("WARNING", "console")
    with tempfile.TemporaryDirectory(prefix="bench-history-", ignore_cleanup_errors=True) as data_dir:
        server = await anyio.to_thread.run_sync(EmbeddedServer.acquire, Path(data_dir))
        try:
            await measure(server.dsn, args)
        finally:
            await anyio.to_thread.run_sync(server.release)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--versions", type=int, default=200)
    parser.add_argument("--size", type=int, default=10_000)
    anyio.run(main, parser.parse_args())

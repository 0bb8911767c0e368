"""What `article-mcp import` does for a large folder: articles per second.

Writes 10,000 small markdown files (about 300 bytes each, half with front matter, in 100
folders), then imports them into a fresh database per row, each with a registered model, so
that every article is also queued for embedding as an import does:

- the reference: the same articles created one by one through the article service, from
  memory (no files);
- `import` of the folder with 1, 4, 8 (the default) and 16 files written at once.

    .venv/bin/python scripts/bench_import.py [--files 10000]

Each row is reported as articles per second and as a ratio to the reference.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import anyio

from article_mcp.articles.file_tree import markdown_files
from article_mcp.articles.markdown_files import parse_article
from article_mcp.articles.service import ArticleService
from article_mcp.articles.transfer import IMPORT_CONCURRENCY, FileResult, ImportOptions, import_files
from article_mcp.config import Settings
from article_mcp.db.migrate import migrate_to_latest
from article_mcp.db.pool import Database, create_pool
from article_mcp.logs import configure_logging
from bench_server import empty_databases, temporary_server

WORDS = [
    "postgres",
    "vector",
    "index",
    "queue",
    "worker",
    "embedding",
    "passage",
    "search",
    "folder",
    "import",
]
CONCURRENCIES = (1, 4, IMPORT_CONCURRENCY, 16)
POOL_SIZE = 10


def write_files(root: Path, count: int) -> None:
    for n in range(count):
        folder = root / f"folder-{n % 100:02d}"
        folder.mkdir(exist_ok=True)
        body = " ".join(WORDS[(n + i) % len(WORDS)] for i in range(40))
        text = f"# Note {n}\n\n{body}\n"
        if n % 2:
            text = f"---\ntitle: Note number {n}\ntags: [bench, n{n % 7}]\n---\n{text}"
        (folder / f"note-{n}.md").write_text(text)


async def fresh_service(admin_dsn: str, name: str) -> tuple[ArticleService, Database]:
    (dsn,) = await empty_databases(admin_dsn, [name])
    await migrate_to_latest(dsn)
    pool = await create_pool(dsn, min_size=1, max_size=POOL_SIZE)
    model = await pool.fetchval(
        "INSERT INTO embedding_models (provider, name, dimensions) VALUES ('bench', 'bench', 3) RETURNING id"
    )
    settings = Settings(_env_file=None, database_url=dsn)  # type: ignore[call-arg]
    db = Database(pool=pool, dsn=dsn)
    return ArticleService(settings, db, model), db


async def reference(service: ArticleService, root: Path) -> tuple[int, float]:
    """Create the files' articles one by one from memory: what an import cannot beat alone."""
    articles = [parse_article(f.path.read_bytes(), f.path.stem) for f in markdown_files([root])]
    started = time.perf_counter()
    for article in articles:
        await service.create(article.title, article.content, tags=article.tags)
    return len(articles), time.perf_counter() - started


async def imported(service: ArticleService, root: Path, concurrency: int) -> tuple[int, float]:
    results: list[FileResult] = []
    started = time.perf_counter()
    await import_files(
        service,
        markdown_files([root]),
        ImportOptions(folder_from_path=True),
        max_bytes=1_000_000,
        on_result=results.append,
        concurrency=concurrency,
    )
    seconds = time.perf_counter() - started
    assert all(r.outcome == "created" for r in results), [r for r in results if r.outcome != "created"][:3]
    return len(results), seconds


async def measure(admin_dsn: str, root: Path) -> list[tuple[str, int, float]]:
    rows = []
    # Warm the server and the code up first, so the reference row is not the one paying for it.
    service, db = await fresh_service(admin_dsn, "bench_warm_up")
    try:
        await imported(service, root / "folder-00", IMPORT_CONCURRENCY)
    finally:
        await db.pool.close()
    service, db = await fresh_service(admin_dsn, "bench_reference")
    try:
        count, seconds = await reference(service, root)
        rows.append(("reference: ArticleService.create one by one, from memory", count, seconds))
    finally:
        await db.pool.close()
    for concurrency in CONCURRENCIES:
        service, db = await fresh_service(admin_dsn, f"bench_import_{concurrency}")
        try:
            count, seconds = await imported(service, root, concurrency)
        finally:
            await db.pool.close()
        rows.append((f"import, {concurrency} at once", count, seconds))
    return rows


def report(rows: list[tuple[str, int, float]]) -> None:
    base = rows[0][1] / rows[0][2]
    print("| run | articles | seconds | articles/s | vs reference |")
    print("|---|---:|---:|---:|---:|")
    for name, count, seconds in rows:
        rate = count / seconds
        print(f"| {name} | {count:,} | {seconds:.1f} | {rate:,.0f} | {rate / base:.2f}x |")


async def main(args: argparse.Namespace) -> None:
    configure_logging("WARNING", "console")
    with tempfile.TemporaryDirectory(prefix="bench-import-files-", ignore_cleanup_errors=True) as work:
        root = Path(work)
        write_files(root, args.files)
        async with temporary_server("bench-import-") as admin_dsn:
            rows = await measure(admin_dsn, root)
    report(rows)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10_000)
    anyio.run(main, parser.parse_args())

"""Where a small search's time goes: each step of SearchService.search, and its parts, timed.

    .venv/bin/python scripts/bench_search_overhead.py [--chunks 4000] [--queries 200] [--before REV]

The corpus is the latency benchmark's (bench_search_latency.py: Cranfield sentences in
passages of four per article, synthetic vectors, the model's HNSW index), the query vectors
come from a lookup table (query embedding excluded). Three tables:

- **steps**: one search per mode through the service, each step's time (p50 over the queries)
  taken by wrapping the service's own methods, and the statements sent to the server per
  search (every execute, fetch, BEGIN, COMMIT and pool reset counts one); with `--before REV`,
  the service of that git revision (its service.py and service.sql) beside today's, the two
  taking turns query by query, so that the machine's load weighs on both alike; and the CPU
  time a search costs this process and the server's backends (a mean: the kernel counts the
  server's in 10 ms ticks), which a busy machine does not inflate as wall time is;
- **parts**: the database's pieces on one held connection, side by side in one run (a round
  trip, a pool acquire and release, BEGIN/COMMIT, the per-search settings, the semantic
  statement planned each time or once, the result queries), and planning time as EXPLAIN
  ANALYZE reports it;
- **python**: request validation, fusion and result building alone.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import time
import types
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import wraps
from pathlib import Path
from typing import Any

import anyio
import asyncpg

from article_mcp.config import Settings
from article_mcp.db.pool import Database
from article_mcp.db.sql import parse_queries
from article_mcp.embeddings.providers.base import EmbeddingProvider
from article_mcp.embeddings.registry import ModelRecord
from article_mcp.logs import configure_logging
from article_mcp.queue import tasks
from article_mcp.search.fusion import fuse
from article_mcp.search.models import SearchMode, SearchRequest, SearchResponse
from article_mcp.search.results import ranking, search_hit
from article_mcp.search.service import (
    QUERIES,
    SearchService,
    semantic_sql,
    semantic_sql_everywhere,
    validated,
)
from bench_search_latency import (
    CRANFIELD,
    Corpus,
    LookupProvider,
    Vectors,
    load_corpus,
    load_passages,
    load_vectors,
    percentiles,
)
from search_bench_setup import fresh_bench

# The service's steps: a name for the table, and the method that runs it (an attribute path
# from the service). A step the service does not have is left out of the table.
STEPS = [
    ("active model", "_models.current"),
    ("query vectors", "_vectors_or_notice"),
    ("semantic leg", "_semantic"),
    ("full-text leg", "_fulltext"),
    ("fusion (and diversity)", "_choose"),
    ("results (passages, statuses, hits)", "_hits"),
    ("passages shown", "_fetch"),
    ("statuses", "_statuses"),
]
ROOT = Path(__file__).resolve().parents[1]
CLIENT_CPU = "CPU here (mean)"
SERVER_CPU = "CPU in the server (mean)"
MODES: tuple[SearchMode, ...] = ("semantic", "hybrid", "fulltext")
FOLDER = "area-3"


class Statements:
    """What every connection sends, counted: execute (also BEGIN, COMMIT, the pool's reset)
    and the prepared-statement calls behind fetch, fetchrow and fetchval."""

    def __init__(self) -> None:
        self.sent = 0

    @contextmanager
    def counting(self) -> Iterator[None]:
        cls = asyncpg.connection.Connection
        execute, inner = cls.execute, cls._execute

        async def counted_execute(conn: Any, query: str, *args: Any, **kwargs: Any) -> Any:
            if not args:  # with arguments, execute goes through _execute, counted there
                self.sent += 1
            return await execute(conn, query, *args, **kwargs)

        async def counted_inner(conn: Any, *args: Any, **kwargs: Any) -> Any:
            self.sent += 1
            return await inner(conn, *args, **kwargs)

        cls.execute, cls._execute = counted_execute, counted_inner  # type: ignore[method-assign]
        try:
            yield
        finally:
            cls.execute, cls._execute = execute, inner  # type: ignore[method-assign]


class ServerCpu:
    """CPU time the database's client backends have used, from /proc (the embedded server runs
    here). The kernel counts it in ticks of 10 ms: summed over hundreds of searches, the mean
    per search holds, not a single search's figure."""

    def __init__(self) -> None:
        self.pids: list[int] = []
        self.tick_ms = 1000 / os.sysconf("SC_CLK_TCK")

    async def find(self, db: Database) -> None:
        async with db.pool.acquire() as conn:
            rows = await conn.fetch("SELECT pid FROM pg_stat_activity WHERE backend_type = 'client backend'")
        self.pids = [r["pid"] for r in rows]

    def used_ms(self) -> float:
        ticks = 0
        for pid in self.pids:
            with contextlib.suppress(OSError):
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                ticks += int(fields[11]) + int(fields[12])  # utime, stime
        return ticks * self.tick_ms


class Steps:
    """Durations of a service's wrapped coroutine methods, the statements sent, and the CPU
    used by this process and by the server, per search."""

    def __init__(self, service: SearchService, statements: Statements, server: ServerCpu) -> None:
        self.service = service
        self.statements = statements
        self.server = server
        self.current: dict[str, float] = defaultdict(float)
        self.searches: list[dict[str, float]] = []
        for name, path in STEPS:
            *parents, attribute = path.split(".")
            owner: Any = service
            for parent in parents:
                owner = getattr(owner, parent, None)
            method = getattr(owner, attribute, None)
            if method is not None:
                setattr(owner, attribute, self._timed(name, method))

    def _timed(self, name: str, method: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        @wraps(method)
        async def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return await method(*args, **kwargs)
            finally:
                self.current[name] += (time.perf_counter() - started) * 1000

        return timed

    async def search(self, request: SearchRequest) -> None:
        self.current = defaultdict(float)
        before, server = self.statements.sent, self.server.used_ms()
        cpu, started = time.process_time(), time.perf_counter()
        await self.service.search(request)
        self.current["search"] = (time.perf_counter() - started) * 1000
        self.current[CLIENT_CPU] = (time.process_time() - cpu) * 1000
        self.current[SERVER_CPU] = self.server.used_ms() - server
        self.current["statements"] = self.statements.sent - before
        self.searches.append(self.current)

    def cells(self, columns: Sequence[str]) -> list[str]:
        cells = []
        for column in columns:
            values = [s[column] for s in self.searches if column in s]
            # CPU time is a mean (see ServerCpu); durations and counts are medians
            average = statistics.mean if column in (CLIENT_CPU, SERVER_CPU) else statistics.median
            cells.append("–" if not values else _cell(column, average(values)))
        return cells


def _cell(column: str, value: float) -> str:
    return f"{value:.0f}" if column == "statements" else f"{value:.2f}"


def service_at(revision: str) -> type[SearchService]:
    """SearchService as it was at a git revision (its service.py and service.sql; the rest of
    the package as it is now), for a side-by-side run."""

    def show(path: str) -> str:
        return subprocess.run(
            ["git", "show", f"{revision}:src/article_mcp/search/{path}"],
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        ).stdout

    module = types.ModuleType(f"service_at_{revision}")
    exec(compile(show("service.py"), f"{revision}:service.py", "exec"), module.__dict__)
    module.__dict__["QUERIES"] = {
        name: query.sql for name, query in parse_queries(show("service.sql")).items()
    }
    found: type[SearchService] = module.__dict__["SearchService"]
    return found


async def p50_of(run: Callable[[], Awaitable[Any]], times: int, warmup: int = 10) -> tuple[float, float]:
    for _ in range(warmup):
        await run()
    took = []
    for _ in range(times):
        started = time.perf_counter()
        await run()
        took.append((time.perf_counter() - started) * 1000)
    return percentiles(took)


async def step_rows(
    settings: Settings,
    db: Database,
    lookup: LookupProvider,
    model: ModelRecord,
    queries: Sequence[str],
    services: dict[str, type[SearchService]],
) -> list[str]:
    """Each mode's searches through every service, taking turns query by query."""
    columns = ["search", "statements", CLIENT_CPU, SERVER_CPU, *(name for name, _ in STEPS)]
    rows = ["| mode | service | " + " | ".join(columns) + " |", "|---" * (len(columns) + 2) + "|"]
    statements, server = Statements(), ServerCpu()
    with statements.counting():
        for label, fields in [
            *((mode, {"mode": mode}) for mode in MODES),
            ("hybrid, folder filter (10%)", {"mode": "hybrid", "folder": FOLDER}),
        ]:
            runs = {
                name: Steps(cls(settings, db, lookup, model), statements, server)
                for name, cls in services.items()
            }
            for steps in runs.values():
                # today's full text answers from its in-memory index once that is loaded
                index = getattr(steps.service, "fulltext_index", None)
                if index is not None:
                    await index.load()
            for query in queries[:10]:
                for steps in runs.values():
                    await steps.service.search(SearchRequest(query=query, **fields))
            await server.find(db)  # the pool's connections, all opened by now
            for turn, query in enumerate(queries):
                order = list(runs.values())
                for steps in order if turn % 2 == 0 else reversed(order):
                    await steps.search(SearchRequest(query=query, **fields))
            for name, steps in runs.items():
                rows.append(f"| {label} | {name} | " + " | ".join(steps.cells(columns)) + " |")
    return rows


async def part_rows(
    settings: Settings,
    db: Database,
    lookup: LookupProvider,
    model: ModelRecord,
    queries: Sequence[str],
    vectors: Sequence[Any],
) -> list[str]:
    """The database's parts of a search, each alone, on one connection held throughout."""
    assert model.dimensions is not None
    sql = semantic_sql(model.id, model.dimensions)
    ef = str(settings.hnsw_ef_search)
    depth = 60
    it = _cycle(vectors)
    rows = []

    async def measured(name: str, run: Callable[[], Awaitable[Any]]) -> None:
        p50, p95 = await p50_of(run, len(queries))
        rows.append(f"| {name} | {p50:.3f} | {p95:.3f} |")

    service = SearchService(settings, db, lookup, model)
    found = await service.search(SearchRequest(query=queries[0], mode="hybrid"))
    async with db.pool.acquire() as conn:
        article_ids = await conn.fetch(
            "SELECT id FROM articles WHERE slug = ANY($1)", [r.slug for r in found.results]
        )
        chunk_ids = await conn.fetch(
            "SELECT id FROM article_chunks WHERE article_id = ANY($1) AND chunk_index < 2",
            [r["id"] for r in article_ids],
        )
    ids = [r["id"] for r in article_ids]
    chunks = [r["id"] for r in chunk_ids]

    async def acquire() -> None:
        async with db.pool.acquire():
            pass

    await measured("pool acquire + release (with its reset query)", acquire)
    async with db.pool.acquire() as conn:
        await measured("round trip (SELECT 1)", lambda: conn.fetchval("SELECT 1"))
        await measured("reset query alone", lambda: conn.execute(conn.get_reset_query()))

        async def empty_transaction() -> None:
            async with conn.transaction():
                pass

        await measured("BEGIN + COMMIT", empty_transaction)
        await measured(
            "active model lookup",
            lambda: conn.fetchrow("SELECT * FROM embedding_models WHERE state = 'active'"),
        )

        async def tuned(mode: str, folder: str | None) -> None:
            async with conn.transaction():
                await conn.execute(QUERIES["tune_semantic"], ef)
                await conn.execute("SELECT set_config('plan_cache_mode', $1, true)", mode)
                await conn.fetch(sql, next(it), depth, folder, [])

        async def settings_only() -> None:
            async with conn.transaction():
                await conn.execute(QUERIES["tune_semantic"], ef)

        await measured("BEGIN + tune_semantic + COMMIT", settings_only)
        for mode in ("force_custom_plan", "force_generic_plan"):
            for folder in (None, FOLDER):
                label = "no filter" if folder is None else "folder filter (10%)"
                await measured(
                    f"BEGIN + settings + semantic statement ({mode}, {label}) + COMMIT",
                    lambda m=mode, f=folder: tuned(m, f),
                )
        everywhere = semantic_sql_everywhere(model.id, model.dimensions, settings.hnsw_ef_search, depth)
        await measured(
            "semantic statement alone, every folder and tag (today's: its settings in it)",
            lambda: conn.fetch(everywhere, next(it)),
        )
        plans = await conn.fetchrow(
            "SELECT custom_plans, generic_plans FROM pg_prepared_statements WHERE statement = $1", everywhere
        )
        rows.append(
            f"| … of which planned: {plans['custom_plans']} custom, {plans['generic_plans']} generic"
            " (pg_prepared_statements) | | |"
        )
        planning, execution = [], []
        async with conn.transaction():
            await conn.execute(QUERIES["tune_semantic"], ef)
            for vector in vectors[: len(queries)]:
                plan = json.loads(
                    await conn.fetchval("EXPLAIN (ANALYZE, FORMAT JSON) " + sql, vector, depth, None, [])
                )
                planning.append(plan[0]["Planning Time"])
                execution.append(plan[0]["Execution Time"])
        rows.append(
            f"| semantic statement: planning (EXPLAIN ANALYZE) | {statistics.median(planning):.3f} | |"
        )
        rows.append(
            f"| semantic statement: execution (EXPLAIN ANALYZE) | {statistics.median(execution):.3f} | |"
        )
        await measured("passages_shown", lambda: conn.fetch(QUERIES["passages_shown"], chunks))
        await measured("embedding_statuses", lambda: tasks.embedding_statuses(conn, ids, model.id))
    return rows


def _cycle(items: Sequence[Any]) -> Iterator[Any]:
    while True:
        yield from items


async def python_rows(
    settings: Settings, db: Database, lookup: LookupProvider, model: ModelRecord, queries: Sequence[str]
) -> list[str]:
    """The Python parts alone, on rows of a real hybrid search."""
    assert model.dimensions is not None
    request = SearchRequest(query=queries[0], mode="hybrid")
    vector = lookup._vectors[queries[0]]
    async with db.pool.acquire() as conn:
        async with conn.transaction():
            await conn.execute(QUERIES["tune_semantic"], str(settings.hnsw_ef_search))
            semantic = await conn.fetch(semantic_sql(model.id, model.dimensions), vector, 60, None, [])
        fulltext = await conn.fetch(
            QUERIES["fulltext_chunks"],
            settings.text_search_config,
            queries[0],
            settings.bm25_k1,
            settings.bm25_b,
            60,
            None,
            [],
        )
        rankings = [ranking("semantic", semantic, 30, 2), ranking("fulltext", fulltext, 30, 2)]
        chosen = fuse(rankings, rrf_k=settings.search_rrf_k, weights={"semantic": 1.0, "fulltext": 1.0})[:10]
        shown = {c.article_id: c.passages(2) for c in chosen}
        rows = await conn.fetch(QUERIES["passages_shown"], [i for s in shown.values() for i, _ in s])
    articles = {r["article_id"]: r for r in rows}
    chunks = {r["id"]: r for r in rows}

    def build() -> SearchResponse:
        hits = [
            search_hit(c, articles[c.article_id], [(chunks[i], how) for i, how in shown[c.article_id]], {})
            for c in chosen
        ]
        return SearchResponse(
            mode="hybrid", searched=["fulltext", "semantic"], fallback=False, model="m", results=hits
        )

    table = []
    for name, run in [
        ("validate the request", lambda: validated(request)),
        (
            "rank passages into articles (both legs)",
            lambda: [ranking("semantic", semantic, 30, 2), ranking("fulltext", fulltext, 30, 2)],
        ),
        (
            "fuse (RRF)",
            lambda: fuse(rankings, rrf_k=settings.search_rrf_k, weights={"semantic": 1.0, "fulltext": 1.0}),
        ),
        ("build 10 hits and the response", build),
    ]:

        async def call(run: Callable[[], Any] = run) -> None:
            run()

        p50, p95 = await p50_of(call, len(queries))
        table.append(f"| {name} | {p50:.3f} | {p95:.3f} |")
    return table


async def bench(args: argparse.Namespace) -> None:
    corpus: Corpus = load_corpus(args.data)
    async with fresh_bench(args.database_url) as b:
        await measure(args, b.settings, b.db, corpus, b.provider, b.model)


async def measure(
    args: argparse.Namespace,
    settings: Settings,
    db: Database,
    corpus: Corpus,
    local: EmbeddingProvider,
    model: ModelRecord,
) -> None:
    dims = len((await local.embed(["probe"])).vectors[0])
    vectors = Vectors(dims)
    hashes = await load_passages(settings, db, corpus, args.chunks)
    model = await load_vectors(db, model, hashes, vectors, settings)
    queries = [corpus.queries[i % len(corpus.queries)] for i in range(args.queries)]
    drawn = vectors.draw(len(queries))
    lookup = LookupProvider({q: v.tolist() for q, v in zip(queries, drawn, strict=True)})
    print(f"\n## {len(hashes)} passages, {len(queries)} queries; p50 in ms, query embedding excluded\n")
    services = {"now": SearchService}
    if args.before:
        services = {f"at {args.before}": service_at(args.before), **services}
    print("Steps of one search (each step's p50; the legs of hybrid overlap; – : no such step):\n")
    for line in await step_rows(settings, db, lookup, model, queries, services):
        print(line)
    print("\nIts parts, one held connection, side by side:\n")
    print("| part | p50 | p95 |")
    print("|---|---:|---:|")
    for line in await part_rows(settings, db, lookup, model, queries, list(drawn)):
        print(line)
    print("\nPython alone (a hybrid search's rows):\n")
    print("| part | p50 | p95 |")
    print("|---|---:|---:|")
    for line in await python_rows(settings, db, lookup, model, queries):
        print(line)


def main() -> None:
    configure_logging("WARNING", "console")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--chunks", type=int, default=4000, help="passages to index")
    parser.add_argument("--queries", type=int, default=200, help="queries per measurement")
    parser.add_argument("--data", default=CRANFIELD, help="the Cranfield folder (for text)")
    parser.add_argument(
        "--before", help="a git revision whose search service runs beside today's, query by query"
    )
    parser.add_argument("--database-url", help="an empty database to use (default: a temporary embedded one)")
    anyio.run(bench, parser.parse_args())


if __name__ == "__main__":
    main()

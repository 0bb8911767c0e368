"""How long `create_article` takes, whatever the embedding provider does.

Each configuration runs the real server in-process (tools, article service, worker pool in
one task group, as `article-mcp serve` does) on a fresh embedded PostgreSQL and an MCP client
session, and times WRITES sequential `create_article` calls of a 2 KB markdown article:

- queue on, provider answering at once, the worker embedding meanwhile;
- queue on, provider answering each call after SLOW_SECONDS;
- queue on, provider down (connection refused);
- queue off (EMBEDDING_QUEUE_ENABLED=false, the rollback mode): each write embeds before it
  returns, with the provider answering after SYNC_SECONDS: what the queue saves.

    .venv/bin/python scripts/bench_writes.py [--writes 200]
"""

from __future__ import annotations

import argparse
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
from mcp import Client

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.fake_providers import FakeEmbeddingServer

from article_mcp.config import Settings
from article_mcp.logs import configure_logging
from article_mcp.server.app import create_server
from article_mcp.server.runtime import open_runtime
from article_mcp.worker.runs import run_pool

SLOW_SECONDS = 1.0
SYNC_SECONDS = 0.2
ARTICLE = "\n\n".join(
    f"## Section {n}\n\n" + " ".join(f"word{n}{i} about postgres and vectors" for i in range(12))
    for n in range(8)
)


def closed_port() -> int:
    """A port nothing listens on: a provider that is down."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def time_writes(settings: Settings, writes: int) -> list[float]:
    """Milliseconds per create_article call through an MCP client session."""
    async with open_runtime(settings) as runtime, anyio.create_task_group() as tg:
        assert runtime.embedding is not None
        if settings.embedding_queue_enabled:
            await tg.start(
                run_pool, settings, runtime.db, runtime.embedding.provider, runtime.embedding.model
            )
        timings = []
        async with Client(create_server(runtime.services)) as client:
            for n in range(writes):
                started = time.perf_counter()
                result = await client.call_tool(
                    "create_article", {"title": f"Article {n}", "content": ARTICLE}
                )
                timings.append((time.perf_counter() - started) * 1000)
                assert not result.is_error, result.content
        tg.cancel_scope.cancel()
    return timings


def configurations(fake: FakeEmbeddingServer) -> list[tuple[str, dict[str, Any], Callable[[], None]]]:
    def prompt() -> None:
        fake.reset()

    def slow() -> None:
        fake.reset()
        fake.slow(SLOW_SECONDS, times=10**6)

    def sync_slow() -> None:
        fake.reset()
        fake.slow(SYNC_SECONDS, times=10**6)

    down = {"ollama_base_url": f"http://127.0.0.1:{closed_port()}"}
    return [
        ("queue on, provider prompt", fake.settings("ollama"), prompt),
        (f"queue on, provider slow ({SLOW_SECONDS:g} s per call)", fake.settings("ollama"), slow),
        ("queue on, provider down", fake.settings("ollama", **down), prompt),
        (
            f"queue off (synchronous), provider {SYNC_SECONDS:g} s per call",
            fake.settings("ollama", embedding_queue_enabled=False),
            sync_slow,
        ),
    ]


async def main(writes: int) -> None:
    configure_logging("WARNING", "console")  # stderr; stdout is the table
    rows = []
    with FakeEmbeddingServer() as fake, tempfile.TemporaryDirectory() as tmp:
        for n, (name, overrides, prepare) in enumerate(configurations(fake)):
            prepare()
            settings = Settings(
                _env_file=None,  # type: ignore[call-arg]
                article_mcp_data_dir=Path(tmp) / f"data{n}",
                log_level="WARNING",
                **overrides,
            )
            timings = await time_writes(settings, writes)
            rows.append((name, timings))
            print(f"done: {name}", file=sys.stderr)
    base = statistics.median(rows[0][1])
    print("| configuration | writes | p50 ms | p95 ms | p50 vs first |\n|---|---:|---:|---:|---:|")
    for name, timings in rows:
        p50 = statistics.median(timings)
        p95 = statistics.quantiles(timings, n=20)[18]
        print(f"| {name} | {len(timings)} | {p50:.1f} | {p95:.1f} | {p50 / base:.2f}x |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--writes", type=int, default=200)
    arguments = parser.parse_args()
    anyio.run(main, arguments.writes)

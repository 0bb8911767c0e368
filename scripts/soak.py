"""Soak: thousands of creates and updates from concurrent MCP clients for several minutes,
against a provider that fails a share of its calls, goes down twice and answers 429 storms.

    .venv/bin/python scripts/soak.py --minutes 5

One `article-mcp serve --transport http` (with its worker) and one `article-mcp worker`
process share an embedded database in a temporary directory; the provider is the tests' fake
Ollama server on loopback. At the end, once the queue has drained: every article has vectors
of its latest text, no task is left processing or failed, the counts add up (articles, and
versions against the updates made), and the peak RSS of the server and the worker in the last
minute is compared with the first. Exits 1 when a check fails.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import httpx2
import psutil
from anyio.abc import Process
from anyio.streams.text import TextReceiveStream
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.fake_providers import FakeEmbeddingServer, Fault  # noqa: E402
from tests.support.mcp_calls import error_text  # noqa: E402
from tests.support.queue_writes import CHUNK_OVERLAP, CHUNK_SIZE  # noqa: E402
from tests.support.worker_runs import wrong_or_missing_vectors  # noqa: E402

from article_mcp.db.embedded import EmbeddedServer  # noqa: E402
from article_mcp.db.pool import connect  # noqa: E402

TOKEN = "soak-token-" + "x7Qp2LmZ9rT4vW8yB3nK6cD1fH5jS0aE"
WORDS = [
    "harbour",
    "lantern",
    "quartz",
    "meadow",
    "falcon",
    "ember",
    "glacier",
    "orchid",
    "tundra",
    "canyon",
    "velvet",
    "prism",
]


@dataclass
class Tally:
    """What the clients did and saw."""

    creates: int = 0
    updates: int = 0
    refused: int = 0
    latest: dict[str, str] = field(default_factory=dict)
    versions: dict[str, int] = field(default_factory=dict)


def text(rng: random.Random, sentences: int) -> str:
    return "\n\n".join(" ".join(rng.choices(WORDS, k=12)).capitalize() + "." for _ in range(sentences))


async def client_loop(url: str, seed: int, deadline: float, tally: Tally) -> None:
    """One agent: create articles and edit its own, until the deadline."""
    rng = random.Random(seed)
    mine: list[str] = []
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=60) as http,
        Client(streamable_http_client(url, http_client=http)) as client,
    ):
        while time.monotonic() < deadline:
            if mine and rng.random() < 0.6:
                slug = rng.choice(mine)
                content = tally.latest[slug] + "\n\n" + text(rng, 1)
                result = await client.call_tool("update_article", {"slug": slug, "content": content})
                if not result.is_error:
                    tally.updates += 1
                    tally.latest[slug] = content
                    tally.versions[slug] += 1
            else:
                content = f"# Notes {seed}-{len(mine)}\n\n" + text(rng, rng.randint(1, 6))
                title = f"Soak {seed} {len(mine)} {rng.choice(WORDS)}"
                result = await client.call_tool("create_article", {"title": title, "content": content})
                if not result.is_error and result.structured_content:
                    slug = result.structured_content["slug"]
                    mine.append(slug)
                    tally.creates += 1
                    tally.latest[slug] = content
                    tally.versions[slug] = 1
            if result.is_error:
                tally.refused += 1
                print(f"refused: {error_text(result)[:200]}", file=sys.stderr)


class Provider:
    """The fake Ollama server, with a failure rate, outages (the port closed) and 429 storms."""

    def __init__(self, failure_rate: float, seed: int) -> None:
        self.failure_rate = failure_rate
        self.rng = random.Random(seed)
        self.server = self._start(0)
        self.port = int(self.server.url.rsplit(":", 1)[1])
        self.outages = 0
        self.storms = 0

    def _start(self, port: int) -> FakeEmbeddingServer:
        server = FakeEmbeddingServer(port=port).start()
        server.chaos = self._chaos
        return server

    def _chaos(self) -> Fault | None:
        if self.rng.random() < self.failure_rate:
            return Fault(status=500, message="soak: scripted failure")
        return None

    async def outage(self, seconds: float) -> None:
        self.server.stop()
        self.outages += 1
        print(f"provider down for {seconds:.0f} s", file=sys.stderr)
        await anyio.sleep(seconds)
        self.server = self._start(self.port)
        print("provider back", file=sys.stderr)

    def storm(self, calls: int) -> None:
        self.storms += 1
        self.server.rate_limit(retry_after="2", times=calls)

    def calm(self) -> None:
        self.failure_rate = 0.0
        self.server.reset()


async def chaos_schedule(provider: Provider, minutes: float, outage_seconds: float) -> None:
    """Two outages (at a third and two thirds of the run) and a 429 storm every minute."""
    total = minutes * 60
    start = time.monotonic()
    events = sorted(
        [(total / 3, "outage"), (2 * total / 3, "outage")] + [(t, "storm") for t in range(30, int(total), 60)]
    )
    for at, kind in events:
        await anyio.sleep(max(0.0, start + at - time.monotonic()))
        if kind == "outage":
            await provider.outage(outage_seconds)
        else:
            provider.storm(40)


class Memory:
    """Peak RSS of the processes, per minute."""

    def __init__(self, processes: dict[str, int]) -> None:
        self.processes = {name: psutil.Process(pid) for name, pid in processes.items()}
        self.peaks: dict[str, list[int]] = {name: [] for name in processes}

    async def sample(self, deadline: float) -> None:
        minute_end = time.monotonic() + 60
        current = dict.fromkeys(self.processes, 0)
        while time.monotonic() < deadline:
            for name, process in self.processes.items():
                rss = sum(p.memory_info().rss for p in [process, *process.children(recursive=True)])
                current[name] = max(current[name], rss)
            if time.monotonic() >= minute_end:
                for name in self.processes:
                    self.peaks[name].append(current[name])
                current = dict.fromkeys(self.processes, 0)
                minute_end += 60
            await anyio.sleep(1)
        for name in self.processes:
            self.peaks[name].append(current[name])


@asynccontextmanager
async def article_mcp(
    args: list[str], env: dict[str, str], log: Path, *, read_stderr: bool = False
) -> AsyncIterator[Process]:
    """An `article-mcp` subprocess, logging to `log` (stderr piped when we read it)."""
    with log.open("ab") as out:
        stderr = subprocess.PIPE if read_stderr else out
        process = await anyio.open_process(
            [sys.executable, "-m", "article_mcp", *args], env=env, stdout=out, stderr=stderr
        )
        try:
            yield process
        finally:
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
                with anyio.move_on_after(60):
                    await process.wait()
                if process.returncode is None:
                    process.kill()
            await process.aclose()


async def listening_url(process: Process) -> str:
    """The URL the HTTP server says it listens on (from its JSON log on stderr)."""
    assert process.stderr is not None
    stream = TextReceiveStream(process.stderr)
    buffer = ""
    with anyio.fail_after(180):
        while True:
            buffer += await stream.receive()
            *lines, buffer = buffer.split("\n")
            for line in lines:
                if '"http_listening"' in line:
                    return str(json.loads(line)["url"])


async def drain_stderr(process: Process, log: Path) -> None:
    assert process.stderr is not None
    with log.open("ab") as out:
        async for chunk in process.stderr:
            out.write(chunk)


async def verify(data_dir: Path, tally: Tally) -> dict[str, Any]:
    """Wait for the queue to drain, then check what the database holds."""
    server = await anyio.to_thread.run_sync(EmbeddedServer.acquire, data_dir)
    try:
        conn = await connect(server.dsn)
        try:
            with anyio.fail_after(900):
                while await conn.fetchval(  # noqa: ASYNC110 - another process's state: poll it
                    "SELECT count(*) FROM embedding_tasks WHERE status IN ('pending', 'processing')"
                ):
                    await anyio.sleep(1)
            model_id = await conn.fetchval("SELECT id FROM embedding_models WHERE name = 'nomic-embed-text'")
            rows = await conn.fetch("SELECT slug, content, version FROM articles")
            statuses = dict(await conn.fetch("SELECT status::text, count(*) FROM embedding_tasks GROUP BY 1"))
            problems = await wrong_or_missing_vectors(conn, model_id)
        finally:
            await conn.close()
    finally:
        await anyio.to_thread.run_sync(server.release)
    stored = {row["slug"]: (row["content"], row["version"]) for row in rows}
    return {
        "articles": len(stored),
        "articles_created": tally.creates,
        "updates": tally.updates,
        "refused_writes": tally.refused,
        "content_matches": all(stored.get(s, ("", 0))[0] == c for s, c in tally.latest.items()),
        "versions_add_up": sum(v for _, v in stored.values()) == tally.creates + tally.updates,
        "tasks_by_status": statuses,
        "chunks_without_their_vector": len(problems),
    }


async def soak(args: argparse.Namespace) -> int:
    provider = Provider(args.failure_rate, args.seed)
    with tempfile.TemporaryDirectory(prefix="article-mcp-soak-") as tmp:
        data = Path(tmp) / "data"
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("EMBEDDING_", "DATABASE_"))},
            "ARTICLE_MCP_DATA_DIR": str(data),
            "AUTH_TOKEN": TOKEN,
            "LOG_FORMAT": "json",
            "EMBEDDING_PROVIDER": "ollama",
            "EMBEDDING_MODEL": "nomic-embed-text",
            "OLLAMA_BASE_URL": provider.server.url,
            "EMBEDDING_WORKER_INTERVAL": "500",
            "EMBEDDING_RETRY_BACKOFF_BASE": "200",
            "EMBEDDING_BATCH_SIZE": "8",
            "CHUNK_SIZE": str(CHUNK_SIZE),
            "CHUNK_OVERLAP": str(CHUNK_OVERLAP),
        }
        log = Path(tmp) / "processes.log"
        async with (
            article_mcp(
                ["serve", "--transport", "http", "--port", "0"], env, log, read_stderr=True
            ) as server,
            article_mcp(["worker"], env, log) as worker,
        ):
            url = await listening_url(server)
            memory = Memory({"server": server.pid, "worker": worker.pid})
            deadline = time.monotonic() + args.minutes * 60
            tally = Tally()
            async with anyio.create_task_group() as tg:
                tg.start_soon(drain_stderr, server, log)
                tg.start_soon(memory.sample, deadline)
                tg.start_soon(chaos_schedule, provider, args.minutes, args.outage_seconds)
                async with anyio.create_task_group() as clients:
                    for seed in range(args.clients):
                        clients.start_soon(client_loop, url, seed, deadline, tally)
                provider.calm()
                result = await verify(data, tally)
                tg.cancel_scope.cancel()
        provider.server.stop()
    result |= {
        "minutes": args.minutes,
        "clients": args.clients,
        "provider_failure_rate": args.failure_rate,
        "outages": provider.outages,
        "storms": provider.storms,
        "peak_rss_mb_per_minute": {
            name: [round(b / 2**20) for b in peaks] for name, peaks in memory.peaks.items()
        },
    }
    print(json.dumps(result, indent=2))
    failed = [
        not result["content_matches"],
        not result["versions_add_up"],
        result["chunks_without_their_vector"] > 0,
        result["tasks_by_status"].get("failed", 0) > 0,
        result["articles"] != result["articles_created"],
    ]
    return 1 if any(failed) else 0


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--minutes", type=float, default=5)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--failure-rate", type=float, default=0.2)
    parser.add_argument("--outage-seconds", type=float, default=20)
    parser.add_argument("--seed", type=int, default=1)
    sys.exit(anyio.run(soak, parser.parse_args()))


if __name__ == "__main__":
    main()

"""Worker scaling: 1, 2 and 4 `article-mcp worker` processes draining 20,000 tasks against one
PostgreSQL, with a fake provider on loopback that answers every call after a fixed latency.

    .venv/bin/python scripts/bench_worker_scaling.py [--tasks 20000] [--latency 0.05]
        [--batch-size 10] [--processes 1,2,4]

Each process runs one worker (EMBEDDING_CONCURRENT_WORKERS=1) that claims `--batch-size`
tasks at a time (EMBEDDING_BATCH_SIZE) and embeds their passages in one provider call, so a
process is busy for the provider's latency plus the queue's own work per batch. Each process
count drains its own fresh database of the same tasks (one passage each, every text new to
the provider). Throughput is measured on the database's clock, from the first claim to the
last completion, so process start-up is left out. The latency bound is what the workers
would do if nothing but the provider took time: processes x batch size / latency.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import anyio

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.worker_fleet import queued_work, worker_env, worker_fleet  # noqa: E402

from bench_server import empty_databases, temporary_server  # noqa: E402

LEFT = "SELECT count(*) FROM embedding_tasks WHERE status IN ('pending', 'processing')"
SPAN = (
    "SELECT count(*) FILTER (WHERE status = 'completed') AS done,"
    " extract(epoch FROM max(completed_at) - min(started_at))::float8 AS seconds FROM embedding_tasks"
)


async def drain(dsn: str, processes: int, args: argparse.Namespace, log: Path) -> dict[str, float]:
    """Seed the tasks, run the workers until none is left, and measure."""
    async with queued_work(dsn, args.tasks, latency=args.latency) as (conn, server):
        env = worker_env(
            dsn,
            server,
            embedding_batch_size=args.batch_size,
            embedding_concurrent_workers=1,
            embedding_worker_interval=500,
            log_level="WARNING",
        )
        load = os.getloadavg()[0]
        async with worker_fleet([env] * processes, log):
            with anyio.fail_after(3600):
                while await conn.fetchval(LEFT):  # noqa: ASYNC110 - the state is in the database
                    await anyio.sleep(0.2)
        load = max(load, os.getloadavg()[0])
        row = await conn.fetchrow(SPAN)
        assert row is not None
        assert row["done"] == args.tasks, f"{row['done']} of {args.tasks} tasks completed"
        return {"rate": args.tasks / row["seconds"], "calls": server.call_count, "load": load}


async def main(args: argparse.Namespace) -> None:
    counts = [int(n) for n in args.processes.split(",")]
    results: dict[int, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-scaling-") as logs:
        async with temporary_server("bench-scaling-") as admin:
            dsns = await empty_databases(admin, [f"bench_scaling_{n}" for n in counts])
            for n, dsn in zip(counts, dsns, strict=True):
                results[n] = await drain(dsn, n, args, Path(logs) / f"{n}.log")
    one = results[counts[0]]["rate"]
    print(
        f"{args.tasks:,} tasks (one passage each), batches of {args.batch_size}, provider latency"
        f" {args.latency * 1000:g} ms, one worker per process, cores: {os.cpu_count()}\n"
    )
    print(
        "| processes | tasks/s | vs 1 process | latency bound tasks/s | of the bound | provider calls"
        " | load |"
    )
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for n, r in results.items():
        bound = n * args.batch_size / args.latency
        print(
            f"| {n} | {r['rate']:,.0f} | {r['rate'] / one:.2f}× | {bound:,.0f} | {r['rate'] / bound:.2f}"
            f" | {r['calls']:,.0f} | {r['load']:.1f} |"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=20_000)
    parser.add_argument("--latency", type=float, default=0.05, help="the provider's seconds per call")
    parser.add_argument("--batch-size", type=int, default=10, help="EMBEDDING_BATCH_SIZE")
    parser.add_argument("--processes", default="1,2,4", help="process counts, comma-separated")
    anyio.run(main, parser.parse_args())

"""One provider rate limit for all processes, measured: N `article-mcp worker` processes with
EMBEDDING_REQUESTS_PER_MINUTE=R against one database and a fake provider on loopback (fixed
latency) that records when each request arrives, while far more work waits than R allows.

    .venv/bin/python scripts/bench_rate_limit.py [--rpm 600] [--processes 4] [--minutes 3]

Two runs, one after the other, on one embedded PostgreSQL:

- shared: every process has the same provider, so one budget in the database (the build);
- per process (the reference, what the limit did before): each process reaches the provider
  under another user name in its URL, so each books a budget of its own, as if the limit
  were kept in each process's memory.

For each: the requests in the busiest 60-second window (any start, to the request), those in
each whole minute after the first request (the least is reported: the floor while work
waits), and the mean per minute, each as a ratio to R.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import anyio

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.worker_fleet import most_in_a_window, queued_work, worker_env, worker_fleet  # noqa: E402

from bench_server import empty_databases, temporary_server  # noqa: E402


async def run(dsn: str, args: argparse.Namespace, *, shared: bool, log: Path) -> list[float]:
    """Arrival times of the requests the provider saw in `args.minutes` minutes of workers."""
    # Half again what the limit lets through, for each budget: work waits the whole time.
    tasks = int(args.rpm * args.minutes * 1.5) * (1 if shared else args.processes)
    async with queued_work(dsn, tasks, latency=args.latency) as (_, server):
        host = server.url.removeprefix("http://")
        urls = [server.url if shared else f"http://p{n}@{host}" for n in range(args.processes)]
        # One task (one request) per batch.
        envs = [
            worker_env(
                dsn,
                server,
                ollama_base_url=url,
                embedding_requests_per_minute=args.rpm,
                embedding_batch_size=1,
                log_level="WARNING",
            )
            for url in urls
        ]
        async with worker_fleet(envs, log):
            with anyio.fail_after(120):
                while not server.calls:  # noqa: ASYNC110 - counted by the server's thread
                    await anyio.sleep(0.05)
            await anyio.sleep(args.minutes * 60)
        first = server.calls[0].at
        return [c.at for c in server.calls if c.at < first + args.minutes * 60]


def figures(times: list[float], args: argparse.Namespace) -> dict[str, float]:
    """Busiest window, least whole minute and mean per minute."""
    first = min(times)
    minutes = [0] * args.minutes
    for t in times:
        minutes[min(int((t - first) // 60), args.minutes - 1)] += 1
    return {
        "requests": len(times),
        "busiest": most_in_a_window(times, [1.0] * len(times), 60.0),
        "least": min(minutes),
        "mean": len(times) / args.minutes,
    }


async def main(args: argparse.Namespace) -> None:
    results = {}
    with tempfile.TemporaryDirectory(prefix="bench-rate-") as logs:
        async with temporary_server("bench-rate-") as admin:
            shared_dsn, separate_dsn = await empty_databases(admin, ("bench_shared", "bench_separate"))
            for name, dsn, shared in (("shared", shared_dsn, True), ("per process", separate_dsn, False)):
                times = await run(dsn, args, shared=shared, log=Path(logs) / f"{shared}.log")
                results[name] = figures(times, args)
    r = args.rpm
    print(
        f"R = {r} requests a minute, {args.processes} worker processes, {args.minutes} minutes each,"
        f" provider latency {args.latency * 1000:g} ms\n"
    )
    print(
        "| limit | requests | busiest 60 s window | vs R | least whole minute | vs R"
        " | mean per minute | vs R |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, f in results.items():
        print(
            f"| {name} | {f['requests']:,.0f} | {f['busiest']:,.0f} | {f['busiest'] / r:.2f}"
            f" | {f['least']:,.0f} | {f['least'] / r:.2f} | {f['mean']:,.1f} | {f['mean'] / r:.2f} |"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rpm", type=int, default=600, help="EMBEDDING_REQUESTS_PER_MINUTE")
    parser.add_argument("--processes", type=int, default=4, help="article-mcp worker processes")
    parser.add_argument("--minutes", type=int, default=3, help="minutes of each run")
    parser.add_argument("--latency", type=float, default=0.02, help="the provider's seconds per call")
    anyio.run(main, parser.parse_args())

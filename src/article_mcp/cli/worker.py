"""`article-mcp worker`: the embedding worker pool alone, without the MCP server.

Run any number of these, on any number of machines, against one database: they coordinate
only through it. The first SIGTERM or SIGINT stops claiming and lets each worker finish its
batch (up to `--grace` seconds, then the batch is released); a second one stops at once,
releasing what is in flight.
"""

from __future__ import annotations

import argparse
import signal
from typing import Any

import anyio
import structlog

from article_mcp.articles.rules import check_folder
from article_mcp.cli.common import EXIT_OK, EXIT_USAGE, CommandContext
from article_mcp.db.pool import open_database
from article_mcp.errors import InvalidInputError
from article_mcp.queue.tasks import PRIORITIES, Partition, Priority
from article_mcp.worker.runs import SHUTDOWN_GRACE_SECONDS
from article_mcp.worker.serving import open_embeddings, run_pools

log = structlog.get_logger(__name__)


def register(commands: Any) -> None:
    """Add the `worker` command."""
    p = commands.add_parser(
        "worker", help="run the embedding worker pool alone (scale out with more of these)"
    )
    p.add_argument(
        "--workers",
        type=int,
        default=None,
        metavar="N",
        help="concurrent workers in this process (default EMBEDDING_CONCURRENT_WORKERS, at least 1)",
    )
    p.add_argument(
        "--priority",
        type=priorities,
        default=PRIORITIES,
        metavar="LIST",
        help="take only tasks of these priorities: high, normal, low, or a comma list (default all)",
    )
    p.add_argument(
        "--folder",
        type=folder_partition,
        default=None,
        metavar="FOLDER",
        help="take only tasks of articles in this folder or below it, e.g. guides (default any)",
    )
    p.add_argument(
        "--grace",
        type=float,
        default=SHUTDOWN_GRACE_SECONDS,
        metavar="SECONDS",
        help=f"how long a stopping worker may finish its batch (default {SHUTDOWN_GRACE_SECONDS:g})",
    )
    p.set_defaults(handler=worker_command)


def priorities(value: str) -> tuple[Priority, ...]:
    """--priority: one priority or a comma list of them."""
    named = [part.strip() for part in value.split(",")]
    unknown = [name for name in named if name not in PRIORITIES]
    if unknown or not value.strip():
        raise argparse.ArgumentTypeError(
            f"{value!r}: must be high, normal, low, or a comma list of them (e.g. high,normal)"
        )
    return tuple(p for p in PRIORITIES if p in named)


def folder_partition(value: str) -> str:
    """--folder: a folder path as articles have them (the root, '', takes everything anyway)."""
    try:
        folder = check_folder(value, "--folder")
    except InvalidInputError as exc:
        raise argparse.ArgumentTypeError(exc.rule) from None
    if folder == "":
        raise argparse.ArgumentTypeError("'': must name a folder (leave --folder out to take any)")
    return folder


async def worker_command(args: argparse.Namespace, ctx: CommandContext) -> int:
    """Apply pending migrations, then run the pool until a signal stops it."""
    settings = ctx.settings
    if not settings.semantic_search_enabled:
        ctx.errors.print("article-mcp: nothing to do: SEMANTIC_SEARCH_ENABLED is false", markup=False)
        return EXIT_USAGE
    workers = args.workers if args.workers is not None else max(settings.embedding_concurrent_workers, 1)
    if not 1 <= workers <= 64:
        raise InvalidInputError("--workers", "must be between 1 and 64")
    settings = settings.model_copy(update={"embedding_concurrent_workers": workers})
    # A pool per live model (two while a model builds): connections for each.
    size = max(settings.database_pool_size, 2 * workers + 3)
    async with (
        open_database(settings, migrate=True, max_size=size) as db,
        open_embeddings(settings, db) as embeddings,
    ):
        partition = Partition(priorities=args.priority, folder=args.folder)
        log.info(
            "worker_starting",
            workers=workers,
            models=[str(e.model.identity) for e in embeddings.all],
            database=db.display_dsn,
            pool_mode=settings.database_pool_mode,
            partition=str(partition),
        )
        shutdown = anyio.Event()
        async with anyio.create_task_group() as tg:
            tg.start_soon(_on_signals, shutdown, tg.cancel_scope)
            await run_pools(
                settings, db, embeddings, shutdown=shutdown, grace=args.grace, partition=partition
            )
            tg.cancel_scope.cancel()
    log.info("worker_stopped")
    return EXIT_OK


async def _on_signals(shutdown: anyio.Event, scope: anyio.CancelScope) -> None:
    """First signal: finish the batch and stop. Second: stop now."""
    with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async for received in signals:
            if shutdown.is_set():
                log.info("worker_stopping_now", signal=signal.Signals(received).name)
                scope.cancel()
                return
            log.info("worker_stopping", signal=signal.Signals(received).name)
            shutdown.set()

"""`article-mcp queue ...`: watch the embedding queue and repair it.

The commands of the deployment guide's `queue-admin` script, same names and flags: status,
stats, health, metrics, recent, failed, inspect, stuck, reset-stuck, retry, stop, start,
clear, cleanup.
"""

from __future__ import annotations

import argparse
from collections.abc import Awaitable
from dataclasses import asdict
from typing import Any

import asyncpg

from article_mcp.cli import queue_views as views
from article_mcp.cli.common import EXIT_FAILURE, EXIT_OK, EXIT_UNHEALTHY, CommandContext
from article_mcp.cli.operator import (
    Fetch,
    Verdict,
    View,
    add_json_flag,
    confirm,
    connection,
    positive,
    print_model,
    read_command,
)
from article_mcp.config import Settings
from article_mcp.errors import InvalidInputError
from article_mcp.queue import admin as queue_admin
from article_mcp.queue import reports as queue_reports
from article_mcp.queue import tasks as queue
from article_mcp.queue.cleanup import cleanup
from article_mcp.queue.health import HealthReport, queue_health


def register(commands: Any) -> None:
    """Add the `queue` command group."""
    queue = commands.add_parser("queue", help="watch and repair the embedding queue")
    sub = queue.add_subparsers(dest="queue_command", required=True, metavar="SUBCOMMAND")
    _read_commands(sub)
    _repair_commands(sub)


def _read_commands(sub: Any) -> None:
    p = sub.add_parser("status", help="worker state, tasks by status and priority, workers, recent failures")
    _reads(p, lambda conn, _, settings: queue_admin.queue_status(conn, settings), views.show_status)

    p = sub.add_parser("stats", help="tasks by priority, source, model and error; the last 24 hours")
    _reads(p, lambda conn, _, __: queue_reports.queue_stats(conn), views.show_stats)

    p = sub.add_parser("health", help="healthy / degraded / unhealthy, exit code 0 / 1 / 5")
    _reads(p, lambda conn, _, settings: queue_health(conn, settings), views.show_health, _health_exit_code)

    p = sub.add_parser("metrics", help="processing time p50/p95, throughput, error rate, tokens")
    p.add_argument("--hours", type=positive, default=24, metavar="N", help="window (default 24)")
    _reads(p, lambda conn, args, _: queue_reports.queue_metrics(conn, hours=args.hours), views.show_metrics)

    p = sub.add_parser("recent", help="the tasks changed most recently")
    p.add_argument("--limit", type=positive, default=20, metavar="N", help="how many (default 20)")
    _reads(p, lambda conn, args, _: queue_reports.recent_tasks(conn, limit=args.limit), views.show_recent)

    p = sub.add_parser("failed", help="failed tasks grouped by error")
    p.add_argument("--details", action="store_true", help="also list each failed task")
    p.add_argument("--limit", type=positive, default=50, metavar="N", help="tasks listed by --details")
    _reads(p, _failures, views.show_failed)

    p = sub.add_parser("inspect", help="one task and its audit log")
    p.add_argument("task", type=positive, metavar="TASK", help="task id")
    _reads(p, lambda conn, args, _: queue_reports.inspect_task(conn, args.task), views.show_task)

    p = sub.add_parser(
        "stuck", help="processing tasks with an expired lease or running too long (exit 1 if any)"
    )
    _older_than(p)
    _reads(p, _stuck, views.show_stuck, lambda tasks: EXIT_FAILURE if tasks else EXIT_OK)


def _reads(parser: argparse.ArgumentParser, fetch: Fetch, view: View, verdict: Verdict | None = None) -> None:
    add_json_flag(parser)
    parser.set_defaults(handler=read_command(fetch, view, verdict))


def _failures(conn: asyncpg.Connection, args: argparse.Namespace, _: Settings) -> Awaitable[Any]:
    return queue_reports.failed_tasks(conn, details=args.limit if args.details else 0)


def _stuck(conn: asyncpg.Connection, args: argparse.Namespace, _: Settings) -> Awaitable[Any]:
    return queue_admin.stuck_tasks(conn, older_than_minutes=args.older_than)


def _health_exit_code(report: HealthReport) -> int:
    # The verdict is the exit code, so cron jobs and monitors can act on it.
    return {"healthy": EXIT_OK, "degraded": EXIT_FAILURE, "unhealthy": EXIT_UNHEALTHY}[report.status]


def _repair_commands(sub: Any) -> None:
    p = sub.add_parser("reset-stuck", help="put stuck processing tasks back to pending")
    _older_than(p)
    add_json_flag(p)
    p.set_defaults(handler=reset_stuck_command)

    p = sub.add_parser("retry", help="requeue a failed task, or every failed task, with fresh attempts")
    p.add_argument("task", type=positive, nargs="?", metavar="TASK", help="task id")
    p.add_argument("--all-failed", action="store_true", help="every failed task")
    add_json_flag(p)
    p.set_defaults(handler=retry_command)

    p = sub.add_parser("stop", help="pause every worker (through the database)")
    p.add_argument("--reason", default=None, help="shown by `queue status`")
    p.set_defaults(handler=stop_command)

    p = sub.add_parser("start", help="resume every worker")
    p.set_defaults(handler=start_command)

    p = sub.add_parser("clear", help="cancel every pending task")
    p.add_argument("--confirm", action="store_true", help="do it without asking")
    p.set_defaults(handler=clear_command)

    p = sub.add_parser("cleanup", help="delete finished tasks, audit logs and metrics older than N days")
    p.add_argument(
        "--days", type=positive, default=None, metavar="N", help="default EMBEDDING_CLEANUP_RETENTION_DAYS"
    )
    add_json_flag(p)
    p.set_defaults(handler=cleanup_command)


def _older_than(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--older-than",
        type=positive,
        default=30,
        metavar="MINUTES",
        help="also count tasks processing longer than this (default 30); expired leases always count",
    )


async def reset_stuck_command(args: argparse.Namespace, ctx: CommandContext) -> int:
    """Requeue stuck tasks."""
    async with connection(ctx.settings) as conn:
        result = await queue_admin.reset_stuck(conn, older_than_minutes=args.older_than)
    if args.json:
        print_model(ctx, result)
    else:
        ctx.console.print(
            f"reset {result.requeued} stuck tasks to pending, merged {result.merged} into pending tasks "
            f"of their article, cancelled {result.cancelled} of deleted articles"
        )
    return EXIT_OK


async def retry_command(args: argparse.Namespace, ctx: CommandContext) -> int:
    """Requeue failed tasks with fresh attempts."""
    if (args.task is None) == (not args.all_failed):
        raise InvalidInputError("TASK", "give a task id or --all-failed (one of them)")
    async with connection(ctx.settings) as conn:
        if args.all_failed:
            result = await queue_admin.retry_failed(conn)
        else:
            result = await queue_admin.retry_task(conn, args.task)
    if args.json:
        print_model(ctx, result)
    else:
        ctx.console.print(
            f"requeued {len(result.pending_ids)} tasks with fresh attempts"
            + (f" ({result.merged} merged into a pending task of their article)" if result.merged else "")
        )
    return EXIT_OK


async def stop_command(args: argparse.Namespace, ctx: CommandContext) -> int:
    """Pause every worker."""
    async with connection(ctx.settings) as conn:
        await queue_admin.set_paused(conn, paused=True, reason=args.reason)
    ctx.console.print("paused: workers finish the batch in hand and claim nothing more until `queue start`")
    return EXIT_OK


async def start_command(args: argparse.Namespace, ctx: CommandContext) -> int:
    """Resume every worker."""
    async with connection(ctx.settings) as conn:
        await queue_admin.set_paused(conn, paused=False, reason=None)
    ctx.console.print("resumed: workers claim tasks again")
    return EXIT_OK


async def clear_command(args: argparse.Namespace, ctx: CommandContext) -> int:
    """Cancel every pending task, after confirmation."""
    async with connection(ctx.settings) as conn:
        pending = (await queue_admin.queue_status(conn, ctx.settings)).counts.pending
        if not pending:
            ctx.console.print("nothing to clear: no pending tasks")
            return EXIT_OK
        question = f"Cancel {pending} pending embedding tasks?"
        if not confirm(ctx, question, assume_yes=args.confirm, flag="--confirm"):
            ctx.errors.print("nothing cancelled")
            return EXIT_FAILURE
        cancelled = await queue_admin.clear_pending(conn)
    ctx.console.print(f"cancelled {cancelled} pending tasks")
    return EXIT_OK


async def cleanup_command(args: argparse.Namespace, ctx: CommandContext) -> int:
    """Delete old finished tasks, audit rows, metrics, stopped workers and orphan vectors."""
    days = args.days or ctx.settings.embedding_cleanup_retention_days
    attempts = queue.max_attempts(ctx.settings.embedding_max_retries)
    async with connection(ctx.settings) as conn:
        result = await cleanup(conn, retention_days=days, max_attempts=attempts)
    if args.json:
        ctx.print_json(asdict(result))
    else:
        ctx.console.print(
            f"removed, older than {days} days: {result.tasks} finished tasks, "
            f"{result.audit_logs} audit rows, {result.metrics} metrics rows, "
            f"{result.workers} stopped workers; {result.embeddings} vectors no chunk uses any more"
        )
    return EXIT_OK

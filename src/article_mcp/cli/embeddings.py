"""`article-mcp embeddings ...`: coverage per model, and the backfill that queues existing
articles for the active model (the deployment guide's migration script, same flags)."""

from __future__ import annotations

import argparse
from typing import Any

import asyncpg
from rich.table import Table

from article_mcp.cli.common import EXIT_FAILURE, EXIT_OK, CommandContext
from article_mcp.cli.operator import (
    add_bulk_flags,
    add_json_flag,
    confirm,
    connection,
    facts,
    progress_bar,
    read_command,
)
from article_mcp.cli.token_views import show_tokens
from article_mcp.config import Settings
from article_mcp.embeddings import backfill
from article_mcp.embeddings.backfill import BackfillPlan, EmbeddingsStatus
from article_mcp.embeddings.providers import create_provider
from article_mcp.embeddings.registry import ModelRecord, configured_model
from article_mcp.errors import ConfigError
from article_mcp.queue import tasks


def register(commands: Any) -> None:
    """Add the `embeddings` command group."""
    group = commands.add_parser("embeddings", help="coverage per model; backfill existing articles")
    sub = group.add_subparsers(dest="embeddings_command", required=True, metavar="SUBCOMMAND")

    p = sub.add_parser("status", help="articles and chunks with vectors, per model; past backfills")
    add_json_flag(p)
    p.set_defaults(handler=read_command(lambda conn, _, s: backfill.embeddings_status(conn, s), show_status))

    p = sub.add_parser(
        "backfill",
        help="queue every article lacking vectors of the active model",
        description="Find the articles whose current chunks lack vectors of the active model and "
        "queue them for the workers, in set-based batches. `backfill rollback` undoes it.",
    )
    add_bulk_flags(p, dry_run="count, queue nothing", batch_size=backfill.DEFAULT_BATCH_SIZE, per="statement")
    p.add_argument("--priority", choices=("high", "normal", "low"), default="normal", help="default normal")
    add_json_flag(p)
    p.set_defaults(handler=backfill_command)
    undo = p.add_subparsers(dest="backfill_command", metavar="rollback")
    r = undo.add_parser("rollback", help="cancel the pending tasks a backfill created")
    r.add_argument("--run", default=None, metavar="ID", help="only this run (default: every backfill)")
    r.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    r.set_defaults(handler=rollback_command)


async def active_model(conn: asyncpg.Connection, settings: Settings) -> ModelRecord:
    """The model the settings select, registered if new (as `serve` does at start)."""
    if not settings.semantic_search_enabled:
        raise ConfigError(
            "SEMANTIC_SEARCH_ENABLED is false: nothing is embedded, so there is nothing to backfill"
        )
    provider = create_provider(settings)
    try:
        return await configured_model(conn, provider, settings)
    finally:
        await provider.aclose()


async def backfill_command(args: argparse.Namespace, ctx: CommandContext) -> int:
    """Count what lacks vectors, confirm, and queue it with a progress bar."""
    async with connection(ctx.settings) as conn:
        model = await active_model(conn, ctx.settings)
        plan = await backfill.plan(conn, model.id)
        if not args.json:
            show_plan(ctx, plan, f"{model.provider}/{model.name}")
        if args.dry_run or not plan.to_queue:
            _done(ctx, args, plan, None)
            return EXIT_OK
        question = (
            f"Queue {plan.to_queue} articles for embedding with {model.name} at {args.priority} priority?"
        )
        if not confirm(ctx, question, assume_yes=args.yes, flag="--yes"):
            ctx.errors.print("nothing queued")
            return EXIT_FAILURE
        result = await _enqueue(ctx, conn, model, args)
    _done(ctx, args, plan, result)
    return EXIT_OK


async def _enqueue(
    ctx: CommandContext, conn: asyncpg.Connection, model: ModelRecord, args: argparse.Namespace
) -> backfill.BackfillResult:
    article_ids = await backfill.articles_needing_vectors(conn, model.id)
    with progress_bar(ctx, "queueing", disable=args.json) as progress:
        bar = progress.add_task("queue", total=len(article_ids))
        return await backfill.enqueue_backfill(
            conn,
            model.id,
            article_ids,
            priority=args.priority,
            batch_size=args.batch_size,
            max_attempts=tasks.max_attempts(ctx.settings.embedding_max_retries),
            run_id=backfill.new_run_id(),
            progress=lambda done: progress.advance(bar, done),
        )


def _done(
    ctx: CommandContext, args: argparse.Namespace, plan: BackfillPlan, result: backfill.BackfillResult | None
) -> None:
    if args.json:
        ctx.print_json({"plan": plan.model_dump(), "result": result.model_dump() if result else None})
    elif result is None:
        ctx.console.print("dry run: nothing queued" if args.dry_run else "nothing to backfill")
    else:
        ctx.console.print(f"queued {result.articles} articles as backfill run {result.run_id}")
        ctx.console.print("watch the workers with `article-mcp queue status`; undo with")
        ctx.console.print(f"`article-mcp embeddings backfill rollback --run {result.run_id}`", markup=False)


async def rollback_command(args: argparse.Namespace, ctx: CommandContext) -> int:
    """Cancel the pending tasks of one backfill run, or of every one."""
    what = f"backfill run {args.run}" if args.run else "every backfill"
    if not confirm(ctx, f"Cancel the pending tasks of {what}?", assume_yes=args.yes, flag="--yes"):
        ctx.errors.print("nothing cancelled")
        return EXIT_FAILURE
    async with connection(ctx.settings) as conn:
        cancelled = await backfill.rollback(conn, args.run)
    ctx.console.print(f"cancelled {cancelled} pending tasks of {what}", markup=False)
    return EXIT_OK


def show_plan(ctx: CommandContext, plan: BackfillPlan, model: str) -> None:
    """The dry run's counts."""
    rows = [
        ("Articles", str(plan.articles)),
        ("Marked no_rag (never embedded)", str(plan.no_rag)),
        ("Lacking vectors: none yet", str(plan.missing)),
        ("Lacking vectors: some chunks", str(plan.incomplete)),
        ("Chunks to embed", str(plan.chunks_to_embed)),
        ("Already queued", str(plan.queued)),
        ("To queue", str(plan.to_queue)),
    ]
    ctx.console.print(facts(f"Backfill for {model}", rows))


def show_status(ctx: CommandContext, status: EmbeddingsStatus) -> None:
    """Coverage per model, the active model's gaps, past backfills."""
    table = Table("model", "dims", "state", "articles embedded", "chunks embedded", title="Coverage by model")
    for m in status.models:
        name = f"{m.provider}/{m.name}" + (" (active)" if m.model_id == status.active_model_id else "")
        articles, chunks = _share(m.articles_embedded, m.articles), _share(m.chunks_embedded, m.chunks)
        table.add_row(name, str(m.dimensions or "?"), m.state, articles, chunks)
    ctx.console.print(table if status.models else "no embedding model registered yet")
    if status.plan is None:
        ctx.console.print(
            f"{status.active_model}: not registered yet (the first serve, worker or backfill does)"
        )
    else:
        show_plan(ctx, status.plan, status.active_model)
    if status.backfill_runs:
        counts = ("tasks", "pending", "processing", "completed", "failed", "cancelled")
        runs = Table("run", "started", *counts, title="Backfill runs")
        for run in status.backfill_runs:
            started = f"{run.started_at:%Y-%m-%d %H:%M}"
            runs.add_row(run.run_id, started, *(str(getattr(run, count)) for count in counts))
        ctx.console.print(runs)
    show_tokens(ctx, status.tokens)


def _share(part: int, whole: int) -> str:
    return f"{part} / {whole}" + (f" ({part / whole:.0%})" if whole else "")

"""`article-mcp embeddings plan|build|activate|prune MODEL`: the blue/green model switch.

MODEL is `provider/model`, or a model name only one provider has. The model the settings name
is registered on first mention (as `building` while another model is active); any other must
be registered already (by a `serve`, `worker` or command run with it configured).
"""

from __future__ import annotations

import argparse
from typing import Any

import asyncpg

from article_mcp.cli.common import EXIT_FAILURE, EXIT_OK, CommandContext
from article_mcp.cli.operator import (
    add_json_flag,
    confirm,
    connection,
    duration,
    facts,
    print_model,
)
from article_mcp.config import Settings
from article_mcp.embeddings import backfill, lifecycle, registry
from article_mcp.embeddings.costs import SwitchPlan, switch_plan
from article_mcp.embeddings.providers import create_provider
from article_mcp.embeddings.registry import ModelIdentity, ModelRecord, find_model
from article_mcp.errors import ConfigError
from article_mcp.queue import tasks


def register(sub: Any) -> None:
    """Add the switch's subcommands to the `embeddings` group."""
    p = sub.add_parser(
        "plan", help="what embedding every article with MODEL costs, before anything is queued"
    )
    _model_argument(p)
    add_json_flag(p)
    p.set_defaults(handler=plan_command)

    p = sub.add_parser(
        "build",
        help="queue MODEL's backfill at low priority (writes embed for it too while it builds)",
    )
    _model_argument(p)
    p.add_argument(
        "--batch-size", type=int, default=backfill.DEFAULT_BATCH_SIZE, help="articles per statement"
    )
    add_json_flag(p)
    p.set_defaults(handler=build_command)

    p = sub.add_parser(
        "activate",
        help="make MODEL the one search uses (also the rollback to a retired model)",
        description="Switch search to MODEL in one transaction; the active model retires, kept"
        " current for EMBEDDING_RETIRED_GRACE_HOURS. Refused while MODEL lacks vectors for some"
        " article, unless --force (hybrid search then finds those by full text alone, and says so;"
        " semantic mode finds them once embedded).",
    )
    _model_argument(p)
    p.add_argument("--force", action="store_true", help="switch even though some articles lack vectors")
    add_json_flag(p)
    p.set_defaults(handler=activate_command)

    p = sub.add_parser("prune", help="delete a retired MODEL's vectors and index (after its grace period)")
    _model_argument(p)
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    add_json_flag(p)
    p.set_defaults(handler=prune_command)


def _model_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "model", metavar="MODEL", help="provider/model, or a model name only one provider has"
    )


async def configured_model(conn: asyncpg.Connection, settings: Settings) -> ModelRecord:
    """The model the settings select, registered if new (as `serve` does at start: building
    while another model is active)."""
    if not settings.semantic_search_enabled:
        raise ConfigError(
            "SEMANTIC_SEARCH_ENABLED is false: nothing is embedded, so there is nothing to backfill"
        )
    provider = create_provider(settings)
    try:
        return await registry.configured_model(conn, provider, settings)
    finally:
        await provider.aclose()


async def resolve(conn: asyncpg.Connection, settings: Settings, wanted: str) -> ModelRecord:
    """The model MODEL names: the configured one registered if new, any other as registered."""
    configured = ModelIdentity.configured(settings)
    if settings.semantic_search_enabled and wanted in (str(configured), configured.name):
        return await configured_model(conn, settings)
    return await find_model(conn, wanted)


async def plan_command(args: argparse.Namespace, ctx: CommandContext) -> int:
    """Print what the switch costs; queue nothing."""
    async with connection(ctx.settings) as conn:
        model = await resolve(conn, ctx.settings, args.model)
        plan = await switch_plan(conn, ctx.settings, model)
    if args.json:
        print_model(ctx, plan)
    else:
        show_switch_plan(ctx, plan)
    return EXIT_OK


def show_switch_plan(ctx: CommandContext, plan: SwitchPlan) -> None:
    """The plan as a table."""
    how = "the model's tokenizer" if plan.counted_by == "tokenizer" else "estimated (passages/tokens.py)"
    rate = "-" if plan.tokens_per_second is None else f"{plan.tokens_per_second:,.0f} tokens/s (measured)"
    if plan.cost is None:
        cost = "- (set EMBEDDING_PRICE_PER_MILLION_TOKENS)"
    else:
        cost = f"{plan.cost:,.4f} at {plan.price_per_million_tokens:g} per million tokens"
    rows = [
        ("State", plan.state),
        ("Articles lacking vectors", str(plan.articles)),
        ("Passages to embed", str(plan.passages)),
        ("Tokens", f"{plan.tokens:,} ({how})"),
        ("Throughput", rate),
        ("Time", duration(plan.seconds) if plan.seconds is not None else "- (no batch measured yet)"),
        ("Cost", cost),
    ]
    ctx.console.print(facts(f"Switch to {plan.model}", rows))


async def build_command(args: argparse.Namespace, ctx: CommandContext) -> int:
    """Mark the model building (a retired one again) and queue its backfill at low priority."""
    async with connection(ctx.settings) as conn:
        model = await resolve(conn, ctx.settings, args.model)
        if model.state == "retired":
            await lifecycle.start_building(conn, model)
        article_ids = await backfill.articles_needing_vectors(conn, model.id)
        result = await backfill.enqueue_backfill(
            conn,
            model.id,
            article_ids,
            priority="low",
            batch_size=args.batch_size,
            max_attempts=tasks.max_attempts(ctx.settings.embedding_max_retries),
            run_id=backfill.new_run_id(),
        )
    if args.json:
        print_model(ctx, result)
    else:
        ctx.console.print(
            f"{model.identity}: queued {result.articles} articles at low priority as backfill run"
            f" {result.run_id}; follow it with `article-mcp embeddings status`",
            markup=False,
        )
    return EXIT_OK


async def activate_command(args: argparse.Namespace, ctx: CommandContext) -> int:
    """Switch search to the model (refused with the missing count unless --force)."""
    async with connection(ctx.settings) as conn:
        model = await resolve(conn, ctx.settings, args.model)
        done = await lifecycle.activate(
            conn, model, force=args.force, grace_hours=ctx.settings.embedding_retired_grace_hours
        )
    if args.json:
        print_model(ctx, done)
        return EXIT_OK
    if done.previous is None:
        ctx.console.print(f"{done.model} is the active model", markup=False)
        return EXIT_OK
    ctx.console.print(f"search now uses {done.model}; {done.previous} is retired", markup=False)
    if done.missing:
        ctx.console.print(
            f"{done.missing} articles lack its vectors: search finds them by full text alone until"
            " they are embedded",
            markup=False,
        )
    grace = ctx.settings.embedding_retired_grace_hours
    ctx.console.print(
        f"roll back with `article-mcp embeddings activate {done.previous}` (instant for {grace:g} h)",
        markup=False,
    )
    return EXIT_OK


async def prune_command(args: argparse.Namespace, ctx: CommandContext) -> int:
    """Delete a retired model's vectors and index."""
    async with connection(ctx.settings) as conn:
        model = await find_model(conn, args.model)
        question = (
            f"Delete every vector of {model.identity} and its index? A rollback to it is then a rebuild."
        )
        if not confirm(ctx, question, assume_yes=args.yes, flag="--yes"):
            ctx.errors.print("nothing pruned")
            return EXIT_FAILURE
        pruned = await lifecycle.prune(conn, model)
    if args.json:
        print_model(ctx, pruned)
    else:
        ctx.console.print(
            f"{pruned.model}: deleted {pruned.vectors} vectors and the index {pruned.index}", markup=False
        )
    return EXIT_OK

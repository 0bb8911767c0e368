"""`article-mcp db ...`: migrate, rollback, status, verify, reindex."""

from __future__ import annotations

import argparse
from typing import Any

from rich.table import Table

from article_mcp.articles import reindex
from article_mcp.cli.common import EXIT_FAILURE, EXIT_OK, CommandContext
from article_mcp.cli.operator import add_bulk_flags, add_json_flag, confirm, connection, facts, progress_bar
from article_mcp.db.embedded import database_address
from article_mcp.db.migrate import migrate, migration_state, rollback
from article_mcp.db.pool import migration_address
from article_mcp.db.verify import verify_schema

# Why a reindex queued nothing: a model registers at the first serve, worker or backfill.
NOT_QUEUED = "none (semantic search is off, or its model is not registered yet)"


def register(commands: Any) -> None:
    """Add the `db` command group."""
    db = commands.add_parser(
        "db", help="migrate, roll back, inspect and verify the schema; reindex the articles"
    )
    sub = db.add_subparsers(dest="db_command", required=True, metavar="SUBCOMMAND")

    p = sub.add_parser("migrate", help="apply pending migrations")
    p.add_argument("--to", type=int, default=None, metavar="N", help="stop at version N")
    p.set_defaults(handler=migrate_command)

    p = sub.add_parser("rollback", help="undo migrations (the latest one by default)")
    p.add_argument("--to", type=int, default=None, metavar="N", help="undo every version above N (0: all)")
    p.set_defaults(handler=rollback_command)

    p = sub.add_parser("status", help="show applied and pending migrations")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=status_command)

    p = sub.add_parser("verify", help="check tables, indexes and the vector extension (exit 1 if missing)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=verify_command)

    p = sub.add_parser(
        "reindex",
        help="rebuild the articles' passages and search vectors under the current settings",
        description="Chunk every article again with the current CHUNK_SIZE and CHUNK_OVERLAP, "
        "rebuild its full-text index with the current TEXT_SEARCH_CONFIG, and queue the "
        "articles whose passages changed for embedding with the active model.",
    )
    add_bulk_flags(
        p,
        dry_run="count the articles whose passages change",
        batch_size=reindex.DEFAULT_BATCH_SIZE,
        per="transaction",
    )
    add_json_flag(p)
    p.set_defaults(handler=reindex_command)


async def migrate_command(args: argparse.Namespace, ctx: CommandContext) -> int:
    """Apply pending migrations."""
    async with database_address(ctx.settings) as dsn:
        address, mode = migration_address(ctx.settings, dsn)
        applied = await migrate(address, target=args.to, mode=mode)
    for migration in applied:
        ctx.console.print(f"applied {migration.version:04d}_{migration.name}")
    if not applied:
        ctx.console.print("nothing to apply: the schema is up to date")
    return EXIT_OK


async def rollback_command(args: argparse.Namespace, ctx: CommandContext) -> int:
    """Undo migrations above a version."""
    target = args.to
    if target is None:
        async with connection(ctx.settings) as conn:
            applied = (await migration_state(conn)).applied
        target = sorted(applied)[-2] if len(applied) > 1 else 0
    async with database_address(ctx.settings) as dsn:
        address, mode = migration_address(ctx.settings, dsn)
        undone = await rollback(address, target=target, mode=mode)
    for migration in undone:
        ctx.console.print(f"rolled back {migration.version:04d}_{migration.name}")
    if not undone:
        ctx.console.print("nothing to roll back")
    return EXIT_OK


async def status_command(args: argparse.Namespace, ctx: CommandContext) -> int:
    """Show which migrations are applied."""
    async with connection(ctx.settings) as conn:
        state = await migration_state(conn)
    rows = [
        {"version": m.version, "name": m.name, "applied": m.version in state.applied} for m in state.available
    ]
    if args.json:
        ctx.print_json({"current": state.current, "migrations": rows})
        return EXIT_OK
    table = Table("version", "name", "state", title=f"schema at version {state.current}")
    for row in rows:
        table.add_row(f"{row['version']:04d}", str(row["name"]), "applied" if row["applied"] else "pending")
    ctx.console.print(table)
    return EXIT_OK


async def verify_command(args: argparse.Namespace, ctx: CommandContext) -> int:
    """Check the schema; exit 1 with the list of what is missing."""
    async with connection(ctx.settings) as conn:
        report = await verify_schema(conn)
    if args.json:
        ctx.print_json(
            {
                "ok": report.ok,
                "current_version": report.current_version,
                "latest_version": report.latest_version,
                "vector_extension": report.vector_version,
                "missing": report.missing,
            }
        )
    elif report.ok:
        ctx.console.print(
            f"schema OK: version {report.current_version}, pgvector {report.vector_version}", markup=False
        )
    else:
        ctx.errors.print("schema incomplete; missing:", markup=False)
        for item in report.missing:
            ctx.errors.print(f"  - {item}", markup=False)
        ctx.errors.print("run `article-mcp db migrate` to fix", markup=False)
    return EXIT_OK if report.ok else EXIT_FAILURE


async def reindex_command(args: argparse.Namespace, ctx: CommandContext) -> int:
    """Rebuild every article's passages and search vector, with a progress bar."""
    s = ctx.settings
    async with connection(s) as conn:
        total = await reindex.count_articles(conn)
        question = (
            f"Rebuild the passages and search vectors of {total} articles with CHUNK_SIZE {s.chunk_size},"
            f" CHUNK_OVERLAP {s.chunk_overlap} and TEXT_SEARCH_CONFIG {s.text_search_config}?"
        )
        if not args.dry_run and not confirm(ctx, question, assume_yes=args.yes, flag="--yes"):
            ctx.errors.print("nothing changed")
            return EXIT_FAILURE
        with progress_bar(ctx, "reindexing", disable=args.json) as progress:
            bar = progress.add_task("reindex", total=total)
            result = await reindex.reindex(
                conn,
                s,
                dry_run=args.dry_run,
                batch_size=args.batch_size,
                progress=lambda done: progress.advance(bar, done),
            )
    if args.json:
        ctx.print_json(result.model_dump())
        return EXIT_OK
    rows = [("Articles", str(result.articles)), ("Passages changed", str(result.rechunked))]
    if not args.dry_run:
        queued = f"{result.queued} for {result.model}" if result.model else NOT_QUEUED
        rows += [("Search vectors rebuilt", str(result.search_vectors)), ("Queued for embedding", queued)]
    ctx.console.print(facts("Reindex", rows))
    if args.dry_run:
        ctx.console.print("dry run: nothing written")
    return EXIT_OK

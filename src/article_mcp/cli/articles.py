"""`article-mcp articles ...`: operator commands on the articles themselves (`prune-history`)."""

from __future__ import annotations

import argparse
from typing import Any

from article_mcp.articles import history
from article_mcp.articles.models import PruneReport
from article_mcp.cli.common import EXIT_FAILURE, EXIT_OK, CommandContext
from article_mcp.cli.operator import add_json_flag, confirm, connection, facts, positive, print_model
from article_mcp.errors import InvalidInputError


def register(commands: Any) -> None:
    """Add the `articles` command group."""
    articles = commands.add_parser("articles", help="maintain the articles' version history")
    sub = articles.add_subparsers(dest="articles_command", required=True, metavar="SUBCOMMAND")

    p = sub.add_parser(
        "prune-history",
        help="keep only the newest versions of every article, live or deleted",
        description="Remove every article's versions beyond its newest N (--keep, or "
        "ARTICLE_HISTORY_MAX_VERSIONS), deleted articles' included. A deleted article keeps its "
        "deletion, so it can still be restored.",
    )
    p.add_argument(
        "--keep",
        type=positive,
        default=None,
        metavar="N",
        help="versions to keep per article (default: ARTICLE_HISTORY_MAX_VERSIONS)",
    )
    p.add_argument("--dry-run", action="store_true", help="count what would be removed; remove nothing")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    add_json_flag(p)
    p.set_defaults(handler=prune_history_command)


async def prune_history_command(args: argparse.Namespace, ctx: CommandContext) -> int:
    """Prune every article's history to its newest versions, after a count and a confirmation."""
    keep = args.keep or ctx.settings.article_history_max_versions
    if keep == 0:
        raise InvalidInputError(
            "--keep", "give the versions to keep per article (ARTICLE_HISTORY_MAX_VERSIONS is 0: keep all)"
        )
    async with connection(ctx.settings) as conn:
        report = await history.prune(conn, keep, dry_run=True)
        if not args.dry_run and report.versions:
            question = f"Remove {report.versions} old versions of {report.articles} articles?"
            if not confirm(ctx, question, assume_yes=args.yes, flag="--yes"):
                return EXIT_FAILURE
            async with conn.transaction():
                report = await history.prune(conn, keep, dry_run=False)
    if args.json:
        print_model(ctx, report)
    else:
        _show(ctx, report)
    return EXIT_OK


def _show(ctx: CommandContext, report: PruneReport) -> None:
    verb = "would remove" if report.dry_run else "removed"
    ctx.console.print(
        facts(
            f"history: the newest {report.keep} versions of each article",
            [
                (f"versions {verb}", str(report.versions)),
                ("articles with older versions", str(report.articles)),
                ("versions kept", str(report.kept)),
            ],
        )
    )
    if report.dry_run:
        ctx.console.print("dry run: nothing was removed")

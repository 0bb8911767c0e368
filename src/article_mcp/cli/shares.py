"""`article-mcp shares list|revoke`: the public share links (made by the share_article tool)."""

from __future__ import annotations

import argparse
from typing import Any

import asyncpg
from rich.table import Table

from article_mcp.access import shares
from article_mcp.access.shares import MAX_LISTED, Share
from article_mcp.cli.common import EXIT_OK, CommandContext
from article_mcp.cli.operator import add_json_flag, ago, connection, positive, read_command
from article_mcp.config import Settings
from article_mcp.errors import NotFoundError


def register(commands: Any) -> None:
    """Add the `shares` command group."""
    group = commands.add_parser("shares", help="list and revoke public share links")
    sub = group.add_subparsers(dest="shares_command", required=True, metavar="SUBCOMMAND")

    p = sub.add_parser(
        "list",
        help="the share links, newest first (never their URLs: only a hash is kept)",
        description="Share links, newest first: id, article, pinned version, state, expiry, "
        "who made it. Live links only, unless --all.",
    )
    p.add_argument("--article", metavar="SLUG", default=None, help="only this article's links")
    p.add_argument("--all", action="store_true", help="also revoked and expired links")
    p.add_argument("--limit", type=positive, default=100, metavar="N", help=f"at most N (up to {MAX_LISTED})")
    add_json_flag(p)
    p.set_defaults(handler=read_command(_list, _show))

    p = sub.add_parser(
        "revoke",
        help="revoke a share link (by id), or every link of an article",
        description="Revoke share links: they answer 404 from then on. Give a link's id "
        "(`shares list`), or --article SLUG for all of that article's links.",
    )
    target = p.add_mutually_exclusive_group(required=True)
    target.add_argument("id", type=positive, nargs="?", default=None, help="the link's id")
    target.add_argument("--article", metavar="SLUG", default=None, help="every link of this article")
    p.set_defaults(handler=revoke_command)


async def _list(conn: asyncpg.Connection, args: argparse.Namespace, settings: Settings) -> list[Share]:
    return await shares.list_shares(conn, slug=args.article, include_dead=args.all, limit=args.limit)


def _show(ctx: CommandContext, links: list[Share]) -> None:
    if not links:
        ctx.console.print("no share links")
        return
    table = Table(title="share links", title_justify="left")
    for column in ("id", "article", "version", "state", "expires", "created", "by"):
        table.add_column(column)
    for link in links:
        table.add_row(
            str(link.id),
            link.slug,
            "current" if link.version is None else str(link.version),
            link.state,
            "never" if link.expires_at is None else link.expires_at.isoformat(timespec="seconds"),
            ago(link.created_at),
            link.created_by or "-",
        )
    ctx.console.print(table)


async def revoke_command(args: argparse.Namespace, ctx: CommandContext) -> int:
    """Revoke the links named; none to revoke is exit 4."""
    async with connection(ctx.settings) as conn:
        revoked = await shares.revoke(conn, slug=args.article, share_id=args.id)
    if not revoked:
        named = f"link {args.id}" if args.id is not None else f"link of article {args.article!r}"
        raise NotFoundError(f"no share {named} is left to revoke")
    ctx.console.print(f"revoked share link(s) {', '.join(map(str, revoked))}")
    return EXIT_OK

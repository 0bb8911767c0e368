"""`article-mcp tokens ...`: create, list and revoke the access tokens of HTTP callers."""

from __future__ import annotations

import argparse
from datetime import datetime
from typing import Any

from rich.table import Table

from article_mcp.access.principals import Scope
from article_mcp.access.tokens import TokenInfo, create_token, list_tokens, parse_expiry, revoke_token
from article_mcp.cli.common import EXIT_OK, CommandContext
from article_mcp.cli.operator import add_json_flag, ago, connection, read_command


def register(commands: Any) -> None:
    """Add the `tokens` command group."""
    tokens = commands.add_parser("tokens", help="create, list and revoke access tokens for HTTP clients")
    sub = tokens.add_subparsers(dest="tokens_command", required=True, metavar="SUBCOMMAND")

    p = sub.add_parser(
        "create",
        help="create a token and print it, once",
        description="Create an access token for one person or agent and print it on stdout. It is "
        "shown only now: the database keeps only a keyed hash of it.",
    )
    p.add_argument("name", help="who the token is for: the author of its writes, the name in the logs")
    p.add_argument("--scope", required=True, choices=[scope.value for scope in Scope], help="what it may do")
    p.add_argument(
        "--expires", default=None, metavar="DURATION", help="expire after 30d, 12h, 45m, 2w (default never)"
    )
    p.set_defaults(handler=create_command)

    p = sub.add_parser("list", help="name, scope, created, last used, expiry (never the token)")
    add_json_flag(p)
    p.set_defaults(handler=read_command(lambda conn, _, __: list_tokens(conn), show_tokens))

    p = sub.add_parser("revoke", help="revoke a token at once (exit 4 if no live token has the name)")
    p.add_argument("name", help="the token's name")
    p.set_defaults(handler=revoke_command)


async def create_command(args: argparse.Namespace, ctx: CommandContext) -> int:
    expires_in = None if args.expires is None else parse_expiry(args.expires, "--expires")
    async with connection(ctx.settings) as conn:
        created = await create_token(conn, args.name, Scope(args.scope), expires_in)
    info = created.info
    ctx.errors.print(
        f"created token {info.name!r} (scope {info.scope}, expires {_when(info.expires_at)}); "
        "it is shown only this once:",
        markup=False,
    )
    ctx.console.file.write(created.token + "\n")
    return EXIT_OK


async def revoke_command(args: argparse.Namespace, ctx: CommandContext) -> int:
    async with connection(ctx.settings) as conn:
        revoked = await revoke_token(conn, args.name)
    ctx.console.print(f"revoked token {revoked.name!r} (scope {revoked.scope})", markup=False)
    return EXIT_OK


def show_tokens(ctx: CommandContext, tokens: list[TokenInfo]) -> None:
    if not tokens:
        ctx.console.print("no access tokens: create one with `article-mcp tokens create NAME --scope read`")
        return
    table = Table(title="Access tokens", title_justify="left")
    for column in ("name", "scope", "created", "last used", "expires", "revoked"):
        table.add_column(column)
    for token in tokens:
        table.add_row(
            token.name,
            token.scope.value,
            _when(token.created_at),
            ago(token.last_used_at),
            _when(token.expires_at),
            _when(token.revoked_at, never="-"),
        )
    ctx.console.print(table)


def _when(moment: datetime | None, never: str = "never") -> str:
    return never if moment is None else moment.strftime("%Y-%m-%d %H:%M UTC")

"""What the operator commands (`queue`, `embeddings`) share: one database connection with
errors translated, a confirmation prompt, and times written for a person."""

from __future__ import annotations

import argparse
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import asyncpg
from pydantic import BaseModel
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.prompt import Confirm
from rich.table import Table
from rich.text import Text

from article_mcp.cli.common import EXIT_OK, CommandContext
from article_mcp.config import Settings
from article_mcp.db.embedded import database_address
from article_mcp.db.pool import CONNECTION_ERRORS, connect, unavailable
from article_mcp.errors import ConfigError, InvalidInputError

Handler = Callable[[argparse.Namespace, CommandContext], Awaitable[int]]


# The schema is older than the code, or missing: the operator's fix is the same.
_SCHEMA_ERRORS = (asyncpg.UndefinedTableError, asyncpg.UndefinedObjectError, asyncpg.UndefinedColumnError)


@asynccontextmanager
async def connection(settings: Settings) -> AsyncIterator[asyncpg.Connection]:
    """One connection for one command; an unreachable server or missing schema is a clear error."""
    async with database_address(settings) as dsn:
        conn = await connect(dsn, mode=settings.database_pool_mode)
        try:
            yield conn
        except CONNECTION_ERRORS as exc:
            raise unavailable(dsn, exc) from exc
        except _SCHEMA_ERRORS as exc:
            raise ConfigError("the database schema is missing or old: run `article-mcp db migrate`") from exc
        finally:
            await conn.close()


def add_json_flag(parser: argparse.ArgumentParser) -> None:
    """Every read command prints JSON for machines on request."""
    parser.add_argument("--json", action="store_true", help="print JSON")


def add_bulk_flags(parser: argparse.ArgumentParser, *, dry_run: str, batch_size: int, per: str) -> None:
    """The flags of a command that changes many articles in batches: --dry-run, --yes, --batch-size."""
    parser.add_argument("--dry-run", action="store_true", help=dry_run)
    parser.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    parser.add_argument(
        "--batch-size",
        type=positive,
        default=batch_size,
        metavar="N",
        help=f"articles per {per} (default {batch_size})",
    )


def positive(text: str) -> int:
    """An argparse type: a whole number above zero."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a whole number above 0 (got {text!r})")
    return value


def confirm(ctx: CommandContext, question: str, *, assume_yes: bool, flag: str) -> bool:
    """Ask before a destructive step; `flag` answers yes in scripts (no terminal, no question)."""
    if assume_yes:
        return True
    if not sys.stdin.isatty():
        raise InvalidInputError(flag, "required to confirm when there is no terminal to ask on")
    return Confirm.ask(question, console=ctx.errors, default=False)


def progress_bar(ctx: CommandContext, label: str, *, disable: bool, counts: bool = False) -> Progress:
    """A bar on stderr counting articles done of a total, for the long set-based commands;
    with `counts`, the task's `counts` field (say, `3 created, 1 failed`) after the bar."""
    columns = [TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()]
    if counts:
        columns.append(TextColumn("{task.fields[counts]}"))
    return Progress(*columns, console=ctx.errors, disable=disable)


def print_model(ctx: CommandContext, report: BaseModel | Sequence[BaseModel]) -> None:
    """A report (or a list of them) as JSON on stdout."""
    if isinstance(report, BaseModel):
        ctx.print_json(report.model_dump(mode="json"))
    else:
        ctx.print_json([item.model_dump(mode="json") for item in report])


Fetch = Callable[[asyncpg.Connection, argparse.Namespace, Settings], Awaitable[Any]]
View = Callable[[CommandContext, Any], None]
Verdict = Callable[[Any], int]


def read_command(fetch: Fetch, view: View, verdict: Verdict | None = None) -> Handler:
    """A handler that fetches one report and shows it (JSON with --json); exit 0 unless `verdict`."""

    async def handler(args: argparse.Namespace, ctx: CommandContext) -> int:
        async with connection(ctx.settings) as conn:
            report = await fetch(conn, args, ctx.settings)
        if args.json:
            print_model(ctx, report)
        else:
            view(ctx, report)
        return verdict(report) if verdict else EXIT_OK

    return handler


def duration(seconds: float | None) -> str:
    """`42s`, `3m 20s`, `5h 02m`, `2d 03h`; `-` for nothing."""
    if seconds is None:
        return "-"
    whole = int(seconds)
    if whole < 60:
        return f"{whole}s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h {minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d {hours:02d}h"


def ago(moment: datetime | None) -> str:
    """How long ago, e.g. `3m 20s ago`."""
    if moment is None:
        return "-"
    return f"{duration((datetime.now(UTC) - moment).total_seconds())} ago"


def facts(title: str, rows: list[tuple[str, str]]) -> Table:
    """A two-column table of named values."""
    table = Table(title=title, show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    for name, value in rows:
        table.add_row(name, Text(value))
    return table

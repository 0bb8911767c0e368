"""Entry point of `article-mcp`: parse, run one handler, map errors to exit codes."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import anyio
from rich.console import Console

from article_mcp import __version__
from article_mcp.cli import articles as articles_commands
from article_mcp.cli import check as check_commands
from article_mcp.cli import db as db_commands
from article_mcp.cli import demo as demo_commands
from article_mcp.cli import embeddings as embeddings_commands
from article_mcp.cli import queue as queue_commands
from article_mcp.cli import serve as serve_commands
from article_mcp.cli import shares as shares_commands
from article_mcp.cli import tokens as tokens_commands
from article_mcp.cli import transfer as transfer_commands
from article_mcp.cli import worker as worker_commands
from article_mcp.cli.common import (
    EXIT_CONFLICT,
    EXIT_FAILURE,
    EXIT_INTERRUPTED,
    EXIT_UNAVAILABLE,
    EXIT_USAGE,
    CommandContext,
)
from article_mcp.config import Settings, load_settings
from article_mcp.errors import (
    ArticleMcpError,
    ConfigError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PermanentProviderError,
    RateLimitedError,
    TransientProviderError,
    UnavailableError,
    describe,
)
from article_mcp.logs import configure_logging

# What each error means for the caller of a command (the table in common.py); the first class
# that matches wins. A provider that refuses for good was set up wrongly: fix the setting. Any
# other error of ours (a broken invariant) is a failure of the command.
EXIT_CODES: tuple[tuple[type[ArticleMcpError], int], ...] = (
    (InvalidInputError, EXIT_USAGE),
    (ConfigError, EXIT_USAGE),
    (PermanentProviderError, EXIT_USAGE),
    (UnavailableError, EXIT_UNAVAILABLE),
    (TransientProviderError, EXIT_UNAVAILABLE),
    (RateLimitedError, EXIT_UNAVAILABLE),
    (NotFoundError, EXIT_CONFLICT),
    (ConflictError, EXIT_CONFLICT),
    (ArticleMcpError, EXIT_FAILURE),
)

# Each module adds its subcommands; the order is the order of `--help`.
COMMAND_MODULES = (
    serve_commands,
    worker_commands,
    db_commands,
    articles_commands,
    queue_commands,
    embeddings_commands,
    demo_commands,
    check_commands,
    transfer_commands,
    shares_commands,
    tokens_commands,
)


def build_parser() -> argparse.ArgumentParser:
    """The whole command tree."""
    parser = argparse.ArgumentParser(
        prog="article-mcp",
        description="MCP server for markdown articles with embeddings kept current by a durable queue.",
    )
    parser.add_argument("--version", action="version", version=f"article-mcp {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    """Run one command and exit with its code."""
    sys.exit(run(argv))


def run(argv: Sequence[str] | None = None) -> int:
    """Run one command and return its exit code; the one place errors become exit codes."""
    args = build_parser().parse_args(argv)
    errors = Console(stderr=True, highlight=False, soft_wrap=True)
    try:
        settings = _settings_for(args)
        configure_logging(settings.log_level, settings.log_format)
        context = CommandContext(settings=settings, console=Console(highlight=False), errors=errors)
        code: int = anyio.run(args.handler, args, context)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except ArticleMcpError as exc:
        errors.print(f"article-mcp: {describe(exc)}", markup=False)
        return exit_code(exc)
    return code


def _settings_for(args: argparse.Namespace) -> Settings:
    """The settings; a command that reports on them (`check config`) also runs on broken ones."""
    try:
        return load_settings()
    except ConfigError:
        if not getattr(args, "reports_settings", False):
            raise
        return Settings.model_construct()


def exit_code(exc: ArticleMcpError) -> int:
    """The exit code of a command that raised `exc`."""
    return next(code for kind, code in EXIT_CODES if isinstance(exc, kind))

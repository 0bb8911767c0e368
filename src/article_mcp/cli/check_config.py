"""`article-mcp check config`: every setting, its value (secrets masked), where it came from,
and what is wrong; exit 1 when the settings do not validate.

It runs even when they do not (the command line lets a handler that sets `reports_settings`
start on broken settings), since that is when it is needed.
"""

from __future__ import annotations

import argparse
from typing import Any

from rich.table import Table
from rich.text import Text

from article_mcp.cli.common import EXIT_FAILURE, EXIT_OK, CommandContext
from article_mcp.cli.operator import add_json_flag, print_model
from article_mcp.config_report import ConfigReport, config_report


def register(checks: Any) -> None:
    """Add `check config` to the `check` group's subcommands."""
    p = checks.add_parser("config", help="every setting, its value and source, and problems (exit 1 if any)")
    add_json_flag(p)
    p.set_defaults(handler=config_command, reports_settings=True)


async def config_command(args: argparse.Namespace, ctx: CommandContext) -> int:
    """Describe the settings; exit 1 when they do not validate."""
    report = config_report()
    if args.json:
        print_model(ctx, report)
    else:
        show_config(ctx, report)
    return EXIT_OK if report.ok else EXIT_FAILURE


def show_config(ctx: CommandContext, report: ConfigReport) -> None:
    """The settings table, then problems and warnings."""
    found = "read" if report.env_file_found else "not found"
    table = Table("setting", "value", "source", "problem", title=f"Settings ({report.env_file} {found})")
    for line in report.settings:
        table.add_row(line.name, Text(line.value), line.source, Text(line.problem or "", style="red"))
    ctx.console.print(table)
    for problem in report.problems:
        ctx.console.print(Text(f"problem: {problem}", style="red"))
    for warning in report.warnings:
        ctx.console.print(Text(f"warning: {warning}", style="yellow"))
    ctx.console.print("settings OK" if report.ok else "settings invalid: every command refuses to start")

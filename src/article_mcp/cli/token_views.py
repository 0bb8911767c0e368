"""Tokens and their cost per model, as `queue status`, `queue metrics` and `embeddings status`
show them. Model names come from the database: wrapped in `Text`, never read as markup."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text

from article_mcp.cli.common import CommandContext
from article_mcp.queue.usage import ModelTokens, TokenReport


def show_tokens(ctx: CommandContext, models: list[ModelTokens]) -> None:
    """One row per model with tokens in the last 24 hours; nothing when none has any."""
    if not models:
        return
    table = Table(
        "model", "this hour", "today (UTC)", "last 24 h", "counted by", "cost today", "cost 24 h",
        title="Tokens",
    )  # fmt: skip
    for m in models:
        sources = ", ".join(f"{source} {tokens}" for source, tokens in sorted(m.by_source.items()))
        table.add_row(
            Text(m.model),
            str(m.this_hour),
            str(m.today),
            str(m.last_24_hours),
            Text(sources),
            _cost(m.cost_today),
            _cost(m.cost_last_24_hours),
        )
    ctx.console.print(table)


def show_budget(ctx: CommandContext, report: TokenReport) -> None:
    """The daily budget, when there is one, and whether it holds the workers."""
    if report.daily_budget is None:
        return
    line = f"Token budget: {report.used_today} of {report.daily_budget} used today (UTC)"
    if report.budget_resets_at is not None:
        line += f"; [yellow]spent[/], workers resume at {report.budget_resets_at:%Y-%m-%d %H:%M} UTC"
    ctx.console.print(line)


def _cost(value: float | None) -> str:
    # No price recorded for the model: EMBEDDING_PRICE_PER_MILLION_TOKENS was never set for it.
    return "-" if value is None else f"{value:.4g}"

"""How tokens, cost and the budget read in the CLI."""

from __future__ import annotations

from datetime import UTC, datetime

from rich.console import Console

from article_mcp.cli.common import CommandContext
from article_mcp.cli.token_views import show_budget, show_tokens
from article_mcp.config import load_settings
from article_mcp.queue.usage import ModelTokens, TokenReport


def model(price: float | None) -> ModelTokens:
    cost = None if price is None else 9000 * price / 1e6
    return ModelTokens(
        model_id=1,
        model="openai/[bold]odd-name",
        this_hour=120,
        today=5000,
        last_24_hours=9000,
        by_source={"estimated": 1000, "reported": 8000},
        price_per_million_tokens=price,
        cost_this_hour=cost,
        cost_today=cost,
        cost_last_24_hours=cost,
    )


def shown(draw: object) -> str:
    console = Console(width=160, record=True)
    ctx = CommandContext(load_settings(_env_file=None), console, Console(stderr=True))
    draw(ctx)  # type: ignore[operator]
    return console.export_text()


def test_tokens_show_per_model_with_sources_and_cost() -> None:
    text = shown(lambda ctx: show_tokens(ctx, [model(20.0)]))
    assert "openai/[bold]odd-name" in text  # a name from the database, never markup
    assert "estimated 1000, reported 8000" in text and "0.18" in text


def test_no_price_shows_no_cost_and_no_budget_shows_nothing() -> None:
    assert "-" in shown(lambda ctx: show_tokens(ctx, [model(None)]))
    off = TokenReport(daily_budget=None, used_today=5, budget_resets_at=None, models=[])
    assert shown(lambda ctx: show_budget(ctx, off)) == ""


def test_a_spent_budget_says_when_work_resumes() -> None:
    spent = TokenReport(
        daily_budget=5000, used_today=5012, budget_resets_at=datetime(2026, 12, 2, tzinfo=UTC), models=[]
    )
    text = shown(lambda ctx: show_budget(ctx, spent))
    assert "5012 of 5000 used today" in text and "resume at 2026-12-02 00:00 UTC" in text

"""Tokens the workers used, per model: this hour, today (UTC) and the last 24 hours, by where
the figure comes from (`reported` by the provider, `counted` with the model's tokenizer,
`estimated`), with the estimated cost at the price recorded for each model
(EMBEDDING_PRICE_PER_MILLION_TOKENS when it was configured). Also the daily budget's
figures: the day's total for the workers, and whether a live worker holds the queue for it.
"""

from __future__ import annotations

from datetime import datetime

import asyncpg
from pydantic import Field

from article_mcp.config import Settings
from article_mcp.db.pool import Connection
from article_mcp.db.rows import Frozen
from article_mcp.db.sql import Queries

QUERIES = Queries("article_mcp.queue", "usage.sql")

_WINDOWS = ("this_hour", "today", "last_24_hours")


class ModelTokens(Frozen):
    """One model's tokens and their estimated cost."""

    model_id: int
    model: str = Field(description="provider/model")
    this_hour: int = Field(description="tokens since the start of this UTC hour")
    today: int = Field(description="tokens since midnight UTC: what the daily budget counts")
    last_24_hours: int = Field(description="tokens in this UTC hour and the 23 before")
    by_source: dict[str, int] = Field(
        description="the last 24 hours' tokens by source: reported (the provider's usage), counted"
        " (the model's tokenizer here) or estimated (no usage reported)"
    )
    price_per_million_tokens: float | None = Field(description="as recorded for the model; None: unknown")
    cost_this_hour: float | None = Field(description="estimated, at that price; None without one")
    cost_today: float | None
    cost_last_24_hours: float | None


class TokenReport(Frozen):
    """Tokens per model, and the daily budget."""

    daily_budget: int | None = Field(description="EMBEDDING_DAILY_TOKEN_BUDGET; None when off")
    used_today: int = Field(description="tokens of every model since midnight UTC")
    budget_resets_at: datetime | None = Field(
        description="while the budget is spent: when the workers resume (midnight UTC)"
    )
    models: list[ModelTokens]


async def tokens_between(conn: Connection, start: datetime, end: datetime) -> int:
    """Tokens of every model recorded for the hours from `start` up to `end`."""
    tokens: int = await conn.fetchval(QUERIES["tokens_between"], start, end)
    return tokens


async def model_tokens(conn: Connection) -> list[ModelTokens]:
    """Per model with tokens this hour, today or in the last 24 hours."""
    rows = await conn.fetch(QUERIES["model_tokens"])
    by_model: dict[int, list[asyncpg.Record]] = {}
    for row in rows:
        by_model.setdefault(row["model_id"], []).append(row)
    return [_model(sources) for sources in by_model.values()]


def _model(sources: list[asyncpg.Record]) -> ModelTokens:
    """One model's rows (one per token source) as its figures."""
    first = sources[0]
    price: float | None = first["price_per_million_tokens"]
    totals = {window: sum(row[window] for row in sources) for window in _WINDOWS}
    costs = {f"cost_{w}": None if price is None else tokens * price / 1e6 for w, tokens in totals.items()}
    return ModelTokens(
        model_id=first["model_id"],
        model=first["model"],
        by_source={row["token_source"]: row["last_24_hours"] for row in sources},
        price_per_million_tokens=price,
        **totals,
        **costs,
    )


async def token_report(conn: Connection, settings: Settings) -> TokenReport:
    """Tokens per model, the day's total and the budget's hold, if any."""
    models = await model_tokens(conn)
    budget = settings.embedding_daily_token_budget
    held = await conn.fetchval(QUERIES["budget_hold"], settings.embedding_lease_ms)
    return TokenReport(
        daily_budget=budget or None,
        used_today=sum(m.today for m in models),
        budget_resets_at=held,
        models=models,
    )

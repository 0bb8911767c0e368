"""What switching to a model costs, before anything is queued (`article-mcp embeddings plan`).

Passages and tokens are those the model still lacks, each distinct text once (a text embedded
by a model is never sent again for it). Tokens are counted by the model's own tokenizer when
it runs here (the local provider), else estimated as chunk budgets are (passages/tokens.py),
and the plan says which. Time is from the throughput the workers measured
(performance_metrics); money from EMBEDDING_PRICE_PER_MILLION_TOKENS.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from article_mcp.config import Settings
from article_mcp.db.pool import Connection
from article_mcp.db.rows import Frozen, fetch_one
from article_mcp.embeddings.lifecycle import QUERIES
from article_mcp.embeddings.providers.local import LocalProvider
from article_mcp.embeddings.registry import ModelRecord, settings_for
from article_mcp.passages.chunking import embed_text

Counting = Literal["tokenizer", "estimate"]


class SwitchPlan(Frozen):
    """What embedding every article with one model still takes."""

    model: str = Field(description="provider/model")
    state: str
    articles: int = Field(description="articles lacking some vector of the model")
    passages: int = Field(description="distinct passage texts to embed")
    tokens: int = Field(description="tokens those texts make")
    counted_by: Counting = Field(description="`tokenizer`: the model's own; `estimate`: passages/tokens.py")
    tokens_per_second: float | None = Field(
        description="measured throughput of the workers of one process (None: nothing measured yet)"
    )
    seconds: float | None = Field(description="estimated time, None without a measured throughput")
    price_per_million_tokens: float | None
    cost: float | None = Field(description="estimated money, None without a price recorded for the model")


async def switch_plan(conn: Connection, settings: Settings, model: ModelRecord) -> SwitchPlan:
    """The plan for `model`; a local model's tokenizer is loaded to count its tokens."""
    texts = await fetch_one(conn, QUERIES["plan_texts"], model.id)
    tokens, counted_by = int(texts["tokens"]), "estimate"
    if model.provider == "local" and texts["passages"]:
        tokens, counted_by = await _tokenizer_count(conn, settings, model), "tokenizer"
    rate = await throughput(conn, settings, model.id)
    # The price recorded with the model (EMBEDDING_PRICE_PER_MILLION_TOKENS when it was configured).
    price = model.price_per_million_tokens
    return SwitchPlan(
        model=str(model.identity),
        state=model.state,
        articles=texts["articles"],
        passages=texts["passages"],
        tokens=tokens,
        counted_by=counted_by,
        tokens_per_second=rate,
        seconds=tokens / rate if rate else None,
        price_per_million_tokens=price,
        cost=None if price is None else tokens / 1_000_000 * price,
    )


async def throughput(conn: Connection, settings: Settings, model_id: int) -> float | None:
    """Tokens per second one process's workers embed for the model, as measured (None: not yet)."""
    per_worker: float | None = await conn.fetchval(QUERIES["throughput"], model_id)
    return per_worker * max(settings.embedding_concurrent_workers, 1) if per_worker else None


async def eta_seconds(conn: Connection, settings: Settings, model_id: int) -> float | None:
    """How long the model's missing vectors take at the measured throughput (estimated tokens)."""
    rate = await throughput(conn, settings, model_id)
    if rate is None:
        return None
    tokens: int = (await fetch_one(conn, QUERIES["plan_texts"], model_id))["tokens"]
    return tokens / rate


async def _tokenizer_count(conn: Connection, settings: Settings, model: ModelRecord) -> int:
    rows = await conn.fetch(QUERIES["plan_bodies"], model.id)
    bodies = [
        embed_text(r["title"], r["heading_path"], r["content"], max_tokens=settings.chunk_size) for r in rows
    ]
    provider = LocalProvider(settings_for(settings, model))
    try:
        return await provider.count_tokens(bodies)
    finally:
        await provider.aclose()

"""What both search benchmarks start from: a fresh database, the local model, its record."""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from article_mcp.config import Settings, load_settings
from article_mcp.db.pool import Database, open_database
from article_mcp.embeddings.providers import create_provider
from article_mcp.embeddings.providers.base import EmbeddingProvider
from article_mcp.embeddings.registry import HnswOptions, ModelRecord, ensure_model

CRANFIELD = Path(__file__).resolve().parents[1] / "data" / "cranfield"


@dataclass
class Bench:
    """Settings, an empty migrated database, the local provider and its model record."""

    settings: Settings
    db: Database
    provider: EmbeddingProvider
    model: ModelRecord


@asynccontextmanager
async def fresh_bench(database_url: str | None) -> AsyncIterator[Bench]:
    """A temporary embedded database (or `database_url`, which should be empty) and the local model."""
    with tempfile.TemporaryDirectory() as data_dir:
        overrides: dict[str, Any] = {"article_mcp_data_dir": Path(data_dir), "embedding_provider": "local"}
        if database_url:
            overrides["database_url"] = database_url
        settings = load_settings(**overrides)
        async with open_database(settings, migrate=True) as db:
            provider = create_provider(settings)
            try:
                hnsw = HnswOptions.from_settings(settings)
                async with db.pool.acquire() as conn:
                    model = await ensure_model(conn, provider, settings.embedding_model_name, hnsw=hnsw)
                yield Bench(settings, db, provider, model)
            finally:
                await provider.aclose()

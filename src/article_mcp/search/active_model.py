"""The model a search uses: the active one in the database, read at every search.

Never the one the settings name: while a new model builds, the settings name it, but search
keeps using the active model until `embeddings activate` switches it, in any process. A
search reads the active model once and uses only it, its vectors, its dimension and its
index, so no search mixes two models. The provider of a model other than the configured one
is rebuilt from its registry row (registry.settings_for) on first use and kept.

The model each search read is remembered (`last`): the next search makes its query vectors for
it before holding a connection, then reads the active model on the connection its statements
use, and makes them again only when that one is another (a switch since; see
SearchService.search).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from article_mcp.config import Settings
from article_mcp.db.pool import Connection, Database, pooled_connection
from article_mcp.embeddings import registry
from article_mcp.embeddings.providers import create_provider
from article_mcp.embeddings.providers.base import EmbeddingProvider
from article_mcp.embeddings.registry import ModelRecord
from article_mcp.embeddings.shared_limit import shared_limiter
from article_mcp.errors import ConfigError, ProviderError, SemanticUnavailableError
from article_mcp.search.fusion import Vector
from article_mcp.search.query_vectors import QueryEmbedder

DISABLED = "semantic search is disabled on this server (SEMANTIC_SEARCH_ENABLED=false)"


@dataclass(frozen=True, slots=True)
class QueryVectors:
    """One search's query vectors and the model they are of."""

    model: ModelRecord
    dimensions: int
    vectors: list[Vector]


class ActiveModels:
    """Query embedders per model, and the active model looked up per search."""

    def __init__(
        self, settings: Settings, db: Database, provider: EmbeddingProvider | None, model: ModelRecord | None
    ) -> None:
        self._settings = settings
        self._db = db
        self.enabled = settings.semantic_search_enabled and provider is not None and model is not None
        self._embedders: dict[int, QueryEmbedder] = {}
        # Providers built here, for models other than the configured one: closed by aclose.
        self._built: list[EmbeddingProvider] = []
        if self.enabled and provider is not None and model is not None:
            self._embedders[model.id] = self._embedder(provider)
        self._last: ModelRecord | None = None
        self._read = False

    async def current(self, conn: Connection | None = None) -> ModelRecord | None:
        """The active model (None when semantic search is off or no model is registered), read
        on `conn`, or on a pooled connection of its own; `last` returns it until the next read."""
        if not self.enabled:
            return None
        if conn is None:
            async with pooled_connection(self._db) as own:
                return await self.current(own)
        self._last, self._read = await registry.active_model(conn), True
        return self._last

    async def last(self) -> ModelRecord | None:
        """The active model as the latest read found it; read now if none has been made yet."""
        return self._last if self._read else await self.current()

    async def embed(self, model: ModelRecord | None, queries: Sequence[str]) -> QueryVectors:
        """The queries' vectors with `model` (the active one, from `current`).

        Raises SemanticUnavailableError when there are none to be had, saying why.
        """
        if not self.enabled:
            raise SemanticUnavailableError("disabled", DISABLED)
        if model is None:
            raise SemanticUnavailableError("not_embedded", "no embedding model is registered yet")
        if model.dimensions is None:
            raise SemanticUnavailableError(
                "not_embedded", f"nothing has been embedded with model {model.name} yet"
            )
        try:
            vectors = await self.embedder(model).embed(queries)
        except ProviderError as exc:
            raise SemanticUnavailableError(
                "provider_failed", f"the embedding provider failed: {exc.message}"
            ) from exc
        if any(len(v) != model.dimensions for v in vectors):
            # The model behind the name changed: its index stays as it is, and search says why.
            raise SemanticUnavailableError(
                "provider_failed",
                f"model {model.name} now returns {len(vectors[0])}-dimensional vectors but its stored"
                f" embeddings have {model.dimensions}; give the new model a name of its own and"
                " switch to it (`article-mcp embeddings plan`)",
            )
        return QueryVectors(model, model.dimensions, vectors)

    def embedder(self, model: ModelRecord) -> QueryEmbedder:
        """The query embedder of `model`, its provider rebuilt from its row when new here."""
        found = self._embedders.get(model.id)
        if found is None:
            try:
                rebuilt = registry.settings_for(self._settings, model)
                provider = create_provider(rebuilt, limiter=shared_limiter(rebuilt, self._db))
            except ConfigError as exc:
                raise SemanticUnavailableError(
                    "provider_failed",
                    f"the provider of the active model {model.identity} cannot be built: {exc}",
                ) from exc
            self._built.append(provider)
            found = self._embedders[model.id] = self._embedder(provider)
        return found

    async def aclose(self) -> None:
        """Close the providers built here."""
        for provider in self._built:
            await provider.aclose()
        self._built.clear()

    def _embedder(self, provider: EmbeddingProvider) -> QueryEmbedder:
        return QueryEmbedder(
            provider,
            ttl_s=self._settings.search_query_cache_ttl,
            size=self._settings.search_query_cache_size,
            timeout_s=self._settings.search_embed_timeout / 1000,
        )

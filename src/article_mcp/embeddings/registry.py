"""The registry of embedding models: one row per model identity (`ModelIdentity`: provider,
model, query prefix, document prefix), its state (building, active, retired: see
lifecycle.py), what rebuilds its provider, its price, its dimension learned from the model
itself, and a partial HNSW index per model built when the dimension is known. A prefix changes
what the vectors mean, so another prefix is another model, never vectors of two kinds in one
index.

Vectors of every model share `chunk_embeddings.embedding` (an untyped `vector`); each model's
index is on `embedding::halfvec(<dims>)` (half precision) WHERE `model_id = <id>`, so
searches must order by that same cast and filter to be served by it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import structlog

from article_mcp.config import Settings
from article_mcp.db.sql import Queries
from article_mcp.embeddings.providers.base import EmbeddingProvider
from article_mcp.errors import InvalidInputError, PermanentProviderError

if TYPE_CHECKING:
    from typing import TypeAlias

    import asyncpg
    from asyncpg.pool import PoolConnectionProxy

    from article_mcp.db.pool import Database

    # A connection of its own or one borrowed from the pool.
    Connection: TypeAlias = asyncpg.Connection[asyncpg.Record] | PoolConnectionProxy[asyncpg.Record]

log = structlog.get_logger(__name__)

QUERIES = Queries("article_mcp.embeddings", "registry.sql")

# pgvector stores vectors up to 16,000 dimensions, and builds HNSW indexes on `vector` up to 2,000.
MAX_DIMENSIONS = 16_000
MAX_INDEXED_DIMENSIONS = 2_000
PROBE_TEXT = "article-mcp probe: how long are this model's vectors?"


@dataclass(frozen=True, slots=True)
class HnswOptions:
    """How a model's HNSW index is built (HNSW_M, HNSW_EF_CONSTRUCTION)."""

    m: int = Settings.model_fields["hnsw_m"].default
    ef_construction: int = Settings.model_fields["hnsw_ef_construction"].default

    @classmethod
    def from_settings(cls, settings: Settings) -> HnswOptions:
        """The options the settings ask for."""
        return cls(m=settings.hnsw_m, ef_construction=settings.hnsw_ef_construction)


@dataclass(frozen=True, slots=True)
class ModelIdentity:
    """What tells one model's vectors from another's: the key of its registry row.

    Whatever changes the vectors of the same texts belongs here (and in the `ensure_model`
    query), so that changing it is a model change, a blue/green switch, never two kinds of
    vectors under one model.
    """

    provider: str
    name: str
    query_prefix: str = ""
    document_prefix: str = ""

    @classmethod
    def configured(cls, settings: Settings) -> ModelIdentity:
        """The identity of the model the settings select, with the prefixes in effect."""
        prefixes = settings.instruction_prefixes()
        return cls(
            settings.embedding_provider,
            settings.embedding_model_name,
            prefixes.query.text,
            prefixes.document.text,
        )

    def params(self) -> tuple[str, ...]:
        """The identity as the registry queries take it: their first parameters, in this order."""
        return (self.provider, self.name, self.query_prefix, self.document_prefix)

    def __str__(self) -> str:
        return f"{self.provider}/{self.name}"


@dataclass(frozen=True, slots=True)
class ModelRecord:
    """A registered embedding model; `dimensions` is None until learned."""

    id: int
    provider: str
    name: str
    dimensions: int | None
    # How its index is built once the dimension is known.
    hnsw: HnswOptions = HnswOptions()
    state: str = "active"
    # The base URL its provider was configured with (None for the local provider).
    base_url: str | None = None
    query_prefix: str = ""
    document_prefix: str = ""
    # EMBEDDING_PRICE_PER_MILLION_TOKENS as recorded for the model (None: unknown).
    price_per_million_tokens: float | None = None

    @property
    def identity(self) -> ModelIdentity:
        """The model's identity."""
        return ModelIdentity(self.provider, self.name, self.query_prefix, self.document_prefix)


def record_of(row: asyncpg.Record, hnsw: HnswOptions | None = None) -> ModelRecord:
    """The record of a registry row (the columns of the `ensure_model` query)."""
    price = row["price_per_million_tokens"]
    return ModelRecord(
        row["id"],
        row["provider"],
        row["name"],
        row["dimensions"],
        hnsw or HnswOptions(),
        row["state"],
        row["base_url"],
        query_prefix=row["query_prefix"],
        document_prefix=row["document_prefix"],
        price_per_million_tokens=None if price is None else float(price),
    )


def base_url_of(settings: Settings) -> str | None:
    """The base URL the settings give the configured provider (None for the local one)."""
    return {"ollama": settings.ollama_base_url, "openai": settings.openai_base_url}.get(
        settings.embedding_provider
    )


def settings_for(settings: Settings, model: ModelRecord) -> Settings:
    """The settings that rebuild `model`'s provider: provider, model, prefixes and base URL from its row,
    everything else (the API key included, which no row keeps) from `settings`."""
    update: dict[str, Any] = {
        "embedding_provider": model.provider,
        "embedding_model": model.name,
        # The row's own prefixes, never the settings' (they may be the new model's).
        "embedding_query_prefix": model.query_prefix,
        "embedding_document_prefix": model.document_prefix,
    }
    if model.base_url is not None and model.provider in ("ollama", "openai"):
        update[f"{model.provider}_base_url"] = model.base_url
    return settings.model_copy(update=update)


def hnsw_index_name(model_id: int) -> str:
    """The name of a model's HNSW index."""
    return f"chunk_embeddings_hnsw_{int(model_id)}"


async def ensure_model(
    conn: Connection,
    provider: EmbeddingProvider,
    name: str,
    *,
    hnsw: HnswOptions | None = None,
    base_url: str | None = None,
    price: float | None = None,
) -> ModelRecord:
    """The record of `provider`'s model `name` with the provider's prefixes, registered if new;
    rebuilds a missing index.

    A new model is `active` when no model is, else `building` (search keeps the active one).
    `base_url`, when given, is recorded as where its provider is reached from now on; `price`
    (per million tokens), when given, as its price.
    """
    prefixes = provider.prefixes
    identity = ModelIdentity(provider.name, name, prefixes.query.text, prefixes.document.text)
    # Under the lock of state changes: two first models registered at once would both be active.
    async with conn.transaction():
        await conn.execute(QUERIES["lock_states"])
        row = await conn.fetchrow(QUERIES["ensure_model"], *identity.params(), base_url, price)
    assert row is not None, "a registered model must be readable"
    model = record_of(row, hnsw)
    if model.dimensions is not None and not await _index_exists(conn, model.id):
        async with conn.transaction():
            await conn.execute(QUERIES["lock_model"], model.id)
            await _create_index(conn, model, model.dimensions)
    return model


async def configured_model(conn: Connection, provider: EmbeddingProvider, settings: Settings) -> ModelRecord:
    """The model the settings select (EMBEDDING_MODEL, its prefixes, HNSW options and price),
    registered if new: what `serve`, `worker` and the operator commands use."""
    return await ensure_model(
        conn,
        provider,
        settings.embedding_model_name,
        hnsw=HnswOptions.from_settings(settings),
        base_url=base_url_of(settings),
        price=settings.embedding_price_per_million_tokens,
    )


async def active_model(conn: Connection) -> ModelRecord | None:
    """The model search uses, None before any model is registered."""
    row = await conn.fetchrow(QUERIES["active_model"])
    return None if row is None else record_of(row)


async def live_models(conn: Connection) -> list[ModelRecord]:
    """The models writes embed for (active, building, retired within their grace), active first."""
    return [record_of(row) for row in await conn.fetch(QUERIES["live_models"])]


async def all_models(conn: Connection) -> list[ModelRecord]:
    """Every registered model, in id order."""
    return [record_of(row) for row in await conn.fetch(QUERIES["all_models"])]


async def find_model(conn: Connection, wanted: str) -> ModelRecord:
    """The registered model named `wanted` (`provider/model`, a model name only one provider
    has, or its id); InvalidInputError naming MODEL otherwise."""
    models = await all_models(conn)
    found = [m for m in models if wanted in (str(m.identity), m.name, str(m.id))]
    if len(found) == 1:
        return found[0]
    known = ", ".join(f"{m.id}: {m.identity}" for m in models) or "none yet"
    # Two rows of one provider/model differ in their prefixes: the id tells them apart.
    rule = (
        "names more than one model: write it as provider/model, or its id"
        if found
        else "is not a registered model"
    )
    raise InvalidInputError("MODEL", f"{wanted!r} {rule} (registered: {known})")


async def record_dimensions(conn: Connection, model: ModelRecord, dims: int) -> ModelRecord:
    """Record the model's dimension (first caller wins) and build its HNSW index.

    Raises PermanentProviderError when another dimension is recorded for the model.
    """
    if not 0 < dims <= MAX_DIMENSIONS:
        raise PermanentProviderError(
            f"model {model.name} returned {dims}-dimensional vectors; pgvector stores 1 to {MAX_DIMENSIONS}"
        )
    async with conn.transaction():
        await conn.execute(QUERIES["lock_model"], model.id)
        recorded = await recorded_dimensions(conn, model.id)
        if recorded is not None and recorded != dims:
            raise dimension_mismatch(model, recorded, dims)
        if recorded is None:
            await conn.execute(QUERIES["set_dimensions"], model.id, dims)
            log.info("model_dimensions_learned", model=model.name, provider=model.provider, dimensions=dims)
        await _create_index(conn, model, dims)
    return dataclasses.replace(model, dimensions=dims)


async def recorded_dimensions(conn: Connection, model_id: int) -> int | None:
    """The dimension learned for the model, None until its first vectors."""
    dims: int | None = await conn.fetchval(QUERIES["recorded_dimensions"], model_id)
    return dims


def check_dimensions(model: ModelRecord, dims: int) -> None:
    """Raise PermanentProviderError when vectors of `dims` do not match the model's record."""
    if model.dimensions is not None and dims != model.dimensions:
        raise dimension_mismatch(model, model.dimensions, dims)


def dimension_mismatch(model: ModelRecord, recorded: int, dims: int) -> PermanentProviderError:
    """The error for vectors whose length differs from the one recorded for their model."""
    return PermanentProviderError(
        f"{model.provider} model {model.name} returned {dims}-dimensional vectors, but its stored"
        f" vectors have {recorded}: the model behind this name changed. Set EMBEDDING_MODEL to a"
        " name of its own for the new model (its vectors are kept apart), or delete the old"
        " model's vectors before embedding again"
    )


async def probe_dimensions(provider: EmbeddingProvider) -> int:
    """Embed a short probe text to learn the length of the provider's vectors."""
    batch = await provider.embed([PROBE_TEXT])
    return len(batch.vectors[0])


async def learn_dimensions(db: Database, provider: EmbeddingProvider, model: ModelRecord) -> ModelRecord:
    """The model with its dimension known: probed (no connection held meanwhile) and recorded."""
    if model.dimensions is not None:
        return model
    dims = await probe_dimensions(provider)
    async with db.pool.acquire() as conn:
        return await record_dimensions(conn, model, dims)


async def ensure_index(conn: Connection, model: ModelRecord) -> None:
    """Build the model's index if its dimension is known and the index is missing."""
    dims = await recorded_dimensions(conn, model.id)
    if dims is not None:
        await conn.execute(QUERIES["lock_model"], model.id)
        await _create_index(conn, model, dims)


async def _index_exists(conn: Connection, model_id: int) -> bool:
    return bool(await conn.fetchval(QUERIES["index_exists"], hnsw_index_name(model_id)))


async def _create_index(conn: Connection, model: ModelRecord, dims: int) -> None:
    if dims > MAX_INDEXED_DIMENSIONS:
        # Still searchable, by exact scan; slower on large collections.
        log.warning("model_not_indexed", model=model.name, dimensions=dims, limit=MAX_INDEXED_DIMENSIONS)
        return
    if await _index_exists(conn, model.id):
        return
    values = {
        "index": hnsw_index_name(model.id),
        "model_id": int(model.id),
        "dims": int(dims),
        "m": int(model.hnsw.m),
        "ef_construction": int(model.hnsw.ef_construction),
    }
    sql = QUERIES["create_hnsw_index"]
    for key, value in values.items():
        sql = sql.replace("{" + key + "}", str(value))
    await conn.execute(sql)
    log.info("model_index_built", model=model.name, index=values["index"], dimensions=dims)

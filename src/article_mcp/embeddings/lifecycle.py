"""Blue/green model switches: a new model builds beside the active one, search moves to it in
one transaction, and the model it replaces retires.

- `building`: registered while another model is active (a new EMBEDDING_MODEL, or `embeddings
  build` of a retired one). Writes embed for it too; search does not use it.
- `active`: the one model search uses (a partial unique index keeps it one). `activate`
  refuses a model that still lacks vectors for some article, with the count, unless forced.
- `retired`: the model an activation replaced. For EMBEDDING_RETIRED_GRACE_HOURS writes still
  embed for it (so activating it again, the rollback, is instant and complete) and `prune`
  refuses it; after that `prune` deletes its vectors and its index.

Every change runs in one transaction under the registry's lock of model states.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from article_mcp.db.pool import Connection
from article_mcp.db.rows import Frozen, fetch_one
from article_mcp.db.sql import Queries
from article_mcp.embeddings import registry
from article_mcp.embeddings.registry import QUERIES as REGISTRY
from article_mcp.embeddings.registry import ModelRecord
from article_mcp.errors import ConflictError

QUERIES = Queries("article_mcp.embeddings", "lifecycle.sql")


class Activation(Frozen):
    """What an activation did."""

    model: str = Field(description="provider/model now active")
    previous: str | None = Field(description="provider/model it replaced, now retired (None: it was active)")
    missing: int = Field(description="articles the model had no vectors for (only with --force)")


class Pruned(Frozen):
    """What a prune removed."""

    model: str
    vectors: int = Field(description="vectors deleted")
    index: str = Field(description="the HNSW index dropped")


async def missing_articles(conn: Connection, model_id: int) -> int:
    """Articles (not no_rag) with a current passage that has no vector of the model."""
    count: int = await conn.fetchval(QUERIES["missing_articles"], model_id)
    return count


async def activate(conn: Connection, model: ModelRecord, *, force: bool, grace_hours: float) -> Activation:
    """Make `model` the one search uses, retiring the active one (kept current `grace_hours`).

    Refused (ConflictError, with the count) while the model lacks vectors for some article,
    unless `force`: hybrid search then finds those articles by full text alone, and says so.
    """
    async with conn.transaction():
        await conn.execute(REGISTRY["lock_states"])
        current = await registry.active_model(conn)
        if current is not None and current.id == model.id:
            return Activation(model=str(model.identity), previous=None, missing=0)
        missing = await missing_articles(conn, model.id)
        if missing and not force:
            raise ConflictError(
                f"{model.identity} has no vectors yet for {missing} articles: wait for `article-mcp"
                " embeddings status` to show it complete, or activate it with --force (search then"
                " finds those articles by full text alone)"
            )
        await conn.fetchval(QUERIES["retire_active"], grace_hours)
        await conn.execute(QUERIES["set_active"], model.id)
        # A model pruned and activated again needs its index back.
        await registry.ensure_index(conn, model)
    previous = None if current is None else str(current.identity)
    return Activation(model=str(model.identity), previous=previous, missing=missing)


async def auto_activate(conn: Connection, model: ModelRecord, *, grace_hours: float) -> Activation | None:
    """EMBEDDING_AUTO_ACTIVATE: activate the building `model` once it covers every article."""
    current = await registry.active_model(conn)
    if current is None or current.id == model.id or model.state != "building":
        return None
    if await missing_articles(conn, model.id):
        return None
    try:
        return await activate(conn, model, force=False, grace_hours=grace_hours)
    except ConflictError:
        # A write arrived between the two counts: the next check tries again.
        return None


async def start_building(conn: Connection, model: ModelRecord) -> None:
    """A retired model builds again (writes embed for it; only what it lacks is sent)."""
    async with conn.transaction():
        await conn.execute(REGISTRY["lock_states"])
        await conn.execute(QUERIES["set_building"], model.id)


async def prune(conn: Connection, model: ModelRecord) -> Pruned:
    """Delete a retired model's vectors and drop its index, once its grace period is over."""
    index = registry.hnsw_index_name(model.id)
    async with conn.transaction():
        await conn.execute(REGISTRY["lock_states"])
        row = await fetch_one(conn, QUERIES["prunable"], model.id)
        if row["state"] != "retired":
            raise ConflictError(f"{model.identity} is {row['state']}: only a retired model can be pruned")
        if row["warm"]:
            until: datetime = row["keep_warm_until"]
            raise ConflictError(
                f"{model.identity} may still be rolled back to until {until:%Y-%m-%d %H:%M %Z}"
                " (EMBEDDING_RETIRED_GRACE_HOURS): prune it after that"
            )
        vectors: int = await conn.fetchval(QUERIES["prune_vectors"], model.id)
        await conn.execute(QUERIES["drop_index"].replace("{index}", index))
    return Pruned(model=str(model.identity), vectors=vectors, index=index)

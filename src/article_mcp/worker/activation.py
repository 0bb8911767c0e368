"""EMBEDDING_AUTO_ACTIVATE: the pool of a building model activates it once it covers every
article, checked at every heartbeat until the model is no longer building (activated here or
by anyone else, or retired)."""

from __future__ import annotations

import anyio
import structlog

from article_mcp.config import Settings
from article_mcp.db.pool import Database
from article_mcp.embeddings import lifecycle
from article_mcp.embeddings.registry import ModelRecord, all_models
from article_mcp.errors import describe

log = structlog.get_logger(__name__)


async def auto_activate_loop(settings: Settings, db: Database, model: ModelRecord, seconds: float) -> None:
    """Check every `seconds`; return once the model is active or stops building."""
    while True:
        await anyio.sleep(seconds)
        try:
            if await _check(settings, db, model):
                return
        except Exception as exc:
            log.warning("auto_activate_failed", model=str(model.identity), error=describe(exc))


async def _check(settings: Settings, db: Database, model: ModelRecord) -> bool:
    """True when there is nothing more to do."""
    async with db.pool.acquire() as conn:
        current = next((m for m in await all_models(conn) if m.id == model.id), None)
        if current is None or current.state != "building":
            return True
        done = await lifecycle.auto_activate(
            conn, current, grace_hours=settings.embedding_retired_grace_hours
        )
    if done is None:
        return False
    log.info("model_activated", model=done.model, previous=done.previous, by="EMBEDDING_AUTO_ACTIVATE")
    return True

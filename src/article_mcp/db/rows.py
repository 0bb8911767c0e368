"""What rows become: the one frozen base of the models services return, and a one-row fetch."""

from __future__ import annotations

from typing import Any

import asyncpg
from pydantic import BaseModel, ConfigDict

from article_mcp.db.pool import Connection
from article_mcp.errors import ConflictError


class Frozen(BaseModel):
    """Base of every model a service returns: immutable, built from database rows."""

    model_config = ConfigDict(frozen=True)


async def fetch_one(conn: Connection, sql: str, *args: Any) -> asyncpg.Record:
    """The one row a statement returns (every query given here returns exactly one)."""
    try:
        row = await conn.fetchrow(sql, *args)
    except asyncpg.UniqueViolationError as exc:
        # A write enqueued a pending task for the same article in between: nothing changed.
        raise ConflictError("the queue changed during the command; run it again") from exc
    assert row is not None
    return row

"""Database access: the asyncpg pool with the pgvector and jsonb codecs, and connections from it.

The address comes from `embedded.database_address`: DATABASE_URL, or the embedded server.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeAlias, cast

import asyncpg
import structlog
from asyncpg.pool import PoolConnectionProxy
from pgvector.asyncpg import register_vector

from article_mcp.config import Settings, redact_url
from article_mcp.db.embedded import database_address
from article_mcp.errors import DatabaseUnavailableError, describe

log = structlog.get_logger(__name__)

# Errors that mean "the server is not there (now)", as opposed to a bad query.
CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    asyncpg.CannotConnectNowError,
    asyncpg.ConnectionDoesNotExistError,
    asyncpg.ConnectionFailureError,
    asyncpg.InterfaceError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    TimeoutError,
)

# A connection of its own or one borrowed from the pool: what query functions accept.
Connection: TypeAlias = asyncpg.Connection | PoolConnectionProxy


@dataclass(frozen=True, slots=True)
class Database:
    """An open connection pool and the address it was opened with."""

    pool: asyncpg.Pool
    dsn: str

    @property
    def display_dsn(self) -> str:
        """The address with any password hidden."""
        return redact_url(self.dsn)


@asynccontextmanager
async def open_database(
    settings: Settings, *, migrate: bool = False, min_size: int = 1, max_size: int | None = None
) -> AsyncIterator[Database]:
    """Start (or find) the server, optionally apply pending migrations, and open a pool."""
    async with database_address(settings) as dsn:
        if migrate:
            from article_mcp.db.migrate import migrate_to_latest

            await migrate_to_latest(dsn)
        pool = await create_pool(dsn, min_size=min_size, max_size=max_size or settings.database_pool_size)
        try:
            yield Database(pool=pool, dsn=dsn)
        finally:
            await pool.close()


async def create_pool(dsn: str, *, min_size: int = 1, max_size: int = 10) -> asyncpg.Pool:
    """A pool whose connections know the vector type (when the schema has it)."""
    try:
        pool = await asyncpg.create_pool(dsn, min_size=min_size, max_size=max_size, init=_init_connection)
    except CONNECTION_ERRORS as exc:
        raise unavailable(dsn, exc) from exc
    assert pool is not None
    return pool


async def connect(dsn: str) -> asyncpg.Connection:
    """One connection outside the pool (migrations, LISTEN), with the same codecs."""
    try:
        conn = await asyncpg.connect(dsn)
    except CONNECTION_ERRORS as exc:
        raise unavailable(dsn, exc) from exc
    await _init_connection(conn)
    return conn


async def _init_connection(conn: asyncpg.Connection) -> None:
    has_vector = await conn.fetchval("SELECT to_regtype('public.vector') IS NOT NULL")
    if has_vector:
        await register_vector(conn)
    await conn.set_type_codec("jsonb", encoder=_json_dumps, decoder=_json_loads, schema="pg_catalog")


def _json_dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), default=str)


def _json_loads(value: str) -> Any:
    return json.loads(value)


def unavailable(dsn: str, exc: BaseException) -> DatabaseUnavailableError:
    """The error to raise when the server cannot be reached, without secrets."""
    reason = describe(exc)
    return DatabaseUnavailableError(f"cannot reach the database at {redact_url(dsn)}: {reason}")


@asynccontextmanager
async def pooled_connection(db: Database, *, transaction: bool = False) -> AsyncIterator[asyncpg.Connection]:
    """A pooled connection (in a transaction if asked), a lost database translated."""
    try:
        async with db.pool.acquire() as proxy:
            # The pool hands out a proxy that behaves as the connection it wraps.
            conn = cast(asyncpg.Connection, proxy)
            if not transaction:
                yield conn
                return
            async with conn.transaction():
                yield conn
    except CONNECTION_ERRORS as exc:
        raise unavailable(db.dsn, exc) from exc

"""Database access: the asyncpg pool with the pgvector and jsonb codecs, and connections from it.

The address comes from `embedded.database_address`: DATABASE_URL, or the embedded server.
"""

from __future__ import annotations

import contextlib
import json
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeAlias, cast

import anyio
import anyio.from_thread
import anyio.lowlevel
import asyncpg
import structlog
from anyio.lowlevel import EventLoopToken
from asyncpg.pool import PoolConnectionProxy
from pgvector.asyncpg import register_vector

from article_mcp.config import PoolMode, Settings, redact_url
from article_mcp.db.embedded import database_address, on_shutdown
from article_mcp.db.pooler import connect_options, pool_options
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
    # A connection whose server died mid-exchange can be left in a protocol state no new
    # operation may start from ("cannot switch to state ..."): it is as lost as a closed one.
    asyncpg.InternalClientError,
    TimeoutError,
)

# Connections outside the pool (`connect`): the listener's, migrations'. A shutdown closes the
# idle ones, like the pool's.
_DEDICATED: weakref.WeakSet[asyncpg.Connection] = weakref.WeakSet()

# A connection of its own or one borrowed from the pool: what query functions accept.
Connection: TypeAlias = asyncpg.Connection | PoolConnectionProxy


@dataclass(frozen=True, slots=True)
class Database:
    """An open connection pool and the address it was opened with."""

    pool: asyncpg.Pool
    dsn: str
    mode: PoolMode = "session"
    # DATABASE_DIRECT_URL in transaction mode: the same database without the pooler.
    direct_dsn: str | None = None

    @property
    def display_dsn(self) -> str:
        """The address with any password hidden."""
        return redact_url(self.dsn)

    @property
    def listen_dsn(self) -> str | None:
        """Where LISTEN works: the pool's own address in session mode, the direct address in
        transaction mode, or nowhere (None: listeners poll instead)."""
        return self.dsn if self.mode == "session" else self.direct_dsn


@asynccontextmanager
async def open_database(
    settings: Settings, *, migrate: bool = False, min_size: int = 1, max_size: int | None = None
) -> AsyncIterator[Database]:
    """Start (or find) the server, optionally apply pending migrations, and open a pool."""
    async with database_address(settings) as dsn:
        mode, direct = settings.database_pool_mode, direct_address(settings)
        if migrate:
            from article_mcp.db.migrate import migrate_to_latest

            address, migration_mode = migration_address(settings, dsn)
            await migrate_to_latest(address, mode=migration_mode)
        size = max_size or settings.database_pool_size
        pool = await create_pool(dsn, min_size=min_size, max_size=size, mode=mode)
        token = anyio.lowlevel.current_token()
        remove_hook = on_shutdown(dsn, lambda: _close_idle_from_thread(pool, token))
        try:
            yield Database(pool=pool, dsn=dsn, mode=mode, direct_dsn=direct)
        finally:
            remove_hook()
            await pool.close()


async def close_idle(pool: asyncpg.Pool) -> None:
    """Close the pool's idle connections now and the others when released (the server is
    shutting down: a smart shutdown waits for every session to end)."""
    await pool.expire_connections()
    for _ in range(pool.get_idle_size()):
        # Acquiring an expired idle connection closes it; its replacement is refused meanwhile.
        with contextlib.suppress(*CONNECTION_ERRORS, asyncpg.PostgresError):
            async with pool.acquire(timeout=1):
                pass
    for conn in list(_DEDICATED):
        if not conn.is_closed() and not conn.is_in_transaction():
            conn.terminate()


def _close_idle_from_thread(pool: asyncpg.Pool, token: EventLoopToken) -> None:
    # Called from the supervisor's thread; an event loop already gone has nothing to close.
    with contextlib.suppress(Exception):
        anyio.from_thread.run(close_idle, pool, token=token)


def direct_address(settings: Settings) -> str | None:
    """DATABASE_DIRECT_URL in transaction mode (the way around the pooler), else None."""
    if settings.database_pool_mode == "session" or settings.database_direct_url is None:
        return None
    return settings.database_direct_url.get_secret_value()


def migration_address(settings: Settings, dsn: str) -> tuple[str, PoolMode]:
    """Where migrations run, and in which mode: around the pooler when there is a way."""
    direct = direct_address(settings)
    return (direct, "session") if direct else (dsn, settings.database_pool_mode)


async def create_pool(
    dsn: str, *, min_size: int = 1, max_size: int = 10, mode: PoolMode = "session"
) -> asyncpg.Pool:
    """A pool whose connections know the vector type (when the schema has it), made for the
    pool mode of the server at `dsn` (`pooler.py`)."""
    try:
        pool = await asyncpg.create_pool(
            dsn, min_size=min_size, max_size=max_size, init=_init_connection, **pool_options(mode)
        )
    except CONNECTION_ERRORS as exc:
        raise unavailable(dsn, exc) from exc
    assert pool is not None
    return pool


async def connect(dsn: str, *, mode: PoolMode = "session") -> asyncpg.Connection:
    """One connection outside the pool (migrations, LISTEN), with the same codecs."""
    try:
        conn: asyncpg.Connection = await asyncpg.connect(dsn, **connect_options(mode))
    except CONNECTION_ERRORS as exc:
        raise unavailable(dsn, exc) from exc
    await _init_connection(conn)
    _DEDICATED.add(conn)
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

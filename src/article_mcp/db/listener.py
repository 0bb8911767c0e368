"""LISTEN on one channel over a connection of its own, reconnecting when it is lost.

Workers listen on `embedding_tasks` to wake at once; the MCP server listens on
`articles_embedded` to tell subscribed clients. The connection is checked every
`check_seconds`, so a dead one (server restarted, network cut) is noticed and replaced.
`on_connect` runs after each (re)connection: notifications sent while there was none were
lost, and the caller decides what makes up for them.
"""

from __future__ import annotations

from collections.abc import Callable

import anyio
import asyncpg
import structlog

from article_mcp.db.pool import connect
from article_mcp.errors import DatabaseUnavailableError, describe

log = structlog.get_logger(__name__)

# Waits between reconnection tries, doubling from the first up to the check interval.
FIRST_RECONNECT_SECONDS = 0.2
# How often an idle listening connection is checked, unless the caller says otherwise.
CHECK_SECONDS = 10.0


async def listen(
    dsn: str,
    channel: str,
    on_notify: Callable[[str], None],
    *,
    on_connect: Callable[[], None] | None = None,
    check_seconds: float = CHECK_SECONDS,
) -> None:
    """Call `on_notify(payload)` on every notification on `channel`, forever; survives lost
    connections."""
    delay = FIRST_RECONNECT_SECONDS
    connected_before = False
    while True:
        try:
            conn = await connect(dsn)
        except DatabaseUnavailableError as exc:
            log.warning("listener_unavailable", channel=channel, error=exc.message)
            await anyio.sleep(delay)
            delay = min(delay * 2, check_seconds)
            continue
        delay = FIRST_RECONNECT_SECONDS
        if connected_before:
            log.info("listener_reconnected", channel=channel)
        connected_before = True
        try:
            await _hold(conn, channel, on_notify, on_connect, check_seconds)
        except Exception as exc:
            # Whatever went wrong, a new connection is the way on; listeners poll meanwhile.
            log.warning("listener_lost", channel=channel, error=describe(exc))
            await anyio.sleep(delay)
        finally:
            conn.terminate()


async def _hold(
    conn: asyncpg.Connection,
    channel: str,
    on_notify: Callable[[str], None],
    on_connect: Callable[[], None] | None,
    check_seconds: float,
) -> None:
    """Listen on one connection until it is lost (noticed at once, or by the periodic check)."""
    lost = anyio.Event()
    conn.add_termination_listener(lambda _: lost.set())
    await conn.add_listener(channel, lambda _conn, _pid, _channel, payload: on_notify(payload))
    if on_connect is not None:
        on_connect()
    while not lost.is_set():
        with anyio.move_on_after(check_seconds):
            await lost.wait()
        if not lost.is_set():
            with anyio.fail_after(max(check_seconds, 1.0)):
                await conn.fetchval("SELECT 1")
    log.warning("listener_lost", channel=channel)

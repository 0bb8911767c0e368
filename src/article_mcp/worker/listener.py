"""LISTEN on `embedding_tasks` over a connection of its own, reconnecting when it is lost.

A notification wakes the workers at once. The connection is checked every poll interval, so a
dead one (server restarted, network cut) is noticed and replaced; after each (re)connection the
workers are woken too, since notifications sent meanwhile were lost.
"""

from __future__ import annotations

from collections.abc import Callable

import anyio
import asyncpg
import structlog

from article_mcp.db.pool import connect
from article_mcp.errors import DatabaseUnavailableError, describe
from article_mcp.queue.tasks import NOTIFY_CHANNEL

log = structlog.get_logger(__name__)

# Waits between reconnection tries, doubling from the first up to the poll interval.
FIRST_RECONNECT_SECONDS = 0.2


async def listen(dsn: str, wake: Callable[[], None], check_seconds: float) -> None:
    """Call `wake` on every notification, forever; survives lost connections."""
    delay = FIRST_RECONNECT_SECONDS
    connected_before = False
    while True:
        try:
            conn = await connect(dsn)
        except DatabaseUnavailableError as exc:
            log.warning("listener_unavailable", error=exc.message)
            await anyio.sleep(delay)
            delay = min(delay * 2, check_seconds)
            continue
        delay = FIRST_RECONNECT_SECONDS
        if connected_before:
            log.info("listener_reconnected")
        connected_before = True
        try:
            await _hold(conn, wake, check_seconds)
        except Exception as exc:
            # Whatever went wrong, a new connection is the way on; the workers poll meanwhile.
            log.warning("listener_lost", error=describe(exc))
            await anyio.sleep(delay)
        finally:
            conn.terminate()


async def _hold(conn: asyncpg.Connection, wake: Callable[[], None], check_seconds: float) -> None:
    """Listen on one connection until it is lost (noticed at once, or by the periodic check)."""
    lost = anyio.Event()
    conn.add_termination_listener(lambda _: lost.set())
    await conn.add_listener(NOTIFY_CHANNEL, lambda *_: wake())
    wake()
    while not lost.is_set():
        with anyio.move_on_after(check_seconds):
            await lost.wait()
        if not lost.is_set():
            with anyio.fail_after(max(check_seconds, 1.0)):
                await conn.fetchval("SELECT 1")
    log.warning("listener_lost")

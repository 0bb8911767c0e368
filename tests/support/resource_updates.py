"""Receiving resource-updated notifications in a test, whatever the transport."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import anyio
from mcp.client.session import IncomingMessage
from mcp.shared.exceptions import MCPDeprecationWarning
from mcp_types import ResourceUpdatedNotification

from tests.support.worker_runs import SETTLE_LIMIT


class Inbox:
    """The resource-updated URIs a handshake-era client receives, in order (a message handler)."""

    def __init__(self) -> None:
        self._send, self._received = anyio.create_memory_object_stream[str](100)

    async def __call__(self, message: IncomingMessage) -> None:
        if isinstance(message, ResourceUpdatedNotification):
            await self._send.send(message.params.uri)

    async def next_uri(self) -> str:
        """The next URI announced (waiting for it, bounded)."""
        with anyio.fail_after(SETTLE_LIMIT):
            return await self._received.receive()

    @property
    def waiting(self) -> int:
        """How many URIs arrived that no `next_uri` has taken yet."""
        return self._received.statistics().current_buffer_used

    def __enter__(self) -> Inbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self._send.close()
        self._received.close()


@contextmanager
def handshake_era() -> Iterator[None]:
    """resources/subscribe is deprecated by the 2026-07-28 protocol, not by the clients of today."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MCPDeprecationWarning)
        yield

"""The stdio transport: one JSON-RPC message per line in, one per line out, every line answered.

It replaces the SDK's `stdio_server`, whose reader drops a line it cannot validate (the client
hangs waiting): here `server.wire.read_line` turns such a line into its error response, sent
back at once and logged at warning, and the server goes on serving. Blank lines carry no
message and are skipped.

While serving, fd 0 reads the null device and fd 1 writes to stderr (as the SDK's transport
does), so a library that prints to stdout cannot corrupt the protocol; the wire is served
from private duplicates, and both descriptors are restored at exit.
"""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import BinaryIO

import anyio
import structlog
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from mcp.shared.message import SessionMessage

from article_mcp.server.app import ArticleServer
from article_mcp.server.sdk import serve_connection
from article_mcp.server.wire import Refused, read_line

log = structlog.get_logger(__name__)

WriteLine = Callable[[bytes], Awaitable[None]]
Streams = tuple[MemoryObjectReceiveStream[SessionMessage | Exception], MemoryObjectSendStream[SessionMessage]]


async def serve_stdio(server: ArticleServer) -> None:
    """Serve one client on this process's stdin and stdout until stdin closes."""
    with _claimed_stdio() as (wire_in, wire_out):
        stdout = anyio.wrap_file(wire_out)

        async def write_line(data: bytes) -> None:
            await stdout.write(data)
            await stdout.flush()

        async with message_streams(anyio.wrap_file(wire_in), write_line) as (read, write):
            await serve_connection(server, read, write)


@asynccontextmanager
async def message_streams(lines: AsyncIterable[bytes], write_line: WriteLine) -> AsyncIterator[Streams]:
    """The server's read and write streams over these lines; refused lines answered directly."""
    read_send, read_recv = anyio.create_memory_object_stream[SessionMessage | Exception](0)
    write_send, write_recv = anyio.create_memory_object_stream[SessionMessage](0)

    async def reader() -> None:
        async with read_send:
            async for line in lines:
                if not line.strip():
                    continue
                read = read_line(line)
                if isinstance(read, Refused):
                    log.warning("stdio_line_refused", reason=read.reason, code=read.response.error.code)
                    await write_send.send(SessionMessage(read.response))
                else:
                    await read_send.send(SessionMessage(read))

    async def writer() -> None:
        async with write_recv:
            async for outgoing in write_recv:
                data = outgoing.message.model_dump_json(by_alias=True, exclude_unset=True)
                await write_line(data.encode() + b"\n")

    async with read_recv, write_send, anyio.create_task_group() as tg:
        tg.start_soon(reader)
        tg.start_soon(writer)
        yield read_recv, write_send
        tg.cancel_scope.cancel()


@contextmanager
def _claimed_stdio() -> Iterator[tuple[BinaryIO, BinaryIO]]:
    """The wire's stdin and stdout, with fds 0 and 1 diverted while they are served."""
    if not _backed_by(sys.stdin, 0) or not _backed_by(sys.stdout, 1):
        yield sys.stdin.buffer, sys.stdout.buffer
        return
    wire_in, wire_out = os.dup(0), os.dup(1)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    os.dup2(2, 1)
    try:
        # closefd=False: a worker thread may still block reading the wire after we return, so
        # its descriptor must not be closed and reused under it.
        yield os.fdopen(wire_in, "rb", closefd=False), os.fdopen(wire_out, "wb", closefd=False)
    finally:
        os.dup2(wire_in, 0)
        os.dup2(wire_out, 1)


def _backed_by(stream: object, fd: int) -> bool:
    try:
        return stream.buffer.fileno() == fd  # type: ignore[attr-defined,no-any-return]
    except (AttributeError, OSError, ValueError):
        return False

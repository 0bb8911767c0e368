"""A raw JSON-RPC session with `article-mcp serve` over its real stdio: lines in, replies out."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
from anyio.abc import Process

from tests.conftest import ARTICLE_MCP, cli_env

REPLY_LIMIT = 60


@dataclass
class StdioSession:
    """The server process and what it has written to stdout but not yet been read."""

    process: Process
    pending: bytes = b""
    stderr: list[bytes] = field(default_factory=list)
    stderr_closed: anyio.Event = field(default_factory=anyio.Event)

    async def write(self, data: bytes) -> None:
        assert self.process.stdin is not None
        await self.process.stdin.send(data)

    async def send_line(self, line: bytes) -> dict[str, Any]:
        """Send one line; the next response (notifications the server sends are skipped)."""
        await self.write(line + b"\n")
        return await self.response()

    async def request(self, message: dict[str, Any]) -> dict[str, Any]:
        reply = await self.send_line(json.dumps(message).encode())
        assert reply.get("id") == message["id"], reply
        return reply

    async def notify(self, message: dict[str, Any]) -> None:
        await self.write(json.dumps(message).encode() + b"\n")

    async def response(self) -> dict[str, Any]:
        with anyio.fail_after(REPLY_LIMIT):
            while True:
                message = json.loads(await self._line())
                if "method" not in message:
                    return dict(message)

    async def _line(self) -> bytes:
        assert self.process.stdout is not None
        while b"\n" not in self.pending:
            self.pending += await self.process.stdout.receive()
        line, self.pending = self.pending.split(b"\n", 1)
        return line

    async def close(self) -> list[str]:
        """Close stdin (the client leaves), wait for a clean exit; the server's log lines."""
        assert self.process.stdin is not None
        await self.process.stdin.aclose()
        with anyio.fail_after(REPLY_LIMIT):
            await self.stderr_closed.wait()
            logs = b"".join(self.stderr).decode()
            assert await self.process.wait() == 0, logs
        return [line for line in logs.splitlines() if line.startswith("{")]

    async def drain_stderr(self) -> None:
        """Keep the server's stderr read, so that its logging never blocks on a full pipe."""
        assert self.process.stderr is not None
        async for chunk in self.process.stderr:
            self.stderr.append(chunk)
        self.stderr_closed.set()


@asynccontextmanager
async def stdio_session(database_url: str, tmp_path: Path, **env: str) -> AsyncIterator[StdioSession]:
    """`article-mcp serve` (stdio, no embeddings, JSON logs) as a subprocess."""
    settings: dict[str, str | Path] = {
        "DATABASE_URL": database_url,
        "ARTICLE_MCP_DATA_DIR": tmp_path / "data",
        "SEMANTIC_SEARCH_ENABLED": "false",
        "LOG_FORMAT": "json",
        **env,
    }
    command = [*ARTICLE_MCP, "serve"]
    async with (
        await anyio.open_process(command, env=cli_env(**settings)) as process,
        anyio.create_task_group() as tg,
    ):
        session = StdioSession(process)
        tg.start_soon(session.drain_stderr)
        yield session
        tg.cancel_scope.cancel()

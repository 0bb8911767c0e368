"""Over the real stdio transport, every line gets an answer: what the SDK's reader dropped
(garbage, a lone surrogate, JSON nested 5,000 levels, `"jsonrpc": "1.0"`) is answered with a
JSON-RPC error, logged at warning, and the server keeps serving."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.stdio_wire import stdio_session

pytestmark = pytest.mark.anyio

INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 0,
    "method": "initialize",
    "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw"}},
}


async def test_every_refused_line_is_answered_and_the_server_keeps_serving(
    database_url: str, tmp_path: Path
) -> None:
    lone_surrogate = (
        '{"jsonrpc": "2.0", "id": 11, "method": "tools/call",'
        ' "params": {"name": "get_article", "arguments": {"slug": "a\\ud800b"}}}'
    )
    refused: list[tuple[str, int, int | None]] = [
        ("this line is not JSON", -32700, None),
        (lone_surrogate, -32602, 11),
        ("[" * 5000 + "]" * 5000, -32700, None),
        (
            '{"jsonrpc": "2.0", "id": 12, "method": "ping", "params": ' + "[" * 5000 + "]" * 5000 + "}",
            -32700,
            None,
        ),
        ('{"jsonrpc": "1.0", "id": 13, "method": "ping"}', -32600, 13),
        ('[{"jsonrpc": "2.0", "id": 14, "method": "ping"}]', -32600, None),
        ('{"jsonrpc": "2.0", "id": {"no": 1}, "method": "ping"}', -32600, None),
    ]
    async with stdio_session(database_url, tmp_path) as session:
        await session.request(INITIALIZE)
        await session.notify({"jsonrpc": "2.0", "method": "notifications/initialized"})
        for line, code, request_id in refused:
            reply = await session.send_line(line.encode())
            assert reply["error"]["code"] == code, (line[:80], reply)
            assert reply["id"] == request_id, (line[:80], reply)
        surrogate_reply = await session.send_line(lone_surrogate.encode())
        assert "params.arguments.slug" in surrogate_reply["error"]["message"]
        # Invalid UTF-8 bytes are a parse error too, not a silently replaced character.
        assert (await session.send_line(b'{"jsonrpc": "2.0", "id": 15, "method": "\xff"}'))["error"][
            "code"
        ] == -32700
        # And the server still serves.
        assert (await session.request({"jsonrpc": "2.0", "id": 20, "method": "ping"}))["result"] == {}
        logs = await session.close()
    warnings = [e for e in map(json.loads, logs) if e.get("event") == "stdio_line_refused"]
    assert len(warnings) == len(refused) + 2
    assert all(e["level"] == "warning" for e in warnings)


async def test_a_blank_line_is_skipped_not_answered(database_url: str, tmp_path: Path) -> None:
    async with stdio_session(database_url, tmp_path) as session:
        await session.write(b"\n   \n")
        assert (await session.request({"jsonrpc": "2.0", "id": 1, "method": "ping"}))["id"] == 1

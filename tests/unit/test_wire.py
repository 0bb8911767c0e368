"""Each line off the stdio wire is a message or the error response that answers it."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st
from mcp_types import JSONRPCRequest

from article_mcp.server.wire import Refused, read_line


def refused(line: bytes) -> tuple[int, int | str | None, str]:
    read = read_line(line)
    assert isinstance(read, Refused), read
    return read.response.error.code, read.response.id, read.response.error.message


def test_a_valid_request_is_a_message() -> None:
    read = read_line(b'{"jsonrpc": "2.0", "id": 1, "method": "ping"}')
    assert isinstance(read, JSONRPCRequest) and read.id == 1


def test_what_is_not_json_is_a_parse_error_without_an_id() -> None:
    for line in (b"garbage", b'{"jsonrpc": "2.0", "id": 1', b"\xff\xfe", b"[" * 5000 + b"]" * 5000):
        code, request_id, _ = refused(line)
        assert (code, request_id) == (-32700, None), line[:40]
    assert "nested too deeply" in refused(b"[" * 5000 + b"]" * 5000)[2]


def test_json_that_is_not_json_rpc_is_an_invalid_request_answered_with_its_id() -> None:
    assert refused(b'{"jsonrpc": "1.0", "id": 7, "method": "ping"}') == (
        -32600,
        7,
        'invalid request: jsonrpc: must be "2.0"',
    )
    assert refused(b'{"jsonrpc": "2.0", "id": "a", "method": 5}')[:2] == (-32600, "a")
    assert refused(b'[{"jsonrpc": "2.0", "id": 1, "method": "ping"}]')[0] == -32600
    assert refused(b"42")[:2] == (-32600, None)


def test_an_id_that_is_neither_integer_nor_string_is_refused_not_taken_for_a_notification() -> None:
    for request_id in (b"true", b"null", b"1.5", b'{"a": 1}', b"[1]"):
        line = b'{"jsonrpc": "2.0", "id": ' + request_id + b', "method": "ping"}'
        code, answered_id, message = refused(line)
        assert (code, answered_id) == (-32600, None), request_id
        assert "id: must be an integer or a string" in message


def test_a_lone_surrogate_is_refused_naming_where_it_is() -> None:
    arguments = b'{"tags": ["ok", "\\udc00"]}'
    params = b'{"name": "x", "arguments": ' + arguments + b"}"
    line = b'{"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": ' + params + b"}"
    assert refused(line) == (
        -32602,
        3,
        "params.arguments.tags[1]: must be valid Unicode (no lone surrogates)",
    )
    code, request_id, message = refused(b'{"jsonrpc": "2.0", "id": "\\ud800", "method": "ping"}')
    assert (code, request_id) == (-32600, None) and message.startswith("id:")


@given(st.binary(max_size=200))
def test_any_bytes_are_a_message_or_an_answer(line: bytes) -> None:
    read = read_line(line)
    if isinstance(read, Refused):
        assert read.response.error.code in (-32700, -32600, -32602)
        json.loads(read.response.model_dump_json())  # the answer itself is valid JSON


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(),
        lambda c: st.lists(c) | st.dictionaries(st.text(), c),
        max_leaves=20,
    )
)
def test_any_json_document_is_a_message_or_an_answer(document: object) -> None:
    read = read_line(json.dumps(document).encode())
    if isinstance(read, Refused):
        assert read.response.error.code in (-32700, -32600, -32602)
        json.loads(read.response.model_dump_json())

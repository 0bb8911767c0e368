"""One line off the stdio wire: a JSON-RPC message, or the error response that answers it.

The SDK's stdio reader drops a line it cannot validate (the client waits for an answer that
never comes). Here every such line gets one, as JSON-RPC 2.0 asks:

- not JSON at all (garbage, invalid UTF-8, nesting too deep to parse): `-32700` parse error;
- JSON, but not a JSON-RPC 2.0 message (`"jsonrpc": "1.0"`, no method, an array): `-32600`;
- a JSON string holding a lone surrogate (`"\\ud800"`, which UTF-8 cannot carry and the SDK's
  parser refuses): `-32602` invalid params when it is inside `params`, naming the field
  (`params.arguments.slug`), else `-32600`.

The response carries the request's id when one can be read (an integer or a string), else null.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from mcp_types import (
    INVALID_PARAMS,
    INVALID_REQUEST,
    PARSE_ERROR,
    ErrorData,
    JSONRPCError,
    JSONRPCMessage,
    JSONRPCNotification,
    jsonrpc_message_adapter,
)
from pydantic import ValidationError

# Python's parser recurses per level; deeper documents are refused as unparsable (a real
# MCP message nests a few dozen levels at most).
_JSON_ERRORS = (ValueError, RecursionError)


@dataclass(frozen=True, slots=True)
class Refused:
    """A line that is not a message, with the error response it gets and why (for the log)."""

    response: JSONRPCError
    reason: str


def read_line(line: bytes) -> JSONRPCMessage | Refused:
    """The message on this line, or the error response to send back instead."""
    try:
        message = jsonrpc_message_adapter.validate_json(line, by_name=False)
    except ValidationError as exc:
        unparsable = any(error["type"] == "json_invalid" for error in exc.errors())
    else:
        if isinstance(message, JSONRPCNotification) and b'"id"' in line and _has_id(line):
            # A request whose id is not an integer or a string would pass as a notification
            # (extra keys are ignored) and get no answer.
            return _refuse(None, INVALID_REQUEST, "invalid request: id: must be an integer or a string")
        return message
    try:
        document = json.loads(line)
    except _JSON_ERRORS as exc:
        return _refuse(None, PARSE_ERROR, f"parse error: not valid JSON ({_why(exc)})")
    request_id = _request_id(document)
    surrogate = _surrogate_path(document, "")
    if unparsable and surrogate is not None:
        code = INVALID_PARAMS if surrogate.startswith("params.") else INVALID_REQUEST
        return _refuse(request_id, code, f"{surrogate}: must be valid Unicode (no lone surrogates)")
    if unparsable:
        return _refuse(None, PARSE_ERROR, "parse error: JSON the protocol parser refuses")
    return _refuse(request_id, INVALID_REQUEST, f"invalid request: {_shape_problem(document)}")


def _has_id(line: bytes) -> bool:
    document = json.loads(line)
    return isinstance(document, dict) and "id" in document


def _refuse(request_id: int | str | None, code: int, message: str) -> Refused:
    error = ErrorData(code=code, message=message)
    return Refused(JSONRPCError(jsonrpc="2.0", id=request_id, error=error), message)


def _why(exc: BaseException) -> str:
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    if isinstance(exc, UnicodeDecodeError):
        return "not UTF-8"
    return str(exc)


def _request_id(document: Any) -> int | str | None:
    """The id to answer with: JSON-RPC ids are integers or strings (a bool is neither)."""
    if not isinstance(document, dict):
        return None
    found = document.get("id")
    if isinstance(found, bool) or not isinstance(found, int | str):
        return None
    if isinstance(found, str) and _surrogate_path(found, "id") is not None:
        return None
    return found


def _surrogate_path(value: Any, path: str) -> str | None:
    """Where the first string (or object key) with a lone surrogate is, as `a.b[2]`."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return path or "message"
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if _surrogate_path(key, where) is not None:
                return path or "message"
            found = _surrogate_path(item, where)
            if found is not None:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = _surrogate_path(item, f"{path}[{index}]")
            if found is not None:
                return found
    return None


def _shape_problem(document: Any) -> str:
    """What makes valid JSON not a JSON-RPC 2.0 message, in a few words."""
    if isinstance(document, list):
        return "batches (JSON arrays) are not supported; send one message per line"
    if not isinstance(document, dict):
        return "a message is a JSON object"
    if document.get("jsonrpc") != "2.0":
        return 'jsonrpc: must be "2.0"'
    if "method" in document and not isinstance(document["method"], str):
        return "method: must be a string"
    if "params" in document and not isinstance(document["params"], dict):
        return "params: must be an object"
    if "id" in document and _request_id(document) is None:
        return "id: must be an integer or a string"
    return "not a request, notification or response (needs method, or id with result or error)"

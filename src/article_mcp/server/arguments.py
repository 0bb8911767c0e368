"""The rules every tool call's arguments meet before any tool sees them, checked once for all.

Checked against the tool's own input schema, so a new tool gets them without a line here:

- every argument name is one the tool takes: a misspelt filter (`foldr`) is refused with the
  names the tool knows, instead of silently searching everything;
- every string, at any depth, is text PostgreSQL can store: no NUL, no lone surrogate;
- every integer fits the database's 64-bit integers;
- no boolean passes for a number (pydantic would read `true` as 1).

Coercion that cannot change meaning stays: `"5"` for a count is 5. Booleans are strict (on
their fields, `strict=True`): JSON `true` or `false` only; `"yes"`, `"true"`, `1` or `"1"` are
refused, since a string could mean anything. What else a value must be (bounds, lengths, the
article rules) is the schema's and the services' to say.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from article_mcp.articles.rules import MAX_BIGINT, MIN_BIGINT, check_text
from article_mcp.errors import InvalidInputError


def check_arguments(arguments: Mapping[str, Any], schema: Mapping[str, Any]) -> None:
    """Raise InvalidInputError, naming the argument, for the first rule the arguments break."""
    properties: Mapping[str, Any] = schema.get("properties", {})
    for name, value in arguments.items():
        if name not in properties:
            raise InvalidInputError("arguments", _unknown(name, sorted(properties)))
        _check_value(value, name, _json_types(properties[name]))


def _unknown(name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    listed = ", ".join(known) if known else "none"
    return f"unknown argument {name!r} (this tool takes: {listed}){hint}"


def _check_value(value: Any, field: str, types: frozenset[str]) -> None:
    if isinstance(value, str):
        check_text(value, field)
    elif isinstance(value, bool):
        if types and "boolean" not in types:
            raise InvalidInputError(field, f"must be {' or '.join(sorted(types))}, not a boolean")
    elif isinstance(value, int):
        if not MIN_BIGINT <= value <= MAX_BIGINT:
            raise InvalidInputError(field, f"must be between {MIN_BIGINT} and {MAX_BIGINT}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_value(item, f"{field}[{index}]", frozenset())
    elif isinstance(value, dict):
        for key, item in value.items():
            check_text(str(key), field)
            _check_value(item, f"{field}.{key}", frozenset())


def _json_types(schema: Mapping[str, Any]) -> frozenset[str]:
    """The JSON types an argument's schema admits (`anyOf` members included; null left out)."""
    found = {schema["type"]} if isinstance(schema.get("type"), str) else set()
    for member in schema.get("anyOf", []):
        found |= _json_types(member)
    return frozenset(found - {"null"})

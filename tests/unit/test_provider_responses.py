"""Reading provider answers: Retry-After, error details without secrets, vector checks."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import httpx
import pytest

from article_mcp.embeddings.providers.responses import (
    checked_vectors,
    error_code,
    error_detail,
    retry_after_seconds,
)
from article_mcp.errors import PermanentProviderError

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, None),
        ({"retry-after": "7"}, 7.0),
        ({"retry-after": " 2.5 "}, 2.5),
        ({"retry-after": "0"}, 0.0),
        # Negative, past or unreadable: no advice, so the worker's own backoff applies.
        ({"retry-after": "-3"}, None),
        ({"retry-after-ms": "-5"}, None),
        ({"retry-after": "Fri, 02 Jan 2026 03:04:35 GMT"}, 30.0),
        ({"retry-after": "Fri, 02 Jan 2026 03:00:00 GMT"}, None),
        ({"retry-after": "soon"}, None),
        ({"retry-after": "nan"}, None),
        ({"retry-after": "inf"}, None),
        # Far future: read as asked; the worker clamps it (EMBEDDING_RETRY_AFTER_MAX_SECONDS).
        ({"retry-after": "999999"}, 999999.0),
        ({"retry-after": "Thu, 01 Jan 2099 00:00:00 GMT"}, 2303585755.0),
        ({"retry-after-ms": "1500", "retry-after": "9"}, 1.5),
    ],
)
def test_retry_after_in_seconds_or_as_a_date(headers: dict[str, str], expected: float | None) -> None:
    assert retry_after_seconds(httpx.Headers(headers), now=NOW) == expected


def test_error_details_come_from_either_wire_format() -> None:
    ollama = httpx.Response(404, json={"error": 'model "x" not found, try pulling it first'})
    openai = httpx.Response(
        429, json={"error": {"message": "You exceeded your quota", "code": "insufficient_quota"}}
    )
    text = httpx.Response(502, text="<html>Bad gateway</html>")
    assert error_detail(ollama) == 'model "x" not found, try pulling it first'
    assert error_detail(openai) == "You exceeded your quota"
    assert error_code(openai) == "insufficient_quota"
    assert error_code(ollama) is None
    assert error_detail(text) == "<html>Bad gateway</html>"
    assert len(error_detail(httpx.Response(500, text="x" * 5000))) == 300


def test_error_details_never_carry_a_key() -> None:
    secret = "sk-live-abcdef0123456789"
    response = httpx.Response(401, json={"error": {"message": f"Incorrect API key provided: {secret}."}})
    assert secret not in error_detail(response, secret=secret)
    assert "sk-" not in error_detail(httpx.Response(401, text="key sk-proj-XYZ1234***abc is wrong"))
    assert "abc123" not in error_detail(httpx.Response(400, text="header was Bearer abc123"))


def test_vectors_are_checked() -> None:
    assert checked_vectors([[1.0, 0.0], [0, 1]], 2, "here") == [[1.0, 0.0], [0, 1]]
    bad = {
        "a list": {"embeddings": []},
        "2 vectors for 3 texts": [[1.0], [2.0]],
        "different lengths [1, 2]": [[1.0], [1.0, 2.0], [3.0]],
        "empty or malformed": [[], [], []],
        "NaN": [[1.0], [float("nan")], [2.0]],
        "non-numeric": [["a"], ["b"], ["c"]],
        "infinite": [[1.0], [float("inf")], [2.0]],
        "1 all-zero vectors (the first for text 1)": [[1.0, 0.0], [0.0, -0.0], [0.5, 0.5]],
    }
    for expected, raw in bad.items():
        with pytest.raises(PermanentProviderError, match=re.escape(expected)):
            checked_vectors(raw, 3 if expected != "a list" else 1, "here")

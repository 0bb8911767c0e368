"""Reading what an HTTP embedding server answered: error details, `Retry-After`, vectors.

Everything here turns a surprise into a `ProviderError` with a message for a person, and
keeps secrets out of it.
"""

from __future__ import annotations

import email.utils
import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, cast

import httpx
import numpy as np

from article_mcp.errors import PermanentProviderError

_DETAIL_CHARS = 300
_KEY_LIKE = re.compile(r"\b(sk-[A-Za-z0-9*_\-]{4,}|Bearer\s+\S+)", re.IGNORECASE)


def retry_after_seconds(headers: Mapping[str, str], *, now: datetime | None = None) -> float | None:
    """The wait a 429 answer asks for: `retry-after-ms`, or `Retry-After` in seconds or as an
    HTTP date; None when absent, unreadable or negative (a date in the past included), so the
    caller falls back to its own backoff. Not bounded above: the worker clamps it to
    EMBEDDING_RETRY_AFTER_MAX_SECONDS, and zero to its smallest wait."""
    millis = _number(headers.get("retry-after-ms"))
    if millis is not None:
        return _non_negative(millis / 1000)
    value = headers.get("retry-after")
    if value is None:
        return None
    seconds = _number(value)
    if seconds is None:
        try:
            when = email.utils.parsedate_to_datetime(value.strip())
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    return _non_negative(seconds)


def _number(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        number = float(value.strip())
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _non_negative(seconds: float) -> float | None:
    # A negative wait is a broken header, not "now": read as "no advice".
    return seconds if seconds >= 0 else None


def error_detail(response: httpx.Response, *, secret: str | None = None) -> str:
    """The server's own words about a failure, short, with anything key-like blanked out."""
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text
    if isinstance(body, dict):
        error = body.get("error", body.get("message", body))
        if isinstance(error, dict):
            error = error.get("message") or error.get("code") or error
        body = error
    text = " ".join(str(body).split())[:_DETAIL_CHARS] or response.reason_phrase
    return scrub(text, secret)


def error_code(response: httpx.Response) -> str | None:
    """The machine-readable code of an OpenAI-style error body (`insufficient_quota`, ...)."""
    try:
        body = response.json()
    except ValueError:
        return None
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return None
    code = error.get("code") or error.get("type")
    return str(code) if code else None


def scrub(text: str, secret: str | None) -> str:
    """`text` with the secret and anything that looks like an API key replaced by `***`."""
    if secret:
        text = text.replace(secret, "***")
    return _KEY_LIKE.sub("***", text)


def checked_vectors(raw: object, expected: int, where: str) -> list[list[float]]:
    """The vectors of an answer, after checking there is one per text, all of one length,
    numeric, finite and not all zero; anything else is a permanent error (retrying gets the
    same answer). An all-zero vector has no direction: stored, it would be `ready` and never
    found by meaning."""
    if not isinstance(raw, list):
        raise PermanentProviderError(f"{where} answered without a list of vectors")
    if len(raw) != expected:
        raise PermanentProviderError(f"{where} returned {len(raw)} vectors for {expected} texts")
    try:
        array = np.asarray(raw, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        lengths = sorted({len(v) for v in raw if isinstance(v, list)})
        raise PermanentProviderError(
            f"{where} returned vectors of different lengths {lengths} or non-numeric values"
        ) from exc
    if array.ndim != 2 or array.shape[1] == 0:
        raise PermanentProviderError(f"{where} returned empty or malformed vectors")
    if not np.isfinite(array).all():
        raise PermanentProviderError(f"{where} returned vectors with NaN or infinite values")
    zero = np.flatnonzero(~array.any(axis=1))
    if zero.size:
        raise PermanentProviderError(
            f"{where} returned {zero.size} all-zero vectors (the first for text {int(zero[0])})"
        )
    return cast(list[list[float]], raw)


def reported_tokens(value: object) -> int | None:
    """A usage figure from an answer: a non-negative integer, else None (not reported)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return None
    return value

"""A per-principal request limit for the HTTP front (HTTP_RATE_LIMIT_PER_MINUTE, 0: off).

An ASGI middleware inside authentication: each authenticated principal (an access token's
name, AUTH_TOKEN, an OAuth client) has its own token bucket, so one runaway agent spends only
its own allowance and every other caller goes on unhindered. A bucket holds a minute's worth
of requests (the burst) and refills evenly over the minute; an empty one gets 429 with
`Retry-After` (the seconds until the next request would pass) and a structured
`rate_limited` event naming the principal. Unauthenticated requests (the local user on
loopback) and the open paths are not counted.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import structlog
from cachetools import TTLCache
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from article_mcp.server.auth import Clock

log = structlog.get_logger(__name__)

MAX_PRINCIPALS = 10_000


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float


class RequestBuckets:
    """Token buckets by principal name: `per_minute` requests a minute, that many at once."""

    def __init__(self, per_minute: int, clock: Clock = time.monotonic) -> None:
        self._capacity = float(per_minute)
        self._per_second = per_minute / 60.0
        self._clock = clock
        # A bucket untouched for a minute is full again, so forgetting it then changes nothing.
        self._buckets: TTLCache[str, _Bucket] = TTLCache(MAX_PRINCIPALS, 60.0, timer=clock)

    def take(self, name: str) -> float:
        """Spend one request of `name`'s allowance: 0 if it had one, else the seconds to wait."""
        now = self._clock()
        bucket = self._buckets.get(name) or _Bucket(self._capacity, now)
        tokens = min(self._capacity, bucket.tokens + (now - bucket.updated) * self._per_second)
        if tokens >= 1.0:
            self._buckets[name] = _Bucket(tokens - 1.0, now)
            return 0.0
        self._buckets[name] = _Bucket(tokens, now)
        return (1.0 - tokens) / self._per_second


class PrincipalRateLimit:
    """ASGI middleware: 429 with Retry-After once a principal has spent its allowance."""

    def __init__(self, app: ASGIApp, per_minute: int, clock: Clock = time.monotonic) -> None:
        self._app = app
        self._buckets = RequestBuckets(per_minute, clock)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        user = scope.get("user") if scope["type"] == "http" else None
        if not isinstance(user, AuthenticatedUser):
            await self._app(scope, receive, send)
            return
        name = user.access_token.client_id
        wait = self._buckets.take(name)
        if wait <= 0:
            await self._app(scope, receive, send)
            return
        seconds = max(1, math.ceil(wait))
        log.warning("rate_limited", token_name=name, path=scope["path"], retry_after=seconds)
        message = f"too many requests for {name!r} (HTTP_RATE_LIMIT_PER_MINUTE); retry after {seconds} s"
        body = {"error": "rate_limited", "message": message}
        await JSONResponse(body, status_code=429, headers={"Retry-After": str(seconds)})(scope, receive, send)

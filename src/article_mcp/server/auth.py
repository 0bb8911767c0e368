"""Bearer-token authentication for the HTTP front, with failed attempts logged and slowed.

- `Authorization: Bearer <AUTH_TOKEN>` on every path but /health; the scheme in any case
  (RFC 9110), the token compared in constant time.
- Every failure is logged as a structured `auth_failed` event (client address, path, reason,
  failures so far), never with what was sent.
- After `FREE_FAILURES` failures in a row from one address, that address waits before its
  next attempt is even checked: 1 s, doubling with each further failure, up to 60 s; an
  attempt during the wait gets 429 with `Retry-After`. Guessing from one address is then a
  few tries a minute however many connections it opens. A success forgets the failures; so
  do `FORGET_AFTER` seconds without one. The table is bounded (`MAX_CLIENTS` addresses).
"""

from __future__ import annotations

import hmac
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import structlog
from cachetools import TTLCache
from mcp.server.auth.middleware.auth_context import AuthContextMiddleware
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from article_mcp.access.principals import AUTH_TOKEN_NAME, Principal
from article_mcp.access.principals import Scope as AccessScope
from article_mcp.server.identity import authenticated_user

log = structlog.get_logger(__name__)

FREE_FAILURES = 5
FIRST_WAIT = 1.0
MAX_WAIT = 60.0
FORGET_AFTER = 900.0
MAX_CLIENTS = 10_000

Clock = Callable[[], float]


@dataclass(slots=True)
class _Failures:
    count: int
    blocked_until: float


class FailedAttempts:
    """Failed authentications per client address, and how long each must wait."""

    def __init__(self, clock: Clock = time.monotonic) -> None:
        self._clock = clock
        self._by_client: TTLCache[str, _Failures] = TTLCache(MAX_CLIENTS, FORGET_AFTER, timer=clock)

    def wait_left(self, client: str) -> float:
        """Seconds before this client's next attempt is checked (0: now)."""
        failures = self._by_client.get(client)
        return 0.0 if failures is None else max(0.0, failures.blocked_until - self._clock())

    def failed(self, client: str) -> int:
        """Count a failure; how many there have been in a row."""
        previous = self._by_client.get(client)
        count = 1 if previous is None else previous.count + 1
        over = count - FREE_FAILURES
        wait = 0.0 if over < 0 else min(FIRST_WAIT * 2 ** min(over, 16), MAX_WAIT)
        self._by_client[client] = _Failures(count, self._clock() + wait)
        return count

    def succeeded(self, client: str) -> None:
        self._by_client.pop(client, None)


class BearerAuth:
    """ASGI middleware: a valid bearer token or 401, and 429 while an address must wait."""

    def __init__(
        self,
        app: ASGIApp,
        token: str,
        *,
        open_paths: frozenset[str],
        open_prefixes: tuple[str, ...] = (),
        clock: Clock = time.monotonic,
    ) -> None:
        # Requests that pass go on with their principal in the SDK's auth context.
        self._app = AuthContextMiddleware(app)
        self._token = token.encode()
        self._user = authenticated_user(Principal(AUTH_TOKEN_NAME, AccessScope.ADMIN))
        self._open_paths = open_paths
        self._open_prefixes = open_prefixes
        self._failures = FailedAttempts(clock)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self._is_open(scope["path"]):
            await self._app(scope, receive, send)
            return
        client = scope["client"][0] if scope.get("client") else "unknown"
        wait = self._failures.wait_left(client)
        if wait > 0:
            await _too_many(wait)(scope, receive, send)
            return
        reason = self._refusal(scope)
        if reason is None:
            self._failures.succeeded(client)
            scope["user"] = self._user
            await self._app(scope, receive, send)
            return
        failures = self._failures.failed(client)
        log.warning("auth_failed", client=client, path=scope["path"], reason=reason, failures=failures)
        await _unauthorized()(scope, receive, send)

    def _is_open(self, path: str) -> bool:
        return path in self._open_paths or path.startswith(self._open_prefixes)

    def _refusal(self, scope: Scope) -> str | None:
        """Why the request is not authenticated (None: it is)."""
        given = next((value for name, value in scope["headers"] if name == b"authorization"), None)
        if given is None:
            return "no Authorization header"
        scheme, _, credentials = given.strip().partition(b" ")
        if scheme.lower() != b"bearer":
            return "not the Bearer scheme"
        if not hmac.compare_digest(credentials.strip(b" "), self._token):
            return "wrong token"
        return None


def _unauthorized() -> JSONResponse:
    return JSONResponse(
        {"error": "unauthorized", "message": "send the header 'Authorization: Bearer <AUTH_TOKEN>'"},
        status_code=401,
        headers={"WWW-Authenticate": 'Bearer realm="article-mcp"'},
    )


def _too_many(wait: float) -> JSONResponse:
    seconds = math.ceil(wait)
    return JSONResponse(
        {
            "error": "too_many_failed_authentications",
            "message": f"too many failed authentications from this address; retry after {seconds} s",
        },
        status_code=429,
        headers={"Retry-After": str(seconds)},
    )

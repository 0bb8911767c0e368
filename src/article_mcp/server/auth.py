"""Bearer-token authentication for the HTTP front: a chain of token verifiers, with failed
attempts logged and slowed.

- `Authorization: Bearer <token>` on every path but the open ones (/health); the scheme in
  any case (RFC 9110). The token is offered to each verifier in turn (the SDK's
  `TokenVerifier` protocol: `verify_token(token) -> AccessToken | None`, client_id the
  principal's name, scopes its scope): the first that answers wins. A verifier that knows a
  token but refuses it (revoked, expired) raises `TokenRefusedError`, and the chain stops.
- `required=False` (loopback without AUTH_TOKEN): a request without the header goes on as
  the local user; one that sends a token must still send a valid one.
- Every refusal is logged as a structured event (`auth_failed`: client address, path,
  reason, the token's name when known, failures so far; `auth_slowed` for a 429), never with
  what was sent. A 401 says only "invalid or missing token".
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
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import structlog
from cachetools import TTLCache
from mcp.server.auth.middleware.auth_context import AuthContextMiddleware
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import AccessToken, TokenVerifier
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from article_mcp.access.principals import AUTH_TOKEN_NAME, Principal
from article_mcp.access.principals import Scope as AccessScope
from article_mcp.access.tokens import hmac_key, verify_token
from article_mcp.config import Settings
from article_mcp.db.pool import Database, pooled_connection
from article_mcp.errors import InsufficientScopeError, TokenRefusedError, UnavailableError
from article_mcp.server.identity import access_token
from article_mcp.server.oauth import JwtVerifier

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


class AuthTokenVerifier:
    """AUTH_TOKEN, the built-in admin token of simple set-ups, compared in constant time."""

    def __init__(self, token: str) -> None:
        self._token = token.encode()
        self._answer = access_token(Principal(AUTH_TOKEN_NAME, AccessScope.ADMIN))

    async def verify_token(self, token: str) -> AccessToken | None:
        return self._answer if hmac.compare_digest(token.encode(), self._token) else None


class AccessTokenVerifier:
    """The access tokens of `article-mcp tokens` (access/tokens.py), looked up in the database."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._key: bytes | None = None  # the server's HMAC key never changes: read it once

    async def verify_token(self, token: str) -> AccessToken | None:
        async with pooled_connection(self._db) as conn:
            if self._key is None:
                self._key = await hmac_key(conn)
            principal = await verify_token(conn, self._key, token)
        return None if principal is None else access_token(principal)


def token_verifiers(settings: Settings, db: Database) -> list[TokenVerifier]:
    """The chain, in order: AUTH_TOKEN (when set), the database's access tokens, then the OAuth
    issuer's JWTs (when OAUTH_ISSUER is set)."""
    chain: list[TokenVerifier] = []
    if settings.auth_token is not None:
        chain.append(AuthTokenVerifier(settings.auth_token.get_secret_value()))
    chain.append(AccessTokenVerifier(db))
    if settings.oauth_enabled:
        chain.append(JwtVerifier(settings))
    return chain


@dataclass(frozen=True, slots=True)
class _Refusal:
    reason: str
    token_name: str | None = None
    # A valid token without any of our scopes: 403, naming the scope to ask for.
    needed_scope: str | None = None


class BearerAuth:
    """ASGI middleware: a token some verifier accepts, or 401; 429 while an address must wait."""

    def __init__(
        self,
        app: ASGIApp,
        verifiers: Sequence[TokenVerifier],
        *,
        open_paths: frozenset[str],
        open_prefixes: tuple[str, ...] = (),
        required: bool = True,
        resource_metadata: str | None = None,
        clock: Clock = time.monotonic,
    ) -> None:
        # Requests that pass go on with their principal in the SDK's auth context.
        self._app = AuthContextMiddleware(app)
        self._verifiers = tuple(verifiers)
        self._open_paths = open_paths
        self._open_prefixes = open_prefixes
        self._required = required
        # With OAuth on, every challenge points clients to the protected-resource metadata.
        self._metadata = "" if resource_metadata is None else f', resource_metadata="{resource_metadata}"'
        self._failures = FailedAttempts(clock)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self._is_open(scope["path"]):
            await self._app(scope, receive, send)
            return
        given = next((value for name, value in scope["headers"] if name == b"authorization"), None)
        if given is None and not self._required:
            await self._app(scope, receive, send)  # the local user
            return
        client = scope["client"][0] if scope.get("client") else "unknown"
        wait = self._failures.wait_left(client)
        if wait > 0:
            log.warning("auth_slowed", client=client, path=scope["path"], retry_after=math.ceil(wait))
            await _too_many(wait)(scope, receive, send)
            return
        try:
            outcome = await self._authenticate(given)
        except UnavailableError as exc:  # the token database: not the caller's fault, and not a 500
            log.warning("auth_unavailable", client=client, path=scope["path"], error=str(exc))
            await _unavailable()(scope, receive, send)
            return
        if isinstance(outcome, AccessToken):
            self._failures.succeeded(client)
            scope["user"] = AuthenticatedUser(outcome)
            await self._app(scope, receive, send)
            return
        if outcome.needed_scope is not None:  # a valid token: no failure to count
            log.warning(
                "auth_forbidden",
                client=client,
                path=scope["path"],
                reason=outcome.reason,
                token_name=outcome.token_name,
            )
            await _insufficient_scope(outcome.needed_scope, self._metadata)(scope, receive, send)
            return
        failures = self._failures.failed(client)
        named = {} if outcome.token_name is None else {"token_name": outcome.token_name}
        log.warning(
            "auth_failed",
            client=client,
            path=scope["path"],
            reason=outcome.reason,
            failures=failures,
            **named,
        )
        await _unauthorized(self._metadata)(scope, receive, send)

    def _is_open(self, path: str) -> bool:
        return path in self._open_paths or path.startswith(self._open_prefixes)

    async def _authenticate(self, given: bytes | None) -> AccessToken | _Refusal:
        """The verified token, or why the request is not authenticated."""
        if given is None:
            return _Refusal("no Authorization header")
        scheme, _, credentials = given.strip().partition(b" ")
        if scheme.lower() != b"bearer":
            return _Refusal("not the Bearer scheme")
        try:
            token = credentials.strip(b" ").decode("ascii")
        except UnicodeDecodeError:
            return _Refusal("wrong token")
        if not token:
            return _Refusal("no token")
        for verifier in self._verifiers:
            try:
                verified = await verifier.verify_token(token)
            except InsufficientScopeError as exc:
                return _Refusal(exc.reason, exc.token_name, exc.needed)
            except TokenRefusedError as exc:
                return _Refusal(exc.reason, exc.token_name)
            if verified is not None:
                return verified
        return _Refusal("wrong token")


def _unauthorized(metadata: str) -> JSONResponse:
    return JSONResponse(
        {"error": "unauthorized", "message": "invalid or missing token"},
        status_code=401,
        headers={"WWW-Authenticate": f'Bearer realm="article-mcp"{metadata}'},
    )


def _insufficient_scope(needed: str, metadata: str) -> JSONResponse:
    """RFC 6750 section 3.1: the token is good, its scope is not enough."""
    return JSONResponse(
        {
            "error": "insufficient_scope",
            "message": f"the token grants none of this server's scopes; ask for {needed!r}",
        },
        status_code=403,
        headers={"WWW-Authenticate": f'Bearer error="insufficient_scope", scope="{needed}"{metadata}'},
    )


def _unavailable() -> JSONResponse:
    message = "cannot check tokens now (the database or the OAuth issuer's keys are unavailable)"
    return JSONResponse({"error": "unavailable", "message": message}, status_code=503)


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

"""The HTTP front: streamable HTTP at /mcp, legacy SSE at /sse, /health, and the REST API
(/api, with /openapi.json and /docs: server/rest), in one ASGI app.

Security, in layers:
- Shared pages (`/s/{token}`, server/share_page.py) are public: the link is the credential.
- With OAUTH_ISSUER set, the issuer's JWTs are accepted too (server/oauth.py), the
  protected-resource metadata is served (open), and every 401 points to it.
- With AUTH_TOKEN set, or bound beyond loopback, every other path but /health needs
  `Authorization: Bearer <token>`: AUTH_TOKEN or an access token (server/auth.py: a chain of
  verifiers, failures logged and slowed per client address); anything else gets 401. On
  loopback without AUTH_TOKEN a token is optional, and one sent names the caller.
- Each authenticated principal has its own request allowance (HTTP_RATE_LIMIT_PER_MINUTE,
  server/rate_limit.py); past it, 429 with Retry-After.
- At most HTTP_MAX_SESSIONS sessions at once (the one token's bound): streamable HTTP
  sessions through the SDK's own limit, SSE streams here; past it, 503.
- DNS-rebinding protection stays on: the Host (and any Origin) header must name this server
  (loopback names, the bind address, HTTP_ALLOWED_HOSTS), so a web page cannot reach a
  server on localhost through a domain it controls.
- The server binds 127.0.0.1 by default and refuses a non-loopback address when no token
  (AUTH_TOKEN or an access token) exists.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from mcp.server.transport_security import DEFAULT_MAX_REQUEST_BODY_SIZE, TransportSecuritySettings
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from article_mcp import __version__
from article_mcp.config import Settings
from article_mcp.db.pool import Database
from article_mcp.errors import ConfigError
from article_mcp.server.app import ArticleServer, Services
from article_mcp.server.auth import BearerAuth, token_verifiers
from article_mcp.server.oauth import MCP_PATH as MCP_PATH
from article_mcp.server.oauth import metadata_routes, resource_metadata_url
from article_mcp.server.rate_limit import PrincipalRateLimit
from article_mcp.server.rest.app import DOCS_PATH, OPENAPI_PATH, create_rest_app
from article_mcp.server.rest.problems import ProblemDetails
from article_mcp.server.share_page import SHARE_PREFIX, share_routes

SSE_PATH = "/sse"
SSE_MESSAGES_PATH = "/messages/"
HEALTH_PATH = "/health"
REST_PREFIX = "/api"

_LOOPBACK_NAMES = ("localhost", "127.0.0.1", "[::1]")

HealthCheck = Callable[[], Awaitable[bool]]


def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind_address(host: str, settings: Settings, *, has_tokens: bool = False) -> None:
    """Refuse to serve beyond this machine when no token could get in (AUTH_TOKEN, an access
    token, or an OAuth issuer's)."""
    if (
        not is_loopback(host)
        and settings.auth_token is None
        and not has_tokens
        and not settings.oauth_enabled
    ):
        raise ConfigError(
            f"HTTP_HOST: binding {host!r} exposes the server beyond this machine; set AUTH_TOKEN "
            "(a strong random token) or create an access token (`article-mcp tokens create`), "
            "or bind 127.0.0.1"
        )


def answered_hosts(settings: Settings) -> str:
    """HTTP_ALLOWED_HOSTS and the host of HTTP_PUBLIC_URL: the name clients reach the server
    by (the one in its share links and OAuth metadata) is one it must answer to."""
    public = urlsplit(settings.http_public_url).hostname if settings.http_public_url else None
    return ",".join(name for name in (settings.http_allowed_hosts, public) if name)


def transport_security(host: str, extra_hosts: str = "") -> TransportSecuritySettings:
    """DNS-rebinding protection accepting loopback names, the bind address and extra hosts."""
    names = [*_LOOPBACK_NAMES]
    if not is_loopback(host) and host not in ("0.0.0.0", "::"):  # noqa: S104 - compared, not bound
        names.append(f"[{host}]" if ":" in host else host)
    names.extend(name.strip() for name in extra_hosts.split(",") if name.strip())
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=[form for name in names for form in (name, f"{name}:*")],
        allowed_origins=[form for name in names for form in (f"http://{name}", f"http://{name}:*")]
        + [form for name in names for form in (f"https://{name}", f"https://{name}:*")],
    )


class SseSessionLimit:
    """ASGI middleware: at most `limit` SSE streams open at once (each is one MCP session)."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self._app = app
        self._limit = limit
        self._open = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != SSE_PATH:
            await self._app(scope, receive, send)
            return
        if self._open >= self._limit:
            await too_many_sessions(self._limit)(scope, receive, send)
            return
        self._open += 1
        try:
            await self._app(scope, receive, send)
        finally:
            self._open -= 1


def too_many_sessions(limit: int) -> JSONResponse:
    """The answer to a session past HTTP_MAX_SESSIONS."""
    message = f"too many open sessions ({limit}, HTTP_MAX_SESSIONS): close one, or wait for one to expire"
    return JSONResponse({"error": "too_many_sessions", "message": message}, status_code=503)


def max_body_size(settings: Settings) -> int:
    """Room for the largest article in a request, even with every character JSON-escaped."""
    return max(DEFAULT_MAX_REQUEST_BODY_SIZE, 6 * settings.article_max_bytes + 64 * 1024)


def _authentication(settings: Settings, db: Database, host: str, open_paths: frozenset[str]) -> Middleware:
    """BearerAuth over the chain of verifiers. Auth is required when AUTH_TOKEN or OAuth is set,
    or the server is reachable beyond this machine; on loopback without either, a request
    without a token is the local user, and a token sent still names its principal."""
    required = settings.auth_token is not None or settings.oauth_enabled or not is_loopback(host)
    return Middleware(
        BearerAuth,
        verifiers=token_verifiers(settings, db),
        open_paths=open_paths,
        open_prefixes=(SHARE_PREFIX,),
        required=required,
        resource_metadata=resource_metadata_url(settings) if settings.oauth_enabled else None,
    )


def create_http_app(server: ArticleServer, services: Services, host: str, health: HealthCheck) -> Starlette:
    """The ASGI app of `article-mcp serve --transport http` (its lifespan runs the MCP sessions),
    with the REST API over the same services."""
    settings, db = services.settings, services.db
    security = transport_security(host, answered_hosts(settings))
    body_limit = max_body_size(settings)
    streamable = server.streamable_http_app(
        streamable_http_path=MCP_PATH,
        transport_security=security,
        host=host,
        max_request_body_size=body_limit,
        max_sessions=settings.http_max_sessions,
    )
    sse = server.sse_app(
        sse_path=SSE_PATH,
        message_path=SSE_MESSAGES_PATH,
        transport_security=security,
        host=host,
        max_request_body_size=body_limit,
    )

    async def handle_health(request: Request) -> Response:
        healthy = await health()
        body = {"status": "ok" if healthy else "unavailable", "version": __version__}
        return JSONResponse(body, status_code=200 if healthy else 503)

    rest = create_rest_app(services, health, security=security, body_limit=body_limit)
    oauth = metadata_routes(settings) if settings.oauth_enabled else []
    routes: list[BaseRoute] = [
        Route(HEALTH_PATH, handle_health, methods=["GET"]),
        *share_routes(db),
        *oauth,
        *sse.routes,
        *streamable.routes,
        # Last: the REST app answers every other path (a 404 problem where it has none).
        Mount("", app=rest),
    ]
    # The API's description is public: /docs must load /openapi.json before any token is given.
    open_paths = frozenset({HEALTH_PATH, OPENAPI_PATH, DOCS_PATH, *(route.path for route in oauth)})
    # Refusals from the layers below (authentication, rate limit) speak problem details on /api.
    middleware = [
        Middleware(ProblemDetails, prefixes=(REST_PREFIX,)),
        _authentication(settings, db, host, open_paths),
    ]
    if settings.http_rate_limit_per_minute:
        middleware.append(Middleware(PrincipalRateLimit, per_minute=settings.http_rate_limit_per_minute))
    middleware.append(Middleware(SseSessionLimit, limit=settings.http_max_sessions))

    def lifespan(app: Any) -> Any:
        return server.session_manager.run()

    return Starlette(routes=routes, middleware=middleware, lifespan=lifespan)

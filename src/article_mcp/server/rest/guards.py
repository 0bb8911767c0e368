"""What every REST request passes before a handler runs: the Host and Origin check, the media
type of its body, and the scope its endpoint needs."""

from __future__ import annotations

import email.message
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

import structlog
from fastapi import Depends
from mcp.server.transport_security import TransportSecurityMiddleware, TransportSecuritySettings
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from article_mcp.access.principals import Principal
from article_mcp.access.principals import Scope as AccessScope
from article_mcp.server.identity import current_principal
from article_mcp.server.rest.etags import IfMatch, expected_version
from article_mcp.server.rest.problems import ProblemError, problem, problem_response

log = structlog.get_logger(__name__)

# Who wrote a change made over REST without authentication (loopback without AUTH_TOKEN).
ANONYMOUS_AUTHOR = "rest"
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


class RequestGuard:
    """ASGI middleware: the DNS-rebinding check of /mcp (the SDK's, same hosts) for REST too,
    and 415 for a request body that is not JSON."""

    def __init__(self, app: ASGIApp, security: TransportSecuritySettings) -> None:
        self._app = app
        self._hosts = TransportSecurityMiddleware(security)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        refused = await self._hosts.validate_request(Request(scope))
        if refused is None and scope["method"] in _BODY_METHODS and not _is_json(Headers(scope=scope)):
            found = problem(415, "the body must be JSON: send 'Content-Type: application/json'")
            refused = problem_response(found, {"Accept-Post": "application/json"})
        if refused is not None:
            await refused(scope, receive, send)
            return
        await self._app(scope, receive, send)


def _is_json(headers: Headers) -> bool:
    """True for a JSON media type (application/json, application/*+json), or no body at all."""
    if headers.get("content-length", "0") == "0" and "transfer-encoding" not in headers:
        return True
    media = email.message.Message()
    media["content-type"] = headers.get("content-type", "")
    subtype = media.get_content_subtype()
    return media.get_content_maintype() == "application" and (subtype == "json" or subtype.endswith("+json"))


def needs(scope: AccessScope) -> Callable[[Request], Awaitable[Principal]]:
    """A dependency: the request's principal, or 403 unless its scope includes `scope`."""

    async def principal(request: Request) -> Principal:
        found = current_principal()
        if found.allows(scope):
            return found
        log.warning(
            "scope_refused",
            principal=found.name,
            scope=found.scope.value,
            needed=scope.value,
            path=request.url.path,
        )
        raise ProblemError(
            problem(403, f"this token's scope is {found.scope.value}; this needs {scope.value}")
        )

    return principal


def author(principal: Principal) -> str:
    """The author a REST write records: the principal's name, or `rest` without authentication."""
    return principal.name if principal.authenticated else ANONYMOUS_AUTHOR


Reader = Annotated[Principal, Depends(needs(AccessScope.READ))]
Writer = Annotated[Principal, Depends(needs(AccessScope.WRITE))]


@dataclass(frozen=True, slots=True)
class Write:
    """What every write passes to the service besides its fields: the version it expects
    (If-Match) and its author (the principal)."""

    expected_version: int | None
    author: str

    def arguments(self) -> dict[str, Any]:
        return {"expected_version": self.expected_version, "author": self.author}


async def _write(principal: Writer, if_match: IfMatch = "*") -> Write:
    return Write(expected_version(if_match), author(principal))


# A write endpoint's dependency: the write scope, and If-Match.
Writing = Annotated[Write, Depends(_write)]

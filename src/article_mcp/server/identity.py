"""The principal of the current request, whichever front it came through.

The HTTP front's authentication puts an `AccessToken` (client_id: the principal's name;
scopes: its scope) into the SDK's auth context (`AuthContextMiddleware`); MCP tools and REST
handlers read it here. No token in the context means nobody authenticated (stdio, or loopback
HTTP without AUTH_TOKEN and no token sent): the local user, with every scope.
"""

from __future__ import annotations

from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import AccessToken

from article_mcp.access.principals import LOCAL, Principal, Scope, widest


def current_principal() -> Principal:
    """Whoever the running request acts for."""
    token = get_access_token()
    if token is None:
        return LOCAL
    return Principal(name=token.client_id, scope=widest(token.scopes) or Scope.READ)


def access_token(principal: Principal, expires_at: int | None = None) -> AccessToken:
    """What a token verifier answers for `principal` (without the token itself: it is never kept)."""
    return AccessToken(
        token="", client_id=principal.name, scopes=[principal.scope.value], expires_at=expires_at
    )


def authenticated_user(principal: Principal) -> AuthenticatedUser:
    """What an authentication middleware stores as the ASGI scope's `user` for `principal`."""
    return AuthenticatedUser(access_token(principal))

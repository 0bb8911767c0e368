"""OAuth 2.1 for remote MCP clients, as the MCP authorization specification describes: this
server is a resource server only. It accepts bearer JWTs that OAUTH_ISSUER signed and
publishes at OAUTH_JWKS_URL, and serves the protected-resource metadata (RFC 9728) that
tells a client which authorization server to get one from.

A token is checked with PyJWT (signature against the issuer's keys, fetched and cached by
`PyJWKClient`; `exp`, `nbf`, `iss` exactly, `aud`), and its scopes (`scope`, space-separated,
or `scp`) are mapped onto ours: OAUTH_READ_SCOPE, OAUTH_WRITE_SCOPE, OAUTH_ADMIN_SCOPE. The
principal is named by `sub` (else `client_id`), the author of its writes. A token signed
right but granting none of our scopes is refused with 403 `insufficient_scope`; anything
else wrong is a 401 like any bad token. Only asymmetric algorithms are accepted, so a token
"signed" with a public key as an HMAC secret, or with `alg: none`, never passes.
"""

from __future__ import annotations

from typing import Any

import anyio.to_thread
import jwt
from jwt import PyJWKClient
from mcp.server.auth.provider import AccessToken
from mcp.server.auth.routes import build_resource_metadata_url, create_protected_resource_routes
from pydantic import AnyHttpUrl
from starlette.routing import Route

from article_mcp.access.principals import Principal, Scope
from article_mcp.config import Settings
from article_mcp.errors import InsufficientScopeError, TokenRefusedError, UnavailableError
from article_mcp.server.identity import access_token

ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")
# Clocks of the issuer and this server may differ a little.
LEEWAY_SECONDS = 30
# How long the issuer's key set is kept before it is fetched again (a new key id is fetched at once).
JWKS_LIFESPAN_SECONDS = 300
JWKS_TIMEOUT_SECONDS = 10
# Who a refusal before the token's claims can be trusted is logged as.
UNVERIFIED = "oauth"
# The MCP endpoint: the protected resource.
MCP_PATH = "/mcp"


def resource_url(settings: Settings) -> str:
    """This server's MCP endpoint as clients reach it: the resource its tokens are for."""
    return settings.public_url + MCP_PATH


def resource_metadata_url(settings: Settings) -> str:
    """Where the protected-resource metadata is (RFC 9728 section 3.1)."""
    return str(build_resource_metadata_url(AnyHttpUrl(resource_url(settings))))


def metadata_routes(settings: Settings) -> list[Route]:
    """The protected-resource metadata document, through the SDK's own route."""
    scopes = [settings.oauth_read_scope, settings.oauth_write_scope, settings.oauth_admin_scope]
    return create_protected_resource_routes(
        resource_url=AnyHttpUrl(resource_url(settings)),
        authorization_servers=[AnyHttpUrl(str(settings.oauth_issuer))],
        scopes_supported=scopes,
        resource_name="article-mcp",
    )


class JwtVerifier:
    """A `TokenVerifier` (the SDK's protocol) for the issuer's JWTs."""

    def __init__(self, settings: Settings) -> None:
        assert settings.oauth_issuer is not None, "OAUTH_ISSUER"
        assert settings.oauth_jwks_url is not None, "OAUTH_JWKS_URL"
        self._issuer = settings.oauth_issuer
        self._audience = settings.oauth_audience or resource_url(settings)
        self._scopes = {
            settings.oauth_read_scope: Scope.READ,
            settings.oauth_write_scope: Scope.WRITE,
            settings.oauth_admin_scope: Scope.ADMIN,
        }
        self._needed = settings.oauth_read_scope
        self._keys = PyJWKClient(
            settings.oauth_jwks_url,
            cache_keys=True,
            lifespan=JWKS_LIFESPAN_SECONDS,
            timeout=JWKS_TIMEOUT_SECONDS,
        )

    async def verify_token(self, token: str) -> AccessToken | None:
        """The principal of a valid JWT; None for a token that is not a JWT at all (another
        verifier's); TokenRefusedError for a JWT refused, with why."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.DecodeError:
            return None
        if header.get("alg") not in ALGORITHMS:
            raise TokenRefusedError(
                UNVERIFIED, f"jwt: algorithm {str(header.get('alg'))[:20]!r} not accepted"
            )
        claims = await self._verified_claims(token)
        name = claims.get("sub") or claims.get("client_id")
        if not isinstance(name, str) or not name:
            raise TokenRefusedError(UNVERIFIED, "jwt: no sub or client_id")
        granted = [self._scopes[item] for item in _scopes_of(claims) if item in self._scopes]
        if not granted:
            raise InsufficientScopeError(name, self._needed)
        widest = max(granted, key=lambda scope: scope.rank)
        return access_token(Principal(name, widest), expires_at=int(claims["exp"]))

    async def _verified_claims(self, token: str) -> dict[str, Any]:
        try:
            # PyJWKClient fetches with urllib (blocking): off the event loop.
            key = await anyio.to_thread.run_sync(self._keys.get_signing_key_from_jwt, token)
        except jwt.PyJWKClientConnectionError as exc:
            raise UnavailableError("cannot fetch the OAuth issuer's keys (OAUTH_JWKS_URL)") from exc
        except (jwt.PyJWKClientError, jwt.PyJWKError, jwt.DecodeError) as exc:
            raise TokenRefusedError(UNVERIFIED, "jwt: no key of the issuer's signs it") from exc
        try:
            return jwt.decode(
                token,
                key,
                algorithms=list(ALGORITHMS),
                audience=self._audience,
                issuer=self._issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.InvalidSignatureError as exc:
            raise TokenRefusedError(UNVERIFIED, "jwt: bad signature") from exc
        except (jwt.DecodeError, jwt.InvalidAlgorithmError) as exc:
            raise TokenRefusedError(UNVERIFIED, "jwt: malformed") from exc
        except jwt.InvalidTokenError as exc:
            # The signature was good (PyJWT checks it before the claims): `sub` can be believed.
            raise TokenRefusedError(_subject(token), f"jwt: {_reason(exc)}") from exc


def _scopes_of(claims: dict[str, Any]) -> list[str]:
    """The token's scopes: `scope` (RFC 9068, space-separated) or `scp` (a list, or a string)."""
    value = claims.get("scope", claims.get("scp", ""))
    if isinstance(value, str):
        return value.split()
    return [item for item in value if isinstance(item, str)] if isinstance(value, list) else []


def _subject(token: str) -> str:
    subject = jwt.decode(token, options={"verify_signature": False}).get("sub")
    return subject if isinstance(subject, str) and subject else UNVERIFIED


def _reason(exc: jwt.InvalidTokenError) -> str:
    reasons = {
        jwt.ExpiredSignatureError: "expired",
        jwt.ImmatureSignatureError: "not yet valid",
        jwt.InvalidAudienceError: "wrong audience",
        jwt.InvalidIssuerError: "wrong issuer",
    }
    return next((text for kind, text in reasons.items() if isinstance(exc, kind)), str(exc)[:100])

"""BearerAuth asks a chain of token verifiers (the SDK's TokenVerifier protocol) in turn."""

from __future__ import annotations

import httpx
import pytest
from mcp.server.auth.provider import AccessToken
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from structlog.testing import capture_logs

from article_mcp.errors import TokenRefusedError
from article_mcp.server.auth import AuthTokenVerifier, BearerAuth
from article_mcp.server.identity import current_principal

pytestmark = pytest.mark.anyio

TOKEN = "s3cret-token-with-length"


class Named:
    """Knows one token as `name` with `scope`; refuses `refused` by name."""

    def __init__(self, token: str, name: str, scope: str, refused: str = "") -> None:
        self.token, self.name, self.scope, self.refused = token, name, scope, refused
        self.asked: list[str] = []

    async def verify_token(self, token: str) -> AccessToken | None:
        self.asked.append(token)
        if token == self.refused:
            raise TokenRefusedError("gone", "revoked")
        if token != self.token:
            return None
        return AccessToken(token="", client_id=self.name, scopes=[self.scope])


def client(*verifiers: object, required: bool = True) -> httpx.AsyncClient:
    async def whoami(request: Request) -> PlainTextResponse:
        principal = current_principal()
        return PlainTextResponse(f"{principal.name}:{principal.scope}")

    app = BearerAuth(
        Starlette(routes=[Route("/mcp", whoami, methods=["POST"])]),
        verifiers,  # type: ignore[arg-type]
        open_paths=frozenset(),
        required=required,
    )
    return httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://x")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_the_first_verifier_that_answers_names_the_principal() -> None:
    second = Named("amcp_reader", "reader", "read")
    async with client(AuthTokenVerifier(TOKEN), second) as http:
        assert (await http.post("/mcp", headers=bearer(TOKEN))).text == "AUTH_TOKEN:admin"
        assert (await http.post("/mcp", headers=bearer("amcp_reader"))).text == "reader:read"
    assert second.asked == ["amcp_reader"]  # AUTH_TOKEN answered first; the chain stopped


async def test_a_refused_token_is_logged_by_name_and_answered_like_any_other() -> None:
    with capture_logs() as logs:
        async with client(Named("x", "x", "read", refused="amcp_old")) as http:
            refused = await http.post("/mcp", headers=bearer("amcp_old"))
            unknown = await http.post("/mcp", headers=bearer("amcp_never"))
    assert refused.status_code == unknown.status_code == 401
    expected = {"error": "unauthorized", "message": "invalid or missing token"}
    assert refused.json() == unknown.json() == expected
    failed = [entry for entry in logs if entry["event"] == "auth_failed"]
    assert [(entry["reason"], entry.get("token_name")) for entry in failed] == [
        ("revoked", "gone"),
        ("wrong token", None),
    ]
    assert not any("amcp_old" in str(entry) or "amcp_never" in str(entry) for entry in logs)


async def test_when_not_required_no_header_is_the_local_user_but_a_bad_token_is_refused() -> None:
    async with client(Named("amcp_w", "writer", "write"), required=False) as http:
        assert (await http.post("/mcp")).text == "local:admin"
        assert (await http.post("/mcp", headers=bearer("amcp_w"))).text == "writer:write"
        assert (await http.post("/mcp", headers=bearer("amcp_wrong"))).status_code == 401

"""The HTTP front's guards: bearer token, bind rule, and the hosts DNS-rebinding protection accepts."""

from __future__ import annotations

import anyio
import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from article_mcp.errors import ConfigError
from article_mcp.server.auth import AuthTokenVerifier, BearerAuth
from article_mcp.server.http import (
    HEALTH_PATH,
    SSE_PATH,
    SseSessionLimit,
    check_bind_address,
    is_loopback,
    transport_security,
)
from tests.conftest import make_settings

TOKEN = "s3cret-token-with-length"


def guarded() -> TestClient:
    async def hello(request: Request) -> PlainTextResponse:
        return PlainTextResponse("hello")

    app = Starlette(routes=[Route("/mcp", hello, methods=["GET", "POST"]), Route(HEALTH_PATH, hello)])
    return TestClient(BearerAuth(app, [AuthTokenVerifier(TOKEN)], open_paths=frozenset({HEALTH_PATH})))


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "Bearer",
        f"Bearer {TOKEN[:-1]}",
        f"Bearer {TOKEN}x",
        TOKEN,
        f"Basic {TOKEN}",
        f"Bearer{TOKEN}",
    ],
)
def test_requests_without_the_exact_token_get_401(header: str | None) -> None:
    headers = {} if header is None else {"Authorization": header}
    response = guarded().post("/mcp", headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer realm="article-mcp"'
    assert TOKEN not in response.text


def test_the_token_opens_every_path_and_health_needs_none() -> None:
    client = guarded()
    assert client.post("/mcp", headers={"Authorization": f"Bearer {TOKEN}"}).text == "hello"
    assert client.get(HEALTH_PATH).status_code == 200


@pytest.mark.parametrize("scheme", ["bearer", "BEARER", "bEaReR"])
def test_the_scheme_is_read_in_any_case(scheme: str) -> None:
    """RFC 9110: the authentication scheme is case-insensitive (`Authorization: bearer x`)."""
    assert guarded().post("/mcp", headers={"Authorization": f"{scheme}  {TOKEN}"}).text == "hello"


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.0.0.2", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("::", False),
        ("192.168.1.5", False),
        ("example.com", False),
    ],
)
def test_loopback_addresses(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_a_public_bind_needs_a_token_that_can_get_in() -> None:
    check_bind_address("127.0.0.1", make_settings())
    check_bind_address("0.0.0.0", make_settings(auth_token=TOKEN))
    check_bind_address("0.0.0.0", make_settings(), has_tokens=True)  # an access token can get in
    with pytest.raises(ConfigError, match="AUTH_TOKEN") as refused:
        check_bind_address("0.0.0.0", make_settings())
    assert "article-mcp tokens create" in refused.value.message


def test_allowed_hosts() -> None:
    security = transport_security("10.0.0.7", "articles.example.com, other.example")
    assert security.enable_dns_rebinding_protection
    for host in (
        "localhost:8000",
        "127.0.0.1",
        "[::1]:9",
        "10.0.0.7:8000",
        "articles.example.com",
        "other.example:1",
    ):
        assert host in security.allowed_hosts or f"{host.rsplit(':', 1)[0]}:*" in security.allowed_hosts
    assert "evil.example:*" not in security.allowed_hosts
    assert "https://articles.example.com" in security.allowed_origins
    wildcard = transport_security("0.0.0.0")
    assert not any(h.startswith("0.0.0.0") for h in wildcard.allowed_hosts)


@pytest.mark.anyio
async def test_sse_streams_past_the_session_bound_get_a_clear_503() -> None:
    entered, release = anyio.Event(), anyio.Event()

    async def stream(request: Request) -> PlainTextResponse:
        entered.set()
        await release.wait()
        return PlainTextResponse("stream")

    app = SseSessionLimit(Starlette(routes=[Route(SSE_PATH, stream), Route("/mcp", stream)]), limit=1)
    transport = httpx.ASGITransport(app)
    async with httpx.AsyncClient(transport=transport, base_url="http://x") as client:
        async with anyio.create_task_group() as tg:
            first: list[httpx.Response] = []

            async def open_first() -> None:
                first.append(await client.get(SSE_PATH))

            tg.start_soon(open_first)
            with anyio.fail_after(10):
                await entered.wait()
            refused = await client.get(SSE_PATH)
            release.set()
        assert (first[0].status_code, refused.status_code) == (200, 503)
        assert "HTTP_MAX_SESSIONS" in refused.json()["message"]
        assert (await client.get(SSE_PATH)).status_code == 200  # the first one's end made room

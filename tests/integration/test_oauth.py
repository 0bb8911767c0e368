"""OAuth for remote MCP clients: the HTTP front as a resource server, against an issuer whose
JWK Set the test serves itself on loopback. Valid, expired, wrong audience, wrong issuer, bad
signature and scopeless tokens; the protected-resource metadata and the challenges that
point to it; and a whole MCP session on a JWT, with its scope and its name."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager, nullcontext
from typing import Any

import anyio
import httpx
import httpx2
import jwt
import pytest
import structlog
import uvicorn
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from starlette.applications import Starlette

from article_mcp.config import Settings
from article_mcp.db.pool import Database
from article_mcp.server.app import create_server
from article_mcp.server.http import create_http_app
from tests.conftest import make_settings
from tests.integration.test_server import services
from tests.support.mcp_calls import READ_ONLY_TOOLS, TOOLS, call, fail
from tests.support.oauth_issuer import OAuthIssuer

pytestmark = pytest.mark.anyio

PUBLIC_URL = "https://articles.example.org"
RESOURCE = f"{PUBLIC_URL}/mcp"
METADATA_URL = f"{PUBLIC_URL}/.well-known/oauth-protected-resource/mcp"
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "t", "version": "1"},
    },
}
MCP_HEADERS = {"Accept": "application/json, text/event-stream"}


@pytest.fixture(scope="module")
def issuer() -> Iterator[OAuthIssuer]:
    with OAuthIssuer() as running:
        yield running


def oauth_app(database_url: str, db: Database, **settings: Any) -> Starlette:
    configured: Settings = make_settings(database_url, http_public_url=PUBLIC_URL, **settings)
    built = services(configured, db, None)
    server = create_server(built)

    async def healthy() -> bool:
        return True

    return create_http_app(server, built, "127.0.0.1", healthy)


@pytest.fixture
async def http(database_url: str, db: Database, issuer: OAuthIssuer) -> AsyncIterator[httpx.AsyncClient]:
    """The HTTP front without its lifespan: enough for what authentication answers itself."""
    app = oauth_app(database_url, db, **issuer.settings())
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1"
    ) as client:
        yield client


async def test_the_metadata_names_the_resource_the_issuer_and_the_scopes(
    http: httpx.AsyncClient, issuer: OAuthIssuer
) -> None:
    answer = await http.get("/.well-known/oauth-protected-resource/mcp")  # no token needed
    assert answer.status_code == 200
    document = answer.json()
    assert document["resource"] == RESOURCE
    assert [url.rstrip("/") for url in document["authorization_servers"]] == [issuer.url]
    assert document["scopes_supported"] == ["articles:read", "articles:write", "articles:admin"]
    assert document["bearer_methods_supported"] == ["header"]


async def test_a_request_without_a_token_is_pointed_to_the_metadata(http: httpx.AsyncClient) -> None:
    answer = await http.post("/mcp", json=INITIALIZE, headers=MCP_HEADERS)
    assert answer.status_code == 401
    assert f'resource_metadata="{METADATA_URL}"' in answer.headers["www-authenticate"]
    assert answer.json()["message"] == "invalid or missing token"


@contextmanager
def refusals() -> Iterator[list[dict[str, Any]]]:
    with structlog.testing.capture_logs() as logs:
        yield logs


@pytest.mark.parametrize(
    ("claims", "reason", "logged_as"),
    [
        ({"sub": "alice", "aud": RESOURCE, "expires_in": -300}, "jwt: expired", "alice"),
        ({"sub": "alice", "aud": "https://another.example/mcp"}, "jwt: wrong audience", "alice"),
        ({"sub": "alice", "aud": RESOURCE, "iss": "https://rogue.example"}, "jwt: wrong issuer", "alice"),
        ({"sub": "mallory", "aud": RESOURCE, "stranger": True}, "jwt: bad signature", "oauth"),
        ({"sub": "alice"}, 'jwt: Token is missing the "aud" claim', "alice"),
    ],
)
async def test_a_refused_jwt_gets_401_and_the_log_says_why(
    http: httpx.AsyncClient, issuer: OAuthIssuer, claims: dict[str, Any], reason: str, logged_as: str
) -> None:
    signer = issuer.stranger if claims.pop("stranger", False) else None
    token = issuer.token(signer=signer, scope="articles:admin", **claims)
    with refusals() as logs:
        answer = await http.post(
            "/mcp", json=INITIALIZE, headers={**MCP_HEADERS, "Authorization": f"Bearer {token}"}
        )
    assert answer.status_code == 401
    assert answer.json()["message"] == "invalid or missing token"
    assert f'resource_metadata="{METADATA_URL}"' in answer.headers["www-authenticate"]
    [event] = [log for log in logs if log["event"] == "auth_failed"]
    assert (event["reason"], event["token_name"]) == (reason, logged_as)
    assert token not in str(logs)


async def test_an_unsigned_or_hmac_signed_jwt_is_refused(
    http: httpx.AsyncClient, issuer: OAuthIssuer
) -> None:
    claims = {
        "iss": issuer.url,
        "sub": "mallory",
        "aud": RESOURCE,
        "exp": 4_000_000_000,
        "scope": "articles:admin",
    }
    for token in (
        jwt.encode(claims, None, algorithm="none"),
        jwt.encode(claims, "a-shared-secret-of-32-bytes-or-more!", algorithm="HS256"),
    ):
        answer = await http.get("/sse", headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 401


async def test_a_valid_jwt_without_our_scopes_gets_403_insufficient_scope(
    http: httpx.AsyncClient, issuer: OAuthIssuer
) -> None:
    token = issuer.token(sub="bob", aud=RESOURCE, scope="openid profile")
    with refusals() as logs:
        answer = await http.post(
            "/mcp", json=INITIALIZE, headers={**MCP_HEADERS, "Authorization": f"Bearer {token}"}
        )
    assert answer.status_code == 403
    challenge = answer.headers["www-authenticate"]
    assert 'error="insufficient_scope"' in challenge and 'scope="articles:read"' in challenge
    assert f'resource_metadata="{METADATA_URL}"' in challenge
    assert [log["token_name"] for log in logs if log["event"] == "auth_forbidden"] == ["bob"]


async def test_unreachable_issuer_keys_answer_503_not_401(
    database_url: str, db: Database, issuer: OAuthIssuer
) -> None:
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nothing listens there now
    app = oauth_app(database_url, db, **issuer.settings(oauth_jwks_url=f"http://127.0.0.1:{port}/jwks.json"))
    token = issuer.token(sub="alice", aud=RESOURCE, scope="articles:read")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1"
    ) as client:
        answer = await client.get("/sse", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 503


class _Uvicorn(uvicorn.Server):
    """uvicorn without signal handlers of its own: the test process keeps its own."""

    def capture_signals(self) -> Any:
        return nullcontext()


@asynccontextmanager
async def served(app: Starlette) -> AsyncIterator[str]:
    """The app on a real loopback port, lifespan and all; its MCP URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()  # connections wait in the backlog until uvicorn, started, accepts them
    server = _Uvicorn(uvicorn.Config(app, log_config=None, lifespan="on", access_log=False))
    async with anyio.create_task_group() as tg:
        tg.start_soon(server.serve, [sock])
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/mcp"
        server.should_exit = True


@asynccontextmanager
async def session(url: str, token: str) -> AsyncIterator[Client]:
    async with (
        httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}) as authorized,
        Client(streamable_http_client(url, http_client=authorized)) as client,
    ):
        yield client


async def test_a_session_on_a_jwt_acts_with_its_scope_and_its_name(
    database_url: str, db: Database, issuer: OAuthIssuer
) -> None:
    app = oauth_app(database_url, db, **issuer.settings())
    reader = issuer.token(sub="reader@example.org", aud=RESOURCE, scope="openid articles:read")
    writer = issuer.token(sub="alice@example.org", aud=[RESOURCE, "other"], scp=["articles:write"])
    async with served(app) as url:
        async with session(url, writer) as client:
            assert {tool.name for tool in (await client.list_tools()).tools} == TOOLS
            created = await call(client, "create_article", title="By OAuth", content="Signed in.")
            versions = await call(client, "list_versions", slug=created["slug"])
            assert versions["versions"][0]["author"] == "alice@example.org"
        async with session(url, reader) as client:
            assert {tool.name for tool in (await client.list_tools()).tools} == READ_ONLY_TOOLS
            assert (await call(client, "get_article", slug=created["slug"]))["content"] == "Signed in."
            refused = await fail(client, "delete_article", slug=created["slug"])
            assert "needs the 'write' scope" in refused

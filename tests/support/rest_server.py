"""The real HTTP app (REST beside /mcp) served by uvicorn on loopback, in the test's own event
loop, over the real services and database; an httpx client pointed at it."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import anyio
import httpx
import uvicorn
from mcp.server.auth.middleware.auth_context import AuthContextMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from article_mcp.access.principals import Principal
from article_mcp.config import Settings
from article_mcp.server.app import create_server
from article_mcp.server.http import create_http_app
from article_mcp.server.identity import authenticated_user
from article_mcp.server.runtime import Runtime, open_runtime
from article_mcp.worker.runs import run_pool

HOST = "127.0.0.1"


class _Uvicorn(uvicorn.Server):
    """uvicorn without signal handlers (the test runner owns the signals)."""

    def capture_signals(self) -> Any:
        return contextlib.nullcontext()


@dataclass(frozen=True)
class RestServer:
    """A served app: its base URL, a client on it, and the runtime behind it."""

    base: str
    client: httpx.AsyncClient
    runtime: Runtime


def as_principal(principal: Principal) -> Callable[[ASGIApp], ASGIApp]:
    """A test double of authentication: every request acts for `principal`."""

    def wrap(app: ASGIApp) -> ASGIApp:
        inner = AuthContextMiddleware(app)

        async def authenticated(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] == "http":
                scope["user"] = authenticated_user(principal)
            await inner(scope, receive, send)

        return authenticated

    return wrap


@contextlib.asynccontextmanager
async def serve_rest(
    settings: Settings,
    *,
    workers: bool = False,
    wrap: Callable[[ASGIApp], ASGIApp] | None = None,
    token: str | None = None,
) -> AsyncIterator[RestServer]:
    """Serve the app until the block ends; `workers` runs the embedding queue's workers beside
    it; `wrap` wraps the app (as_principal); `token` goes in every request of the client."""
    async with open_runtime(settings) as runtime:
        mcp = create_server(runtime.services)
        app: ASGIApp = create_http_app(mcp, runtime.services, HOST, runtime.database_ok)
        if wrap is not None:
            app = wrap(app)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind((HOST, 0))
        # Listening already: requests wait in the backlog until uvicorn has started.
        sock.listen(128)
        base = f"http://{HOST}:{sock.getsockname()[1]}"
        http = _Uvicorn(uvicorn.Config(app, log_config=None, lifespan="on", access_log=False))
        headers = {} if token is None else {"Authorization": f"Bearer {token}"}
        stopped = anyio.Event()

        async def serve() -> None:
            try:
                await http.serve(sockets=[sock])
            finally:
                stopped.set()

        async with anyio.create_task_group() as tg:
            if workers:
                assert runtime.embedding is not None
                embedding = runtime.embedding
                await tg.start(run_pool, settings, runtime.db, embedding.provider, embedding.model)
            tg.start_soon(serve)
            try:
                async with httpx.AsyncClient(base_url=base, headers=headers, timeout=60) as client:
                    yield RestServer(base, client, runtime)
            finally:
                http.should_exit = True
                with anyio.fail_after(30):
                    await stopped.wait()
                tg.cancel_scope.cancel()

"""`article-mcp serve`: the MCP server over stdio (default) or HTTP, with the embedding worker.

One anyio task group per process hosts the protocol loop and the worker pool side by side:
the worker belongs to the process, not to an MCP session (the SDK runs a server lifespan
once per SSE connection). In stdio mode stdout carries only the protocol; logs go to stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import socket
from collections.abc import Callable
from typing import Any

import anyio
import structlog
import uvicorn

from article_mcp.access.tokens import any_live_token
from article_mcp.cli.common import EXIT_OK, CommandContext
from article_mcp.config import Settings
from article_mcp.db.pool import pooled_connection
from article_mcp.errors import ConfigError
from article_mcp.server.app import ArticleServer, create_server
from article_mcp.server.http import MCP_PATH, SSE_PATH, check_bind_address, create_http_app
from article_mcp.server.runtime import Runtime, open_runtime
from article_mcp.server.stdio import serve_stdio
from article_mcp.worker.serving import run_pools

log = structlog.get_logger(__name__)


def register(commands: Any) -> None:
    """Add the `serve` command."""
    p = commands.add_parser("serve", help="run the MCP server (stdio by default) and the embedding worker")
    p.add_argument(
        "--transport",
        choices=("stdio", "http"),
        default="stdio",
        help="stdio for desktop clients (default); http serves /mcp (streamable HTTP), /sse, /health "
        "and the REST API (/api)",
    )
    p.add_argument("--host", default=None, help="HTTP bind address (default HTTP_HOST, 127.0.0.1)")
    p.add_argument("--port", type=int, default=None, help="HTTP port (default HTTP_PORT, 8000; 0 picks one)")
    p.set_defaults(handler=serve_command)


async def serve_command(args: argparse.Namespace, ctx: CommandContext) -> int:
    """Serve until the client goes away (stdio) or a signal arrives."""
    settings = ctx.settings
    host = args.host or settings.http_host
    async with open_runtime(settings) as runtime:
        if args.transport == "http":
            async with pooled_connection(runtime.db) as conn:
                check_bind_address(host, settings, has_tokens=await any_live_token(conn))
        server = create_server(runtime.services)
        async with anyio.create_task_group() as tg:
            await _start_worker(tg, runtime)
            # Not awaited: a listener still connecting must not hold up the protocol.
            tg.start_soon(server.updates.run)
            # The first query must not wait for the model to load (a local model takes seconds).
            tg.start_soon(runtime.services.search.warm_up)
            # Full text runs in SQL until the in-memory index is loaded (FULLTEXT_INDEX=memory).
            tg.start_soon(runtime.services.search.keep_fulltext_current)
            if args.transport == "stdio":
                tg.start_soon(_on_signal, tg.cancel_scope.cancel)
                await serve_stdio(server)
            else:
                port = settings.http_port if args.port is None else args.port
                await _serve_http(server, runtime, host, port)
            tg.cancel_scope.cancel()
    log.info("server_stopped")
    return EXIT_OK


async def _start_worker(tg: Any, runtime: Runtime) -> None:
    settings = runtime.settings
    if runtime.embeddings is None or not settings.embedding_queue_enabled:
        return
    if settings.embedding_concurrent_workers == 0:
        log.info("worker_disabled", reason="EMBEDDING_CONCURRENT_WORKERS=0; run `article-mcp worker`")
        return
    await tg.start(run_pools, settings, runtime.db, runtime.embeddings)


async def _on_signal(action: Callable[[], object]) -> None:
    """Run `action` at the first SIGINT or SIGTERM (handled here once for the whole process)."""
    with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async for received in signals:
            log.info("shutting_down", signal=signal.Signals(received).name)
            action()
            return


class _Uvicorn(uvicorn.Server):
    """uvicorn without signal handlers of its own (they would re-raise the signal at exit)."""

    def capture_signals(self) -> Any:
        return contextlib.nullcontext()


async def _serve_http(server: ArticleServer, runtime: Runtime, host: str, port: int) -> None:
    app = create_http_app(server, runtime.services, host, runtime.database_ok)
    sock = _bind(host, port)
    bound_port = sock.getsockname()[1]
    http = _Uvicorn(uvicorn.Config(app, log_config=None, lifespan="on", access_log=False))
    base = f"http://{_url_host(host)}:{bound_port}"
    log.info("http_listening", url=f"{base}{MCP_PATH}", sse=f"{base}{SSE_PATH}", auth=_auth(runtime.settings))
    async with anyio.create_task_group() as tg:
        tg.start_soon(_on_signal, lambda: setattr(http, "should_exit", True))
        await http.serve(sockets=[sock])
        tg.cancel_scope.cancel()


def _bind(host: str, port: int) -> socket.socket:
    """The listening socket, bound here so that port 0 yields a known port to log."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
    except OSError as exc:
        sock.close()
        raise ConfigError(f"HTTP_PORT: cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    return sock


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def _auth(settings: Settings) -> str:
    return "bearer token required" if settings.auth_token is not None else "none (loopback only)"

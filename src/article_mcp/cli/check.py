"""`article-mcp check ...`: checks an operator runs before (or while) serving.

    check provider   embed a test string with the configured provider: provider, model,
                     dimension and latency, or the classified error (exit 1)
    check config     every setting, its value (secrets masked), its source, and problems
                     (exit 1); see check_config.py

Each check is a function adding one subcommand to the `check` group; a new check is one more
entry in CHECKS.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

from rich.table import Table

from article_mcp.cli.check_config import register as register_config
from article_mcp.cli.common import EXIT_FAILURE, EXIT_OK, CommandContext
from article_mcp.config import redact_url
from article_mcp.embeddings.providers import create_provider
from article_mcp.embeddings.providers.base import EmbeddingProvider
from article_mcp.embeddings.providers.http import HttpProvider
from article_mcp.embeddings.providers.local import LocalProvider, model_location
from article_mcp.embeddings.registry import PROBE_TEXT
from article_mcp.errors import ProviderError, RateLimitedError


def register(commands: Any) -> None:
    """Add the `check` command group."""
    check = commands.add_parser("check", help="check the embedding provider and the settings")
    checks = check.add_subparsers(dest="check_command", required=True, metavar="CHECK")
    for add_check in CHECKS:
        add_check(checks)


def register_provider(checks: Any) -> None:
    """Add `check provider`."""
    p = checks.add_parser(
        "provider", help="embed a test string with the configured provider (exit 1 if it fails)"
    )
    p.add_argument("--text", default=PROBE_TEXT, help="the text to embed")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=provider_command)


CHECKS: tuple[Callable[[Any], None], ...] = (register_provider, register_config)


async def provider_command(args: argparse.Namespace, ctx: CommandContext) -> int:
    """Embed one text and report what came back, or the classified error."""
    provider = create_provider(ctx.settings)
    report: dict[str, Any] = {
        "provider": provider.name,
        "model": provider.model,
        "endpoint": endpoint(provider),
        "document_prefix": provider.prefixes.document.text,
        "query_prefix": provider.prefixes.query.text,
    }
    try:
        report.update(await _probe(provider, args.text))
    except ProviderError as exc:
        report.update(ok=False, error_kind=exc.kind, message=exc.message)
        if isinstance(exc, RateLimitedError):
            report["retry_after"] = exc.retry_after
    finally:
        await provider.aclose()
    if args.json:
        ctx.print_json(report)
    else:
        _show(ctx, report)
    return EXIT_OK if report["ok"] else EXIT_FAILURE


def endpoint(provider: EmbeddingProvider) -> str:
    """Where the provider's vectors come from: a URL (credentials hidden) or a model directory."""
    if isinstance(provider, HttpProvider):
        return redact_url(provider.url)
    if isinstance(provider, LocalProvider):
        return model_location(provider.model)
    return "?"


async def _probe(provider: EmbeddingProvider, text: str) -> dict[str, Any]:
    found: dict[str, Any] = {}
    if isinstance(provider, LocalProvider):
        # Loading is a one-time cost: reported apart from the latency of an embedding.
        started = time.perf_counter()
        await provider.loaded()
        found["load_ms"] = round((time.perf_counter() - started) * 1000, 1)
    started = time.perf_counter()
    batch = await provider.embed([text])
    found["latency_ms"] = round((time.perf_counter() - started) * 1000, 1)
    found.update(
        ok=True, dimensions=len(batch.vectors[0]), tokens=batch.tokens, tokens_from=batch.usage_source
    )
    return found


def _show(ctx: CommandContext, report: dict[str, Any]) -> None:
    table = Table("", "", show_header=False, box=None)
    shown = ("provider", "model", "endpoint", "document_prefix", "query_prefix", "dimensions", "load_ms")
    for key in (*shown, "latency_ms", "tokens", "tokens_from"):
        if key in report:
            value = report[key]
            table.add_row(
                key.replace("_ms", " (ms)").replace("_", " "), repr(value) if "prefix" in key else str(value)
            )
    ctx.console.print(table)
    if report["ok"]:
        ctx.console.print("OK: the provider embeds", markup=False)
        return
    ctx.errors.print(f"{report['error_kind']} error: {report['message']}", markup=False)
    ctx.errors.print(_ADVICE[report["error_kind"]], markup=False)


_ADVICE = {
    "transient": "it may pass: the queue retries such errors with backoff; check that the server runs",
    "rate_limited": "the provider asks to slow down; set EMBEDDING_REQUESTS_PER_MINUTE or"
    " EMBEDDING_TOKENS_PER_MINUTE below your limits",
    "permanent": "retrying will not help: fix the setting or the model named above",
}

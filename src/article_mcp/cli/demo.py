"""`article-mcp demo`: the newcomer's first command.

It starts `article-mcp serve` as a subprocess and talks to it over stdio with an MCP client,
as a desktop client would: writes a few sample articles, waits for the worker to embed them
(with a progress display), runs semantic searches whose words appear in no article, prints
what they found, and deletes its articles again (unless `--keep`). With the defaults it runs
offline: the embedded PostgreSQL in ARTICLE_MCP_DATA_DIR and the local model.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import IO, Any

import anyio
from mcp.client import Client
from mcp.client.stdio import StdioServerParameters, stdio_client
from pydantic import SecretStr
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from article_mcp.cli.common import EXIT_OK, CommandContext
from article_mcp.cli.operator import positive
from article_mcp.config import Settings
from article_mcp.errors import ArticleMcpError, UnavailableError, describe

FOLDER = "article-mcp-demo"
SAMPLES = (
    (
        "Brewing pour-over coffee",
        "# Brewing pour-over coffee\n\nGrind the beans medium-fine, like table salt. Heat the water to "
        "about 94 °C.\n\n## The bloom\n\nPour twice the coffee's weight in water and wait thirty seconds "
        "while the grounds release gas, then pour the rest in slow circles.",
    ),
    (
        "Keeping a sourdough starter",
        "# Keeping a sourdough starter\n\nFeed the starter equal weights of flour and water every day it "
        "lives on the counter. Once it doubles within a few hours it is ready to leaven bread.\n\n"
        "## Storing it\n\nIn the fridge it needs feeding once a week; a layer of grey liquid means it "
        "is hungry, not dead.",
    ),
    (
        "Training for a first marathon",
        "# Training for a first marathon\n\nBuild the weekly long run by no more than ten percent a week, "
        "up to about 32 km three weeks before the race.\n\n## Tapering\n\nCut the mileage in the last "
        "weeks so the legs arrive fresh, and practise drinking and eating on the run.",
    ),
    (
        "Repotting houseplants",
        "# Repotting houseplants\n\nWhen roots circle the bottom of the pot or grow out of the drainage "
        "holes, move the plant to a pot one size larger.\n\n## Soil\n\nUse fresh potting mix, water "
        "well, and keep the plant out of direct sun for a week while it settles.",
    ),
    (
        "Backing up PostgreSQL",
        "# Backing up PostgreSQL\n\n`pg_dump` writes a consistent snapshot of one database; continuous "
        "archiving of the write-ahead log allows point-in-time recovery.\n\n## Test the restore\n\n"
        "A backup nobody has restored is a hope, not a backup: restore it on another machine regularly.",
    ),
)
QUERIES = (
    "how do I keep my yeast culture alive",
    "getting ready for a long-distance race",
    "recovering data after the server crashed",
    "my fern looks cramped in its container",
)
POLL_SECONDS = 0.5


def register(commands: Any) -> None:
    """Add the `demo` command."""
    p = commands.add_parser(
        "demo", help="start the server, write sample articles, embed them and search them by meaning"
    )
    p.add_argument("--keep", action="store_true", help=f"keep the sample articles (folder {FOLDER!r})")
    p.add_argument(
        "--timeout", type=positive, default=600, metavar="SECONDS", help="wait this long for embeddings"
    )
    p.set_defaults(handler=demo_command)


async def demo_command(args: argparse.Namespace, ctx: CommandContext) -> int:
    """Write, embed and search sample articles through a real server over stdio."""
    ctx.console.print(f"Starting `article-mcp serve` (stdio) on {_where(ctx.settings)} ...")
    async with _connected(ctx.settings) as demo:
        slugs = await demo.write_samples(ctx)
        try:
            if ctx.settings.semantic_search_enabled:
                with anyio.move_on_after(args.timeout) as waited:
                    await demo.wait_for_embeddings(ctx, slugs)
                if waited.cancelled_caught:
                    raise UnavailableError(
                        f"articles not embedded after {args.timeout} s: see `article-mcp queue status`"
                    )
            else:
                ctx.console.print("SEMANTIC_SEARCH_ENABLED=false: the searches below run on full text alone")
            for query in QUERIES:
                await demo.search(ctx, query)
        finally:
            if not args.keep:
                await demo.delete(slugs)
    ctx.console.print(
        f"Done. Sample articles {'kept in folder ' + FOLDER if args.keep else 'deleted'}. "
        "Connect your MCP client to `article-mcp serve` to write your own."
    )
    return EXIT_OK


def _where(settings: Settings) -> str:
    if settings.embedded_database:
        return f"the embedded PostgreSQL in {settings.article_mcp_data_dir}"
    return "the database at DATABASE_URL"


def server_environment(settings: Settings) -> dict[str, str]:
    """The settings as environment variables, so the server runs with exactly ours."""
    env = {}
    for name in Settings.model_fields:
        value = getattr(settings, name)
        if value is None:
            continue
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        env[name.upper()] = str(value).lower() if isinstance(value, bool) else str(value)
    return env


@asynccontextmanager
async def _connected(settings: Settings) -> AsyncIterator[Demo]:
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "article_mcp", "serve"], env=server_environment(settings)
    )
    # The server's log goes to a file, shown only if something goes wrong.
    with tempfile.TemporaryFile("w+", encoding="utf-8") as log:
        try:
            async with Client(stdio_client(params, errlog=log), read_timeout_seconds=120) as client:
                yield Demo(client)
        except Exception as exc:
            inner = _sole_error(exc)
            if isinstance(inner, ArticleMcpError):
                raise inner from None
            raise UnavailableError(f"the server failed: {describe(inner)}\n{_tail(log)}") from exc


def _sole_error(exc: BaseException) -> BaseException:
    """The one error inside (nested) exception groups of one, as the client's task groups wrap it."""
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    return exc


def _tail(log: IO[str], lines: int = 20) -> str:
    log.seek(0)
    return "server log:\n" + "".join(log.readlines()[-lines:])


class Demo:
    """The demo's conversation with the server, one tool call at a time."""

    def __init__(self, client: Client) -> None:
        self._client = client

    async def call(self, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
        """Call a tool; a tool error becomes an ArticleMcpError with the server's message."""
        result = await self._client.call_tool(tool, arguments)
        if result.is_error:
            text = " ".join(getattr(part, "text", "") for part in result.content)
            raise ArticleMcpError(f"{tool} failed: {text}")
        return result.structured_content or {}

    async def write_samples(self, ctx: CommandContext) -> list[str]:
        """Create the sample articles (replacing those a `--keep` run left) and return their slugs."""
        await self.delete(await self._leftovers())
        slugs = []
        for title, content in SAMPLES:
            written = await self.call(
                "create_article", {"title": title, "content": content, "folder": FOLDER, "tags": ["demo"]}
            )
            slugs.append(written["slug"])
            ctx.console.print(f"  wrote {written['slug']!r}: embedding {written['embedding_status']}")
        return slugs

    async def _leftovers(self) -> list[str]:
        page = await self.call("list_articles", {"folder": FOLDER, "limit": 100})
        titles = {title for title, _ in SAMPLES}
        return [a["slug"] for a in page["articles"] if a["title"] in titles and a["folder"] == FOLDER]

    async def wait_for_embeddings(self, ctx: CommandContext, slugs: list[str]) -> None:
        """Poll the articles' embedding status until all are ready, with a progress bar."""
        columns = (TextColumn("embedding"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        waiting = set(slugs)
        with Progress(*columns, console=ctx.console, transient=True) as progress:
            bar = progress.add_task("embedding", total=len(slugs))
            while waiting:
                for slug in sorted(waiting):
                    status = (await self.call("get_article", {"slug": slug}))["embedding_status"]
                    if status == "failed":
                        raise ArticleMcpError(f"embedding {slug!r} failed: see `article-mcp queue failed`")
                    if status == "ready":
                        waiting.discard(slug)
                        progress.advance(bar)
                if waiting:
                    await anyio.sleep(POLL_SECONDS)
        ctx.console.print(f"  all {len(slugs)} articles embedded")

    async def search(self, ctx: CommandContext, query: str) -> None:
        """Search by meaning and print the best matches with their best passage."""
        found = await self.call("semantic_search", {"query": query, "k": 3, "mode": "semantic"})
        table = Table(
            "score", "article", "passage", title=f"semantic_search: {query!r}", title_justify="left"
        )
        for hit in found["results"]:
            passage = hit["passages"][0]["text"] if hit["passages"] else ""
            table.add_row(f"{hit['score']:.3f}", Text(hit["title"]), Text(_snippet(passage)))
        ctx.console.print(table)
        if found.get("notice"):
            ctx.console.print(Text(f"  note: {found['notice']}"))

    async def delete(self, slugs: list[str]) -> None:
        """Delete the demo's articles."""
        for slug in slugs:
            await self.call("delete_article", {"slug": slug})


def _snippet(text: str, length: int = 90) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= length else flat[: length - 1] + "…"

"""`article-mcp import PATH...` and `article-mcp export DIR`: markdown files in and out.

The work is in `articles.transfer`; here are the flags, the progress bar and the report. An
import exits 1 when any file failed (each failure is printed with its path and reason), and
an export likewise when any article could not be written.
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path
from typing import Any

from rich.text import Text

from article_mcp.articles.file_tree import markdown_files
from article_mcp.articles.service import ArticleService
from article_mcp.articles.transfer import (
    ExportResult,
    FileResult,
    ImportOptions,
    export_articles,
    import_files,
)
from article_mcp.cli.common import EXIT_FAILURE, EXIT_OK, CommandContext
from article_mcp.cli.operator import progress_bar
from article_mcp.db.pool import open_database
from article_mcp.server.runtime import open_runtime

# The order outcomes are counted in, on the bar and in the summary.
OUTCOMES = ("created", "updated", "unchanged", "skipped", "failed")


def register(commands: Any) -> None:
    """Add the `import` and `export` commands."""
    p = commands.add_parser(
        "import",
        help="import markdown files, or folders of them, as articles",
        description="Read markdown files (folders recursively) with optional YAML front matter "
        "(title, slug, folder, tags, no_rag, created) and write each as an article, queued for "
        "embedding. A file that cannot be imported is reported with its reason; the others go on.",
    )
    p.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="a markdown file or a folder")
    p.add_argument("--dry-run", action="store_true", help="check every file and report; write nothing")
    p.add_argument(
        "--conflict",
        choices=("skip", "rename", "overwrite"),
        default="skip",
        help="when the slug is taken: leave the article (default), take slug-2, ..., or replace it",
    )
    p.add_argument(
        "--folder-from-path",
        action="store_true",
        help="a file without a folder in its front matter goes in its directory's path",
    )
    p.add_argument(
        "--priority",
        choices=("high", "normal", "low"),
        default="low",
        help="of the embedding tasks (default low: agents' writes go first)",
    )
    p.set_defaults(handler=import_command)

    p = commands.add_parser(
        "export",
        help="write the articles as markdown files with front matter",
        description="Write each article to DIR/<folder>/<slug>.md with its front matter; "
        "`article-mcp import DIR` brings them back exactly. DIR must be new or empty.",
    )
    p.add_argument("directory", type=Path, metavar="DIR", help="a new or empty directory")
    p.add_argument("--folder", default="", metavar="F", help="only this folder and its subfolders")
    p.add_argument(
        "--with-history",
        action="store_true",
        help="also write each kept version to <folder>/.history/<slug>/<version>.md",
    )
    p.set_defaults(handler=export_command)


async def import_command(args: argparse.Namespace, ctx: CommandContext) -> int:
    """Import the files with a progress bar; print each failure, then the counts."""
    options = ImportOptions(
        conflict=args.conflict,
        priority=args.priority,
        folder_from_path=args.folder_from_path,
        dry_run=args.dry_run,
    )
    files = list(markdown_files(args.paths))  # walked first, so that the bar knows the total
    counts = Counter[str]()
    async with open_runtime(ctx.settings) as runtime:
        with progress_bar(ctx, "importing", disable=False, counts=True) as progress:
            bar = progress.add_task("importing", total=len(files), counts="")

            def report(result: FileResult) -> None:
                counts[result.outcome] += 1
                if result.outcome == "failed":  # skipped ones are expected when an import runs again
                    progress.console.print(Text(f"failed: {result.path}: {result.reason}"))
                if result.ignored:
                    keys = ", ".join(result.ignored)
                    progress.console.print(Text(f"note: {result.path}: front matter not imported: {keys}"))
                progress.update(bar, advance=1, counts=_counts(counts))

            await import_files(
                runtime.services.articles,
                files,
                options,
                max_bytes=ctx.settings.article_max_bytes,
                on_result=report,
            )
    prefix = "dry run, nothing written: would have " if args.dry_run else ""
    ctx.console.print(Text(f"{prefix}{_counts(counts) or 'no markdown files found'}"))
    return EXIT_FAILURE if counts["failed"] else EXIT_OK


def _counts(counts: Counter[str]) -> str:
    return ", ".join(f"{counts[name]} {name}" for name in OUTCOMES if counts[name])


async def export_command(args: argparse.Namespace, ctx: CommandContext) -> int:
    """Export the articles with a progress bar; print each article that could not be written."""
    done = Counter[str]()
    async with open_database(ctx.settings, migrate=True) as db:
        service = ArticleService(ctx.settings, db, None)  # reads only: nothing is queued
        total = (await service.list(args.folder, limit=1)).total
        with progress_bar(ctx, "exporting", disable=False) as progress:
            bar = progress.add_task("exporting", total=total)

            def report(result: ExportResult) -> None:
                done["exported" if result.path is not None else "failed"] += 1
                if result.path is None:
                    progress.console.print(Text(f"failed: {result.slug}: {result.reason}"))
                progress.advance(bar)

            await export_articles(
                service,
                args.directory,
                folder=args.folder,
                on_result=report,
                with_history=args.with_history,
            )
    failed = f", {done['failed']} failed" if done["failed"] else ""
    ctx.console.print(Text(f"exported {done['exported']} articles to {args.directory}{failed}"))
    return EXIT_FAILURE if done["failed"] else EXIT_OK

"""Import markdown files as articles and export articles as markdown files.

Every article an import writes goes through `ArticleService.create` or `update`, each in its
own transaction, so the article rules, slugs and the embedding queue work exactly as for an
agent's write; a file that breaks a rule is reported with its reason and the others go on.
Files are read and written in worker threads, and several files are written at once over
the pool (`IMPORT_CONCURRENCY`): a large import keeps the database busy instead of waiting
on one round trip at a time. The format is in `markdown_files`, the paths in `file_tree`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

import anyio
import anyio.abc

from article_mcp.articles.file_tree import (
    FoundFile,
    prepare_export_dir,
    write_export_file,
    write_history_file,
)
from article_mcp.articles.markdown_files import ArticleFile, parse_article, render_article, render_version
from article_mcp.articles.models import StoredArticle, StoredVersion
from article_mcp.articles.rules import check_content, check_folder, check_tags, check_title
from article_mcp.articles.service import ArticleService, NewArticle
from article_mcp.articles.slugs import check_slug, title_slug
from article_mcp.errors import ArticleMcpError, ConflictError, InvalidInputError, NotFoundError, describe
from article_mcp.queue.tasks import Priority

Conflict = Literal["skip", "rename", "overwrite"]
Outcome = Literal["created", "updated", "unchanged", "skipped", "failed"]

# Files written at once: enough to overlap reading, chunking and round trips; each holds a
# pooled connection only for its own transaction.
IMPORT_CONCURRENCY = 8
# What fails one file (its content breaks a rule, its slug is taken, it cannot be read); any
# other error (the database is gone) stops the import.
FILE_ERRORS = (InvalidInputError, ConflictError, OSError)
# Front matter a file may carry beyond ARTICLE_MAX_BYTES of content before it is not even read.
FRONT_MATTER_ALLOWANCE = 64 * 1024


@dataclass(frozen=True, slots=True)
class ImportOptions:
    """How an import treats its files."""

    conflict: Conflict = "skip"  # when the slug is taken
    priority: Priority = "low"  # of the embedding tasks, behind agents' writes
    folder_from_path: bool = False  # a file without a `folder` takes its directory's path
    dry_run: bool = False  # check every file and report what would happen; write nothing


@dataclass(frozen=True, slots=True)
class FileResult:
    """What became of one file (for a dry run: what would)."""

    path: Path
    outcome: Outcome
    slug: str | None = None
    reason: str | None = None  # why it failed or was skipped
    ignored: tuple[str, ...] = ()  # front matter keys not imported


async def import_files(
    service: ArticleService,
    files: Iterable[FoundFile],
    options: ImportOptions,
    *,
    max_bytes: int,
    on_result: Callable[[FileResult], None],
    concurrency: int = IMPORT_CONCURRENCY,
) -> None:
    """Import the files, `concurrency` at once; `on_result` hears of each as it is done."""
    send, receive = anyio.create_memory_object_stream[FoundFile](concurrency)

    async def work(queue: anyio.abc.ObjectReceiveStream[FoundFile]) -> None:
        async with queue:
            async for found in queue:
                on_result(await import_file(service, found, options, max_bytes=max_bytes))

    try:
        async with anyio.create_task_group() as group:
            async with receive:  # each worker holds a clone
                for _ in range(concurrency):
                    group.start_soon(work, receive.clone())
            async with send:
                for found in files:
                    await send.send(found)
    except BaseExceptionGroup as errors:
        # What stops one worker (the database is gone) stops the import: raise it as it is.
        raise errors.exceptions[0] from None


async def import_file(
    service: ArticleService, found: FoundFile, options: ImportOptions, *, max_bytes: int
) -> FileResult:
    """Read, parse and write one file; a broken rule is the file's failure, not the import's."""
    if found.refused is not None:
        return FileResult(found.path, "failed", reason=found.refused)
    try:
        article = parse_article(await _read(found.path, max_bytes), found.path.stem)
        folder = article.folder
        if folder is None:
            folder = found.folder if options.folder_from_path else ""
        slug = article.slug if article.slug is not None else title_slug(article.title)
        if options.dry_run:
            result = await _dry_run(service, found.path, article, folder, slug, options, max_bytes)
        else:
            result = await _write(service, found.path, article, folder, slug, options)
    except FILE_ERRORS as exc:
        return FileResult(found.path, "failed", reason=_reason(exc))
    return replace(result, ignored=article.ignored)


def _reason(exc: Exception) -> str:
    return exc.message if isinstance(exc, ArticleMcpError) else describe(exc)


async def _read(path: Path, max_bytes: int) -> bytes:
    def read() -> bytes:
        with path.open("rb") as file:
            data = file.read(max_bytes + FRONT_MATTER_ALLOWANCE + 1)
        if len(data) > max_bytes + FRONT_MATTER_ALLOWANCE:
            raise InvalidInputError(
                "file", f"is larger than ARTICLE_MAX_BYTES ({max_bytes}) and front matter allow"
            )
        return data

    return await anyio.to_thread.run_sync(read)


async def _write(
    service: ArticleService, path: Path, article: ArticleFile, folder: str, slug: str, options: ImportOptions
) -> FileResult:
    for _ in range(2):  # an overwrite whose article appears meanwhile overwrites that one
        if options.conflict == "overwrite":
            try:
                written = await service.update(
                    slug,
                    title=article.title,
                    content=article.content,
                    folder=folder,
                    tags=article.tags,
                    no_rag=article.no_rag,
                    priority=options.priority,
                )
                return FileResult(path, "updated" if written.changed else "unchanged", written.slug)
            except NotFoundError:
                pass
        try:
            return await _create(service, path, article, folder, slug, options)
        except ConflictError as exc:
            if options.conflict == "skip":
                return FileResult(path, "skipped", slug, reason=exc.message)
            if options.conflict == "rename":
                raise
    raise ConflictError(f"slug: {slug!r} kept changing while it was overwritten; import the file again")


async def _create(
    service: ArticleService, path: Path, article: ArticleFile, folder: str, slug: str, options: ImportOptions
) -> FileResult:
    new = NewArticle(
        slug=slug,
        on_taken="rename" if options.conflict == "rename" else "fail",
        created_at=article.created,
        priority=options.priority,
    )
    created = await service.create(
        article.title, article.content, folder=folder, tags=article.tags, no_rag=article.no_rag, new=new
    )
    return FileResult(path, "created", created.slug)


async def _dry_run(
    service: ArticleService,
    path: Path,
    article: ArticleFile,
    folder: str,
    slug: str,
    options: ImportOptions,
    max_bytes: int,
) -> FileResult:
    """The checks a write would make, then what it would do with the slug as it stands now."""
    check_title(article.title)
    check_content(article.content, max_bytes)
    check_folder(folder)
    check_tags(article.tags)
    check_slug(slug)
    try:
        await service.get(slug)
    except NotFoundError:
        return FileResult(path, "created", slug)
    outcome: dict[Conflict, Outcome] = {"skip": "skipped", "rename": "created", "overwrite": "updated"}
    return FileResult(path, outcome[options.conflict], slug, reason=f"slug: {slug!r} is taken")


@dataclass(frozen=True, slots=True)
class ExportResult:
    """One article's file, or why it could not be written."""

    slug: str
    path: Path | None
    reason: str | None = None


async def export_articles(
    service: ArticleService,
    directory: Path,
    *,
    folder: str,
    on_result: Callable[[ExportResult], None],
    with_history: bool = False,
) -> None:
    """Write every article of `folder` (and its subfolders) under `directory`, which must be
    new or empty, from one snapshot of the database; `with_history` adds each kept version."""
    root = prepare_export_dir(directory)
    async for batch in service.stored(folder, with_history=with_history):
        for result in await anyio.to_thread.run_sync(_write_batch, root, batch):
            on_result(result)


def _write_batch(
    root: Path, batch: Sequence[tuple[StoredArticle, Sequence[StoredVersion]]]
) -> list[ExportResult]:
    return [_write_one(root, article, versions) for article, versions in batch]


def _write_one(root: Path, article: StoredArticle, versions: Sequence[StoredVersion]) -> ExportResult:
    try:
        path = write_export_file(root, article.folder, article.slug, render_article(article))
        for version in versions:
            data = render_version(version)
            write_history_file(root, article.folder, article.slug, version.version, data)
        return ExportResult(article.slug, path)
    except FILE_ERRORS as exc:
        return ExportResult(article.slug, None, reason=_reason(exc))

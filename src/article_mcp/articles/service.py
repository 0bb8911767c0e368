"""The article service: every front end (MCP tools, CLI, demo) reads and writes through it.

Each write is one transaction: the article row, its passages and its embedding task commit
together or not at all (the steps are in `editor` and `writes`), so an article is never left without the
task that embeds it, and full-text search finds it the moment the write returns. The write
path never calls an embedding provider (an import-linter contract keeps it so); with the
queue disabled, the `after_write` hook the runtime passes in embeds the new tasks after the
commit. Every write also records a version (`history`) in its transaction; a write given an
`expected_version` the article has moved on from fails before anything is written. Reads are
in `reads`, the history's in `versions`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import asyncpg

from article_mcp.articles import history
from article_mcp.articles.editor import AfterWrite, ArticleEditor, Edit
from article_mcp.articles.history import ALL_FIELDS, Note, check_expected
from article_mcp.articles.models import ArticleDeletion, ArticleWrite
from article_mcp.articles.reads import not_found
from article_mcp.articles.rules import (
    check_content,
    check_folder,
    check_tags,
    check_text,
    check_title,
    check_version,
)
from article_mcp.articles.slugs import check_slug, slugify
from article_mcp.articles.versions import VersionReads, tracked_article
from article_mcp.articles.writes import content_hash, insert_with_free_slug, insert_with_slug, revive
from article_mcp.db.pool import pooled_connection
from article_mcp.db.sql import Queries
from article_mcp.errors import ConflictError, InvalidInputError, NotFoundError
from article_mcp.passages import store
from article_mcp.passages.chunking import Chunk
from article_mcp.queue import tasks
from article_mcp.queue.tasks import Priority

QUERIES = Queries("article_mcp.articles", "service.sql")

__all__ = ["AfterWrite", "ArticleService", "NewArticle"]

# What a create does when its slug is taken: take the next free `slug-2`, `slug-3`, ... or fail.
OnTaken = Literal["rename", "fail"]


@dataclass(frozen=True, slots=True)
class NewArticle:
    """How a create places a new article, where the defaults will not do (imports)."""

    slug: str | None = None  # default: made from the title
    on_taken: OnTaken = "rename"
    created_at: datetime | None = None  # default: now
    priority: Priority = "normal"  # of its embedding task


class ArticleService(ArticleEditor, VersionReads):
    """Create, update, delete and restore articles; read, list and match them
    (`ArticleReads`); read their history (`VersionReads`).

    `message` and `author` of a write go into its version: the author is whoever the front
    end says wrote it (the MCP client's name).
    """

    # -- writes ---------------------------------------------------------------------------

    async def create(
        self,
        title: str,
        content: str,
        *,
        folder: str = "",
        tags: Sequence[str] = (),
        no_rag: bool = False,
        message: str | None = None,
        author: str | None = None,
        new: NewArticle | None = None,
    ) -> ArticleWrite:
        """Create an article with a slug made from its title (or `new.slug`); queue its embedding."""
        new = new or NewArticle()
        title = check_title(title)
        content = check_content(content, self._settings.article_max_bytes)
        folder = check_folder(folder)
        clean_tags = check_tags(tags)
        note = Note.checked(message, author)
        chunks = [] if no_rag else await self._chunk(title, content)
        row, task_id = await self._insert(title, content, folder, clean_tags, no_rag, chunks, note, new)
        return await self._written(row, task_id, list(ALL_FIELDS))

    async def _insert(
        self,
        title: str,
        content: str,
        folder: str,
        tags: list[str],
        no_rag: bool,
        chunks: list[Chunk],
        note: Note,
        new: NewArticle,
    ) -> tuple[asyncpg.Record, int | None]:
        config = self._settings.text_search_config
        digest = content_hash(title, content)
        fields = (title, content, folder, tags, no_rag, digest, config, new.created_at)
        base = slugify(title) if new.slug is None else check_slug(new.slug)
        insert = insert_with_free_slug if new.on_taken == "rename" else insert_with_slug
        async with pooled_connection(self._db, transaction=True) as conn:
            row = await insert(conn, base, fields)
            await self._record(conn, row, "create", ALL_FIELDS, note)
            task_id = None if no_rag else await self._write_chunks(conn, row, chunks, new.priority)
        return row, task_id

    async def update(
        self,
        slug: str,
        *,
        title: str | None = None,
        content: str | None = None,
        folder: str | None = None,
        tags: Sequence[str] | None = None,
        no_rag: bool | None = None,
        new_slug: str | None = None,
        expected_version: int | None = None,
        message: str | None = None,
        author: str | None = None,
        priority: Priority = "normal",
    ) -> ArticleWrite:
        """Change the given fields; the slug stays unless `new_slug` renames it. A change of
        the text queues its embedding at `priority`."""
        edit = Edit(
            slug=None if new_slug is None else check_slug(new_slug, "new_slug"),
            title=None if title is None else check_title(title),
            content=None if content is None else check_content(content, self._settings.article_max_bytes),
            folder=None if folder is None else check_folder(folder),
            tags=None if tags is None else check_tags(tags),
            no_rag=no_rag,
        )
        if all(value is None for value in (new_slug, title, content, folder, tags, no_rag)):
            raise InvalidInputError(
                "arguments", "give at least one of title, content, folder, tags, no_rag, new_slug"
            )
        note = Note.checked(message, author)
        try:
            async with pooled_connection(self._db, transaction=True) as conn:
                current = await _locked(conn, slug)
                check_expected(slug, current["version"], expected_version)
                row, task_id, changed = await self._apply(conn, current, edit, note, priority=priority)
        except asyncpg.UniqueViolationError:
            raise ConflictError(f"new_slug: {new_slug!r} is already the slug of another article") from None
        return await self._written(row, task_id, changed)

    async def delete(
        self,
        slug: str,
        *,
        purge: bool = False,
        expected_version: int | None = None,
        message: str | None = None,
        author: str | None = None,
    ) -> ArticleDeletion:
        """Delete an article, its chunks, and its embedding tasks still to run. Its history
        stays (the deletion its last version) unless `purge`; `purge` on the slug of a deleted
        article removes the history it kept."""
        note = Note.checked(message, author)
        async with pooled_connection(self._db, transaction=True) as conn:
            current = await conn.fetchrow(QUERIES["lock_article"], slug)
            if current is None and purge:
                return await _purge_deleted(conn, slug, expected_version)
            if current is None:
                raise not_found(slug)
            check_expected(slug, current["version"], expected_version)
            version, purged = None, 0
            if purge:
                purged = await history.purge(conn, current["id"])
            else:
                version = current["version"] + 1
                await history.record(
                    conn, current["id"], version, "delete", changed=(), note=note, keep=self._keep
                )
            cancelled = await tasks.cancel_for_articles(conn, [current["id"]])
            # Through passages.store, so the lexical statistics lose the article's passages too.
            await store.remove_chunks(conn, [current["id"]])
            await conn.execute(QUERIES["delete_article"], current["id"])
        return ArticleDeletion(
            slug=current["slug"],
            title=current["title"],
            cancelled_tasks=cancelled,
            version=version,
            purged_versions=purged,
        )

    async def restore(
        self,
        slug: str,
        version: int,
        *,
        deleted: bool = False,
        expected_version: int | None = None,
        message: str | None = None,
        author: str | None = None,
    ) -> ArticleWrite:
        """Make a past version's title, content, folder, tags and no_rag current again, as a
        new version (the slug stays). A deleted article comes back under its slug; `deleted`
        means the deleted article that had the slug even when a live one has it now."""
        note = Note.checked(message, author)
        async with pooled_connection(self._db, transaction=True) as conn:
            current = None if deleted else await conn.fetchrow(QUERIES["lock_article"], slug)
            if current is None:
                tracked = await tracked_article(conn, slug, deleted=True, asked_deleted=deleted)
                row, task_id = await self._revive(conn, slug, tracked, version, expected_version, note)
                changed = list(ALL_FIELDS)
            else:
                past = await _past(conn, slug, current["id"], version)
                check_expected(slug, current["version"], expected_version)
                restoring = Edit(
                    title=past["title"],
                    content=past["content"],
                    folder=past["folder"],
                    tags=list(past["tags"]),
                    no_rag=past["no_rag"],
                )
                row, task_id, changed = await self._apply(
                    conn, current, restoring, note, restored_from=version
                )
        return await self._written(row, task_id, changed)

    async def _revive(
        self,
        conn: asyncpg.Connection,
        slug: str,
        tracked: history.Tracked,
        version: int,
        expected: int | None,
        note: Note,
    ) -> tuple[asyncpg.Record, int | None]:
        """Bring the deleted article with this slug back as it was at `version`."""
        past = await _past(conn, slug, tracked.article_id, version)
        check_expected(slug, tracked.version, expected)
        taken = await conn.fetchrow(QUERIES["lock_article"], slug)
        if taken is not None:
            raise ConflictError(
                f"slug: {slug!r} is now the slug of another article (at version {taken['version']}); "
                "rename that one (update_article new_slug) or delete it, then restore again"
            )
        config = self._settings.text_search_config
        row = await revive(conn, tracked.article_id, slug, tracked.version + 1, past, config)
        await self._record(conn, row, "restore", ALL_FIELDS, note, restored_from=version)
        if row["no_rag"]:
            return row, None
        chunks = await self._chunk(row["title"], str(past["content"]))
        return row, await self._write_chunks(conn, row, chunks)


async def _locked(conn: asyncpg.Connection, slug: str) -> asyncpg.Record:
    row = await conn.fetchrow(QUERIES["lock_article"], check_text(slug, "slug"))
    if row is None:
        raise not_found(slug)
    return row


async def _past(conn: asyncpg.Connection, slug: str, article_id: int, version: int) -> asyncpg.Record:
    past = await history.version_row(conn, article_id, check_version(version))
    if past is None:
        raise NotFoundError(
            f"version: article {slug!r} has no version {version} (list_versions shows those kept)"
        )
    return past


async def _purge_deleted(conn: asyncpg.Connection, slug: str, expected: int | None) -> ArticleDeletion:
    """Remove the history a deleted article kept."""
    tracked = await tracked_article(conn, slug, deleted=True)
    check_expected(slug, tracked.version, expected)
    last = await history.version_row(conn, tracked.article_id, None)
    assert last is not None
    purged = await history.purge(conn, tracked.article_id)
    return ArticleDeletion(
        slug=slug, title=last["title"], cancelled_tasks=0, version=None, purged_versions=purged
    )

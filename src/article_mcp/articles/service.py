"""The article service: every front end (MCP tools, CLI, demo) reads and writes through it.

Each write is one transaction: the article row, its passages and its embedding task commit
together or not at all (the steps are in `writes`), so an article is never left without the
task that embeds it, and full-text search finds it the moment the write returns. The write
path never calls an embedding provider (an import-linter contract keeps it so); with the
queue disabled, the `after_write` hook the runtime passes in embeds the new tasks after the
commit. Reads are in `reads`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import asyncpg

from article_mcp.articles.models import ArticleDeletion, ArticleWrite
from article_mcp.articles.reads import ArticleReads, article_row, not_found
from article_mcp.articles.rules import check_content, check_folder, check_tags, check_text, check_title
from article_mcp.articles.slugs import check_slug, slugify
from article_mcp.articles.writes import (
    chunk_in_thread,
    content_hash,
    insert_with_free_slug,
    queue_and_store,
    slug_taken,
    write_indexed,
)
from article_mcp.config import Settings
from article_mcp.db.pool import Database, pooled_connection
from article_mcp.db.sql import Queries
from article_mcp.errors import ConflictError, InvalidInputError
from article_mcp.passages import store
from article_mcp.passages.chunking import Chunk
from article_mcp.queue import tasks

QUERIES = Queries("article_mcp.articles", "service.sql")

AfterWrite = Callable[[Sequence[int]], Awaitable[None]]


@dataclass(slots=True)
class _Edit:
    """The fields an update changes: None leaves a field as it is."""

    slug: str | None = None
    title: str | None = None
    content: str | None = None
    folder: str | None = None
    tags: list[str] | None = None
    no_rag: bool | None = None
    changed: list[str] = field(default_factory=list)

    @property
    def text_changed(self) -> bool:
        return self.title is not None or self.content is not None


class ArticleService(ArticleReads):
    """Create, update and delete articles; read, list and match them (`ArticleReads`)."""

    def __init__(
        self, settings: Settings, db: Database, model_id: int | None, *, after_write: AfterWrite | None = None
    ) -> None:
        super().__init__(settings, db, model_id)
        self._after_write = after_write

    # -- writes ---------------------------------------------------------------------------

    async def create(
        self, title: str, content: str, *, folder: str = "", tags: Sequence[str] = (), no_rag: bool = False
    ) -> ArticleWrite:
        """Create an article with a slug made from its title; queue its embedding."""
        title = check_title(title)
        content = check_content(content, self._settings.article_max_bytes)
        folder = check_folder(folder)
        clean_tags = check_tags(tags)
        chunks = [] if no_rag else await self._chunk(title, content)
        row, task_id = await self._insert(title, content, folder, clean_tags, no_rag, chunks)
        changed = ["slug", "title", "content", "folder", "tags", "no_rag"]
        return await self._written(row, task_id, changed)

    async def _insert(
        self, title: str, content: str, folder: str, tags: list[str], no_rag: bool, chunks: list[Chunk]
    ) -> tuple[asyncpg.Record, int | None]:
        config = self._settings.text_search_config
        fields = (title, content, folder, tags, no_rag, content_hash(title, content), config)
        async with pooled_connection(self._db, transaction=True) as conn:
            row = await insert_with_free_slug(conn, slugify(title), fields)
            task_id = None if no_rag else await self._write_chunks(conn, row, chunks)
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
    ) -> ArticleWrite:
        """Change the given fields; the slug stays unless `new_slug` renames it."""
        edit = _Edit(
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
        try:
            row, task_id, changed = await self._update(slug, edit)
        except asyncpg.UniqueViolationError:
            raise ConflictError(f"new_slug: {new_slug!r} is already the slug of another article") from None
        return await self._written(row, task_id, changed)

    async def _update(self, slug: str, edit: _Edit) -> tuple[asyncpg.Record, int | None, list[str]]:
        async with pooled_connection(self._db, transaction=True) as conn:
            current = await _locked(conn, slug)
            edit = _against(edit, current)
            if not edit.changed:
                row = await article_row(conn, slug)
                assert row is not None
                return row, None, []
            if edit.slug is not None and await slug_taken(conn, edit.slug):
                raise ConflictError(f"new_slug: {edit.slug!r} is already the slug of another article")
            row = await self._save(conn, current, edit)
            task_id = await self._rechunk(conn, current, row, edit)
        return row, task_id, edit.changed

    async def _save(self, conn: asyncpg.Connection, current: asyncpg.Record, edit: _Edit) -> asyncpg.Record:
        digest = None
        if edit.text_changed:
            digest = content_hash(edit.title or current["title"], _content(edit, current))
        return await write_indexed(
            conn,
            QUERIES["update_article"],
            current["id"],
            edit.slug,
            edit.title,
            edit.content,
            edit.folder,
            edit.tags,
            edit.no_rag,
            digest,
            self._settings.text_search_config,
        )

    async def _rechunk(
        self, conn: asyncpg.Connection, current: asyncpg.Record, row: asyncpg.Record, edit: _Edit
    ) -> int | None:
        """Keep chunks and tasks in step with the update; return the task queued, if any."""
        if row["no_rag"]:
            if not current["no_rag"]:
                await tasks.cancel_for_articles(conn, [row["id"]], reason="article marked no_rag")
                await store.remove_chunks(conn, [row["id"]])
            return None
        if not (edit.text_changed or current["no_rag"]):
            return None  # folder, tags or slug only: the passages are as they were
        chunks = await self._chunk(row["title"], _content(edit, current))
        return await self._write_chunks(conn, row, chunks)

    async def delete(self, slug: str) -> ArticleDeletion:
        """Delete an article, its chunks, and its embedding tasks still to run."""
        async with pooled_connection(self._db, transaction=True) as conn:
            current = await _locked(conn, slug)
            cancelled = await tasks.cancel_for_articles(conn, [current["id"]])
            # Through passages.store, so the lexical statistics lose the article's passages too.
            await store.remove_chunks(conn, [current["id"]])
            await conn.execute(QUERIES["delete_article"], current["id"])
        return ArticleDeletion(slug=current["slug"], title=current["title"], cancelled_tasks=cancelled)

    async def _chunk(self, title: str, content: str) -> list[Chunk]:
        return await chunk_in_thread(self._settings, title, content)

    async def _write_chunks(
        self, conn: asyncpg.Connection, row: asyncpg.Record, chunks: list[Chunk]
    ) -> int | None:
        articles = [(row["id"], row["version"], chunks)]
        task_ids = await queue_and_store(
            conn, self._settings, self._model_id, articles, queue_ids=[row["id"]], source="write"
        )
        return task_ids[0] if task_ids else None

    async def _written(self, row: asyncpg.Record, task_id: int | None, changed: list[str]) -> ArticleWrite:
        """The write's result, once committed (and embedded, when the queue is disabled)."""
        if task_id is not None and self._after_write is not None:
            await self._after_write([task_id])
        statuses = await self._statuses([row])
        return ArticleWrite.model_validate(
            {
                **dict(row),
                "embedding_status": statuses[row["id"]],
                "embedding_task_id": task_id,
                "changed": changed,
            }
        )


async def _locked(conn: asyncpg.Connection, slug: str) -> asyncpg.Record:
    row = await conn.fetchrow(QUERIES["lock_article"], check_text(slug, "slug"))
    if row is None:
        raise not_found(slug)
    return row


def _against(edit: _Edit, current: asyncpg.Record) -> _Edit:
    """The edit without the fields that would not change; `changed` names the others."""
    values: dict[str, Any] = {}
    for name in ("slug", "title", "content", "folder", "tags", "no_rag"):
        value = getattr(edit, name)
        if value is not None and value != current[name]:
            values[name] = value
    cleared = {name: None for name in ("slug", "title", "content", "folder", "tags", "no_rag")}
    return replace(edit, **{**cleared, **values, "changed": list(values)})


def _content(edit: _Edit, current: asyncpg.Record) -> str:
    return edit.content if edit.content is not None else str(current["content"])

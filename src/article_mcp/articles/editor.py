"""The steps of the article service's writes on one article: apply an edit to the locked
row, record the version, keep passages and embedding tasks in step, and the write's result.

`ArticleService` (service.py) checks the input and opens the transaction; these run inside
it. The steps every write and `db reindex` share are in `writes`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import asyncpg

from article_mcp.articles import history
from article_mcp.articles.history import Note
from article_mcp.articles.models import ArticleWrite, VersionOperation
from article_mcp.articles.reads import ArticleReads, article_row
from article_mcp.articles.writes import (
    chunk_in_thread,
    content_hash,
    queue_and_store,
    slug_taken,
    write_indexed,
)
from article_mcp.config import Settings
from article_mcp.db.pool import Database
from article_mcp.db.sql import Queries
from article_mcp.errors import ConflictError
from article_mcp.passages import store
from article_mcp.passages.chunking import Chunk
from article_mcp.queue import tasks
from article_mcp.queue.tasks import Priority

QUERIES = Queries("article_mcp.articles", "editor.sql")

AfterWrite = Callable[[Sequence[int]], Awaitable[None]]


@dataclass(slots=True)
class Edit:
    """The fields an update (or a restore) changes: None leaves a field as it is."""

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


class ArticleEditor(ArticleReads):
    """The write steps of the article service, over the reads it returns results with."""

    def __init__(
        self, settings: Settings, db: Database, model_id: int | None, *, after_write: AfterWrite | None = None
    ) -> None:
        super().__init__(settings, db, model_id)
        self._after_write = after_write
        # ARTICLE_HISTORY_MAX_VERSIONS: each write prunes its article's history to this (0: all).
        self._keep = settings.article_history_max_versions

    async def _apply(
        self,
        conn: asyncpg.Connection,
        current: asyncpg.Record,
        edit: Edit,
        note: Note,
        *,
        restored_from: int | None = None,
        priority: Priority = "normal",
    ) -> tuple[asyncpg.Record, int | None, list[str]]:
        """Change what differs in the locked article and record the version; nothing when
        nothing differs."""
        edit = against(edit, current)
        if not edit.changed:
            row = await article_row(conn, current["slug"])
            assert row is not None
            return row, None, []
        if edit.slug is not None and await slug_taken(conn, edit.slug):
            raise ConflictError(f"new_slug: {edit.slug!r} is already the slug of another article")
        row = await self._save(conn, current, edit)
        operation = "restore" if restored_from is not None else history.update_operation(edit.changed)
        await self._record(conn, row, operation, edit.changed, note, restored_from=restored_from)
        task_id = await self._rechunk(conn, current, row, edit, priority)
        return row, task_id, edit.changed

    async def _save(self, conn: asyncpg.Connection, current: asyncpg.Record, edit: Edit) -> asyncpg.Record:
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
        self,
        conn: asyncpg.Connection,
        current: asyncpg.Record,
        row: asyncpg.Record,
        edit: Edit,
        priority: Priority,
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
        return await self._write_chunks(conn, row, chunks, priority)

    async def _record(
        self,
        conn: asyncpg.Connection,
        row: asyncpg.Record,
        operation: VersionOperation,
        changed: Sequence[str],
        note: Note,
        *,
        restored_from: int | None = None,
    ) -> None:
        await history.record(
            conn,
            row["id"],
            row["version"],
            operation,
            changed=changed,
            note=note,
            keep=self._keep,
            restored_from=restored_from,
        )

    async def _chunk(self, title: str, content: str) -> list[Chunk]:
        return await chunk_in_thread(self._settings, title, content)

    async def _write_chunks(
        self,
        conn: asyncpg.Connection,
        row: asyncpg.Record,
        chunks: list[Chunk],
        priority: Priority = "normal",
    ) -> int | None:
        articles = [(row["id"], row["version"], chunks)]
        task_ids = await queue_and_store(
            conn,
            self._settings,
            self._model_id,
            articles,
            queue_ids=[row["id"]],
            source="write",
            priority=priority,
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


def against(edit: Edit, current: asyncpg.Record) -> Edit:
    """The edit without the fields that would not change; `changed` names the others."""
    values: dict[str, Any] = {}
    for name in ("slug", "title", "content", "folder", "tags", "no_rag"):
        value = getattr(edit, name)
        if value is not None and value != current[name]:
            values[name] = value
    cleared = {name: None for name in ("slug", "title", "content", "folder", "tags", "no_rag")}
    return replace(edit, **{**cleared, **values, "changed": list(values)})


def _content(edit: Edit, current: asyncpg.Record) -> str:
    return edit.content if edit.content is not None else str(current["content"])

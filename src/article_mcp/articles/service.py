"""The article service: every front end (MCP tools, CLI, demo) reads and writes through it.

Each write is one transaction: the article row, its chunks (chunk_store) and its embedding
task (tasks.enqueue) commit together or not at all, so an article is never left without the
task that embeds it, and full-text search finds it the moment the write returns. The write
path never calls an embedding provider (this module imports none); with the queue disabled,
the `after_write` hook the runtime passes in embeds the new tasks after the commit.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any, cast

import anyio
import asyncpg
import structlog

from article_mcp.articles.models import (
    Article,
    ArticleDeletion,
    ArticleMatch,
    ArticleMatches,
    ArticlePage,
    ArticleSummary,
    ArticleWrite,
    EmbeddingStatus,
    FolderCount,
    FolderList,
)
from article_mcp.articles.rules import (
    check_content,
    check_folder,
    check_page,
    check_query,
    check_tags,
    check_title,
    escape_like,
)
from article_mcp.articles.slugs import MAX_SLUG_LENGTH, check_slug, slugify, with_suffix
from article_mcp.config import Settings
from article_mcp.db.pool import CONNECTION_ERRORS, Database, unavailable
from article_mcp.db.sql import Queries
from article_mcp.errors import ConflictError, InvalidInputError, NotFoundError
from article_mcp.passages import store
from article_mcp.passages.chunking import Chunk, chunk_article
from article_mcp.queue import tasks

QUERIES = Queries("article_mcp.articles", "service.sql")
log = structlog.get_logger(__name__)

MAX_PAGE = 100
# Suffixes tried per round trip when the slug of a title is taken.
_SLUG_CANDIDATES = 20
# A slug taken by a concurrent writer after our look-up is retried (in a savepoint) this often.
_SLUG_ATTEMPTS = 100
# PostgreSQL refuses a tsvector over 1 MB, which an article of many distinct tokens (logs,
# encoded data) can reach. Such an article's search vector covers this many characters of its
# text, which stays below the limit whatever the text; the chunks index all of it.
SEARCH_INDEX_FALLBACK_CHARS = 100_000

AfterWrite = Callable[[Sequence[int]], Awaitable[None]]


async def chunk_in_thread(settings: Settings, title: str, content: str) -> list[Chunk]:
    """The article's chunks under the settings' chunk size and overlap."""
    chunker = partial(chunk_article, max_tokens=settings.chunk_size, overlap=settings.chunk_overlap)
    # Chunking a large article takes a while: keep the event loop serving others meanwhile.
    return await anyio.to_thread.run_sync(chunker, title, content)


def content_hash(title: str, content: str) -> str:
    """sha256 of title and content (NUL never occurs in either, so it separates them)."""
    return hashlib.sha256(f"{title}\x00{content}".encode()).hexdigest()


@asynccontextmanager
async def pooled_connection(db: Database, *, transaction: bool = False) -> AsyncIterator[asyncpg.Connection]:
    """A pooled connection (in a transaction if asked), a lost database translated."""
    try:
        async with db.pool.acquire() as proxy:
            # The pool hands out a proxy that behaves as the connection it wraps.
            conn = cast(asyncpg.Connection, proxy)
            if not transaction:
                yield conn
                return
            async with conn.transaction():
                yield conn
    except CONNECTION_ERRORS as exc:
        raise unavailable(db.dsn, exc) from exc


def _folder_args(folder: str) -> tuple[str, str]:
    return folder, escape_like(folder) + "/%"


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


class ArticleService:
    """Create, update, delete, read, list and search articles."""

    def __init__(
        self, settings: Settings, db: Database, model_id: int | None, *, after_write: AfterWrite | None = None
    ) -> None:
        self._settings = settings
        self._db = db
        # None when semantic search is off: nothing is queued and every status is `disabled`.
        self._model_id = model_id if settings.semantic_search_enabled else None
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
            row = await _insert_with_free_slug(conn, slugify(title), fields)
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
                row = await conn.fetchrow(QUERIES["get_article"], slug)
                assert row is not None
                return row, None, []
            if edit.slug is not None and await conn.fetchval(QUERIES["taken_slugs"], [edit.slug]):
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
            # Through chunk_store, so the lexical statistics lose the article's passages too.
            await store.remove_chunks(conn, [current["id"]])
            await conn.execute(QUERIES["delete_article"], current["id"])
        return ArticleDeletion(slug=current["slug"], title=current["title"], cancelled_tasks=cancelled)

    async def _chunk(self, title: str, content: str) -> list[Chunk]:
        return await chunk_in_thread(self._settings, title, content)

    async def _write_chunks(
        self, conn: asyncpg.Connection, row: asyncpg.Record, chunks: list[Chunk]
    ) -> int | None:
        task_id = None
        if self._model_id is not None:
            task_ids = await tasks.enqueue(
                conn,
                [row["id"]],
                self._model_id,
                source="write",
                max_attempts=tasks.max_attempts(self._settings.embedding_max_retries),
            )
            task_id = task_ids[0]
        # Last: it locks the corpus statistics row, which every write needs, until the commit.
        await store.replace_chunks(
            conn,
            row["id"],
            row["version"],
            chunks,
            text_search_config=self._settings.text_search_config,
        )
        return task_id

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

    # -- reads ----------------------------------------------------------------------------

    async def get(self, slug: str) -> Article:
        """The whole article with its embedding status and latest task."""
        async with pooled_connection(self._db) as conn:
            row = await conn.fetchrow(QUERIES["get_article"], slug)
            if row is None:
                raise _not_found(slug)
            status = await self._status_rows(conn, [row])
        return Article.model_validate(
            {**dict(row), "embedding_status": status[row["id"]][0], "embedding_task_id": status[row["id"]][1]}
        )

    async def list(self, folder: str = "", *, limit: int = 20, offset: int = 0) -> ArticlePage:
        """A page of articles in a folder and its subfolders, most recently changed first."""
        folder = check_folder(folder)
        check_page(limit, offset, max_limit=MAX_PAGE)
        async with pooled_connection(self._db) as conn:
            rows = await conn.fetch(QUERIES["list_articles"], *_folder_args(folder), limit, offset)
            total = await conn.fetchval(QUERIES["count_articles"], *_folder_args(folder))
            statuses = await self._statuses(rows, conn)
        articles = [_summary(row, statuses) for row in rows]
        more = offset + len(rows) < total
        return ArticlePage(
            articles=articles, total=total, offset=offset, next_offset=offset + len(rows) if more else None
        )

    async def folders(self) -> FolderList:
        """Every folder with its article counts."""
        async with pooled_connection(self._db) as conn:
            rows = await conn.fetch(QUERIES["list_folders"])
        root, *others = rows
        return FolderList(
            folders=[
                FolderCount(folder=r["folder"], articles=r["articles"], total=r["total"]) for r in others
            ],
            root_articles=root["articles"],
            total_articles=root["total"],
        )

    async def search(self, query: str, *, folder: str = "", limit: int = 10) -> ArticleMatches:
        """Articles whose title contains the query or whose text matches it, best first."""
        query = check_query(query)
        folder = check_folder(folder)
        check_page(limit, 0, max_limit=MAX_PAGE)
        pattern = f"%{escape_like(query)}%"
        config = self._settings.text_search_config
        async with pooled_connection(self._db) as conn:
            rows = await conn.fetch(
                QUERIES["search_articles"], query, config, pattern, *_folder_args(folder), limit
            )
            statuses = await self._statuses(rows, conn)
        return ArticleMatches(query=query, results=[_match(row, statuses) for row in rows])

    # -- embedding status -----------------------------------------------------------------

    async def _statuses(
        self, rows: Sequence[asyncpg.Record], conn: asyncpg.Connection | None = None
    ) -> dict[int, EmbeddingStatus]:
        if conn is None:
            async with pooled_connection(self._db) as own:
                found = await self._status_rows(own, rows)
        else:
            found = await self._status_rows(conn, rows)
        return {article_id: status for article_id, (status, _) in found.items()}

    async def _status_rows(
        self, conn: asyncpg.Connection, rows: Sequence[asyncpg.Record]
    ) -> dict[int, tuple[EmbeddingStatus, int | None]]:
        """(status, latest task id) per article: `disabled` for no_rag or semantic search off."""
        result: dict[int, tuple[EmbeddingStatus, int | None]] = {
            row["id"]: ("disabled", None) for row in rows
        }
        rag_ids = [row["id"] for row in rows if not row["no_rag"]]
        if self._model_id is None or not rag_ids:
            return result
        found = await tasks.embedding_statuses(conn, rag_ids, self._model_id)
        result.update({article_id: (s.status, s.task_id) for article_id, s in found.items()})
        return result


async def _insert_with_free_slug(
    conn: asyncpg.Connection, base: str, fields: tuple[Any, ...]
) -> asyncpg.Record:
    """Insert with the first free slug from `base`; one taken meanwhile moves on to the next."""
    for _ in range(_SLUG_ATTEMPTS):
        slug = await _free_slug(conn, base)
        try:
            async with conn.transaction():  # a savepoint: a lost race leaves the transaction usable
                return await write_indexed(conn, QUERIES["insert_article"], slug, *fields)
        except asyncpg.UniqueViolationError:
            continue
    raise ConflictError("title: too many articles are being created with this title at once; retry")


async def write_indexed(conn: asyncpg.Connection, query: str, *args: Any) -> asyncpg.Record:
    """Run an article write indexing the whole text, or its start if the vector is too large."""
    try:
        async with conn.transaction():
            row = await conn.fetchrow(query, *args, None)
    except asyncpg.ProgramLimitExceededError:
        log.warning("search_vector_truncated", indexed_chars=SEARCH_INDEX_FALLBACK_CHARS)
        row = await conn.fetchrow(query, *args, SEARCH_INDEX_FALLBACK_CHARS)
    assert row is not None
    return row


async def _free_slug(conn: asyncpg.Connection, base: str) -> str:
    """`base`, or the first of `base-2`, `base-3`, ... that no article uses."""
    start = 1
    while True:
        candidates = [
            base if n == 1 else with_suffix(base, n) for n in range(start, start + _SLUG_CANDIDATES)
        ]
        taken = {row["slug"] for row in await conn.fetch(QUERIES["taken_slugs"], candidates)}
        free = [c for c in candidates if c not in taken]
        if free:
            assert len(free[0]) <= MAX_SLUG_LENGTH
            return free[0]
        start += _SLUG_CANDIDATES


async def _locked(conn: asyncpg.Connection, slug: str) -> asyncpg.Record:
    row = await conn.fetchrow(QUERIES["lock_article"], slug)
    if row is None:
        raise _not_found(slug)
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


def _not_found(slug: str) -> NotFoundError:
    return NotFoundError(f"slug: no article has the slug {slug!r}")


def _summary(row: asyncpg.Record, statuses: dict[int, EmbeddingStatus]) -> ArticleSummary:
    return ArticleSummary.model_validate({**dict(row), "embedding_status": statuses[row["id"]]})


def _match(row: asyncpg.Record, statuses: dict[int, EmbeddingStatus]) -> ArticleMatch:
    matched = "title+content" if row["title_match"] and row["text_match"] else None
    matched = matched or ("title" if row["title_match"] else "content")
    return ArticleMatch.model_validate(
        {
            **dict(row),
            "embedding_status": statuses[row["id"]],
            "matched": matched,
            "score": float(row["score"]),
        }
    )

"""The article service's reads: one article, a page of a folder, the folders, a text match,
and the embedding status each result carries."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

import asyncpg

from article_mcp.articles import history
from article_mcp.articles.models import (
    Article,
    ArticleMatch,
    ArticleMatches,
    ArticlePage,
    ArticleSummary,
    EmbeddingStatus,
    FolderCount,
    FolderList,
    StoredArticle,
    StoredVersion,
)
from article_mcp.articles.rules import (
    check_folder,
    check_page,
    check_query,
    check_tags,
    check_text,
    escape_like,
)
from article_mcp.config import Settings
from article_mcp.db.pool import Database, pooled_connection
from article_mcp.db.sql import Queries
from article_mcp.errors import NotFoundError
from article_mcp.queue import tasks

QUERIES = Queries("article_mcp.articles", "reads.sql")

MAX_PAGE = 100
# Articles per round trip when every article of a folder is read (an export).
STORED_BATCH = 200


class ArticleReads:
    """Read, list and match articles, each with its embedding status."""

    def __init__(self, settings: Settings, db: Database, model_id: int | None) -> None:
        self._settings = settings
        self._db = db
        # None when semantic search is off: nothing is queued and every status is `disabled`.
        self._model_id = model_id if settings.semantic_search_enabled else None

    async def get(self, slug: str) -> Article:
        """The whole article with its embedding status and latest task."""
        async with pooled_connection(self._db) as conn:
            row = await article_row(conn, slug)
            if row is None:
                raise not_found(slug)
            status = await self._status_rows(conn, [row])
        return Article.model_validate(
            {**dict(row), "embedding_status": status[row["id"]][0], "embedding_task_id": status[row["id"]][1]}
        )

    async def list(
        self, folder: str = "", *, tags: Sequence[str] = (), limit: int = 20, offset: int = 0
    ) -> ArticlePage:
        """A page of articles in a folder and its subfolders carrying every one of `tags`, most
        recently changed first."""
        folder = check_folder(folder)
        wanted = check_tags(tags)
        check_page(limit, offset, max_limit=MAX_PAGE)
        async with pooled_connection(self._db) as conn:
            rows = await conn.fetch(QUERIES["list_articles"], *_folder_args(folder), limit, offset, wanted)
            total = await conn.fetchval(QUERIES["count_articles"], *_folder_args(folder), wanted)
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

    async def slugs_starting(self, prefix: str, *, limit: int) -> tuple[Sequence[str], int]:
        """Up to `limit` slugs starting with `prefix` (in order), and how many there are in all."""
        async with pooled_connection(self._db) as conn:
            rows = await conn.fetch(QUERIES["complete_slugs"], prefix, limit)
        return [row["slug"] for row in rows], rows[0]["total"] if rows else 0

    async def ready_slugs(self, article_ids: Sequence[int]) -> Sequence[str]:
        """The slugs of those of these articles whose embedding is ready (every current passage
        has a vector for the model); none when semantic search is off."""
        if self._model_id is None or not article_ids:
            return []
        async with pooled_connection(self._db) as conn:
            rows = await conn.fetch(QUERIES["articles_by_id"], list(article_ids))
            statuses = await self._status_rows(conn, rows)
        return sorted(row["slug"] for row in rows if statuses[row["id"]][0] == "ready")

    @property
    def model_id(self) -> int | None:
        """The model whose embeddings statuses describe; None when semantic search is off."""
        return self._model_id

    async def stored(
        self, folder: str = "", *, with_history: bool = False
    ) -> AsyncIterator[Sequence[tuple[StoredArticle, Sequence[StoredVersion]]]]:
        """Every article in a folder and its subfolders, by slug, in batches, all from one
        snapshot: articles written meanwhile neither appear half nor twice. With
        `with_history`, each with its kept versions, oldest first (else none)."""
        folder = check_folder(folder)
        async with (
            pooled_connection(self._db) as conn,
            conn.transaction(isolation="repeatable_read", readonly=True),
        ):
            after = ""
            while rows := await conn.fetch(
                QUERIES["stored_articles"], *_folder_args(folder), after, STORED_BATCH
            ):
                ids = [row["id"] for row in rows]
                versions = await history.stored_versions(conn, ids) if with_history else {}
                yield [(StoredArticle.model_validate(dict(row)), versions.get(row["id"], [])) for row in rows]
                after = rows[-1]["slug"]

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


async def article_row(conn: asyncpg.Connection, slug: str) -> asyncpg.Record | None:
    """The article with this slug, None when there is none."""
    row: asyncpg.Record | None = await conn.fetchrow(QUERIES["get_article"], check_text(slug, "slug"))
    return row


def not_found(slug: str) -> NotFoundError:
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


def _folder_args(folder: str) -> tuple[str, str]:
    return folder, escape_like(folder) + "/%"

"""Reading an article's history: its versions newest first, one version, a diff of two."""

from __future__ import annotations

from typing import Literal

import asyncpg

from article_mcp.articles import history
from article_mcp.articles.models import VersionDetail, VersionPage, VersionSummary
from article_mcp.articles.rules import check_page, check_version
from article_mcp.db.pool import Database, pooled_connection
from article_mcp.errors import NotFoundError

MAX_VERSIONS_PAGE = 100

DiffAgainst = int | Literal["current"]


class VersionReads:
    """The history reads of the article service."""

    _db: Database

    async def list_versions(
        self, slug: str, *, limit: int = 20, before: int | None = None, deleted: bool = False
    ) -> VersionPage:
        """Versions of the article (live, else deleted; only deleted with `deleted`), newest
        first, below `before` if given."""
        check_page(limit, 0, max_limit=MAX_VERSIONS_PAGE)
        if before is not None:
            check_version(before, "before")
        async with pooled_connection(self._db) as conn:
            tracked = await tracked_article(conn, slug, deleted=deleted)
            # One more than asked for says whether there is a next page.
            rows, total = await history.version_rows(conn, tracked.article_id, before=before, limit=limit + 1)
        more, rows = len(rows) > limit, rows[:limit]
        return VersionPage(
            slug=slug,
            deleted=not tracked.live,
            deleted_also=tracked.shadows_deleted,
            current_version=tracked.version,
            total=total,
            versions=[VersionSummary.model_validate(dict(row)) for row in rows],
            next_before=rows[-1]["version"] if more else None,
        )

    async def get_version(
        self, slug: str, version: int, *, diff_against: DiffAgainst | None = None, deleted: bool = False
    ) -> VersionDetail:
        """One version with its content, or the diff of its content from `diff_against`
        (another version, or `current`: the newest) to it."""
        async with pooled_connection(self._db) as conn:
            tracked = await tracked_article(conn, slug, deleted=deleted)
            row = await _version(conn, slug, tracked, version, "version")
            if diff_against is None:
                return VersionDetail.model_validate(dict(row))
            base = None if diff_against == "current" else diff_against
            other = await _version(conn, slug, tracked, base, "diff_against")
        return VersionDetail.model_validate(
            {
                **dict(row),
                "content": None,
                "diff_against": other["version"],
                "diff": history.unified_diff(slug, other, row),
            }
        )


async def tracked_article(
    conn: asyncpg.Connection, slug: str, *, deleted: bool, asked_deleted: bool | None = None
) -> history.Tracked:
    """The article this slug names (see `history.find`), or a NotFoundError saying so, worded
    for what the caller asked (`asked_deleted`, when it differs from the look-up's `deleted`)."""
    tracked = await history.find(conn, slug, deleted=deleted)
    if tracked is None:
        only_deleted = deleted if asked_deleted is None else asked_deleted
        kind = "deleted article" if only_deleted else "article, live or deleted,"
        raise NotFoundError(f"slug: no {kind} has the slug {slug!r}")
    return tracked


async def _version(
    conn: asyncpg.Connection, slug: str, tracked: history.Tracked, version: int | None, field: str
) -> asyncpg.Record:
    row = await history.version_row(
        conn, tracked.article_id, None if version is None else check_version(version, field)
    )
    if row is None:
        raise NotFoundError(
            f"{field}: article {slug!r} has no version {version} (list_versions shows those kept)"
        )
    return row

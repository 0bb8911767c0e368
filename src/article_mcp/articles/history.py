"""Version history: the `article_versions` table, written inside each write's own transaction.

Every create, update, rename, delete and restore records the article as it then stands (a
full copy, which TOAST compresses; BENCHMARKS.md has the cost), so an article and its history
never disagree. The table has no foreign key to `articles`: a deleted article's history stays,
its last version the deletion, and its slug at deletion still finds it (`find`), so that a
restore can bring it back under its id. The reads (`list_versions`, `get_version`) are in
`versions`.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

from article_mcp.articles.models import PruneReport, StoredVersion, VersionOperation
from article_mcp.articles.rules import AUTHOR_MAX_LENGTH, MESSAGE_MAX_LENGTH, check_note
from article_mcp.db.sql import Queries
from article_mcp.errors import VersionConflictError

QUERIES = Queries("article_mcp.articles", "history.sql")

# Every field a create sets, in the order `changed` lists them.
ALL_FIELDS = ("slug", "title", "content", "folder", "tags", "no_rag")


@dataclass(frozen=True, slots=True)
class Note:
    """Why a write was made and by whom, as its version records them."""

    message: str | None = None
    author: str | None = None

    @classmethod
    def checked(cls, message: str | None, author: str | None) -> Note:
        """A note from caller input: each part trimmed, at most its length; blank means none."""
        return cls(
            check_note(message, "message", MESSAGE_MAX_LENGTH),
            check_note(author, "author", AUTHOR_MAX_LENGTH),
        )


@dataclass(frozen=True, slots=True)
class Tracked:
    """An article as the history knows it: live, or deleted with its history kept."""

    article_id: int
    live: bool
    version: int  # the newest: the current version, or the deletion
    # A live article's slug was also the slug of a deleted article whose history is kept.
    shadows_deleted: bool = False


async def record(
    conn: asyncpg.Connection,
    article_id: int,
    version: int,
    operation: VersionOperation,
    *,
    changed: Sequence[str],
    note: Note,
    keep: int,
    restored_from: int | None = None,
) -> None:
    """Record the article's row as `version`; keep only its newest `keep` versions (0: all)."""
    await conn.execute(
        QUERIES["record_version"],
        article_id,
        version,
        operation,
        list(changed),
        note.message,
        note.author,
        restored_from,
        keep,
    )


def update_operation(changed: Sequence[str]) -> VersionOperation:
    """What an update that changed these fields is called in the history."""
    return "rename" if "slug" in changed else "update"


async def find(conn: asyncpg.Connection, slug: str, *, deleted: bool = False) -> Tracked | None:
    """The live article with this slug, else (or, with `deleted`, only) the deleted article
    whose deletion had it."""
    rows = await conn.fetch(QUERIES["find_article"], slug, deleted)
    if not rows:
        return None
    first = rows[0]
    return Tracked(first["article_id"], first["live"], first["version"], first["live"] and len(rows) > 1)


async def version_row(
    conn: asyncpg.Connection, article_id: int, version: int | None
) -> asyncpg.Record | None:
    """Version `version` of the article with its content (None: the newest)."""
    row: asyncpg.Record | None = await conn.fetchrow(QUERIES["get_version"], article_id, version)
    return row


async def version_rows(
    conn: asyncpg.Connection, article_id: int, *, before: int | None, limit: int
) -> tuple[list[asyncpg.Record], int]:
    """A page of versions below `before`, newest first, without content; and how many are kept."""
    rows = await conn.fetch(QUERIES["list_versions"], article_id, before, limit)
    total: int = await conn.fetchval(QUERIES["count_versions"], article_id)
    return rows, total


async def stored_versions(
    conn: asyncpg.Connection, article_ids: Sequence[int]
) -> dict[int, list[StoredVersion]]:
    """Every kept version of these articles, oldest first, by article id."""
    found: dict[int, list[StoredVersion]] = {article_id: [] for article_id in article_ids}
    for row in await conn.fetch(QUERIES["stored_versions"], list(article_ids)):
        found[row["article_id"]].append(StoredVersion.model_validate(dict(row)))
    return found


async def purge(conn: asyncpg.Connection, article_id: int) -> int:
    """Remove the article's whole history; return how many versions went."""
    removed: int = await conn.fetchval(QUERIES["purge_article"], article_id)
    return removed


async def prune(conn: asyncpg.Connection, keep: int, *, dry_run: bool) -> PruneReport:
    """Keep only the newest `keep` versions of every article, live or deleted."""
    row = await conn.fetchrow(QUERIES["prune_history"], keep, dry_run)
    assert row is not None
    return PruneReport(
        keep=keep, articles=row["articles"], versions=row["versions"], kept=row["kept"], dry_run=dry_run
    )


def check_expected(slug: str, current: int, expected: int | None) -> None:
    """Refuse a write made against a version the article has moved on from."""
    if expected is None or expected == current:
        return
    raise VersionConflictError(
        f"expected_version: article {slug!r} is at version {current}, not {expected}; nothing was "
        f"written. Read it again (get_article; list_versions shows what changed) and retry with "
        f"expected_version={current}",
        current=current,
        expected=expected,
    )


def unified_diff(slug: str, old: asyncpg.Record, new: asyncpg.Record) -> str:
    """The content's changes from version `old` to version `new`, as a unified diff."""
    lines = difflib.unified_diff(
        str(old["content"]).splitlines(keepends=True),
        str(new["content"]).splitlines(keepends=True),
        fromfile=f"{slug}@{old['version']}",
        tofile=f"{slug}@{new['version']}",
    )
    # A last line without a newline would run into the next header: end every line.
    return "".join(
        line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines
    )

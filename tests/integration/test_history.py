"""Version history and edit conflicts through the article service, on the real database: every
write records a version in its own transaction, restore brings back old text and deleted
articles, expected_version refuses stale writes, and retention prunes old versions."""

from __future__ import annotations

from typing import Any

import anyio
import asyncpg
import pytest

from article_mcp.articles import history
from article_mcp.articles.service import ArticleService
from article_mcp.config import Settings
from article_mcp.db.migrate import migrate, migrate_to_latest
from article_mcp.db.pool import Database, create_pool
from article_mcp.errors import ConflictError, InvalidInputError, NotFoundError
from tests.conftest import make_settings
from tests.integration.test_articles import LONG_TEXT, count, tasks_of

pytestmark = pytest.mark.anyio


@pytest.fixture
async def service(settings: Settings, db: Database, model_id: int) -> ArticleService:
    return ArticleService(settings, db, model_id)


@pytest.fixture
async def model_id(db: Database) -> int:
    value: int = await db.pool.fetchval(
        "INSERT INTO embedding_models (provider, name, dimensions) VALUES ('test', 'm', 3) RETURNING id"
    )
    return value


async def versions_table(db: Database) -> list[asyncpg.Record]:
    return await db.pool.fetch("SELECT * FROM article_versions ORDER BY article_id, version")


async def test_every_write_records_a_version_with_its_message_and_author(service: ArticleService) -> None:
    await service.create("Notes", "first", tags=["a"], message="start", author="claude-code")
    await service.update("notes", content="second", author="cursor")
    await service.update("notes", folder="archive", tags=["a", "b"])
    await service.update("notes", new_slug="old-notes", message="rename")
    deletion = await service.delete("old-notes", message="not needed")
    restored = await service.restore("old-notes", 2, message="needed after all", author="claude-code")

    page = await service.list_versions("old-notes")
    assert [(v.version, v.operation) for v in page.versions] == [
        (6, "restore"),
        (5, "delete"),
        (4, "rename"),
        (3, "update"),
        (2, "update"),
        (1, "create"),
    ]
    assert deletion.version == 5 and restored.version == 6
    assert [v.changed for v in page.versions[2:]] == [
        ["slug"],
        ["folder", "tags"],
        ["content"],
        ["slug", "title", "content", "folder", "tags", "no_rag"],
    ]
    assert [(v.message, v.author) for v in page.versions if v.message or v.author] == [
        ("needed after all", "claude-code"),
        ("not needed", None),
        ("rename", None),
        (None, "cursor"),
        ("start", "claude-code"),
    ]
    assert page.versions[0].restored_from == 2
    assert (page.deleted, page.current_version, page.total, page.next_before) == (False, 6, 6, None)
    article = await service.get("old-notes")
    # Restored: version 2's text and folder, under the slug it has now.
    assert (article.content, article.folder, article.tags, article.version) == ("second", "", ["a"], 6)


async def test_history_is_kept_across_a_rename(service: ArticleService) -> None:
    await service.create("Notes", "one")
    await service.update("notes", content="two")
    await service.update("notes", new_slug="renamed")

    page = await service.list_versions("renamed")
    assert [(v.version, v.slug) for v in page.versions] == [(3, "renamed"), (2, "notes"), (1, "notes")]
    assert (await service.get_version("renamed", 1)).content == "one"
    with pytest.raises(NotFoundError, match="'notes'"):
        await service.list_versions("notes")


async def test_versions_page_newest_first(service: ArticleService) -> None:
    await service.create("Notes", "v1")
    for n in range(2, 6):
        await service.update("notes", content=f"v{n}")

    first = await service.list_versions("notes", limit=2)
    second = await service.list_versions("notes", limit=2, before=first.next_before)
    last = await service.list_versions("notes", limit=2, before=second.next_before)
    assert [v.version for v in first.versions + second.versions + last.versions] == [5, 4, 3, 2, 1]
    assert (first.next_before, second.next_before, last.next_before) == (4, 2, None)
    assert first.total == 5
    with pytest.raises(InvalidInputError, match="limit"):
        await service.list_versions("notes", limit=0)


async def test_a_diff_between_two_versions_and_against_the_current_one(service: ArticleService) -> None:
    await service.create("Notes", "# Notes\n\nalpha\nbeta\n")
    await service.update("notes", content="# Notes\n\nalpha\ngamma\n")
    await service.update("notes", content="# Notes\n\nalpha\ngamma\ndelta")

    diff = await service.get_version("notes", 2, diff_against=1)
    assert diff.content is None and diff.diff_against == 1
    assert diff.diff == ("--- notes@1\n+++ notes@2\n@@ -1,4 +1,4 @@\n # Notes\n \n alpha\n-beta\n+gamma\n")
    # From the current version back to version 2: what restoring it would change.
    back = await service.get_version("notes", 2, diff_against="current")
    assert back.diff_against == 3
    assert back.diff is not None
    assert "-delta\n\\ No newline at end of file\n" in back.diff
    assert (await service.get_version("notes", 3, diff_against=3)).diff == ""
    with pytest.raises(NotFoundError, match="diff_against: article 'notes' has no version 9"):
        await service.get_version("notes", 1, diff_against=9)
    with pytest.raises(NotFoundError, match="version: article 'notes' has no version 7"):
        await service.get_version("notes", 7)


async def test_restore_of_a_deleted_article_brings_it_back_under_its_slug(
    service: ArticleService, db: Database
) -> None:
    created = await service.create("Vector notes", LONG_TEXT, folder="db", tags=["pg"])
    await service.update("vector-notes", content="short now")
    deleted = await service.delete("vector-notes")
    assert deleted.version == 3
    with pytest.raises(NotFoundError):
        await service.get("vector-notes")
    page = await service.list_versions("vector-notes")
    assert page.deleted and page.current_version == 3

    restored = await service.restore("vector-notes", 1)

    assert (restored.slug, restored.version, restored.embedding_status) == ("vector-notes", 4, "pending")
    article = await service.get("vector-notes")
    assert (article.content, article.folder, article.tags) == (LONG_TEXT, "db", ["pg"])
    row = await db.pool.fetchrow("SELECT id, content_hash FROM articles WHERE slug = 'vector-notes'")
    assert row is not None
    first = await db.pool.fetchrow("SELECT article_id, content_hash FROM article_versions WHERE version = 1")
    assert first is not None
    assert (row["id"], row["content_hash"]) == (
        first["article_id"],
        first["content_hash"],
    )  # the same article
    assert await count(db, "SELECT count(*) FROM article_chunks WHERE article_version = 4") > 1
    assert [t["status"] for t in await tasks_of(db, "vector-notes")] == ["pending"]
    assert [hit.slug for hit in (await service.search("postgres vectors")).results] == ["vector-notes"]
    assert created.embedding_task_id != restored.embedding_task_id


async def test_restore_onto_a_taken_slug_is_a_conflict_and_writes_nothing(
    service: ArticleService, db: Database
) -> None:
    await service.create("Notes", "the old notes")
    await service.delete("notes")
    await service.create("Notes", "new notes, same slug")
    before = await versions_table(db)

    mine = await service.list_versions("notes")
    theirs = await service.list_versions("notes", deleted=True)
    assert (mine.deleted, mine.deleted_also, mine.current_version) == (False, True, 1)
    assert (theirs.deleted, theirs.current_version) == (True, 2)
    with pytest.raises(ConflictError, match="'notes' is now the slug of another article"):
        await service.restore("notes", 1, deleted=True)

    assert await versions_table(db) == before
    assert (await service.get("notes")).content == "new notes, same slug"
    # Once the slug is free, the old article comes back.
    await service.update("notes", new_slug="newer-notes")
    back = await service.restore("notes", 1, deleted=True)
    assert (back.slug, back.version) == ("notes", 3)
    assert (await service.get("notes")).content == "the old notes"


async def test_restoring_the_current_version_changes_nothing(service: ArticleService) -> None:
    await service.create("Notes", "one")
    await service.update("notes", content="two")
    first = await service.restore("notes", 1)
    again = await service.restore("notes", 1)
    assert (first.version, sorted(first.changed)) == (3, ["content"])
    assert (again.version, again.changed) == (3, [])
    assert (await service.list_versions("notes")).total == 3
    with pytest.raises(NotFoundError, match="has no version 8"):
        await service.restore("notes", 8)


async def test_purge_removes_the_history_too(service: ArticleService, db: Database) -> None:
    await service.create("Notes", "one")
    await service.update("notes", content="two")
    await service.create("Other", "kept")
    purged = await service.delete("notes", purge=True)
    assert (purged.version, purged.purged_versions) == (None, 2)
    with pytest.raises(NotFoundError, match="no article, live or deleted"):
        await service.restore("notes", 1)

    await service.delete("other")
    gone = await service.delete("other", purge=True)  # the history a deleted article kept
    assert gone.purged_versions == 2 and gone.title == "Other"
    assert await versions_table(db) == []


# -- edit conflicts ---------------------------------------------------------------------------


async def test_a_stale_expected_version_is_a_conflict_and_nothing_is_written(
    service: ArticleService, db: Database
) -> None:
    await service.create("Notes", "one")
    await service.update("notes", content="two", expected_version=1)
    rows = await db.pool.fetch("SELECT * FROM articles")
    versions = await versions_table(db)

    message = "expected_version: article 'notes' is at version 2, not 1; nothing was written"
    with pytest.raises(ConflictError, match=message) as error:
        await service.update("notes", content="three", expected_version=1)
    assert "expected_version=2" in error.value.message
    with pytest.raises(ConflictError, match=message):
        await service.delete("notes", expected_version=1)
    with pytest.raises(ConflictError, match=message):
        await service.restore("notes", 1, expected_version=1)

    assert await db.pool.fetch("SELECT * FROM articles") == rows
    assert await versions_table(db) == versions
    assert (await service.delete("notes", expected_version=2)).version == 3
    assert (await service.restore("notes", 1, expected_version=3)).version == 4


async def waiting_for_locks(watcher: asyncpg.Connection, expected: int) -> None:
    """Return once `expected` backends of this database wait for a lock (asked outside any
    transaction, so pg_stat_activity is fresh on every look)."""
    with anyio.fail_after(30):
        while True:
            waiting = await watcher.fetchval(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if waiting >= expected:
                return
            await anyio.sleep(0.01)


async def test_two_writers_with_the_same_expected_version_exactly_one_wins(
    service: ArticleService, db: Database
) -> None:
    await service.create("Notes", "one")
    outcomes: dict[str, Any] = {}

    async def write(text: str) -> None:
        try:
            outcomes[text] = await service.update("notes", content=text, expected_version=1)
        except ConflictError as exc:
            outcomes[text] = exc

    # Hold the article's row so that both writers have read version 1 and wait on the lock
    # together; released, one commits first and the other must see that it moved on.
    async with db.pool.acquire() as holder, db.pool.acquire() as watcher:
        transaction = holder.transaction()
        await transaction.start()
        await holder.execute("SELECT 1 FROM articles WHERE slug = 'notes' FOR UPDATE")
        async with anyio.create_task_group() as tg:
            tg.start_soon(write, "from writer a")
            tg.start_soon(write, "from writer b")
            await waiting_for_locks(watcher, 2)
            await transaction.rollback()

    winners = [text for text, outcome in outcomes.items() if not isinstance(outcome, ConflictError)]
    losers = [outcome for outcome in outcomes.values() if isinstance(outcome, ConflictError)]
    assert len(winners) == 1 and len(losers) == 1
    assert "is at version 2, not 1" in losers[0].message
    article = await service.get("notes")
    assert (article.content, article.version) == (winners[0], 2)
    assert (await service.list_versions("notes")).total == 2


# -- retention ----------------------------------------------------------------------------------


async def test_max_versions_prunes_the_oldest_at_write_time(
    db: Database, model_id: int, tmp_path: Any
) -> None:
    settings = make_settings(db.dsn, article_mcp_data_dir=tmp_path, article_history_max_versions=3)
    service = ArticleService(settings, db, model_id)
    await service.create("Notes", "v1")
    for n in range(2, 7):
        await service.update("notes", content=f"v{n}")
    await service.delete("notes")

    page = await service.list_versions("notes")
    assert [v.version for v in page.versions] == [7, 6, 5]
    assert (await service.restore("notes", 6)).version == 8
    with pytest.raises(NotFoundError, match="no version 2"):
        await service.get_version("notes", 2)


async def test_prune_dry_run_changes_nothing_then_prune_keeps_the_newest(
    service: ArticleService, db: Database
) -> None:
    await service.create("Notes", "v1")
    for n in range(2, 5):
        await service.update("notes", content=f"v{n}")
    await service.create("Short", "only one")
    await service.create("Gone", "g1")
    await service.update("gone", content="g2")
    await service.delete("gone")
    before = await versions_table(db)

    async with db.pool.acquire() as conn:
        dry = await history.prune(conn, 2, dry_run=True)
        assert await versions_table(db) == before
        done = await history.prune(conn, 2, dry_run=False)

    assert (dry.articles, dry.versions, dry.kept, dry.dry_run) == (2, 3, 5, True)
    assert (done.articles, done.versions, done.kept, done.dry_run) == (2, 3, 5, False)
    assert [v.version for v in (await service.list_versions("notes")).versions] == [4, 3]
    assert [v.version for v in (await service.list_versions("gone")).versions] == [3, 2]
    assert (await service.restore("gone", 2)).version == 4


async def test_message_and_author_follow_the_rules(service: ArticleService) -> None:
    with pytest.raises(InvalidInputError) as error:
        await service.create("Notes", "x", message="m" * 1001)
    assert error.value.field == "message"
    with pytest.raises(InvalidInputError) as error:
        await service.create("Notes", "x", author="a\x00b")
    assert error.value.field == "author"
    written = await service.create("Notes", "x", message="  ", author=" agent ")
    [version] = (await service.list_versions(written.slug)).versions
    assert (version.message, version.author) == (None, "agent")


async def test_articles_written_before_history_start_it_with_their_state(
    empty_database_url: str, tmp_path: Any
) -> None:
    await migrate(empty_database_url, target=2)
    conn = await asyncpg.connect(empty_database_url)
    try:
        await conn.execute(
            "INSERT INTO articles (slug, title, content, content_hash, version)"
            " VALUES ('old', 'Old', 'old text', 'h', 4)"
        )
    finally:
        await conn.close()
    await migrate_to_latest(empty_database_url)

    pool = await create_pool(empty_database_url, min_size=1, max_size=2)
    try:
        settings = make_settings(empty_database_url, article_mcp_data_dir=tmp_path)
        service = ArticleService(settings, Database(pool=pool, dsn=empty_database_url), None)
        [begun] = (await service.list_versions("old")).versions
        assert (begun.version, begun.operation, begun.title) == (4, "update", "Old")
        assert begun.message is not None and "history begins here" in begun.message
        assert (await service.update("old", content="new text", expected_version=4)).version == 5
        assert (await service.get_version("old", 5, diff_against=4)).diff == (
            "--- old@4\n+++ old@5\n@@ -1 +1 @@\n-old text\n\\ No newline at end of file\n"
            "+new text\n\\ No newline at end of file\n"
        )
    finally:
        await pool.close()

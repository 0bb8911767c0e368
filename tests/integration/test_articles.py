"""The article service against the real database: one transaction per write, chunks and
embedding tasks in step with the article, readable errors and nothing half-written."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import asyncpg
import pytest
from pgvector import Vector

from article_mcp.articles.service import ArticleService
from article_mcp.config import Settings
from article_mcp.db.pool import Database
from article_mcp.errors import ConflictError, InvalidInputError, NotFoundError
from tests.conftest import make_settings

pytestmark = pytest.mark.anyio

LONG_TEXT = "\n\n".join(
    f"## Part {n}\n\n" + " ".join(f"word{n}x{i} about postgres vectors" for i in range(60)) for n in range(6)
)


async def add_model(db: Database) -> int:
    """An embedding model row, as the server registers its active model at start-up."""
    model_id: int = await db.pool.fetchval(
        "INSERT INTO embedding_models (provider, name, dimensions)"
        " VALUES ('test', 'test-model', 3) RETURNING id"
    )
    return model_id


@pytest.fixture
async def model_id(db: Database) -> int:
    return await add_model(db)


@pytest.fixture
async def service(settings: Settings, db: Database, model_id: int) -> ArticleService:
    return ArticleService(settings, db, model_id)


async def count(db: Database, sql: str, *args: Any) -> int:
    value: int = await db.pool.fetchval(sql, *args)
    return value


async def tasks_of(db: Database, slug: str) -> list[asyncpg.Record]:
    return await db.pool.fetch(
        "SELECT t.status, t.article_version, t.source, t.max_attempts FROM embedding_tasks t"
        " JOIN articles a ON a.id = t.article_id WHERE a.slug = $1 ORDER BY t.id",
        slug,
    )


async def embed_all(db: Database, model_id: int) -> None:
    """What a worker leaves behind: a vector for every current chunk's text."""
    await db.pool.execute(
        "INSERT INTO chunk_embeddings (model_id, text_hash, embedding)"
        " SELECT DISTINCT $1::int, text_hash, $2::vector FROM article_chunks ON CONFLICT DO NOTHING",
        model_id,
        Vector([0.1, 0.2, 0.3]),
    )
    await db.pool.execute("UPDATE embedding_tasks SET status = 'completed', completed_at = now()")


# -- create ---------------------------------------------------------------------------------


async def test_create_writes_article_chunks_and_task_together(service: ArticleService, db: Database) -> None:
    written = await service.create("Vector search in Postgres", LONG_TEXT, folder="guides/db", tags=["pg"])

    assert written.slug == "vector-search-in-postgres"
    assert written.version == 1
    assert written.embedding_status == "pending"
    assert written.embedding_task_id is not None
    tasks = await tasks_of(db, written.slug)
    assert [(t["status"], t["article_version"], t["source"]) for t in tasks] == [("pending", 1, "write")]
    assert tasks[0]["max_attempts"] == service._settings.embedding_max_retries + 1
    assert await count(db, "SELECT count(*) FROM article_chunks") > 1
    # Read-your-writes: full-text search finds it at once, before any embedding exists.
    found = await service.search("postgres vectors")
    assert [hit.slug for hit in found.results] == [written.slug]


async def test_titles_in_any_script_get_slugs_and_repeats_get_suffixes(service: ArticleService) -> None:
    first = await service.create("Привет, мир", "text")
    second = await service.create("Привет, мир", "text")
    third = await service.create("Привет мир!", "text")
    japanese = await service.create("日本語のタイトル", "text")
    emoji = await service.create("🚀", "text")

    assert [first.slug, second.slug, third.slug] == ["привет-мир", "привет-мир-2", "привет-мир-3"]
    assert japanese.slug == "日本語のタイトル"
    assert emoji.slug == "article"
    assert (await service.get("привет-мир-2")).title == "Привет, мир"


async def test_concurrent_creates_of_one_title_get_distinct_slugs(service: ArticleService) -> None:
    slugs: list[str] = []

    async def create() -> None:
        slugs.append((await service.create("Same title", "text")).slug)

    async with anyio.create_task_group() as tg:
        for _ in range(6):
            tg.start_soon(create)
    assert sorted(slugs) == sorted(["same-title", *(f"same-title-{n}" for n in range(2, 7))])


async def test_no_rag_articles_have_no_chunks_and_no_task(service: ArticleService, db: Database) -> None:
    written = await service.create("Private notes", "secret words", no_rag=True)

    assert written.embedding_status == "disabled"
    assert written.embedding_task_id is None
    assert await count(db, "SELECT count(*) FROM article_chunks") == 0
    assert await count(db, "SELECT count(*) FROM embedding_tasks") == 0
    # Still found by words.
    assert [hit.slug for hit in (await service.search("secret")).results] == ["private-notes"]


async def test_semantic_search_off_queues_nothing(db: Database, tmp_path: Path) -> None:
    settings = make_settings(db.dsn, semantic_search_enabled=False, article_mcp_data_dir=tmp_path)
    service = ArticleService(settings, db, model_id=await add_model(db))

    written = await service.create("Plain", "just words")

    assert written.embedding_status == "disabled"
    assert await count(db, "SELECT count(*) FROM embedding_tasks") == 0
    assert await count(db, "SELECT count(*) FROM article_chunks") == 1


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"title": "", "content": "x"}, "title"),
        ({"title": "T", "content": "a\x00b"}, "content"),
        ({"title": "T", "content": "x" * 2001}, "content"),
        ({"title": "T", "content": "x", "folder": "../etc"}, "folder"),
        ({"title": "T", "content": "x", "folder": "/abs"}, "folder"),
        ({"title": "T", "content": "x", "tags": ["ok", ""]}, "tags"),
    ],
)
async def test_bad_input_writes_nothing(
    db: Database, model_id: int, kwargs: dict[str, Any], field: str
) -> None:
    service = ArticleService(make_settings(db.dsn, article_max_bytes=2000), db, model_id)
    with pytest.raises(InvalidInputError) as error:
        await service.create(**kwargs)
    assert error.value.field == field
    assert await count(db, "SELECT count(*) FROM articles") == 0
    assert await count(db, "SELECT count(*) FROM embedding_tasks") == 0


# -- update ---------------------------------------------------------------------------------


async def test_new_content_bumps_version_and_merges_into_the_pending_task(
    service: ArticleService, db: Database
) -> None:
    created = await service.create("Notes", "first text")
    updated = await service.update(created.slug, title="Notes, renamed", content="second text")

    assert updated.slug == "notes"  # stable: a title edit does not move the article
    assert updated.version == 2
    assert sorted(updated.changed) == ["content", "title"]
    assert updated.embedding_task_id == created.embedding_task_id  # merged, not a second task
    assert [(t["status"], t["article_version"]) for t in await tasks_of(db, "notes")] == [("pending", 2)]
    hashes = await db.pool.fetch("SELECT content_hash FROM articles")
    assert len({row["content_hash"] for row in hashes}) == 1
    assert (await service.search("second")).results[0].slug == "notes"
    assert (await service.search("first")).results == []


async def test_folder_and_tags_change_without_new_embedding(
    service: ArticleService, db: Database, model_id: int
) -> None:
    created = await service.create("Notes", "text")
    await embed_all(db, model_id)
    updated = await service.update(created.slug, folder="archive/2024", tags=["old"])

    assert updated.changed == ["folder", "tags"]
    assert updated.version == 2  # every change is a version, though the passages stay
    assert updated.embedding_task_id is None
    assert updated.embedding_status == "ready"
    assert [t["status"] for t in await tasks_of(db, "notes")] == ["completed"]


async def test_an_update_that_changes_nothing_says_so(service: ArticleService) -> None:
    created = await service.create("Notes", "text", tags=["a"])
    same = await service.update(created.slug, title="Notes", tags=["a"])
    assert same.changed == []
    assert same.updated_at == created.updated_at


async def test_update_needs_a_field(service: ArticleService) -> None:
    await service.create("Notes", "text")
    with pytest.raises(InvalidInputError) as error:
        await service.update("notes")
    assert error.value.field == "arguments"


async def test_explicit_rename(service: ArticleService) -> None:
    await service.create("Notes", "text")
    await service.create("Other", "text")

    renamed = await service.update("notes", new_slug="my-notes")
    assert renamed.slug == "my-notes"
    assert renamed.changed == ["slug"]
    with pytest.raises(NotFoundError):
        await service.get("notes")
    with pytest.raises(ConflictError, match="new_slug"):
        await service.update("my-notes", new_slug="other")
    with pytest.raises(InvalidInputError) as error:
        await service.update("my-notes", new_slug="Not A Slug")
    assert error.value.field == "new_slug"


async def test_a_failed_update_changes_nothing(service: ArticleService, db: Database) -> None:
    await service.create("Notes", "text")
    await service.create("Other", "text")
    before = await db.pool.fetchrow("SELECT * FROM articles WHERE slug = 'notes'")

    with pytest.raises(ConflictError):
        await service.update("notes", content="new text", new_slug="other")
    with pytest.raises(InvalidInputError):
        await service.update("notes", content="new text", folder="a//b")

    assert await db.pool.fetchrow("SELECT * FROM articles WHERE slug = 'notes'") == before
    assert [t["article_version"] for t in await tasks_of(db, "notes")] == [1]


async def test_no_rag_toggle_drops_and_restores_chunks_and_tasks(
    service: ArticleService, db: Database
) -> None:
    await service.create("Notes", LONG_TEXT)
    chunks = await count(db, "SELECT count(*) FROM article_chunks")

    hidden = await service.update("notes", no_rag=True)
    assert hidden.embedding_status == "disabled"
    assert await count(db, "SELECT count(*) FROM article_chunks") == 0
    assert [t["status"] for t in await tasks_of(db, "notes")] == ["cancelled"]
    assert await count(db, "SELECT chunk_count FROM corpus_stats") == 0

    shown = await service.update("notes", no_rag=False)
    assert shown.embedding_status == "pending"
    assert await count(db, "SELECT count(*) FROM article_chunks") == chunks
    assert [t["status"] for t in await tasks_of(db, "notes")] == ["cancelled", "pending"]


async def test_unknown_slug(service: ArticleService) -> None:
    for call in (service.get("nope"), service.update("nope", title="x"), service.delete("nope")):
        with pytest.raises(NotFoundError, match="'nope'"):
            await call


# -- delete ---------------------------------------------------------------------------------


async def test_delete_removes_chunks_and_statistics_and_cancels_tasks(
    service: ArticleService, db: Database
) -> None:
    await service.create("Keep", "kept words")
    await service.create("Notes", LONG_TEXT)
    kept_stats = await db.pool.fetchrow("SELECT chunk_count, total_length FROM corpus_stats")
    await service.delete("keep")
    await service.create("Keep", "kept words")

    deleted = await service.delete("notes")

    assert deleted.cancelled_tasks == 1
    assert await count(db, "SELECT count(*) FROM articles") == 1
    assert await count(db, "SELECT count(*) FROM embedding_tasks WHERE status = 'pending'") == 1
    after = await db.pool.fetchrow("SELECT chunk_count, total_length FROM corpus_stats")
    assert after["chunk_count"] == 1
    assert after["total_length"] < kept_stats["total_length"]
    assert await count(db, "SELECT count(*) FROM lexeme_stats WHERE df > 0 AND lexeme ~ '^word[0-9]'") == 0


# -- reads ----------------------------------------------------------------------------------


async def test_get_shows_status_and_task(service: ArticleService, db: Database, model_id: int) -> None:
    created = await service.create("Notes", LONG_TEXT)
    article = await service.get("notes")
    assert article.content == LONG_TEXT
    assert (article.embedding_status, article.embedding_task_id) == ("pending", created.embedding_task_id)

    await embed_all(db, model_id)
    assert (await service.get("notes")).embedding_status == "ready"
    await service.update("notes", content=LONG_TEXT + "\n\nOne more paragraph.")
    await db.pool.execute("UPDATE embedding_tasks SET status = 'cancelled' WHERE status = 'pending'")
    assert (await service.get("notes")).embedding_status == "stale"


@pytest.fixture
async def library(service: ArticleService) -> ArticleService:
    for title, folder in [
        ("Root note", ""),
        ("Python basics", "guides/python"),
        ("Async Python", "guides/python/async"),
        ("Guide index", "guides"),
        ("Guidelines", "guidesx"),
        ("Underscore", "a_b"),
        ("Not underscore", "axb"),
    ]:
        await service.create(title, f"About {title.lower()}.", folder=folder)
    return service


async def test_list_includes_subfolders_newest_first(library: ArticleService) -> None:
    page = await library.list("guides")
    assert [a.slug for a in page.articles] == ["guide-index", "async-python", "python-basics"]
    assert (page.total, page.next_offset) == (3, None)
    assert [a.slug for a in (await library.list("a_b")).articles] == ["underscore"]


async def test_list_pages(library: ArticleService) -> None:
    first = await library.list(limit=3)
    assert (first.total, first.next_offset) == (7, 3)
    second = await library.list(limit=3, offset=3)
    third = await library.list(limit=3, offset=6)
    slugs = [a.slug for page in (first, second, third) for a in page.articles]
    assert len(set(slugs)) == 7
    assert third.next_offset is None
    with pytest.raises(InvalidInputError) as error:
        await library.list(limit=0)
    assert error.value.field == "limit"


async def test_folders_count_direct_and_nested(library: ArticleService) -> None:
    listing = await library.folders()
    counts = {f.folder: (f.articles, f.total) for f in listing.folders}
    assert counts == {
        "a_b": (1, 1),
        "axb": (1, 1),
        "guides": (1, 3),
        "guides/python": (1, 2),
        "guides/python/async": (1, 1),
        "guidesx": (1, 1),
    }
    assert (listing.root_articles, listing.total_articles) == (1, 7)


async def test_search_by_title_escapes_wildcards(service: ArticleService) -> None:
    await service.create("100% coverage", "text one")
    await service.create("1000 coverage", "text two")
    await service.create("snake_case names", "text three")
    await service.create("snakeXcase names", "text four")

    assert [m.slug for m in (await service.search("%")).results] == ["100-coverage"]
    assert [m.slug for m in (await service.search("snake_case")).results] == ["snake-case-names"]


async def test_search_ranks_title_matches_first_and_marks_snippets(service: ArticleService) -> None:
    await service.create("Gardening", "Tomatoes need sun. Tomatoes need water.")
    await service.create("Tomatoes", "A red fruit.")
    await service.create("Cooking", "Nothing about that here.", folder="kitchen")

    found = await service.search("tomatoes")
    assert [(m.slug, m.matched) for m in found.results] == [
        ("tomatoes", "title+content"),
        ("gardening", "content"),
    ]
    assert "**Tomatoes**" in found.results[1].snippet
    assert (await service.search("tomatoes", folder="kitchen")).results == []


async def test_full_size_articles_are_stored_and_indexed(db: Database, model_id: int) -> None:
    settings = make_settings(db.dsn)
    service = ArticleService(settings, db, model_id)
    words = " ".join(f"w{n:06d}" for n in range(settings.article_max_bytes // 8))
    content = words[: settings.article_max_bytes]

    written = await service.create("Big", content)

    assert written.size_bytes == len(content)
    assert [m.slug for m in (await service.search("w012345")).results] == ["big"]


async def test_search_with_only_stop_words_or_punctuation(service: ArticleService) -> None:
    await service.create("The art of war", "Strategy.")
    assert [m.slug for m in (await service.search("the")).results] == ["the-art-of-war"]
    assert (await service.search("!!! ''")).results == []

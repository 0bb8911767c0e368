"""Import and export against the real database: every article through the article service,
one bad file among good ones reported while the rest go in, the slug conflict modes, and an
export that an import into an empty database reproduces exactly, byte for byte."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from article_mcp.articles.file_tree import markdown_files
from article_mcp.articles.service import ArticleService, NewArticle
from article_mcp.articles.transfer import (
    ExportResult,
    FileResult,
    ImportOptions,
    export_articles,
    import_files,
)
from article_mcp.config import Settings
from article_mcp.db.pool import Database, create_pool
from article_mcp.errors import ConflictError, DatabaseUnavailableError
from tests.conftest import create_database, drop_database, make_settings
from tests.support.queue_states import add_model

pytestmark = pytest.mark.anyio

CREATED = datetime(2023, 3, 4, 5, 6, 7, 890123, tzinfo=UTC)
# Unicode titles, nested folders, front-matter-like text at the start of content, empty tags,
# no_rag, CRLF and a content with no final newline.
CORPUS = [
    ("Ünïcode — 日本語のノート", "---\ntitle: not the title\n---\n\nBody.\n", "", [], False),
    ("Nested deep", "# Nested deep\n\ntext\r\nwith CRLF\r\n", "guides/python/async", ["py", "async"], False),
    ("Private notes", "...\n---\nno final newline", "guides", [], True),
    ("Привет: мир", "", "журнал/2024", ["заметки"], False),
    ("Same name", "one", "a", [], False),
    ("Same name", "two", "b", [], False),
]


async def run_import(
    service: ArticleService, paths: list[Path], settings: Settings, **options: object
) -> list[FileResult]:
    results: list[FileResult] = []
    await import_files(
        service,
        markdown_files(paths),
        ImportOptions(**options),  # type: ignore[arg-type]
        max_bytes=settings.article_max_bytes,
        on_result=results.append,
    )
    return sorted(results, key=lambda r: str(r.path))


async def run_export(service: ArticleService, directory: Path, folder: str = "") -> list[ExportResult]:
    results: list[ExportResult] = []
    await export_articles(service, directory, folder=folder, on_result=results.append)
    return results


def files_of(directory: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()
    }


async def stored(db: Database) -> list[tuple[object, ...]]:
    rows = await db.pool.fetch(
        "SELECT slug, title, content, folder, tags, no_rag, created_at FROM articles ORDER BY slug"
    )
    return [tuple(row) for row in rows]


async def test_export_then_import_into_an_empty_database_reproduces_it(
    db: Database, settings: Settings, pg_server: str, template_dsn: str, tmp_path: Path
) -> None:
    service = ArticleService(settings, db, None)
    for title, content, folder, tags, no_rag in CORPUS:
        await service.create(title, content, folder=folder, tags=tags, no_rag=no_rag)
    first = tmp_path / "first"
    assert all(r.path is not None for r in await run_export(service, first))
    assert sorted(files_of(first)) == [
        "a/same-name.md",
        "b/same-name-2.md",
        "guides/private-notes.md",
        "guides/python/async/nested-deep.md",
        "ünïcode-日本語のノート.md",
        "журнал/2024/привет-мир.md",
    ]

    dsn = await create_database(pg_server, "article_mcp_template")
    pool = await create_pool(dsn)
    try:
        other_db = Database(pool=pool, dsn=dsn)
        other = ArticleService(make_settings(dsn), other_db, None)
        results = await run_import(other, [first], settings)
        assert [r.outcome for r in results] == ["created"] * len(CORPUS)
        assert await stored(other_db) == await stored(db)
        second = tmp_path / "second"
        await run_export(other, second)
        assert files_of(second) == files_of(first)
    finally:
        await pool.close()
        await drop_database(pg_server, dsn)


async def test_export_with_history_writes_each_version_beside_the_article(
    db: Database, settings: Settings, tmp_path: Path
) -> None:
    service = ArticleService(settings, db, None)
    await service.create("Travel log", "Day one.", folder="trips", author="agent-a")
    await service.update("travel-log", content="Day one. Day two.", message="second day")
    await service.update("travel-log", new_slug="travel-journal")
    out = tmp_path / "out"
    assert all(r.path is not None for r in await run_export_history(service, out))
    files = files_of(out)
    assert sorted(files) == [
        "trips/.history/travel-journal/1.md",
        "trips/.history/travel-journal/2.md",
        "trips/.history/travel-journal/3.md",
        "trips/travel-journal.md",
    ]
    first, second = (files[f"trips/.history/travel-journal/{n}.md"].decode() for n in (1, 2))
    assert first.endswith("---\nDay one.") and "operation: create" in first and "author: agent-a" in first
    assert second.endswith("---\nDay one. Day two.") and "message: second day" in second
    assert "operation: rename" in files["trips/.history/travel-journal/3.md"].decode()
    # The history is in a hidden folder, which an import skips: only the article comes back.
    assert [found.path.name for found in markdown_files([out])] == ["travel-journal.md"]


async def run_export_history(service: ArticleService, directory: Path) -> list[ExportResult]:
    results: list[ExportResult] = []
    await export_articles(service, directory, folder="", on_result=results.append, with_history=True)
    return results


async def test_one_bad_file_among_good_ones(db: Database, settings: Settings, tmp_path: Path) -> None:
    notes = tmp_path / "notes"
    (notes / "sub").mkdir(parents=True)
    (notes / "good.md").write_text("# Good one\n\ntext")
    (notes / "sub" / "also.md").write_text("---\ntags: [x]\naliases: [y]\n---\nbody")
    (notes / "bad-utf8.md").write_bytes(b"caf\xe9")
    (notes / "bad-yaml.md").write_text("---\ntitle: [\n---\n")
    (notes / "bad-folder.md").write_text("---\nfolder: ../../etc\n---\n")
    (notes / "no-slug.md").write_text("---\ntitle: '***'\n---\n")
    (notes / "too-big.md").write_text("x" * 2000)
    (tmp_path / "secret.md").write_text("not for import")
    (notes / "link.md").symlink_to(tmp_path / "secret.md")
    service = ArticleService(make_settings(db.dsn, article_max_bytes=1000), db, None)
    results = await run_import(service, [notes], settings, folder_from_path=True)
    outcomes = {r.path.name: (r.outcome, r.reason) for r in results}
    assert outcomes["good.md"] == ("created", None) and outcomes["also.md"] == ("created", None)
    assert [r.ignored for r in results if r.path.name == "also.md"] == [("aliases",)]
    assert "UTF-8" in str(outcomes["bad-utf8.md"][1])
    assert "YAML" in str(outcomes["bad-yaml.md"][1])
    assert str(outcomes["bad-folder.md"][1]).startswith("folder: ")
    assert "slug" in str(outcomes["no-slug.md"][1])
    assert "ARTICLE_MAX_BYTES" in str(outcomes["too-big.md"][1])
    assert outcomes["link.md"] == ("failed", "is a symbolic link to outside the given paths")
    rows = await db.pool.fetch("SELECT slug, title, folder, tags FROM articles ORDER BY slug")
    assert [tuple(r) for r in rows] == [("also", "also", "sub", ["x"]), ("good-one", "Good one", "", [])]


async def test_conflict_modes(db: Database, settings: Settings, tmp_path: Path) -> None:
    service = ArticleService(settings, db, None)
    await service.create("Notes", "old text", tags=["kept"])
    (tmp_path / "notes.md").write_text("---\ntitle: Notes\ncreated: 2020-01-01\n---\nnew text")
    paths = [tmp_path / "notes.md"]

    skipped = await run_import(service, paths, settings, conflict="skip")
    assert [(r.outcome, r.slug) for r in skipped] == [("skipped", "notes")]
    dry = await run_import(service, paths, settings, conflict="overwrite", dry_run=True)
    assert [(r.outcome, r.slug) for r in dry] == [("updated", "notes")]
    assert (await service.get("notes")).content == "old text"

    renamed = await run_import(service, paths, settings, conflict="rename")
    assert [(r.outcome, r.slug) for r in renamed] == [("created", "notes-2")]
    assert (await service.get("notes-2")).created_at == datetime(2020, 1, 1, tzinfo=UTC)

    overwritten = await run_import(service, paths, settings, conflict="overwrite")
    assert [(r.outcome, r.slug) for r in overwritten] == [("updated", "notes")]
    article = await service.get("notes")
    assert (article.content, article.tags) == ("new text", [])
    again = await run_import(service, paths, settings, conflict="overwrite")
    assert [r.outcome for r in again] == ["unchanged"]
    assert await db.pool.fetchval("SELECT count(*) FROM articles") == 2


async def test_a_dry_run_writes_nothing(db: Database, settings: Settings, tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("# A\n")
    (tmp_path / "b.md").write_text("---\nfolder: /abs\n---\n")
    results = await run_import(ArticleService(settings, db, None), [tmp_path], settings, dry_run=True)
    assert [(r.path.name, r.outcome) for r in results] == [("a.md", "created"), ("b.md", "failed")]
    assert await db.pool.fetchval("SELECT count(*) FROM articles") == 0


async def test_imports_are_queued_at_the_priority_given(
    db: Database, settings: Settings, tmp_path: Path
) -> None:
    async with db.pool.acquire() as conn:
        model = await add_model(conn)
    service = ArticleService(settings, db, model)
    for name in ("one", "two", "three"):
        (tmp_path / f"{name}.md").write_text(f"# {name}\n\nSome text about {name}.")
    results = await run_import(service, [tmp_path], settings, priority="low")
    assert {r.outcome for r in results} == {"created"}
    rows = await db.pool.fetch("SELECT priority::text, status::text FROM embedding_tasks")
    assert [tuple(r) for r in rows] == [("low", "pending")] * 3


async def test_a_chosen_slug_that_is_taken_is_a_conflict(db: Database, settings: Settings) -> None:
    service = ArticleService(settings, db, None)
    await service.create("First", "x")
    with pytest.raises(ConflictError, match="'first' is already the slug"):
        await service.create("Other", "y", new=NewArticle(slug="first", on_taken="fail"))
    renamed = await service.create("Other", "y", new=NewArticle(slug="first"))
    assert renamed.slug == "first-2"
    assert await db.pool.fetchval("SELECT count(*) FROM articles") == 2


async def test_export_of_one_folder(db: Database, settings: Settings, tmp_path: Path) -> None:
    service = ArticleService(settings, db, None)
    for title, folder in (("In", "guides"), ("Deeper", "guides/x"), ("Beside", "guidesx"), ("Root", "")):
        await service.create(title, "text", folder=folder, new=NewArticle(created_at=CREATED))
    await run_export(service, tmp_path / "out", folder="guides")
    assert sorted(files_of(tmp_path / "out")) == ["guides/in.md", "guides/x/deeper.md"]
    text = (tmp_path / "out" / "guides" / "in.md").read_text()
    assert "created: 2023-03-04 05:06:07.890123+00:00\n" in text


async def test_an_error_beyond_one_file_stops_the_import(
    settings: Settings, database_url: str, tmp_path: Path
) -> None:
    for name in ("a", "b", "c"):
        (tmp_path / f"{name}.md").write_text(name)
    pool = await create_pool(database_url)
    await pool.close()
    service = ArticleService(settings, Database(pool=pool, dsn=database_url), None)
    # Raised as it is (not every file failing with it, nor wrapped in an exception group), so
    # the CLI exits 3 with one line saying the database cannot be reached.
    with pytest.raises(DatabaseUnavailableError, match="pool is closed"):
        await run_import(service, [tmp_path], settings)


async def test_export_never_leaves_its_directory_whatever_the_database_holds(
    db: Database, settings: Settings, tmp_path: Path
) -> None:
    service = ArticleService(settings, db, None)
    await service.create("Fine", "text", folder="ok")
    # Rows the rules would refuse, written past them: export must still stay inside DIR.
    for slug, folder in (("escape", "../../outside"), ("absolute", "/tmp/abs"), ("bad/slug", "")):
        await db.pool.execute(
            "INSERT INTO articles (slug, title, content, folder, content_hash)"
            " VALUES ($1, 't', 'c', $2, 'h')",
            slug,
            folder,
        )
    out = tmp_path / "deep" / "out"
    results = {r.slug: r for r in await run_export(service, out)}
    assert results["fine"].path == out.resolve() / "ok" / "fine.md"
    assert {slug for slug, r in results.items() if r.path is None} == {"escape", "absolute", "bad/slug"}
    assert str(results["escape"].reason).startswith("folder: ")
    assert list(files_of(tmp_path)) == ["deep/out/ok/fine.md"]

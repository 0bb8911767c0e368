"""`article-mcp import` and `export` as an operator runs them: a folder with one bad file
imports the rest and exits 1 naming the file and the reason; export writes what import reads,
and refuses a directory that is not empty."""

from __future__ import annotations

from pathlib import Path

import pytest

from article_mcp.db.pool import Database
from tests.conftest import CliResult, cli_env, run_cli

pytestmark = pytest.mark.anyio


async def cli(db: Database, *args: str) -> CliResult:
    return await run_cli(*args, env=cli_env(DATABASE_URL=db.dsn, SEMANTIC_SEARCH_ENABLED="false"))


async def test_import_reports_the_bad_file_and_imports_the_rest(db: Database, tmp_path: Path) -> None:
    notes = tmp_path / "notes"
    (notes / "kitchen").mkdir(parents=True)
    (notes / "kitchen" / "coffee.md").write_text("# Brewing coffee\n\nGrind medium-fine.")
    (notes / "tea.md").write_text("---\ntitle: Tea\ntags: [drinks]\n---\nSteep for three minutes.")
    (notes / "broken.md").write_text("---\ntitle: [oops\n---\n")

    done = await cli(db, "import", str(notes), "--folder-from-path")
    assert done.returncode == 1, done.stderr
    assert f"failed: {notes / 'broken.md'}: front matter: is not valid YAML" in done.stderr
    assert "2 created, 1 failed" in done.stdout
    rows = await db.pool.fetch("SELECT slug, folder FROM articles ORDER BY slug")
    assert [tuple(r) for r in rows] == [("brewing-coffee", "kitchen"), ("tea", "")]

    (notes / "broken.md").unlink()
    again = await cli(db, "import", str(notes), "--folder-from-path")
    assert again.returncode == 0, again.stderr
    assert "2 skipped" in again.stdout

    out = tmp_path / "out"
    exported = await cli(db, "export", str(out))
    assert exported.returncode == 0, exported.stderr
    assert "exported 2 articles" in exported.stdout
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*.md")) == [
        "kitchen/brewing-coffee.md",
        "tea.md",
    ]

    refused = await cli(db, "export", str(out))
    assert refused.returncode == 4
    assert "not empty" in refused.stderr

"""Named queries: parsed once, by name, with their description."""

from __future__ import annotations

import pytest

from article_mcp.db.sql import Queries, parse_queries


def test_blocks_are_split_by_name_with_descriptions() -> None:
    queries = parse_queries(
        "-- name: first\n-- Does one thing.\n-- On two lines.\nSELECT 1;\n\n-- name: second\nSELECT $1;\n"
    )
    assert list(queries) == ["first", "second"]
    assert queries["first"].description == "Does one thing. On two lines."
    assert queries["first"].sql == "SELECT 1;"
    assert queries["second"].sql == "SELECT $1;"


def test_a_name_used_twice_is_refused() -> None:
    with pytest.raises(ValueError, match="defined twice"):
        parse_queries("-- name: a\nSELECT 1;\n-- name: a\nSELECT 2;\n")


def test_a_block_without_sql_is_refused() -> None:
    with pytest.raises(ValueError, match="has no SQL"):
        parse_queries("-- name: a\n-- nothing here\n")


def test_package_files_load() -> None:
    queries = Queries("article_mcp.db", "migrate.sql")
    assert "lock" in queries
    assert "advisory" in queries["lock"]
    assert queries.describe("lock").startswith("Serialise")

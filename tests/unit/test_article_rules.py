"""Article input rules: each broken rule names its field, hostile strings are refused."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from article_mcp.articles.rules import (
    MAX_TAGS,
    TITLE_MAX_LENGTH,
    check_content,
    check_folder,
    check_page,
    check_query,
    check_tags,
    check_title,
    escape_like,
)
from article_mcp.errors import InvalidInputError


def broken(call: object, *args: object, **kwargs: object) -> InvalidInputError:
    assert callable(call)
    with pytest.raises(InvalidInputError) as error:
        call(*args, **kwargs)
    return error.value


@pytest.mark.parametrize(
    ("title", "rule"),
    [
        ("", "must not be empty"),
        ("   ", "must not be empty"),
        ("x" * (TITLE_MAX_LENGTH + 1), f"at most {TITLE_MAX_LENGTH}"),
        ("bad\x00title", "NUL"),
        ("two\nlines", "one line"),
        ("lone \ud800 surrogate", "surrogates"),
    ],
)
def test_bad_titles(title: str, rule: str) -> None:
    error = broken(check_title, title)
    assert error.field == "title"
    assert rule in error.rule


def test_titles_are_trimmed() -> None:
    assert check_title("  Привет  ") == "Привет"


def test_content_limit_counts_utf8_bytes() -> None:
    assert check_content("é" * 50, 100) == "é" * 50
    error = broken(check_content, "é" * 51, 100)
    assert error.field == "content"
    assert "100 bytes" in error.rule and "102" in error.rule
    assert broken(check_content, "a\x00b", 100).field == "content"


@pytest.mark.parametrize("folder", ["", "a", "guides/python", "Notes 2024/Q1_plans.v2", "заметки/личное"])
def test_good_folders(folder: str) -> None:
    assert check_folder(folder) == folder


@pytest.mark.parametrize(
    ("folder", "rule"),
    [
        ("/a", "start or end with '/'"),
        ("a/", "start or end with '/'"),
        ("a//b", "empty, '.' or '..'"),
        ("a/../b", "empty, '.' or '..'"),
        ("..", "empty, '.' or '..'"),
        ("a/ b", "space"),
        ("a/b*c", "letters, digits"),
        ("a\\b", "letters, digits"),
        ("a/%/b", "letters, digits"),
        ("/".join("a" * 11), "levels deep"),
        ("x" * 65, "at most 64"),
        ("a\x00", "NUL"),
    ],
)
def test_bad_folders(folder: str, rule: str) -> None:
    error = broken(check_folder, folder)
    assert error.field == "folder"
    assert rule in error.rule


def test_tags_are_trimmed_and_deduplicated() -> None:
    assert check_tags([" python ", "python", "db:postgres", "c++", "#x"]) == [
        "python",
        "db:postgres",
        "c++",
        "#x",
    ]


@pytest.mark.parametrize(
    ("tags", "rule"),
    [
        ([""], "must not be empty"),
        (["x" * 65], "at most 64"),
        (["a;b"], "letters, digits"),
        ([f"t{i}" for i in range(MAX_TAGS + 1)], f"at most {MAX_TAGS} tags"),
    ],
)
def test_bad_tags(tags: list[str], rule: str) -> None:
    error = broken(check_tags, tags)
    assert error.field == "tags"
    assert rule in error.rule


def test_queries_and_pages() -> None:
    assert check_query("  pgvector ") == "pgvector"
    assert broken(check_query, " ").field == "query"
    assert broken(check_page, 0, 0, max_limit=100).field == "limit"
    assert broken(check_page, 101, 0, max_limit=100).field == "limit"
    assert broken(check_page, 10, -1, max_limit=100).field == "offset"


@given(st.text())
def test_escaped_like_patterns_have_no_bare_wildcards(text: str) -> None:
    escaped = escape_like(text)
    i = 0
    while i < len(escaped):
        if escaped[i] == "\\":
            assert escaped[i + 1] in "\\%_"
            i += 2
            continue
        assert escaped[i] not in "%_"
        i += 1


@pytest.mark.parametrize(
    "title",
    [
        "\u200b\u200b",  # zero-width spaces only
        "\u3164",  # Hangul filler: a letter that renders as nothing
        "\u2060\ufeff",  # word joiner, byte order mark
        "invoice\u202egnp.exe",  # right-to-left override: reads 'invoiceexe.png'
        "left\u2066isolate",
        "soft\u00adhyphen",
        "\u200dstarts with a joiner",
    ],
)
def test_invisible_and_direction_changing_titles_are_refused(title: str) -> None:
    error = broken(check_title, title)
    assert error.field == "title"
    assert "invisible" in error.rule or "visible character" in error.rule


@pytest.mark.parametrize(
    "title",
    ["میخواهم", "می\u200cخواهم", "👨\u200d👩\u200d👧 family", "I \u2764\ufe0f tea", "क्षत्रिय"],
)
def test_joiners_that_scripts_and_emoji_need_are_kept(title: str) -> None:
    assert check_title(title) == title


def test_invisible_tags_and_folders_are_refused() -> None:
    assert broken(check_tags, ["\u3164"]).field == "tags"
    assert broken(check_tags, ["ok", "a\u200bb"]).field == "tags"
    assert broken(check_folder, "guides/\u3164").field == "folder"


def test_offsets_stay_within_bigint() -> None:
    check_page(10, 2**63 - 1, max_limit=100)
    assert broken(check_page, 10, 2**63, max_limit=100).field == "offset"

"""The markdown file format of import and export: front matter read with a real YAML parser,
content kept byte for byte (front-matter-like text in it included), clear errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from article_mcp.articles.markdown_files import first_heading, parse_article, render_article
from article_mcp.articles.models import StoredArticle
from article_mcp.errors import InvalidInputError

# Text as PostgreSQL stores it (no NUL, no lone surrogates), with front matter lookalikes mixed in.
text = st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"))
content = st.lists(st.sampled_from(["---\n", "...\n", "title: x\n", "\r\n", "# H\n"]) | text).map("".join)
one_line = st.text(st.characters(blacklist_categories=["Cs", "Cc", "Zl", "Zp"]), min_size=1, max_size=80)
CREATED = datetime(2024, 1, 5, 10, 30, 15, 123456, tzinfo=UTC)


def stored(**fields: object) -> StoredArticle:
    defaults = {"slug": "s", "folder": "", "tags": [], "no_rag": False, "created_at": CREATED, "content": "x"}
    return StoredArticle.model_validate({**defaults, **fields})


@given(
    title=one_line,
    content=content,
    tags=st.lists(one_line, max_size=4),
    no_rag=st.booleans(),
    folder=st.sampled_from(["", "a", "guides/python", "日本/メモ"]),
)
def test_a_rendered_file_reads_back_as_it_was(
    title: str, content: str, tags: list[str], no_rag: bool, folder: str
) -> None:
    data = render_article(stored(title=title, folder=folder, tags=tags, no_rag=no_rag, content=content))
    article = parse_article(data, "stem")
    assert (article.title, article.slug, article.folder) == (title, "s", folder)
    assert (list(article.tags), article.no_rag, article.created) == (tags, no_rag, CREATED)
    assert article.content == content
    assert article.ignored == ()


def test_front_matter_like_content_stays_content() -> None:
    body = "---\ntitle: not me\n---\n\nreal text\n"
    data = render_article(stored(title="T", content=body))
    assert data.startswith(b"---\ntitle: T\n")
    assert parse_article(data, "stem").content == body


def test_a_file_without_front_matter_is_all_content() -> None:
    article = parse_article(b"Just text\r\nwith CRLF\r\n", "notes")
    assert (article.title, article.content, article.folder, article.slug) == (
        "notes",
        "Just text\r\nwith CRLF\r\n",
        None,
        None,
    )


@pytest.mark.parametrize(
    ("markdown", "title"),
    [
        ("intro\n\n# The title\n\n# Second\n", "The title"),
        ("## Level two\n\n# Level one\n", "Level one"),
        ("```\n# a comment in code\n```\n\n# Real\n", "Real"),
        ("Setext\n======\n", None),  # not a `#` heading
        ("#hashtag, not a heading\n", None),
    ],
)
def test_first_heading(markdown: str, title: str | None) -> None:
    assert first_heading(markdown) == title


def test_title_falls_back_to_heading_then_file_name() -> None:
    assert parse_article(b"---\ntags: [a]\n---\n# From heading\n", "f").title == "From heading"
    assert parse_article(b"no heading here\n", "my-file").title == "my-file"


def test_other_tools_keys_are_read_past_and_named() -> None:
    article = parse_article(b"---\ntitle: T\naliases: [x]\ncssclass: wide\n---\nbody", "f")
    assert (article.title, article.content, article.ignored) == ("T", "body", ("aliases", "cssclass"))


@pytest.mark.parametrize(
    ("created", "expected"),
    [
        ("2024-01-05", datetime(2024, 1, 5, tzinfo=UTC)),
        ("2024-01-05 10:00:00", datetime(2024, 1, 5, 10, tzinfo=UTC)),
        ("2024-01-05T10:00:00+02:00", datetime(2024, 1, 5, 10, tzinfo=timezone(timedelta(hours=2)))),
        ("'2024-01-05T10:00:00+02:00'", datetime(2024, 1, 5, 10, tzinfo=timezone(timedelta(hours=2)))),
    ],
)
def test_created_accepts_dates_and_times(created: str, expected: datetime) -> None:
    assert parse_article(f"---\ncreated: {created}\n---\n".encode(), "f").created == expected


@pytest.mark.parametrize(
    ("data", "field", "rule"),
    [
        (b"\xff\xfe text", "file", "not valid UTF-8"),
        (b"---\ntitle: T\nno closing line\n", "front matter", "no closing '---'"),
        (b"---\ntitle: [unclosed\n---\n", "front matter", "not valid YAML"),
        (b"---\n- a list\n---\n", "front matter", "mapping"),
        (b"---\ntitle: 2024\n---\n", "front matter title", "must be text"),
        (b"---\ntags: python\n---\n", "front matter tags", "list of text"),
        (b"---\ntags: [1, 2]\n---\n", "front matter tags", "list of text"),
        (b"---\nno_rag: maybe\n---\n", "front matter no_rag", "true or false"),
        (b"---\ncreated: last tuesday\n---\n", "front matter created", "date or time"),
        (b"---\nslug: [a]\n---\n", "front matter slug", "must be text"),
    ],
)
def test_bad_files_name_the_field_and_the_rule(data: bytes, field: str, rule: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        parse_article(data, "f")
    assert caught.value.field == field
    assert rule in caught.value.rule


def test_rendering_is_stable_and_ordered() -> None:
    article = stored(title="Ünï: — 日本", slug="u", folder="a/b", no_rag=True)
    first = render_article(article)
    local = CREATED.astimezone(timezone(timedelta(hours=-5)))
    assert render_article(article.model_copy(update={"created_at": local})) == first
    assert first.decode().splitlines()[:8] == [
        "---",
        "title: 'Ünï: — 日本'",
        "slug: u",
        "folder: a/b",
        "tags: []",
        "no_rag: true",
        "created: 2024-01-05 10:30:15.123456+00:00",
        "---",
    ]

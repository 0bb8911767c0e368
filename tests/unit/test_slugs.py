"""Slugs: readable in every script, valid for any title, unique with numbered suffixes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from article_mcp.articles.rules import is_hidden
from article_mcp.articles.slugs import (
    FALLBACK_SLUG,
    MAX_SLUG_LENGTH,
    check_slug,
    is_valid_slug,
    slugify,
    unique_slug,
    with_suffix,
)
from article_mcp.errors import InvalidInputError

# Letters that are seen (the few that render as nothing, like U+3164, never reach a slug).
letters = st.characters(categories=["Lu", "Ll", "Lo", "Nd"]).filter(lambda char: not is_hidden(char))


@pytest.mark.parametrize(
    ("title", "slug"),
    [
        ("Hello, World!", "hello-world"),
        ("  Postgres  --  pgvector 0.8 ", "postgres-pgvector-0-8"),
        ("Привет, мир", "привет-мир"),
        ("日本語のタイトル", "日本語のタイトル"),
        ("हिन्दी लेख", "हिन्दी-लेख"),
        ("Ｆｕｌｌｗｉｄｔｈ ＡＢＣ", "fullwidth-abc"),
        ("Straße", "straße"),
        ("Café au lait", "café-au-lait"),
        ("a/b\\c?d#e%f", "a-b-c-d-e-f"),
        ("!!!", FALLBACK_SLUG),
        ("", FALLBACK_SLUG),
        ("🚀🚀", FALLBACK_SLUG),
    ],
)
def test_slugify_examples(title: str, slug: str) -> None:
    assert slugify(title) == slug


def test_long_titles_are_cut_at_a_word_boundary() -> None:
    slug = slugify("word " * 40)
    assert len(slug) <= MAX_SLUG_LENGTH
    assert not slug.endswith("-")
    assert set(slug.split("-")) == {"word"}


@given(st.text())
def test_any_title_gives_a_valid_slug(title: str) -> None:
    slug = slugify(title)
    assert is_valid_slug(slug)
    assert slugify(slug) == slug


@given(st.text(letters, min_size=1, max_size=30))
def test_letters_of_any_script_survive(word: str) -> None:
    slug = slugify(word)
    # A title of letters never falls back to the placeholder (the predecessor's empty slugs).
    assert slug != FALLBACK_SLUG or word.lower() == FALLBACK_SLUG
    assert slug.replace("-", "")


@given(st.text(), st.sets(st.text(max_size=10), max_size=20))
def test_unique_slug_avoids_every_taken_slug(title: str, extra: set[str]) -> None:
    base = slugify(title)
    taken = {base, *(with_suffix(base, n) for n in range(2, 6)), *extra}
    slug = unique_slug(base, taken)
    assert slug not in taken
    assert is_valid_slug(slug)
    assert slug == with_suffix(base, 6) or with_suffix(base, 6) in taken


def test_unique_slug_keeps_a_free_base() -> None:
    assert unique_slug("notes", {"notes-2"}) == "notes"
    assert unique_slug("notes", {"notes", "notes-2"}) == "notes-3"


def test_suffix_keeps_long_slugs_within_the_limit() -> None:
    base = slugify("x" * 200)
    assert len(with_suffix(base, 12)) <= MAX_SLUG_LENGTH
    assert with_suffix(base, 12).endswith("-12")


@pytest.mark.parametrize("bad", ["", "Upper", "two  spaces", "-lead", "trail-", "a--b", "a/b", "x" * 81])
def test_check_slug_names_the_field_and_rule(bad: str) -> None:
    with pytest.raises(InvalidInputError) as error:
        check_slug(bad, "new_slug")
    assert error.value.field == "new_slug"
    assert "hyphens" in error.value.rule


def test_check_slug_accepts_its_own_output() -> None:
    assert check_slug("привет-мир") == "привет-мир"


def test_letters_that_render_as_nothing_never_reach_a_slug() -> None:
    assert slugify("\u3164 hidden \u3164") == "hidden"
    assert slugify("\u3164") == "article"
    assert not is_valid_slug("a\u3164b")

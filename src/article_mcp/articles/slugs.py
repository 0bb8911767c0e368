"""Slugs: the stable, human-readable address of an article.

A slug is made from the title once, at creation, and then kept: editing the title does not
move the article (tasks, links and agents keep finding it). Renaming is explicit.

Slugs keep the letters of every script (Unicode letters, combining marks and digits, after
NFKC normalisation and lowercasing), so a title in Japanese, Russian or Hindi gets a slug in
its own script instead of an empty one; runs of anything else become one hyphen.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Collection

from article_mcp.articles.rules import is_hidden
from article_mcp.errors import InvalidInputError

MAX_SLUG_LENGTH = 80
FALLBACK_SLUG = "article"

# Letters, combining marks (needed inside words of Indic and other scripts) and digits.
_KEPT_CATEGORIES = frozenset("LMN")


def _kept(char: str) -> bool:
    # Not the letters that render as nothing (Hangul fillers, U+3164): a slug must be seen.
    return unicodedata.category(char)[0] in _KEPT_CATEGORIES and not is_hidden(char)


def slugify(title: str, *, max_length: int = MAX_SLUG_LENGTH) -> str:
    """The slug a title gives: kept characters joined by single hyphens, never empty."""
    return _words(title, max_length) or FALLBACK_SLUG


def title_slug(title: str) -> str:
    """The slug a title gives, or InvalidInputError when it has no letter or digit to make one."""
    slug = _words(title, MAX_SLUG_LENGTH)
    if not slug:
        raise InvalidInputError("title", f"{title!r} has no letter or digit to make a slug from")
    return slug


def _words(title: str, max_length: int) -> str:
    """The title's kept characters joined by single hyphens; '' when it has none."""
    text = unicodedata.normalize("NFKC", title).lower()
    # Lowercasing can produce characters that NFKC would write differently (e.g. 'İ').
    text = unicodedata.normalize("NFKC", text)
    words: list[str] = []
    word: list[str] = []
    for char in text:
        if _kept(char):
            word.append(char)
        elif word:
            words.append("".join(word))
            word = []
    if word:
        words.append("".join(word))
    return _truncate("-".join(words), max_length)


def _truncate(slug: str, max_length: int) -> str:
    """Cut at a hyphen where one is near the limit, so words stay whole."""
    if len(slug) <= max_length:
        return slug
    cut = slug[:max_length]
    hyphen = cut.rfind("-")
    if hyphen >= max_length // 2:
        cut = cut[:hyphen]
    return cut.strip("-")


def is_valid_slug(slug: str) -> bool:
    """True when `slug` is exactly what `slugify` makes of it (and so safe as an address)."""
    return 0 < len(slug) <= MAX_SLUG_LENGTH and slugify(slug) == slug


def check_slug(slug: str, field: str = "slug") -> str:
    """The slug itself, or InvalidInputError naming `field` and the rule it breaks."""
    if not is_valid_slug(slug):
        raise InvalidInputError(
            field,
            f"must be 1 to {MAX_SLUG_LENGTH} lowercase letters or digits (any script) "
            f"in words joined by single hyphens, e.g. {slugify(slug)!r}",
        )
    return slug


def with_suffix(base: str, number: int) -> str:
    """`base-N`, with `base` shortened so the result stays within the length limit."""
    suffix = f"-{number}"
    return f"{_truncate(base, MAX_SLUG_LENGTH - len(suffix))}{suffix}"


def unique_slug(base: str, taken: Collection[str]) -> str:
    """`base` if free, otherwise the first free `base-2`, `base-3`, ..."""
    if base not in taken:
        return base
    number = 2
    while with_suffix(base, number) in taken:
        number += 1
    return with_suffix(base, number)

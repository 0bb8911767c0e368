"""Articles as markdown files: optional YAML front matter, then the content byte for byte.

The format `article-mcp import` reads and `article-mcp export` writes. Pure: bytes in, bytes
out, no file system and no database.

    ---
    title: Brewing coffee
    slug: brewing-coffee
    folder: guides/kitchen
    tags:
    - coffee
    no_rag: false
    created: 2026-01-05 10:00:00+00:00
    ---
    (the content, exactly as stored)

A file whose first line is `---` has front matter up to the next line that is `---` (or
`...`); everything after that line is the content. Export always writes front matter, so a
content that itself starts with `---` comes back intact.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

import yaml
from markdown_it import MarkdownIt

from article_mcp.articles.models import StoredArticle, StoredVersion
from article_mcp.errors import InvalidInputError

# The keys export writes, in this order; import reads the same.
FRONT_MATTER_KEYS = ("title", "slug", "folder", "tags", "no_rag", "created")
_OPENING = "---"
_CLOSINGS = frozenset({"---", "..."})
_BOM = "\ufeff"


@dataclass(frozen=True, slots=True)
class ArticleFile:
    """An article as a file gives it; None where the front matter says nothing."""

    title: str
    content: str
    slug: str | None = None
    folder: str | None = None
    tags: tuple[str, ...] = ()
    no_rag: bool = False
    created: datetime | None = None
    # Front matter keys that are not ours (other tools' metadata): read past, not stored.
    ignored: tuple[str, ...] = ()


def parse_article(data: bytes, file_stem: str) -> ArticleFile:
    """The article in a file's bytes; the title falls back to the first `#` heading, then
    `file_stem`. InvalidInputError names what is wrong: the encoding or a front matter key."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInputError("file", f"is not valid UTF-8 (byte {exc.start})") from None
    meta, content = _split(text.removeprefix(_BOM))
    title = _text(meta, "title") or first_heading(content) or file_stem
    return ArticleFile(
        title=title,
        content=content,
        slug=_text(meta, "slug"),
        folder=_text(meta, "folder"),
        tags=_tags(meta),
        no_rag=_flag(meta, "no_rag"),
        created=_moment(meta),
        ignored=tuple(str(key) for key in meta if key not in FRONT_MATTER_KEYS),
    )


def render_article(article: StoredArticle) -> bytes:
    """The file of an article: front matter in FRONT_MATTER_KEYS order, then the content."""
    meta = {
        "title": article.title,
        "slug": article.slug,
        "folder": article.folder,
        "tags": list(article.tags),
        "no_rag": article.no_rag,
        "created": article.created_at.astimezone(UTC),
    }
    return _render(meta, article.content)


def render_version(version: StoredVersion) -> bytes:
    """The file of one past version (`export --with-history`): what it was, when, by whom."""
    meta = {
        "version": version.version,
        "operation": version.operation,
        "created": version.created_at.astimezone(UTC),
        "author": version.author,
        "message": version.message,
        "title": version.title,
        "folder": version.folder,
        "tags": list(version.tags),
        "no_rag": version.no_rag,
    }
    return _render(meta, version.content)


def _render(meta: dict[str, Any], content: str) -> bytes:
    # No line wrapping, so a long title stays on its line and a second export is identical.
    front = yaml.safe_dump(meta, sort_keys=False, allow_unicode=True, width=2**31 - 1)
    return f"{_OPENING}\n{front}{_OPENING}\n{content}".encode()


def first_heading(content: str) -> str | None:
    """The text of the first `# ` (level one, ATX) heading, outside code blocks."""
    tokens = MarkdownIt("commonmark").parse(content)
    for opening, inline in itertools.pairwise(tokens):
        if opening.type == "heading_open" and opening.tag == "h1" and opening.markup == "#":
            return inline.content.strip() or None
    return None


def _split(text: str) -> tuple[dict[Any, Any], str]:
    """(front matter, content): the content is everything after the closing line."""
    first, newline, rest = text.partition("\n")
    if first.rstrip("\r") != _OPENING or not newline:
        return {}, text
    lines = rest.split("\n")
    for index, line in enumerate(lines):
        if line.rstrip("\r") in _CLOSINGS:
            return _load("\n".join(lines[:index])), "\n".join(lines[index + 1 :])
    raise InvalidInputError("front matter", "starts with a '---' line but has no closing '---' line")


def _load(block: str) -> dict[Any, Any]:
    try:
        meta = yaml.safe_load(block)
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        line = f" at line {where.line + 2}" if where is not None else ""
        raise InvalidInputError("front matter", f"is not valid YAML{line}: {_problem(exc)}") from None
    if meta is None:
        return {}
    if not isinstance(meta, dict):
        raise InvalidInputError("front matter", "must be a mapping of keys to values, e.g. 'title: Notes'")
    return meta


def _problem(exc: yaml.YAMLError) -> str:
    return str(getattr(exc, "problem", None) or exc).strip()


def _text(meta: dict[Any, Any], key: str) -> str | None:
    value = meta.get(key)
    if value is None or isinstance(value, str):
        return value
    raise InvalidInputError(f"front matter {key}", f"must be text (got {_kind(value)}); quote it")


def _tags(meta: dict[Any, Any]) -> tuple[str, ...]:
    value = meta.get("tags")
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(tag, str) for tag in value):
        raise InvalidInputError("front matter tags", "must be a list of text, e.g. [python, notes]")
    return tuple(value)


def _flag(meta: dict[Any, Any], key: str) -> bool:
    value = meta.get(key, False)
    if not isinstance(value, bool):
        raise InvalidInputError(f"front matter {key}", f"must be true or false (got {_kind(value)})")
    return value


def _moment(meta: dict[Any, Any]) -> datetime | None:
    """`created` as an aware datetime: a date is its midnight, a time without zone is UTC."""
    value = meta.get("created")
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            value = None
    elif isinstance(value, date) and not isinstance(value, datetime):
        value = datetime.combine(value, time())
    if not isinstance(value, datetime):
        raise InvalidInputError(
            "front matter created", "must be a date or time, e.g. 2024-01-05 10:00:00+00:00"
        )
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _kind(value: object) -> str:
    return type(value).__name__

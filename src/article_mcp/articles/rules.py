"""The rules article input must follow, each broken rule an InvalidInputError(field, rule).

Every front end (MCP tools, CLI) goes through these checks inside ArticleService, before
anything is written, so a bad request never leaves half an article behind.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

from article_mcp.errors import InvalidInputError

TITLE_MAX_LENGTH = 300
FOLDER_MAX_LENGTH = 255
FOLDER_MAX_DEPTH = 10
FOLDER_SEGMENT_MAX_LENGTH = 64
TAG_MAX_LENGTH = 64
MAX_TAGS = 32
# Long enough for a pasted paragraph or two (argument-retrieval queries average ~1,100
# characters); full text scores each distinct word once, semantic search embeds what fits.
QUERY_MAX_LENGTH = 8000
MESSAGE_MAX_LENGTH = 1000
AUTHOR_MAX_LENGTH = 200

# Besides letters, marks and digits (any script): what folder names and tags may contain.
_FOLDER_PUNCTUATION = frozenset(" -_.")
_TAG_PUNCTUATION = frozenset(" -_.:/+#")


def _is_word_char(char: str) -> bool:
    return unicodedata.category(char)[0] in "LMN"


def check_text(value: str, field: str) -> str:
    """Text PostgreSQL can store: no NUL (never meant in input), no lone surrogates."""
    if "\x00" in value:
        raise InvalidInputError(field, "must not contain NUL characters (\\u0000)")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInputError(field, "must be valid Unicode (no lone surrogates)") from None
    return value


def check_line(value: str, field: str, max_length: int, *, subject: str = "") -> str:
    """Text trimmed of surrounding space, then 1 to `max_length` characters."""
    check_text(value, field)
    value = value.strip()
    if not value:
        raise InvalidInputError(field, f"{subject}must not be empty")
    if len(value) > max_length:
        raise InvalidInputError(field, f"{subject}must be at most {max_length} characters (got {len(value)})")
    return value


def check_title(title: str) -> str:
    """A title: one line of 1 to TITLE_MAX_LENGTH characters; returned trimmed."""
    title = check_line(title, "title", TITLE_MAX_LENGTH)
    if any(unicodedata.category(c) == "Cc" for c in title):
        raise InvalidInputError("title", "must be one line without control characters")
    return title


def check_content(content: str, max_bytes: int) -> str:
    """Markdown content within ARTICLE_MAX_BYTES (UTF-8); may be empty."""
    check_text(content, "content")
    size = len(content.encode("utf-8"))
    if size > max_bytes:
        raise InvalidInputError(
            "content", f"must be at most {max_bytes} bytes of UTF-8 (ARTICLE_MAX_BYTES), got {size}"
        )
    return content


def check_folder(folder: str, field: str = "folder") -> str:
    """A folder path like `guides/python`: '' is the root; no `..`, no empty parts."""
    check_text(folder, field)
    if folder == "":
        return folder
    if len(folder) > FOLDER_MAX_LENGTH:
        raise InvalidInputError(field, f"must be at most {FOLDER_MAX_LENGTH} characters")
    if folder.startswith("/") or folder.endswith("/"):
        raise InvalidInputError(field, "must not start or end with '/' (write 'a/b'; '' is the root)")
    parts = folder.split("/")
    if len(parts) > FOLDER_MAX_DEPTH:
        raise InvalidInputError(field, f"must be at most {FOLDER_MAX_DEPTH} levels deep")
    for part in parts:
        _check_folder_part(part, field)
    return folder


def _check_folder_part(part: str, field: str) -> None:
    if part in ("", ".", ".."):
        raise InvalidInputError(field, "must not contain empty, '.' or '..' parts")
    if len(part) > FOLDER_SEGMENT_MAX_LENGTH:
        raise InvalidInputError(field, f"each part must be at most {FOLDER_SEGMENT_MAX_LENGTH} characters")
    if part != part.strip():
        raise InvalidInputError(field, "parts must not start or end with a space")
    if not all(_is_word_char(c) or c in _FOLDER_PUNCTUATION for c in part):
        raise InvalidInputError(field, "parts may hold letters, digits, spaces and - _ . only")


def check_tags(tags: Iterable[str]) -> list[str]:
    """Tags trimmed and deduplicated in their order; each 1 to TAG_MAX_LENGTH characters."""
    cleaned: list[str] = []
    for tag in tags:
        tag = check_line(tag, "tags", TAG_MAX_LENGTH, subject="each tag ")
        if not all(_is_word_char(c) or c in _TAG_PUNCTUATION for c in tag):
            raise InvalidInputError("tags", "tags may hold letters, digits, spaces and - _ . : / + # only")
        if tag not in cleaned:
            cleaned.append(tag)
    if len(cleaned) > MAX_TAGS:
        raise InvalidInputError("tags", f"at most {MAX_TAGS} tags")
    return cleaned


def check_note(value: str | None, field: str, max_length: int) -> str | None:
    """An optional note of a write (`message`, `author`): trimmed; empty means none."""
    if value is None or not value.strip():
        return None
    return check_line(value, field, max_length)


def check_query(query: str, field: str = "query") -> str:
    """A search query: 1 to QUERY_MAX_LENGTH characters once trimmed."""
    return check_line(query, field, QUERY_MAX_LENGTH)


def check_page(limit: int, offset: int, *, max_limit: int) -> None:
    """Paging arguments within range."""
    if not 1 <= limit <= max_limit:
        raise InvalidInputError("limit", f"must be between 1 and {max_limit}")
    if offset < 0:
        raise InvalidInputError("offset", "must be 0 or more")


def escape_like(text: str) -> str:
    """`text` as a literal inside a LIKE pattern (with the default `\\` escape)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")

"""The rules article input must follow, each broken rule an InvalidInputError(field, rule).

Every front end (MCP tools, CLI) goes through these checks inside ArticleService, before
anything is written, so a bad request never leaves half an article behind.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

import regex

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
# PostgreSQL's bigint: the widest integer any query takes (an offset past it cannot be sent).
MAX_BIGINT = 2**63 - 1
# Versions are `integer` columns.
MAX_VERSION = 2**31 - 1
MIN_BIGINT = -(2**63)

# Characters that render as nothing or reorder what follows (Unicode's default-ignorable code
# points, e.g. U+200B, U+2060, U+FEFF, U+3164, and the bidi controls, e.g. U+202E): a title
# made of them is invisible, one holding them reads differently from what it is.
_HIDDEN = regex.compile(r"[\p{Default_Ignorable_Code_Point}\p{Bidi_Control}]")
# Of those, joiners that scripts and emoji need: ZWNJ and ZWJ between two visible characters
# (Persian, Indic, emoji sequences), variation selectors after one (the emoji form of ❤).
_BETWEEN_VISIBLE = frozenset("\u200c\u200d")
_VARIATION_SELECTOR = regex.compile(r"[\ufe00-\ufe0f\U000e0100-\U000e01ef]")
_VISIBLE = regex.compile(r"[\p{L}\p{N}\p{P}\p{S}]")
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


def check_visible(value: str, field: str) -> str:
    """Text without invisible or direction-changing characters, with something to see."""
    for found in _HIDDEN.finditer(value):
        if not _allowed_joiner(value, found.start()):
            raise InvalidInputError(
                field,
                f"must not contain invisible or direction-changing characters "
                f"(U+{ord(found.group()):04X} at position {found.start()})",
            )
    if not any(_visible(char) for char in value):
        raise InvalidInputError(field, "must contain a visible character")
    return value


def is_hidden(char: str) -> bool:
    """True for a character that renders as nothing or changes the direction of what follows."""
    return _HIDDEN.match(char) is not None


def _visible(char: str) -> bool:
    return _VISIBLE.match(char) is not None and not is_hidden(char)


def _allowed_joiner(value: str, at: int) -> bool:
    before = at > 0 and _visible(value[at - 1])
    if _VARIATION_SELECTOR.match(value[at]):
        return before
    after = at + 1 < len(value) and _visible(value[at + 1])
    return value[at] in _BETWEEN_VISIBLE and before and after


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
    return check_visible(title, "title")


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
    check_visible(part, field)


def check_tags(tags: Iterable[str]) -> list[str]:
    """Tags trimmed and deduplicated in their order; each 1 to TAG_MAX_LENGTH characters."""
    cleaned: list[str] = []
    for tag in tags:
        tag = check_line(tag, "tags", TAG_MAX_LENGTH, subject="each tag ")
        if not all(_is_word_char(c) or c in _TAG_PUNCTUATION for c in tag):
            raise InvalidInputError("tags", "tags may hold letters, digits, spaces and - _ . : / + # only")
        check_visible(tag, "tags")
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


def check_version(version: int, field: str = "version") -> int:
    """A version number: 1 to MAX_VERSION."""
    if not 1 <= version <= MAX_VERSION:
        raise InvalidInputError(field, f"must be a version number, 1 to {MAX_VERSION}")
    return version


def check_page(limit: int, offset: int, *, max_limit: int) -> None:
    """Paging arguments within range."""
    if not 1 <= limit <= max_limit:
        raise InvalidInputError("limit", f"must be between 1 and {max_limit}")
    if not 0 <= offset <= MAX_BIGINT:
        raise InvalidInputError("offset", f"must be between 0 and {MAX_BIGINT}")


def escape_like(text: str) -> str:
    """`text` as a literal inside a LIKE pattern (with the default `\\` escape)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")

"""Chunking: an article cut into passages that fit the embedding budget.

The markdown's structure comes from `passages.blocks` (a CommonMark parser). A chunk never
spans two sections: headings start a new chunk, and each chunk carries the path of headings
above it. Blocks that fit are kept whole: paragraphs, code blocks, lists, tables,
blockquotes. A block too large for the budget is cut at the blocks it is made of (a list at
its items, a table at its rows, a blockquote at its paragraphs), and a block made of no
others at lines, then sentences, then words, and a single word larger than the budget at
characters, so the budget always holds. Overlap never starts inside a code block, so a code
block that fits is whole in every chunk that holds any of it.

The budget is for `embed_text` (title, heading path and text): what the provider sees. Tokens
are estimated by `count_tokens`, a conservative, model-independent count.

Pure: no database, no provider.
"""

from __future__ import annotations

import bisect
import hashlib
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from article_mcp.errors import InvalidInputError
from article_mcp.passages.blocks import Block, Outline, Span, parse, parts, sections
from article_mcp.passages.tokens import count_tokens, piece_tokens

MIN_MAX_TOKENS = 8


@dataclass(frozen=True, slots=True)
class Chunk:
    """One passage of an article and the text its embedding is made from."""

    index: int
    heading_path: tuple[str, ...]
    # The passage as written in the article: what users see and full-text search indexes.
    text: str
    # Title, heading path and text: what the provider embeds.
    embed_text: str
    # sha256 hex of embed_text: the key of its embedding.
    text_hash: str
    # Estimated tokens of embed_text (`count_tokens`).
    token_count: int


@dataclass(frozen=True, slots=True)
class ChunkSpan:
    """Where a chunk lies in the article (`content[start:end]`) and what precedes it when embedded."""

    start: int
    end: int
    heading_path: tuple[str, ...]
    header: str


def chunk_article(title: str, content: str, *, max_tokens: int, overlap: int) -> list[Chunk]:
    """Cut an article into chunks whose `embed_text` holds at most `max_tokens` estimated tokens.

    Consecutive chunks of one section share up to `overlap` tokens of text. Deterministic:
    the same input always gives the same chunks and hashes.
    """
    spans = chunk_spans(title, content, max_tokens=max_tokens, overlap=overlap)
    return [_make_chunk(index, span, content) for index, span in enumerate(spans)]


def chunk_spans(title: str, content: str, *, max_tokens: int, overlap: int) -> list[ChunkSpan]:
    """The chunks of `chunk_article` as positions in `content`."""
    if max_tokens < MIN_MAX_TOKENS:
        raise InvalidInputError("max_tokens", f"must be at least {MIN_MAX_TOKENS}")
    if overlap < 0:
        raise InvalidInputError("overlap", "must not be negative")
    spans: list[ChunkSpan] = []
    words = _Words(content)
    outline = parse(content)
    for path, blocks in sections(outline):
        header = _header(title, path, max_tokens)
        budget = max_tokens - count_tokens(header)
        # Overlap never takes more than half the room: each chunk brings new text.
        section_overlap = min(overlap, budget // 2)
        units = _fitting(words, blocks, budget)
        for start, end in _pack(words, outline, units, budget, section_overlap):
            spans.append(ChunkSpan(start, end, path, header))
    return spans


def embed_text(title: str, heading_path: Sequence[str], text: str, *, max_tokens: int) -> str:
    """What the provider embeds for a chunk: title and heading path, then the text.

    The worker rebuilds it from a stored chunk (`max_tokens` being the CHUNK_SIZE it was cut
    with) and checks it against the chunk's `text_hash`.
    """
    return _join(_header(title, tuple(heading_path), max_tokens), text)


def _join(header: str, text: str) -> str:
    return f"{header}\n\n{text}" if header else text


def _make_chunk(index: int, span: ChunkSpan, content: str) -> Chunk:
    text = content[span.start : span.end]
    embed_text = _join(span.header, text)
    return Chunk(
        index=index,
        heading_path=span.heading_path,
        text=text,
        embed_text=embed_text,
        text_hash=hashlib.sha256(embed_text.encode("utf-8")).hexdigest(),
        token_count=count_tokens(embed_text),
    )


def _header(title: str, path: tuple[str, ...], max_tokens: int) -> str:
    title = " ".join(title.split())
    if path and path[0].casefold() == title.casefold():
        # The article's own top heading repeats its title: say it once.
        path = path[1:]
    header = "\n".join(part for part in (title, " > ".join(path)) if part)
    # The context may take half the budget at most; the rest is for the passage itself.
    limit = max_tokens // 2
    if count_tokens(header) > limit:
        header = header[: _longest_prefix(header, 0, len(header), limit)].rstrip()
    return header


# --- Fitting and packing ------------------------------------------------------------------

# How an oversized unit is cut, coarsest first: lines, sentences, words.
_SPLITTERS = (
    re.compile(r"[^\n]+"),
    re.compile(r"\S[^\n]*?(?:[.!?](?=\s)|$)"),
    re.compile(r"\S+"),
)
_WORD = _SPLITTERS[-1]


def _trim(content: str, start: int, end: int) -> Span:
    text = content[start:end]
    stripped = text.lstrip()
    start += len(text) - len(stripped)
    return start, start + len(stripped.rstrip())


class _Words:
    """The article's words and their running token estimate, so a span is counted in O(log n)."""

    def __init__(self, content: str) -> None:
        self.content = content
        self.starts: list[int] = []
        self.ends: list[int] = []
        self.running = [0]
        for match in _WORD.finditer(content):
            self.starts.append(match.start())
            self.ends.append(match.end())
            self.running.append(self.running[-1] + piece_tokens(match.group()))

    def tokens(self, start: int, end: int) -> int:
        """`count_tokens(content[start:end])`."""
        first = bisect.bisect_left(self.starts, start)
        last = bisect.bisect_right(self.ends, end)
        if first < last and self.starts[first] == start and self.ends[last - 1] == end:
            return self.running[last] - self.running[first]
        # Only spans cut inside a word get here.
        return count_tokens(self.content[start:end])

    def starts_within(self, start: int, end: int) -> list[int]:
        """Where the words inside `[start, end)` begin."""
        return self.starts[bisect.bisect_left(self.starts, start) : bisect.bisect_left(self.starts, end)]


def _fitting(words: _Words, blocks: Sequence[Block], budget: int) -> Iterator[Span]:
    """The blocks in order, trimmed, each cut as coarsely as needed to fit the budget."""
    # A block and the splitter level its text is cut at when it has no parts to cut at.
    stack = [(block, 0) for block in reversed(blocks)]
    while stack:
        block, level = stack.pop()
        start, end = _trim(words.content, block.start, block.end)
        if start >= end:
            continue
        if words.tokens(start, end) <= budget:
            yield start, end
        elif block.children:
            stack.extend((part, 0) for part in reversed(parts(block)))
        else:
            stack.extend(reversed(_subdivide(words.content, start, end, level, budget)))


def _subdivide(content: str, start: int, end: int, level: int, budget: int) -> list[tuple[Block, int]]:
    """Cut a unit at the coarsest level that splits it; a single word is cut at characters."""
    for depth in range(level, len(_SPLITTERS)):
        pieces = [_trim(content, *m.span()) for m in _SPLITTERS[depth].finditer(content, start, end)]
        pieces = [(a, b) for a, b in pieces if a < b]
        if len(pieces) > 1:
            return [(Block(a, b), depth + 1) for a, b in pieces]
    cuts = []
    while start < end:
        cut = _longest_prefix(content, start, end, budget)
        cuts.append((Block(start, cut), len(_SPLITTERS)))
        start = cut
    return cuts


def _longest_prefix(text: str, start: int, end: int, budget: int) -> int:
    """An end in (start, end] with `text[start:end]` within budget, as far as a bisection finds."""
    # No character costs less than a quarter token, so the answer lies within this window;
    # bounding it keeps cutting a huge word linear.
    low, high = start + 1, min(end, start + 8 * budget + 64)
    while low < high:
        middle = (low + high + 1) // 2
        if count_tokens(text[start:middle]) <= budget:
            low = middle
        else:
            high = middle - 1
    return low


def _pack(
    words: _Words, outline: Outline, units: Iterator[Span], budget: int, overlap: int
) -> Iterator[Span]:
    """Join consecutive units into chunks of at most `budget` tokens, overlapping by `overlap`."""
    current: Span | None = None
    for start, end in units:
        if current is not None and words.tokens(current[0], end) <= budget:
            current = (current[0], end)
            continue
        if current is not None:
            yield current
            start = _overlap_start(words, outline, current, (start, end), budget, overlap)
        current = (start, end)
    if current is not None:
        yield current


def _overlap_start(
    words: _Words, outline: Outline, previous: Span, following: Span, budget: int, overlap: int
) -> int:
    """Where the next chunk starts: a few words back into the previous one, if they fit.

    Never inside a code block: a chunk holds all of a code block or none of it (unless the
    block alone is too large for a chunk and had to be cut).
    """
    best = following[0]
    if overlap <= 0:
        return best
    for position in reversed(words.starts_within(previous[0] + 1, previous[1])):
        if words.tokens(position, previous[1]) > overlap or words.tokens(position, following[1]) > budget:
            break
        if not outline.in_code(position):
            best = position
    return best

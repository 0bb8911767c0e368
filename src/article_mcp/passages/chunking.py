"""Markdown-aware chunking: an article cut into passages that fit the embedding budget.

A chunk never spans two sections: headings start a new chunk, and each chunk carries the path
of headings above it. Fenced code blocks are one block (a `#` line inside a fence is code,
not a heading) and paragraphs are kept whole when they fit. A block too large for the budget
is cut at lines, then sentences, then words, and a single word larger than the budget at
characters, so the budget always holds.

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
    for path, units in _sections(content):
        header = _header(title, path, max_tokens)
        budget = max_tokens - count_tokens(header)
        # Overlap never takes more than half the room: each chunk brings new text.
        section_overlap = min(overlap, budget // 2)
        for start, end in _pack(words, _fitting(words, units, budget), budget, section_overlap):
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


# --- Markdown structure -------------------------------------------------------------------

_FENCE = re.compile(r" {0,3}(`{3,}|~{3,})")
_HEADING = re.compile(r" {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?")

Span = tuple[int, int]


@dataclass(frozen=True, slots=True)
class _Block:
    start: int
    end: int
    # Heading level (1-6), 0 for paragraphs and code.
    level: int = 0
    title: str = ""


def _sections(content: str) -> Iterator[tuple[tuple[str, ...], list[Span]]]:
    """Runs of blocks under one heading path; a run of headings joins the section it opens."""
    path: list[tuple[int, str]] = []
    units: list[Span] = []
    has_body = False
    for block in _blocks(content):
        if block.level:
            if has_body:
                yield _titles(path), units
                units, has_body = [], False
            while path and path[-1][0] >= block.level:
                path.pop()
            path.append((block.level, block.title))
        else:
            has_body = True
        units.append(_trim(content, block.start, block.end))
    if units:
        yield _titles(path), units


def _titles(path: list[tuple[int, str]]) -> tuple[str, ...]:
    return tuple(title for _, title in path if title)


def _blocks(content: str) -> Iterator[_Block]:
    """Headings, fenced code blocks and paragraphs, in order; blank lines dropped."""
    lines = _lines(content)
    i = 0
    while i < len(lines):
        start, end = lines[i]
        line = content[start:end].rstrip()
        heading = _HEADING.fullmatch(line)
        if heading:
            title = " ".join((heading.group(2) or "").split())
            yield _Block(start, end, len(heading.group(1)), title)
        elif line.strip():
            fence = _FENCE.match(line)
            last = (
                _fence_end(content, lines, i, fence.group(1)) if fence else _paragraph_end(content, lines, i)
            )
            yield _Block(start, lines[last][1])
            i = last
        i += 1


def _lines(content: str) -> list[Span]:
    lines = []
    start = 0
    for newline in re.finditer("\n", content):
        lines.append((start, newline.start()))
        start = newline.end()
    lines.append((start, len(content)))
    return lines


def _fence_end(content: str, lines: list[Span], first: int, marker: str) -> int:
    """The index of the line closing the fence opened at `first` (the last line if none does)."""
    closing = re.compile(re.escape(marker[0]) + "{" + str(len(marker)) + ",}")
    for i in range(first + 1, len(lines)):
        if closing.fullmatch(content[lines[i][0] : lines[i][1]].strip()):
            return i
    return len(lines) - 1


def _paragraph_end(content: str, lines: list[Span], first: int) -> int:
    """The last line of the paragraph starting at `first`: a blank line, heading or fence ends it."""
    i = first
    while i + 1 < len(lines):
        line = content[lines[i + 1][0] : lines[i + 1][1]].rstrip()
        if not line.strip() or _FENCE.match(line) or _HEADING.fullmatch(line):
            break
        i += 1
    return i


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


def _fitting(words: _Words, units: Sequence[Span], budget: int) -> Iterator[Span]:
    """The units in order, each cut as coarsely as needed to fit the budget."""
    stack = [(start, end, 0) for start, end in reversed(units)]
    while stack:
        start, end, level = stack.pop()
        if words.tokens(start, end) <= budget:
            yield start, end
            continue
        stack.extend(reversed(_subdivide(words.content, start, end, level, budget)))


def _subdivide(content: str, start: int, end: int, level: int, budget: int) -> list[tuple[int, int, int]]:
    """Cut a unit at the coarsest level that splits it; a single word is cut at characters."""
    for depth in range(level, len(_SPLITTERS)):
        pieces = [_trim(content, *m.span()) for m in _SPLITTERS[depth].finditer(content, start, end)]
        pieces = [(a, b) for a, b in pieces if a < b]
        if len(pieces) > 1:
            return [(a, b, depth + 1) for a, b in pieces]
    cuts = []
    while start < end:
        cut = _longest_prefix(content, start, end, budget)
        cuts.append((start, cut, len(_SPLITTERS)))
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


def _pack(words: _Words, units: Iterator[Span], budget: int, overlap: int) -> Iterator[Span]:
    """Join consecutive units into chunks of at most `budget` tokens, overlapping by `overlap`."""
    current: Span | None = None
    for start, end in units:
        if current is not None and words.tokens(current[0], end) <= budget:
            current = (current[0], end)
            continue
        if current is not None:
            yield current
            start = _overlap_start(words, current, (start, end), budget, overlap)
        current = (start, end)
    if current is not None:
        yield current


def _overlap_start(words: _Words, previous: Span, following: Span, budget: int, overlap: int) -> int:
    """Where the next chunk starts: a few words back into the previous one, if they fit."""
    best = following[0]
    if overlap <= 0:
        return best
    for position in reversed(words.starts_within(previous[0] + 1, previous[1])):
        if words.tokens(position, previous[1]) > overlap or words.tokens(position, following[1]) > budget:
            break
        best = position
    return best

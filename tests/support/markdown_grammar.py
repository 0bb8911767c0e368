"""Markdown articles generated from a grammar, with the structure they were built from.

Each document is assembled from parts (headings ATX and setext, paragraphs, lists, tables,
blockquotes, code fences, front matter) separated by blank lines, and remembers where every
part, list item and table row landed, so tests can check a chunking against the outline the
document was written with rather than against a second parser.
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import strategies as st

# Words that mean nothing to markdown wherever they stand in a line.
SAFE_WORDS = st.sampled_from(
    [
        "the", "wing", "aerodynamic", "boundary-layer", "Mach", "2.5", "flow.", "is", "a", "HTTP",
        "getElementById", "snake_case", "привет", "世界", "한국어", "naïve", "0xdeadbeef", "end!",
        "why?", "—", "x" * 30, "e3b0c44298fc1c14",
    ]
)  # fmt: skip
Span = tuple[int, int]


@dataclass(frozen=True)
class Part:
    """One top-level block as written: its text, and for a heading its level and title."""

    kind: str
    text: str
    level: int = 0
    title: str = ""
    # Where the text proper starts (after an ATX heading's indentation).
    lead: int = 0
    # List items or table rows, as spans of `text`.
    pieces: tuple[Span, ...] = ()


@dataclass(frozen=True)
class Placed:
    part: Part
    start: int
    end: int

    @property
    def pieces(self) -> list[Span]:
        return [(self.start + a, self.start + b) for a, b in self.part.pieces]


@dataclass(frozen=True)
class Document:
    content: str
    placed: tuple[Placed, ...]

    def runs(self) -> list[tuple[int, tuple[str, ...]]]:
        """Where each run of consecutive headings starts, and the heading path it leaves."""
        runs: list[tuple[int, tuple[str, ...]]] = []
        outline: list[tuple[int, str]] = []
        previous_was_heading = False
        for placed in self.placed:
            part = placed.part
            if part.kind != "heading":
                previous_was_heading = False
                continue
            while outline and outline[-1][0] >= part.level:
                outline.pop()
            outline.append((part.level, part.title))
            path = tuple(title for _, title in outline if title)
            if previous_was_heading:
                runs[-1] = (runs[-1][0], path)
            else:
                runs.append((placed.start + part.lead, path))
            previous_was_heading = True
        return runs

    def path_at(self, end: int) -> tuple[str, ...]:
        """The heading path of text ending at `end`: that of the last heading run before it."""
        paths = [path for start, path in self.runs() if start < end]
        return paths[-1] if paths else ()

    def of_kind(self, *kinds: str) -> list[Placed]:
        return [placed for placed in self.placed if placed.part.kind in kinds]


def _words(min_size: int = 1, max_size: int = 8) -> st.SearchStrategy[str]:
    return st.lists(SAFE_WORDS, min_size=min_size, max_size=max_size).map(" ".join)


def _lines(max_lines: int = 4) -> st.SearchStrategy[list[str]]:
    return st.lists(_words(), min_size=1, max_size=max_lines)


@st.composite
def atx_headings(draw: st.DrawFn) -> Part:
    level = draw(st.integers(1, 6))
    title = draw(_words(0, 4))
    indent = " " * draw(st.integers(0, 3))
    closing = " " + "#" * draw(st.integers(1, 3)) if title and draw(st.booleans()) else ""
    text = indent + "#" * level + (" " + title if title else "") + closing
    return Part("heading", text, level, title, lead=len(indent))


@st.composite
def setext_headings(draw: st.DrawFn) -> Part:
    lines = draw(_lines(2))
    level = draw(st.sampled_from([1, 2]))
    underline = ("=" if level == 1 else "-") * draw(st.integers(1, 8))
    return Part("heading", "\n".join([*lines, underline]), level, " ".join(lines))


def paragraphs() -> st.SearchStrategy[Part]:
    return _lines().map(lambda lines: Part("paragraph", "\n".join(lines)))


@st.composite
def lists(draw: st.DrawFn) -> Part:
    ordered = draw(st.booleans())
    bullet = draw(st.sampled_from("-*+"))
    items: list[str] = []
    for number in range(1, draw(st.integers(1, 6)) + 1):
        marker = f"{number}." if ordered else bullet
        indent = "\n" + " " * (len(marker) + 1)
        lines = draw(_lines(3))
        sub = [f"- {line}" for line in draw(st.lists(_words(), max_size=3))]
        items.append(f"{marker} " + indent.join([*lines, *sub]))
    return _with_pieces("list", items)


@st.composite
def tables(draw: st.DrawFn) -> Part:
    columns = draw(st.integers(1, 4))

    def row() -> str:
        return "| " + " | ".join(draw(_words(1, 3)) for _ in range(columns)) + " |"

    header = row() + "\n|" + "|".join(["---"] * columns) + "|"
    return _with_pieces("table", [header, *(row() for _ in range(draw(st.integers(0, 8))))])


def _with_pieces(kind: str, pieces: list[str]) -> Part:
    spans, offset = [], 0
    for piece in pieces:
        spans.append((offset, offset + len(piece)))
        offset += len(piece) + 1
    return Part(kind, "\n".join(pieces), pieces=tuple(spans))


@st.composite
def blockquotes(draw: st.DrawFn) -> Part:
    quoted = ["\n".join(f"> {line}" for line in draw(_lines(3))) for _ in range(draw(st.integers(1, 3)))]
    return Part("quote", "\n>\n".join(quoted))


@st.composite
def fences(draw: st.DrawFn) -> Part:
    marker = draw(st.sampled_from(["```", "~~~", "````"]))
    info = draw(st.sampled_from(["", "python", "bash"]))
    code_line = st.one_of(_words(), atx_headings().map(lambda part: part.text), st.just(""))
    body = draw(st.lists(code_line, max_size=10))
    return Part("fence", "\n".join([marker + info, *body, marker]))


@st.composite
def front_matter(draw: st.DrawFn) -> Part:
    entry = st.tuples(_words(1, 1), _words()).map(lambda pair: f"{pair[0]}: {pair[1]}")
    line = st.one_of(entry, st.just("# a comment"))
    return Part("front", "\n".join(["---", *draw(st.lists(line, min_size=1, max_size=4)), "---"]))


BODY = st.one_of(paragraphs(), lists(), tables(), blockquotes(), fences())
HEADINGS = st.one_of(atx_headings(), setext_headings())
SEPARATORS = st.sampled_from(["\n\n", "\n\n\n", "\n \n", "\r\n\r\n"])


@st.composite
def documents(draw: st.DrawFn) -> Document:
    parts = draw(st.lists(st.one_of(HEADINGS, BODY), max_size=14))
    if draw(st.booleans()):
        parts.insert(0, draw(front_matter()))
    content, placed = "", []
    for previous, part in zip([None, *parts], parts, strict=False):
        if previous is not None and previous.kind == "list" and part.lead:
            # An indented line after a list continues its last item: no heading then.
            part = Part(part.kind, part.text[part.lead :], part.level, part.title)
        if content:
            content += draw(SEPARATORS)
        placed.append(Placed(part, len(content), len(content) + len(part.text)))
        content += part.text
    return Document(content + draw(st.sampled_from(["", "\n"])), tuple(placed))

"""Markdown to blocks: an article's structure as a CommonMark parser reads it.

`markdown-it-py` (CommonMark, plus GFM tables and YAML front matter) parses the article; its
tokens give each block's lines, which become character spans of the article. Blocks nest as
the markdown does: a list holds its items, a blockquote its paragraphs, a table its header and
rows. Only top-level headings (ATX `# Title` and setext `Title\n=====` alike) shape the
outline; a heading inside a list or blockquote is part of that block. Front matter is a
block of its own, never a heading.

The blocks tile the article: each one runs up to the next (a parent's children tile the
parent), so text the parser keeps no token for (link reference definitions, what lies past
its nesting limit) still belongs to a block, and every character of the article lies in one.

Pure: no database, no provider.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from markdown_it import MarkdownIt
from markdown_it.token import Token
from mdit_py_plugins.front_matter import front_matter_plugin

Span = tuple[int, int]

# Block structure only: inline markup (emphasis, links) does not shape passages, and skipping
# its parse halves the time taken.
_PARSER = MarkdownIt("commonmark").enable("table").use(front_matter_plugin).disable(["inline", "text_join"])
# The line breaks the parser recognises (it reads `\r\n` and a lone `\r` as `\n`).
_LINE_BREAK = re.compile(r"\r\n?|\n")
_CODE = frozenset({"fence", "code_block"})


@dataclass(frozen=True, slots=True)
class Block:
    """`content[start:end]`: one block, with the blocks it is made of."""

    start: int
    end: int
    # Heading level (1-6) of a top-level heading; 0 for any other block.
    level: int = 0
    title: str = ""
    children: tuple[Block, ...] = ()


@dataclass(frozen=True, slots=True)
class Outline:
    """The article's top-level blocks, tiling it, and where its code blocks lie."""

    blocks: tuple[Block, ...]
    # Fenced and indented code blocks, in order.
    code: tuple[Span, ...]

    def in_code(self, position: int) -> bool:
        """Whether `position` lies inside a code block, past its first character."""
        index = bisect.bisect_left(self.code, (position,)) - 1
        return index >= 0 and position < self.code[index][1]


def parse(content: str) -> Outline:
    """The block structure of `content`."""
    lines = _Lines(content)
    root = _Frame()
    stack = [root]
    code: list[Span] = []
    for token in _PARSER.parse(content):
        if token.nesting == 1:
            stack.append(_Frame(token))
        elif token.nesting == -1:
            frame = stack.pop()
            stack[-1].add(frame.close(lines, top_level=len(stack) == 1))
        elif token.type == "inline":
            stack[-1].title = " ".join(token.content.split())
        elif token.map:
            block = Block(*lines.span(token.map))
            stack[-1].children.append(block)
            if token.type in _CODE:
                code.append((block.start, block.end))
    return Outline(tile(0, len(content), root.children), tuple(code))


def parts(block: Block) -> tuple[Block, ...]:
    """The children of `block`, stretched to tile it."""
    return tile(block.start, block.end, block.children)


def tile(start: int, end: int, blocks: Sequence[Block]) -> tuple[Block, ...]:
    """`blocks` stretched so each runs up to the next, together covering `[start, end)`."""
    if not blocks:
        return (Block(start, end),)
    bounds = [start, *(block.start for block in blocks[1:]), end]
    return tuple(
        Block(bounds[i], bounds[i + 1], block.level, block.title, block.children)
        for i, block in enumerate(blocks)
    )


def sections(outline: Outline) -> Iterator[tuple[tuple[str, ...], list[Block]]]:
    """Runs of blocks under one heading path; a run of headings joins the section it opens."""
    path: list[tuple[int, str]] = []
    run: list[Block] = []
    has_body = False
    for block in outline.blocks:
        if block.level:
            if has_body:
                yield _titles(path), run
                run, has_body = [], False
            while path and path[-1][0] >= block.level:
                path.pop()
            path.append((block.level, block.title))
        else:
            has_body = True
        run.append(block)
    if run:
        yield _titles(path), run


def _titles(path: list[tuple[int, str]]) -> tuple[str, ...]:
    return tuple(title for _, title in path if title)


@dataclass
class _Frame:
    """An open token and the blocks found inside it so far."""

    token: Token | None = None
    children: list[Block] = field(default_factory=list)
    title: str = ""

    def add(self, block: Block | list[Block]) -> None:
        self.children.extend(block if isinstance(block, list) else [block])

    def close(self, lines: _Lines, *, top_level: bool) -> Block | list[Block]:
        """This token's block; a token without lines (a table cell) hands its children up."""
        token = self.token
        if token is None or not token.map:
            return self.children
        level = int(token.tag[1]) if top_level and token.type == "heading_open" else 0
        start, end = lines.span(token.map)
        return Block(start, end, level, self.title if level else "", tuple(self.children))


class _Lines:
    """Where each line of the article starts and ends, as the parser counts lines."""

    def __init__(self, content: str) -> None:
        self.starts = [0]
        self.ends: list[int] = []
        for match in _LINE_BREAK.finditer(content):
            self.ends.append(match.start())
            self.starts.append(match.end())
        self.ends.append(len(content))

    def span(self, line_map: list[int]) -> Span:
        """The characters of lines `[first, last)`, without the last line's break."""
        first, last = line_map
        last = min(max(last, first + 1), len(self.ends))
        return self.starts[min(first, len(self.starts) - 1)], self.ends[last - 1]

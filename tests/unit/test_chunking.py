"""The chunker: markdown structure, budgets, overlap, hashes; properties over generated articles."""

from __future__ import annotations

import hashlib
import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from article_mcp.errors import InvalidInputError
from article_mcp.passages.chunking import Chunk, chunk_article, chunk_spans, embed_text
from article_mcp.passages.tokens import count_tokens
from tests.support.markdown_grammar import Document, documents

WORDS = st.sampled_from(
    [
        "the", "wing", "aerodynamic", "boundary-layer", "Mach", "2.5", "flow.", "is", "a", "HTTP",
        "getElementById", "snake_case", "https://example.com/a?b=1#c", "привет", "世界", "한국어",
        "مرحبا", "😀", "naïve", "x" * 40, "0xdeadbeef", "e3b0c44298fc1c14", "#", "##", "```",
        "end!", "why?", "—", "\u00a0", "a\tb",
    ]
)  # fmt: skip
RANDOM_WORDS = st.text(st.characters(blacklist_categories=["Cs"]), min_size=1, max_size=12)


@st.composite
def paragraphs(draw: st.DrawFn) -> str:
    words = draw(st.lists(st.one_of(WORDS, RANDOM_WORDS), min_size=1, max_size=80))
    separators = draw(st.lists(st.sampled_from([" ", " ", " ", "\n", ". ", "  "]), min_size=len(words)))
    return "".join(w + s for w, s in zip(words, separators, strict=False)).strip() or "text"


@st.composite
def headings(draw: st.DrawFn) -> str:
    level = draw(st.integers(1, 6))
    return "#" * level + " " + draw(st.one_of(WORDS, RANDOM_WORDS)).replace("\n", " ")


@st.composite
def fences(draw: st.DrawFn) -> str:
    marker = draw(st.sampled_from(["```", "~~~", "````"]))
    lines = draw(st.lists(st.one_of(paragraphs(), headings(), st.just("")), max_size=8))
    closed = draw(st.booleans())
    return "\n".join([marker + "python", *lines, *([marker] if closed else [])])


@st.composite
def articles(draw: st.DrawFn) -> str:
    blocks = draw(st.lists(st.one_of(paragraphs(), headings(), fences()), max_size=12))
    joins = draw(st.lists(st.sampled_from(["\n\n", "\n", "\r\n\r\n", "\n\n\n"]), min_size=len(blocks)))
    return "".join(b + j for b, j in zip(blocks, joins, strict=False))


CONTENT = st.one_of(articles(), documents().map(lambda document: document.content), st.text(max_size=600))
TITLES = st.one_of(st.just(""), st.text(max_size=30), WORDS)


def check_invariants(title: str, content: str, max_tokens: int, overlap: int) -> list[Chunk]:
    """Every property a chunking must have, asserted; the chunks returned for further checks."""
    chunks = chunk_article(title, content, max_tokens=max_tokens, overlap=overlap)
    spans = chunk_spans(title, content, max_tokens=max_tokens, overlap=overlap)
    assert len(spans) == len(chunks)
    covered = [False] * len(content)
    for index, (chunk, span) in enumerate(zip(chunks, spans, strict=True)):
        assert chunk.index == index
        assert chunk.text == content[span.start : span.end]
        assert chunk.text and chunk.text == chunk.text.strip()
        assert chunk.embed_text.endswith(chunk.text)
        assert chunk.token_count == count_tokens(chunk.embed_text) <= max_tokens
        assert chunk.text_hash == hashlib.sha256(chunk.embed_text.encode()).hexdigest()
        assert embed_text(title, chunk.heading_path, chunk.text, max_tokens=max_tokens) == chunk.embed_text
        covered[span.start : span.end] = [True] * (span.end - span.start)
    # Every character of the article lands in some chunk, but for whitespace: chunks are
    # trimmed, so what lies between two chunks (or before the first, after the last) is
    # whitespace only, and nothing else is ever dropped.
    missed = [i for i, char in enumerate(content) if not covered[i] and not char.isspace()]
    assert not missed, f"characters not in any chunk at {missed[:10]}"
    # Order is kept: each chunk starts and ends after the one before.
    for before, after in itertools.pairwise(spans):
        assert before.start < after.start and before.end < after.end
        if overlap == 0:
            assert before.end <= after.start
    return chunks


@settings(max_examples=300, deadline=None)
@given(TITLES, CONTENT, st.integers(8, 300), st.integers(0, 80))
def test_chunking_invariants_hold_for_any_article(
    title: str, content: str, max_tokens: int, overlap: int
) -> None:
    check_invariants(title, content, max_tokens, overlap)


@settings(max_examples=100, deadline=None)
@given(TITLES, CONTENT, st.integers(8, 300), st.integers(0, 80))
def test_chunking_is_deterministic(title: str, content: str, max_tokens: int, overlap: int) -> None:
    first = chunk_article(title, content, max_tokens=max_tokens, overlap=overlap)
    assert chunk_article(title, content, max_tokens=max_tokens, overlap=overlap) == first


def _header_tokens(title: str, path: tuple[str, ...], max_tokens: int) -> int:
    return count_tokens(embed_text(title, path, "", max_tokens=max_tokens))


def _fits(document: Document, span: tuple[int, int], title: str, max_tokens: int) -> bool:
    """Whether `content[span]` alone fits a chunk of the section it lies in."""
    path = document.path_at(span[1])
    text = document.content[span[0] : span[1]]
    return count_tokens(text) + _header_tokens(title, path, max_tokens) <= max_tokens


@settings(max_examples=300, deadline=None)
@given(TITLES, documents(), st.integers(8, 200), st.integers(0, 40))
def test_generated_markdown_follows_its_outline(
    title: str, document: Document, max_tokens: int, overlap: int
) -> None:
    content = document.content
    check_invariants(title, content, max_tokens, overlap)
    spans = chunk_spans(title, content, max_tokens=max_tokens, overlap=overlap)
    # Heading paths: each chunk has the path of the heading run before it, whether its
    # headings were written ATX or setext; front matter and `#` lines in code are no headings.
    assert [span.heading_path for span in spans] == [document.path_at(span.end) for span in spans]
    # A code fence that fits is whole in one chunk, and no other chunk holds a part of it.
    for fence in document.of_kind("fence"):
        if _fits(document, (fence.start, fence.end), title, max_tokens):
            holding = [s for s in spans if s.start < fence.end and fence.start < s.end]
            assert holding and all(s.start <= fence.start and fence.end <= s.end for s in holding)
    # Tables, table rows and list items that fit are each whole in some chunk.
    wholes = [(t.start, t.end) for t in document.of_kind("table")]
    wholes += [piece for placed in document.of_kind("table", "list") for piece in placed.pieces]
    for start, end in wholes:
        if _fits(document, (start, end), title, max_tokens):
            assert any(s.start <= start and end <= s.end for s in spans), content[start:end]


@given(st.text(max_size=80), st.text(max_size=80))
def test_token_count_adds_up_across_whitespace(a: str, b: str) -> None:
    assert count_tokens(f"{a} {b}") == count_tokens(a) + count_tokens(b)
    assert count_tokens(a) >= len(a.split())


def test_count_tokens_is_conservative_for_hard_text() -> None:
    assert count_tokens("") == 0
    assert count_tokens("a an the") == 4  # short words one token, then a piece per four letters
    assert count_tokens("aerodynamics") == 4
    assert count_tokens("HTTP") == 4  # acronyms split into letters
    assert count_tokens("e3b0c442") == 8  # hex: a token per character
    assert count_tokens("한국어") == 9  # Hangul syllables decompose into jamo
    assert count_tokens("世界") == 2
    assert count_tokens("getElementById") == 7  # camelCase humps count as words


def test_headings_make_sections_and_carry_their_path() -> None:
    content = (
        "Intro before any heading.\n\n"
        "# Install\n\nRun the installer.\n\n"
        "## On Linux\n\nUse the package.\n\n"
        "### Debian\nApt works.\n\n"
        "## On macOS ##\n\nUse brew.\n\n"
        "# Usage\n\nCall it."
    )
    chunks = check_invariants("Guide", content, 240, 0)
    assert [(c.heading_path, c.text.splitlines()[-1]) for c in chunks] == [
        ((), "Intro before any heading."),
        (("Install",), "Run the installer."),
        (("Install", "On Linux"), "Use the package."),
        (("Install", "On Linux", "Debian"), "Apt works."),
        (("Install", "On macOS"), "Use brew."),
        (("Usage",), "Call it."),
    ]
    assert chunks[3].embed_text == "Guide\nInstall > On Linux > Debian\n\n### Debian\nApt works."
    assert chunks[0].embed_text == "Guide\n\nIntro before any heading."


def test_a_heading_with_no_text_joins_the_section_it_opens() -> None:
    chunks = check_invariants("T", "# Part\n## Chapter\n\nBody text.", 240, 0)
    assert [(c.heading_path, c.text) for c in chunks] == [
        (("Part", "Chapter"), "# Part\n## Chapter\n\nBody text.")
    ]


def test_a_top_heading_equal_to_the_title_is_not_repeated_in_the_embedded_text() -> None:
    [chunk] = check_invariants("My Notes", "# My Notes\n\nHello.", 240, 0)
    assert chunk.heading_path == ("My Notes",)
    assert chunk.embed_text == "My Notes\n\n# My Notes\n\nHello."


def test_hash_lines_inside_a_fence_are_code_not_headings() -> None:
    content = (
        "# Setup\n\n```bash\n# install it\npip install thing\n## also not a heading\n```\n\nAfter the code."
    )
    chunks = check_invariants("T", content, 240, 0)
    assert {c.heading_path for c in chunks} == {("Setup",)}
    # Small budget: the fence must be cut, but its lines never become headings.
    for chunk in check_invariants("T", content, 12, 0):
        assert chunk.heading_path == ("Setup",)


def test_an_unclosed_fence_runs_to_the_end() -> None:
    chunks = check_invariants("T", "Text.\n\n```\n# comment\ncode\n\n# still code", 240, 0)
    assert [c.heading_path for c in chunks] == [()]


def test_a_fence_that_fits_is_never_split() -> None:
    fence = "```python\n" + "\n".join(f"value_{i} = compute({i})  # step {i}" for i in range(12)) + "\n```"
    prose = " ".join(["Some words about the code here."] * 12)
    content = f"{prose}\n\n{fence}\n\n{prose}\n\n{prose}"
    assert count_tokens(fence) < 200
    chunks = check_invariants("T", content, 240, 32)
    assert any(fence in chunk.text for chunk in chunks)
    assert sum(chunk.text.count("```python") for chunk in chunks) == 1


PARAGRAPHS = [" ".join([f"Paragraph {n} sentence about airflow."] * (3 + n % 5)) for n in range(20)]
LIST_ITEMS = [f"- item {n}: the boundary layer\n  thickens downstream\n  of the edge" for n in range(12)]
QUOTED = [f"> Quoted paragraph {n}\n> about the wing\n> and its wake" for n in range(6)]


@pytest.mark.parametrize(
    ("parts", "content", "max_tokens"),
    [
        (PARAGRAPHS, "\n\n".join(PARAGRAPHS), 120),
        (LIST_ITEMS, "\n".join(LIST_ITEMS), 40),
        (QUOTED, "Before.\n\n" + "\n>\n".join(QUOTED) + "\n\nAfter.", 30),
    ],
    ids=["paragraphs", "list items", "blockquote paragraphs"],
)
def test_blocks_that_fit_stay_whole_when_their_parent_is_split(
    parts: list[str], content: str, max_tokens: int
) -> None:
    chunks = check_invariants("T", content, max_tokens, 0)
    assert len(chunks) > 2
    for part in parts:
        assert any(part in chunk.text for chunk in chunks)


def test_a_long_paragraph_is_cut_at_sentences_first() -> None:
    sentences = [f"Sentence number {n} describes the boundary layer." for n in range(40)]
    chunks = check_invariants("T", " ".join(sentences), 64, 0)
    assert len(chunks) > 3
    for chunk in chunks:
        assert chunk.text.endswith(".")


def test_consecutive_chunks_overlap_by_at_most_the_overlap() -> None:
    content = " ".join(f"word{n}" for n in range(400))
    chunks = check_invariants("", content, 50, 10)
    for before, after in itertools.pairwise(chunks):
        first_word = after.text.split()[0]
        shared = before.text[before.text.index(first_word) :] if first_word in before.text else ""
        assert shared, "consecutive chunks share no text"
        assert 0 < count_tokens(shared) <= 10
        assert after.text.startswith(shared)


def test_oversized_words_are_cut_so_the_budget_holds() -> None:
    for word in ["x" * 5000, "e3b0c44298fc1c149afbf4c8996fb924" * 40, "한" * 300, "😀" * 700]:
        chunks = check_invariants("Title", word, 32, 8)
        assert "".join(c.text for c in chunks) == word


def test_a_long_title_and_path_take_at_most_half_the_budget() -> None:
    title = " ".join(["Extraordinarily"] * 200)
    chunks = check_invariants(title, "# " + "deep " * 100 + "\n\nBody text here.", 64, 0)
    assert chunks
    for chunk in chunks:
        header = chunk.embed_text[: -len(chunk.text)]
        assert count_tokens(header) <= 32


def test_unchanged_sections_keep_their_hashes_when_another_changes() -> None:
    sections = [f"# Section {n}\n\n" + " ".join([f"Text of section {n}."] * 30) for n in range(4)]
    before = chunk_article("T", "\n\n".join(sections), max_tokens=240, overlap=32)
    sections[2] += " One more sentence."
    after = chunk_article("T", "\n\n".join(sections), max_tokens=240, overlap=32)
    changed = {c.text_hash for c in after} - {c.text_hash for c in before}
    assert changed
    assert all(c.heading_path == ("Section 2",) for c in after if c.text_hash in changed)


def test_the_title_is_part_of_the_hash() -> None:
    [a] = chunk_article("One", "Same text.", max_tokens=240, overlap=0)
    [b] = chunk_article("Two", "Same text.", max_tokens=240, overlap=0)
    assert a.text == b.text and a.text_hash != b.text_hash


def test_empty_and_blank_articles_have_no_chunks() -> None:
    assert chunk_article("T", "", max_tokens=240, overlap=32) == []
    assert chunk_article("T", " \n\n\t \n", max_tokens=240, overlap=32) == []


@pytest.mark.parametrize(("max_tokens", "overlap", "field"), [(7, 0, "max_tokens"), (240, -1, "overlap")])
def test_limits_are_checked(max_tokens: int, overlap: int, field: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        chunk_article("T", "text", max_tokens=max_tokens, overlap=overlap)
    assert caught.value.field == field


def test_setext_headings_give_heading_paths_like_atx_ones() -> None:
    content = "Guide\n=====\n\nIntro.\n\nOn Linux\n--------\n\nUse the package.\n\n### Debian\n\nApt works."
    chunks = check_invariants("T", content, 240, 0)
    assert [c.heading_path for c in chunks] == [
        ("Guide",),
        ("Guide", "On Linux"),
        ("Guide", "On Linux", "Debian"),
    ]


def test_front_matter_is_text_of_the_first_passage_but_never_a_heading() -> None:
    content = "---\ntitle: Notes\n# a yaml comment\n---\nBody.\n\n# Part\n\nMore."
    chunks = check_invariants("T", content, 240, 0)
    assert [(c.heading_path, c.text) for c in chunks] == [
        ((), "---\ntitle: Notes\n# a yaml comment\n---\nBody."),
        (("Part",), "# Part\n\nMore."),
    ]


def test_a_table_too_large_for_a_chunk_is_split_between_rows() -> None:
    rows = [f"| {n} | pressure coefficient at station {n} | {n * 0.1:.1f} |" for n in range(20)]
    table = "| n | what | value |\n|---|---|---|\n" + "\n".join(rows)
    chunks = check_invariants("T", f"# Data\n\n{table}", 80, 0)
    assert len(chunks) > 2
    lines = [line for chunk in chunks for line in chunk.text.splitlines()]
    assert [line for line in lines if line.startswith("| ")] == ["| n | what | value |", *rows]


def test_link_reference_definitions_still_land_in_a_passage() -> None:
    content = "[spec]: https://spec.commonmark.org\n\nSee the [spec].\n\n[other]: https://example.com"
    chunks = check_invariants("T", content, 240, 0)
    assert "".join(c.text for c in chunks).count("https://") == 2


def test_a_fence_larger_than_a_chunk_is_cut_at_its_lines() -> None:
    lines = [f"value_{i} = compute({i})" for i in range(60)]
    chunks = check_invariants("T", "```python\n" + "\n".join(lines) + "\n```", 64, 8)
    assert len(chunks) > 2
    for chunk in chunks:
        # Cut at lines: no code line is broken across chunks.
        assert all(line in ["```python", "```", *lines] for line in chunk.text.splitlines())


def test_overlap_never_starts_inside_a_code_block() -> None:
    prose = " ".join(["Words about the code that follows here."] * 4)
    fence = "```\n" + "\n".join(f"step({i})" for i in range(8)) + "\n```"
    content = f"{prose}\n\n{fence}\n\n{prose}\n\n{prose}"
    chunks = check_invariants("", content, 60, 20)
    holding = [c.text for c in chunks if "step(" in c.text]
    assert holding and all(fence in text for text in holding)

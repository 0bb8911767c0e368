"""What semantic search takes and returns: frozen pydantic models, also the MCP tool's schemas."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field

from article_mcp.articles.models import EmbeddingStatus
from article_mcp.articles.rules import FOLDER_MAX_LENGTH, MAX_TAGS, QUERY_MAX_LENGTH, TAG_MAX_LENGTH
from article_mcp.db.rows import Frozen

SearchMode = Literal["hybrid", "semantic", "fulltext"]
Leg = Literal["semantic", "fulltext"]
MatchedBy = Literal["semantic", "fulltext", "both"]

MAX_RESULTS = 100
MAX_EXTRA_QUERIES = 7
MAX_PASSAGES = 5

_SCORE_HELP = (
    "Relevance in the scale of the mode: semantic, cosine similarity of the best passage (0..1); "
    "fulltext, BM25 of the best passage (0 and up, corpus-dependent); hybrid, reciprocal rank "
    "fusion normalised so that 1.0 means ranked first by every search that ran."
)


class SearchRequest(Frozen):
    """One semantic_search call; its fields are also the tool's parameters, in this order."""

    query: str = Field(min_length=1, max_length=QUERY_MAX_LENGTH, description="What to look for.")
    k: int = Field(default=10, ge=1, le=MAX_RESULTS, description="How many articles to return.")
    mode: SearchMode = Field(
        default="hybrid",
        description="hybrid (meaning and words, fused; default), semantic (meaning only), "
        "fulltext (words only, BM25).",
    )
    folder: str = Field(
        default="",
        max_length=FOLDER_MAX_LENGTH,
        description="Only articles in this folder and its subfolders; '' (the default) for all.",
    )
    tags: list[Annotated[str, Field(min_length=1, max_length=TAG_MAX_LENGTH)]] = Field(
        default_factory=list,
        max_length=MAX_TAGS,
        description="Only articles carrying every one of these tags.",
    )
    min_score: float | None = Field(
        default=None, ge=0, description="Drop results scoring below this (see `score`)."
    )
    multi_query: list[Annotated[str, Field(min_length=1, max_length=QUERY_MAX_LENGTH)]] = Field(
        default_factory=list,
        max_length=MAX_EXTRA_QUERIES,
        description="Other phrasings of the same need; results of all phrasings are merged.",
    )
    diversity: float = Field(
        default=0.0,
        ge=0,
        le=1,
        description="0: pure relevance; up to 1: prefer results unlike those already chosen (MMR).",
    )
    passages: int = Field(default=2, ge=1, le=MAX_PASSAGES, description="Best passages to show per article.")


class Passage(Frozen):
    """A passage of an article that matched."""

    text: str
    heading_path: list[str] = Field(description="The headings above the passage, outermost first.")
    chunk_index: int = Field(description="Position of the passage in the article, from 0.")
    matched_by: MatchedBy


class SearchHit(Frozen):
    """An article that matched, with its best passages and why it matched."""

    slug: str
    title: str
    folder: str
    tags: list[str]
    version: int = Field(description="The article's version: pass it as expected_version to write safely.")
    updated_at: datetime
    score: float = Field(description=_SCORE_HELP)
    matched_by: MatchedBy = Field(description="Which searches found the article.")
    semantic_score: float | None = Field(
        default=None, description="Cosine similarity of the closest passage, if found by meaning."
    )
    fulltext_score: float | None = Field(
        default=None, description="BM25 score of the best passage, if found by its words."
    )
    embedding_status: EmbeddingStatus = Field(
        description="ready: searchable by meaning; pending: not embedded yet (found by its words); "
        "stale: an older version is embedded; failed / missing: not embedded."
    )
    passages: list[Passage]


class SearchResponse(Frozen):
    """The outcome of one search."""

    mode: SearchMode = Field(description="The mode asked for.")
    searched: list[Leg] = Field(description="The searches that actually ran.")
    fallback: bool = Field(description="True: hybrid ran on full text alone; `notice` says why.")
    notice: str | None = Field(default=None, description="Why the search did less than asked, if it did.")
    model: str | None = Field(default=None, description="The embedding model whose vectors were searched.")
    results: list[SearchHit]

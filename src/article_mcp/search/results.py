"""Search results from rows: a leg's ranking of articles, and a chosen article as a hit."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from article_mcp.articles.models import EmbeddingStatus
from article_mcp.search.fusion import Candidate, ChunkHit, Ranking, rank_articles
from article_mcp.search.models import Leg, MatchedBy, Passage, SearchHit


def ranking(leg: Leg, rows: Sequence[asyncpg.Record], depth: int, passages: int) -> Ranking:
    """One leg's rows of (article, passage, score) as its ranking of articles."""
    hits = (ChunkHit(r["article_id"], r["chunk_id"], float(r["score"])) for r in rows)
    return rank_articles(leg, hits, depth=depth, passages=passages)


def search_hit(
    candidate: Candidate,
    article: asyncpg.Record,
    passages: Sequence[tuple[asyncpg.Record, MatchedBy]],
    statuses: dict[int, EmbeddingStatus],
) -> SearchHit:
    """A chosen candidate as the result shows it: the article, its passages, how each matched."""
    return SearchHit(
        slug=article["slug"],
        title=article["title"],
        folder=article["folder"],
        tags=list(article["tags"]),
        version=article["version"],
        updated_at=article["updated_at"],
        score=candidate.score,
        matched_by=candidate.matched_by,
        semantic_score=candidate.best.get("semantic"),
        fulltext_score=candidate.best.get("fulltext"),
        embedding_status=statuses.get(candidate.article_id, "disabled"),
        passages=[
            Passage(
                text=chunk["content"],
                heading_path=list(chunk["heading_path"]),
                chunk_index=chunk["chunk_index"],
                matched_by=how,
            )
            for chunk, how in passages
        ],
    )

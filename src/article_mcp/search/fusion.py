"""From ranked passages to ranked articles: grouping, fusion (max or RRF) and MMR diversity.

Pure functions over plain data, so that the arithmetic of ranking is tested without a database.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from article_mcp.search.models import Leg, MatchedBy


@dataclass(frozen=True, slots=True)
class ChunkHit:
    """One passage a search returned, with its score in that search's scale."""

    article_id: int
    chunk_id: int
    score: float


@dataclass(frozen=True, slots=True)
class RankedArticle:
    """An article in one search's ranking: its best score and its best passages, best first."""

    article_id: int
    score: float
    chunk_ids: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Ranking:
    """The articles one search (one leg, one phrasing) found, best first."""

    leg: Leg
    articles: tuple[RankedArticle, ...]


@dataclass(slots=True)
class Candidate:
    """An article after fusion: its score, the evidence of each leg, its passages."""

    article_id: int
    score: float = 0.0
    best: dict[Leg, float] = field(default_factory=dict)
    # chunk id -> (best position among the article's passages in any ranking, legs that found it)
    chunks: dict[int, tuple[int, set[Leg]]] = field(default_factory=dict)

    @property
    def matched_by(self) -> MatchedBy:
        """Which legs found the article."""
        return "both" if len(self.best) == 2 else next(iter(self.best))

    def passages(self, limit: int) -> list[tuple[int, MatchedBy]]:
        """The best `limit` passages: found earliest first, those both legs found before others."""
        order = sorted(self.chunks.items(), key=lambda item: (item[1][0], -len(item[1][1]), item[0]))
        return [(chunk_id, _matched(legs)) for chunk_id, (_, legs) in order[:limit]]


def _matched(legs: set[Leg]) -> MatchedBy:
    return "both" if len(legs) == 2 else next(iter(legs))


def rank_articles(leg: Leg, hits: Iterable[ChunkHit], *, depth: int, passages: int) -> Ranking:
    """Group passages (best first) by article: up to `depth` articles, `passages` chunks each."""
    order: list[int] = []
    found: dict[int, tuple[float, list[int]]] = {}
    for hit in hits:
        if hit.article_id not in found:
            if len(order) == depth:
                continue
            order.append(hit.article_id)
            found[hit.article_id] = (hit.score, [])
        chunk_ids = found[hit.article_id][1]
        if len(chunk_ids) < passages:
            chunk_ids.append(hit.chunk_id)
    articles = tuple(RankedArticle(a, found[a][0], tuple(found[a][1])) for a in order)
    return Ranking(leg, articles)


def fuse(rankings: Sequence[Ranking], *, rrf_k: int | None, weights: Mapping[Leg, float]) -> list[Candidate]:
    """Merge rankings into one, best first.

    With `rrf_k`, reciprocal rank fusion: an article scores the sum over rankings of
    weight / (rrf_k + rank), normalised by the most any article could score (1.0: first
    everywhere). Two legs often swap their top two (ranks 1 and 2 against 2 and 1: equal
    sums); such ties go to the article with more weighted evidence relative to each
    ranking's best score, so the article that one leg prefers by a wide margin wins over
    the one the other leg prefers by a hair. Without `rrf_k`, the rankings share a scale
    (one leg) and an article keeps its best score.
    """
    candidates: dict[int, Candidate] = {}
    margins: dict[int, float] = {}
    for ranking in rankings:
        top = max((abs(a.score) for a in ranking.articles), default=0.0) or 1.0
        for rank, article in enumerate(ranking.articles, start=1):
            candidate = candidates.setdefault(article.article_id, Candidate(article.article_id))
            _add_evidence(candidate, ranking.leg, article)
            if rrf_k is None:
                candidate.score = max(candidate.score, article.score)
            else:
                candidate.score += weights[ranking.leg] / (rrf_k + rank)
                margins[article.article_id] = (
                    margins.get(article.article_id, 0.0) + weights[ranking.leg] * article.score / top
                )
    if rrf_k is not None:
        best_possible = sum(weights[r.leg] for r in rankings) / (rrf_k + 1)
        for candidate in candidates.values():
            # Rounded so that sums of the same terms in another order compare equal.
            candidate.score = round(candidate.score / best_possible, 12)
    return sorted(
        candidates.values(), key=lambda c: (-c.score, -margins.get(c.article_id, 0.0), c.article_id)
    )


def _add_evidence(candidate: Candidate, leg: Leg, article: RankedArticle) -> None:
    candidate.best[leg] = max(candidate.best.get(leg, article.score), article.score)
    for position, chunk_id in enumerate(article.chunk_ids):
        seen, legs = candidate.chunks.get(chunk_id, (position, set()))
        candidate.chunks[chunk_id] = (min(seen, position), legs | {leg})


Vector = npt.NDArray[np.float32]


def diversify(
    candidates: Sequence[Candidate], vectors: Mapping[int, Vector], *, k: int, diversity: float
) -> list[Candidate]:
    """Pick `k` by maximal marginal relevance: relevance traded against likeness to those picked.

    `vectors` holds a unit vector per article (its best passage); an article without one is
    taken as unlike every other. Relevance is the score relative to the best candidate.
    """
    if diversity <= 0 or len(candidates) <= 1:
        return list(candidates[:k])
    top = max(c.score for c in candidates) or 1.0
    left = list(candidates)
    picked: list[Candidate] = []
    while left and len(picked) < k:
        best = max(
            left,
            key=lambda c: (1 - diversity) * c.score / top - diversity * _likeness(c, picked, vectors),
        )
        picked.append(best)
        left.remove(best)
    return picked


def _likeness(candidate: Candidate, picked: Sequence[Candidate], vectors: Mapping[int, Vector]) -> float:
    vector = vectors.get(candidate.article_id)
    if vector is None:
        return 0.0
    others = [vectors[p.article_id] for p in picked if p.article_id in vectors]
    return max((float(vector @ other) for other in others), default=0.0)

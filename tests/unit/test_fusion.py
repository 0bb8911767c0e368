"""Ranking arithmetic: passages grouped into articles, fusion, diversity."""

from __future__ import annotations

import numpy as np
import pytest

from article_mcp.search.fusion import ChunkHit, Ranking, diversify, fuse, rank_articles

WEIGHTS = {"semantic": 1.0, "fulltext": 1.0}


def hits(*triples: tuple[int, int, float]) -> list[ChunkHit]:
    return [ChunkHit(a, c, s) for a, c, s in triples]


def test_passages_are_grouped_by_article_best_first_within_limits() -> None:
    ranking = rank_articles(
        "semantic",
        hits((1, 10, 0.9), (2, 20, 0.8), (1, 11, 0.7), (1, 12, 0.6), (3, 30, 0.5), (2, 21, 0.4)),
        depth=2,
        passages=2,
    )
    assert [(a.article_id, a.score, a.chunk_ids) for a in ranking.articles] == [
        (1, 0.9, (10, 11)),
        (2, 0.8, (20, 21)),
    ]


def test_rrf_rewards_agreement_and_normalises_to_one() -> None:
    semantic = rank_articles("semantic", hits((1, 10, 0.9), (2, 20, 0.8)), depth=10, passages=1)
    fulltext = rank_articles("fulltext", hits((2, 21, 7.0), (3, 30, 5.0)), depth=10, passages=1)
    fused = fuse([semantic, fulltext], rrf_k=60, weights=WEIGHTS)
    assert [c.article_id for c in fused] == [2, 1, 3]
    by_id = {c.article_id: c for c in fused}
    assert by_id[2].score == pytest.approx((1 / 62 + 1 / 61) / (2 / 61))
    assert by_id[2].matched_by == "both"
    assert by_id[1].matched_by == "semantic" and by_id[3].matched_by == "fulltext"
    assert by_id[2].best == {"semantic": 0.8, "fulltext": 7.0}
    first_everywhere = fuse([semantic, semantic], rrf_k=60, weights=WEIGHTS)
    assert first_everywhere[0].score == pytest.approx(1.0)


def test_rrf_weights_tilt_the_order() -> None:
    semantic = rank_articles("semantic", hits((1, 10, 0.9), (2, 20, 0.8)), depth=10, passages=1)
    fulltext = rank_articles("fulltext", hits((2, 21, 7.0), (1, 11, 5.0)), depth=10, passages=1)
    tilted = fuse([semantic, fulltext], rrf_k=10, weights={"semantic": 1.0, "fulltext": 2.0})
    assert [c.article_id for c in tilted] == [2, 1]


def test_one_leg_over_several_phrasings_keeps_the_best_score_without_duplicates() -> None:
    first = rank_articles("semantic", hits((1, 10, 0.5), (2, 20, 0.4)), depth=10, passages=2)
    second = rank_articles("semantic", hits((2, 21, 0.9), (1, 10, 0.3)), depth=10, passages=2)
    fused = fuse([first, second], rrf_k=None, weights=WEIGHTS)
    assert [(c.article_id, c.score) for c in fused] == [(2, 0.9), (1, 0.5)]
    assert fused[0].passages(5) == [(20, "semantic"), (21, "semantic")]


def test_passages_are_ordered_by_position_then_agreement() -> None:
    semantic = rank_articles("semantic", hits((1, 10, 0.9), (1, 11, 0.8), (1, 13, 0.7)), depth=10, passages=3)
    fulltext = rank_articles("fulltext", hits((1, 12, 3.0), (1, 11, 2.0), (1, 14, 1.0)), depth=10, passages=3)
    [candidate] = fuse([semantic, fulltext], rrf_k=60, weights=WEIGHTS)
    assert candidate.passages(4) == [(10, "semantic"), (12, "fulltext"), (11, "both"), (13, "semantic")]


def unit(*values: float) -> np.ndarray:
    vector = np.asarray(values, dtype=np.float32)
    return vector / np.linalg.norm(vector)


def test_diversity_passes_over_near_duplicates() -> None:
    ranking = rank_articles(
        "semantic", hits((1, 10, 0.90), (2, 20, 0.89), (3, 30, 0.80)), depth=10, passages=1
    )
    candidates = fuse([ranking], rrf_k=None, weights=WEIGHTS)
    vectors = {1: unit(1, 0), 2: unit(1, 0.01), 3: unit(0, 1)}
    assert [c.article_id for c in diversify(candidates, vectors, k=2, diversity=0)] == [1, 2]
    assert [c.article_id for c in diversify(candidates, vectors, k=2, diversity=0.5)] == [1, 3]
    # without a vector an article counts as unlike the others
    assert [c.article_id for c in diversify(candidates, {1: unit(1, 0)}, k=3, diversity=0.5)] == [1, 2, 3]


def test_empty_rankings_fuse_to_nothing() -> None:
    assert fuse([Ranking("fulltext", ())], rrf_k=60, weights=WEIGHTS) == []


def test_a_swap_of_the_top_two_goes_to_the_wider_margin() -> None:
    # Semantic prefers 2 by a hair, full text prefers 1 by far: equal RRF sums.
    semantic = rank_articles("semantic", hits((2, 20, 0.34), (1, 10, 0.33)), depth=10, passages=1)
    fulltext = rank_articles("fulltext", hits((1, 11, 9.0), (2, 21, 3.0)), depth=10, passages=1)
    fused = fuse([semantic, fulltext], rrf_k=10, weights=WEIGHTS)
    assert fused[0].score == fused[1].score
    assert [c.article_id for c in fused] == [1, 2]
    reverse = fuse(
        [
            rank_articles("semantic", hits((2, 20, 0.9), (1, 10, 0.3)), depth=10, passages=1),
            rank_articles("fulltext", hits((1, 11, 3.1), (2, 21, 3.0)), depth=10, passages=1),
        ],
        rrf_k=10,
        weights=WEIGHTS,
    )
    assert [c.article_id for c in reverse] == [2, 1]

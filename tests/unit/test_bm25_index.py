"""The in-memory index scores exactly as BM25 computed from scratch over the live passages,
whatever sequence of writes, rewrites and deletions brought it there (compaction included)."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from article_mcp.passages.changes import PassageState
from article_mcp.search.bm25_index import Bm25Index, Term

WORDS = [f"w{n}" for n in range(12)]
K1, B = 1.2, 0.75

# (chunk id, article id, words) to write, or (chunk id, None, ()) to delete
change = st.tuples(
    st.integers(1, 25),
    st.one_of(st.none(), st.integers(1, 6)),
    st.lists(st.sampled_from(WORDS), max_size=9),
)


def state(chunk_id: int, article_id: int | None, words: list[str]) -> PassageState:
    if article_id is None:
        return PassageState(chunk_id, False)
    tfs = Counter(words)
    return PassageState(chunk_id, True, article_id, len(words), list(tfs), list(tfs.values()))


def reference(
    live: dict[int, PassageState], terms: list[Term], n: int, articles: set[int] | None
) -> list[tuple[int, float]]:
    count = len(live)
    avgdl = max(sum(p.length for p in live.values()), 1) / count
    scores: dict[int, float] = {}
    for term in terms:
        holding = [p for p in live.values() if term.lexeme in p.lexemes]
        weight = term.count * math.log(1 + (count - len(holding) + 0.5) / (len(holding) + 0.5))
        for p in holding:
            if articles is not None and p.article_id not in articles:
                continue
            tf = p.tfs[list(p.lexemes).index(term.lexeme)]
            norm = K1 * (1 - B + B * p.length / avgdl)
            scores[p.chunk_id] = scores.get(p.chunk_id, 0.0) + weight * tf / (tf + norm)
    return sorted(scores.items(), key=lambda item: (-item[1], item[0]))[:n]


@settings(max_examples=150, deadline=None)
@given(
    batches=st.lists(st.lists(change, max_size=8), min_size=1, max_size=8),
    query=st.lists(st.sampled_from(WORDS), min_size=1, max_size=5),
    n=st.integers(1, 30),
    articles=st.one_of(st.none(), st.sets(st.integers(1, 6))),
)
def test_scores_equal_bm25_of_the_live_passages(
    batches: list[list[tuple[int, int | None, list[str]]]],
    query: list[str],
    n: int,
    articles: set[int] | None,
) -> None:
    index = Bm25Index(min_dead=2)  # so that compaction happens in these small runs
    live: dict[int, PassageState] = {}
    terms = [Term(w, c) for w, c in Counter(query).items()]
    allowed = None if articles is None else np.asarray(sorted(articles), dtype=np.int64)
    for batch in batches:
        states = [state(*c) for c in batch]
        index.apply(states)
        for s in states:
            if s.present:
                live[s.chunk_id] = s
            else:
                live.pop(s.chunk_id, None)
        # after every batch, so that what an earlier search computed must not outlive a change
        got = index.top(terms, n, k1=K1, b=B, articles=allowed)
        expected = reference(live, terms, n, articles) if live else []
        assert [(h.chunk_id, round(h.score, 9)) for h in got] == [(c, round(s, 9)) for c, s in expected]
        assert all(h.article_id == live[h.chunk_id].article_id for h in got)
        assert index.passages == len(live)


def test_load_then_changes_equal_changes_alone() -> None:
    written = [state(1, 1, ["a", "b", "a"]), state(2, 1, ["b", "c"]), state(3, 2, ["c"])]
    loaded = Bm25Index()
    loaded.load_passages([1, 2, 3], [1, 1, 2], [3, 2, 1])
    for lexeme, chunk_ids, tfs in [("a", [1], [2]), ("b", [1, 2], [1, 1]), ("c", [2, 3], [1, 1])]:
        loaded.add_postings(lexeme, chunk_ids, tfs)
    applied = Bm25Index()
    applied.apply(written)
    for index in (loaded, applied):
        index.apply([state(2, None, []), state(4, 2, ["a", "c"])])
    terms = [Term("a", 1), Term("c", 2)]
    assert loaded.top(terms, 10, k1=K1, b=B) == applied.top(terms, 10, k1=K1, b=B)
    assert [h.chunk_id for h in loaded.top(terms, 10, k1=K1, b=B)] == [4, 3, 1]


def test_ties_at_the_cut_go_by_passage_id() -> None:
    index = Bm25Index()
    index.apply([state(c, 1, ["same"]) for c in (9, 3, 7, 5)])
    assert [h.chunk_id for h in index.top([Term("same", 1)], 2, k1=K1, b=B)] == [3, 5]

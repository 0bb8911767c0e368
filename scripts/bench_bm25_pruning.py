"""How much of the postings BM25 pruning could skip on the latency benchmark's corpus.

    .venv/bin/python scripts/bench_bm25_pruning.py [--chunks 25000] [--queries 100] [--depth 60]

The same passages as bench_search_latency.py (Cranfield sentences shuffled into passages,
written through chunk_store), the same queries, the depth the service asks for (`--depth`).
From the postings PostgreSQL stored, each pruning strategy is played out exactly in Python,
counting the work it would do, against the exhaustive pass that sums every posting:

- threshold algorithm (Fagin's TA): read the N best postings of each query lexeme by impact
  (N = 64, doubled until it stops), score every passage seen exactly (random access: one
  probe per passage and query lexeme), stop when the k-th exact score reaches the sum over
  lexemes of weight x the bound of the next unseen posting. Two orders: by the impact under
  today's corpus statistics (an ideal no stored order can keep as the corpus changes), and
  by term frequency descending then length ascending (a bound safe for any avgdl, k1, b);
- MaxScore with the true k-th score known in advance (an oracle: no real run does better):
  the postings of the lexemes that must be aggregated;
- WAND with the true k-th score in advance: the passages whose upper bound (the sum of the
  best contributions of the lexemes they hold) reaches it, i.e. those a doc-at-a-time
  pruning would have to score fully.

It also times, in PostgreSQL, reading the query's postings alone (an index-only scan and a
count) against the full-text query, to show where the exhaustive pass spends its time.
"""

from __future__ import annotations

import argparse
import math
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import anyio
import numpy as np

from article_mcp.search.service import QUERIES
from bench_search_latency import load_corpus, load_passages
from search_bench_setup import CRANFIELD, fresh_bench

FIRST_DEPTH = 64

READ_ONLY = """
SELECT count(*) FROM chunk_postings AS p
JOIN unnest(to_tsvector($1::text::regconfig, $2::text)) AS l ON p.lexeme = l.lexeme
"""

CORPUS = "SELECT chunk_count, greatest(total_length, 1)::float8 / greatest(chunk_count, 1) FROM corpus_stats"

TERMS = """
SELECT l.lexeme, cardinality(l.positions) AS qtf
FROM unnest(to_tsvector($1::text::regconfig, $2::text)) AS l
"""


@dataclass
class Postings:
    """One lexeme's postings in impact order: passage ids, exact tf-parts, bounds of what follows."""

    ids: np.ndarray
    impact: np.ndarray
    bound: np.ndarray


def lists_by(
    rows: dict[str, np.ndarray], avgdl: float, k1: float, b: float, safe: bool
) -> dict[str, Postings]:
    def part(tf: np.ndarray, dl: np.ndarray) -> np.ndarray:
        return np.where(tf > 0, tf / np.maximum(tf + k1 * (1 - b + b * dl / avgdl), 1e-12), 0.0)

    lists = {}
    for lexeme, a in rows.items():
        tf, dl = a[:, 1].astype(np.float64), a[:, 2].astype(np.float64)
        if safe:
            order = np.lexsort((dl, -tf))
            # what follows position i: the same tf and no shorter, or a smaller tf at any length
            bound = np.maximum(part(tf[order], dl[order]), part(tf[order] - 1, 0 * dl[order]))
        else:
            order = np.argsort(-part(tf, dl), kind="stable")
            bound = part(tf, dl)[order]
        lists[lexeme] = Postings(a[order, 0], part(tf, dl)[order], bound)
    return lists


def threshold_algorithm(
    lists: dict[str, Postings], weights: dict[str, float], scores: dict[int, float], k: int
) -> tuple[int, int]:
    """(postings read, passages scored exactly) until TA may stop."""
    depth = FIRST_DEPTH
    while True:
        seen: set[int] = set()
        for lexeme in weights:
            seen.update(lists[lexeme].ids[:depth].tolist())
        exact = sorted((scores[c] for c in seen), reverse=True)
        kth = exact[k - 1] if len(exact) >= k else 0.0
        unseen = sum(
            w * (lists[t].bound[depth] if depth < len(lists[t].ids) else 0.0) for t, w in weights.items()
        )
        if kth >= unseen or all(depth >= len(lists[t].ids) for t in weights):
            return sum(min(depth, len(lists[t].ids)) for t in weights), len(seen)
        depth *= 2


def oracles(lists: dict[str, Postings], weights: dict[str, float], theta: float) -> tuple[int, int]:
    """(MaxScore's essential postings, WAND's fully scored passages), given the true k-th score."""
    best = sorted((w * float(lists[t].impact.max()), t) for t, w in weights.items())
    light, skipped = 0.0, set()
    for most, lexeme in best:
        if light + most >= theta:
            break
        light += most
        skipped.add(lexeme)
    essential = sum(len(lists[t].ids) for t in weights if t not in skipped)
    upper: dict[int, float] = {}
    for most, lexeme in best:
        for c in lists[lexeme].ids.tolist():
            upper[c] = upper.get(c, 0.0) + most
    return essential, sum(1 for u in upper.values() if u >= theta)


def exact_scores(lists: dict[str, Postings], weights: dict[str, float]) -> dict[int, float]:
    scores: dict[int, float] = {}
    for lexeme, w in weights.items():
        for c, x in zip(lists[lexeme].ids.tolist(), (w * lists[lexeme].impact).tolist(), strict=True):
            scores[c] = scores.get(c, 0.0) + x
    return scores


def report(label: str, values: Sequence[float], of: Sequence[float]) -> str:
    ratio = sum(values) / max(sum(of), 1)
    return f"| {label} | {statistics.median(values):,.0f} | {ratio:.3f} |"


async def bench(args: argparse.Namespace) -> None:
    corpus = load_corpus(args.data)
    queries = corpus.queries[: args.queries]
    async with fresh_bench(None) as b:
        settings = b.settings
        config, k1, bb = settings.text_search_config, settings.bm25_k1, settings.bm25_b
        await load_passages(settings, b.db, corpus, args.chunks)
        async with b.db.pool.acquire() as conn:
            await conn.execute("VACUUM ANALYZE")
            n, avgdl = await conn.fetchrow(CORPUS)
            raw: dict[str, list[tuple[int, int, int]]] = {}
            for r in await conn.fetch("SELECT lexeme, chunk_id, tf, chunk_length FROM chunk_postings"):
                raw.setdefault(r["lexeme"], []).append((r["chunk_id"], r["tf"], r["chunk_length"]))
            terms = {
                q: [(r["lexeme"], r["qtf"]) for r in await conn.fetch(TERMS, config, q)] for q in queries
            }
            timed: dict[str, list[float]] = {"read the postings (count only)": [], "full-text query": []}
            for _ in range(2):  # the first round warms the cache; the second is kept
                for values in timed.values():
                    values.clear()
                for q in queries:
                    started = time.perf_counter()
                    await conn.fetchval(READ_ONLY, config, q)
                    timed["read the postings (count only)"].append((time.perf_counter() - started) * 1000)
                    started = time.perf_counter()
                    await conn.fetch(QUERIES["fulltext_chunks"], config, q, k1, bb, args.depth, None, [])
                    timed["full-text query"].append((time.perf_counter() - started) * 1000)
    rows = {lexeme: np.array(p, dtype=np.int64) for lexeme, p in raw.items()}
    ideal, safe = lists_by(rows, avgdl, k1, bb, False), lists_by(rows, avgdl, k1, bb, True)
    work: dict[str, list[float]] = {}
    for q in queries:
        weights = {
            t: qtf * math.log(1 + (n - len(ideal[t].ids) + 0.5) / (len(ideal[t].ids) + 0.5))
            for t, qtf in terms[q]
            if t in ideal
        }
        if not weights:
            continue
        scores = exact_scores(ideal, weights)
        top = sorted(scores.values(), reverse=True)
        theta = top[args.depth - 1] if len(top) >= args.depth else 0.0
        read_ideal, scored_ideal = threshold_algorithm(ideal, weights, scores, args.depth)
        read_safe, scored_safe = threshold_algorithm(safe, weights, scores, args.depth)
        essential, wand = oracles(ideal, weights, theta)
        for name, value in [
            ("postings", sum(len(ideal[t].ids) for t in weights)),
            ("passages", len(scores)),
            ("lexemes", len(weights)),
            ("ta ideal read", read_ideal),
            ("ta ideal probes", scored_ideal * len(weights)),
            ("ta safe read", read_safe),
            ("ta safe probes", scored_safe * len(weights)),
            ("maxscore", essential),
            ("wand", wand),
        ]:
            work.setdefault(name, []).append(value)
    print(
        f"\n## {n} passages, {len(work['postings'])} queries, depth {args.depth}"
        f" (median {statistics.median(work['lexemes']):.0f} lexemes per query)\n"
    )
    print("| work per query | median | of the exhaustive pass (sum over queries) |")
    print("|---|---:|---:|")
    postings, passages = work["postings"], work["passages"]
    print(report("exhaustive: postings summed", postings, postings))
    print(report("exhaustive: candidate passages", passages, passages))
    print(report("TA, ideal impact order: postings read", work["ta ideal read"], postings))
    print(
        report("TA, ideal impact order: probes (passages seen x lexemes)", work["ta ideal probes"], postings)
    )
    print(report("TA, safe order (tf desc, length asc): postings read", work["ta safe read"], postings))
    print(report("TA, safe order: probes", work["ta safe probes"], postings))
    print(report("MaxScore, true k-th score known: postings aggregated", work["maxscore"], postings))
    print(report("WAND, true k-th score known: passages scored fully", work["wand"], passages))
    print("\n| in PostgreSQL | p50 ms |\n|---|---:|")
    for name, values in timed.items():
        print(f"| {name} | {statistics.median(values):.1f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--chunks", type=int, default=25_000, help="passages to index")
    parser.add_argument("--queries", type=int, default=100, help="Cranfield queries to play out")
    parser.add_argument("--depth", type=int, default=60, help="the k of top k (the service asks 60 for k=10)")
    parser.add_argument("--data", type=Path, default=CRANFIELD, help="the Cranfield folder (for text)")
    anyio.run(bench, parser.parse_args())


if __name__ == "__main__":
    main()

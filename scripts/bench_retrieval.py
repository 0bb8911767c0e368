"""Retrieval quality on Cranfield: nDCG@10, MAP and recall@100 of fulltext, semantic and hybrid.

Everything runs through the real code: articles are written by ArticleService (chunking,
chunk store, queue), embedded with the local model by the worker's code path (`embed_now`),
and searched by SearchService on a fresh database (full text from the in-memory index, the
default, and once more in SQL: the two must score alike). Beside ours, a reference BM25 from PyPI
(bm25s, Lucene variant, same k1 and b) given the same tokens: the lexemes PostgreSQL made
of each passage, passages grouped into documents by their best score as search does.

    .venv/bin/python scripts/bench_retrieval.py [--tune]

`--tune` also prints nDCG@10 of hybrid over a grid of RRF k and leg weights (fused from the
two legs' rankings with the service's own fusion code) and of fulltext over BM25 k1 and b.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import bm25s
import numpy as np

from article_mcp.articles.service import ArticleService
from article_mcp.config import Settings
from article_mcp.db.pool import Database
from article_mcp.embeddings.providers.base import EmbeddingProvider
from article_mcp.embeddings.registry import ModelRecord
from article_mcp.logs import configure_logging
from article_mcp.search.fusion import RankedArticle, Ranking, fuse
from article_mcp.search.models import Leg, SearchMode, SearchRequest, SearchResponse
from article_mcp.search.service import SearchService
from article_mcp.worker.runs import embed_now
from search_bench_setup import CRANFIELD, fresh_bench

DEPTH = 100
# Published for orientation in the collection's README (plain BM25, k1 0.9, b 0.4, no stemming).
BASELINE = {"ndcg@10": 0.34, "map": 0.28}

Qrels = dict[str, dict[str, int]]
Run = dict[str, list[str]]  # query id -> document ids, best first


@dataclass(frozen=True)
class Collection:
    docs: list[dict[str, str]]
    queries: list[dict[str, str]]
    qrels: Qrels


def load(directory: Path) -> Collection:
    def lines(name: str) -> list[dict[str, str]]:
        return [json.loads(line) for line in (directory / name).read_text().splitlines() if line]

    qrels: Qrels = {}
    for line in (directory / "qrels.tsv").read_text().splitlines():
        query, doc, grade = line.split("\t")
        qrels.setdefault(query, {})[doc] = int(grade)
    return Collection(lines("docs.jsonl"), lines("queries.jsonl"), qrels)


# -- metrics --------------------------------------------------------------------------------


def ndcg(ranked: Sequence[str], grades: dict[str, int], k: int = 10) -> float:
    """nDCG@k with linear gains (as trec_eval's ndcg_cut)."""
    dcg = sum(grades.get(d, 0) / math.log2(i + 2) for i, d in enumerate(ranked[:k]))
    ideal = sorted(grades.values(), reverse=True)[:k]
    best = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / best if best else 0.0


def average_precision(ranked: Sequence[str], grades: dict[str, int]) -> float:
    relevant = {d for d, g in grades.items() if g > 0}
    hits, total = 0, 0.0
    for i, doc in enumerate(ranked, start=1):
        if doc in relevant:
            hits += 1
            total += hits / i
    return total / len(relevant) if relevant else 0.0


def recall(ranked: Sequence[str], grades: dict[str, int], k: int = DEPTH) -> float:
    relevant = {d for d, g in grades.items() if g > 0}
    return len(relevant & set(ranked[:k])) / len(relevant) if relevant else 0.0


def evaluate(run: Run, qrels: Qrels) -> dict[str, float]:
    judged = [q for q in run if q in qrels]
    return {
        "ndcg@10": float(np.mean([ndcg(run[q], qrels[q]) for q in judged])),
        "map": float(np.mean([average_precision(run[q], qrels[q]) for q in judged])),
        "recall@100": float(np.mean([recall(run[q], qrels[q]) for q in judged])),
    }


# -- loading and searching ------------------------------------------------------------------


async def write_collection(
    settings: Settings,
    db: Database,
    provider: EmbeddingProvider,
    model: ModelRecord,
    docs: list[dict[str, str]],
) -> dict[str, str]:
    """Write every document as an article and embed it; return slug -> document id."""
    service = ArticleService(settings, db, model.id)
    slugs: dict[str, str] = {}
    tasks: list[int] = []
    started = time.perf_counter()
    for doc in docs:
        written = await service.create(
            doc["title"] or f"Document {doc['id']}", doc["text"], folder="cranfield"
        )
        slugs[written.slug] = doc["id"]
        if written.embedding_task_id is not None:
            tasks.append(written.embedding_task_id)
    log(f"wrote {len(docs)} articles in {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    for start in range(0, len(tasks), 64):
        await embed_now(settings, db, provider, model, tasks[start : start + 64])
    log(f"embedded them in {time.perf_counter() - started:.1f} s")
    return slugs


async def search_all(
    service: SearchService, queries: list[dict[str, str]], mode: SearchMode, slugs: dict[str, str]
) -> tuple[Run, dict[str, SearchResponse]]:
    run: Run = {}
    responses: dict[str, SearchResponse] = {}
    for query in queries:
        response = await service.search(SearchRequest(query=query["text"], k=DEPTH, mode=mode))
        if response.fallback:
            raise SystemExit(f"{mode} fell back to full text: {response.notice}")
        run[query["id"]] = [slugs[hit.slug] for hit in response.results]
        responses[query["id"]] = response
    return run, responses


# -- the reference BM25 ---------------------------------------------------------------------

PASSAGE_TOKENS = """
SELECT a.slug, array(SELECT l.lexeme FROM unnest(c.tsv) AS l, unnest(l.positions) AS p ORDER BY p) AS tokens
FROM article_chunks AS c JOIN articles AS a ON a.id = c.article_id ORDER BY c.id
"""
DOCUMENT_TOKENS = """
SELECT a.slug,
       array(SELECT l.lexeme
             FROM unnest(to_tsvector($1::text::regconfig, a.title || ' ' || a.content)) AS l,
                  unnest(l.positions) AS p
             ORDER BY p) AS tokens
FROM articles AS a ORDER BY a.id
"""
QUERY_TOKENS = """
SELECT array(SELECT l.lexeme FROM unnest(to_tsvector($1::text::regconfig, $2)) AS l, unnest(l.positions) AS p
             ORDER BY p)
"""


async def reference_runs(
    settings: Settings, db: Database, queries: list[dict[str, str]], slugs: dict[str, str]
) -> tuple[Run, Run]:
    """The reference BM25 over the passages we index, and over whole documents."""
    config = settings.text_search_config
    async with db.pool.acquire() as conn:
        passages = await conn.fetch(PASSAGE_TOKENS)
        documents = await conn.fetch(DOCUMENT_TOKENS, config)
        query_tokens = [list(await conn.fetchval(QUERY_TOKENS, config, q["text"])) for q in queries]
    return (
        reference_bm25(settings, passages, queries, query_tokens, slugs),
        reference_bm25(settings, documents, queries, query_tokens, slugs),
    )


def reference_bm25(
    settings: Settings,
    units: Sequence[Any],
    queries: list[dict[str, str]],
    query_tokens: list[list[str]],
    slugs: dict[str, str],
) -> Run:
    """bm25s over the lexemes PostgreSQL made of each unit; units grouped by document, best first."""
    owners = np.array([int(slugs[u["slug"]]) for u in units])
    retriever = bm25s.BM25(k1=settings.bm25_k1, b=settings.bm25_b, method="lucene")
    retriever.index([list(u["tokens"]) for u in units], show_progress=False)
    run: Run = {}
    for query, tokens in zip(queries, query_tokens, strict=True):
        scores = retriever.get_scores(tokens) if tokens else np.zeros(len(units))
        best: dict[int, float] = {}
        for index in np.flatnonzero(scores > 0):
            owner = int(owners[index])
            best[owner] = max(best.get(owner, 0.0), float(scores[index]))
        ranked = sorted(best, key=lambda d: (-best[d], d))[:DEPTH]
        run[query["id"]] = [str(d) for d in ranked]
    return run


# -- tuning ---------------------------------------------------------------------------------


def as_ranking(response: SearchResponse, leg: Leg, slugs: dict[str, str]) -> Ranking:
    """A leg's results as the fusion code takes them, keyed by document id."""
    return Ranking(leg, tuple(RankedArticle(int(slugs[h.slug]), h.score, ()) for h in response.results))


def tune_fusion(legs: dict[Leg, dict[str, SearchResponse]], slugs: dict[str, str], qrels: Qrels) -> None:
    print("\n### Hybrid fusion grid (nDCG@10)\n")
    weights = [0.5, 0.75, 1.0, 1.25, 1.5, 2.0]
    print("| RRF k | " + " | ".join(f"fulltext weight {w}" for w in weights) + " |")
    print("|---" * (len(weights) + 1) + "|")
    for rrf_k in (1, 5, 10, 20, 30, 60, 100):
        cells = []
        for weight in weights:
            run: Run = {}
            for query_id in legs["semantic"]:
                rankings = [as_ranking(legs[leg][query_id], leg, slugs) for leg in legs]
                fused = fuse(rankings, rrf_k=rrf_k, weights={"semantic": 1.0, "fulltext": weight})
                run[query_id] = [str(c.article_id) for c in fused]
            cells.append(f"{evaluate(run, qrels)['ndcg@10']:.4f}")
        print(f"| {rrf_k} | " + " | ".join(cells) + " |")


async def tune_bm25(settings: Settings, db: Database, collection: Collection, slugs: dict[str, str]) -> None:
    print("\n### BM25 grid (fulltext nDCG@10)\n")
    bs = [0.3, 0.5, 0.75, 0.9]
    print("| k1 | " + " | ".join(f"b {b}" for b in bs) + " |")
    print("|---" * (len(bs) + 1) + "|")
    for k1 in (0.6, 0.9, 1.2, 1.5, 2.0):
        cells = []
        for b in bs:
            tuned = settings.model_copy(update={"bm25_k1": k1, "bm25_b": b})
            service = SearchService(tuned, db, None, None)
            run, _ = await search_all(service, collection.queries, "fulltext", slugs)
            cells.append(f"{evaluate(run, collection.qrels)['ndcg@10']:.4f}")
        print(f"| {k1} | " + " | ".join(cells) + " |")


# -- main -----------------------------------------------------------------------------------


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def row(name: str, metrics: dict[str, float]) -> str:
    return f"| {name} | {metrics['ndcg@10']:.4f} | {metrics['map']:.4f} | {metrics['recall@100']:.4f} |"


async def bench(args: argparse.Namespace) -> None:
    collection = load(args.data)
    async with fresh_bench(args.database_url) as b:
        slugs = await write_collection(b.settings, b.db, b.provider, b.model, collection.docs)
        await report(b.settings, b.db, b.provider, b.model, collection, slugs, args.tune)


async def report(
    settings: Settings,
    db: Database,
    provider: EmbeddingProvider,
    model: ModelRecord,
    collection: Collection,
    slugs: dict[str, str],
    tune: bool,
) -> None:
    service = SearchService(settings, db, provider, model)
    assert service.fulltext_index is not None, "FULLTEXT_INDEX=memory"
    await service.fulltext_index.load()
    in_sql = SearchService(settings.model_copy(update={"fulltext_index": "sql"}), db, provider, model)
    runs: dict[str, Run] = {}
    responses: dict[str, dict[str, SearchResponse]] = {}
    for mode in ("fulltext", "semantic", "hybrid"):
        started = time.perf_counter()
        runs[mode], responses[mode] = await search_all(service, collection.queries, mode, slugs)
        log(f"{mode}: {len(collection.queries)} queries in {time.perf_counter() - started:.1f} s")
    for mode in ("fulltext", "hybrid"):  # full text in SQL, as before the in-memory index
        runs[f"{mode} (sql)"], _ = await search_all(in_sql, collection.queries, mode, slugs)
    reference, whole = await reference_runs(settings, db, collection.queries, slugs)
    scores = {mode: evaluate(run, collection.qrels) for mode, run in runs.items()}
    ref = evaluate(reference, collection.qrels)
    whole_ref = evaluate(whole, collection.qrels)
    print(
        f"Cranfield: {len(collection.docs)} documents, {len(collection.queries)} queries; "
        f"model {model.name}; BM25 k1={settings.bm25_k1} b={settings.bm25_b}; "
        f"RRF k={settings.search_rrf_k}, weights semantic {settings.search_semantic_weight} / "
        f"fulltext {settings.search_fulltext_weight}\n"
    )
    print("| run | nDCG@10 | MAP | recall@100 |")
    print("|---|---|---|---|")
    for mode in ("fulltext", "semantic", "hybrid", "fulltext (sql)", "hybrid (sql)"):
        print(row(f"ours: {mode}", scores[mode]))
    print(row("reference BM25 (bm25s), the same passage tokens", ref))
    print(row("reference BM25 (bm25s), whole documents (PostgreSQL lexemes)", whole_ref))
    print(f"| published orientation: plain BM25 | {BASELINE['ndcg@10']:.2f} | {BASELINE['map']:.2f} | – |")
    gap = scores["fulltext"]["ndcg@10"] - ref["ndcg@10"]
    best_part = max(scores["fulltext"]["ndcg@10"], scores["semantic"]["ndcg@10"])
    print(f"\nfulltext − reference nDCG@10: {gap:+.4f} (must be within ±0.01)")
    print(f"hybrid − best part nDCG@10: {scores['hybrid']['ndcg@10'] - best_part:+.4f} (must be > 0)")
    if tune:
        legs: dict[Leg, dict[str, SearchResponse]] = {
            "semantic": responses["semantic"],
            "fulltext": responses["fulltext"],
        }
        tune_fusion(legs, slugs, collection.qrels)
        await tune_bm25(settings, db, collection, slugs)


def main() -> None:
    configure_logging("WARNING", "console")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--data", type=Path, default=CRANFIELD, help="the Cranfield folder")
    parser.add_argument("--database-url", help="an empty database to use (default: a temporary embedded one)")
    parser.add_argument("--tune", action="store_true", help="also print the fusion and BM25 grids")
    anyio.run(bench, parser.parse_args())


if __name__ == "__main__":
    main()

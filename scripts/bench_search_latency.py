"""Search latency by corpus size, side by side with bm25s and tantivy, and HNSW recall@10.

    .venv/bin/python scripts/bench_search_latency.py [--chunks 25000,100000,300000] [--queries 200]

A fresh database gets `--chunks` passages of real English (sentences of the Cranfield
abstracts, shuffled into new passages, so the lexical index has a natural vocabulary) in
articles of four passages spread over ten folders, written through chunk_store, and one
vector per passage. The vectors are synthetic, of the local model's dimension, shaped so that
nearest neighbours are as similar as real text embeddings' (see `Vectors`; the output shows
the similarities). The model's HNSW index is then built by `record_dimensions`, as the
worker does when it learns a model's dimension.

Latency is measured through SearchService.search: "query embedding excluded" gives the
service a lookup table as provider (the synthetic query vector of each query), "included"
gives it the real local model with the query cache off. Recall@10 compares the passages
the semantic query returns through the index with those an exact scan returns.

Full text runs both ways in the same run: from the in-memory index (FULLTEXT_INDEX=memory,
the default; its size and load time are printed) and in SQL. Then full text alone, on the
same passages and queries, beside bm25s and tantivy in-process over the lexemes PostgreSQL
made (search_references.py): the in-memory p50 as a ratio to each, whether each top 10
equals bm25s's, a 4,000-character query, and at the end how each p50 grows with the corpus.
"memory" is what a search pays (the query's lexemes from PostgreSQL, a poll of the change
log, the scores); "memory, scoring only" is the index's own work, timed as bm25s and tantivy
are (given the lexemes).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import statistics
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import asyncpg
import numpy as np

from article_mcp.config import InstructionPrefixes, Prefix, Settings
from article_mcp.db.pool import Database
from article_mcp.embeddings.providers.base import EmbeddingBatch, EmbeddingProvider, Purpose
from article_mcp.embeddings.registry import ModelRecord, record_dimensions
from article_mcp.logs import configure_logging
from article_mcp.passages import store as chunk_store
from article_mcp.passages.chunking import Chunk
from article_mcp.passages.tokens import count_tokens
from article_mcp.search.bm25_index import Term
from article_mcp.search.bm25_mirror import Bm25Mirror
from article_mcp.search.models import SearchMode, SearchRequest
from article_mcp.search.service import (
    DEPTH_PER_RESULT,
    MIN_DEPTH,
    QUERIES,
    SearchService,
    semantic_sql,
)
from search_bench_setup import CRANFIELD, fresh_bench
from search_references import PASSAGE_TOKENS, QUERY_TOKENS, Bm25sIndex, TantivyIndex

CHUNKS_PER_ARTICLE = 4
SENTENCES_PER_CHUNK = 6
LATENT = 48
NOISE = 0.3
FOLDERS = [f"area-{n}" for n in range(10)]
BATCH_ARTICLES = 250
LONG_QUERY = 4000


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Corpus:
    sentences: list[str]
    queries: list[str]


def load_corpus(directory: Path) -> Corpus:
    sentences: list[str] = []
    for line in (directory / "docs.jsonl").read_text().splitlines():
        text = json.loads(line)["text"]
        sentences.extend(s.strip() + " ." for s in text.split(" . ") if len(s.split()) > 3)
    queries = [json.loads(line)["text"] for line in (directory / "queries.jsonl").read_text().splitlines()]
    return Corpus(sentences, queries)


class Vectors:
    """Unit vectors near a random LATENT-dimensional subspace of the model's space.

    Text embeddings fill only a few dozen of their dimensions; with 48 latent dimensions and
    some noise, a query's nearest passages have cosine similarities near 0.6 (1st) and 0.5
    (10th), as all-MiniLM-L6-v2 gives on real text. (Vectors drawn uniformly, or in tight
    clusters, are too hard or too easy for a graph index to tell anything.)
    """

    def __init__(self, dims: int, seed: int = 7) -> None:
        self.rng = np.random.default_rng(seed)
        self.projection = (self.rng.standard_normal((LATENT, dims)) / np.sqrt(LATENT)).astype(np.float32)
        self.dims = dims

    def draw(self, count: int) -> np.ndarray:
        latent = self.rng.standard_normal((count, LATENT)).astype(np.float32)
        noise = self.rng.standard_normal((count, self.dims)).astype(np.float32) * np.sqrt(LATENT / self.dims)
        vectors = latent @ self.projection + NOISE * noise
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


class LookupProvider:
    """A bench double: answers each query with its prepared vector, at no cost."""

    name = "lookup"
    model = "lookup"
    max_batch_size = 64
    prefixes = InstructionPrefixes(Prefix("", "none"), Prefix("", "none"))

    def __init__(self, vectors: dict[str, list[float]]) -> None:
        self._vectors = vectors

    async def embed(self, texts: Sequence[str], *, purpose: Purpose = "query") -> EmbeddingBatch:
        # a text it was not given (a long query cut to the window) gets the first query's vector
        fallback = next(iter(self._vectors.values()))
        return EmbeddingBatch([self._vectors.get(t, fallback) for t in texts])

    async def aclose(self) -> None:
        return None


# -- loading --------------------------------------------------------------------------------


async def load_passages(settings: Settings, db: Database, corpus: Corpus, chunks: int) -> list[str]:
    """Write the articles and their passages; return the text hash of every passage."""
    rng = random.Random(11)
    articles = chunks // CHUNKS_PER_ARTICLE
    hashes: list[str] = []
    started = time.perf_counter()
    async with db.pool.acquire() as conn:
        ids = [
            r["id"]
            for r in await conn.fetch(
                "INSERT INTO articles (slug, title, content, content_hash, folder, tags)"
                " SELECT 'a-' || n, 'Article ' || n, '', '', 'area-' || (n % 10), ARRAY['t' || (n % 7)]"
                " FROM generate_series(1, $1) AS n ORDER BY n RETURNING id",
                articles,
            )
        ]
        for start in range(0, articles, BATCH_ARTICLES):
            batch = []
            for article in ids[start : start + BATCH_ARTICLES]:
                passages = [_passage(rng, corpus, article, i) for i in range(CHUNKS_PER_ARTICLE)]
                hashes.extend(p.text_hash for p in passages)
                batch.append((article, 1, passages))
            async with conn.transaction():
                await chunk_store.replace_many(conn, batch, text_search_config=settings.text_search_config)
            if start % (BATCH_ARTICLES * 20) == 0:
                log(f"  {start * CHUNKS_PER_ARTICLE} passages written")
    log(f"wrote {len(hashes)} passages in {time.perf_counter() - started:.0f} s")
    return hashes


def _passage(rng: random.Random, corpus: Corpus, article: int, index: int) -> Chunk:
    text = " ".join(rng.sample(corpus.sentences, SENTENCES_PER_CHUNK))
    digest = hashlib.sha256(f"{article}:{index}:{text}".encode()).hexdigest()
    return Chunk(index, (), text, text, digest, count_tokens(text))


async def load_vectors(
    db: Database, model: ModelRecord, hashes: list[str], vectors: Vectors, settings: Settings
) -> ModelRecord:
    started = time.perf_counter()
    async with db.pool.acquire() as conn:
        for start in range(0, len(hashes), 10_000):
            batch = hashes[start : start + 10_000]
            drawn = vectors.draw(len(batch))
            await conn.copy_records_to_table(
                "chunk_embeddings",
                records=[(model.id, h, v) for h, v in zip(batch, drawn, strict=True)],
                columns=["model_id", "text_hash", "embedding"],
            )
        log(f"wrote {len(hashes)} vectors in {time.perf_counter() - started:.0f} s")
        started = time.perf_counter()
        # The graph of 100k vectors needs more than the default 64 MB to build in memory.
        await conn.execute("SET maintenance_work_mem = '1GB'")
        model = await record_dimensions(conn, model, vectors.dims)
        log(f"built the HNSW index in {time.perf_counter() - started:.0f} s")
        # A database in steady state: autovacuum has set the visibility map and statistics.
        await conn.execute("VACUUM ANALYZE")
    return model


# -- measuring ------------------------------------------------------------------------------


async def timings(
    run: Callable[[str], Awaitable[Any]], queries: Sequence[str], warmup: int = 10
) -> list[float]:
    for query in queries[:warmup]:
        await run(query)
    measured = []
    for query in queries:
        started = time.perf_counter()
        await run(query)
        measured.append((time.perf_counter() - started) * 1000)
    return measured


def percentiles(values: list[float]) -> tuple[float, float]:
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return cuts[49], cuts[94]


async def loaded_mirror(service: SearchService) -> Bm25Mirror:
    """The service's in-memory BM25 index, loaded; its size and load time are printed."""
    mirror = service.fulltext_index
    assert mirror is not None, "FULLTEXT_INDEX=memory"
    started = time.perf_counter()
    await mirror.load()
    index = mirror.index
    assert index is not None
    log(
        f"in-memory BM25 index: {index.passages} passages, {index.postings} postings,"
        f" {index.nbytes / 2**20:.1f} MiB of arrays, loaded in {time.perf_counter() - started:.1f} s"
    )
    return mirror


async def latency_rows(
    service: SearchService,
    queries: Sequence[str],
    engine: str,
    label: str,
    modes: Sequence[SearchMode],
    p50s: dict[str, float] | None = None,
    **request: Any,
) -> list[str]:
    rows = []
    for mode in modes:

        async def run(query: str, mode: SearchMode = mode) -> None:
            response = await service.search(SearchRequest(query=query, mode=mode, **request))
            if response.fallback:
                raise SystemExit(f"fell back: {response.notice}")

        p50, p95 = percentiles(await timings(run, queries))
        rows.append(f"| {mode} | {engine} | {label} | {p50:.1f} | {p95:.1f} |")
        if p50s is not None:
            p50s[f"{mode} ({engine}), {label}"] = p50
    return rows


async def recall_rows(
    db: Database, model: ModelRecord, query_vectors: np.ndarray, ef_values: Sequence[int]
) -> tuple[str, list[str]]:
    assert model.dimensions is not None
    sql = semantic_sql(model.id, model.dimensions)
    rows = []
    async with db.pool.acquire() as conn:
        async with conn.transaction():
            await conn.execute("SET LOCAL enable_indexscan = off")
            exact_rows = [await conn.fetch(sql, v, 10, None, []) for v in query_vectors]
        exact = [{r["chunk_id"] for r in found} for found in exact_rows]
        first = np.mean([found[0]["score"] for found in exact_rows])
        tenth = np.mean([found[-1]["score"] for found in exact_rows])
        note = f"mean cosine similarity of the exact 1st / 10th neighbour: {first:.2f} / {tenth:.2f}"
        for ef in ef_values:
            found, took = [], []
            async with conn.transaction():
                await conn.execute(QUERIES["tune_semantic"], str(ef))
                for vector in query_vectors:
                    started = time.perf_counter()
                    found.append({r["chunk_id"] for r in await conn.fetch(sql, vector, 10, None, [])})
                    took.append((time.perf_counter() - started) * 1000)
            recall = np.mean([len(f & e) / 10 for f, e in zip(found, exact, strict=True)])
            p50, p95 = percentiles(took)
            rows.append(f"| {ef} | {recall:.3f} | {p50:.1f} | {p95:.1f} |")
    return note, rows


# -- main -----------------------------------------------------------------------------------


async def bench(args: argparse.Namespace) -> None:
    corpus = load_corpus(args.data)
    growth: dict[int, dict[str, float]] = {}
    for chunks in args.chunks:
        async with fresh_bench(args.database_url) as b:
            growth[chunks] = await measure(args, chunks, b.settings, b.db, corpus, b.provider, b.model)
    if len(growth) > 1:
        sizes = sorted(growth)
        print(f"\n### p50 by corpus size (ms), and growth from {sizes[0]} to {sizes[-1]} passages\n")
        print("| measure | " + " | ".join(str(n) for n in sizes) + " | growth |")
        print("|---" * (len(sizes) + 2) + "|")
        for name in growth[sizes[0]]:
            cells = [f"{growth[n][name]:.1f}" for n in sizes]
            print(
                f"| {name} | "
                + " | ".join(cells)
                + f" | {growth[sizes[-1]][name] / growth[sizes[0]][name]:.1f}x |"
            )


async def measure(
    args: argparse.Namespace,
    chunks: int,
    settings: Settings,
    db: Database,
    corpus: Corpus,
    local: EmbeddingProvider,
    model: ModelRecord,
) -> dict[str, float]:
    dims = len((await local.embed(["probe"])).vectors[0])
    vectors = Vectors(dims)
    hashes = await load_passages(settings, db, corpus, chunks)
    model = await load_vectors(db, model, hashes, vectors, settings)
    queries = [
        corpus.queries[i % len(corpus.queries)] + ("" if i < len(corpus.queries) else f" {i}")
        for i in range(args.queries)
    ]
    long_query = " ".join(corpus.queries)[:LONG_QUERY]
    query_vectors = vectors.draw(len(queries) + 1)
    lookup = LookupProvider(
        {q: v.tolist() for q, v in zip([*queries, long_query], query_vectors, strict=True)}
    )

    print(
        f"\n## {len(hashes)} passages\n\n{len(hashes)} passages in {len(hashes) // CHUNKS_PER_ARTICLE}"
        f" articles, vectors of {dims} dimensions;"
        f" HNSW m={settings.hnsw_m} ef_construction={settings.hnsw_ef_construction};"
        f" {len(queries)} queries per row; times in ms\n"
    )
    in_memory = SearchService(settings, db, lookup, model)
    mirror = await loaded_mirror(in_memory)
    in_sql = SearchService(settings.model_copy(update={"fulltext_index": "sql"}), db, lookup, model)
    print("| mode | full text | query embedding | p50 | p95 |")
    print("|---|---|---|---|---|")
    p50s: dict[str, float] = {}
    for engine, excluded in (("memory", in_memory), ("sql", in_sql)):
        modes: tuple[SearchMode, ...] = (
            ("fulltext", "semantic", "hybrid") if engine == "memory" else ("fulltext", "hybrid")
        )
        for line in await latency_rows(excluded, queries, engine, "excluded", modes, p50s):
            print(line)
        for line in await latency_rows(
            excluded, queries, engine, "excluded, folder filter (10%)", ("hybrid",), p50s, folder="area-3"
        ):
            print(line)
        for line in await latency_rows(
            excluded,
            [long_query] * 20,
            engine,
            f"excluded, one {len(long_query)}-character query",
            ("fulltext", "hybrid"),
            p50s,
        ):
            print(line)
    if args.with_model:
        uncached = settings.model_copy(update={"search_query_cache_size": 0})
        included = SearchService(uncached, db, local, model)
        await loaded_mirror(included)
        for line in await latency_rows(
            included, queries, "memory", f"included ({local.model}, no cache)", ("semantic", "hybrid")
        ):
            print(line)
    p50s.update(await reference_rows(settings, db, mirror, queries, long_query))
    note, rows = await recall_rows(db, model, query_vectors[: len(queries)], (40, 64, 100, 200))
    print(f"\nRecall@10 of the HNSW index against exact search ({len(queries)} queries; {note}):\n")
    print("| hnsw.ef_search | recall@10 | p50 | p95 |")
    print("|---|---|---|---|")
    for line in rows:
        print(line)
    return p50s


async def reference_rows(
    settings: Settings, db: Database, mirror: Bm25Mirror, queries: Sequence[str], long_query: str
) -> dict[str, float]:
    """Full text in memory beside its SQL forms, bm25s and tantivy; same passages, same tokens."""
    request = SearchRequest(query="x")
    limit = max(request.k * DEPTH_PER_RESULT, MIN_DEPTH) * request.passages
    config, k1, b = settings.text_search_config, settings.bm25_k1, settings.bm25_b
    async with db.pool.acquire() as conn:
        passages = await conn.fetch(PASSAGE_TOKENS)
        tokens = {q: list(await conn.fetchval(QUERY_TOKENS, config, q)) for q in [*queries, long_query]}
        started = time.perf_counter()
        ids, texts = [r["id"] for r in passages], [r["tokens"] for r in passages]
        reference, engine = Bm25sIndex(ids, texts, k1, b), TantivyIndex(ids, texts)
        log(f"indexed the passages with bm25s and tantivy in {time.perf_counter() - started:.0f} s")

        async def memory(q: str, folder: str | None = None) -> list[tuple[int, float]]:
            # as the service runs it: the query's lexemes (and a filter's articles), a poll of
            # the change log, the scores
            row = await conn.fetchrow(QUERIES["fulltext_terms"], config, [q], folder, [])
            assert row is not None
            terms = [Term(lexeme, n) for lexeme, n in zip(row["lexemes"], row["counts"], strict=True)]
            [hits] = await mirror.top(conn, [terms], limit, k1=k1, b=b, articles=row["articles"])
            return [(h.chunk_id, h.score) for h in hits]

        index = mirror.index
        assert index is not None
        lexemes = {q: await conn.fetchrow(QUERIES["fulltext_terms"], config, [q], None, []) for q in tokens}
        terms_of = {
            q: [Term(lexeme, n) for lexeme, n in zip(r["lexemes"], r["counts"], strict=True)]
            for q, r in lexemes.items()
            if r is not None
        }

        async def scoring_only(q: str) -> None:
            # what bm25s and tantivy are timed on: the query already made into lexemes
            index.top(terms_of[q], limit, k1=k1, b=b)

        async def in_sql(q: str, folder: str | None = None) -> list[asyncpg.Record]:
            return await conn.fetch(QUERIES["fulltext_chunks"], config, q, k1, b, limit, folder, [])

        async def with_bm25s(q: str) -> None:
            reference.top(tokens[q], limit)

        async def with_tantivy(q: str) -> None:
            engine.top(tokens[q], limit)

        equal = equal_memory = 0
        for q in queries:
            found = [(r["chunk_id"], r["score"]) for r in (await in_sql(q))[:10]]
            equal += same_ranking(found, reference.top(tokens[q], 10))
            equal_memory += same_ranking((await memory(q))[:10], reference.top(tokens[q], 10))
        p50s: dict[str, float] = {}
        long_label = f"one {len(long_query)}-character query"
        print(f"\nFull text alone ({limit} passages per query, as the service asks for k=10):\n")
        print("| full text | queries | p50 | p95 | memory / this |")
        print("|---|---|---|---|---|")
        rows: list[tuple[str, str, Callable[[str], Awaitable[Any]], list[str]]] = [
            ("memory", "Cranfield", memory, list(queries)),
            ("memory, scoring only", "Cranfield", scoring_only, list(queries)),
            ("sql", "Cranfield", in_sql, list(queries)),
            ("bm25s", "Cranfield", with_bm25s, list(queries)),
            ("tantivy", "Cranfield", with_tantivy, list(queries)),
            ("memory", "Cranfield, folder filter (10%)", lambda q: memory(q, "area-3"), list(queries)),
            ("sql", "Cranfield, folder filter (10%)", lambda q: in_sql(q, "area-3"), list(queries)),
            ("memory", long_label, memory, [long_query] * 20),
            ("memory, scoring only", long_label, scoring_only, [long_query] * 20),
            ("sql", long_label, in_sql, [long_query] * 20),
            ("bm25s", long_label, with_bm25s, [long_query] * 20),
            ("tantivy", long_label, with_tantivy, [long_query] * 20),
        ]
        mine: dict[str, float] = {}
        for name, label, run, batch in rows:
            p50, p95 = percentiles(await timings(run, batch))
            mine.setdefault(label, p50)
            p50s[f"fulltext alone ({name}), {label}"] = p50
            print(f"| {name} | {label} | {p50:.2f} | {p95:.2f} | {mine[label] / p50:.2f} |")
    print(
        f"\nOur top 10 equals bm25s's (scores within 1e-5, ties in any order) on {equal_memory}"
        f" (memory) and {equal} (SQL) of {len(queries)} queries."
    )
    return p50s


def same_ranking(ours: Sequence[tuple[int, float]], theirs: Sequence[tuple[int, float]]) -> bool:
    """The same scores in the same order (bm25s computes in float32), the same passages up to ties."""
    if len(ours) != len(theirs):
        return False
    for (a, x), (b, y) in zip(ours, theirs, strict=True):
        if abs(x - y) > 1e-5 * max(1.0, abs(x)):
            return False
        if a != b and not any(abs(x - s) <= 1e-5 * max(1.0, abs(x)) for i, s in theirs if i == a):
            return False
    return True


def main() -> None:
    configure_logging("WARNING", "console")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--chunks",
        type=lambda text: [int(n) for n in text.split(",")],
        default=[100_000],
        help="passages to index: one size or several, comma-separated (25000,100000,300000)",
    )
    parser.add_argument("--with-model", action="store_true", help="also time with the real local model")
    parser.add_argument("--queries", type=int, default=200, help="queries per measurement")
    parser.add_argument("--data", type=Path, default=CRANFIELD, help="the Cranfield folder (for text)")
    parser.add_argument("--database-url", help="an empty database to use (default: a temporary embedded one)")
    anyio.run(bench, parser.parse_args())


if __name__ == "__main__":
    main()

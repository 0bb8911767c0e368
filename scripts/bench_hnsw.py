"""HNSW build parameters against ef_search at recall@10 >= 0.95, on `vector` and on `halfvec`.

    .venv/bin/python scripts/bench_hnsw.py [--synthetic 25000] [--m 8,12,16,24,32]
        [--ef-construction 32,64,128,200] [--sets synthetic,cranfield,cranfield-sentences]

For each vector set and each (m, ef_construction) of the grid, an HNSW index is built over
the set in a fresh embedded database, on the same expression the model's index uses
(`embedding::vector(dims)`, or `embedding::halfvec(dims)` beside it): build time, index
size, and, for ef_search climbing a ladder, recall@10 of the raw index query
(`ORDER BY embedding <=> q LIMIT 10`) against exact search (numpy, float32) until it reaches
--target; the row reports the smallest ef_search that does and the p50 of the raw query
there (a second pass, warmed).

Vector sets:

- `synthetic`: the latency benchmark's vectors (bench_search_latency.Vectors: 384 dimensions
  near a 48-dimensional subspace), --synthetic of them, and as many queries drawn alike;
- `cranfield`: real all-MiniLM-L6-v2 vectors (the project's local provider) of Cranfield's
  passages as the chunker cuts them (CHUNK_SIZE, CHUNK_OVERLAP), queries from Cranfield's
  225 queries;
- `cranfield-sentences`: the same passages plus every sentence of the abstracts embedded on
  its own (a larger set of real vectors), the same queries.

Real vectors are embedded once and cached under .bench/hnsw/ (`.npy`); later runs load them.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import anyio
import asyncpg
import numpy as np

from article_mcp.config import Settings
from article_mcp.embeddings.providers.base import EmbeddingProvider, Purpose
from article_mcp.logs import configure_logging
from article_mcp.passages.chunking import chunk_article
from bench_search_latency import Vectors, log, percentiles
from search_bench_setup import CRANFIELD, fresh_bench

CACHE = Path(__file__).resolve().parents[1] / ".bench" / "hnsw"
K = 10
EF_LADDER = (10, 16, 24, 32, 40, 48, 64, 80, 100, 128, 160, 200, 256, 320, 400, 500, 640, 800, 1000)
WARMUP = 20
EMBED_BATCH = 64


@dataclass(frozen=True)
class VectorSet:
    name: str
    corpus: np.ndarray  # unit vectors, float32, one row per passage
    queries: np.ndarray  # unit vectors, float32

    def exact(self) -> list[set[int]]:
        """The true 10 nearest (cosine) of each query: ids are row numbers."""
        similarity = self.queries @ self.corpus.T
        top = np.argpartition(-similarity, K, axis=1)[:, :K]
        return [set(row.tolist()) for row in top]


@dataclass(frozen=True)
class Opclass:
    """How the index stores vectors: the cast of its expression and its operator class."""

    cast: str
    ops: str

    def expression(self, dims: int) -> str:
        return f"(embedding::{self.cast}({dims}))"


VECTOR = Opclass("vector", "vector_cosine_ops")
HALFVEC = Opclass("halfvec", "halfvec_cosine_ops")


# -- vector sets ----------------------------------------------------------------------------


def synthetic(count: int, queries: int) -> VectorSet:
    vectors = Vectors(384)
    return VectorSet(f"synthetic ({count})", vectors.draw(count), vectors.draw(queries))


def cranfield_texts(settings: Settings) -> tuple[list[str], list[str], list[str]]:
    """Cranfield's passages as the chunker cuts them, its sentences, and its queries."""
    passages: list[str] = []
    sentences: list[str] = []
    for line in (CRANFIELD / "docs.jsonl").read_text().splitlines():
        doc = json.loads(line)
        chunks = chunk_article(
            doc["title"] or f"Document {doc['id']}",
            doc["text"],
            max_tokens=settings.chunk_size,
            overlap=settings.chunk_overlap,
        )
        passages.extend(c.embed_text for c in chunks)
        sentences.extend(s.strip() for s in doc["text"].split(" . ") if len(s.split()) > 3)
    queries = [json.loads(line)["text"] for line in (CRANFIELD / "queries.jsonl").read_text().splitlines()]
    return passages, sentences, queries


async def cached_embeddings(
    provider: EmbeddingProvider, name: str, texts: Sequence[str], purpose: Purpose
) -> np.ndarray:
    """The texts' unit vectors by the local model, from .bench/hnsw/<name>.npy when it holds them."""
    path = CACHE / f"{name}.npy"
    if path.exists():
        cached = np.load(path)
        if len(cached) == len(texts):
            return cached
    started = time.perf_counter()
    rows: list[list[float]] = []
    for start in range(0, len(texts), EMBED_BATCH):
        rows.extend((await provider.embed(texts[start : start + EMBED_BATCH], purpose=purpose)).vectors)
    vectors = np.asarray(rows, dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    CACHE.mkdir(parents=True, exist_ok=True)
    np.save(path, vectors)
    log(f"embedded {len(texts)} texts ({name}) in {time.perf_counter() - started:.0f} s")
    return vectors


async def real_sets(settings: Settings, provider: EmbeddingProvider, names: Sequence[str]) -> list[VectorSet]:
    found: list[VectorSet] = []
    if not {"cranfield", "cranfield-sentences"} & set(names):
        return found
    passages, sentences, queries = cranfield_texts(settings)
    query_vectors = await cached_embeddings(provider, "cranfield-queries", queries, "query")
    passage_vectors = await cached_embeddings(provider, "cranfield-passages", passages, "document")
    if "cranfield" in names:
        found.append(VectorSet(f"cranfield passages ({len(passages)})", passage_vectors, query_vectors))
    if "cranfield-sentences" in names:
        sentence_vectors = await cached_embeddings(provider, "cranfield-sentences", sentences, "document")
        both = np.concatenate([passage_vectors, sentence_vectors])
        found.append(VectorSet(f"cranfield passages + sentences ({len(both)})", both, query_vectors))
    return found


# -- measuring ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    m: int
    ef_construction: int
    opclass: str
    build_s: float
    size_mb: float
    ef_search: int | None  # None: no ef_search of the ladder reached the target
    recall: float  # at ef_search (or at the ladder's last)
    recall_alike: float  # at the ef_search the first type (vector) needs: equal parameters
    p50_ms: float


@dataclass(frozen=True)
class Index:
    """One index of the grid over hnsw_bench, and the raw query it serves."""

    opclass: Opclass
    m: int
    ef_construction: int
    dims: int

    @property
    def name(self) -> str:
        return f"hnsw_bench_{self.opclass.cast}"

    @property
    def query(self) -> str:
        distance = f"{self.opclass.expression(self.dims)} <=> $1::vector::{self.opclass.cast}({self.dims})"
        return f"SELECT id FROM hnsw_bench ORDER BY {distance} LIMIT {K}"


async def load(conn: asyncpg.Connection, vectors: np.ndarray) -> None:
    # untyped `vector`, as chunk_embeddings.embedding: the index is on a cast, as the model's is
    await conn.execute("DROP TABLE IF EXISTS hnsw_bench")
    await conn.execute("CREATE TABLE hnsw_bench (id integer PRIMARY KEY, embedding vector NOT NULL)")
    await conn.copy_records_to_table(
        "hnsw_bench", records=list(enumerate(vectors)), columns=["id", "embedding"]
    )
    await conn.execute("VACUUM ANALYZE hnsw_bench")


async def build(conn: asyncpg.Connection, index: Index) -> tuple[float, float]:
    """Build the index; its build time (s) and size (MB)."""
    await conn.execute(f"DROP INDEX IF EXISTS {index.name}")
    started = time.perf_counter()
    await conn.execute(
        f"CREATE INDEX {index.name} ON hnsw_bench"
        f" USING hnsw ({index.opclass.expression(index.dims)} {index.opclass.ops})"
        f" WITH (m = {int(index.m)}, ef_construction = {int(index.ef_construction)})"
    )
    took = time.perf_counter() - started
    plan = "\n".join(r[0] for r in await conn.fetch("EXPLAIN " + index.query, np.ones(index.dims)))
    if index.name not in plan:
        raise SystemExit(f"the raw query does not use {index.name}:\n{plan}")
    return took, await conn.fetchval("SELECT pg_relation_size($1::regclass)", index.name) / 2**20


async def found_at(conn: asyncpg.Connection, index: Index, ef: int, queries: np.ndarray) -> list[set[int]]:
    await conn.execute(f"SET hnsw.ef_search = {int(ef)}")
    statement = await conn.prepare(index.query)
    return [{r["id"] for r in await statement.fetch(vector)} for vector in queries]


def recall_of(found: Sequence[set[int]], exact: Sequence[set[int]]) -> float:
    return float(np.mean([len(f & e) / K for f, e in zip(found, exact, strict=True)]))


async def smallest_ef(
    conn: asyncpg.Connection, index: Index, vectors: VectorSet, exact: list[set[int]], target: float
) -> tuple[int | None, float]:
    """The first ef_search of the ladder at which recall@10 reaches the target, and that recall."""
    recall = 0.0
    for ef in EF_LADDER:
        recall = recall_of(await found_at(conn, index, ef, vectors.queries), exact)
        if recall >= target:
            return ef, recall
    return None, recall


async def interleaved_p50(
    conn: asyncpg.Connection, runs: Sequence[tuple[Index, int]], queries: np.ndarray
) -> list[float]:
    """p50 (ms) of each index's raw query at its ef_search, the indexes taking turns query by
    query, so that the machine's load falls on all of them alike."""
    statements = [await conn.prepare(index.query) for index, _ in runs]
    took: list[list[float]] = [[] for _ in runs]
    for n, vector in enumerate([*queries[:WARMUP], *queries]):
        for (_, ef), statement, times in zip(runs, statements, took, strict=True):
            await conn.execute(f"SET hnsw.ef_search = {int(ef)}")
            started = time.perf_counter()
            await statement.fetch(vector)
            if n >= WARMUP:
                times.append((time.perf_counter() - started) * 1000)
    return [percentiles(times)[0] for times in took]


async def measure(
    conn: asyncpg.Connection,
    vectors: VectorSet,
    exact: list[set[int]],
    indexes: Sequence[Index],
    target: float,
) -> list[Row]:
    """The rows of one (m, ef_construction): every type built side by side on the same vectors."""
    built = [await build(conn, index) for index in indexes]
    reached = [await smallest_ef(conn, index, vectors, exact, target) for index in indexes]
    alike_ef = reached[0][0] or EF_LADDER[-1]
    alike = [recall_of(await found_at(conn, index, alike_ef, vectors.queries), exact) for index in indexes]
    runs = [(index, ef or EF_LADDER[-1]) for index, (ef, _) in zip(indexes, reached, strict=True)]
    p50s = await interleaved_p50(conn, runs, vectors.queries)
    return [
        Row(index.m, index.ef_construction, index.opclass.cast, took, size, ef, recall, same, p50)
        for index, (took, size), (ef, recall), same, p50 in zip(
            indexes, built, reached, alike, p50s, strict=True
        )
    ]


def show(row: Row) -> str:
    ef = str(row.ef_search) if row.ef_search is not None else f"> {EF_LADDER[-1]}"
    return (
        f"| {row.m} | {row.ef_construction} | {row.opclass} | {row.build_s:.1f} | {row.size_mb:.1f}"
        f" | {ef} | {row.recall:.3f} | {row.recall_alike:.3f} | {row.p50_ms:.2f} |"
    )


async def bench(args: argparse.Namespace) -> None:
    async with fresh_bench(None) as b:
        sets: list[VectorSet] = []
        if "synthetic" in args.sets:
            sets.append(synthetic(args.synthetic, args.queries))
        sets.extend(await real_sets(b.settings, b.provider, args.sets))
        async with b.db.pool.acquire() as conn:
            # as bench_search_latency: the graph of 100k vectors needs more than the default 64MB
            await conn.execute("SET maintenance_work_mem = '1GB'")
            for vectors in sets:
                await grid(conn, vectors, args)


async def grid(conn: asyncpg.Connection, vectors: VectorSet, args: argparse.Namespace) -> None:
    """One table: every (m, ef_construction) of the grid, on vector and halfvec."""
    exact = vectors.exact()
    await load(conn, vectors.corpus)
    print(
        f"\n### {vectors.name}: {len(vectors.corpus)} vectors of {vectors.corpus.shape[1]}"
        f" dimensions, {len(vectors.queries)} queries; smallest ef_search at recall@10 >= {args.target}\n"
    )
    print(
        "| m | ef_construction | type | build s | index MB | ef_search | recall@10"
        " | recall@10 at vector's ef_search | p50 ms |"
    )
    print("|---|---|---|---|---|---|---|---|---|", flush=True)
    opclasses = [VECTOR, HALFVEC] if args.halfvec else [VECTOR]
    dims = vectors.corpus.shape[1]
    for m in args.m:
        # pgvector refuses ef_construction below 2 m
        for efc in (e for e in args.ef_construction if e >= 2 * m):
            indexes = [Index(opclass, m, efc, dims) for opclass in opclasses]
            for row in await measure(conn, vectors, exact, indexes, args.target):
                print(show(row), flush=True)


def integers(text: str) -> list[int]:
    return [int(n) for n in text.split(",")]


def main() -> None:
    configure_logging("WARNING", "console")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--synthetic", type=int, default=25_000, help="synthetic vectors to index")
    parser.add_argument("--queries", type=int, default=200, help="synthetic queries")
    parser.add_argument(
        "--m", type=integers, default=[8, 12, 16, 24, 32], help="HNSW m values, comma-separated"
    )
    parser.add_argument(
        "--ef-construction", type=integers, default=[32, 64, 128, 200], help="ef_construction values"
    )
    parser.add_argument(
        "--sets",
        type=lambda text: text.split(","),
        default=["synthetic", "cranfield", "cranfield-sentences"],
        help="vector sets: synthetic, cranfield, cranfield-sentences",
    )
    parser.add_argument("--no-halfvec", dest="halfvec", action="store_false", help="vector indexes only")
    parser.add_argument("--target", type=float, default=0.95, help="recall@10 to reach")
    anyio.run(bench, parser.parse_args())


if __name__ == "__main__":
    main()

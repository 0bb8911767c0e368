"""What the latency benchmark measures our full text against, in the same run.

- `EXHAUSTIVE_SQL`: full text as it was before this change (filters applied after every
  candidate was scored), on the same tables: the "before" column.
- `Bm25sIndex` and `TantivyIndex`: bm25s and tantivy in-process, over the very lexemes
  PostgreSQL made of each passage (so that all three rank the same tokens), k1 1.2, b 0.75.
  bm25s (Lucene variant) is the equality reference; tantivy quantises document lengths, so
  its ranking differs slightly and only its time is compared.
"""

from __future__ import annotations

from collections.abc import Sequence

import bm25s
import numpy as np
import tantivy

EXHAUSTIVE_SQL = """
WITH terms AS (
    SELECT l.lexeme, cardinality(l.positions) AS qtf
    FROM unnest(to_tsvector($1::text::regconfig, $2::text)) AS l
),
corpus AS (
    SELECT chunk_count::float8 AS n,
           greatest(total_length, 1)::float8 / greatest(chunk_count, 1) AS avgdl
    FROM corpus_stats
),
weights AS (
    SELECT t.lexeme, t.qtf * ln(1 + (c.n - s.df + 0.5) / (s.df::float8 + 0.5)) AS weight
    FROM terms AS t
    JOIN lexeme_stats AS s ON s.lexeme = t.lexeme
    CROSS JOIN corpus AS c
),
scored AS (
    SELECT p.chunk_id,
           sum(w.weight * p.tf
               / (p.tf + $3::float8 * (1 - $4::float8 + $4::float8 * p.chunk_length / c.avgdl)))
               AS score
    FROM weights AS w
    JOIN chunk_postings AS p ON p.lexeme = w.lexeme
    CROSS JOIN corpus AS c
    GROUP BY p.chunk_id
),
top AS (
    SELECT s.chunk_id, s.score
    FROM scored AS s
    WHERE ($6::text IS NULL AND cardinality($7::text[]) = 0)
       OR EXISTS (
           SELECT 1 FROM article_chunks AS ch JOIN articles AS a ON a.id = ch.article_id
           WHERE ch.id = s.chunk_id
             AND ($6::text IS NULL OR a.folder = $6::text OR starts_with(a.folder, $6::text || '/'))
             AND a.tags @> $7::text[])
    ORDER BY s.score DESC, s.chunk_id
    LIMIT $5
)
SELECT ch.article_id, t.chunk_id, t.score
FROM top AS t
JOIN article_chunks AS ch ON ch.id = t.chunk_id
ORDER BY t.score DESC, t.chunk_id;
"""

# Every passage's lexemes, each as often as it occurs, in passage id order.
PASSAGE_TOKENS = """
SELECT c.id, array_agg(l.lexeme ORDER BY l.lexeme) AS tokens
FROM article_chunks AS c
CROSS JOIN LATERAL unnest(c.tsv) AS l
CROSS JOIN LATERAL generate_series(1, cardinality(l.positions))
GROUP BY c.id
ORDER BY c.id
"""

# The lexemes of a query, each as often as it occurs.
QUERY_TOKENS = """
SELECT coalesce(array_agg(l.lexeme), '{}')
FROM unnest(to_tsvector($1::text::regconfig, $2::text)) AS l
CROSS JOIN LATERAL generate_series(1, cardinality(l.positions))
"""


class Bm25sIndex:
    """bm25s over the passages' tokens; `top` returns passage ids, best first."""

    def __init__(self, ids: Sequence[int], tokens: Sequence[Sequence[str]], k1: float, b: float) -> None:
        self.ids = np.asarray(ids)
        self.retriever = bm25s.BM25(k1=k1, b=b, method="lucene")
        self.retriever.index([list(t) for t in tokens], show_progress=False)
        self.vocabulary = set(self.retriever.vocab_dict)

    def top(self, tokens: Sequence[str], k: int) -> list[tuple[int, float]]:
        known = [t for t in tokens if t in self.vocabulary]
        if not known:
            return []
        scores = self.retriever.get_scores(known)
        best = np.argpartition(-scores, min(k, len(scores) - 1))[:k]
        ranked = sorted(best, key=lambda i: (-scores[i], self.ids[i]))
        return [(int(self.ids[i]), float(scores[i])) for i in ranked if scores[i] > 0]


class TantivyIndex:
    """tantivy (BM25, OR of the query's terms) over the passages' tokens."""

    def __init__(self, ids: Sequence[int], tokens: Sequence[Sequence[str]]) -> None:
        builder = tantivy.SchemaBuilder()
        builder.add_text_field("body", stored=False, tokenizer_name="whitespace")
        builder.add_integer_field("id", stored=True, fast=True)
        self.schema = builder.build()
        self.index = tantivy.Index(self.schema)
        writer = self.index.writer(heap_size=500_000_000, num_threads=1)
        for passage_id, passage in zip(ids, tokens, strict=True):
            writer.add_document(tantivy.Document(body=" ".join(passage), id=int(passage_id)))
        writer.commit()
        writer.wait_merging_threads()
        self.index.reload()
        self.searcher = self.index.searcher()

    def top(self, tokens: Sequence[str], k: int) -> list[int]:
        terms = [
            (tantivy.Occur.Should, tantivy.Query.term_query(self.schema, "body", t))
            for t in dict.fromkeys(tokens)
        ]
        if not terms:
            return []
        hits = self.searcher.search(tantivy.Query.boolean_query(terms), k).hits
        return [self.searcher.doc(address)["id"][0] for _, address in hits]

"""What the latency benchmark measures our full text against, in the same run.

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

-- Queries of service.py: passages ranked by BM25 and by vector distance, and what results show.
-- Filters: $folder NULL for any folder, else that folder and its subfolders; $tags '{}' for
-- any tags, else articles carrying all of them. no_rag articles have no chunks: never found.

-- name: fulltext_chunks
-- The $5 best passages for query $2 (full-text configuration $1) by BM25 with k1 $3 and b $4,
-- folder $6, tags $7. OR semantics: a passage needs one of the query's lexemes. Each distinct
-- lexeme is looked up once, its repetitions in the query a weight (a pasted paragraph costs
-- what its distinct words cost). The postings of the query's lexemes give the candidates,
-- their term frequencies and lengths (an index-only scan of the postings' primary key);
-- lexeme_stats and corpus_stats give document frequencies and the average length. IDF as
-- Lucene: ln(1 + (N - df + 0.5) / (df + 0.5)), never negative. A filter narrows the postings
-- as they are read, before anything is summed: its passages are found once and hashed.
WITH terms AS (
    SELECT l.lexeme, cardinality(l.positions) AS qtf
    FROM unnest(to_tsvector($1::text::regconfig, $2::text)) AS l
),
corpus AS (
    SELECT chunk_count::float8 AS n,
           greatest(total_length, 1)::float8 / greatest(chunk_count, 1) AS avgdl
    FROM corpus_stats
),
allowed AS MATERIALIZED (
    -- the passages a filter lets through; not computed without one
    SELECT ch.id
    FROM articles AS a JOIN article_chunks AS ch ON ch.article_id = a.id
    WHERE ($6::text IS NOT NULL OR cardinality($7::text[]) > 0)
      AND ($6::text IS NULL OR a.folder = $6::text OR starts_with(a.folder, $6::text || '/'))
      AND a.tags @> $7::text[]
),
weights AS (
    SELECT t.lexeme, t.qtf * ln(1 + (c.n - s.df + 0.5) / (s.df::float8 + 0.5)) AS weight
    FROM terms AS t
    JOIN lexeme_stats AS s ON s.lexeme = t.lexeme
    CROSS JOIN corpus AS c
),
top AS (
    SELECT p.chunk_id,
           sum(w.weight * p.tf
               / (p.tf + $3::float8 * (1 - $4::float8 + $4::float8 * p.chunk_length / c.avgdl)))
               AS score
    FROM weights AS w
    JOIN chunk_postings AS p ON p.lexeme = w.lexeme
    CROSS JOIN corpus AS c
    WHERE ($6::text IS NULL AND cardinality($7::text[]) = 0) OR p.chunk_id IN (SELECT id FROM allowed)
    GROUP BY p.chunk_id
    ORDER BY score DESC, p.chunk_id
    LIMIT $5
)
SELECT ch.article_id, t.chunk_id, t.score
FROM top AS t
JOIN article_chunks AS ch ON ch.id = t.chunk_id
ORDER BY t.score DESC, t.chunk_id;

-- name: fulltext_terms
-- For the in-memory index: the distinct lexemes of each query in $2 (full-text configuration
-- $1) with their repetitions, as parallel arrays (query numbers from 1); and with a filter
-- (folder $3, tags $4) the articles it lets through, NULL without one.
SELECT coalesce(array_agg(t.n ORDER BY t.n), '{}') AS queries,
       coalesce(array_agg(t.lexeme ORDER BY t.n), '{}') AS lexemes,
       coalesce(array_agg(t.count ORDER BY t.n), '{}') AS counts,
       CASE WHEN $3::text IS NOT NULL OR cardinality($4::text[]) > 0 THEN ARRAY(
           SELECT a.id FROM articles AS a
           WHERE ($3::text IS NULL OR a.folder = $3::text OR starts_with(a.folder, $3::text || '/'))
             AND a.tags @> $4::text[]
       ) END AS articles
FROM (
    SELECT q.n, l.lexeme, cardinality(l.positions) AS count
    FROM unnest($2::text[]) WITH ORDINALITY AS q (text, n)
    CROSS JOIN LATERAL unnest(to_tsvector($1::text::regconfig, q.text)) AS l
) AS t;

-- name: tune_fulltext
-- For this transaction: room to add up BM25 scores in memory (common words at 100k passages
-- give ~80k candidates: with the default 4MB the aggregate spills to disk and takes half
-- again as long).
SELECT set_config('work_mem', '16MB', true);

-- name: tune_semantic
-- For this transaction: HNSW candidate list $1 (hnsw.ef_search); iterative index scans, so
-- that filters which reject many neighbours still get enough results; and a plan made for
-- the actual filters each time (a generic plan cannot tell a selective folder, best served
-- by exact distances over its few passages, from no filter, best served by the index).
SELECT set_config('hnsw.ef_search', $1::text, true),
       set_config('hnsw.iterative_scan', 'relaxed_order', true),
       set_config('plan_cache_mode', 'force_custom_plan', true);

-- name: semantic_chunks
-- The {limit} passages nearest to vector $1 by cosine distance among the vectors of one model,
-- within {filters}; score is cosine similarity. A template filled in by service.py: with a
-- filter, {limit} is $2 and {filters} semantic_filters; for every folder and tag, both are
-- literal (semantic_everywhere). {model_id} and {dims} are integers written in because the
-- planner matches the model's partial HNSW index only on its literal predicate and expression
-- (half precision, registry.sql); the distance returned is the full-precision one.
-- Iterative scans, and half precision, may return neighbours slightly out of order: the
-- outer query sorts them.
WITH nearest AS MATERIALIZED (
    SELECT c.article_id, c.id AS chunk_id, e.embedding::vector({dims}) <=> $1::vector AS distance
    FROM chunk_embeddings AS e
    JOIN article_chunks AS c ON c.text_hash = e.text_hash
    JOIN articles AS a ON a.id = c.article_id
    WHERE e.model_id = {model_id}
      AND {filters}
    ORDER BY e.embedding::halfvec({dims}) <=> $1::vector::halfvec({dims})
    LIMIT {limit}
)
SELECT article_id, chunk_id, 1 - distance AS score
FROM nearest
ORDER BY distance, chunk_id;

-- name: semantic_filters
-- The semantic query's filters: folder $3, tags $4. Run after tune_semantic, in its transaction:
-- a plan made for the actual filters each time.
($3::text IS NULL OR a.folder = $3::text OR starts_with(a.folder, $3::text || '/'))
      AND a.tags @> $4::text[]

-- name: semantic_everywhere
-- In place of the filters, for a search of every folder and tag, which runs alone, in one round
-- trip: no transaction, no SET. With the limit written in as well, the query vector is its only
-- parameter and the plan is the same for every query (the index scan), so PostgreSQL plans it
-- once per connection and keeps it (a parameter as limit would make the plan it keeps look
-- costlier than one made for the limit, and it would plan every time). The index's
-- settings are made for this statement alone by an InitPlan that gates the scan: the Result
-- node's One-Time Filter runs it before the index reads its first row, which is when pgvector
-- reads hnsw.ef_search ({ef_search}, an integer) and hnsw.iterative_scan. As in tune_semantic.
(SELECT set_config('hnsw.ef_search', '{ef_search}', true)
        || set_config('hnsw.iterative_scan', 'relaxed_order', true)) IS NOT NULL

-- name: passages_shown
-- What a result shows of passages $1 and of their articles, in one round trip.
SELECT ch.id, ch.chunk_index, ch.heading_path, ch.content,
       a.id AS article_id, a.slug, a.title, a.folder, a.tags, a.version, a.updated_at
FROM article_chunks AS ch
JOIN articles AS a ON a.id = ch.article_id
WHERE ch.id = ANY($1::bigint[]);

-- name: passage_vectors
-- The vectors of model $2 for passages $1 (for diversity).
SELECT c.id AS chunk_id, e.embedding
FROM article_chunks AS c
JOIN chunk_embeddings AS e ON e.model_id = $2 AND e.text_hash = c.text_hash
WHERE c.id = ANY($1::bigint[]);

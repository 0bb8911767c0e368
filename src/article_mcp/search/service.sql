-- Queries of service.py: passages ranked by BM25 and by vector distance, and what results show.
-- Filters: $folder NULL for any folder, else that folder and its subfolders; $tags '{}' for
-- any tags, else articles carrying all of them. no_rag articles have no chunks: never found.

-- name: fulltext_chunks
-- The $5 best passages for query $2 (full-text configuration $1) by BM25 with k1 $3 and b $4,
-- folder $6, tags $7; $8 postings of the rarest lexemes seed the search. OR semantics: a
-- passage needs one of the query's lexemes, each counted once with its repetitions as a
-- weight (so a repeated word costs nothing more). IDF as Lucene: ln(1 + (N - df + 0.5) /
-- (df + 0.5)), never negative. A filter narrows the postings before anything is scored.
--
-- Exact, without reading every posting (MaxScore): a lexeme adds less than its weight (idf
-- times repetitions) to any passage. The rarest lexemes (the seed) give candidates; the
-- best $5 of them, scored in full, give `floor`, a score that the $5-th best passage reaches
-- at least. The lightest other lexemes whose weights sum below the floor are `optional`: a
-- passage holding only those cannot reach the top, so their (long) posting lists are never
-- read; only the candidates that could still reach the floor look up their postings, by the
-- primary key. Every candidate comes from the postings of the other lexemes.
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
weights AS MATERIALIZED (
    SELECT t.lexeme, s.df, t.qtf * ln(1 + (c.n - s.df + 0.5) / (s.df::float8 + 0.5)) AS weight,
           sum(s.df) OVER (ORDER BY s.df, t.lexeme) - s.df < $8::float8 * sum(s.df) OVER () AS seed
    FROM terms AS t
    JOIN lexeme_stats AS s ON s.lexeme = t.lexeme
    CROSS JOIN corpus AS c
),
postings AS NOT MATERIALIZED (
    -- every posting of the query's lexemes that the filter lets through, with its share
    SELECT w.lexeme, w.seed, p.chunk_id,
           w.weight * p.tf / (p.tf + $3::float8 * (1 - $4::float8 + $4::float8 * p.chunk_length / c.avgdl))
               AS share
    FROM weights AS w
    JOIN chunk_postings AS p ON p.lexeme = w.lexeme
    CROSS JOIN corpus AS c
    WHERE ($6::text IS NULL AND cardinality($7::text[]) = 0) OR p.chunk_id IN (SELECT id FROM allowed)
),
seeded AS MATERIALIZED (
    SELECT chunk_id, sum(share) AS partial FROM postings WHERE seed GROUP BY chunk_id
),
unseeded AS (
    SELECT coalesce(array_agg(lexeme), '{}') AS rest FROM weights WHERE NOT seed
),
floor AS MATERIALIZED (
    -- the full scores of the $5 best seeded passages: the $5-th best passage scores at least
    -- the lowest of them (0 when there are fewer)
    SELECT CASE WHEN count(*) = $5 THEN min(s.partial + coalesce(rest.share, 0)) ELSE 0 END AS score
    FROM (SELECT chunk_id, partial FROM seeded ORDER BY partial DESC LIMIT $5) AS s
    LEFT JOIN LATERAL (
        -- the other lexemes' shares, read from the passage's own tsvector (one row, instead
        -- of a postings lookup per lexeme)
        SELECT sum(w.weight * cardinality(l.positions)
                   / (cardinality(l.positions)
                      + $3::float8 * (1 - $4::float8 + $4::float8 * ch.lexeme_count / c.avgdl)))
                   AS share
        FROM article_chunks AS ch
        CROSS JOIN LATERAL unnest(ts_filter(setweight(ch.tsv, 'A', (SELECT rest FROM unseeded)), '{a}')) AS l
        JOIN weights AS w ON w.lexeme = l.lexeme
        CROSS JOIN corpus AS c
        WHERE ch.id = s.chunk_id
    ) AS rest ON true
),
optional AS MATERIALIZED (
    SELECT o.lexeme, o.weight
    FROM (SELECT lexeme, weight, sum(weight) OVER (ORDER BY weight, lexeme) AS upto
          FROM weights WHERE NOT seed) AS o
    WHERE o.upto < (SELECT score FROM floor)
),
slack AS (
    SELECT coalesce(sum(weight), 0) AS total FROM optional
),
extra AS (
    -- the lexemes neither seeded nor optional
    SELECT lexeme FROM weights WHERE NOT seed AND lexeme NOT IN (SELECT lexeme FROM optional)
),
candidates AS MATERIALIZED (
    -- the seeded passages, and when some lexemes are neither seeded nor optional, the
    -- passages of their postings too (each branch runs only when it applies)
    SELECT chunk_id, partial FROM seeded WHERE NOT EXISTS (SELECT 1 FROM extra)
    UNION ALL
    SELECT chunk_id, sum(partial) AS partial
    FROM (SELECT chunk_id, partial FROM seeded
          UNION ALL
          SELECT chunk_id, share FROM postings WHERE lexeme IN (SELECT lexeme FROM extra)) AS u
    WHERE EXISTS (SELECT 1 FROM extra)
    GROUP BY chunk_id
),
bar AS (
    -- what a passage must be able to reach: the floor, or the $5-th best partial score
    SELECT greatest((SELECT score FROM floor),
                    (SELECT partial FROM candidates ORDER BY partial DESC OFFSET $5 - 1 LIMIT 1))
               AS score
),
kept AS MATERIALIZED (
    -- the candidates that could still reach the bar (a small margin, so that rounding never
    -- drops a passage that ties it)
    SELECT chunk_id, partial FROM candidates
    WHERE partial + (SELECT total FROM slack) >= (SELECT score FROM bar) * (1 - 1e-9)
),
completed AS (
    -- the optional lexemes' shares of the kept candidates: their lists read once, matched to
    -- the candidates by hash (`+ 0` keeps the planner from a postings lookup per candidate
    -- and lexeme, far slower when thousands are kept)
    SELECT k.chunk_id, sum(p.share) AS share
    FROM postings AS p
    JOIN kept AS k ON k.chunk_id = p.chunk_id + 0
    WHERE p.lexeme IN (SELECT lexeme FROM optional)
    GROUP BY k.chunk_id
),
scored AS (
    SELECT k.chunk_id, k.partial + coalesce(c.share, 0) AS score
    FROM kept AS k LEFT JOIN completed AS c ON c.chunk_id = k.chunk_id
),
top AS (
    SELECT chunk_id, score FROM scored ORDER BY score DESC, chunk_id LIMIT $5
)
SELECT ch.article_id, t.chunk_id, t.score
FROM top AS t
JOIN article_chunks AS ch ON ch.id = t.chunk_id
ORDER BY t.score DESC, t.chunk_id;

-- name: tune_semantic
-- For this transaction: HNSW candidate list $1 (hnsw.ef_search); iterative index scans, so
-- that filters which reject many neighbours still get enough results; and a plan made for
-- the actual filters each time (a generic plan cannot tell a selective folder, best served
-- by exact distances over its few passages, from no filter, best served by the index).
SELECT set_config('hnsw.ef_search', $1::text, true),
       set_config('hnsw.iterative_scan', 'relaxed_order', true),
       set_config('plan_cache_mode', 'force_custom_plan', true);

-- name: semantic_chunks
-- The $2 passages nearest to vector $1 by cosine distance among the vectors of one model,
-- folder $3, tags $4; score is cosine similarity. A template: {model_id} and {dims} are
-- integers written in by search.py, because the planner matches the model's partial HNSW
-- index only on its literal predicate and expression. Iterative scans may return neighbours
-- slightly out of order: the outer query sorts them.
WITH nearest AS MATERIALIZED (
    SELECT c.article_id, c.id AS chunk_id, e.embedding::vector({dims}) <=> $1::vector AS distance
    FROM chunk_embeddings AS e
    JOIN article_chunks AS c ON c.text_hash = e.text_hash
    JOIN articles AS a ON a.id = c.article_id
    WHERE e.model_id = {model_id}
      AND ($3::text IS NULL OR a.folder = $3::text OR starts_with(a.folder, $3::text || '/'))
      AND a.tags @> $4::text[]
    ORDER BY e.embedding::vector({dims}) <=> $1::vector
    LIMIT $2
)
SELECT article_id, chunk_id, 1 - distance AS score
FROM nearest
ORDER BY distance, chunk_id;

-- name: passages_shown
-- What a result shows of passages $1 and of their articles, in one round trip.
SELECT ch.id, ch.chunk_index, ch.heading_path, ch.content,
       a.id AS article_id, a.slug, a.title, a.folder, a.tags, a.updated_at
FROM article_chunks AS ch
JOIN articles AS a ON a.id = ch.article_id
WHERE ch.id = ANY($1::bigint[]);

-- name: passage_vectors
-- The vectors of model $2 for passages $1 (for diversity).
SELECT c.id AS chunk_id, e.embedding
FROM article_chunks AS c
JOIN chunk_embeddings AS e ON e.model_id = $2 AND e.text_hash = c.text_hash
WHERE c.id = ANY($1::bigint[]);

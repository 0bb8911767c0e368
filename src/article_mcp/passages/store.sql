-- Queries of store.py: the passages of articles and their lexical (BM25) index.
-- Run inside the transaction that writes the articles, which holds their row locks.

-- name: replace_chunks
-- Make the chunks of articles $1 exactly the chunks in $2 (a JSON array of {article_id,
-- article_version, chunk_index, heading_path, content, indexed_text, text_hash, token_count}),
-- full-text configuration $3, and keep postings and document frequencies in step. tsv is
-- made of indexed_text: title, heading path and passage, the very text the embedding sees.
-- Chunks are paired by (article, index): an unchanged one is only restamped with the new
-- version, a changed one is rewritten in place and only the postings that differ (in term
-- frequency or in the chunk's length, which postings carry for BM25) are written;
-- document frequencies get one net delta per lexeme, in lexeme order, so that concurrent
-- writers lock shared rows in the same order and cannot deadlock.
-- Returns the lexemes whose df fell to zero, how many fell below zero (an index out of step
-- with its chunks: the caller must roll back), and the change in chunk count and length;
-- corpus_stats is updated by a separate, last statement (a hot row: held briefly).
WITH incoming AS (
    SELECT c.article_id, c.article_version, c.chunk_index, c.heading_path, c.content,
           c.text_hash, c.token_count, v.tsv,
           (SELECT coalesce(sum(cardinality(l.positions)), 0)::integer FROM unnest(v.tsv) AS l)
               AS lexeme_count
    FROM jsonb_to_recordset($2::jsonb) AS c (
             article_id bigint, article_version integer, chunk_index integer,
             heading_path text[], content text, indexed_text text, text_hash text,
             token_count integer)
    CROSS JOIN LATERAL (SELECT to_tsvector($3::text::regconfig, c.indexed_text) AS tsv) AS v
),
pairs AS (
    SELECT cur.id, cur.tsv AS old_tsv, cur.lexeme_count AS old_count,
           new.article_id, new.article_version, new.chunk_index, new.heading_path, new.content,
           new.text_hash, new.token_count, new.tsv AS new_tsv, new.lexeme_count AS new_count,
           cur.id IS NOT NULL AND new.chunk_index IS NOT NULL
               AND cur.tsv = new.tsv AND cur.lexeme_count = new.lexeme_count
               AND cur.heading_path = new.heading_path AND cur.content = new.content
               AND cur.text_hash = new.text_hash AND cur.token_count = new.token_count
               AS same
    FROM (SELECT * FROM article_chunks WHERE article_id = ANY($1::bigint[])) AS cur
    FULL JOIN incoming AS new
        ON new.article_id = cur.article_id AND new.chunk_index = cur.chunk_index
),
gone AS (
    -- their postings go with them (ON DELETE CASCADE)
    DELETE FROM article_chunks AS t
    USING pairs AS p
    WHERE t.id = p.id AND p.chunk_index IS NULL
),
rewritten AS (
    UPDATE article_chunks AS t
    SET article_version = p.article_version, heading_path = p.heading_path, content = p.content,
        text_hash = p.text_hash, token_count = p.token_count, tsv = p.new_tsv,
        lexeme_count = p.new_count
    FROM pairs AS p
    WHERE t.id = p.id AND p.chunk_index IS NOT NULL
      AND NOT (p.same AND t.article_version = p.article_version)
),
added AS (
    INSERT INTO article_chunks (article_id, article_version, chunk_index, heading_path, content,
                                text_hash, token_count, tsv, lexeme_count)
    SELECT article_id, article_version, chunk_index, heading_path, content, text_hash,
           token_count, new_tsv, new_count
    FROM pairs
    WHERE id IS NULL
    RETURNING id, tsv, lexeme_count
),
old_postings AS (
    SELECT p.id, l.lexeme, cardinality(l.positions) AS tf, p.old_count AS chunk_length
    FROM pairs AS p CROSS JOIN LATERAL unnest(p.old_tsv) AS l
    WHERE p.id IS NOT NULL AND NOT p.same
),
new_postings AS (
    SELECT p.id, l.lexeme, cardinality(l.positions) AS tf, p.new_count AS chunk_length
    FROM pairs AS p CROSS JOIN LATERAL unnest(p.new_tsv) AS l
    WHERE p.id IS NOT NULL AND p.chunk_index IS NOT NULL AND NOT p.same
    UNION ALL
    SELECT a.id, l.lexeme, cardinality(l.positions), a.lexeme_count
    FROM added AS a CROSS JOIN LATERAL unnest(a.tsv) AS l
),
dropped_postings AS (
    -- postings of rewritten chunks whose lexeme is no longer there
    DELETE FROM chunk_postings AS t
    USING pairs AS p, old_postings AS o
    WHERE p.id = o.id AND p.chunk_index IS NOT NULL
      AND t.chunk_id = o.id AND t.lexeme = o.lexeme
      AND NOT EXISTS (SELECT 1 FROM unnest(p.new_tsv) AS l WHERE l.lexeme = o.lexeme)
),
written_postings AS (
    INSERT INTO chunk_postings (lexeme, chunk_id, tf, chunk_length)
    SELECT n.lexeme, n.id, n.tf, n.chunk_length
    FROM new_postings AS n
    WHERE NOT EXISTS (
        SELECT 1 FROM old_postings AS o
        WHERE o.id = n.id AND o.lexeme = n.lexeme AND o.tf = n.tf AND o.chunk_length = n.chunk_length
    )
    ORDER BY n.lexeme, n.id
    ON CONFLICT (lexeme, chunk_id) DO UPDATE SET tf = EXCLUDED.tf, chunk_length = EXCLUDED.chunk_length
),
df_deltas AS (
    SELECT lexeme, sum(delta)::integer AS delta
    FROM (
        SELECT lexeme, 1 AS delta FROM new_postings
        UNION ALL
        SELECT lexeme, -1 FROM old_postings
    ) AS d
    GROUP BY lexeme
    HAVING sum(delta) <> 0
),
df_written AS (
    INSERT INTO lexeme_stats AS s (lexeme, df)
    SELECT lexeme, delta FROM df_deltas ORDER BY lexeme
    ON CONFLICT (lexeme) DO UPDATE SET df = s.df + EXCLUDED.df
    RETURNING s.lexeme, s.df
)
SELECT coalesce((SELECT array_agg(lexeme ORDER BY lexeme) FROM df_written WHERE df = 0), '{}')
           AS emptied_lexemes,
       (SELECT count(*) FROM df_written WHERE df < 0) AS negative_df,
       (SELECT count(*) FROM pairs WHERE id IS NULL)
           - (SELECT count(*) FROM pairs WHERE chunk_index IS NULL) AS chunk_delta,
       (SELECT coalesce(sum(coalesce(new_count, 0) - coalesce(old_count, 0)), 0)::bigint
        FROM pairs WHERE NOT same) AS length_delta;

-- name: drop_empty_lexemes
-- Forget lexemes $1 whose df this transaction brought to zero (their rows are locked by it).
DELETE FROM lexeme_stats WHERE lexeme = ANY($1::text[]) AND df = 0;

-- name: update_corpus_stats
-- Add $1 chunks and $2 lexeme occurrences to the corpus totals. A single hot row: run last.
UPDATE corpus_stats SET chunk_count = chunk_count + $1, total_length = total_length + $2;

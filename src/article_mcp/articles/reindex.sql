-- Queries of reindex.py: rebuilding the passages and search vectors of stored articles.

-- name: count_articles
-- How many articles a reindex goes through.
SELECT count(*) FROM articles;

-- name: lock_batch
-- The next $2 articles after id $1, locked for this transaction (a concurrent write waits, then
-- writes on top of the rebuild), with the text hashes of their current passages in order.
SELECT a.id, a.title, a.content, a.no_rag, a.version,
       ARRAY(SELECT k.text_hash FROM article_chunks k WHERE k.article_id = a.id ORDER BY k.chunk_index)
           AS text_hashes
FROM articles a
WHERE a.id > $1
ORDER BY a.id
LIMIT $2
FOR UPDATE OF a;

-- name: index_articles
-- Recompute the search vector of articles $1 with text search configuration $2 as a write
-- does (insert_article in articles.sql; $3 as there), writing only those that change.
-- Returns how many changed.
WITH computed AS (
    SELECT id,
           setweight(to_tsvector($2::regconfig, title), 'A')
           || setweight(to_tsvector($2::regconfig, CASE WHEN $3::int IS NULL THEN content
                                                         ELSE left(content, $3) END), 'B') AS tsv
    FROM articles
    WHERE id = ANY($1::bigint[])
), changed AS (
    UPDATE articles a
    SET search_tsv = c.tsv
    FROM computed c
    WHERE a.id = c.id AND a.search_tsv <> c.tsv
    RETURNING 1
)
SELECT count(*) FROM changed;

-- name: active_model
-- The id of the registered model $2 of provider $1 with query prefix $3 and document prefix
-- $4, if it is registered.
SELECT id FROM embedding_models
WHERE provider = $1 AND name = $2 AND query_prefix = $3 AND document_prefix = $4;

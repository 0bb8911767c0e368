-- Blue/green model switches (lifecycle.py): a model builds beside the active one, becomes
-- active at once, and the one it replaces retires, kept current for a grace period, then pruned.
-- Every state change runs under registry.sql's lock_states.

-- name: missing_articles
-- How many articles (not no_rag) have a current chunk without a vector of model $1.
SELECT count(DISTINCT k.article_id)
FROM article_chunks k
JOIN articles a ON a.id = k.article_id AND NOT a.no_rag
WHERE NOT EXISTS (SELECT 1 FROM chunk_embeddings e WHERE e.model_id = $1 AND e.text_hash = k.text_hash);

-- name: retire_active
-- Retire the active model, kept current for $1 hours; return its id (none when no model is active).
UPDATE embedding_models
SET state = 'retired', retired_at = now(), keep_warm_until = now() + $1 * interval '1 hour'
WHERE state = 'active'
RETURNING id;

-- name: set_active
-- Make model $1 the active one (the active one retired first: one active model at a time).
UPDATE embedding_models
SET state = 'active', activated_at = now(), retired_at = NULL, keep_warm_until = NULL
WHERE id = $1;

-- name: set_building
-- Model $1 builds again (a retired one: its vectors are kept, only what changed is embedded).
UPDATE embedding_models SET state = 'building', retired_at = NULL, keep_warm_until = NULL
WHERE id = $1 AND state = 'retired';

-- name: prunable
-- Model $1's state and, when retired, until when it stays current (prune waits for it).
SELECT state, keep_warm_until, keep_warm_until > now() AS warm FROM embedding_models WHERE id = $1;

-- name: prune_vectors
-- Delete model $1's vectors and cancel its pending tasks; return how many vectors went.
WITH cancelled AS (
    UPDATE embedding_tasks
    SET status = 'cancelled', error_kind = 'cancelled', error_message = 'model pruned',
        completed_at = now(), updated_at = now()
    WHERE model_id = $1 AND status = 'pending'
    RETURNING id
), deleted AS (
    DELETE FROM chunk_embeddings WHERE model_id = $1 RETURNING 1
)
SELECT count(*) FROM deleted;

-- name: drop_index
-- The model's HNSW index, dropped. DDL takes no parameters: {index} is put in by lifecycle.py,
-- built from the model's integer id (registry.hnsw_index_name).
DROP INDEX IF EXISTS {index};

-- name: plan_texts
-- What embedding every article with model $1 still sends: articles lacking a vector, the
-- distinct texts without one, and their estimated tokens (article_chunks.token_count).
WITH lacking AS (
    SELECT k.article_id, k.text_hash, k.token_count
    FROM article_chunks k
    JOIN articles a ON a.id = k.article_id AND NOT a.no_rag
    WHERE NOT EXISTS (SELECT 1 FROM chunk_embeddings e WHERE e.model_id = $1 AND e.text_hash = k.text_hash)
), texts AS (
    SELECT DISTINCT ON (text_hash) text_hash, token_count FROM lacking
)
SELECT (SELECT count(DISTINCT article_id) FROM lacking) AS articles,
       (SELECT count(*) FROM texts) AS passages,
       (SELECT coalesce(sum(token_count), 0) FROM texts) AS tokens;

-- name: plan_bodies
-- The distinct texts model $1 still lacks, as the worker rebuilds them (title, heading path,
-- content): what a local tokenizer counts.
SELECT DISTINCT ON (k.text_hash) a.title, k.heading_path, k.content
FROM article_chunks k
JOIN articles a ON a.id = k.article_id AND NOT a.no_rag
WHERE NOT EXISTS (SELECT 1 FROM chunk_embeddings e WHERE e.model_id = $1 AND e.text_hash = k.text_hash)
ORDER BY k.text_hash;

-- name: throughput
-- Estimated tokens one worker embeds per second, measured over the batches of the last day:
-- model $1's own when it has any, else every model's; NULL before any batch.
SELECT coalesce(
    (SELECT sum(tokens)::float8 * 1000 / nullif(sum(total_ms), 0) FROM performance_metrics
     WHERE model_id = $1 AND tokens > 0 AND recorded_at > now() - interval '1 day'),
    (SELECT sum(tokens)::float8 * 1000 / nullif(sum(total_ms), 0) FROM performance_metrics
     WHERE tokens > 0 AND recorded_at > now() - interval '1 day')
) AS tokens_per_second;

-- name: progress
-- Per model: its state and when it changed, tasks pending or processing, tasks failed in the
-- last day, and the most frequent reason of those failures.
SELECT m.id AS model_id, m.state, m.activated_at, m.retired_at, m.keep_warm_until,
       (SELECT count(*) FROM embedding_tasks t
        WHERE t.model_id = m.id AND t.status IN ('pending', 'processing')) AS queued,
       (SELECT count(*) FROM embedding_tasks t
        WHERE t.model_id = m.id AND t.status = 'failed' AND t.completed_at > now() - interval '1 day') AS failed,
       (SELECT t.error_message FROM embedding_tasks t
        WHERE t.model_id = m.id AND t.status = 'failed' AND t.completed_at > now() - interval '1 day'
        GROUP BY t.error_message ORDER BY count(*) DESC, max(t.completed_at) DESC LIMIT 1) AS failure_reason
FROM embedding_models m
ORDER BY m.id;

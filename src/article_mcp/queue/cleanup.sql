-- Queries of queue/cleanup.py: retention of finished tasks, audit rows, metrics and workers,
-- and vectors no passage uses any more.

-- name: delete_finished_tasks
-- Remove completed and cancelled tasks finished more than $1 days ago (failed ones stay for
-- operators to retry). Returns how many.
WITH gone AS (
    DELETE FROM embedding_tasks
    WHERE status IN ('completed', 'cancelled') AND completed_at < now() - $1 * interval '1 day'
    RETURNING 1
)
SELECT count(*) FROM gone;

-- name: delete_old_audit_logs
-- Remove audit rows older than $1 days. Returns how many.
WITH gone AS (
    DELETE FROM embedding_audit_logs WHERE "timestamp" < now() - $1 * interval '1 day' RETURNING 1
)
SELECT count(*) FROM gone;

-- name: delete_old_metrics
-- Remove performance rows older than $1 days. Returns how many.
WITH gone AS (
    DELETE FROM performance_metrics WHERE recorded_at < now() - $1 * interval '1 day' RETURNING 1
)
SELECT count(*) FROM gone;

-- name: delete_stopped_workers
-- Forget workers stopped more than $1 days ago. Returns how many.
WITH gone AS (
    DELETE FROM embedding_worker_status
    WHERE state = 'stopped' AND stopped_at < now() - $1 * interval '1 day'
    RETURNING 1
)
SELECT count(*) FROM gone;

-- name: delete_orphan_embeddings
-- Remove vectors whose text no current chunk has any more. Returns what was removed.
DELETE FROM chunk_embeddings e
WHERE NOT EXISTS (SELECT 1 FROM article_chunks k WHERE k.text_hash = e.text_hash)
RETURNING e.model_id, e.text_hash;

-- name: articles_needing
-- Articles whose current chunks have one of the texts $2 without a vector of model $1: a chunk
-- written while the orphans were being removed; they are queued again.
SELECT DISTINCT k.article_id
FROM article_chunks k
JOIN live_embedding_models m ON m.id = $1
WHERE k.text_hash = ANY($2::text[])
  AND NOT EXISTS (SELECT 1 FROM chunk_embeddings e WHERE e.model_id = $1 AND e.text_hash = k.text_hash)
ORDER BY k.article_id;

-- Backfill: queue every article whose current chunks lack vectors of a model, judged from the
-- chunks and embeddings tables (never from task history, which cleanup deletes), and undo it.

-- name: articles_needing_vectors
-- Articles (not no_rag) with a current chunk that has no vector of model $1 and no pending or
-- processing task for that model: what a backfill queues, in id order.
SELECT a.id
FROM articles a
WHERE NOT a.no_rag
  AND EXISTS (
      SELECT 1 FROM article_chunks k
      WHERE k.article_id = a.id
        AND NOT EXISTS (SELECT 1 FROM chunk_embeddings e WHERE e.model_id = $1 AND e.text_hash = k.text_hash)
  )
  AND NOT EXISTS (
      SELECT 1 FROM embedding_tasks t
      WHERE t.article_id = a.id AND t.model_id = $1 AND t.status IN ('pending', 'processing')
  )
ORDER BY a.id;

-- name: plan
-- What a backfill of model $1 faces: articles in all and marked no_rag; articles lacking
-- vectors entirely (missing) or in part (incomplete) with no live task, and their chunks
-- without a vector; and articles lacking vectors that a live task will embed already.
WITH coverage AS (
    SELECT k.article_id, count(*) AS chunks, count(e.text_hash) AS embedded
    FROM article_chunks k
    JOIN articles a ON a.id = k.article_id AND NOT a.no_rag
    LEFT JOIN chunk_embeddings e ON e.model_id = $1 AND e.text_hash = k.text_hash
    GROUP BY k.article_id
), lacking AS (
    SELECT c.article_id, c.chunks, c.embedded,
           EXISTS (
               SELECT 1 FROM embedding_tasks t
               WHERE t.article_id = c.article_id AND t.model_id = $1 AND t.status IN ('pending', 'processing')
           ) AS queued
    FROM coverage c
    WHERE c.embedded < c.chunks
)
SELECT (SELECT count(*) FROM articles) AS articles,
       (SELECT count(*) FROM articles WHERE no_rag) AS no_rag,
       count(*) FILTER (WHERE NOT queued AND embedded = 0) AS missing,
       count(*) FILTER (WHERE NOT queued AND embedded > 0) AS incomplete,
       coalesce(sum(chunks - embedded) FILTER (WHERE NOT queued), 0) AS chunks_to_embed,
       count(*) FILTER (WHERE queued) AS queued
FROM lacking;

-- name: cancel_backfill
-- Cancel the pending tasks created by backfill source $1 (by every backfill when NULL), with
-- an audit row each; return how many. A task that a later write merged into carries the
-- write's source (see queue.sql enqueue), so a write's embedding is never cancelled.
WITH cancelled AS (
    UPDATE embedding_tasks
    SET status = 'cancelled', error_kind = 'cancelled', error_message = 'backfill rolled back',
        completed_at = now(), updated_at = now()
    WHERE status = 'pending'
      AND (source = $1 OR ($1 IS NULL AND starts_with(source, 'backfill:')))
    RETURNING id, article_id, error_message
), audit AS (
    INSERT INTO embedding_audit_logs (level, category, event, message, task_id, article_id)
    SELECT 'info', 'operator', 'task_cancelled', error_message, id, article_id FROM cancelled
)
SELECT count(*) FROM cancelled;

-- name: runs
-- The $1 latest backfill runs, from their tasks: when started and where their tasks are now.
SELECT substr(source, length('backfill:') + 1) AS run_id, min(created_at) AS started_at,
       count(*) AS tasks,
       count(*) FILTER (WHERE status = 'pending') AS pending,
       count(*) FILTER (WHERE status = 'processing') AS processing,
       count(*) FILTER (WHERE status = 'completed') AS completed,
       count(*) FILTER (WHERE status = 'failed') AS failed,
       count(*) FILTER (WHERE status = 'cancelled') AS cancelled
FROM embedding_tasks
WHERE starts_with(source, 'backfill:')
GROUP BY source
ORDER BY min(created_at) DESC
LIMIT $1;

-- name: coverage
-- For each model: articles (not no_rag) and current chunks in all, and how many have vectors
-- of that model (an article counts once all its chunks do; one without chunks counts).
WITH totals AS (
    SELECT (SELECT count(*) FROM articles WHERE NOT no_rag) AS articles,
           (SELECT count(*) FROM article_chunks) AS chunks
)
SELECT m.id AS model_id, m.provider, m.name, m.dimensions, m.state, m.query_prefix, m.document_prefix,
       t.articles, t.chunks,
       t.articles - (
           SELECT count(DISTINCT k.article_id) FROM article_chunks k
           WHERE NOT EXISTS (SELECT 1 FROM chunk_embeddings e WHERE e.model_id = m.id AND e.text_hash = k.text_hash)
       ) AS articles_embedded,
       (
           SELECT count(*) FROM article_chunks k
           WHERE EXISTS (SELECT 1 FROM chunk_embeddings e WHERE e.model_id = m.id AND e.text_hash = k.text_hash)
       ) AS chunks_embedded
FROM embedding_models m
CROSS JOIN totals t
ORDER BY m.id;

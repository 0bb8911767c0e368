-- Read-only reports on the embedding queue: breakdowns, activity, metrics, failures,
-- one task's story (`article-mcp queue stats|metrics|recent|failed|inspect`).

-- name: tasks_by_source
-- Tasks by what created them (write, backfill, retry, ...) and status.
SELECT split_part(source, ':', 1) AS source, status::text AS status, count(*) AS tasks
FROM embedding_tasks
GROUP BY 1, 2;

-- name: tasks_by_model
-- Tasks by embedding model and status.
SELECT m.provider || '/' || m.name AS model, t.status::text AS status, count(*) AS tasks
FROM embedding_tasks t
JOIN embedding_models m ON m.id = t.model_id
GROUP BY 1, 2;

-- name: failures_by_kind
-- Failed tasks by error kind.
SELECT coalesce(error_kind, 'unknown') AS error_kind, count(*) AS tasks
FROM embedding_tasks
WHERE status = 'failed'
GROUP BY 1;

-- name: hourly_activity
-- Tasks created, completed and failed, and tokens used, in each of the last 24 hours.
WITH hours AS (
    SELECT generate_series(date_trunc('hour', now()) - interval '23 hours',
                           date_trunc('hour', now()), interval '1 hour') AS hour
),
created AS (
    SELECT date_trunc('hour', created_at) AS hour, count(*) AS tasks
    FROM embedding_tasks
    WHERE created_at >= date_trunc('hour', now()) - interval '23 hours'
    GROUP BY 1
),
finished AS (
    SELECT date_trunc('hour', coalesce(completed_at, updated_at)) AS hour,
           count(*) FILTER (WHERE status = 'completed') AS completed,
           count(*) FILTER (WHERE status = 'failed') AS failed,
           sum(tokens_used) AS tokens
    FROM embedding_tasks
    WHERE status IN ('completed', 'failed')
      AND coalesce(completed_at, updated_at) >= date_trunc('hour', now()) - interval '23 hours'
    GROUP BY 1
)
SELECT h.hour, coalesce(c.tasks, 0) AS created, coalesce(f.completed, 0) AS completed,
       coalesce(f.failed, 0) AS failed, coalesce(f.tokens, 0) AS tokens
FROM hours h
LEFT JOIN created c USING (hour)
LEFT JOIN finished f USING (hour)
ORDER BY h.hour;

-- name: batch_metrics
-- Batches the workers processed in the last $1 hours: counts, tokens, and batch times.
SELECT count(*) AS batches,
       coalesce(sum(tasks), 0) AS tasks,
       coalesce(sum(chunks), 0) AS chunks,
       coalesce(sum(embedded), 0) AS embedded,
       coalesce(sum(tokens), 0) AS tokens,
       coalesce(sum(failures), 0) AS failures,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY total_ms) AS batch_ms_p50,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY total_ms) AS batch_ms_p95,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY embed_ms) AS embed_ms_p50,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY embed_ms) AS embed_ms_p95,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY write_ms) AS write_ms_p50,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY write_ms) AS write_ms_p95
FROM performance_metrics
WHERE recorded_at >= now() - $1 * interval '1 hour';

-- name: task_metrics
-- Tasks finished in the last $1 hours: counts, tokens, processing time (claim to done) and
-- latency (created to done) in seconds.
WITH finished AS (
    SELECT status, tokens_used,
           extract(epoch FROM completed_at - started_at)::float8 AS processing,
           extract(epoch FROM completed_at - created_at)::float8 AS latency
    FROM embedding_tasks
    WHERE status IN ('completed', 'failed')
      AND coalesce(completed_at, updated_at) >= now() - $1 * interval '1 hour'
)
SELECT count(*) FILTER (WHERE status = 'completed') AS completed,
       count(*) FILTER (WHERE status = 'failed') AS failed,
       coalesce(sum(tokens_used), 0) AS tokens,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY processing)
           FILTER (WHERE status = 'completed') AS processing_p50,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY processing)
           FILTER (WHERE status = 'completed') AS processing_p95,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY latency)
           FILTER (WHERE status = 'completed') AS latency_p50,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY latency)
           FILTER (WHERE status = 'completed') AS latency_p95
FROM finished;

-- name: recent_tasks
-- The $1 tasks changed most recently.
SELECT t.id AS task_id, t.article_id, a.slug, t.status::text AS status, t.priority::text AS priority,
       t.attempts, t.max_attempts, t.source, t.created_at, t.updated_at, t.error_message
FROM embedding_tasks t
LEFT JOIN articles a ON a.id = t.article_id
ORDER BY t.updated_at DESC, t.id DESC
LIMIT $1;

-- name: failure_groups
-- Failed tasks grouped by error: how many, when first and last, and a few task ids.
SELECT coalesce(error_kind, 'unknown') AS error_kind, coalesce(error_message, '') AS error_message,
       count(*) AS tasks, min(updated_at) AS first_at, max(updated_at) AS last_at,
       (array_agg(id ORDER BY id DESC))[1:5] AS task_ids
FROM embedding_tasks
WHERE status = 'failed'
GROUP BY 1, 2
ORDER BY tasks DESC, last_at DESC;

-- name: task_audit
-- The audit log of task $1, oldest first: its own rows and the batch rows that list it (a
-- batch's completions are one row, with the task ids in task_ids).
SELECT "timestamp", level, category, event, message, worker_id, metadata
FROM embedding_audit_logs
WHERE task_id = $1 OR task_ids @> ARRAY[$1::bigint]
ORDER BY "timestamp", id;

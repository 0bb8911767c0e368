-- Reports on the embedding queue and the operator's actions on it (`article-mcp queue ...`).
-- Every action is one statement, so two operators (or an operator and a worker) cannot
-- interleave half of one with half of another.

-- name: control
-- The pause switch every worker obeys.
SELECT paused, reason, updated_at FROM embedding_queue_control;

-- name: task_counts
-- Tasks by status and priority.
SELECT status::text AS status, priority::text AS priority, count(*) AS tasks
FROM embedding_tasks
GROUP BY status, priority;

-- name: pending_by_folder
-- Pending tasks by the top-level folder of their article ('' is the root), the $1 largest:
-- what workers partitioned with `--folder` have before them.
SELECT split_part(a.folder, '/', 1) AS folder, count(*) AS tasks
FROM embedding_tasks t
JOIN articles a ON a.id = t.article_id
WHERE t.status = 'pending'
GROUP BY 1
ORDER BY tasks DESC, folder
LIMIT $1;

-- name: queue_timing
-- Age of the oldest pending task, expired leases, and tasks finished in the last hour.
SELECT
    (SELECT extract(epoch FROM now() - min(created_at))::float8
     FROM embedding_tasks WHERE status = 'pending') AS oldest_pending_seconds,
    (SELECT count(*) FROM embedding_tasks
     WHERE status = 'processing' AND lease_expires_at < now()) AS expired_leases,
    (SELECT count(*) FROM embedding_tasks
     WHERE status = 'completed' AND completed_at >= now() - interval '1 hour') AS completed_last_hour,
    (SELECT count(*) FROM embedding_tasks
     WHERE status = 'failed' AND updated_at >= now() - interval '1 hour') AS failed_last_hour;

-- name: workers
-- Workers seen lately, live ones first; alive means not stopped and a heartbeat within
-- $1 milliseconds (the lease time: a worker silent that long has lost its leases anyway).
SELECT worker_id, hostname, pid, state, started_at, heartbeat_at, stopped_at,
       tasks_completed, tasks_failed, last_error, provider_unreachable_since, provider_error,
       state <> 'stopped' AND heartbeat_at >= now() - $1 * interval '1 millisecond' AS alive
FROM embedding_worker_status
WHERE heartbeat_at >= now() - interval '1 hour' - $1 * interval '1 millisecond'
ORDER BY alive DESC, heartbeat_at DESC
LIMIT 50;

-- name: recent_failures
-- The $1 most recently failed tasks.
SELECT t.id AS task_id, t.article_id, a.slug, t.error_kind, t.error_message,
       t.attempts, t.max_attempts, t.updated_at AS failed_at
FROM embedding_tasks t
LEFT JOIN articles a ON a.id = t.article_id
WHERE t.status = 'failed'
ORDER BY t.updated_at DESC, t.id DESC
LIMIT $1;

-- name: task
-- One task with its article and model.
SELECT t.id AS task_id, t.article_id, a.slug, a.title, a.version AS current_version,
       m.provider || '/' || m.name AS model, t.article_version, t.operation,
       t.priority::text AS priority, t.status::text AS status, t.attempts, t.max_attempts,
       t.scheduled_at, t.lease_owner, t.lease_expires_at, t.created_at, t.updated_at,
       t.started_at, t.completed_at, t.error_kind, t.error_message, t.tokens_used, t.source,
       t.metadata
FROM embedding_tasks t
LEFT JOIN articles a ON a.id = t.article_id
JOIN embedding_models m ON m.id = t.model_id
WHERE t.id = $1;

-- name: stuck_tasks
-- Processing tasks whose lease has expired or that started more than $1 minutes ago.
SELECT t.id AS task_id, t.article_id, a.slug, t.lease_owner, t.lease_expires_at,
       coalesce(t.started_at, t.updated_at) AS started_at, t.attempts, t.max_attempts,
       t.lease_expires_at < now() AS lease_expired,
       extract(epoch FROM now() - coalesce(t.started_at, t.updated_at))::float8 AS running_seconds
FROM embedding_tasks t
LEFT JOIN articles a ON a.id = t.article_id
WHERE t.status = 'processing'
  AND (t.lease_expires_at < now() OR coalesce(t.started_at, t.updated_at) < now() - $1 * interval '1 minute')
ORDER BY coalesce(t.started_at, t.updated_at), t.id;

-- name: retry_tasks
-- Requeue failed or cancelled tasks: those with ids $1, plus every failed task when $2.
-- The retried task gets its attempts back, the article's current version and source
-- 'retry'. One task per article and model may be pending, so an article's retried tasks
-- merge into its pending task if it has one, else into the newest of them; the others are
-- cancelled as merged. Tasks of deleted or no_rag articles are left as they are.
WITH chosen AS (
    SELECT t.id, t.article_id, t.model_id, t.priority, a.version
    FROM embedding_tasks t
    JOIN articles a ON a.id = t.article_id AND NOT a.no_rag
    WHERE (t.id = ANY($1::bigint[]) AND t.status IN ('failed', 'cancelled'))
       OR ($2 AND t.status = 'failed')
    FOR UPDATE OF t SKIP LOCKED
),
pending AS (
    SELECT id, article_id, model_id
    FROM embedding_tasks
    WHERE status = 'pending' AND (article_id, model_id) IN (SELECT article_id, model_id FROM chosen)
    FOR UPDATE
),
groups AS (
    SELECT c.article_id, c.model_id,
           coalesce(min(p.id), max(c.id)) AS target_id,
           min(c.priority) AS priority, max(c.version) AS article_version
    FROM chosen c
    LEFT JOIN pending p USING (article_id, model_id)
    GROUP BY c.article_id, c.model_id
),
requeued AS (
    UPDATE embedding_tasks t
    SET status = 'pending', attempts = 0, lease_owner = NULL, lease_expires_at = NULL,
        priority = LEAST(t.priority, g.priority),
        article_version = GREATEST(t.article_version, g.article_version),
        scheduled_at = LEAST(t.scheduled_at, now()),
        source = CASE WHEN t.status = 'pending' THEN t.source ELSE 'retry' END,
        error_kind = NULL, error_message = NULL, completed_at = NULL, updated_at = now()
    FROM groups g
    WHERE t.id = g.target_id
    RETURNING t.id, t.article_id
),
merged AS (
    UPDATE embedding_tasks t
    SET status = 'cancelled', error_kind = 'cancelled',
        error_message = 'merged into task ' || g.target_id || ' by retry',
        completed_at = coalesce(t.completed_at, now()), updated_at = now()
    FROM chosen c
    JOIN groups g USING (article_id, model_id)
    WHERE t.id = c.id AND t.id <> g.target_id
    RETURNING t.id, t.article_id, t.error_message
),
audit AS (
    INSERT INTO embedding_audit_logs (level, category, event, message, task_id, article_id)
    SELECT 'info', 'operator', 'task_retried', 'requeued by an operator with fresh attempts', id, article_id
    FROM requeued
    UNION ALL
    SELECT 'info', 'operator', 'task_merged', error_message, id, article_id FROM merged
)
SELECT (SELECT array_agg(id ORDER BY id) FROM requeued) AS pending_ids,
       (SELECT count(*) FROM merged) AS merged;

-- name: set_paused
-- Pause ($1 true) or resume every worker, with the operator's reason $2; logged in the audit.
WITH control AS (
    UPDATE embedding_queue_control
    SET paused = $1, reason = $2, updated_at = now()
    RETURNING paused, reason, updated_at
),
audit AS (
    INSERT INTO embedding_audit_logs (level, category, event, message)
    SELECT 'info', 'operator', CASE WHEN paused THEN 'queue_paused' ELSE 'queue_resumed' END,
           coalesce(reason, CASE WHEN paused THEN 'paused by an operator' ELSE 'resumed by an operator' END)
    FROM control
)
SELECT paused, reason, updated_at FROM control;

-- name: cancel_pending
-- Cancel every pending task (logged in the audit); return how many.
WITH cancelled AS (
    UPDATE embedding_tasks
    SET status = 'cancelled', error_kind = 'cancelled', error_message = 'cancelled by an operator (queue clear)',
        completed_at = now(), updated_at = now()
    WHERE status = 'pending'
    RETURNING id, article_id, error_message
),
audit AS (
    INSERT INTO embedding_audit_logs (level, category, event, message, task_id, article_id)
    SELECT 'info', 'operator', 'task_cancelled', error_message, id, article_id FROM cancelled
)
SELECT count(*) FROM cancelled;

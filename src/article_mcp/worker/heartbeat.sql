-- The worker processes as the database sees them (heartbeat.py): one row each in
-- embedding_worker_status, and their heartbeat, which in one statement also extends the leases
-- of work in flight and writes the audit events and per-batch performance rows gathered since
-- the last beat (bulk inserts, never one per event).

-- name: heartbeat
-- Workers $1 (of host $2, process $3) report states $4, tasks completed $5 and failed $6 since
-- the last beat, and last errors $7 (NULL: unchanged). The leases of the tasks they still work
-- on ($8, owners $9) are extended to $10 ms from now; a task locked right now is being
-- completed or settled and is left alone. Audit events $11 and performance rows $12 (JSON
-- arrays of objects) are written, and the rows' tokens added to the hourly totals per model
-- and source (in key order, so two processes' beats cannot deadlock; a model deleted
-- meanwhile is skipped). The provider's state ($13: unreachable since, NULL when it answers;
-- $14: the error) and the token budget's hold ($15: until when, NULL: none) go on every row of
-- the process. A row lost meanwhile (cleared, or marked stopped by a reaper during an outage)
-- comes back. Returns the pause switch.
WITH beat AS (
    INSERT INTO embedding_worker_status AS w
        (worker_id, hostname, pid, state, tasks_completed, tasks_failed, last_error, stopped_at,
         provider_unreachable_since, provider_error, token_budget_resets_at)
    SELECT id, $2, $3, state, done, failed, error, CASE WHEN state = 'stopped' THEN now() END,
           $13::timestamptz, $14::text, $15::timestamptz
    FROM unnest($1::text[], $4::text[], $5::bigint[], $6::bigint[], $7::text[])
        AS x(id, state, done, failed, error)
    ON CONFLICT (worker_id) DO UPDATE
    SET state = EXCLUDED.state,
        heartbeat_at = now(),
        stopped_at = EXCLUDED.stopped_at,
        tasks_completed = w.tasks_completed + EXCLUDED.tasks_completed,
        tasks_failed = w.tasks_failed + EXCLUDED.tasks_failed,
        last_error = COALESCE(EXCLUDED.last_error, w.last_error),
        provider_unreachable_since = EXCLUDED.provider_unreachable_since,
        provider_error = EXCLUDED.provider_error,
        token_budget_resets_at = EXCLUDED.token_budget_resets_at
), held AS (
    SELECT t.id
    FROM unnest($8::bigint[], $9::text[]) AS l(id, owner)
    JOIN embedding_tasks t ON t.id = l.id
    WHERE t.id = ANY($8::bigint[]) AND t.status = 'processing' AND t.lease_owner = l.owner
    FOR UPDATE OF t SKIP LOCKED
), extended AS (
    UPDATE embedding_tasks t
    SET lease_expires_at = now() + $10 * interval '1 millisecond'
    FROM held h
    WHERE t.id = h.id
), events AS (
    INSERT INTO embedding_audit_logs ("timestamp", level, category, event, message, worker_id, metadata)
    SELECT e."timestamp", e.level, 'worker', e.event, e.message, e.worker_id, COALESCE(e.metadata, '{}')
    FROM jsonb_to_recordset($11::jsonb) AS e(
        "timestamp" timestamptz, level text, event text, message text, worker_id text, metadata jsonb)
), metrics AS (
    INSERT INTO performance_metrics
        (recorded_at, worker_id, model_id, tasks, chunks, embedded, tokens, failures, embed_ms, write_ms,
         total_ms, token_source)
    SELECT m.recorded_at, m.worker_id, m.model_id, m.tasks, m.chunks, m.embedded, m.tokens, m.failures,
           m.embed_ms, m.write_ms, m.total_ms, m.usage_source
    FROM jsonb_to_recordset($12::jsonb) AS m(
        recorded_at timestamptz, worker_id text, model_id integer, tasks integer, chunks integer,
        embedded integer, tokens integer, failures integer, embed_ms double precision,
        write_ms double precision, total_ms double precision, usage_source text)
), usage AS (
    INSERT INTO embedding_token_usage AS u (hour, model_id, token_source, tokens, batches)
    SELECT date_trunc('hour', m.recorded_at, 'UTC'), m.model_id, m.usage_source, sum(m.tokens), count(*)
    FROM jsonb_to_recordset($12::jsonb) AS m(recorded_at timestamptz, model_id integer, tokens integer,
                                             usage_source text)
    JOIN embedding_models em ON em.id = m.model_id
    WHERE m.usage_source IS NOT NULL
    GROUP BY 1, 2, 3
    ORDER BY 1, 2, 3
    ON CONFLICT (hour, model_id, token_source) DO UPDATE
    SET tokens = u.tokens + EXCLUDED.tokens, batches = u.batches + EXCLUDED.batches
)
SELECT paused FROM embedding_queue_control;

-- name: mark_dead_workers
-- Workers silent for $1 ms are marked stopped, so a crash never leaves one "running" forever.
WITH dead AS (
    UPDATE embedding_worker_status
    SET state = 'stopped', stopped_at = now(), last_error = 'no heartbeat: the worker stopped responding'
    WHERE state <> 'stopped' AND heartbeat_at < now() - $1 * interval '1 millisecond'
    RETURNING worker_id
), audit AS (
    INSERT INTO embedding_audit_logs (level, category, event, message, worker_id)
    SELECT 'warning', 'worker', 'worker_lost', 'no heartbeat: marked stopped', worker_id FROM dead
)
SELECT count(*) FROM dead;

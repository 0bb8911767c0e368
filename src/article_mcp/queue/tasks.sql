-- The embedding queue's state changes (tasks.py). Each is one statement, so its correctness is
-- the database's: a task moves pending -> processing (claim) -> completed / pending / failed /
-- cancelled (complete, settle, reap, cancel) under row locks, never half-way.
-- Lifecycle audit rows are written by the statement that changes the tasks, one INSERT each:
-- a row per task for the rare events (retry, failure, cancel), one row per batch listing its
-- tasks (task_ids) for completions.

-- name: enqueue
-- Queue an embedding of articles $1 (no_rag ones skipped) with model $2 (every model writes
-- embed for, live_embedding_models, when NULL) at priority $3, with $4 attempts, created by $5.
-- An article that already has a pending task for the model merges into it: the higher
-- priority, the newer version and the earlier schedule win, attempts start over when the
-- version grew, and a write's source wins over a backfill's (so a backfill rollback never
-- cancels a write). Wakes the workers (NOTIFY at commit). Returns the task ids by article, the
-- active model's task first.
WITH wanted AS (
    SELECT a.id, a.version
    FROM articles a
    WHERE a.id = ANY($1::bigint[]) AND NOT a.no_rag
    ORDER BY a.id
), models AS (
    SELECT m.id, m.state = 'active' AS active
    FROM embedding_models m
    WHERE m.id = $2::integer OR ($2::integer IS NULL AND m.id IN (SELECT id FROM live_embedding_models))
), upserted AS (
    INSERT INTO embedding_tasks AS t (article_id, model_id, article_version, priority, max_attempts, source)
    SELECT w.id, m.id, w.version, $3::task_priority, $4, $5
    FROM wanted w CROSS JOIN models m
    ORDER BY w.id, m.id
    ON CONFLICT (article_id, model_id) WHERE status = 'pending' DO UPDATE
    SET priority = LEAST(t.priority, EXCLUDED.priority),
        article_version = GREATEST(t.article_version, EXCLUDED.article_version),
        scheduled_at = LEAST(t.scheduled_at, EXCLUDED.scheduled_at),
        attempts = CASE WHEN EXCLUDED.article_version > t.article_version THEN 0 ELSE t.attempts END,
        max_attempts = GREATEST(t.max_attempts, EXCLUDED.max_attempts),
        source = CASE WHEN EXCLUDED.source = 'write' THEN EXCLUDED.source ELSE t.source END,
        error_kind = NULL,
        error_message = NULL,
        updated_at = now()
    RETURNING t.id, t.article_id, t.model_id
)
SELECT u.id
FROM upserted u
JOIN models m ON m.id = u.model_id
CROSS JOIN (SELECT pg_notify('embedding_tasks', coalesce($2::text, ''))) AS wake
ORDER BY u.article_id, m.active DESC, u.model_id;

-- name: notify_workers
-- Wake every worker now (after tasks were requeued or the queue resumed).
SELECT pg_notify('embedding_tasks', '');

-- name: cancel_for_articles
-- Cancel the pending and processing tasks of articles $1 with reason $2; a worker holding one
-- finds its lease gone and drops its result. Returns how many were cancelled.
WITH cancelled AS (
    UPDATE embedding_tasks t
    SET status = 'cancelled', lease_owner = NULL, lease_expires_at = NULL, error_kind = 'cancelled',
        error_message = $2, completed_at = now(), updated_at = now()
    WHERE t.article_id = ANY($1::bigint[]) AND t.status IN ('pending', 'processing')
    RETURNING t.id, t.article_id
), audit AS (
    INSERT INTO embedding_audit_logs (level, category, event, message, task_id, article_id)
    SELECT 'info', 'task', 'task_cancelled', $2, id, article_id FROM cancelled
)
SELECT count(*) FROM cancelled;

-- name: finish_and_claim
-- A worker's step: finish the batch it holds, claim the next, or both. Per batch a worker
-- sends two runs of it together, one to finish and one to claim (queue.finish_and_claim): one
-- round trip and one commit, and the claim's snapshot is taken after the finish.
-- Finish: store the vectors of model $2 ($5 text hashes, $6 vectors) whose text a current
-- chunk still has (a text dropped meanwhile is not stored), and complete the tasks $3 (tokens
-- used $4) that worker $1 still holds; a task it lost (lease expired, cancelled) is left alone.
-- The completions are audited in one row, `tasks_completed`, with their ids and tokens.
-- Claim: up to $7 due pending tasks of model $2 (only ids $9 unless NULL) in the worker's
-- partition (priorities $10; articles in folder $11 or below it, unless NULL), most urgent
-- first then earliest scheduled, skipping articles another worker is embedding (one worker per
-- article at a time) and claiming nothing while the queue is paused; each gets a lease of $8 ms
-- and its attempt counted, and comes with the current chunks that have no vector for the model
-- yet and its article's title, or NULL when there are none (no_rag articles have no chunks).
-- Returns the vectors stored, the tasks completed, the tasks claimed (a JSON array), and the
-- notifications announcing the completions on articles_embedded (see `announced`).
WITH stored AS (
    INSERT INTO chunk_embeddings (model_id, text_hash, embedding)
    SELECT $2, v.text_hash, v.embedding
    FROM unnest($5::text[], $6::vector[]) AS v(text_hash, embedding)
    WHERE EXISTS (SELECT 1 FROM article_chunks k WHERE k.text_hash = v.text_hash)
    -- In hash order: two workers storing the same texts wait for each other in one order,
    -- never in a cycle.
    ORDER BY v.text_hash
    ON CONFLICT (model_id, text_hash) DO NOTHING
    RETURNING text_hash
), done AS (
    UPDATE embedding_tasks t
    SET status = 'completed', lease_owner = NULL, lease_expires_at = NULL, completed_at = now(),
        updated_at = now(), tokens_used = t.tokens_used + d.tokens, error_kind = NULL, error_message = NULL
    FROM unnest($3::bigint[], $4::integer[]) AS d(id, tokens)
    WHERE t.id = d.id AND t.id = ANY($3::bigint[]) AND t.status = 'processing' AND t.lease_owner = $1
    RETURNING t.id, t.article_id, d.tokens
), announced AS (
    -- Servers listening on articles_embedded learn at commit which articles had tasks
    -- completed ('<model id>:<article id>,...') and tell the clients subscribed to those that
    -- are now ready. In parts of 300 ids, since a payload holds under 8000 bytes.
    SELECT pg_notify('articles_embedded', $2::text || ':' || string_agg(n.article_id::text, ','))
    FROM (SELECT article_id, row_number() OVER () / 300 AS part FROM done WHERE article_id IS NOT NULL) n
    GROUP BY n.part
), audit AS (
    INSERT INTO embedding_audit_logs (level, category, event, message, worker_id, task_ids, metadata)
    SELECT 'info', 'task', 'tasks_completed', count(*) || ' tasks embedded', $1, array_agg(id ORDER BY id),
           jsonb_build_object('tasks', count(*), 'tokens', sum(tokens))
    FROM done
    HAVING count(*) > 0
), candidates AS (
    SELECT t.id
    FROM embedding_tasks t
    WHERE t.status = 'pending'
      AND t.model_id = $2
      AND t.scheduled_at <= now()
      AND ($9::bigint[] IS NULL OR t.id = ANY($9::bigint[]))
      -- Every priority for an unpartitioned worker: an index condition either way.
      AND t.priority = ANY($10::task_priority[])
      AND ($11::text IS NULL OR EXISTS (
          SELECT 1 FROM articles a
          WHERE a.id = t.article_id AND (a.folder = $11 OR starts_with(a.folder, $11 || '/'))
          OFFSET 0
      ))
      AND NOT EXISTS (
          -- OFFSET 0 keeps this a probe per candidate: as an anti-join, the planner would read
          -- every task in processing and compare each candidate with all of them.
          SELECT 1 FROM embedding_tasks busy
          WHERE busy.article_id = t.article_id AND busy.model_id = t.model_id AND busy.status = 'processing'
          OFFSET 0
      )
      AND NOT (SELECT paused FROM embedding_queue_control)
    ORDER BY t.priority, t.scheduled_at, t.id
    LIMIT $7
    FOR UPDATE OF t SKIP LOCKED
), claimed AS (
    UPDATE embedding_tasks t
    SET status = 'processing', lease_owner = $1, lease_expires_at = now() + $8 * interval '1 millisecond',
        attempts = t.attempts + 1, started_at = now(), updated_at = now()
    WHERE t.id = ANY(ARRAY(SELECT id FROM candidates))
    RETURNING t.id, t.article_id, t.attempts, t.max_attempts
), work AS (
    -- [title, chunks] of each claimed article with a chunk that has no vector for the model:
    -- one index scan for all the claimed articles, a probe per chunk (OFFSET 0 keeps it one,
    -- not a scan of the model's vectors), the title read only for these articles.
    SELECT k.article_id,
           jsonb_build_array(
               (SELECT a.title FROM articles a WHERE a.id = k.article_id),
               jsonb_agg(
                   jsonb_build_array(k.heading_path, k.content, k.text_hash, k.token_count)
                   ORDER BY k.chunk_index
               )
           ) AS work
    FROM article_chunks k
    WHERE k.article_id = ANY(ARRAY(SELECT article_id FROM claimed))
      AND NOT EXISTS (
          SELECT 1 FROM chunk_embeddings e WHERE e.model_id = $2 AND e.text_hash = k.text_hash OFFSET 0
      )
    GROUP BY k.article_id
)
-- Evaluated in this order, so a run that does both finishes before it claims: a claim that
-- passes a task another worker has just claimed locks it (SKIP LOCKED locks the newest version
-- before finding it no longer pending), and that worker's completion waits for the lock; it
-- holds no new claims while it waits, so no two workers ever wait on each other.
SELECT (SELECT count(*) FROM stored) AS stored,
       (SELECT count(*) FROM done) AS completed,
       (SELECT jsonb_agg(
                   jsonb_build_array(c.id, c.article_id, c.attempts, c.max_attempts, w.work) ORDER BY c.id
               )
        FROM claimed c
        LEFT JOIN work w ON w.article_id = c.article_id) AS claimed,
       (SELECT count(*) FROM announced) AS announcements;

-- name: reuse_plans
-- For a connection a worker holds for a run of batches: plan finish_and_claim once and reuse
-- the plan. Left alone, the server plans it again at every execution (its custom plans look
-- cheaper than the generic one), which costs about a third of the statement. The generic plan
-- has the same shape (the claim index, a probe per candidate, index lookups per claimed row;
-- queue tests check it) but for a claim of given ids (embed_now), which never runs on such a
-- connection. Its estimated cost grows with the queue (the claim's LIMIT is a parameter), so
-- JIT is turned off too: compiling at every execution would cost more than the statement.
-- The pool's reset (RESET ALL) undoes both when the connection goes back.
SELECT set_config('plan_cache_mode', 'force_generic_plan', false), set_config('jit', 'off', false);

-- name: settle_tasks
-- Tasks $1 held by owners $2 leave processing without completing, for reason $3:
-- 'transient' and 'expired' (a dead worker's lease) retry after $4 ms each, or fail once their
-- attempts are spent; 'rate_limited', 'unreachable' (the provider is down: the circuit is open)
-- and 'released' (shutdown) retry after $4 ms without counting the attempt; 'permanent' fails
-- at once. A task to retry whose article already has a
-- pending task is merged into it (cancelled, its priority kept) instead. Error kind $5 and
-- message $6 are kept on the task. A task locked by another statement right now (a reaper, a
-- delete) is skipped: its lease runs out and the reaper settles it. Returns each task with its
-- outcome.
WITH mine AS (
    SELECT t.id, t.article_id, t.model_id, t.priority, t.attempts, t.max_attempts, s.owner, s.delay_ms
    FROM unnest($1::bigint[], $2::text[], $4::double precision[]) AS s(id, owner, delay_ms)
    JOIN embedding_tasks t ON t.id = s.id
    WHERE t.id = ANY($1::bigint[])
      AND t.status = 'processing'
      AND t.lease_owner = s.owner
      AND ($3 <> 'expired' OR t.lease_expires_at < now())
    ORDER BY t.id
    FOR UPDATE OF t SKIP LOCKED
), decided AS (
    SELECT m.*,
           CASE
               WHEN $3 = 'permanent' THEN 'failed'
               WHEN $3 IN ('transient', 'expired') AND m.attempts >= m.max_attempts THEN 'failed'
               WHEN m.article_id IS NULL THEN 'cancelled'
               WHEN EXISTS (
                   SELECT 1 FROM embedding_tasks p
                   WHERE p.article_id = m.article_id AND p.model_id = m.model_id AND p.status = 'pending'
               ) THEN 'merged'
               ELSE 'retry'
           END AS outcome
    FROM mine m
), merged AS (
    UPDATE embedding_tasks p
    SET priority = LEAST(p.priority, d.priority), updated_at = now()
    FROM decided d
    WHERE d.outcome = 'merged' AND p.article_id = d.article_id AND p.model_id = d.model_id
      AND p.status = 'pending'
), settled AS (
    UPDATE embedding_tasks t
    SET status = (CASE d.outcome WHEN 'retry' THEN 'pending' WHEN 'failed' THEN 'failed' ELSE 'cancelled' END)::task_status,
        lease_owner = NULL,
        lease_expires_at = NULL,
        attempts = t.attempts - CASE WHEN $3 IN ('rate_limited', 'unreachable', 'released') THEN 1 ELSE 0 END,
        scheduled_at = CASE WHEN d.outcome = 'retry' THEN now() + d.delay_ms * interval '1 millisecond'
                            ELSE t.scheduled_at END,
        completed_at = CASE WHEN d.outcome = 'retry' THEN NULL ELSE now() END,
        error_kind = CASE WHEN d.outcome IN ('merged', 'cancelled') THEN 'cancelled' ELSE $5 END,
        error_message = CASE d.outcome
                            WHEN 'merged' THEN 'merged into the pending task of its article: ' || COALESCE($6, $3)
                            WHEN 'cancelled' THEN 'article deleted'
                            ELSE $6 END,
        updated_at = now()
    FROM decided d
    WHERE t.id = d.id
    RETURNING t.id, t.article_id, t.attempts, t.scheduled_at, d.owner, d.outcome
), audit AS (
    INSERT INTO embedding_audit_logs (level, category, event, message, task_id, article_id, worker_id, metadata)
    SELECT CASE WHEN outcome = 'failed' THEN 'error' WHEN $3 = 'released' THEN 'info' ELSE 'warning' END,
           'task',
           CASE WHEN outcome <> 'retry' THEN 'task_' || outcome
                WHEN $3 = 'transient' THEN 'task_retry_scheduled'
                WHEN $3 = 'expired' THEN 'task_lease_expired'
                ELSE 'task_' || $3 END,
           COALESCE($6, $3),
           id, article_id, owner,
           jsonb_build_object('attempt', attempts, 'retry_at', CASE WHEN outcome = 'retry' THEN scheduled_at END)
    FROM settled
)
SELECT id, outcome FROM settled ORDER BY id;

-- name: release_held
-- The provider of model $1 answers again: the pending tasks held back for it (given back while
-- it was unreachable or rate limiting) are due now, and the workers are woken. Returns how many.
WITH due AS (
    UPDATE embedding_tasks
    SET scheduled_at = now(), updated_at = now()
    WHERE status = 'pending' AND model_id = $1 AND scheduled_at > now()
      AND error_kind IN ('unreachable', 'rate_limited')
    RETURNING id
)
SELECT count(*) FROM due CROSS JOIN (SELECT pg_notify('embedding_tasks', $1::text)) AS wake;

-- name: expired_leases
-- Up to $1 processing tasks whose lease has run out (their worker died or hung), with owners.
SELECT id, lease_owner
FROM embedding_tasks
WHERE status = 'processing' AND lease_expires_at < now()
ORDER BY lease_expires_at
LIMIT $1;

-- name: embedding_statuses
-- The embedding status of articles $1 for model $2, computed from what is stored (never from
-- task history alone): disabled (no_rag), ready (every current chunk has a vector; no chunks
-- counts as ready), pending (a live task), failed (latest task failed), stale (some chunks
-- embedded), missing (none). With the latest task's id.
SELECT a.id AS article_id,
       CASE
           WHEN a.no_rag THEN 'disabled'
           WHEN NOT EXISTS (
               SELECT 1 FROM article_chunks k
               WHERE k.article_id = a.id
                 AND NOT EXISTS (
                     SELECT 1 FROM chunk_embeddings e WHERE e.model_id = $2 AND e.text_hash = k.text_hash
                 )
           ) THEN 'ready'
           WHEN EXISTS (
               SELECT 1 FROM embedding_tasks t
               WHERE t.article_id = a.id AND t.model_id = $2 AND t.status IN ('pending', 'processing')
           ) THEN 'pending'
           WHEN latest.status = 'failed' THEN 'failed'
           WHEN EXISTS (
               SELECT 1 FROM article_chunks k
               JOIN chunk_embeddings e ON e.model_id = $2 AND e.text_hash = k.text_hash
               WHERE k.article_id = a.id
           ) THEN 'stale'
           ELSE 'missing'
       END AS status,
       latest.id AS task_id
FROM articles a
LEFT JOIN LATERAL (
    SELECT t.id, t.status FROM embedding_tasks t
    WHERE t.article_id = a.id AND t.model_id = $2
    ORDER BY t.id DESC
    LIMIT 1
) latest ON true
WHERE a.id = ANY($1::bigint[]);

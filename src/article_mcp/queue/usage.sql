-- Tokens the workers used, from the hourly totals the heartbeat keeps in
-- embedding_token_usage (queue/usage.py): the daily budget's figure and the reports' per model.
-- Hours are UTC hours; "today" is the UTC day.

-- name: tokens_between
-- Tokens of every model in the hours from $1 up to, not including, $2.
SELECT coalesce(sum(tokens), 0)::bigint
FROM embedding_token_usage
WHERE hour >= $1 AND hour < $2;

-- name: model_tokens
-- Per model and token source: tokens this hour, today and in the last 24 hours, with the
-- price recorded for the model. Only models with tokens in that time.
WITH bounds AS (
    SELECT date_trunc('hour', now(), 'UTC') AS this_hour,
           date_trunc('day', now(), 'UTC') AS today,
           date_trunc('hour', now(), 'UTC') - interval '23 hours' AS day_ago
)
SELECT m.id AS model_id, m.provider || '/' || m.name AS model,
       m.price_per_million_tokens::float8 AS price_per_million_tokens, u.token_source,
       coalesce(sum(u.tokens) FILTER (WHERE u.hour >= b.this_hour), 0)::bigint AS this_hour,
       coalesce(sum(u.tokens) FILTER (WHERE u.hour >= b.today), 0)::bigint AS today,
       coalesce(sum(u.tokens) FILTER (WHERE u.hour >= b.day_ago), 0)::bigint AS last_24_hours
FROM embedding_token_usage u
CROSS JOIN bounds b
JOIN embedding_models m ON m.id = u.model_id
WHERE u.hour >= least(b.today, b.day_ago)
GROUP BY m.id, u.token_source
ORDER BY m.id, u.token_source;

-- name: budget_hold
-- Until when a live worker (heartbeat within $1 ms) holds the queue for the daily token budget.
SELECT max(token_budget_resets_at)
FROM embedding_worker_status
WHERE state <> 'stopped' AND heartbeat_at >= now() - $1 * interval '1 millisecond';

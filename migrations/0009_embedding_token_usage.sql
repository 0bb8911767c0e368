-- Instruction prefixes as part of a model's identity, a price per model, the tokens each
-- batch used (and how they are known), hourly totals per model for reports and the daily
-- budget, and the budget's hold as the workers report it.

-- migrate:up

-- A model is what its vectors depend on: the provider, the name, and the instructions put
-- before queries and passages. Another prefix is another model (its vectors kept apart).
ALTER TABLE embedding_models
    ADD COLUMN query_prefix text NOT NULL DEFAULT '',
    ADD COLUMN document_prefix text NOT NULL DEFAULT '',
    -- EMBEDDING_PRICE_PER_MILLION_TOKENS as last configured for this model (NULL: unknown).
    ADD COLUMN price_per_million_tokens numeric CHECK (price_per_million_tokens >= 0);
ALTER TABLE embedding_models DROP CONSTRAINT embedding_models_provider_name_key;
ALTER TABLE embedding_models
    ADD CONSTRAINT embedding_models_identity_key UNIQUE (provider, name, query_prefix, document_prefix);

-- reported: the provider's usage; counted: the model's own tokenizer here; estimated: the
-- model-independent estimate, for a server that reports none. NULL: rows from before.
ALTER TABLE performance_metrics
    ADD COLUMN token_source text CHECK (token_source IN ('reported', 'counted', 'estimated'));

-- Tokens per hour, model and source, added up by the heartbeat from the batches it writes: a
-- day's total is at most 24 rows per model, cheap for the budget and the reports.
CREATE TABLE embedding_token_usage (
    hour         timestamptz NOT NULL,
    model_id     integer NOT NULL REFERENCES embedding_models (id) ON DELETE CASCADE,
    token_source text NOT NULL CHECK (token_source IN ('reported', 'counted', 'estimated')),
    tokens       bigint NOT NULL CHECK (tokens >= 0),
    batches      bigint NOT NULL CHECK (batches >= 0),
    PRIMARY KEY (hour, model_id, token_source)
);

-- While the day's tokens have reached EMBEDDING_DAILY_TOKEN_BUDGET, a worker says until when
-- (the next midnight UTC) at each heartbeat, so `queue health` anywhere can tell.
ALTER TABLE embedding_worker_status ADD COLUMN token_budget_resets_at timestamptz;

-- migrate:down

ALTER TABLE embedding_worker_status DROP COLUMN token_budget_resets_at;
DROP TABLE embedding_token_usage;
ALTER TABLE performance_metrics DROP COLUMN token_source;
-- Rows that differ only by prefix cannot share the old key: keep the oldest of each name.
DELETE FROM embedding_models m
WHERE EXISTS (
    SELECT 1 FROM embedding_models o
    WHERE o.provider = m.provider AND o.name = m.name AND o.id < m.id
);
ALTER TABLE embedding_models DROP CONSTRAINT embedding_models_identity_key;
ALTER TABLE embedding_models ADD CONSTRAINT embedding_models_provider_name_key UNIQUE (provider, name);
ALTER TABLE embedding_models
    DROP COLUMN query_prefix,
    DROP COLUMN document_prefix,
    DROP COLUMN price_per_million_tokens;

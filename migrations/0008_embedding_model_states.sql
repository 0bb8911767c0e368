-- Blue/green re-embedding (embeddings/lifecycle.py): each model is `building`, `active` or
-- `retired`, exactly one active; each row keeps what rebuilds its provider (provider, model,
-- base URL; never an API key).

-- migrate:up

ALTER TABLE embedding_models DROP CONSTRAINT embedding_models_state_check;
ALTER TABLE embedding_models ADD CONSTRAINT embedding_models_state_check
    CHECK (state IN ('building', 'active', 'retired'));
ALTER TABLE embedding_models ALTER COLUMN state SET DEFAULT 'building';
ALTER TABLE embedding_models
    ADD COLUMN base_url text,
    ADD COLUMN activated_at timestamptz,
    ADD COLUMN retired_at timestamptz,
    -- Until then a retired model stays current (writes still embed for it): the grace period
    -- (EMBEDDING_RETIRED_GRACE_HOURS) in which a rollback is instant and prune is refused.
    ADD COLUMN keep_warm_until timestamptz,
    ADD CONSTRAINT embedding_models_retired_at_check CHECK ((state = 'retired') = (retired_at IS NOT NULL));

-- Until now every model row said 'active' and search used the one the settings named. The
-- current one is the model that embedded or was queued last (the settings are not readable
-- here); every other becomes retired, its vectors kept, so `embeddings activate` brings it back.
WITH latest AS (
    SELECT m.id
    FROM embedding_models m
    ORDER BY greatest(
                 (SELECT max(e.created_at) FROM chunk_embeddings e WHERE e.model_id = m.id),
                 (SELECT max(t.created_at) FROM embedding_tasks t WHERE t.model_id = m.id)
             ) DESC NULLS LAST,
             m.id DESC
    LIMIT 1
)
UPDATE embedding_models
SET state = CASE WHEN id IN (SELECT id FROM latest) THEN 'active' ELSE 'retired' END,
    activated_at = CASE WHEN id IN (SELECT id FROM latest) THEN now() END,
    -- those retired here were left long ago: no grace, so writes do not start embedding for them
    retired_at = CASE WHEN id IN (SELECT id FROM latest) THEN NULL ELSE created_at END;

-- Exactly one active model: a second activation fails instead of mixing two in search.
CREATE UNIQUE INDEX embedding_models_one_active_idx ON embedding_models ((true)) WHERE state = 'active';

-- The models writes embed for: the active one, those building, and those retired within their
-- grace period. The one definition, for the queue's enqueue and the registry alike.
CREATE VIEW live_embedding_models AS
SELECT id FROM embedding_models
WHERE state IN ('active', 'building') OR (state = 'retired' AND keep_warm_until > now());

-- migrate:down

DROP VIEW live_embedding_models;
DROP INDEX embedding_models_one_active_idx;
ALTER TABLE embedding_models
    DROP CONSTRAINT embedding_models_retired_at_check,
    DROP COLUMN base_url,
    DROP COLUMN activated_at,
    DROP COLUMN retired_at,
    DROP COLUMN keep_warm_until;
UPDATE embedding_models SET state = 'retired' WHERE state = 'building';
ALTER TABLE embedding_models ALTER COLUMN state SET DEFAULT 'active';
ALTER TABLE embedding_models DROP CONSTRAINT embedding_models_state_check;
ALTER TABLE embedding_models ADD CONSTRAINT embedding_models_state_check
    CHECK (state IN ('active', 'retired'));

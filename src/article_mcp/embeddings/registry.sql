-- name: lock_states
-- Serialise registrations and state changes of models, until commit: one active model at a time.
SELECT pg_advisory_xact_lock(hashtext('article_mcp.embedding_model_states'));

-- name: ensure_model
-- The model of identity ($1 provider, $2 name, $3 query prefix, $4 document prefix),
-- registered if new: active when no model is, else building. Base URL $5, when not NULL, is
-- recorded as where its provider is now; price per million tokens $6, when not NULL, as its price.
WITH inserted AS (
    INSERT INTO embedding_models
        (provider, name, query_prefix, document_prefix, base_url, price_per_million_tokens, state, activated_at)
    SELECT $1, $2, $3, $4, $5, $6, s.state, CASE WHEN s.state = 'active' THEN now() END
    FROM (
        SELECT CASE WHEN EXISTS (SELECT 1 FROM embedding_models WHERE state = 'active')
                    THEN 'building' ELSE 'active' END AS state
    ) AS s
    ON CONFLICT (provider, name, query_prefix, document_prefix) DO NOTHING
    RETURNING *
), moved AS (
    UPDATE embedding_models
    SET base_url = coalesce($5, base_url),
        price_per_million_tokens = coalesce($6, price_per_million_tokens)
    WHERE provider = $1 AND name = $2 AND query_prefix = $3 AND document_prefix = $4
      AND (($5::text IS NOT NULL AND base_url IS DISTINCT FROM $5)
           OR ($6::numeric IS NOT NULL AND price_per_million_tokens IS DISTINCT FROM $6))
    RETURNING *
)
SELECT id, provider, name, dimensions, state, base_url, query_prefix, document_prefix, price_per_million_tokens
FROM inserted
UNION ALL
SELECT id, provider, name, dimensions, state, base_url, query_prefix, document_prefix, price_per_million_tokens
FROM moved
UNION ALL
SELECT id, provider, name, dimensions, state, base_url, query_prefix, document_prefix, price_per_million_tokens
FROM embedding_models
WHERE provider = $1 AND name = $2 AND query_prefix = $3 AND document_prefix = $4
  AND NOT EXISTS (SELECT 1 FROM moved)
LIMIT 1;

-- name: active_model
-- The active model.
SELECT id, provider, name, dimensions, state, base_url, query_prefix, document_prefix, price_per_million_tokens
FROM embedding_models WHERE state = 'active';

-- name: live_models
-- The models writes embed for (the view live_embedding_models), the active one first.
SELECT m.id, m.provider, m.name, m.dimensions, m.state, m.base_url, m.query_prefix, m.document_prefix,
       m.price_per_million_tokens
FROM embedding_models m JOIN live_embedding_models l ON l.id = m.id
ORDER BY m.state = 'active' DESC, m.id;

-- name: all_models
-- Every registered model.
SELECT id, provider, name, dimensions, state, base_url, query_prefix, document_prefix, price_per_million_tokens
FROM embedding_models ORDER BY id;

-- name: lock_model
-- Serialise the recording of model $1's dimension and the building of its index, until commit.
SELECT pg_advisory_xact_lock(hashtext('article_mcp.embedding_model'), $1);

-- name: recorded_dimensions
-- The dimension recorded for model $1 (NULL until learned).
SELECT dimensions FROM embedding_models WHERE id = $1;

-- name: set_dimensions
-- Record dimension $2 for model $1.
UPDATE embedding_models SET dimensions = $2 WHERE id = $1 AND dimensions IS NULL;

-- name: index_exists
-- Whether the relation named $1 exists in the current schema.
SELECT to_regclass($1) IS NOT NULL;

-- name: create_hnsw_index
-- The model's partial HNSW index over its vectors cast to half precision at its dimension:
-- the same recall@10 as full precision, about half the size and faster (BENCHMARKS.md, "HNSW
-- build parameters"; migration 0012). DDL takes no parameters: {index}, {model_id}, {dims},
-- {m} and {ef_construction} are put in by registry.py, each an integer it has checked (the
-- name is built from the model id).
CREATE INDEX IF NOT EXISTS {index} ON chunk_embeddings
USING hnsw ((embedding::halfvec({dims})) halfvec_cosine_ops)
WITH (m = {m}, ef_construction = {ef_construction})
WHERE model_id = {model_id};

-- name: ensure_model
-- The model $2 of provider $1, registered if new.
WITH inserted AS (
    INSERT INTO embedding_models (provider, name) VALUES ($1, $2)
    ON CONFLICT (provider, name) DO NOTHING
    RETURNING id, provider, name, dimensions
)
SELECT id, provider, name, dimensions FROM inserted
UNION ALL
SELECT id, provider, name, dimensions FROM embedding_models WHERE provider = $1 AND name = $2
LIMIT 1;

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
-- The model's partial HNSW index over its vectors cast to its dimension. DDL takes no
-- parameters: {index}, {model_id}, {dims}, {m} and {ef_construction} are put in by registry.py,
-- each an integer it has checked (the name is built from the model id).
CREATE INDEX IF NOT EXISTS {index} ON chunk_embeddings
USING hnsw ((embedding::vector({dims})) vector_cosine_ops)
WITH (m = {m}, ef_construction = {ef_construction})
WHERE model_id = {model_id};

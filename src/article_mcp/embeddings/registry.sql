-- name: ensure_model
-- The model $2 of provider $1 with query prefix $3 and document prefix $4, registered if new;
-- its price per million tokens becomes $5 unless that is NULL (the recorded one stays).
WITH inserted AS (
    INSERT INTO embedding_models (provider, name, query_prefix, document_prefix, price_per_million_tokens)
    VALUES ($1, $2, $3, $4, $5)
    ON CONFLICT (provider, name, query_prefix, document_prefix) DO UPDATE
    SET price_per_million_tokens = EXCLUDED.price_per_million_tokens
    WHERE EXCLUDED.price_per_million_tokens IS NOT NULL
      AND embedding_models.price_per_million_tokens IS DISTINCT FROM EXCLUDED.price_per_million_tokens
    RETURNING id, provider, name, dimensions, query_prefix, document_prefix, price_per_million_tokens
)
SELECT * FROM inserted
UNION ALL
SELECT id, provider, name, dimensions, query_prefix, document_prefix, price_per_million_tokens
FROM embedding_models
WHERE provider = $1 AND name = $2 AND query_prefix = $3 AND document_prefix = $4
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

-- Queries of db/verify.py: which of the expected relations and extensions exist.

-- name: existing_relations
-- Which of the tables and indexes named in $1 exist in the current schema.
SELECT c.relname
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = current_schema() AND c.relname = ANY($1::text[]);

-- name: vector_extension_version
-- The installed version of pgvector, NULL when absent.
SELECT extversion FROM pg_extension WHERE extname = 'vector';

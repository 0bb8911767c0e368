-- name: lock
-- Serialise migration runs across processes (released by unlock or at disconnect).
SELECT pg_advisory_lock(hashtext('article_mcp.migrate'));

-- name: unlock
-- Let the next migration run proceed.
SELECT pg_advisory_unlock(hashtext('article_mcp.migrate'));

-- name: create_migrations_table
-- The record of applied migrations.
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    integer PRIMARY KEY,
    name       text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
);

-- name: applied_versions
-- Versions applied so far, oldest first.
SELECT version FROM schema_migrations ORDER BY version;

-- name: record_version
-- Record that migration $1 ($2) is applied.
INSERT INTO schema_migrations (version, name) VALUES ($1, $2);

-- name: forget_version
-- Record that migration $1 is undone.
DELETE FROM schema_migrations WHERE version = $1;

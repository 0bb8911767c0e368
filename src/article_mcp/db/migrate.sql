-- name: lock_session
-- One migration run at a time, released at disconnect (not behind a transaction-mode pooler).
SELECT pg_advisory_lock(hashtext('article_mcp.migrate'));

-- name: lock
-- Serialise migration steps across processes, until the step's transaction ends (a session
-- that holds the session lock takes it at once: advisory locks are re-entrant).
SELECT pg_advisory_xact_lock(hashtext('article_mcp.migrate'));

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

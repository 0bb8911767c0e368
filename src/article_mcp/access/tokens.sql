-- name: insert_key
-- Keep the first HMAC key written ($1); a key another process wrote first wins.
INSERT INTO access_token_key (hmac_key) VALUES ($1) ON CONFLICT (singleton) DO NOTHING;

-- name: select_key
-- The server's HMAC key.
SELECT hmac_key FROM access_token_key;

-- name: insert_token
-- A new token named $1 with scope $2 and hash $3, expiring after the interval $4 (NULL: never).
INSERT INTO access_tokens (name, scope, token_hash, expires_at)
VALUES ($1, $2, $3, now() + $4::interval)
RETURNING name, scope, created_at, last_used_at, expires_at, revoked_at;

-- name: list_tokens
-- Every token, live ones first, by name; never the hash.
SELECT name, scope, created_at, last_used_at, expires_at, revoked_at
FROM access_tokens
ORDER BY revoked_at IS NOT NULL, name, created_at;

-- name: revoke_token
-- Revoke the live token named $1 (no row: there is none).
UPDATE access_tokens SET revoked_at = now()
WHERE name = $1 AND revoked_at IS NULL
RETURNING name, scope, created_at, last_used_at, expires_at, revoked_at;

-- name: find_token
-- The token whose hash is $1, with whether it is revoked or expired; a live token's last use
-- is written in the same statement, at most once a minute (so not on every request).
WITH found AS (
    SELECT id, name, scope, token_hash,
           revoked_at IS NOT NULL AS revoked,
           coalesce(expires_at <= now(), false) AS expired,
           last_used_at IS NULL OR last_used_at < now() - interval '1 minute' AS stale
    FROM access_tokens
    WHERE token_hash = $1
), touched AS (
    UPDATE access_tokens AS t SET last_used_at = now()
    FROM found
    WHERE t.id = found.id AND found.stale AND NOT found.revoked AND NOT found.expired
)
SELECT name, scope, token_hash, revoked, expired FROM found;

-- name: any_live_token
-- Whether any token is neither revoked nor expired.
SELECT EXISTS (
    SELECT FROM access_tokens
    WHERE revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())
);

-- Queries of the public share links (shares.py): the share_links table, and the articles and
-- versions a link shows. A link is live while it is neither revoked nor expired, and its
-- article exists (a deleted article takes its links with it).

-- name: share_target
-- The live article with slug $1, its current version, and whether version $2 of it is kept
-- (true when $2 is NULL).
SELECT a.id, a.slug, a.version,
       $2::int IS NULL OR EXISTS (
           SELECT 1 FROM article_versions v WHERE v.article_id = a.id AND v.version = $2
       ) AS version_kept
FROM articles a
WHERE a.slug = $1;

-- name: insert_share
-- A link for article $1 by token hash $2, pinned to version $3 (NULL: the current one),
-- expiring $4 from now (NULL: never), made by $5.
INSERT INTO share_links (token_hash, article_id, version, expires_at, created_by)
VALUES ($1, $2, $3, now() + $4::interval, $5)
RETURNING id, version, expires_at, created_at, created_by, revoked_at, 'active' AS state;

-- name: list_shares
-- Links of the article with slug $1 (NULL: every article), newest first, at most $3; only
-- live ones unless $2.
SELECT s.id, a.slug, s.version, s.expires_at, s.created_at, s.created_by, s.revoked_at,
       CASE WHEN s.revoked_at IS NOT NULL THEN 'revoked'
            WHEN s.expires_at <= now() THEN 'expired'
            ELSE 'active' END AS state
FROM share_links s
JOIN articles a ON a.id = s.article_id
WHERE ($1::text IS NULL OR a.slug = $1)
  AND ($2::boolean OR (s.revoked_at IS NULL AND (s.expires_at IS NULL OR s.expires_at > now())))
ORDER BY s.created_at DESC, s.id DESC
LIMIT $3;

-- name: revoke_shares
-- Revoke the links not yet revoked of the article with slug $1 (NULL: any) with id $2 (NULL:
-- all of that article's); the ids revoked.
UPDATE share_links s
SET revoked_at = now()
FROM articles a
WHERE a.id = s.article_id
  AND ($1::text IS NULL OR a.slug = $1)
  AND ($2::bigint IS NULL OR s.id = $2)
  AND s.revoked_at IS NULL
RETURNING s.id;

-- name: resolve_share
-- What the live link with token hash $1 shows: its article as it is now, or the pinned
-- version (nothing if that version is no longer kept).
SELECT a.slug,
       COALESCE(v.title, a.title) AS title,
       COALESCE(v.content, a.content) AS content,
       COALESCE(v.version, a.version) AS version
FROM share_links s
JOIN articles a ON a.id = s.article_id
LEFT JOIN article_versions v ON v.article_id = s.article_id AND v.version = s.version
WHERE s.token_hash = $1
  AND s.revoked_at IS NULL
  AND (s.expires_at IS NULL OR s.expires_at > now())
  AND (s.version IS NULL OR v.version IS NOT NULL);

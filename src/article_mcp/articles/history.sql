-- Queries of the version history (history.py): the article_versions table and nothing else.

-- name: record_version
-- Record article $1 as it stands now as version $2 (operation $3, changed fields $4, message
-- $5, author $6, restored from version $7), then drop its versions older than the newest $8
-- ($8 = 0 keeps them all). A deletion records the row before it goes, as version + 1.
WITH recorded AS (
    INSERT INTO article_versions (article_id, version, operation, slug, title, content, folder,
                                  tags, no_rag, content_hash, changed, message, author, restored_from)
    SELECT id, $2, $3, slug, title, content, folder, tags, no_rag, content_hash, $4, $5, $6, $7
    FROM articles
    WHERE id = $1
    RETURNING version
)
DELETE FROM article_versions AS v
USING recorded AS r
WHERE v.article_id = $1 AND $8::int > 0 AND v.version <= r.version - $8::int;

-- name: find_article
-- The articles whose history slug $1 names: the live article with that slug (unless $2, only
-- deleted ones), and the deleted article whose last version (its deletion) had that slug, the
-- most recently deleted; the live one first. With each one's newest version.
(SELECT a.id AS article_id, true AS live, a.version
 FROM articles a
 WHERE a.slug = $1 AND NOT $2::boolean)
UNION ALL
(SELECT v.article_id, false, v.version
 FROM article_versions v
 WHERE v.slug = $1 AND v.operation = 'delete'
   AND NOT EXISTS (SELECT 1 FROM articles a WHERE a.id = v.article_id)
   AND NOT EXISTS (
       SELECT 1 FROM article_versions later
       WHERE later.article_id = v.article_id AND later.version > v.version
   )
 ORDER BY v.created_at DESC, v.article_id DESC
 LIMIT 1)
ORDER BY live DESC;

-- name: list_versions
-- Versions of article $1 below version $2 (NULL: from the newest), newest first, at most $3,
-- without their content.
SELECT version, operation, slug, title, folder, tags, no_rag, content_hash, changed, message,
       author, restored_from, octet_length(content) AS size_bytes, created_at
FROM article_versions
WHERE article_id = $1 AND ($2::int IS NULL OR version < $2)
ORDER BY version DESC
LIMIT $3;

-- name: count_versions
-- How many versions of article $1 are kept.
SELECT count(*) FROM article_versions WHERE article_id = $1;

-- name: get_version
-- Version $2 of article $1 with its content; NULL for $2 means the newest.
SELECT version, operation, slug, title, content, folder, tags, no_rag, content_hash, changed,
       message, author, restored_from, octet_length(content) AS size_bytes, created_at
FROM article_versions
WHERE article_id = $1 AND ($2::int IS NULL OR version = $2)
ORDER BY version DESC
LIMIT 1;

-- name: purge_article
-- Remove every version of article $1; returns how many went.
WITH gone AS (DELETE FROM article_versions WHERE article_id = $1 RETURNING 1)
SELECT count(*) FROM gone;

-- name: prune_history
-- Versions beyond the newest $1 of each article: how many articles have some and how many
-- there are, and how many versions are kept; removed unless $2 (a dry run) is true.
WITH ranked AS (
    SELECT article_id, version,
           row_number() OVER (PARTITION BY article_id ORDER BY version DESC) AS newness
    FROM article_versions
), doomed AS (
    SELECT article_id, version FROM ranked WHERE newness > $1
), gone AS (
    DELETE FROM article_versions AS v
    USING doomed AS d
    WHERE NOT $2::boolean AND v.article_id = d.article_id AND v.version = d.version
)
SELECT (SELECT count(DISTINCT article_id) FROM doomed) AS articles,
       (SELECT count(*) FROM doomed) AS versions,
       (SELECT count(*) FROM ranked WHERE newness <= $1) AS kept;

-- name: stored_versions
-- Every kept version of the articles $1, oldest first, with its content (an export's history).
SELECT article_id, version, operation, title, content, folder, tags, no_rag, message, author,
       created_at
FROM article_versions
WHERE article_id = ANY($1::bigint[])
ORDER BY article_id, version;

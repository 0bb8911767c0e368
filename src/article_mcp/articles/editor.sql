-- Queries of the write steps (editor.py).

-- name: update_article
-- Change article $1: NULL leaves a field as it is. Every update is a new version (the service
-- runs it only when something changes); a new title ($3) or content ($4) recomputes the hash
-- ($8) and search vector (config $9; $10 as in insert_article).
UPDATE articles
SET slug = COALESCE($2, slug),
    title = COALESCE($3, title),
    content = COALESCE($4, content),
    folder = COALESCE($5, folder),
    tags = COALESCE($6, tags),
    no_rag = COALESCE($7, no_rag),
    content_hash = COALESCE($8, content_hash),
    version = version + 1,
    search_tsv = CASE
        WHEN $3::text IS NULL AND $4::text IS NULL THEN search_tsv
        ELSE setweight(to_tsvector($9::regconfig, COALESCE($3, title)), 'A')
             || setweight(to_tsvector($9::regconfig, CASE WHEN $10::int IS NULL THEN COALESCE($4, content)
                                                          ELSE left(COALESCE($4, content), $10) END), 'B')
    END,
    updated_at = now()
WHERE id = $1
RETURNING id, slug, title, folder, tags, no_rag, version, octet_length(content) AS size_bytes,
          created_at, updated_at;

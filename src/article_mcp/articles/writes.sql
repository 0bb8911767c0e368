-- Queries of the steps every article write shares (writes.py): slug allocation and insert.

-- name: taken_slugs
-- Which of the candidate slugs $1 are already used.
SELECT slug FROM articles WHERE slug = ANY($1::text[]);

-- name: insert_article
-- Insert an article ($1 slug, $2 title, $3 content, $4 folder, $5 tags, $6 no_rag,
-- $7 content_hash, $8 text search config, $9 created_at or NULL for now); its title weighs
-- more than its text in search.
-- $10: NULL indexes the whole text, a number only its first $10 characters (see writes.py).
INSERT INTO articles (slug, title, content, folder, tags, no_rag, content_hash, created_at, search_tsv)
VALUES (
    $1, $2, $3, $4, $5, $6, $7, COALESCE($9::timestamptz, now()),
    setweight(to_tsvector($8::regconfig, $2), 'A')
    || setweight(to_tsvector($8::regconfig, CASE WHEN $10::int IS NULL THEN $3 ELSE left($3, $10) END), 'B')
)
RETURNING id, slug, title, folder, tags, no_rag, version, octet_length(content) AS size_bytes,
          created_at, updated_at;

-- name: revive_article
-- Bring deleted article $1 back (its id kept, so its history goes on) under slug $2 as version
-- $3 with title $4, content $5, folder $6, tags $7, no_rag $8, content_hash $9; text search
-- config $10, and $11 as $10 of insert_article.
INSERT INTO articles (id, slug, version, title, content, folder, tags, no_rag, content_hash, search_tsv)
OVERRIDING SYSTEM VALUE
VALUES (
    $1, $2, $3, $4, $5, $6, $7, $8, $9,
    setweight(to_tsvector($10::regconfig, $4), 'A')
    || setweight(to_tsvector($10::regconfig, CASE WHEN $11::int IS NULL THEN $5 ELSE left($5, $11) END), 'B')
)
RETURNING id, slug, title, folder, tags, no_rag, version, octet_length(content) AS size_bytes,
          created_at, updated_at;

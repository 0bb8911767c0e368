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

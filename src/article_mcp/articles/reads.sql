-- Queries of the article service's reads (reads.py). The folder filter of listing and search is
-- `$f = '' OR folder = $f OR folder LIKE $f_prefix`, with $f_prefix the escaped folder + '/%',
-- so a folder includes its subfolders and the prefix can use articles_folder_idx.

-- name: get_article
-- The whole article with slug $1.
SELECT id, slug, title, content, folder, tags, no_rag, version, octet_length(content) AS size_bytes,
       created_at, updated_at
FROM articles
WHERE slug = $1;

-- name: list_articles
-- A page of articles in folder $1 (and its subfolders; $2 the LIKE prefix) carrying every tag
-- of $5 ('{}' for any), newest first.
SELECT id, slug, title, folder, tags, no_rag, version, octet_length(content) AS size_bytes,
       created_at, updated_at
FROM articles
WHERE ($1::text = '' OR folder = $1 OR folder LIKE $2) AND tags @> $5::text[]
ORDER BY updated_at DESC, id DESC
LIMIT $3 OFFSET $4;

-- name: count_articles
-- How many articles folder $1 holds with its subfolders ($2 the LIKE prefix) carrying every
-- tag of $3.
SELECT count(*) FROM articles WHERE ($1::text = '' OR folder = $1 OR folder LIKE $2) AND tags @> $3::text[];

-- name: list_folders
-- Every folder with its direct article count and the count with subfolders; a folder that
-- holds only subfolders is listed too. The root ('') comes first.
WITH direct AS (
    SELECT folder, count(*) AS n FROM articles GROUP BY folder
), paths AS (
    SELECT d.folder, d.n, array_to_string(parts[1:depth], '/') AS path
    FROM direct d
    CROSS JOIN LATERAL string_to_array(d.folder, '/') AS parts
    CROSS JOIN LATERAL generate_series(1, cardinality(parts)) AS depth
    WHERE d.folder <> ''
)
SELECT '' AS folder,
       COALESCE((SELECT n FROM direct WHERE folder = ''), 0) AS articles,
       COALESCE((SELECT sum(n) FROM direct), 0) AS total
UNION ALL
SELECT path, COALESCE(sum(n) FILTER (WHERE folder = path), 0), sum(n)
FROM paths
GROUP BY path
ORDER BY 1;

-- name: search_articles
-- Articles whose title contains $1 (as $3, an escaped ILIKE pattern) or whose text matches
-- it as a web-style query (config $2), in folder $4 (prefix $5), best first, at most $6.
-- Title matches rank first; the snippet comes from the best matching chunk (short), or the
-- start of the article for no_rag articles, which have no chunks.
WITH q AS (
    SELECT websearch_to_tsquery($2::regconfig, $1) AS tsq
), found AS (
    SELECT a.id, a.slug, a.title, a.folder, a.tags, a.no_rag, a.version,
           octet_length(a.content) AS size_bytes, a.created_at, a.updated_at,
           a.title ILIKE $3 AS title_match,
           a.search_tsv @@ q.tsq AS text_match,
           ts_rank_cd(a.search_tsv, q.tsq, 32)
             + CASE WHEN lower(a.title) = lower($1) THEN 2 WHEN a.title ILIKE $3 THEN 1 ELSE 0 END
             AS score
    FROM articles a, q
    WHERE (a.title ILIKE $3 OR a.search_tsv @@ q.tsq)
      AND ($4::text = '' OR a.folder = $4 OR a.folder LIKE $5)
    ORDER BY score DESC, a.updated_at DESC, a.id DESC
    LIMIT $6
)
SELECT f.*,
       ts_headline(
           $2::regconfig,
           COALESCE(best.content, left(a.content, 2000)),
           q.tsq,
           'StartSel=**, StopSel=**, MaxWords=40, MinWords=15, MaxFragments=2, FragmentDelimiter=" … "'
       ) AS snippet
FROM found f
JOIN articles a ON a.id = f.id
CROSS JOIN q
LEFT JOIN LATERAL (
    SELECT c.content
    FROM article_chunks c
    WHERE c.article_id = f.id AND c.tsv @@ q.tsq
    ORDER BY ts_rank_cd(c.tsv, q.tsq) DESC, c.chunk_index
    LIMIT 1
) best ON true
ORDER BY f.score DESC, f.updated_at DESC, f.id DESC;

-- name: articles_by_id
-- The slugs of articles $1 (those that still exist), for the embedding status of each.
SELECT id, slug, no_rag FROM articles WHERE id = ANY($1::bigint[]);

-- name: complete_slugs
-- At most $2 slugs starting with $1, in order, each row with how many start with it in all.
SELECT slug, count(*) OVER () AS total
FROM articles
WHERE starts_with(slug, $1)
ORDER BY slug
LIMIT $2;

-- name: stored_articles
-- The next $4 articles after slug $3 in folder $1 (and its subfolders; $2 the LIKE prefix), by
-- slug, with what an export writes.
SELECT id, slug, title, content, folder, tags, no_rag, created_at
FROM articles
WHERE ($1::text = '' OR folder = $1 OR folder LIKE $2) AND slug > $3
ORDER BY slug
LIMIT $4;

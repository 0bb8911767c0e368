-- Queries of changes.py: what a reader of the passages needs to keep a copy of them current
-- (the in-memory BM25 index). Transaction ids are passed as text: xid8 has no asyncpg codec.

-- name: horizon
-- The xmin of this statement's snapshot: every transaction below it has finished, so a reader
-- that has seen this snapshot need only read changes at or above it afterwards.
SELECT pg_snapshot_xmin(pg_current_snapshot())::text;

-- name: all_passages
-- Every passage, in id order: its article and its BM25 length (lexeme occurrences).
SELECT id, article_id, lexeme_count FROM article_chunks ORDER BY id;

-- name: all_postings
-- Every posting, one row per lexeme, in the primary key's order (a streamed group, no sort).
SELECT lexeme, array_agg(chunk_id) AS chunk_ids, array_agg(tf) AS tfs
FROM chunk_postings
GROUP BY lexeme;

-- name: poll
-- Changes logged by transactions at or above $1 (xid8 as text), and this snapshot's horizon;
-- `trimmed` is the highest xid whose rows were removed: at or above $1, some of the changes
-- the reader needs may be gone.
SELECT s.horizon, t.through::text AS trimmed, c.seqs, c.chunk_ids
FROM (SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS horizon) AS s
CROSS JOIN passage_changes_trimmed AS t
CROSS JOIN LATERAL (
    SELECT coalesce(array_agg(seq ORDER BY seq), '{}') AS seqs,
           coalesce(array_agg(chunk_id ORDER BY seq), '{}') AS chunk_ids
    FROM passage_changes
    WHERE xid >= $1::text::xid8
) AS c;

-- name: passage_states
-- The current state of passages $1: present or not, and if present its article, length and
-- postings (a passage and its postings are written in one statement, so they agree).
SELECT ids.id, c.id IS NOT NULL AS present, c.article_id, c.lexeme_count,
       coalesce(p.lexemes, '{}') AS lexemes, coalesce(p.tfs, '{}') AS tfs
FROM unnest($1::bigint[]) AS ids (id)
LEFT JOIN article_chunks AS c ON c.id = ids.id
LEFT JOIN LATERAL (
    SELECT array_agg(lexeme) AS lexemes, array_agg(tf) AS tfs
    FROM chunk_postings
    WHERE chunk_id = ids.id
) AS p ON c.id IS NOT NULL;

-- name: trim
-- Remove changes logged more than $1 seconds ago, and remember the highest xid removed.
WITH gone AS (
    DELETE FROM passage_changes
    WHERE logged_at < clock_timestamp() - make_interval(secs => $1)
    RETURNING xid
),
highest AS (SELECT max(xid) AS xid, count(*) AS removed FROM gone)
UPDATE passage_changes_trimmed AS t
SET through = greatest(t.through, coalesce(h.xid, t.through))
FROM highest AS h
WHERE h.removed > 0
RETURNING h.removed;

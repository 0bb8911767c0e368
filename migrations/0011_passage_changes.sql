-- A log of the passages each transaction wrote (passages/changes.py), from which every
-- process's in-memory BM25 index (search/bm25_mirror.py) catches up before it answers: a
-- search sees every passage committed before it started, whichever process wrote it.

-- migrate:up

-- One row per passage inserted, rewritten or deleted, with the writing transaction's id. A
-- reader that saw every transaction below some snapshot's xmin reads only rows with xid at or
-- above it; the passage's current state, not the row, says what changed. Rows are trimmed
-- after a while; `passage_changes_trimmed` remembers the highest xid trimmed, so that a
-- reader older than that knows it must load again.
CREATE TABLE passage_changes (
    seq       bigserial PRIMARY KEY,
    xid       xid8 NOT NULL DEFAULT pg_current_xact_id(),
    chunk_id  bigint NOT NULL,
    logged_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX passage_changes_xid_idx ON passage_changes (xid);
CREATE INDEX passage_changes_logged_at_idx ON passage_changes (logged_at);

CREATE TABLE passage_changes_trimmed (
    id      boolean PRIMARY KEY DEFAULT true CHECK (id),
    through xid8 NOT NULL DEFAULT '0'
);
INSERT INTO passage_changes_trimmed DEFAULT VALUES;

-- Statement-level: one insert per writing statement, whatever the number of passages (a
-- cascade from a deleted article fires it too).
CREATE FUNCTION log_passage_changes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        INSERT INTO passage_changes (chunk_id) SELECT id FROM old_rows;
    ELSE
        INSERT INTO passage_changes (chunk_id) SELECT id FROM new_rows;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER article_chunks_inserted AFTER INSERT ON article_chunks
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION log_passage_changes();
CREATE TRIGGER article_chunks_updated AFTER UPDATE ON article_chunks
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION log_passage_changes();
CREATE TRIGGER article_chunks_deleted AFTER DELETE ON article_chunks
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION log_passage_changes();

-- migrate:down

DROP TRIGGER article_chunks_deleted ON article_chunks;
DROP TRIGGER article_chunks_updated ON article_chunks;
DROP TRIGGER article_chunks_inserted ON article_chunks;
DROP FUNCTION log_passage_changes();
DROP TABLE passage_changes_trimmed;
DROP TABLE passage_changes;

-- Version history: every create, update, rename, delete and restore of an article, written in
-- the write's own transaction (articles/history.py), so an article and its history never
-- disagree.

-- migrate:up

-- No foreign key to articles: a deleted article's history stays (its last version is the
-- deletion), so restore_version can bring it back under its old id and slug. A version is a
-- full copy of the article; PostgreSQL compresses content over about 2 KB in TOAST (see
-- BENCHMARKS.md, "Version history storage", for what that costs per version).
CREATE TABLE article_versions (
    article_id   bigint NOT NULL,
    version      integer NOT NULL CHECK (version > 0),
    operation    text NOT NULL CHECK (operation IN ('create', 'update', 'rename', 'delete', 'restore')),
    slug         text NOT NULL,
    title        text NOT NULL,
    content      text NOT NULL,
    folder       text NOT NULL,
    tags         text[] NOT NULL,
    no_rag       boolean NOT NULL,
    content_hash text NOT NULL,
    -- the fields this version changed against the one before it
    changed      text[] NOT NULL DEFAULT '{}',
    message      text,
    -- who wrote it: the MCP client's name, later an access token's
    author       text,
    -- the version a restore brought back
    restored_from integer,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (article_id, version)
);
-- restore_version and list_versions find a deleted article by the slug of its deletion.
CREATE INDEX article_versions_deleted_slug_idx
    ON article_versions (slug, created_at DESC) WHERE operation = 'delete';

-- Articles written before history existed start theirs with their current state.
INSERT INTO article_versions (article_id, version, operation, slug, title, content, folder, tags,
                              no_rag, content_hash, message, created_at)
SELECT id, version, CASE WHEN version = 1 THEN 'create' ELSE 'update' END, slug, title, content,
       folder, tags, no_rag, content_hash, 'history begins here: earlier versions were not kept',
       updated_at
FROM articles;

-- migrate:down

DROP TABLE article_versions;

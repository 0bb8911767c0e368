-- The schema of article-mcp: articles, their chunks and lexical index, embeddings by model,
-- and the embedding queue with its workers, audit log and metrics.

-- migrate:up

CREATE EXTENSION IF NOT EXISTS vector;

CREATE TYPE task_status AS ENUM ('pending', 'processing', 'completed', 'failed', 'cancelled');
-- Declared in order of urgency, so ORDER BY priority and LEAST() pick the most urgent.
CREATE TYPE task_priority AS ENUM ('high', 'normal', 'low');

CREATE TABLE articles (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    slug         text NOT NULL UNIQUE,
    title        text NOT NULL,
    content      text NOT NULL,
    folder       text NOT NULL DEFAULT '',
    tags         text[] NOT NULL DEFAULT '{}',
    no_rag       boolean NOT NULL DEFAULT false,
    content_hash text NOT NULL,
    version      integer NOT NULL DEFAULT 1,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    search_tsv   tsvector NOT NULL DEFAULT ''::tsvector
);
CREATE INDEX articles_recent_idx ON articles (updated_at DESC, id DESC);
CREATE INDEX articles_folder_idx ON articles (folder text_pattern_ops);
CREATE INDEX articles_tags_idx ON articles USING gin (tags);
CREATE INDEX articles_search_idx ON articles USING gin (search_tsv);
CREATE INDEX articles_title_idx ON articles (lower(title) text_pattern_ops);

-- The passages of an article as last written. Model-independent: written in the article's
-- own transaction, so full-text search finds a new article before any embedding exists.
CREATE TABLE article_chunks (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    article_id      bigint NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    article_version integer NOT NULL,
    chunk_index     integer NOT NULL,
    heading_path    text[] NOT NULL DEFAULT '{}',
    content         text NOT NULL,
    -- sha256 of the text sent to the provider (title, heading path and content)
    text_hash       text NOT NULL,
    token_count     integer NOT NULL,
    tsv             tsvector NOT NULL,
    -- number of lexeme occurrences in tsv: the document length of BM25
    lexeme_count    integer NOT NULL,
    UNIQUE (article_id, chunk_index)
);
CREATE INDEX article_chunks_hash_idx ON article_chunks (text_hash);
CREATE INDEX article_chunks_tsv_idx ON article_chunks USING gin (tsv);

-- BM25 statistics, kept current in the transactions that write chunks.
CREATE TABLE chunk_postings (
    lexeme   text NOT NULL,
    chunk_id bigint NOT NULL REFERENCES article_chunks (id) ON DELETE CASCADE,
    tf       integer NOT NULL,
    PRIMARY KEY (lexeme, chunk_id)
);
CREATE INDEX chunk_postings_chunk_idx ON chunk_postings (chunk_id);

CREATE TABLE lexeme_stats (
    lexeme text PRIMARY KEY,
    df     integer NOT NULL CHECK (df >= 0)
);

CREATE TABLE corpus_stats (
    id           boolean PRIMARY KEY DEFAULT true CHECK (id),
    chunk_count  bigint NOT NULL DEFAULT 0 CHECK (chunk_count >= 0),
    total_length bigint NOT NULL DEFAULT 0 CHECK (total_length >= 0)
);
INSERT INTO corpus_stats DEFAULT VALUES;

-- One row per (provider, model). The dimension is learned from the model itself (a probe or
-- the first result): NULL until then, so writes can enqueue while the provider is down.
CREATE TABLE embedding_models (
    id         integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    provider   text NOT NULL,
    name       text NOT NULL,
    dimensions integer CHECK (dimensions > 0),
    state      text NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'retired')),
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (provider, name)
);

-- Vectors keyed by the hash of the text embedded: a text embedded once is never sent to the
-- provider again, and a vector can never belong to text other than its own. The column has
-- no fixed dimension; each model gets a partial HNSW index on a cast to its dimension.
CREATE TABLE chunk_embeddings (
    model_id   integer NOT NULL REFERENCES embedding_models (id) ON DELETE CASCADE,
    text_hash  text NOT NULL,
    embedding  vector NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (model_id, text_hash)
);

CREATE TABLE embedding_tasks (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- kept (as NULL) after the article is deleted, so history survives
    article_id      bigint REFERENCES articles (id) ON DELETE SET NULL,
    model_id        integer NOT NULL REFERENCES embedding_models (id) ON DELETE CASCADE,
    article_version integer NOT NULL,
    operation       text NOT NULL DEFAULT 'embed' CHECK (operation IN ('embed', 'refresh')),
    priority        task_priority NOT NULL DEFAULT 'normal',
    status          task_status NOT NULL DEFAULT 'pending',
    attempts        integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    max_attempts    integer NOT NULL CHECK (max_attempts > 0),
    scheduled_at    timestamptz NOT NULL DEFAULT now(),
    lease_owner     text,
    lease_expires_at timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    started_at      timestamptz,
    completed_at    timestamptz,
    error_kind      text CHECK (error_kind IN ('transient', 'rate_limited', 'permanent', 'cancelled')),
    error_message   text,
    tokens_used     integer NOT NULL DEFAULT 0,
    -- what created the task: 'write', 'backfill:<run id>', 'retry', ...
    source          text NOT NULL DEFAULT 'write',
    metadata        jsonb NOT NULL DEFAULT '{}',
    CHECK ((status = 'processing') = (lease_owner IS NOT NULL AND lease_expires_at IS NOT NULL))
);
-- At most one pending task per article and model: a second enqueue merges into it.
CREATE UNIQUE INDEX embedding_tasks_one_pending_idx
    ON embedding_tasks (article_id, model_id) WHERE status = 'pending';
-- The claim: most urgent first, then oldest scheduled.
CREATE INDEX embedding_tasks_claim_idx
    ON embedding_tasks (priority, scheduled_at, id) WHERE status = 'pending';
-- The claim's check that no other worker is embedding the article: a probe per candidate.
-- The tasks in processing are few (workers times batch size), so finding expired leases
-- scans this index too: a lease index would cost an entry at every claim for nothing.
CREATE INDEX embedding_tasks_processing_idx
    ON embedding_tasks (article_id, model_id) WHERE status = 'processing';
CREATE INDEX embedding_tasks_article_idx ON embedding_tasks (article_id, model_id, id DESC);
-- Retention and reports on finished tasks. Partial, so a claim (to processing) adds no
-- entry: a status change is never a HOT update, every index whose predicate holds gets one.
CREATE INDEX embedding_tasks_finished_idx
    ON embedding_tasks (status, completed_at) WHERE status IN ('completed', 'failed', 'cancelled');
CREATE INDEX embedding_tasks_source_idx ON embedding_tasks (source) WHERE status = 'pending';

CREATE TABLE embedding_worker_status (
    worker_id       text PRIMARY KEY,
    hostname        text NOT NULL,
    pid             integer NOT NULL,
    state           text NOT NULL CHECK (state IN ('starting', 'idle', 'busy', 'paused', 'stopping', 'stopped')),
    started_at      timestamptz NOT NULL DEFAULT now(),
    heartbeat_at    timestamptz NOT NULL DEFAULT now(),
    stopped_at      timestamptz,
    tasks_completed bigint NOT NULL DEFAULT 0,
    tasks_failed    bigint NOT NULL DEFAULT 0,
    last_error      text
);

-- The pause/stop switch that `article-mcp queue stop|start` sets for every worker.
CREATE TABLE embedding_queue_control (
    id         boolean PRIMARY KEY DEFAULT true CHECK (id),
    paused     boolean NOT NULL DEFAULT false,
    reason     text,
    updated_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO embedding_queue_control DEFAULT VALUES;

CREATE TABLE embedding_audit_logs (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    "timestamp" timestamptz NOT NULL DEFAULT now(),
    level      text NOT NULL CHECK (level IN ('debug', 'info', 'warning', 'error')),
    category   text NOT NULL,
    event      text NOT NULL,
    message    text NOT NULL,
    task_id    bigint,
    article_id bigint,
    worker_id  text,
    -- the tasks of an event about many (a batch's completions: one row per batch, not per task)
    task_ids   bigint[],
    metadata   jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX embedding_audit_logs_time_idx ON embedding_audit_logs ("timestamp");
CREATE INDEX embedding_audit_logs_task_idx ON embedding_audit_logs (task_id) WHERE task_id IS NOT NULL;
-- A task's events in batch rows (`queue inspect`); one GIN entry per task, added in bulk.
CREATE INDEX embedding_audit_logs_task_ids_idx
    ON embedding_audit_logs USING gin (task_ids) WHERE task_ids IS NOT NULL;

-- One row per processed batch.
CREATE TABLE performance_metrics (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    worker_id   text,
    model_id    integer,
    tasks       integer NOT NULL,
    chunks      integer NOT NULL,
    embedded    integer NOT NULL,
    tokens      integer NOT NULL,
    failures    integer NOT NULL DEFAULT 0,
    embed_ms    double precision NOT NULL,
    write_ms    double precision NOT NULL,
    total_ms    double precision NOT NULL
);
CREATE INDEX performance_metrics_time_idx ON performance_metrics (recorded_at);

-- migrate:down

DROP TABLE performance_metrics;
DROP TABLE embedding_audit_logs;
DROP TABLE embedding_queue_control;
DROP TABLE embedding_worker_status;
DROP TABLE embedding_tasks;
DROP TABLE chunk_embeddings;
DROP TABLE embedding_models;
DROP TABLE corpus_stats;
DROP TABLE lexeme_stats;
DROP TABLE chunk_postings;
DROP TABLE article_chunks;
DROP TABLE articles;
DROP TYPE task_priority;
DROP TYPE task_status;
-- The vector extension stays: other schemas in this database may use it.

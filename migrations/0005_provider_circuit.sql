-- The provider's circuit, as the workers report it (worker/circuit.py, worker/heartbeat.sql),
-- and the tasks it holds back.

-- migrate:up

-- A worker process whose provider is unreachable says so on its rows at every heartbeat, so
-- `queue health` in any other process can say since when and why.
ALTER TABLE embedding_worker_status
    ADD COLUMN provider_unreachable_since timestamptz,
    ADD COLUMN provider_error text;

-- A task given back because the provider was unreachable waits for the probe, its attempt
-- not counted; the kind tells these tasks apart so an answering probe can make them due.
ALTER TABLE embedding_tasks DROP CONSTRAINT embedding_tasks_error_kind_check;
ALTER TABLE embedding_tasks ADD CONSTRAINT embedding_tasks_error_kind_check
    CHECK (error_kind IN ('transient', 'rate_limited', 'permanent', 'cancelled', 'unreachable'));

-- migrate:down

UPDATE embedding_tasks SET error_kind = 'transient' WHERE error_kind = 'unreachable';
ALTER TABLE embedding_tasks DROP CONSTRAINT embedding_tasks_error_kind_check;
ALTER TABLE embedding_tasks ADD CONSTRAINT embedding_tasks_error_kind_check
    CHECK (error_kind IN ('transient', 'rate_limited', 'permanent', 'cancelled'));
ALTER TABLE embedding_worker_status
    DROP COLUMN provider_unreachable_since,
    DROP COLUMN provider_error;

-- One rate limit for all processes (embeddings/shared_limit.py): a token bucket per provider,
-- booked by every worker and server process before each call to that provider.

-- migrate:up

-- One row per provider endpoint and model (`provider base-URL model`). A level is what the
-- bucket held at `updated_at` (requests, estimated tokens); negative when callers have booked
-- ahead and wait for their turn. The capacity and refill rate come from each caller's
-- settings, so only the levels are stored.
CREATE TABLE provider_rate_limits (
    provider_key text PRIMARY KEY,
    requests double precision NOT NULL,
    tokens double precision NOT NULL,
    updated_at timestamptz NOT NULL
);

-- migrate:down

DROP TABLE provider_rate_limits;

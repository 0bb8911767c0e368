-- Access tokens: one per person or agent, with a scope, an expiry and a revocation
-- (access/tokens.py). A token is never stored: only its HMAC-SHA256 under the server's key.

-- migrate:up

-- The server's HMAC key, one row, written at first use from Python's `secrets` (a race
-- between two processes keeps the first). Every token hash is keyed with it, so a copy of the
-- tokens table alone cannot even be checked against a guessed token.
CREATE TABLE access_token_key (
    singleton  boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    hmac_key   bytea NOT NULL CHECK (octet_length(hmac_key) >= 32),
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE access_tokens (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- who the token stands for: the author of its writes and the name in every log line
    name         text NOT NULL CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$'),
    scope        text NOT NULL CHECK (scope IN ('read', 'write', 'admin')),
    -- HMAC-SHA256(access_token_key.hmac_key, token)
    token_hash   bytea NOT NULL UNIQUE CHECK (octet_length(token_hash) = 32),
    created_at   timestamptz NOT NULL DEFAULT now(),
    -- written at most once a minute, so that a busy token costs no write per request
    last_used_at timestamptz,
    expires_at   timestamptz,
    revoked_at   timestamptz
);

-- A name belongs to one token that is not revoked; a revoked one stays listed (who had
-- access, until when) and its name can be given to a new token.
CREATE UNIQUE INDEX access_tokens_live_name ON access_tokens (name) WHERE revoked_at IS NULL;

-- migrate:down

DROP TABLE access_tokens;
DROP TABLE access_token_key;

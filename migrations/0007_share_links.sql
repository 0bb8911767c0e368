-- Public share links (access/shares.py): a random token in a URL that serves one article
-- read-only, stored only as its HMAC-SHA256 under the server's key (access_token_key, 0006).

-- migrate:up

-- A link dies with its article (ON DELETE CASCADE): restoring a deleted article does not
-- publish it again.
CREATE TABLE share_links (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- HMAC-SHA256(access_token_key.hmac_key, token); the token itself is never stored
    token_hash  bytea NOT NULL UNIQUE CHECK (octet_length(token_hash) = 32),
    article_id  bigint NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    -- the version the link shows; NULL: whatever is current
    version     integer CHECK (version > 0),
    expires_at  timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now(),
    -- who made it: the principal's name
    created_by  text,
    revoked_at  timestamptz
);
CREATE INDEX share_links_article_idx ON share_links (article_id);

-- migrate:down

DROP TABLE share_links;

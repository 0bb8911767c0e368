-- Public share links (access/shares.py): a random token in a URL that serves one article
-- read-only, stored only as a keyed hash; and the key (access/secrets.py), shared by every
-- secret the server hashes.

-- migrate:up

-- The one HMAC key of this database, made here once from the server's strong random source
-- (three version-4 UUIDs: 366 random bits). Kept in the database so that every process on it
-- hashes alike, and apart from the hashes: a copy of share_links alone cannot be checked
-- against guessed tokens.
CREATE TABLE access_secret (
    id       boolean PRIMARY KEY DEFAULT true CHECK (id),
    hmac_key bytea NOT NULL CHECK (octet_length(hmac_key) >= 32)
);
INSERT INTO access_secret (hmac_key)
VALUES (decode(replace(gen_random_uuid()::text || gen_random_uuid()::text || gen_random_uuid()::text,
                       '-', ''), 'hex'));

-- A link dies with its article (ON DELETE CASCADE): restoring a deleted article does not
-- publish it again.
CREATE TABLE share_links (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- HMAC-SHA256 of the token under access_secret's key; the token itself is never stored
    token_hash  bytea NOT NULL UNIQUE,
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
DROP TABLE access_secret;

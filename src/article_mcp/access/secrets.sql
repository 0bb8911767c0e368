-- Queries of the keyed hash (secrets.py): the access_secret table.

-- name: hmac_key
-- The database's one HMAC key (made by migration 0007).
SELECT hmac_key FROM access_secret;

-- name: reserve
-- Book one call of provider $1 against its buckets, refilled for the time since the last
-- booking: $2 requests at most, refilling at $3 a second, this call costing $4; $5 tokens at
-- most, refilling at $6 a second, this call costing $7 (all 0 for a limit not set). The row
-- lock orders concurrent bookings, and the clock is read once the lock is held, so every
-- process on every machine books against the one clock of the database (a clock stepped
-- back refills nothing). Returns the levels left: negative, the caller waits until the refill
-- has paid the debt.
INSERT INTO provider_rate_limits AS b (provider_key, requests, tokens, updated_at)
VALUES ($1, $2::float8 - $4::float8, $5::float8 - $7::float8, clock_timestamp())
ON CONFLICT (provider_key) DO UPDATE SET
    requests = least(
        $2, b.requests + $3::float8 * greatest(extract(epoch FROM clock_timestamp() - b.updated_at)::float8, 0)
    ) - $4,
    tokens = least(
        $5, b.tokens + $6::float8 * greatest(extract(epoch FROM clock_timestamp() - b.updated_at)::float8, 0)
    ) - $7,
    updated_at = clock_timestamp()
RETURNING requests, tokens;

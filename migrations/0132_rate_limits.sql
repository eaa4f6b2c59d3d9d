-- Rate limits shared by every server instance (sign-in, registration,
-- appeal filing): a token bucket per (bucket, hashed key) — the key is an
-- address, an account name or a contact, so only its SHA-256 is kept.
-- UNLOGGED: buckets are worthless after a crash and need no WAL.
CREATE UNLOGGED TABLE rate_limits (
    bucket     text NOT NULL,
    key_sha256 bytea NOT NULL,
    tokens     float8 NOT NULL,
    at         timestamptz NOT NULL,
    PRIMARY KEY (bucket, key_sha256)
);

-- Takes one token from the bucket (refilled at per_minute up to burst);
-- returns 0 when allowed, else the seconds until a token is there. A
-- refused request takes nothing.
CREATE FUNCTION geoportal_take_token(p_bucket text, p_key bytea, per_minute float8, burst float8)
RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE
    left_after float8;
BEGIN
    INSERT INTO rate_limits AS r (bucket, key_sha256, tokens, at)
    VALUES (p_bucket, p_key, burst - 1, clock_timestamp())
    ON CONFLICT (bucket, key_sha256) DO UPDATE SET
        tokens = least(burst, r.tokens + extract(epoch FROM clock_timestamp() - r.at) * per_minute / 60) - 1,
        at = clock_timestamp()
    RETURNING tokens INTO left_after;
    -- Buckets idle for an hour are full again whatever their quota: forget them now and then.
    IF random() < 0.01 THEN
        DELETE FROM rate_limits WHERE at < clock_timestamp() - interval '1 hour';
    END IF;
    IF left_after >= 0 THEN
        RETURN 0;
    END IF;
    UPDATE rate_limits SET tokens = tokens + 1 WHERE bucket = p_bucket AND key_sha256 = p_key;
    RETURN -left_after * 60 / per_minute;
END $$;

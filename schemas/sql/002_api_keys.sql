-- 002_api_keys: API keys, each bound to one tenant. Idempotent (re-running it changes
-- nothing); the migration runner applies it in a transaction and records it.
-- Only the SHA-256 of a key is stored (key_hash); the plaintext is shown once at creation.
-- `prefix` is the key's first 12 characters ("vck_" + 8 of the 43 random ones) so people can
-- recognise and revoke a key; it reveals 48 of the 256 random bits.
-- The gateway looks keys up by key_hash (unique index) and caches the answer for a few
-- seconds, so a revocation (revoked_at set) takes effect within API_KEY_CACHE_TTL.

CREATE TABLE IF NOT EXISTS api_keys (
    id                    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant                text NOT NULL
                          CHECK (tenant ~ '^[A-Za-z0-9._:-]{1,64}$'),
    key_hash              bytea NOT NULL UNIQUE
                          CHECK (octet_length(key_hash) = 32),
    prefix                text NOT NULL
                          CHECK (length(prefix) = 12),
    name                  text NOT NULL DEFAULT ''
                          CHECK (length(name) <= 128),
    rate_limit_per_minute integer NULL            -- NULL: the gateway's RATE_LIMIT_PER_MINUTE
                          CHECK (rate_limit_per_minute IS NULL OR rate_limit_per_minute > 0),
    created_at            timestamptz NOT NULL DEFAULT now(),
    revoked_at            timestamptz NULL        -- set once by a revocation; never cleared
);

-- Listing a tenant's keys; revoking by display prefix.
CREATE INDEX IF NOT EXISTS api_keys_tenant_idx ON api_keys (tenant);
CREATE INDEX IF NOT EXISTS api_keys_prefix_idx ON api_keys (prefix);

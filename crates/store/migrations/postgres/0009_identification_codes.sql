-- One-time identification codes for the in-person check at an authority's counter (issue 3,
-- SECURITY.md A6). At most one code per account: asking again replaces it. The code itself is
-- never stored, only its HMAC under a portal secret, so neither a copy of the database nor
-- its backups let anyone try codes offline. A used code keeps its row (with `used_at`) so that
-- a second try is told "used"; the row goes with the account. Keep in step with
-- ../sqlite/0009_identification_codes.sql.

CREATE TABLE identification_codes (
    account_id  UUID PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    code_hash   TEXT NOT NULL UNIQUE,
    created_at  TIMESTAMPTZ NOT NULL,
    -- valid while now < expires_at (14 days after it was made)
    expires_at  TIMESTAMPTZ NOT NULL,
    used_at     TIMESTAMPTZ,
    -- the citizen agreed, when asking for the code, that the attributes the clerk verifies
    -- are kept with the account for prefilling forms (R4); otherwise they are not kept at all
    remember_attributes BOOLEAN NOT NULL DEFAULT FALSE
);

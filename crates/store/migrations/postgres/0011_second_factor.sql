-- The second factor of the Servicekonto (issue 3): an authenticator app (TOTP, RFC 6238), its
-- one-time recovery codes, and sign-ins that passed the password and wait for the code.
-- Keep in step with ../sqlite/0011_second_factor.sql.

-- At most one authenticator per account. The shared secret is sealed (AES-256-GCM under a key
-- derived from the portal secret, the account as associated data), never stored in the clear.
-- A row without `confirmed_at` is an enrolment the citizen has not yet confirmed with a code;
-- it does not protect the sign-in. `last_step` is the newest time step accepted, so a code
-- cannot be used twice (nor an older one after a newer). The row goes with the account.
CREATE TABLE totp_factors (
    account_id    UUID PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    secret_sealed BYTEA NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    confirmed_at  TIMESTAMPTZ,
    last_step     BIGINT
);

-- Recovery codes, shown once at enrolment: only their HMAC under the portal secret is kept.
-- A used code keeps its row (with `used_at`) until the factor is removed or replaced.
CREATE TABLE recovery_codes (
    account_id UUID NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    code_hash  TEXT NOT NULL,
    used_at    TIMESTAMPTZ,
    PRIMARY KEY (account_id, code_hash)
);

-- A password accepted for an account with a second factor: not a session. The browser holds
-- the token (a cookie); the row holds its SHA-256, the target page, and the wrong codes so far.
-- Finishing deletes the row (single use); it expires after a few minutes.
CREATE TABLE pending_sign_ins (
    token_hash TEXT NOT NULL PRIMARY KEY,
    account_id UUID NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    next_path  TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    failures   INTEGER NOT NULL DEFAULT 0
);

CREATE INDEX pending_sign_ins_by_account ON pending_sign_ins (account_id);
CREATE INDEX pending_sign_ins_by_expiry ON pending_sign_ins (expires_at);

-- Accounts (Servicekonto), server-side sessions, single-use e-mail links, failed sign-ins for
-- throttling, the audit log, and secrets shared by every portal node.
--
-- No secret is stored in the clear: passwords as argon2id PHC strings, session and e-mail
-- tokens as SHA-256 digests. Keep in step with ../sqlite/0002_accounts.sql.

CREATE TABLE accounts (
    id                  UUID PRIMARY KEY,
    email               TEXT NOT NULL,
    -- the whole address in lowercase; accounts are unique by it
    email_key           TEXT NOT NULL UNIQUE,
    password_hash       TEXT NOT NULL,
    email_confirmed_at  TIMESTAMPTZ,
    assurance_level     TEXT NOT NULL CHECK (assurance_level IN ('basic', 'substantial', 'high')),
    created_at          TIMESTAMPTZ NOT NULL,
    updated_at          TIMESTAMPTZ NOT NULL
);

CREATE TABLE sessions (
    -- SHA-256 of the cookie's token; the token itself is never stored
    token_hash    TEXT PRIMARY KEY,
    -- the public id shown in the list of sessions
    id            UUID NOT NULL UNIQUE,
    account_id    UUID NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    csrf_secret   TEXT NOT NULL,
    level         TEXT NOT NULL CHECK (level IN ('basic', 'substantial', 'high')),
    created_at    TIMESTAMPTZ NOT NULL,
    last_seen_at  TIMESTAMPTZ NOT NULL,
    -- the absolute end, whatever the activity
    expires_at    TIMESTAMPTZ NOT NULL
);

CREATE INDEX sessions_by_account ON sessions (account_id);

CREATE TABLE email_tokens (
    token_hash  TEXT PRIMARY KEY,
    account_id  UUID NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    purpose     TEXT NOT NULL CHECK (purpose IN ('confirm', 'reset')),
    created_at  TIMESTAMPTZ NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL,
    used_at     TIMESTAMPTZ
);

CREATE INDEX email_tokens_by_account ON email_tokens (account_id);

-- One row per failed sign-in and key (a digest of the account's address, or of the client
-- address); rows older than an hour are purged.
CREATE TABLE sign_in_attempts (
    key  TEXT NOT NULL,
    at   TIMESTAMPTZ NOT NULL
);

CREATE INDEX sign_in_attempts_by_key ON sign_in_attempts (key, at);

-- Security events: no passwords, tokens or mail contents; `detail` is escaped to one line.
-- No foreign key: the log outlives a deleted account.
CREATE TABLE audit_log (
    id          BIGSERIAL PRIMARY KEY,
    at          TIMESTAMPTZ NOT NULL,
    event       TEXT NOT NULL,
    account_id  UUID,
    detail      TEXT NOT NULL
);

CREATE INDEX audit_log_by_account ON audit_log (account_id);

-- Keys every portal node must share (the CSRF signing key); written once by the first node.
CREATE TABLE server_secrets (
    name        TEXT PRIMARY KEY,
    value       BYTEA NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL
);

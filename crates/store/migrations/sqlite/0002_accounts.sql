-- Accounts (Servicekonto), server-side sessions, single-use e-mail links, failed sign-ins for
-- throttling, the audit log, and secrets shared by every portal node.
--
-- No secret is stored in the clear: passwords as argon2id PHC strings, session and e-mail
-- tokens as SHA-256 digests. Times are RFC 3339 text in UTC. Keep in step with
-- ../postgres/0002_accounts.sql.

CREATE TABLE accounts (
    id                  TEXT NOT NULL PRIMARY KEY,
    email               TEXT NOT NULL,
    -- the whole address in lowercase; accounts are unique by it
    email_key           TEXT NOT NULL UNIQUE,
    password_hash       TEXT NOT NULL,
    email_confirmed_at  TEXT,
    assurance_level     TEXT NOT NULL CHECK (assurance_level IN ('basic', 'substantial', 'high')),
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL
) STRICT;

CREATE TABLE sessions (
    -- SHA-256 of the cookie's token; the token itself is never stored
    token_hash    TEXT NOT NULL PRIMARY KEY,
    -- the public id shown in the list of sessions
    id            TEXT NOT NULL UNIQUE,
    account_id    TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    csrf_secret   TEXT NOT NULL,
    level         TEXT NOT NULL CHECK (level IN ('basic', 'substantial', 'high')),
    created_at    TEXT NOT NULL,
    last_seen_at  TEXT NOT NULL,
    -- the absolute end, whatever the activity
    expires_at    TEXT NOT NULL
) STRICT;

CREATE INDEX sessions_by_account ON sessions (account_id);

CREATE TABLE email_tokens (
    token_hash  TEXT NOT NULL PRIMARY KEY,
    account_id  TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    purpose     TEXT NOT NULL CHECK (purpose IN ('confirm', 'reset')),
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    used_at     TEXT
) STRICT;

CREATE INDEX email_tokens_by_account ON email_tokens (account_id);

-- One row per failed sign-in and key (a digest of the account's address, or of the client
-- address); rows older than an hour are purged.
CREATE TABLE sign_in_attempts (
    key  TEXT NOT NULL,
    at   TEXT NOT NULL
) STRICT;

CREATE INDEX sign_in_attempts_by_key ON sign_in_attempts (key, at);

-- Security events: no passwords, tokens or mail contents; `detail` is escaped to one line.
-- No foreign key: the log outlives a deleted account.
CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    at          TEXT NOT NULL,
    event       TEXT NOT NULL,
    account_id  TEXT,
    detail      TEXT NOT NULL
) STRICT;

CREATE INDEX audit_log_by_account ON audit_log (account_id);

-- Keys every portal node must share (the CSRF signing key); written once by the first node.
CREATE TABLE server_secrets (
    name        TEXT NOT NULL PRIMARY KEY,
    value       BLOB NOT NULL,
    created_at  TEXT NOT NULL
) STRICT;

-- A change of an account's e-mail address, waiting for the new address to be confirmed
-- through the single-use link mailed to it. The address of the account changes only then.
-- One open request per account: a new one replaces it. Keep in step with
-- ../postgres/0014_email_change.sql.

CREATE TABLE email_changes (
    -- SHA-256 of the link's token; the token itself is never stored
    token_hash     TEXT NOT NULL PRIMARY KEY,
    account_id     TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    new_email      TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    expires_at     TEXT NOT NULL,
    used_at        TEXT
) STRICT;

CREATE INDEX email_changes_by_account ON email_changes (account_id);

-- Verified attributes (names, date of birth, address) from an identity check, for prefilling
-- forms with the citizen's consent (issue 4). The content is sealed by the portal
-- (AES-256-GCM, bound to the account); the database sees only where it came from and when.
--
-- A row with a session belongs to that session only and goes with it (sign-out, idle or
-- absolute expiry, "sign out everywhere"); a row without one was remembered with the
-- citizen's consent and stays until the citizen deletes it or the account. One of each per
-- account and session at most: a new check replaces the old. Keep in step with
-- ../postgres/0007_verified_attributes.sql.

CREATE TABLE verified_attributes (
    id           TEXT NOT NULL PRIMARY KEY,
    account_id   TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    session_id   TEXT REFERENCES sessions (id) ON DELETE CASCADE,
    source       TEXT NOT NULL CHECK (source IN ('eid', 'counter')),
    verified_at  TEXT NOT NULL,
    sealed       BLOB NOT NULL,
    created_at   TEXT NOT NULL
) STRICT;

CREATE UNIQUE INDEX verified_attributes_remembered
    ON verified_attributes (account_id) WHERE session_id IS NULL;
CREATE UNIQUE INDEX verified_attributes_by_session ON verified_attributes (session_id);

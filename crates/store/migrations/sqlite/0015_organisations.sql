-- Business accounts (Unternehmenskonten): organisations, their members with a role, and
-- invitations by e-mail; applications may be made in an organisation's name. Keep in step
-- with ../postgres/0015_organisations.sql.

CREATE TABLE organisations (
    id          TEXT NOT NULL PRIMARY KEY,
    name        TEXT NOT NULL,
    created_at  TEXT NOT NULL
) STRICT;

CREATE TABLE organisation_members (
    organisation_id  TEXT NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    account_id       TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    role             TEXT NOT NULL CHECK (role IN ('owner', 'member')),
    joined_at        TEXT NOT NULL,
    PRIMARY KEY (organisation_id, account_id)
) STRICT;

CREATE INDEX organisation_members_by_account ON organisation_members (account_id);

-- An invitation is for an address, not an account: whoever signs in with that (confirmed)
-- address can accept it. One open invitation per organisation and address.
CREATE TABLE organisation_invitations (
    id               TEXT NOT NULL PRIMARY KEY,
    -- SHA-256 of the link's token; the token itself is never stored
    token_hash       TEXT NOT NULL UNIQUE,
    organisation_id  TEXT NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    email            TEXT NOT NULL,
    email_key        TEXT NOT NULL,
    role             TEXT NOT NULL CHECK (role IN ('owner', 'member')),
    created_at       TEXT NOT NULL,
    expires_at       TEXT NOT NULL,
    accepted_at      TEXT
) STRICT;

CREATE INDEX organisation_invitations_by_organisation
    ON organisation_invitations (organisation_id, email_key);

-- The organisation an application was made for; the name as it was then, for the list.
ALTER TABLE applications ADD COLUMN organisation_id TEXT
    REFERENCES organisations (id) ON DELETE SET NULL;
ALTER TABLE applications ADD COLUMN organisation_name TEXT;

CREATE INDEX applications_by_organisation ON applications (organisation_id, submitted_at);

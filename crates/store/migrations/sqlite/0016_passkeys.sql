-- Passkeys (WebAuthn) of accounts, and the ceremonies that add them or sign in with them.
-- Keep in step with ../postgres/0016_passkeys.sql.

CREATE TABLE passkeys (
    id             TEXT NOT NULL PRIMARY KEY,
    account_id     TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    -- what the citizen calls it ("Laptop"), shown in the list
    name           TEXT NOT NULL,
    -- the authenticator's credential id, unpadded base64url: one account per credential
    credential_id  TEXT NOT NULL UNIQUE,
    -- the credential as the relying party keeps it (public key, counter, flags); no secret
    credential     TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    last_used_at   TEXT
) STRICT;

CREATE INDEX passkeys_by_account ON passkeys (account_id);

-- A ceremony between its two requests: the challenge the browser must sign, by the digest of
-- the token in the ceremony's form. Single use, minutes long.
CREATE TABLE passkey_ceremonies (
    token_hash     TEXT NOT NULL PRIMARY KEY,
    purpose        TEXT NOT NULL CHECK (purpose IN ('register', 'sign_in')),
    -- register: the account and the name of the passkey being added
    account_id     TEXT REFERENCES accounts (id) ON DELETE CASCADE,
    name           TEXT,
    -- sign_in: where to go afterwards (a local path)
    next_path      TEXT,
    state          TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    expires_at     TEXT NOT NULL,
    CHECK ((purpose = 'register' AND account_id IS NOT NULL AND name IS NOT NULL
            AND next_path IS NULL)
        OR (purpose = 'sign_in' AND account_id IS NULL AND name IS NULL
            AND next_path IS NOT NULL))
) STRICT;

CREATE INDEX passkey_ceremonies_by_account ON passkey_ceremonies (account_id);

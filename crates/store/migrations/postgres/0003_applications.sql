-- Online applications at the portal: drafts, submitted applications (metadata only), the
-- outbox of deliveries to authority nodes, and receipts kept briefly for download.
--
-- Application content is never stored here in the clear: drafts, draft files and receipts are
-- sealed at rest by the portal (AES-256-GCM) and deleted on submit or expiry; deliveries hold
-- the JWE encrypted to the receiving authority, dropped once it acknowledges receipt (R3).
-- Keep in step with ../sqlite/0003_applications.sql.

CREATE TABLE drafts (
    id           TEXT NOT NULL PRIMARY KEY,
    account_id   UUID NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    service_key  TEXT NOT NULL,
    sealed       BYTEA NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ NOT NULL,
    UNIQUE (account_id, service_key)
);

CREATE INDEX drafts_by_expiry ON drafts (expires_at);

CREATE TABLE draft_files (
    id          TEXT NOT NULL PRIMARY KEY,
    draft_id    TEXT NOT NULL REFERENCES drafts (id) ON DELETE CASCADE,
    sealed      BYTEA NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL
);

CREATE INDEX draft_files_by_draft ON draft_files (draft_id);

CREATE TABLE applications (
    reference      TEXT NOT NULL PRIMARY KEY,
    -- fixed when the draft is created; a second click on "submit" finds the first result
    submission_id  TEXT NOT NULL UNIQUE,
    account_id     UUID NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    service_key    TEXT NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('queued', 'delivered', 'received',
                       'in_progress', 'needs_information', 'decided', 'undeliverable')),
    submitted_at   TIMESTAMPTZ NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL
);

CREATE INDEX applications_by_account ON applications (account_id, submitted_at);

CREATE TABLE deliveries (
    id               TEXT NOT NULL PRIMARY KEY,
    reference        TEXT NOT NULL REFERENCES applications (reference) ON DELETE CASCADE,
    authority_id     TEXT NOT NULL,
    node_id          TEXT NOT NULL,
    -- the JWE; NULL once the authority has acknowledged it
    envelope         BYTEA,
    state            TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'dead')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TIMESTAMPTZ NOT NULL,
    last_error       TEXT,
    created_at       TIMESTAMPTZ NOT NULL,
    delivered_at     TIMESTAMPTZ
);

CREATE INDEX deliveries_due ON deliveries (state, next_attempt_at);
CREATE INDEX deliveries_by_reference ON deliveries (reference);

CREATE TABLE receipts (
    reference   TEXT NOT NULL PRIMARY KEY REFERENCES applications (reference) ON DELETE CASCADE,
    sealed      BYTEA NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL
);

CREATE INDEX receipts_by_expiry ON receipts (expires_at);

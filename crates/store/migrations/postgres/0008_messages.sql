-- Messages between the authority and the citizen (issue 5: the Postfach).
--
-- At an authority node: every message of a case in either direction, kept as a JWE to the
-- node's own key (subject, text and attachments; a decision's PDF among them), so the content
-- stays encrypted at rest like the case itself. Messages to the citizen wait here until the
-- portal has accepted them (`sent_at`), retried with backoff.
--
-- At the portal: the citizen's mailbox. Each message is sealed at rest for its owner
-- (AES-256-GCM, as drafts are), its files apart so the list opens without them, and deleted
-- after the retention period (R1). A reply leaves as an entry of the delivery outbox
-- (`deliveries.in_reply_to` names the case it answers), encrypted to the authority like an
-- application. Both node kinds share this schema; each uses its part.
-- Keep in step with ../sqlite/0008_messages.sql.

CREATE TABLE case_messages (
    id               TEXT NOT NULL PRIMARY KEY,
    case_id          TEXT NOT NULL REFERENCES cases (delivery_id) ON DELETE CASCADE,
    direction        TEXT NOT NULL CHECK (direction IN ('to_citizen', 'from_citizen')),
    -- who wrote it (messages to the citizen); no foreign key, the history outlives the account
    clerk_id         TEXT,
    decision         BOOLEAN NOT NULL DEFAULT false,
    envelope         BYTEA NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL,
    -- messages to the citizen: NULL until the portal has accepted the message
    sent_at          TIMESTAMPTZ,
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TIMESTAMPTZ,
    last_error       TEXT
);

CREATE INDEX case_messages_by_case ON case_messages (case_id, created_at);
CREATE INDEX case_messages_unsent ON case_messages (next_attempt_at) WHERE sent_at IS NULL
    AND direction = 'to_citizen';

CREATE TABLE mailbox_messages (
    id           TEXT NOT NULL PRIMARY KEY,
    reference    TEXT NOT NULL REFERENCES applications (reference) ON DELETE CASCADE,
    account_id   UUID NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    -- the delivery (case at the node) the message belongs to
    delivery_id  TEXT NOT NULL,
    authority_id TEXT NOT NULL,
    direction    TEXT NOT NULL CHECK (direction IN ('to_citizen', 'from_citizen')),
    decision     BOOLEAN NOT NULL DEFAULT false,
    -- subject, text and the list of files, sealed for the owner
    sealed       BYTEA NOT NULL,
    received_at  TIMESTAMPTZ NOT NULL,
    read_at      TIMESTAMPTZ,
    expires_at   TIMESTAMPTZ NOT NULL
);

CREATE INDEX mailbox_messages_by_account ON mailbox_messages (account_id, received_at);
CREATE INDEX mailbox_messages_by_expiry ON mailbox_messages (expires_at);

CREATE TABLE mailbox_files (
    id          TEXT NOT NULL PRIMARY KEY,
    message_id  TEXT NOT NULL REFERENCES mailbox_messages (id) ON DELETE CASCADE,
    sealed      BYTEA NOT NULL
);

CREATE INDEX mailbox_files_by_message ON mailbox_files (message_id);

-- A reply in the delivery outbox: the case it answers. NULL for applications.
ALTER TABLE deliveries ADD COLUMN in_reply_to TEXT;

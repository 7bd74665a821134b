-- The clerks' back office at an authority node, and the status back channel (issue 5).
--
-- At an authority node: clerk accounts (passwords as argon2id PHC strings), their server-side
-- sessions (the cookie's token only as SHA-256), the history of every case (who changed what
-- and when, never content), and the outbox of status messages for the portal, kept until the
-- portal has accepted them. At the portal: the status each authority last reported for its
-- delivery, from which the application's status follows. Both node kinds share this schema;
-- each uses its part. Keep in step with ../sqlite/0005_back_office.sql.

CREATE TABLE clerks (
    id             TEXT NOT NULL PRIMARY KEY,
    authority_id   TEXT NOT NULL,
    email          TEXT NOT NULL,
    -- the whole address in lowercase; clerks are unique by it on a node
    email_key      TEXT NOT NULL UNIQUE,
    display_name   TEXT NOT NULL,
    password_hash  TEXT NOT NULL,
    role           TEXT NOT NULL CHECK (role IN ('clerk', 'lead')),
    created_at     TIMESTAMPTZ NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL
);

CREATE INDEX clerks_by_authority ON clerks (authority_id);

CREATE TABLE clerk_sessions (
    -- SHA-256 of the cookie's token; the token itself is never stored
    token_hash    TEXT NOT NULL PRIMARY KEY,
    clerk_id      TEXT NOT NULL REFERENCES clerks (id) ON DELETE CASCADE,
    csrf_secret   TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    last_seen_at  TIMESTAMPTZ NOT NULL,
    -- the absolute end, whatever the activity
    expires_at    TIMESTAMPTZ NOT NULL
);

CREATE INDEX clerk_sessions_by_clerk ON clerk_sessions (clerk_id);

-- No foreign key to clerks: the history outlives a removed clerk account.
CREATE TABLE case_history (
    id           BIGSERIAL PRIMARY KEY,
    case_id      TEXT NOT NULL REFERENCES cases (delivery_id) ON DELETE CASCADE,
    at           TIMESTAMPTZ NOT NULL,
    clerk_id     TEXT,
    event        TEXT NOT NULL CHECK (event IN ('opened', 'status_changed')),
    from_status  TEXT,
    to_status    TEXT
);

CREATE INDEX case_history_by_case ON case_history (case_id, id);

-- Status messages for the portal, sent in the order of `id` and deleted once accepted.
CREATE TABLE status_outbox (
    id          BIGSERIAL PRIMARY KEY,
    case_id     TEXT NOT NULL REFERENCES cases (delivery_id) ON DELETE CASCADE,
    reference   TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('received', 'in_progress',
                    'needs_information', 'decided')),
    created_at  TIMESTAMPTZ NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT
);

-- At the portal: what the authority last reported for this delivery.
ALTER TABLE deliveries ADD COLUMN case_status TEXT CHECK (case_status IN ('received',
    'in_progress', 'needs_information', 'decided'));
ALTER TABLE deliveries ADD COLUMN case_status_at TIMESTAMPTZ;

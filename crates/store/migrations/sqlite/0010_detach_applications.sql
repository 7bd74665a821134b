-- Deleting an account keeps the metadata of its applications that still have to reach their
-- authority, detached from the person (account_id NULL), instead of cascading into deliveries,
-- receipts and the outbox. Keep in step with ../postgres/0010_detach_applications.sql.
--
-- SQLite cannot drop a NOT NULL or change a foreign key in place, so the table is rebuilt.
-- The migrator runs this in a transaction, where `PRAGMA foreign_keys = OFF` has no effect,
-- and dropping the old table deletes its rows first, cascading into every table that refers
-- to it. Those rows are therefore set aside and written back after the rebuild. A table
-- added later that refers to `applications` needs the same treatment in any further rebuild.

CREATE TEMP TABLE kept_deliveries AS SELECT * FROM deliveries;
CREATE TEMP TABLE kept_receipts AS SELECT * FROM receipts;
CREATE TEMP TABLE kept_mailbox_messages AS SELECT * FROM mailbox_messages;
CREATE TEMP TABLE kept_mailbox_files AS SELECT * FROM mailbox_files;

CREATE TABLE applications_rebuilt (
    reference      TEXT NOT NULL PRIMARY KEY,
    submission_id  TEXT NOT NULL UNIQUE,
    -- NULL once the account is deleted: kept only until its deliveries are done
    account_id     TEXT REFERENCES accounts (id) ON DELETE SET NULL,
    service_key    TEXT NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('queued', 'delivered', 'received',
                       'in_progress', 'needs_information', 'decided', 'undeliverable')),
    submitted_at   TEXT NOT NULL,
    updated_at     TEXT NOT NULL
) STRICT;

INSERT INTO applications_rebuilt (reference, submission_id, account_id, service_key, status,
                                  submitted_at, updated_at)
    SELECT reference, submission_id, account_id, service_key, status, submitted_at, updated_at
    FROM applications;

DROP TABLE applications;

ALTER TABLE applications_rebuilt RENAME TO applications;

CREATE INDEX applications_by_account ON applications (account_id, submitted_at);

INSERT INTO deliveries SELECT * FROM kept_deliveries;
INSERT INTO receipts SELECT * FROM kept_receipts;
INSERT INTO mailbox_messages SELECT * FROM kept_mailbox_messages;
INSERT INTO mailbox_files SELECT * FROM kept_mailbox_files;

DROP TABLE kept_deliveries;
DROP TABLE kept_receipts;
DROP TABLE kept_mailbox_messages;
DROP TABLE kept_mailbox_files;

-- Deleting an account keeps the metadata of its applications that still have to reach their
-- authority, detached from the person (account_id NULL), instead of cascading into deliveries,
-- receipts and the outbox. Keep in step with ../sqlite/0010_detach_applications.sql.

ALTER TABLE applications ALTER COLUMN account_id DROP NOT NULL;
ALTER TABLE applications DROP CONSTRAINT applications_account_id_fkey;
ALTER TABLE applications ADD CONSTRAINT applications_account_id_fkey
    FOREIGN KEY (account_id) REFERENCES accounts (id) ON DELETE SET NULL;

-- The audit log becomes tamper-evident (C5): each entry carries the hash of the entry before it
-- and its own hash over that and its content. `rathaus audit verify` recomputes the chain and
-- names the first entry that does not match. Entries written before this migration keep empty
-- hashes; the chain starts at the first entry with one.
-- Keep in step with ../postgres/0006_audit_chain.sql.

ALTER TABLE audit_log ADD COLUMN prev_hash TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_log ADD COLUMN hash TEXT NOT NULL DEFAULT '';

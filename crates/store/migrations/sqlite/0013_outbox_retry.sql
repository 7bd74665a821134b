-- An operator can put a dead letter back into the outbox (issue 5). The delivery window
-- (R2: the alert after 3 days, the dead letter after 14) then starts again at `retried_at`,
-- so the sweep does not at once give up on an entry that was submitted long ago. Keep in step
-- with ../postgres/0013_outbox_retry.sql.

ALTER TABLE deliveries ADD COLUMN retried_at TEXT;

CREATE INDEX deliveries_dead ON deliveries (created_at) WHERE state = 'dead';

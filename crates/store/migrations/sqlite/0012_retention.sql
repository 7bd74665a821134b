-- Retention periods per service (R1, R4; `[retention]` in a service definition).
--
-- At an authority node: a decided case is deleted at `retain_until`, which the back office
-- sets from the service's `case_days` when the case is decided and clears when it is opened
-- again; undecided cases have none and are never deleted by the schedule. At the portal the
-- periods of application records and messages are worked out from the definitions by the
-- housekeeping job, so nothing is stored for them here. Keep in step with
-- ../postgres/0012_retention.sql.

ALTER TABLE cases ADD COLUMN retain_until TEXT;

CREATE INDEX cases_by_retention ON cases (retain_until) WHERE retain_until IS NOT NULL;

CREATE INDEX applications_by_service ON applications (service_key, updated_at);

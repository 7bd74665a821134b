//! Deleting records whose retention period has passed (SECURITY.md R1, DESIGN.md R4): decided
//! cases at an authority node, and application records (with their mailbox messages) at the
//! portal. The periods come from the service definitions (`[retention]`); the callers work out
//! the cut-off times, so the SQL here compares timestamps only. Written once for both backends
//! like [`crate::applications`].

use chrono::{DateTime, Utc};

/// A record deleted by the schedule, for the audit log: never content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetentionDeleted {
    pub reference: String,
    pub service_key: String,
    /// The case's authority at a node; `None` for a portal record.
    pub authority: Option<String>,
}

/// When a decided case is due: `decided_at` plus the service's period.
pub fn case_due(decided_at: DateTime<Utc>, case_days: u32) -> DateTime<Utc> {
    decided_at + chrono::Duration::days(i64::from(case_days))
}

macro_rules! retention_queries {
    ($pool:ty) => {
        use chrono::{DateTime, Utc};

        use crate::error::StoreError;
        use crate::retention::RetentionDeleted;

        pub(super) async fn purge_decided_cases(
            pool: &$pool,
            now: DateTime<Utc>,
        ) -> Result<Vec<RetentionDeleted>, StoreError> {
            // Messages, history and unsent status messages of the case go with it (ON DELETE
            // CASCADE); a case opened again has no `retain_until` and stays.
            let rows: Vec<(String, String, String)> = sqlx::query_as(
                "DELETE FROM cases WHERE retain_until IS NOT NULL AND retain_until <= $1 \
                 AND status = 'decided' RETURNING reference, service_key, authority_id",
            )
            .bind(now)
            .fetch_all(pool)
            .await?;
            Ok(rows
                .into_iter()
                .map(|(reference, service_key, authority)| RetentionDeleted {
                    reference,
                    service_key,
                    authority: Some(authority),
                })
                .collect())
        }

        pub(super) async fn case_retain_until(
            pool: &$pool,
            delivery_id: uuid::Uuid,
        ) -> Result<Option<DateTime<Utc>>, StoreError> {
            let row: Option<(Option<DateTime<Utc>>,)> =
                sqlx::query_as("SELECT retain_until FROM cases WHERE delivery_id = $1")
                    .bind(delivery_id.to_string())
                    .fetch_optional(pool)
                    .await?;
            Ok(row.and_then(|(until,)| until))
        }

        pub(super) async fn application_service_keys(
            pool: &$pool,
        ) -> Result<Vec<String>, StoreError> {
            let rows: Vec<(String,)> =
                sqlx::query_as("SELECT DISTINCT service_key FROM applications ORDER BY 1")
                    .fetch_all(pool)
                    .await?;
            Ok(rows.into_iter().map(|(key,)| key).collect())
        }

        pub(super) async fn purge_application_records(
            pool: &$pool,
            service_key: &str,
            changed_before: DateTime<Utc>,
        ) -> Result<Vec<RetentionDeleted>, StoreError> {
            // A record stays while a copy (or a reply) is still on its way, and while a
            // message about it is younger than the period: the last activity counts.
            let rows: Vec<(String, String)> = sqlx::query_as(
                "DELETE FROM applications WHERE service_key = $1 AND updated_at < $2 \
                 AND NOT EXISTS (SELECT 1 FROM deliveries d \
                     WHERE d.reference = applications.reference AND d.state = 'pending') \
                 AND NOT EXISTS (SELECT 1 FROM mailbox_messages m \
                     WHERE m.reference = applications.reference AND m.received_at >= $2) \
                 RETURNING reference, service_key",
            )
            .bind(service_key)
            .bind(changed_before)
            .fetch_all(pool)
            .await?;
            Ok(rows
                .into_iter()
                .map(|(reference, service_key)| RetentionDeleted {
                    reference,
                    service_key,
                    authority: None,
                })
                .collect())
        }
    };
}

pub(crate) use retention_queries;

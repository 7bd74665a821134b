//! How long the portal keeps what it holds about applications (R1, R4): mailbox messages and
//! the applications' metadata (reference, service, status, times). Each service may set its own
//! periods in its definition (`[retention] message_days`, `record_days`); the operator's
//! defaults apply otherwise. Drafts and receipts have their own, shorter rules
//! (`[form] draft_retention_days`, 24 hours).

use chrono::{DateTime, Duration, Utc};
use rathaus_domain::{AuditEvent, ServiceKey};
use rathaus_store::StoreError;

use crate::state::PortalState;

/// The operator's periods, for services that set none.
#[derive(Debug, Clone)]
pub struct RetentionSettings {
    /// A mailbox message is deleted this long after it arrived (`portal.message_retention_days`).
    pub messages: Duration,
    /// An application's metadata is deleted this long after its last change, once every copy
    /// has reached its authority (`portal.record_retention_days`).
    pub records: Duration,
}

/// Messages are kept for a year unless the operator sets otherwise: long enough to answer a
/// question and to download a decision, short enough not to become an archive (R4).
pub const DEFAULT_MESSAGE_RETENTION_DAYS: i64 = 365;

/// Application records are kept for two years after their last change: the citizen can still
/// see what they applied for and when; the authority keeps the case itself under its own rules.
pub const DEFAULT_RECORD_RETENTION_DAYS: i64 = 730;

impl Default for RetentionSettings {
    fn default() -> Self {
        Self {
            messages: Duration::days(DEFAULT_MESSAGE_RETENTION_DAYS),
            records: Duration::days(DEFAULT_RECORD_RETENTION_DAYS),
        }
    }
}

impl PortalState {
    /// When a message about an application of `service_key` that arrives `now` is deleted.
    pub(crate) fn message_expiry(&self, service_key: &str, now: DateTime<Utc>) -> DateTime<Utc> {
        let days = self.service_retention(service_key).message_days;
        now + days.map_or(self.retention.messages, |d| Duration::days(i64::from(d)))
    }

    /// How long records of `service_key` are kept after their last change.
    fn record_period(&self, service_key: &str) -> Duration {
        let days = self.service_retention(service_key).record_days;
        days.map_or(self.retention.records, |d| Duration::days(i64::from(d)))
    }

    fn service_retention(&self, service_key: &str) -> rathaus_domain::Retention {
        service_key
            .parse::<ServiceKey>()
            .ok()
            .and_then(|key| self.catalog.get(&key))
            .and_then(|entry| entry.definition.as_ref())
            .map(|definition| definition.retention)
            .unwrap_or_default()
    }
}

/// Deletes the application records whose period has passed, service by service, each with an
/// audit entry naming only its reference and service; returns how many. Their mailbox messages
/// go with them. Runs in the portal's housekeeping; public for the tests that jump the clock.
pub async fn purge_expired_records(state: &PortalState) -> Result<usize, StoreError> {
    let now = state.clock.now();
    let mut deleted = 0;
    for service_key in state.store.application_service_keys().await? {
        let cutoff = now - state.record_period(&service_key);
        for record in state
            .store
            .purge_application_records(&service_key, cutoff)
            .await?
        {
            deleted += 1;
            crate::accounts::audit::record(
                state,
                AuditEvent::RetentionDeleted,
                None,
                &format!(
                    "application reference={} service={}",
                    record.reference, record.service_key
                ),
            )
            .await;
        }
    }
    Ok(deleted)
}

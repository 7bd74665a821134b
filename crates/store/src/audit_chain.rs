//! The hash chain of the audit log (C5), the same on both backends: an entry's hash is SHA-256
//! over the previous entry's hash and the entry's own fields, so changing, removing or
//! reordering an entry breaks every hash after it. Backends append under a lock so that two
//! writers never chain to the same predecessor.

use chrono::{DateTime, SecondsFormat, SubsecRound, Utc};
use sha2::{Digest, Sha256};

use crate::model::AuditRecord;

/// Times are hashed (and stored) to the microsecond, which both backends keep exactly.
pub(crate) fn stored_time(at: DateTime<Utc>) -> DateTime<Utc> {
    at.trunc_subsecs(6)
}

pub(crate) fn entry_hash(
    prev_hash: &str,
    at: DateTime<Utc>,
    event: &str,
    account: Option<&str>,
    detail: &str,
) -> String {
    let mut hasher = Sha256::new();
    for part in [
        prev_hash,
        &stored_time(at).to_rfc3339_opts(SecondsFormat::Micros, true),
        event,
        account.unwrap_or("-"),
        detail,
    ] {
        // Length-prefixed, so no two different entries hash the same bytes.
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part.as_bytes());
    }
    format!("{:x}", hasher.finalize())
}

pub(crate) fn record_hash(prev_hash: &str, entry: &AuditRecord) -> String {
    entry_hash(
        prev_hash,
        entry.at,
        entry.event.as_str(),
        entry.account_id.map(|a| a.to_string()).as_deref(),
        &entry.detail,
    )
}

/// A stored entry as the verification reads it.
pub(crate) struct ChainRow {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub event: String,
    pub account: Option<String>,
    pub detail: String,
    pub prev_hash: String,
    pub hash: String,
}

/// Walks rows in id order; returns the id of the first entry that does not fit.
pub(crate) fn first_broken(
    rows: &[ChainRow],
    mut previous: Option<String>,
) -> (Option<i64>, Option<String>) {
    for row in rows {
        if row.hash.is_empty() && previous.is_none() {
            continue; // written before the chain existed
        }
        let expected_prev = previous.clone().unwrap_or_default();
        let recomputed = entry_hash(
            &row.prev_hash,
            row.at,
            &row.event,
            row.account.as_deref(),
            &row.detail,
        );
        if row.prev_hash != expected_prev || recomputed != row.hash {
            return (Some(row.id), previous);
        }
        previous = Some(row.hash.clone());
    }
    (None, previous)
}

/// `verify_audit` for one backend: reads the log in id order, a thousand entries at a time, and
/// stops at the first entry that does not fit. `$account` is how the backend reads the account
/// id as text.
macro_rules! verify_audit_fn {
    ($pool:ty, $account:literal) => {
        /// An audit entry with its chain columns, as the verification reads it.
        type AuditChainRow = (
            i64,
            DateTime<Utc>,
            String,
            Option<String>,
            String,
            String,
            String,
        );

        pub(super) async fn verify_audit(
            pool: &$pool,
        ) -> Result<crate::model::AuditVerification, StoreError> {
            let mut after = 0i64;
            let mut previous = None;
            let mut entries = 0u64;
            loop {
                let rows: Vec<AuditChainRow> = sqlx::query_as(concat!(
                    "SELECT id, at, event, ",
                    $account,
                    ", detail, prev_hash, hash FROM audit_log WHERE id > $1 ORDER BY id LIMIT 1000"
                ))
                .bind(after)
                .fetch_all(pool)
                .await?;
                let Some(last) = rows.last() else {
                    return Ok(crate::model::AuditVerification {
                        entries,
                        first_broken: None,
                    });
                };
                after = last.0;
                entries += rows.len() as u64;
                let rows: Vec<crate::audit_chain::ChainRow> = rows
                    .into_iter()
                    .map(|(id, at, event, account, detail, prev_hash, hash)| {
                        crate::audit_chain::ChainRow {
                            id,
                            at,
                            event,
                            account,
                            detail,
                            prev_hash,
                            hash,
                        }
                    })
                    .collect();
                let (broken, last_hash) = crate::audit_chain::first_broken(&rows, previous);
                if broken.is_some() {
                    return Ok(crate::model::AuditVerification {
                        entries,
                        first_broken: broken,
                    });
                }
                previous = last_hash;
            }
        }
    };
}

pub(crate) use verify_audit_fn;

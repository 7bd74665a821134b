//! Persistence of rathaus: one [`Store`] trait, implemented over SQLite (the embedded default,
//! one file per process) and PostgreSQL (production and scale-out).
//!
//! All SQL of the product lives in this crate. Each backend has its own migrations
//! (`migrations/sqlite`, `migrations/postgres`), numbered the same, which [`open`] runs before it
//! hands out the store, so a process never serves with an outdated schema.
//!
//! ```no_run
//! # async fn demo() -> Result<(), rathaus_store::StoreError> {
//! let store = rathaus_store::open("sqlite://data/portal.db", &Default::default()).await?;
//! store.ping().await?;
//! # Ok(()) }
//! ```

mod applications;
mod audit_chain;
mod back_office;
mod delivery;
#[macro_use]
mod delegate;
mod directory;
mod error;
mod identification;
mod messages;
mod model;
pub mod own_data;
mod postgres;
pub mod retention;
mod rows;
mod second_factor;
mod sqlite;
mod store;
#[cfg(feature = "testing")]
pub mod testing;
mod verified;

use std::sync::Arc;

pub use error::{StoreError, redact_url};
pub use identification::{IssuedCode, Redemption};
pub use model::{
    AccountRecord, ApplicationRecord, ApplicationStatus, AuditRecord, AuditVerification,
    AuthorityRecord, Backend, CaseEvent, CaseMessage, CaseQuery, CaseRecord, CaseStatusChange,
    CaseSummary, ClerkRecord, ClerkSessionRecord, DeliveryRoute, DeliveryState, DraftRecord,
    DraftSummary, EmailTokenPurpose, MailboxMessage, MessageDirection, NewApplication,
    NewCaseMessage, NewDelivery, NewEmailToken, NewReply, NodeEndpoint, NodeIdentity, NodeOutbox,
    OutboxEntry, OutboxListing, OutboxStats, OutgoingMessage, OverdueDelivery, PendingDelivery,
    PurgeReport, RecipientRecord, RetriedDelivery, SessionRecord, StatusMessage, StoreOptions,
    SubmitOutcome, SyncReport,
};
pub use postgres::PostgresStore;
pub use second_factor::{PendingSignInRecord, TotpFactorRecord};
pub use sqlite::SqliteStore;
pub use store::Store;
pub use verified::{AttributeScope, VerifiedAttributesRecord};

/// Opens the database named by `url`, migrates it and returns it as a [`Store`].
///
/// - `sqlite:PATH`, `sqlite://PATH` (relative or absolute; the file and its directory are
///   created if missing) or `sqlite::memory:` (tests only) → SQLite in WAL mode with foreign keys
///   enforced.
/// - `postgres://…` or `postgresql://…` → PostgreSQL.
///
/// Anything else is a [`StoreError::InvalidUrl`]. An unreachable database is
/// [`StoreError::Unavailable`] after at most `options.connect_timeout`.
pub async fn open(url: &str, options: &StoreOptions) -> Result<Arc<dyn Store>, StoreError> {
    let store: Arc<dyn Store> = match backend_of(url)? {
        Backend::Sqlite => Arc::new(SqliteStore::open(url, options).await?),
        Backend::Postgres => Arc::new(PostgresStore::open(url, options).await?),
    };
    tracing::info!(backend = %store.backend(), url = %redact_url(url), "database ready");
    Ok(store)
}

/// Which backend a URL names, from its scheme alone.
pub fn backend_of(url: &str) -> Result<Backend, StoreError> {
    let Some((scheme, _)) = url.split_once(':') else {
        return Err(StoreError::invalid_url(
            url,
            "no scheme; expected sqlite:PATH or postgres://HOST/DATABASE",
        ));
    };
    match scheme.to_ascii_lowercase().as_str() {
        "sqlite" => Ok(Backend::Sqlite),
        "postgres" | "postgresql" if url[scheme.len()..].starts_with("://") => {
            Ok(Backend::Postgres)
        }
        "postgres" | "postgresql" => Err(StoreError::invalid_url(
            url,
            "expected postgres://HOST/DATABASE",
        )),
        _ => Err(StoreError::invalid_url(
            url,
            format!(
                "unsupported scheme `{}`; expected sqlite: or postgres://",
                scheme.chars().take(20).collect::<String>()
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes_pick_the_backend() {
        assert_eq!(backend_of("sqlite:x.db").unwrap(), Backend::Sqlite);
        assert_eq!(backend_of("sqlite://data/x.db").unwrap(), Backend::Sqlite);
        assert_eq!(backend_of("SQLite::memory:").unwrap(), Backend::Sqlite);
        assert_eq!(backend_of("postgres://db/x").unwrap(), Backend::Postgres);
        assert_eq!(
            backend_of("postgresql://u:p@db/x").unwrap(),
            Backend::Postgres
        );
        for bad in [
            "mysql://root:pw@db/x",
            "data/x.db",
            "postgres:db",
            "http://x",
        ] {
            let error = backend_of(bad).unwrap_err();
            assert!(
                matches!(error, StoreError::InvalidUrl { .. }),
                "{bad}: {error:?}"
            );
            assert!(!error.to_string().contains(":pw@"), "{error}");
        }
    }
}

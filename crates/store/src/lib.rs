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
mod email_change;
mod error;
mod identification;
mod messages;
mod model;
pub mod organisations;
pub mod own_data;
mod passkeys;
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

pub use email_change::{EmailChangeOutcome, EmailChangeRecord, NewEmailChange};
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
pub use passkeys::{CeremonyPurpose, NewPasskey, PasskeyCeremonyRecord, PasskeyRecord};
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

/// `url` with its database (the path) replaced by `name`, keeping user, host and parameters.
pub fn with_database(url: &str, name: &str) -> String {
    let (main, query) = match url.split_once('?') {
        Some((main, query)) => (main, Some(query)),
        None => (url, None),
    };
    let authority_start = main.find("://").map_or(0, |i| i + 3);
    let after_user = main[authority_start..]
        .rfind('@')
        .map_or(authority_start, |at| authority_start + at + 1);
    let path_start = main[after_user..]
        .find('/')
        .map_or(main.len(), |i| after_user + i);
    let mut out = format!("{}/{name}", &main[..path_start]);
    if let Some(query) = query {
        out.push('?');
        out.push_str(query);
    }
    out
}

/// The database a PostgreSQL URL names (empty when it names none).
pub fn postgres_database_name(url: &str) -> Result<String, StoreError> {
    use std::str::FromStr;
    let options = sqlx::postgres::PgConnectOptions::from_str(url)
        .map_err(|e| StoreError::invalid_url(url, e.to_string()))?;
    Ok(options.get_database().unwrap_or_default().to_owned())
}

/// Creates the PostgreSQL database that `url` names unless it exists, connecting to the same
/// server's `postgres` database as the same user (who must be allowed to create databases).
/// `Ok(true)` when it was created. The name must be letters, digits and underscores.
pub async fn create_postgres_database(url: &str) -> Result<bool, StoreError> {
    use sqlx::Connection;
    use std::str::FromStr;
    let name = postgres_database_name(url)?;
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(StoreError::invalid_url(
            url,
            "the database name must be letters, digits and underscores",
        ));
    }
    let maintenance = sqlx::postgres::PgConnectOptions::from_str(&with_database(url, "postgres"))
        .map_err(|e| StoreError::invalid_url(url, e.to_string()))?;
    let mut admin = sqlx::PgConnection::connect_with(&maintenance).await?;
    let exists: Option<(i32,)> = sqlx::query_as("SELECT 1 FROM pg_database WHERE datname = $1")
        .bind(&name)
        .fetch_optional(&mut admin)
        .await?;
    if exists.is_none() {
        // Checked above: the name needs no escaping beyond the quotes.
        sqlx::query(&format!("CREATE DATABASE \"{name}\""))
            .execute(&mut admin)
            .await?;
    }
    admin.close().await?;
    Ok(exists.is_none())
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

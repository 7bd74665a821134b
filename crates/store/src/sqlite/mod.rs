//! The SQLite backend: one file per process, the embedded default.
//!
//! WAL mode lets readers run beside the single writer; the busy timeout makes a writer wait for
//! the lock instead of failing at once, and a lock still held after it counts as unavailable.

mod accounts;
mod directory;
mod nodes;

mod applications {
    fn account(id: &rathaus_domain::AccountId) -> String {
        id.to_string()
    }
    fn organisation(id: &rathaus_domain::OrganisationId) -> String {
        id.to_string()
    }
    crate::applications::application_queries!(sqlx::SqlitePool, account, organisation);
}

mod delivery {
    crate::delivery::delivery_queries!(sqlx::SqlitePool, "");
}

mod identification {
    fn account(id: &rathaus_domain::AccountId) -> String {
        id.to_string()
    }
    crate::identification::identification_queries!(sqlx::SqlitePool, account);
}

mod second_factor {
    fn account(id: &rathaus_domain::AccountId) -> String {
        id.to_string()
    }
    crate::second_factor::second_factor_queries!(sqlx::SqlitePool, account);
}

mod organisations {
    fn account(id: &rathaus_domain::AccountId) -> String {
        id.to_string()
    }
    fn organisation(id: &rathaus_domain::OrganisationId) -> String {
        id.to_string()
    }
    fn uuid(id: &uuid::Uuid) -> String {
        id.to_string()
    }
    crate::organisations::organisation_queries!(sqlx::SqlitePool, account, organisation, uuid);
}

mod passkeys {
    fn account(id: &rathaus_domain::AccountId) -> String {
        id.to_string()
    }
    fn passkey(id: &rathaus_domain::PasskeyId) -> String {
        id.to_string()
    }
    crate::passkeys::passkey_queries!(sqlx::SqlitePool, account, passkey);
}

mod email_change {
    fn account(id: &rathaus_domain::AccountId) -> String {
        id.to_string()
    }
    crate::email_change::email_change_queries!(sqlx::SqlitePool, account);
}

mod verified {
    fn account(id: &rathaus_domain::AccountId) -> String {
        id.to_string()
    }
    fn session(id: &rathaus_domain::SessionId) -> String {
        id.to_string()
    }
    crate::verified::verified_queries!(sqlx::SqlitePool, account, session);
}

mod own_data {
    fn account(id: &rathaus_domain::AccountId) -> String {
        id.to_string()
    }
    crate::own_data::own_data_queries!(
        sqlx::SqlitePool,
        account,
        "SELECT m.name FROM sqlite_master m, pragma_table_info(m.name) p \
         WHERE m.type = 'table' AND p.name = 'account_id'"
    );
}

mod retention {
    crate::retention::retention_queries!(sqlx::SqlitePool);
}

mod back_office {
    crate::back_office::back_office_queries!(sqlx::SqlitePool);
}

mod messages {
    fn account(id: &rathaus_domain::AccountId) -> String {
        id.to_string()
    }
    crate::messages::message_queries!(sqlx::SqlitePool, sqlx::SqliteConnection, account);
}

use std::str::FromStr;

use chrono::{DateTime, Utc};
use rathaus_domain::{
    AccountId, Email, NodeId, OrganisationId, OrganisationName, OrganisationRole, SessionId,
    TenantDirectory, TenantId,
};
use sqlx::SqlitePool;
use sqlx::migrate::Migrator;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use crate::error::StoreError;
use crate::model::{
    AccountRecord, ApplicationRecord, AuditRecord, AuthorityRecord, Backend, DraftRecord,
    DraftSummary, EmailTokenPurpose, NewApplication, NewEmailToken, NodeEndpoint, NodeIdentity,
    PurgeReport, SessionRecord, StoreOptions, SubmitOutcome, SyncReport,
};

static MIGRATOR: Migrator = sqlx::migrate!("./migrations/sqlite");

/// A [`Store`] over one SQLite file.
///
/// SQLite lets one connection write at a time. With several writing connections, a writer that
/// finds the file locked sleeps in SQLite's busy handler (1, 2, 5, 10 … 100 ms) and tries
/// again, so under load writes wait far longer than the lock is held: 16 submits at a time
/// got p95 220 ms and max 1.1 s behind locks held for well under a millisecond. So every write
/// goes through `pool`, which has exactly one connection: writers queue for it in the pool, in
/// order, without sleeping, and never meet a lock. Reads go to `readers`, a pool of
/// connections that only read (`query_only`); with WAL they see every committed write and
/// never wait for the writer. See docs/performance.md.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    /// The writing connection (and the reads that are not on a hot path).
    pool: SqlitePool,
    /// The reading connections; the same pool as `pool` for an in-memory database.
    readers: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if missing) and migrates the database at a `sqlite:` URL.
    pub async fn open(url: &str, options: &StoreOptions) -> Result<Self, StoreError> {
        let connect = SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreError::invalid_url(url, e.to_string()))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // With WAL, NORMAL loses no committed data on a process crash, only possibly the
            // last transactions on a power loss, and saves an fsync per commit.
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            // Deleted rows are overwritten with zeros, so a draft or an envelope removed from
            // the database does not linger in free pages of the file (C1).
            .pragma("secure_delete", "ON")
            .busy_timeout(options.connect_timeout);
        let in_memory = is_in_memory(url);
        if !in_memory {
            let file = connect.get_filename();
            if file.as_os_str().is_empty() {
                return Err(StoreError::invalid_url(
                    url,
                    "names no file; use sqlite://PATH",
                ));
            }
            if let Some(parent) = file.parent().filter(|p| !p.as_os_str().is_empty()) {
                tokio::fs::create_dir_all(parent).await.map_err(|e| {
                    StoreError::invalid_url(url, format!("cannot create its directory: {e}"))
                })?;
            }
        }
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(options.connect_timeout);
        if in_memory {
            // An in-memory database lives only while a connection to it is open, and each
            // connection would have its own: one pool, its one connection kept.
            let pool = writer
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
                .connect_with(connect)
                .await?;
            MIGRATOR.run(&pool).await?;
            return Ok(Self {
                readers: pool.clone(),
                pool,
            });
        }
        let pool = writer.connect_with(connect.clone()).await?;
        MIGRATOR.run(&pool).await?;
        let readers = SqlitePoolOptions::new()
            .max_connections(options.max_connections.max(1))
            .acquire_timeout(options.connect_timeout)
            .connect_with(connect.pragma("query_only", "ON"))
            .await?;
        Ok(Self { pool, readers })
    }

    fn readers(&self) -> &SqlitePool {
        &self.readers
    }
}

fn is_in_memory(url: &str) -> bool {
    url.contains(":memory:") || url.contains("mode=memory")
}

delegate_store!(SqliteStore, Backend::Sqlite);

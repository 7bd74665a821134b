//! The SQLite backend: one file per process, the embedded default.
//!
//! WAL mode lets readers run beside the single writer; the busy timeout makes a writer wait for
//! the lock instead of failing at once, and a lock still held after it counts as unavailable.

mod accounts;
mod directory;
mod nodes;

use std::str::FromStr;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rathaus_domain::{AccountId, Email, NodeId, SessionId, TenantDirectory, TenantId};
use sqlx::SqlitePool;
use sqlx::migrate::Migrator;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use crate::error::StoreError;
use crate::model::{
    AccountRecord, AuditRecord, AuthorityRecord, Backend, EmailTokenPurpose, NewEmailToken,
    NodeEndpoint, NodeIdentity, SessionRecord, StoreOptions, SyncReport,
};
use crate::store::Store;

static MIGRATOR: Migrator = sqlx::migrate!("./migrations/sqlite");

/// A [`Store`] over one SQLite file.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
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
        let mut pool = SqlitePoolOptions::new()
            .max_connections(options.max_connections.max(1))
            .acquire_timeout(options.connect_timeout);
        if in_memory {
            // An in-memory database lives only while a connection to it is open.
            pool = pool
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None);
        }
        let pool = pool.connect_with(connect).await?;
        MIGRATOR.run(&pool).await?;
        Ok(Self { pool })
    }
}

fn is_in_memory(url: &str) -> bool {
    url.contains(":memory:") || url.contains("mode=memory")
}

#[async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> Backend {
        Backend::Sqlite
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn close(&self) {
        self.pool.close().await;
    }

    async fn sync_directory(
        &self,
        directory: &TenantDirectory,
        now: DateTime<Utc>,
    ) -> Result<SyncReport, StoreError> {
        directory::sync(&self.pool, directory, now).await
    }

    async fn authorities(&self, tenant: &TenantId) -> Result<Vec<AuthorityRecord>, StoreError> {
        directory::authorities(&self.pool, tenant).await
    }

    async fn register_node_endpoint(
        &self,
        node: &NodeId,
        base_url: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        nodes::register_endpoint(&self.pool, node, base_url, now).await
    }

    async fn node_endpoints(&self) -> Result<Vec<NodeEndpoint>, StoreError> {
        nodes::endpoints(&self.pool).await
    }

    async fn node_identity(&self) -> Result<Option<NodeIdentity>, StoreError> {
        nodes::identity(&self.pool).await
    }

    async fn init_node_identity(
        &self,
        node: &NodeId,
        now: DateTime<Utc>,
    ) -> Result<NodeIdentity, StoreError> {
        nodes::init_identity(&self.pool, node, now).await
    }

    async fn create_account(
        &self,
        id: AccountId,
        email: &Email,
        password_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        accounts::create_account(&self.pool, id, email, password_hash, now).await
    }

    async fn account_by_email(&self, email: &Email) -> Result<Option<AccountRecord>, StoreError> {
        accounts::account_by_email(&self.pool, email).await
    }

    async fn account(&self, id: AccountId) -> Result<Option<AccountRecord>, StoreError> {
        accounts::account(&self.pool, id).await
    }

    async fn set_password_hash(
        &self,
        id: AccountId,
        password_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        accounts::set_password_hash(&self.pool, id, password_hash, now).await
    }

    async fn confirm_email(&self, id: AccountId, now: DateTime<Utc>) -> Result<bool, StoreError> {
        accounts::confirm_email(&self.pool, id, now).await
    }

    async fn create_email_token(&self, token: &NewEmailToken) -> Result<(), StoreError> {
        accounts::create_email_token(&self.pool, token).await
    }

    async fn email_token(
        &self,
        token_hash: &str,
        purpose: EmailTokenPurpose,
        now: DateTime<Utc>,
    ) -> Result<Option<AccountId>, StoreError> {
        accounts::email_token(&self.pool, token_hash, purpose, now).await
    }

    async fn use_email_token(
        &self,
        token_hash: &str,
        purpose: EmailTokenPurpose,
        now: DateTime<Utc>,
    ) -> Result<Option<AccountId>, StoreError> {
        accounts::use_email_token(&self.pool, token_hash, purpose, now).await
    }

    async fn create_session(&self, session: &SessionRecord) -> Result<(), StoreError> {
        accounts::create_session(&self.pool, session).await
    }

    async fn session(
        &self,
        token_hash: &str,
    ) -> Result<Option<(SessionRecord, AccountRecord)>, StoreError> {
        accounts::session(&self.pool, token_hash).await
    }

    async fn touch_session(&self, token_hash: &str, now: DateTime<Utc>) -> Result<(), StoreError> {
        accounts::touch_session(&self.pool, token_hash, now).await
    }

    async fn delete_session(&self, token_hash: &str) -> Result<bool, StoreError> {
        accounts::delete_session(&self.pool, token_hash).await
    }

    async fn delete_account_session(
        &self,
        account: AccountId,
        id: SessionId,
    ) -> Result<bool, StoreError> {
        accounts::delete_account_session(&self.pool, account, id).await
    }

    async fn delete_sessions_of(&self, account: AccountId) -> Result<u64, StoreError> {
        accounts::delete_sessions_of(&self.pool, account).await
    }

    async fn sessions_of(
        &self,
        account: AccountId,
        idle_since: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Vec<SessionRecord>, StoreError> {
        accounts::sessions_of(&self.pool, account, idle_since, now).await
    }

    async fn purge_sessions(
        &self,
        idle_since: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        accounts::purge_sessions(&self.pool, idle_since, now).await
    }

    async fn record_sign_in_failure(
        &self,
        keys: &[String],
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        accounts::record_sign_in_failure(&self.pool, keys, at).await
    }

    async fn sign_in_failures(
        &self,
        key: &str,
        since: DateTime<Utc>,
    ) -> Result<Vec<DateTime<Utc>>, StoreError> {
        accounts::sign_in_failures(&self.pool, key, since).await
    }

    async fn clear_sign_in_failures(&self, key: &str) -> Result<(), StoreError> {
        accounts::clear_sign_in_failures(&self.pool, key).await
    }

    async fn purge_sign_in_failures(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        accounts::purge_sign_in_failures(&self.pool, before).await
    }

    async fn append_audit(&self, entry: &AuditRecord) -> Result<(), StoreError> {
        accounts::append_audit(&self.pool, entry).await
    }

    async fn audit_entries(&self, limit: u32) -> Result<Vec<AuditRecord>, StoreError> {
        accounts::audit_entries(&self.pool, limit).await
    }

    async fn shared_secret(
        &self,
        name: &str,
        candidate: &[u8],
        now: DateTime<Utc>,
    ) -> Result<Vec<u8>, StoreError> {
        accounts::shared_secret(&self.pool, name, candidate, now).await
    }
}

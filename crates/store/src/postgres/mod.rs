//! The PostgreSQL backend: for production and for several portal processes sharing one
//! database.

mod directory;
mod nodes;

use std::str::FromStr;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rathaus_domain::{NodeId, TenantDirectory, TenantId};
use sqlx::PgPool;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use crate::error::StoreError;
use crate::model::{
    AuthorityRecord, Backend, NodeEndpoint, NodeIdentity, StoreOptions, SyncReport,
};
use crate::store::Store;

static MIGRATOR: Migrator = sqlx::migrate!("./migrations/postgres");

/// A [`Store`] over a PostgreSQL database.
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    /// Connects to and migrates the database at a `postgres://` URL. Migrations take an advisory
    /// lock, so processes starting at once migrate one after the other.
    pub async fn open(url: &str, options: &StoreOptions) -> Result<Self, StoreError> {
        let connect = PgConnectOptions::from_str(url)
            .map_err(|e| StoreError::invalid_url(url, e.to_string()))?;
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections.max(1))
            .acquire_timeout(options.connect_timeout)
            .connect_with(connect)
            .await?;
        MIGRATOR.run(&pool).await?;
        Ok(Self { pool })
    }
}

#[async_trait]
impl Store for PostgresStore {
    fn backend(&self) -> Backend {
        Backend::Postgres
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
}

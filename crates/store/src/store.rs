//! The [`Store`] trait: everything the rest of rathaus may ask of the database.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rathaus_domain::{NodeId, TenantDirectory, TenantId};

use crate::error::StoreError;
use crate::model::{AuthorityRecord, Backend, NodeEndpoint, NodeIdentity, SyncReport};

/// Persistence of rathaus, implemented once per backend and used as `Arc<dyn Store>`.
///
/// The trait is grouped by feature (health, directory, node registry, node identity; accounts,
/// sessions and the outbox will follow). Each backend keeps one module per feature and its impl
/// of this trait only dispatches, so growing the trait grows small modules, not one large file.
///
/// Times are always passed in (`now`): the store never reads the clock, so tests control time.
#[async_trait]
pub trait Store: Send + Sync + std::fmt::Debug {
    // --- health ---------------------------------------------------------------------------

    /// Which backend this is, for logs and `/readyz`.
    fn backend(&self) -> Backend;

    /// Runs a trivial query; fails with [`StoreError::Unavailable`] when the database is down.
    async fn ping(&self) -> Result<(), StoreError>;

    /// Closes the pool and waits for open connections to finish; for graceful shutdown and for
    /// tests that drop their database afterwards. Calls after this fail as unavailable.
    async fn close(&self);

    // --- tenant directory (portal) --------------------------------------------------------

    /// Makes the stored directory of `directory.id` equal to the file, in one transaction:
    /// inserts new districts, authority kinds, authorities and nodes, updates changed ones and
    /// retires (never deletes) those no longer listed. Running it again changes nothing.
    async fn sync_directory(
        &self,
        directory: &TenantDirectory,
        now: DateTime<Utc>,
    ) -> Result<SyncReport, StoreError>;

    /// The tenant's active authorities, ordered by id.
    async fn authorities(&self, tenant: &TenantId) -> Result<Vec<AuthorityRecord>, StoreError>;

    // --- node registry (portal) -----------------------------------------------------------

    /// Records (or replaces) where an authority node listens.
    async fn register_node_endpoint(
        &self,
        node: &NodeId,
        base_url: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Every registered node endpoint, ordered by node id.
    async fn node_endpoints(&self) -> Result<Vec<NodeEndpoint>, StoreError>;

    // --- node identity (authority node's own database) ------------------------------------

    /// Which node this database belongs to, if it has been initialised.
    async fn node_identity(&self) -> Result<Option<NodeIdentity>, StoreError>;

    /// Initialises the database for `node` on first start and returns the stored identity after
    /// that. Fails with [`StoreError::NodeMismatch`] if the database belongs to another node.
    async fn init_node_identity(
        &self,
        node: &NodeId,
        now: DateTime<Utc>,
    ) -> Result<NodeIdentity, StoreError>;
}

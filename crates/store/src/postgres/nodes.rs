//! Node endpoints (portal) and node identity (authority node) on PostgreSQL.

use chrono::{DateTime, Utc};
use rathaus_domain::NodeId;
use sqlx::PgPool;

use crate::error::StoreError;
use crate::model::{NodeEndpoint, NodeIdentity};
use crate::rows::{NodeEndpointRow, NodeIdentityRow, convert};

pub(super) async fn register_endpoint(
    pool: &PgPool,
    node: &NodeId,
    base_url: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO node_endpoints (node_id, base_url, registered_at) VALUES ($1, $2, $3) \
         ON CONFLICT (node_id) DO UPDATE SET base_url = excluded.base_url, \
         registered_at = excluded.registered_at",
    )
    .bind(node.as_str())
    .bind(base_url)
    .bind(now)
    .execute(pool)
    .await?;
    Ok(())
}

pub(super) async fn endpoints(pool: &PgPool) -> Result<Vec<NodeEndpoint>, StoreError> {
    let rows: Vec<NodeEndpointRow> = sqlx::query_as(
        "SELECT node_id, base_url, registered_at FROM node_endpoints ORDER BY node_id COLLATE \"C\"",
    )
    .fetch_all(pool)
    .await?;
    convert(rows)
}

pub(super) async fn identity(pool: &PgPool) -> Result<Option<NodeIdentity>, StoreError> {
    let row: Option<NodeIdentityRow> =
        sqlx::query_as("SELECT node_id, created_at FROM node_identity WHERE singleton")
            .fetch_optional(pool)
            .await?;
    row.map(NodeIdentity::try_from).transpose()
}

pub(super) async fn init_identity(
    pool: &PgPool,
    node: &NodeId,
    now: DateTime<Utc>,
) -> Result<NodeIdentity, StoreError> {
    // Insert-if-absent then read: two processes starting at once agree on the first writer.
    sqlx::query(
        "INSERT INTO node_identity (singleton, node_id, created_at) VALUES (TRUE, $1, $2) \
         ON CONFLICT (singleton) DO NOTHING",
    )
    .bind(node.as_str())
    .bind(now)
    .execute(pool)
    .await?;
    let row: NodeIdentityRow =
        sqlx::query_as("SELECT node_id, created_at FROM node_identity WHERE singleton")
            .fetch_one(pool)
            .await?;
    crate::rows::check_identity(row.try_into()?, node)
}

//! Rows as the database returns them, and their conversion into domain values.
//!
//! `FromRow` derives are generic over the backend, so both share these structs. Strings read
//! back are parsed into domain types again: a row that no longer parses (edited by hand, written
//! by a newer version) is an internal error, not a panic.

use chrono::{DateTime, Utc};
use rathaus_domain::Text;
use sqlx::{ColumnIndex, Decode, FromRow, Row, Type};

use crate::directory::{Row as DirectoryRow, StoredRow};
use crate::error::StoreError;
use crate::model::{AuthorityRecord, NodeEndpoint, NodeIdentity};

#[derive(Debug, FromRow)]
pub(crate) struct AuthorityRow {
    tenant_id: String,
    id: String,
    kind_id: String,
    district_id: Option<String>,
    name_de: String,
    name_en: String,
    node_id: String,
}

impl TryFrom<AuthorityRow> for AuthorityRecord {
    type Error = StoreError;

    fn try_from(row: AuthorityRow) -> Result<Self, Self::Error> {
        Ok(Self {
            id: row.id.parse().map_err(StoreError::corrupt)?,
            tenant: row.tenant_id.parse().map_err(StoreError::corrupt)?,
            kind: row.kind_id.parse().map_err(StoreError::corrupt)?,
            district: row
                .district_id
                .map(|d| d.parse())
                .transpose()
                .map_err(StoreError::corrupt)?,
            name: Text::new(row.name_de, row.name_en).map_err(StoreError::corrupt)?,
            node: row.node_id.parse().map_err(StoreError::corrupt)?,
        })
    }
}

#[derive(Debug, FromRow)]
pub(crate) struct NodeEndpointRow {
    node_id: String,
    base_url: String,
    registered_at: DateTime<Utc>,
}

impl TryFrom<NodeEndpointRow> for NodeEndpoint {
    type Error = StoreError;

    fn try_from(row: NodeEndpointRow) -> Result<Self, Self::Error> {
        Ok(Self {
            node: row.node_id.parse().map_err(StoreError::corrupt)?,
            base_url: row.base_url,
            registered_at: row.registered_at,
        })
    }
}

#[derive(Debug, FromRow)]
pub(crate) struct NodeIdentityRow {
    node_id: String,
    created_at: DateTime<Utc>,
}

impl TryFrom<NodeIdentityRow> for NodeIdentity {
    type Error = StoreError;

    fn try_from(row: NodeIdentityRow) -> Result<Self, Self::Error> {
        Ok(Self {
            node: row.node_id.parse().map_err(StoreError::corrupt)?,
            created_at: row.created_at,
        })
    }
}

/// Converts every row, failing on the first that does not parse.
pub(crate) fn convert<R, T>(rows: Vec<R>) -> Result<Vec<T>, StoreError>
where
    T: TryFrom<R, Error = StoreError>,
{
    rows.into_iter().map(T::try_from).collect()
}

/// Reads a row of [`Table::select_sql`](crate::directory::Table::select_sql): `id`, `columns`
/// data columns, then `retired`.
pub(crate) fn stored_row<'r, R>(row: &'r R, columns: usize) -> Result<StoredRow, sqlx::Error>
where
    R: Row,
    usize: ColumnIndex<R>,
    String: Decode<'r, R::Database> + Type<R::Database>,
    bool: Decode<'r, R::Database> + Type<R::Database>,
{
    let values = (1..=columns)
        .map(|i| row.try_get::<Option<String>, _>(i))
        .collect::<Result<_, _>>()?;
    Ok(StoredRow {
        row: DirectoryRow {
            id: row.try_get(0)?,
            values,
        },
        retired: row.try_get(columns + 1)?,
    })
}

/// Returns the stored identity if it belongs to `requested`; an authority node must never serve
/// from another node's database.
pub(crate) fn check_identity(
    stored: NodeIdentity,
    requested: &rathaus_domain::NodeId,
) -> Result<NodeIdentity, StoreError> {
    if &stored.node == requested {
        Ok(stored)
    } else {
        Err(StoreError::NodeMismatch {
            stored: stored.node,
            requested: requested.clone(),
        })
    }
}

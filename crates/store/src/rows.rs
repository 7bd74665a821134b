//! Rows as the database returns them, and their conversion into domain values.
//!
//! `FromRow` derives are generic over the backend, so both share these structs. Strings read
//! back are parsed into domain types again: a row that no longer parses (edited by hand, written
//! by a newer version) is an internal error, not a panic.

use chrono::{DateTime, Utc};
use rathaus_domain::{Email, Text};
use sqlx::{ColumnIndex, Decode, FromRow, Row, Type};

use crate::directory::{Row as DirectoryRow, StoredRow};
use crate::error::StoreError;
use crate::model::{
    AccountRecord, AuditRecord, AuthorityRecord, NodeEndpoint, NodeIdentity, SessionRecord,
};

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

/// Columns of `accounts` joined as `a`, with ids as text (`{id}` is `::text` on PostgreSQL).
const ACCOUNT_COLUMNS: &str = "a.id{id} AS account_id, a.email, a.password_hash, \
     a.email_confirmed_at, a.assurance_level, a.created_at AS account_created_at, \
     a.updated_at AS account_updated_at";

/// Columns of `sessions` joined as `s`.
const SESSION_COLUMNS: &str = "s.token_hash, s.id{id} AS session_id, \
     s.account_id{id} AS session_account_id, s.csrf_secret, s.level, s.created_at, \
     s.last_seen_at, s.expires_at";

/// The account columns for one backend: `cast` is `""` (SQLite) or `"::text"` (PostgreSQL).
pub(crate) fn account_columns(cast: &str) -> String {
    ACCOUNT_COLUMNS.replace("{id}", cast)
}

/// The session columns for one backend, like [`account_columns`].
pub(crate) fn session_columns(cast: &str) -> String {
    SESSION_COLUMNS.replace("{id}", cast)
}

#[derive(Debug, FromRow)]
pub(crate) struct AccountRow {
    account_id: String,
    email: String,
    password_hash: String,
    email_confirmed_at: Option<DateTime<Utc>>,
    assurance_level: String,
    account_created_at: DateTime<Utc>,
    account_updated_at: DateTime<Utc>,
}

impl TryFrom<AccountRow> for AccountRecord {
    type Error = StoreError;

    fn try_from(row: AccountRow) -> Result<Self, Self::Error> {
        Ok(Self {
            id: row.account_id.parse().map_err(StoreError::corrupt)?,
            email: Email::parse(&row.email).map_err(StoreError::corrupt)?,
            password_hash: row.password_hash,
            email_confirmed_at: row.email_confirmed_at,
            level: row.assurance_level.parse().map_err(StoreError::corrupt)?,
            created_at: row.account_created_at,
            updated_at: row.account_updated_at,
        })
    }
}

#[derive(Debug, FromRow)]
pub(crate) struct SessionRow {
    token_hash: String,
    session_id: String,
    session_account_id: String,
    csrf_secret: String,
    level: String,
    created_at: DateTime<Utc>,
    last_seen_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
}

impl TryFrom<SessionRow> for SessionRecord {
    type Error = StoreError;

    fn try_from(row: SessionRow) -> Result<Self, Self::Error> {
        Ok(Self {
            token_hash: row.token_hash,
            id: row.session_id.parse().map_err(StoreError::corrupt)?,
            account_id: row
                .session_account_id
                .parse()
                .map_err(StoreError::corrupt)?,
            csrf_secret: row.csrf_secret,
            level: row.level.parse().map_err(StoreError::corrupt)?,
            created_at: row.created_at,
            last_seen_at: row.last_seen_at,
            expires_at: row.expires_at,
        })
    }
}

/// A session joined with its account.
#[derive(Debug, FromRow)]
pub(crate) struct SessionAccountRow {
    #[sqlx(flatten)]
    session: SessionRow,
    #[sqlx(flatten)]
    account: AccountRow,
}

impl TryFrom<SessionAccountRow> for (SessionRecord, AccountRecord) {
    type Error = StoreError;

    fn try_from(row: SessionAccountRow) -> Result<Self, Self::Error> {
        Ok((row.session.try_into()?, row.account.try_into()?))
    }
}

#[derive(Debug, FromRow)]
pub(crate) struct AuditRow {
    id: i64,
    at: DateTime<Utc>,
    event: String,
    account_id: Option<String>,
    detail: String,
}

impl TryFrom<AuditRow> for AuditRecord {
    type Error = StoreError;

    fn try_from(row: AuditRow) -> Result<Self, Self::Error> {
        Ok(Self {
            id: row.id,
            at: row.at,
            event: row.event.parse().map_err(StoreError::corrupt)?,
            account_id: row
                .account_id
                .map(|id| id.parse())
                .transpose()
                .map_err(StoreError::corrupt)?,
            detail: row.detail,
        })
    }
}

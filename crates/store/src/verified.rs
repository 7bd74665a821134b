//! Verified attributes for prefilling forms (issue 4), sealed by the portal. Written once for
//! both backends like [`crate::applications`]; only how account and session ids are bound
//! differs (TEXT on SQLite, UUID on PostgreSQL).

use chrono::{DateTime, Utc};
use rathaus_domain::{AccountId, AttributeSource, SessionId};

/// How long verified attributes are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttributeScope {
    /// Until this session ends (sign-out, idle or absolute expiry); the default (R4).
    Session(SessionId),
    /// With the account, because the citizen ticked "remember for prefill".
    Remembered,
}

/// One stored set of verified attributes. The store never sees the attributes themselves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedAttributesRecord {
    pub id: uuid::Uuid,
    pub account: AccountId,
    pub scope: AttributeScope,
    pub source: AttributeSource,
    pub verified_at: DateTime<Utc>,
    /// The `rathaus_domain::VerifiedAttributes` as JSON, sealed by the portal.
    pub sealed: Vec<u8>,
    pub created_at: DateTime<Utc>,
}

macro_rules! verified_queries {
    ($pool:ty, $account:path, $session:path) => {
        use chrono::{DateTime, Utc};
        use rathaus_domain::{AccountId, AttributeSource, SessionId};

        use crate::error::StoreError;
        use crate::verified::{AttributeScope, VerifiedAttributesRecord};

        type Row = (
            String,
            Option<String>,
            String,
            DateTime<Utc>,
            Vec<u8>,
            DateTime<Utc>,
        );

        pub(super) async fn save_verified_attributes(
            pool: &$pool,
            record: &VerifiedAttributesRecord,
        ) -> Result<bool, StoreError> {
            let mut tx = pool.begin().await?;
            // One set per scope: a new check replaces what an earlier one confirmed.
            match record.scope {
                AttributeScope::Session(session) => {
                    sqlx::query("DELETE FROM verified_attributes WHERE session_id = $1")
                        .bind($session(&session))
                        .execute(&mut *tx)
                        .await?;
                }
                AttributeScope::Remembered => {
                    sqlx::query(
                        "DELETE FROM verified_attributes \
                         WHERE account_id = $1 AND session_id IS NULL",
                    )
                    .bind($account(&record.account))
                    .execute(&mut *tx)
                    .await?;
                }
            }
            let session = match record.scope {
                AttributeScope::Session(session) => Some($session(&session)),
                AttributeScope::Remembered => None,
            };
            // The session must be the account's own and still there: otherwise nothing is kept.
            if let Some(session) = &session {
                let owned: Option<(i32,)> =
                    sqlx::query_as("SELECT 1 FROM sessions WHERE id = $1 AND account_id = $2")
                        .bind(session)
                        .bind($account(&record.account))
                        .fetch_optional(&mut *tx)
                        .await?;
                if owned.is_none() {
                    return Ok(false);
                }
            }
            sqlx::query(
                "INSERT INTO verified_attributes \
                 (id, account_id, session_id, source, verified_at, sealed, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(record.id.to_string())
            .bind($account(&record.account))
            .bind(session)
            .bind(record.source.as_str())
            .bind(record.verified_at)
            .bind(&record.sealed)
            .bind(record.created_at)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(true)
        }

        pub(super) async fn verified_attributes(
            pool: &$pool,
            account: &AccountId,
            session: SessionId,
        ) -> Result<Vec<VerifiedAttributesRecord>, StoreError> {
            let rows: Vec<Row> = sqlx::query_as(
                "SELECT id, CAST(session_id AS TEXT), source, verified_at, sealed, created_at \
                 FROM verified_attributes \
                 WHERE account_id = $1 AND (session_id IS NULL OR session_id = $2) \
                 ORDER BY session_id IS NULL, created_at DESC",
            )
            .bind($account(account))
            .bind($session(&session))
            .fetch_all(pool)
            .await?;
            rows.into_iter()
                .map(|(id, session, source, verified_at, sealed, created_at)| {
                    let scope = match session {
                        Some(raw) => AttributeScope::Session(
                            raw.parse::<SessionId>().map_err(StoreError::corrupt)?,
                        ),
                        None => AttributeScope::Remembered,
                    };
                    Ok(VerifiedAttributesRecord {
                        id: id.parse().map_err(StoreError::corrupt)?,
                        account: *account,
                        scope,
                        source: AttributeSource::parse(&source).ok_or_else(|| {
                            StoreError::corrupt(std::io::Error::other("unknown attribute source"))
                        })?,
                        verified_at,
                        sealed,
                        created_at,
                    })
                })
                .collect()
        }

        pub(super) async fn delete_verified_attributes(
            pool: &$pool,
            account: &AccountId,
            scope: AttributeScope,
        ) -> Result<u64, StoreError> {
            let done =
                match scope {
                    AttributeScope::Session(session) => sqlx::query(
                        "DELETE FROM verified_attributes WHERE account_id = $1 AND session_id = $2",
                    )
                    .bind($account(account))
                    .bind($session(&session))
                    .execute(pool)
                    .await?,
                    AttributeScope::Remembered => {
                        sqlx::query(
                            "DELETE FROM verified_attributes \
                         WHERE account_id = $1 AND session_id IS NULL",
                        )
                        .bind($account(account))
                        .execute(pool)
                        .await?
                    }
                };
            Ok(done.rows_affected())
        }
    };
}

pub(crate) use verified_queries;

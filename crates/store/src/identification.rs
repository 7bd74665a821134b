//! One-time identification codes for the in-person check at an authority's counter (portal;
//! SECURITY.md A6, A8). Written once for both backends like [`crate::applications`]; only how
//! an account id is bound differs (TEXT on SQLite, UUID on PostgreSQL).

use chrono::{DateTime, Utc};
use rathaus_domain::{AccountId, AssuranceLevel};

/// The account's code that can still be used, as the level page shows it (never the code).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IssuedCode {
    pub created_at: DateTime<Utc>,
    /// The code is valid while `now < expires_at`.
    pub expires_at: DateTime<Utc>,
}

/// What redeeming a code did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Redemption {
    /// The code was valid and is used now. When the account was below `substantial`, it is
    /// `substantial` now and all its sessions have ended (A8: a new session id at a level
    /// change); an account already higher keeps its level and its sessions.
    Redeemed {
        account: AccountId,
        before: AssuranceLevel,
        after: AssuranceLevel,
        sessions_ended: u64,
        /// The citizen agreed, when asking for the code, that the verified attributes are kept
        /// with the account for prefill.
        remember_attributes: bool,
    },
    /// No account has this code (never issued, or replaced by a newer one).
    Unknown,
    /// The code was not used within its time.
    Expired,
    /// The code was used before.
    Used,
}

macro_rules! identification_queries {
    ($pool:ty, $account:path) => {
        use chrono::{DateTime, Utc};
        use rathaus_domain::{AccountId, AssuranceLevel};

        use crate::error::StoreError;
        use crate::identification::{IssuedCode, Redemption};

        pub(super) async fn issue_identification_code(
            pool: &$pool,
            account: &AccountId,
            code_hash: &str,
            now: DateTime<Utc>,
            expires_at: DateTime<Utc>,
            remember_attributes: bool,
        ) -> Result<(), StoreError> {
            sqlx::query(
                "INSERT INTO identification_codes (account_id, code_hash, created_at, \
                 expires_at, used_at, remember_attributes) VALUES ($1, $2, $3, $4, NULL, $5) \
                 ON CONFLICT (account_id) DO UPDATE SET code_hash = excluded.code_hash, \
                 created_at = excluded.created_at, expires_at = excluded.expires_at, \
                 used_at = NULL, remember_attributes = excluded.remember_attributes",
            )
            .bind($account(account))
            .bind(code_hash)
            .bind(now)
            .bind(expires_at)
            .bind(remember_attributes)
            .execute(pool)
            .await?;
            Ok(())
        }

        pub(super) async fn identification_code(
            pool: &$pool,
            account: &AccountId,
            now: DateTime<Utc>,
        ) -> Result<Option<IssuedCode>, StoreError> {
            let row: Option<(DateTime<Utc>, DateTime<Utc>)> = sqlx::query_as(
                "SELECT created_at, expires_at FROM identification_codes \
                 WHERE account_id = $1 AND used_at IS NULL AND expires_at > $2",
            )
            .bind($account(account))
            .bind(now)
            .fetch_optional(pool)
            .await?;
            Ok(row.map(|(created_at, expires_at)| IssuedCode {
                created_at,
                expires_at,
            }))
        }

        pub(super) async fn redeem_identification_code(
            pool: &$pool,
            code_hash: &str,
            now: DateTime<Utc>,
        ) -> Result<Redemption, StoreError> {
            let mut tx = pool.begin().await?;
            // The conditional update decides: of two redemptions at the same moment, exactly
            // one sees its row change.
            let claimed: Option<(String, bool)> = sqlx::query_as(
                "UPDATE identification_codes SET used_at = $1 \
                 WHERE code_hash = $2 AND used_at IS NULL AND expires_at > $1 \
                 RETURNING CAST(account_id AS TEXT), remember_attributes",
            )
            .bind(now)
            .bind(code_hash)
            .fetch_optional(&mut *tx)
            .await?;
            let Some((account, remember_attributes)) = claimed else {
                let row: Option<(Option<DateTime<Utc>>,)> =
                    sqlx::query_as("SELECT used_at FROM identification_codes WHERE code_hash = $1")
                        .bind(code_hash)
                        .fetch_optional(&mut *tx)
                        .await?;
                tx.rollback().await?;
                return Ok(match row {
                    None => Redemption::Unknown,
                    Some((Some(_),)) => Redemption::Used,
                    Some((None,)) => Redemption::Expired,
                });
            };
            let account: AccountId = account.parse().map_err(StoreError::corrupt)?;
            let (level,): (String,) =
                sqlx::query_as("SELECT assurance_level FROM accounts WHERE id = $1")
                    .bind($account(&account))
                    .fetch_one(&mut *tx)
                    .await?;
            let before: AssuranceLevel = level.parse().map_err(StoreError::corrupt)?;
            let (after, sessions_ended) = if before < AssuranceLevel::Substantial {
                sqlx::query(
                    "UPDATE accounts SET assurance_level = $1, updated_at = $2 WHERE id = $3",
                )
                .bind(AssuranceLevel::Substantial.as_str())
                .bind(now)
                .bind($account(&account))
                .execute(&mut *tx)
                .await?;
                let ended = sqlx::query("DELETE FROM sessions WHERE account_id = $1")
                    .bind($account(&account))
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                (AssuranceLevel::Substantial, ended)
            } else {
                (before, 0)
            };
            tx.commit().await?;
            Ok(Redemption::Redeemed {
                account,
                before,
                after,
                sessions_ended,
                remember_attributes,
            })
        }
    };
}

pub(crate) use identification_queries;

//! The second factor of the Servicekonto (portal): the authenticator (TOTP) of an account, its
//! recovery codes, and sign-ins waiting for the code. Written once for both backends like
//! [`crate::identification`]; only how an account id is bound differs.
//!
//! The store never sees a secret or a code in the clear: the caller seals the TOTP secret and
//! passes keyed digests of recovery codes and SHA-256 digests of pending sign-in tokens.

use chrono::{DateTime, Utc};
use rathaus_domain::AccountId;

/// An account's authenticator as stored.
#[derive(Clone, PartialEq, Eq)]
pub struct TotpFactorRecord {
    /// The shared secret, sealed by the portal.
    pub secret_sealed: Vec<u8>,
    pub created_at: DateTime<Utc>,
    /// `None` while the citizen has not yet confirmed the enrolment with a code: such a factor
    /// does not protect the sign-in.
    pub confirmed_at: Option<DateTime<Utc>>,
    /// The newest time step accepted; codes of this step or older are refused (replay).
    pub last_step: Option<i64>,
    /// Recovery codes not yet used.
    pub recovery_codes_left: u32,
}

impl std::fmt::Debug for TotpFactorRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TotpFactorRecord")
            .field("created_at", &self.created_at)
            .field("confirmed_at", &self.confirmed_at)
            .field("last_step", &self.last_step)
            .field("recovery_codes_left", &self.recovery_codes_left)
            .finish_non_exhaustive()
    }
}

/// A password accepted for an account with a second factor, waiting for the code. Not a
/// session: it opens no page but the code form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingSignInRecord {
    /// SHA-256 of the token in the browser's cookie.
    pub token_hash: String,
    pub account_id: AccountId,
    /// Where to go after the code (a local path, checked by the portal).
    pub next_path: String,
    pub created_at: DateTime<Utc>,
    /// Usable while `now < expires_at`.
    pub expires_at: DateTime<Utc>,
}

macro_rules! second_factor_queries {
    ($pool:ty, $account:path) => {
        use chrono::{DateTime, Utc};
        use rathaus_domain::AccountId;

        use crate::error::StoreError;
        use crate::second_factor::{PendingSignInRecord, TotpFactorRecord};

        pub(super) async fn start_totp_enrolment(
            pool: &$pool,
            account: &AccountId,
            secret_sealed: &[u8],
            now: DateTime<Utc>,
        ) -> Result<bool, StoreError> {
            // A confirmed factor is never overwritten: it has to be removed first (with the
            // password and a code), so a stolen session cannot swap the citizen's authenticator.
            let changed = sqlx::query(
                "INSERT INTO totp_factors (account_id, secret_sealed, created_at, confirmed_at, \
                 last_step) VALUES ($1, $2, $3, NULL, NULL) \
                 ON CONFLICT (account_id) DO UPDATE SET secret_sealed = excluded.secret_sealed, \
                 created_at = excluded.created_at \
                 WHERE totp_factors.confirmed_at IS NULL",
            )
            .bind($account(account))
            .bind(secret_sealed)
            .bind(now)
            .execute(pool)
            .await?
            .rows_affected();
            Ok(changed == 1)
        }

        pub(super) async fn totp_factor(
            pool: &$pool,
            account: &AccountId,
        ) -> Result<Option<TotpFactorRecord>, StoreError> {
            let row: Option<(Vec<u8>, DateTime<Utc>, Option<DateTime<Utc>>, Option<i64>, i64)> =
                sqlx::query_as(
                    "SELECT f.secret_sealed, f.created_at, f.confirmed_at, f.last_step, \
                     (SELECT COUNT(*) FROM recovery_codes r \
                      WHERE r.account_id = f.account_id AND r.used_at IS NULL) \
                     FROM totp_factors f WHERE f.account_id = $1",
                )
                .bind($account(account))
                .fetch_optional(pool)
                .await?;
            Ok(row.map(
                |(secret_sealed, created_at, confirmed_at, last_step, left)| TotpFactorRecord {
                    secret_sealed,
                    created_at,
                    confirmed_at,
                    last_step,
                    recovery_codes_left: u32::try_from(left).unwrap_or(0),
                },
            ))
        }

        pub(super) async fn confirm_totp(
            pool: &$pool,
            account: &AccountId,
            step: i64,
            recovery_hashes: &[String],
            now: DateTime<Utc>,
        ) -> Result<bool, StoreError> {
            let mut tx = pool.begin().await?;
            let confirmed = sqlx::query(
                "UPDATE totp_factors SET confirmed_at = $1, last_step = $2 \
                 WHERE account_id = $3 AND confirmed_at IS NULL",
            )
            .bind(now)
            .bind(step)
            .bind($account(account))
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if confirmed != 1 {
                tx.rollback().await?;
                return Ok(false);
            }
            sqlx::query("DELETE FROM recovery_codes WHERE account_id = $1")
                .bind($account(account))
                .execute(&mut *tx)
                .await?;
            for hash in recovery_hashes {
                sqlx::query(
                    "INSERT INTO recovery_codes (account_id, code_hash, used_at) \
                     VALUES ($1, $2, NULL)",
                )
                .bind($account(account))
                .bind(hash)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            Ok(true)
        }

        pub(super) async fn claim_totp_step(
            pool: &$pool,
            account: &AccountId,
            step: i64,
        ) -> Result<bool, StoreError> {
            // The conditional update decides: of two sign-ins with the same code at the same
            // moment, exactly one sees its row change.
            let claimed = sqlx::query(
                "UPDATE totp_factors SET last_step = $1 WHERE account_id = $2 \
                 AND confirmed_at IS NOT NULL AND (last_step IS NULL OR last_step < $1)",
            )
            .bind(step)
            .bind($account(account))
            .execute(pool)
            .await?
            .rows_affected();
            Ok(claimed == 1)
        }

        pub(super) async fn use_recovery_code(
            pool: &$pool,
            account: &AccountId,
            code_hash: &str,
            now: DateTime<Utc>,
        ) -> Result<bool, StoreError> {
            let used = sqlx::query(
                "UPDATE recovery_codes SET used_at = $1 \
                 WHERE account_id = $2 AND code_hash = $3 AND used_at IS NULL",
            )
            .bind(now)
            .bind($account(account))
            .bind(code_hash)
            .execute(pool)
            .await?
            .rows_affected();
            Ok(used == 1)
        }

        pub(super) async fn remove_totp(
            pool: &$pool,
            account: &AccountId,
        ) -> Result<bool, StoreError> {
            let mut tx = pool.begin().await?;
            sqlx::query("DELETE FROM recovery_codes WHERE account_id = $1")
                .bind($account(account))
                .execute(&mut *tx)
                .await?;
            let removed = sqlx::query("DELETE FROM totp_factors WHERE account_id = $1")
                .bind($account(account))
                .execute(&mut *tx)
                .await?
                .rows_affected();
            tx.commit().await?;
            Ok(removed == 1)
        }

        pub(super) async fn create_pending_sign_in(
            pool: &$pool,
            record: &PendingSignInRecord,
        ) -> Result<(), StoreError> {
            // Expired rows are swept here, the only place new ones come from, so the table
            // stays as small as the sign-ins of the last few minutes.
            sqlx::query("DELETE FROM pending_sign_ins WHERE expires_at <= $1")
                .bind(record.created_at)
                .execute(pool)
                .await?;
            sqlx::query(
                "INSERT INTO pending_sign_ins (token_hash, account_id, next_path, created_at, \
                 expires_at, failures) VALUES ($1, $2, $3, $4, $5, 0)",
            )
            .bind(&record.token_hash)
            .bind($account(&record.account_id))
            .bind(&record.next_path)
            .bind(record.created_at)
            .bind(record.expires_at)
            .execute(pool)
            .await?;
            Ok(())
        }

        pub(super) async fn pending_sign_in(
            pool: &$pool,
            token_hash: &str,
            now: DateTime<Utc>,
        ) -> Result<Option<PendingSignInRecord>, StoreError> {
            let row: Option<(String, String, DateTime<Utc>, DateTime<Utc>)> = sqlx::query_as(
                "SELECT CAST(account_id AS TEXT), next_path, created_at, expires_at \
                 FROM pending_sign_ins WHERE token_hash = $1 AND expires_at > $2",
            )
            .bind(token_hash)
            .bind(now)
            .fetch_optional(pool)
            .await?;
            row.map(|(account, next_path, created_at, expires_at)| {
                Ok(PendingSignInRecord {
                    token_hash: token_hash.to_owned(),
                    account_id: account.parse().map_err(StoreError::corrupt)?,
                    next_path,
                    created_at,
                    expires_at,
                })
            })
            .transpose()
        }

        pub(super) async fn pending_sign_in_failed(
            pool: &$pool,
            token_hash: &str,
            max_failures: u32,
        ) -> Result<bool, StoreError> {
            let max = i32::try_from(max_failures).unwrap_or(i32::MAX);
            sqlx::query(
                "UPDATE pending_sign_ins SET failures = failures + 1 WHERE token_hash = $1",
            )
            .bind(token_hash)
            .execute(pool)
            .await?;
            let ended = sqlx::query(
                "DELETE FROM pending_sign_ins WHERE token_hash = $1 AND failures >= $2",
            )
            .bind(token_hash)
            .bind(max)
            .execute(pool)
            .await?
            .rows_affected();
            Ok(ended == 1)
        }

        pub(super) async fn finish_pending_sign_in(
            pool: &$pool,
            token_hash: &str,
            now: DateTime<Utc>,
        ) -> Result<bool, StoreError> {
            let finished = sqlx::query(
                "DELETE FROM pending_sign_ins WHERE token_hash = $1 AND expires_at > $2",
            )
            .bind(token_hash)
            .bind(now)
            .execute(pool)
            .await?
            .rows_affected();
            Ok(finished == 1)
        }
    };
}

pub(crate) use second_factor_queries;

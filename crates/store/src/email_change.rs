//! Changing the e-mail address of an account (portal): the request waits, by the digest of its
//! single-use token, until the link mailed to the new address is followed. Written once for
//! both backends like [`crate::identification`]; only how an account id is bound differs.

use chrono::{DateTime, Utc};
use rathaus_domain::{AccountId, Email};

/// A new request to change an account's address, by the digest of its token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEmailChange {
    pub token_hash: String,
    pub account_id: AccountId,
    pub new_email: Email,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// An open request, as the confirmation page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailChangeRecord {
    pub account_id: AccountId,
    pub new_email: Email,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// What following the link did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EmailChangeOutcome {
    /// The account now has the new address, confirmed by the link.
    Changed {
        account: AccountId,
        old_email: Email,
        new_email: Email,
    },
    /// Unknown, used or expired: nothing changed.
    Invalid,
    /// Another account has the address now (registered since the request): nothing changed,
    /// and the link is spent.
    AddressTaken { account: AccountId },
}

macro_rules! email_change_queries {
    ($pool:ty, $account:path) => {
        use chrono::{DateTime, Utc};
        use rathaus_domain::{AccountId, Email};

        use crate::email_change::{EmailChangeOutcome, EmailChangeRecord, NewEmailChange};
        use crate::error::StoreError;

        pub(super) async fn request_email_change(
            pool: &$pool,
            change: &NewEmailChange,
        ) -> Result<(), StoreError> {
            let mut tx = pool.begin().await?;
            // One open request per account: an older link stops working when a new one is
            // asked for, so only the newest address can be confirmed.
            sqlx::query("DELETE FROM email_changes WHERE account_id = $1")
                .bind($account(&change.account_id))
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "INSERT INTO email_changes (token_hash, account_id, new_email, created_at, \
                 expires_at, used_at) VALUES ($1, $2, $3, $4, $5, NULL)",
            )
            .bind(&change.token_hash)
            .bind($account(&change.account_id))
            .bind(change.new_email.as_str())
            .bind(change.created_at)
            .bind(change.expires_at)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(())
        }

        pub(super) async fn email_change(
            pool: &$pool,
            token_hash: &str,
            now: DateTime<Utc>,
        ) -> Result<Option<EmailChangeRecord>, StoreError> {
            let row: Option<(String, String, DateTime<Utc>, DateTime<Utc>)> = sqlx::query_as(
                "SELECT CAST(account_id AS TEXT), new_email, created_at, expires_at \
                 FROM email_changes \
                 WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2",
            )
            .bind(token_hash)
            .bind(now)
            .fetch_optional(pool)
            .await?;
            row.map(|(account, email, created_at, expires_at)| {
                Ok(EmailChangeRecord {
                    account_id: account.parse().map_err(StoreError::corrupt)?,
                    new_email: Email::parse(&email).map_err(StoreError::corrupt)?,
                    created_at,
                    expires_at,
                })
            })
            .transpose()
        }

        pub(super) async fn pending_email_change(
            pool: &$pool,
            account: &AccountId,
            now: DateTime<Utc>,
        ) -> Result<Option<EmailChangeRecord>, StoreError> {
            let row: Option<(String, DateTime<Utc>, DateTime<Utc>)> = sqlx::query_as(
                "SELECT new_email, created_at, expires_at FROM email_changes \
                 WHERE account_id = $1 AND used_at IS NULL AND expires_at > $2",
            )
            .bind($account(account))
            .bind(now)
            .fetch_optional(pool)
            .await?;
            row.map(|(email, created_at, expires_at)| {
                Ok(EmailChangeRecord {
                    account_id: *account,
                    new_email: Email::parse(&email).map_err(StoreError::corrupt)?,
                    created_at,
                    expires_at,
                })
            })
            .transpose()
        }

        pub(super) async fn apply_email_change(
            pool: &$pool,
            token_hash: &str,
            now: DateTime<Utc>,
        ) -> Result<EmailChangeOutcome, StoreError> {
            let mut tx = pool.begin().await?;
            // The conditional update decides: of two clicks at the same moment, one wins.
            let claimed: Option<(String, String)> = sqlx::query_as(
                "UPDATE email_changes SET used_at = $1 \
                 WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1 \
                 RETURNING CAST(account_id AS TEXT), new_email",
            )
            .bind(now)
            .bind(token_hash)
            .fetch_optional(&mut *tx)
            .await?;
            let Some((account, new_email)) = claimed else {
                tx.rollback().await?;
                return Ok(EmailChangeOutcome::Invalid);
            };
            let account: AccountId = account.parse().map_err(StoreError::corrupt)?;
            let new_email = Email::parse(&new_email).map_err(StoreError::corrupt)?;
            let (old_email,): (String,) =
                sqlx::query_as("SELECT email FROM accounts WHERE id = $1")
                    .bind($account(&account))
                    .fetch_one(&mut *tx)
                    .await?;
            let old_email = Email::parse(&old_email).map_err(StoreError::corrupt)?;
            let (taken,): (i64,) =
                sqlx::query_as("SELECT COUNT(*) FROM accounts WHERE email_key = $1 AND id <> $2")
                    .bind(new_email.key())
                    .bind($account(&account))
                    .fetch_one(&mut *tx)
                    .await?;
            if taken > 0 {
                // The link is spent either way: it cannot be tried again once the other
                // account is gone.
                tx.commit().await?;
                return Ok(EmailChangeOutcome::AddressTaken { account });
            }
            let updated = sqlx::query(
                "UPDATE accounts SET email = $1, email_key = $2, email_confirmed_at = $3, \
                 updated_at = $3 WHERE id = $4",
            )
            .bind(new_email.as_str())
            .bind(new_email.key())
            .bind(now)
            .bind($account(&account))
            .execute(&mut *tx)
            .await
            .map_err(StoreError::from);
            match updated {
                Ok(_) => {}
                // Registered in the same instant by someone else: the unique key decides.
                Err(e) if e.is_conflict() => {
                    tx.rollback().await?;
                    return Ok(EmailChangeOutcome::AddressTaken { account });
                }
                Err(e) => return Err(e),
            }
            tx.commit().await?;
            Ok(EmailChangeOutcome::Changed {
                account,
                old_email,
                new_email,
            })
        }
    };
}

pub(crate) use email_change_queries;

//! Passkeys of the Servicekonto (portal): the credentials an account signs in with, and the
//! ceremonies between their two requests. Written once for both backends like
//! [`crate::second_factor`]; only how the ids are bound differs.
//!
//! The store never interprets a credential: the portal's relying party hands it JSON text (the
//! public key, the signature counter, flags; no secret) and gets it back unchanged.

use chrono::{DateTime, Utc};
use rathaus_domain::{AccountId, PasskeyId, PasskeyName};

/// A passkey to store with an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPasskey {
    pub id: PasskeyId,
    pub account_id: AccountId,
    pub name: PasskeyName,
    /// The credential id, unpadded base64url; unique among all accounts.
    pub credential_id: String,
    /// The credential as the relying party keeps it.
    pub credential: String,
    pub created_at: DateTime<Utc>,
}

/// A stored passkey.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasskeyRecord {
    pub id: PasskeyId,
    pub account_id: AccountId,
    pub name: PasskeyName,
    pub credential_id: String,
    pub credential: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
}

/// What a ceremony is for, with what its second request needs. The table's CHECK ties the
/// columns to the purpose, so a row can only be read back as one of these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CeremonyPurpose {
    /// Adding a passkey named `name` to the signed-in account.
    Register {
        account_id: AccountId,
        name: PasskeyName,
    },
    /// Signing in; afterwards the browser goes to `next_path` (a local path, checked by the
    /// portal).
    SignIn { next_path: String },
}

/// A ceremony waiting for the browser's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasskeyCeremonyRecord {
    /// SHA-256 of the token in the ceremony's form.
    pub token_hash: String,
    pub purpose: CeremonyPurpose,
    /// The relying party's state (the challenge); never sent to the browser.
    pub state: String,
    pub created_at: DateTime<Utc>,
    /// Usable while `now < expires_at`.
    pub expires_at: DateTime<Utc>,
}

/// A ceremony row whose columns contradict its purpose (the CHECK should make this
/// impossible).
#[derive(Debug, thiserror::Error)]
#[error("passkey ceremony with purpose {0:?} has the wrong columns")]
pub(crate) struct BadCeremony(String);

type PasskeyRow = (
    String,
    String,
    String,
    String,
    String,
    DateTime<Utc>,
    Option<DateTime<Utc>>,
);

pub(crate) fn passkey_from_row(row: PasskeyRow) -> Result<PasskeyRecord, crate::StoreError> {
    use crate::StoreError;
    let (id, account, name, credential_id, credential, created_at, last_used_at) = row;
    Ok(PasskeyRecord {
        id: id.parse().map_err(StoreError::corrupt)?,
        account_id: account.parse().map_err(StoreError::corrupt)?,
        name: PasskeyName::parse(&name).map_err(StoreError::corrupt)?,
        credential_id,
        credential,
        created_at,
        last_used_at,
    })
}

type CeremonyRow = (
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    String,
    DateTime<Utc>,
    DateTime<Utc>,
);

pub(crate) fn ceremony_from_row(
    token_hash: &str,
    row: CeremonyRow,
) -> Result<PasskeyCeremonyRecord, crate::StoreError> {
    use crate::StoreError;
    let (purpose, account, name, next_path, state, created_at, expires_at) = row;
    let purpose = match (purpose.as_str(), account, name, next_path) {
        ("register", Some(account), Some(name), None) => CeremonyPurpose::Register {
            account_id: account.parse().map_err(StoreError::corrupt)?,
            name: PasskeyName::parse(&name).map_err(StoreError::corrupt)?,
        },
        ("sign_in", None, None, Some(next_path)) => CeremonyPurpose::SignIn { next_path },
        _ => return Err(StoreError::corrupt(BadCeremony(purpose))),
    };
    Ok(PasskeyCeremonyRecord {
        token_hash: token_hash.to_owned(),
        purpose,
        state,
        created_at,
        expires_at,
    })
}

macro_rules! passkey_queries {
    ($pool:ty, $account:path, $passkey:path) => {
        use chrono::{DateTime, Utc};
        use rathaus_domain::{AccountId, PasskeyId};

        use crate::error::StoreError;
        use crate::passkeys::{
            CeremonyPurpose, NewPasskey, PasskeyCeremonyRecord, PasskeyRecord, ceremony_from_row,
            passkey_from_row,
        };

        const COLUMNS: &str = "CAST(id AS TEXT), CAST(account_id AS TEXT), name, \
                               credential_id, credential, created_at, last_used_at";

        pub(super) async fn add_passkey(
            pool: &$pool,
            passkey: &NewPasskey,
        ) -> Result<bool, StoreError> {
            let added = sqlx::query(
                "INSERT INTO passkeys (id, account_id, name, credential_id, credential, \
                 created_at, last_used_at) VALUES ($1, $2, $3, $4, $5, $6, NULL)",
            )
            .bind($passkey(&passkey.id))
            .bind($account(&passkey.account_id))
            .bind(passkey.name.as_str())
            .bind(&passkey.credential_id)
            .bind(&passkey.credential)
            .bind(passkey.created_at)
            .execute(pool)
            .await
            .map_err(StoreError::from);
            match added {
                Ok(_) => Ok(true),
                // The credential belongs to an account already (this one or another).
                Err(e) if e.is_conflict() => Ok(false),
                Err(e) => Err(e),
            }
        }

        pub(super) async fn passkeys_of(
            pool: &$pool,
            account: &AccountId,
        ) -> Result<Vec<PasskeyRecord>, StoreError> {
            let rows = sqlx::query_as(&format!(
                "SELECT {COLUMNS} FROM passkeys WHERE account_id = $1 ORDER BY created_at, id"
            ))
            .bind($account(account))
            .fetch_all(pool)
            .await?;
            rows.into_iter().map(passkey_from_row).collect()
        }

        pub(super) async fn passkey_by_credential(
            pool: &$pool,
            credential_id: &str,
        ) -> Result<Option<PasskeyRecord>, StoreError> {
            let row = sqlx::query_as(&format!(
                "SELECT {COLUMNS} FROM passkeys WHERE credential_id = $1"
            ))
            .bind(credential_id)
            .fetch_optional(pool)
            .await?;
            row.map(passkey_from_row).transpose()
        }

        pub(super) async fn passkey_used(
            pool: &$pool,
            id: &PasskeyId,
            credential: Option<&str>,
            now: DateTime<Utc>,
        ) -> Result<(), StoreError> {
            sqlx::query(
                "UPDATE passkeys SET last_used_at = $1, \
                 credential = COALESCE($2, credential) WHERE id = $3",
            )
            .bind(now)
            .bind(credential)
            .bind($passkey(id))
            .execute(pool)
            .await?;
            Ok(())
        }

        pub(super) async fn remove_passkey(
            pool: &$pool,
            account: &AccountId,
            id: &PasskeyId,
        ) -> Result<bool, StoreError> {
            let removed = sqlx::query("DELETE FROM passkeys WHERE id = $1 AND account_id = $2")
                .bind($passkey(id))
                .bind($account(account))
                .execute(pool)
                .await?
                .rows_affected();
            Ok(removed == 1)
        }

        pub(super) async fn start_passkey_ceremony(
            pool: &$pool,
            ceremony: &PasskeyCeremonyRecord,
        ) -> Result<(), StoreError> {
            // Expired rows are swept here, the only place new ones come from, so the table
            // stays as small as the ceremonies of the last few minutes.
            sqlx::query("DELETE FROM passkey_ceremonies WHERE expires_at <= $1")
                .bind(ceremony.created_at)
                .execute(pool)
                .await?;
            let (purpose, account, name, next_path) = match &ceremony.purpose {
                CeremonyPurpose::Register { account_id, name } => (
                    "register",
                    Some($account(account_id)),
                    Some(name.as_str()),
                    None,
                ),
                CeremonyPurpose::SignIn { next_path } => {
                    ("sign_in", None, None, Some(next_path.as_str()))
                }
            };
            sqlx::query(
                "INSERT INTO passkey_ceremonies (token_hash, purpose, account_id, name, \
                 next_path, state, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(&ceremony.token_hash)
            .bind(purpose)
            .bind(account)
            .bind(name)
            .bind(next_path)
            .bind(&ceremony.state)
            .bind(ceremony.created_at)
            .bind(ceremony.expires_at)
            .execute(pool)
            .await?;
            Ok(())
        }

        pub(super) async fn take_passkey_ceremony(
            pool: &$pool,
            token_hash: &str,
            now: DateTime<Utc>,
        ) -> Result<Option<PasskeyCeremonyRecord>, StoreError> {
            // Deleting decides: of two answers to the same challenge, exactly one gets it.
            let row = sqlx::query_as(
                "DELETE FROM passkey_ceremonies WHERE token_hash = $1 AND expires_at > $2 \
                 RETURNING purpose, CAST(account_id AS TEXT), name, next_path, state, \
                 created_at, expires_at",
            )
            .bind(token_hash)
            .bind(now)
            .fetch_optional(pool)
            .await?;
            row.map(|row| ceremony_from_row(token_hash, row))
                .transpose()
        }
    };
}

pub(crate) use passkey_queries;

//! A citizen's own data (GDPR art. 15, 17, 20): the audit entries about an account, and the
//! deletion of an account with everything the law does not require to keep, in one
//! transaction. Written once for both backends like [`crate::applications`].
//!
//! [`ACCOUNT_TABLES`] names every table with an `account_id` column and what an export and a
//! deletion do with it; a test compares it with the schema, so a new table that holds
//! account data cannot be added without deciding both.

/// What happens to a table's rows of an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coverage {
    /// Shown and exported under this section; deleted with the account.
    Deleted { section: &'static str },
    /// Shown and exported under this section; kept after the deletion, detached from the
    /// person, while a duty to keep it lasts (see `docs/operations.md`).
    Detached { section: &'static str },
    /// Shown and exported under this section; kept with the pseudonymous account id, which
    /// leads nowhere once the account row is gone (the audit log: never personal data, L1).
    KeptPseudonymous { section: &'static str },
}

impl Coverage {
    /// The section of the export that holds the table's rows.
    pub fn section(self) -> &'static str {
        match self {
            Self::Deleted { section }
            | Self::Detached { section }
            | Self::KeptPseudonymous { section } => section,
        }
    }
}

/// Every table with an `account_id` column (the `accounts` table itself is the section
/// `account`), with what the export and the deletion do with its rows.
pub const ACCOUNT_TABLES: &[(&str, Coverage)] = &[
    (
        "sessions",
        Coverage::Deleted {
            section: "sessions",
        },
    ),
    // Single-use links in mails: shown as open links (never the token), deleted.
    (
        "email_tokens",
        Coverage::Deleted {
            section: "email_links",
        },
    ),
    // A change of address waiting for its link: shown with the links, with the new address.
    (
        "email_changes",
        Coverage::Deleted {
            section: "email_links",
        },
    ),
    ("audit_log", Coverage::KeptPseudonymous { section: "audit" }),
    ("drafts", Coverage::Deleted { section: "drafts" }),
    (
        "applications",
        Coverage::Detached {
            section: "applications",
        },
    ),
    (
        "verified_attributes",
        Coverage::Deleted {
            section: "verified_attributes",
        },
    ),
    (
        "mailbox_messages",
        Coverage::Deleted {
            section: "messages",
        },
    ),
    (
        "identification_codes",
        Coverage::Deleted {
            section: "identification_code",
        },
    ),
    // The second factor (authenticator app): shown as "set up since", never the secret.
    (
        "totp_factors",
        Coverage::Deleted {
            section: "second_factor",
        },
    ),
    (
        "recovery_codes",
        Coverage::Deleted {
            section: "second_factor",
        },
    ),
    // Memberships of business accounts: shown with the organisation and role, deleted.
    (
        "organisation_members",
        Coverage::Deleted {
            section: "organisations",
        },
    ),
    // Passkeys: shown by name with when they were added and last used, never the key.
    (
        "passkeys",
        Coverage::Deleted {
            section: "passkeys",
        },
    ),
    // A passkey being added (minutes long): nothing to show beyond the passkeys themselves.
    (
        "passkey_ceremonies",
        Coverage::Deleted {
            section: "passkeys",
        },
    ),
    // A sign-in waiting for its second factor: minutes long, shown with the sessions.
    (
        "pending_sign_ins",
        Coverage::Deleted {
            section: "sessions",
        },
    ),
];

/// The account's second factor, as the citizen sees it (never the secret or the codes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OwnSecondFactor {
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub confirmed_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Recovery codes not used yet.
    pub recovery_codes_left: u64,
}

/// An audit entry about the account, as the citizen sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnAuditEntry {
    pub at: chrono::DateTime<chrono::Utc>,
    pub event: rathaus_domain::AuditEvent,
    pub detail: String,
}

/// A single-use link sent by mail that can still be used (never the token itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnEmailLink {
    /// `confirm` or `reset`, as stored, or `change` for a change of address.
    pub purpose: String,
    /// The address a `change` link confirms.
    pub new_email: Option<String>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

/// What a deletion removed and kept, for the audit entry (counts only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DeletionReport {
    pub sessions: u64,
    pub drafts: u64,
    pub applications_deleted: u64,
    /// Applications with a delivery still under way, kept without the account.
    pub applications_detached: u64,
    pub messages: u64,
}

macro_rules! own_data_queries {
    ($pool:ty, $account:path, $columns_sql:expr) => {
        use chrono::{DateTime, Utc};
        use rathaus_domain::AccountId;

        use crate::error::StoreError;
        use crate::own_data::{DeletionReport, OwnAuditEntry, OwnEmailLink, OwnSecondFactor};

        pub(super) async fn audit_entries_of(
            pool: &$pool,
            account: &AccountId,
            limit: u32,
        ) -> Result<Vec<OwnAuditEntry>, StoreError> {
            let rows: Vec<(DateTime<Utc>, String, String)> = sqlx::query_as(
                "SELECT at, event, detail FROM audit_log WHERE account_id = $1 \
                 ORDER BY id DESC LIMIT $2",
            )
            .bind($account(account))
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await?;
            rows.into_iter()
                .map(|(at, event, detail)| {
                    Ok(OwnAuditEntry {
                        at,
                        event: event.parse().map_err(StoreError::corrupt)?,
                        detail,
                    })
                })
                .collect()
        }

        pub(super) async fn email_links_of(
            pool: &$pool,
            account: &AccountId,
            now: DateTime<Utc>,
        ) -> Result<Vec<OwnEmailLink>, StoreError> {
            let rows: Vec<(String, DateTime<Utc>, DateTime<Utc>, Option<String>)> = sqlx::query_as(
                "SELECT purpose, created_at, expires_at, CAST(NULL AS TEXT) FROM email_tokens \
                     WHERE account_id = $1 AND used_at IS NULL AND expires_at > $2 \
                     UNION ALL \
                     SELECT 'change', created_at, expires_at, new_email FROM email_changes \
                     WHERE account_id = $1 AND used_at IS NULL AND expires_at > $2 \
                     ORDER BY 2",
            )
            .bind($account(account))
            .bind(now)
            .fetch_all(pool)
            .await?;
            Ok(rows
                .into_iter()
                .map(
                    |(purpose, created_at, expires_at, new_email)| OwnEmailLink {
                        purpose,
                        new_email,
                        created_at,
                        expires_at,
                    },
                )
                .collect())
        }

        pub(super) async fn second_factor_of(
            pool: &$pool,
            account: &AccountId,
        ) -> Result<Option<OwnSecondFactor>, StoreError> {
            let row: Option<(DateTime<Utc>, Option<DateTime<Utc>>)> = sqlx::query_as(
                "SELECT created_at, confirmed_at FROM totp_factors WHERE account_id = $1",
            )
            .bind($account(account))
            .fetch_optional(pool)
            .await?;
            let Some((created_at, confirmed_at)) = row else {
                return Ok(None);
            };
            let (left,): (i64,) = sqlx::query_as(
                "SELECT COUNT(*) FROM recovery_codes WHERE account_id = $1 AND used_at IS NULL",
            )
            .bind($account(account))
            .fetch_one(pool)
            .await?;
            Ok(Some(OwnSecondFactor {
                created_at,
                confirmed_at,
                recovery_codes_left: u64::try_from(left).unwrap_or(0),
            }))
        }

        pub(super) async fn delete_account(
            pool: &$pool,
            account: &AccountId,
        ) -> Result<Option<DeletionReport>, StoreError> {
            let mut tx = pool.begin().await?;
            let count =
                |table: &'static str| format!("SELECT COUNT(*) FROM {table} WHERE account_id = $1");
            let mut counts = [0_u64; 3];
            for (slot, table) in counts
                .iter_mut()
                .zip(["sessions", "drafts", "mailbox_messages"])
            {
                let (n,): (i64,) = sqlx::query_as(&count(table))
                    .bind($account(account))
                    .fetch_one(&mut *tx)
                    .await?;
                *slot = u64::try_from(n).unwrap_or(0);
            }
            // Applications whose deliveries are all done are needed by nobody once the person
            // is gone (the authority holds the case); those still on their way stay, detached.
            let applications_deleted = sqlx::query(
                "DELETE FROM applications WHERE account_id = $1 AND NOT EXISTS \
                 (SELECT 1 FROM deliveries d WHERE d.reference = applications.reference \
                  AND d.state = 'pending')",
            )
            .bind($account(account))
            .execute(&mut *tx)
            .await?
            .rows_affected();
            // Messages are the person's even where their application stays.
            sqlx::query("DELETE FROM mailbox_messages WHERE account_id = $1")
                .bind($account(account))
                .execute(&mut *tx)
                .await?;
            let applications_detached =
                sqlx::query("UPDATE applications SET account_id = NULL WHERE account_id = $1")
                    .bind($account(account))
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
            // Everything else with an account_id goes with the row (ON DELETE CASCADE);
            // the audit log has no foreign key and keeps the pseudonymous id.
            let deleted = sqlx::query("DELETE FROM accounts WHERE id = $1")
                .bind($account(account))
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if deleted == 0 {
                tx.rollback().await?;
                return Ok(None);
            }
            // An organisation whose only member this was goes with it (the portal refuses to
            // delete the only owner of an organisation that has other members).
            sqlx::query(
                "DELETE FROM organisations WHERE NOT EXISTS \
                 (SELECT 1 FROM organisation_members m WHERE m.organisation_id = organisations.id)",
            )
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(Some(DeletionReport {
                sessions: counts[0],
                drafts: counts[1],
                applications_deleted,
                applications_detached,
                messages: counts[2],
            }))
        }

        pub(super) async fn purge_detached_applications(pool: &$pool) -> Result<u64, StoreError> {
            Ok(sqlx::query(
                "DELETE FROM applications WHERE account_id IS NULL AND NOT EXISTS \
                 (SELECT 1 FROM deliveries d WHERE d.reference = applications.reference \
                  AND d.state = 'pending')",
            )
            .execute(pool)
            .await?
            .rows_affected())
        }

        pub(super) async fn account_columns(pool: &$pool) -> Result<Vec<String>, StoreError> {
            let mut tables: Vec<(String,)> = sqlx::query_as($columns_sql).fetch_all(pool).await?;
            tables.sort();
            tables.dedup();
            Ok(tables.into_iter().map(|(t,)| t).collect())
        }
    };
}

pub(crate) use own_data_queries;

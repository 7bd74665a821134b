//! Business accounts (portal): organisations, their members and invitations, and the
//! applications made in an organisation's name. Written once for both backends like
//! [`crate::identification`]; only how ids are bound differs.
//!
//! Every change of members runs in a transaction that first touches the organisation's row,
//! which takes its row lock on PostgreSQL and the write lock on SQLite: two owners demoting each
//! other at the same moment cannot leave the organisation without an owner.

use chrono::{DateTime, Utc};
use rathaus_domain::{AccountId, Email, OrganisationId, OrganisationName, OrganisationRole};

use crate::model::ApplicationRecord;

/// An organisation as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrganisationRecord {
    pub id: OrganisationId,
    pub name: OrganisationName,
    pub created_at: DateTime<Utc>,
}

/// One account's membership of an organisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    pub organisation: OrganisationRecord,
    pub role: OrganisationRole,
    pub joined_at: DateTime<Utc>,
}

/// A member as the organisation's page lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberRecord {
    pub account_id: AccountId,
    pub email: Email,
    pub role: OrganisationRole,
    pub joined_at: DateTime<Utc>,
}

/// A new invitation, by the digest of its token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewInvitation {
    pub id: uuid::Uuid,
    pub token_hash: String,
    pub organisation: OrganisationId,
    pub email: Email,
    pub role: OrganisationRole,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// An invitation not yet accepted and not expired.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvitationRecord {
    pub id: uuid::Uuid,
    pub organisation: OrganisationRecord,
    pub email: Email,
    pub role: OrganisationRole,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// What accepting an invitation did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Acceptance {
    /// The account is a member now, with the invitation's role.
    Joined {
        organisation: OrganisationId,
        role: OrganisationRole,
    },
    /// The account already was a member; its role is unchanged and the link is spent.
    AlreadyMember { organisation: OrganisationId },
    /// The invitation is for another address: nothing changed, the link still works for
    /// the account with that address.
    OtherAddress,
    /// Unknown, accepted, withdrawn or expired.
    Invalid,
}

/// What removing a member or changing a role did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberChange {
    Done,
    /// Refused: the organisation would have no owner left.
    LastOwner,
    /// The account is no member of the organisation.
    NotMember,
}

/// An application made in an organisation's name, with who made it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrganisationApplication {
    pub application: ApplicationRecord,
    /// `None` once that account is deleted.
    pub submitted_by: Option<Email>,
}

macro_rules! organisation_queries {
    ($pool:ty, $account:path, $organisation:path, $uuid:path) => {
        use chrono::{DateTime, Utc};
        use rathaus_domain::{
            AccountId, Email, OrganisationId, OrganisationName, OrganisationRole,
        };

        use crate::error::StoreError;
        use crate::model::{ApplicationRecord, ApplicationStatus};
        use crate::organisations::{
            Acceptance, InvitationRecord, MemberChange, MemberRecord, Membership, NewInvitation,
            OrganisationApplication, OrganisationRecord,
        };

        fn role(raw: &str) -> Result<OrganisationRole, StoreError> {
            raw.parse().map_err(StoreError::corrupt)
        }

        fn organisation_record(
            id: &str,
            name: &str,
            created_at: DateTime<Utc>,
        ) -> Result<OrganisationRecord, StoreError> {
            Ok(OrganisationRecord {
                id: id.parse().map_err(StoreError::corrupt)?,
                name: OrganisationName::parse(name).map_err(StoreError::corrupt)?,
                created_at,
            })
        }

        /// Takes the organisation's lock for the rest of the transaction; `false` when there
        /// is no such organisation.
        async fn lock(
            tx: &mut sqlx::Transaction<'_, <$pool as crate::organisations::PoolDb>::Db>,
            organisation: &OrganisationId,
        ) -> Result<bool, StoreError> {
            Ok(
                sqlx::query("UPDATE organisations SET name = name WHERE id = $1")
                    .bind($organisation(organisation))
                    .execute(&mut **tx)
                    .await?
                    .rows_affected()
                    == 1,
            )
        }

        async fn owners(
            tx: &mut sqlx::Transaction<'_, <$pool as crate::organisations::PoolDb>::Db>,
            organisation: &OrganisationId,
        ) -> Result<i64, StoreError> {
            let (n,): (i64,) = sqlx::query_as(
                "SELECT COUNT(*) FROM organisation_members \
                 WHERE organisation_id = $1 AND role = 'owner'",
            )
            .bind($organisation(organisation))
            .fetch_one(&mut **tx)
            .await?;
            Ok(n)
        }

        async fn role_of(
            tx: &mut sqlx::Transaction<'_, <$pool as crate::organisations::PoolDb>::Db>,
            organisation: &OrganisationId,
            account: &AccountId,
        ) -> Result<Option<OrganisationRole>, StoreError> {
            let row: Option<(String,)> = sqlx::query_as(
                "SELECT role FROM organisation_members \
                 WHERE organisation_id = $1 AND account_id = $2",
            )
            .bind($organisation(organisation))
            .bind($account(account))
            .fetch_optional(&mut **tx)
            .await?;
            row.map(|(r,)| role(&r)).transpose()
        }

        pub(super) async fn create_organisation(
            pool: &$pool,
            id: &OrganisationId,
            name: &OrganisationName,
            owner: &AccountId,
            now: DateTime<Utc>,
        ) -> Result<(), StoreError> {
            let mut tx = pool.begin().await?;
            sqlx::query("INSERT INTO organisations (id, name, created_at) VALUES ($1, $2, $3)")
                .bind($organisation(id))
                .bind(name.as_str())
                .bind(now)
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "INSERT INTO organisation_members (organisation_id, account_id, role, joined_at) \
                 VALUES ($1, $2, 'owner', $3)",
            )
            .bind($organisation(id))
            .bind($account(owner))
            .bind(now)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(())
        }

        const MEMBERSHIP_COLUMNS: &str = "CAST(o.id AS TEXT), o.name, o.created_at, m.role, \
             m.joined_at FROM organisation_members m \
             JOIN organisations o ON o.id = m.organisation_id";

        type MembershipRow = (String, String, DateTime<Utc>, String, DateTime<Utc>);

        fn membership((id, name, created_at, r, joined_at): MembershipRow) -> Result<Membership, StoreError> {
            Ok(Membership {
                organisation: organisation_record(&id, &name, created_at)?,
                role: role(&r)?,
                joined_at,
            })
        }

        pub(super) async fn organisations_of(
            pool: &$pool,
            account: &AccountId,
        ) -> Result<Vec<Membership>, StoreError> {
            let rows: Vec<MembershipRow> = sqlx::query_as(&format!(
                "SELECT {MEMBERSHIP_COLUMNS} WHERE m.account_id = $1 ORDER BY o.name, o.id"
            ))
            .bind($account(account))
            .fetch_all(pool)
            .await?;
            rows.into_iter().map(membership).collect()
        }

        pub(super) async fn membership_of(
            pool: &$pool,
            organisation: &OrganisationId,
            account: &AccountId,
        ) -> Result<Option<Membership>, StoreError> {
            let row: Option<MembershipRow> = sqlx::query_as(&format!(
                "SELECT {MEMBERSHIP_COLUMNS} WHERE m.organisation_id = $1 AND m.account_id = $2"
            ))
            .bind($organisation(organisation))
            .bind($account(account))
            .fetch_optional(pool)
            .await?;
            row.map(membership).transpose()
        }

        pub(super) async fn organisation_members(
            pool: &$pool,
            organisation: &OrganisationId,
        ) -> Result<Vec<MemberRecord>, StoreError> {
            let rows: Vec<(String, String, String, DateTime<Utc>)> = sqlx::query_as(
                "SELECT CAST(a.id AS TEXT), a.email, m.role, m.joined_at \
                 FROM organisation_members m JOIN accounts a ON a.id = m.account_id \
                 WHERE m.organisation_id = $1 ORDER BY m.role DESC, m.joined_at, a.email",
            )
            .bind($organisation(organisation))
            .fetch_all(pool)
            .await?;
            rows.into_iter()
                .map(|(id, email, r, joined_at)| {
                    Ok(MemberRecord {
                        account_id: id.parse().map_err(StoreError::corrupt)?,
                        email: Email::parse(&email).map_err(StoreError::corrupt)?,
                        role: role(&r)?,
                        joined_at,
                    })
                })
                .collect()
        }

        pub(super) async fn invite_member(
            pool: &$pool,
            invitation: &NewInvitation,
        ) -> Result<bool, StoreError> {
            let mut tx = pool.begin().await?;
            if !lock(&mut tx, &invitation.organisation).await? {
                tx.rollback().await?;
                return Ok(false);
            }
            // One open invitation per address: inviting again sends a fresh link and the
            // older one stops working.
            sqlx::query(
                "DELETE FROM organisation_invitations \
                 WHERE organisation_id = $1 AND email_key = $2 AND accepted_at IS NULL",
            )
            .bind($organisation(&invitation.organisation))
            .bind(invitation.email.key())
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO organisation_invitations (id, token_hash, organisation_id, email, \
                 email_key, role, created_at, expires_at, accepted_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL)",
            )
            .bind($uuid(&invitation.id))
            .bind(&invitation.token_hash)
            .bind($organisation(&invitation.organisation))
            .bind(invitation.email.as_str())
            .bind(invitation.email.key())
            .bind(invitation.role.as_str())
            .bind(invitation.created_at)
            .bind(invitation.expires_at)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(true)
        }

        const INVITATION_COLUMNS: &str = "CAST(i.id AS TEXT), CAST(o.id AS TEXT), o.name, \
             o.created_at, i.email, i.role, i.created_at, i.expires_at \
             FROM organisation_invitations i JOIN organisations o ON o.id = i.organisation_id";

        type InvitationRow = (
            String,
            String,
            String,
            DateTime<Utc>,
            String,
            String,
            DateTime<Utc>,
            DateTime<Utc>,
        );

        fn invitation_record(row: InvitationRow) -> Result<InvitationRecord, StoreError> {
            let (id, org, name, org_created, email, r, created_at, expires_at) = row;
            Ok(InvitationRecord {
                id: id.parse().map_err(StoreError::corrupt)?,
                organisation: organisation_record(&org, &name, org_created)?,
                email: Email::parse(&email).map_err(StoreError::corrupt)?,
                role: role(&r)?,
                created_at,
                expires_at,
            })
        }

        pub(super) async fn open_invitations(
            pool: &$pool,
            organisation: &OrganisationId,
            now: DateTime<Utc>,
        ) -> Result<Vec<InvitationRecord>, StoreError> {
            let rows: Vec<InvitationRow> = sqlx::query_as(&format!(
                "SELECT {INVITATION_COLUMNS} WHERE i.organisation_id = $1 \
                 AND i.accepted_at IS NULL AND i.expires_at > $2 ORDER BY i.created_at, i.email"
            ))
            .bind($organisation(organisation))
            .bind(now)
            .fetch_all(pool)
            .await?;
            rows.into_iter().map(invitation_record).collect()
        }

        pub(super) async fn invitation(
            pool: &$pool,
            token_hash: &str,
            now: DateTime<Utc>,
        ) -> Result<Option<InvitationRecord>, StoreError> {
            let row: Option<InvitationRow> = sqlx::query_as(&format!(
                "SELECT {INVITATION_COLUMNS} WHERE i.token_hash = $1 \
                 AND i.accepted_at IS NULL AND i.expires_at > $2"
            ))
            .bind(token_hash)
            .bind(now)
            .fetch_optional(pool)
            .await?;
            row.map(invitation_record).transpose()
        }

        pub(super) async fn revoke_invitation(
            pool: &$pool,
            organisation: &OrganisationId,
            id: uuid::Uuid,
        ) -> Result<bool, StoreError> {
            Ok(sqlx::query(
                "DELETE FROM organisation_invitations \
                 WHERE id = $1 AND organisation_id = $2 AND accepted_at IS NULL",
            )
            .bind($uuid(&id))
            .bind($organisation(organisation))
            .execute(pool)
            .await?
            .rows_affected()
                == 1)
        }

        pub(super) async fn accept_invitation(
            pool: &$pool,
            token_hash: &str,
            account: &AccountId,
            email: &Email,
            now: DateTime<Utc>,
        ) -> Result<Acceptance, StoreError> {
            let Some(invitation) = invitation(pool, token_hash, now).await? else {
                return Ok(Acceptance::Invalid);
            };
            if invitation.email.key() != email.key() {
                return Ok(Acceptance::OtherAddress);
            }
            let organisation = invitation.organisation.id;
            let mut tx = pool.begin().await?;
            if !lock(&mut tx, &organisation).await? {
                tx.rollback().await?;
                return Ok(Acceptance::Invalid);
            }
            // The conditional update decides: of two clicks at the same moment, one wins.
            let spent = sqlx::query(
                "UPDATE organisation_invitations SET accepted_at = $1 \
                 WHERE token_hash = $2 AND accepted_at IS NULL AND expires_at > $1",
            )
            .bind(now)
            .bind(token_hash)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if spent != 1 {
                tx.rollback().await?;
                return Ok(Acceptance::Invalid);
            }
            if role_of(&mut tx, &organisation, account).await?.is_some() {
                tx.commit().await?;
                return Ok(Acceptance::AlreadyMember { organisation });
            }
            sqlx::query(
                "INSERT INTO organisation_members (organisation_id, account_id, role, joined_at) \
                 VALUES ($1, $2, $3, $4)",
            )
            .bind($organisation(&organisation))
            .bind($account(account))
            .bind(invitation.role.as_str())
            .bind(now)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(Acceptance::Joined {
                organisation,
                role: invitation.role,
            })
        }

        pub(super) async fn remove_member(
            pool: &$pool,
            organisation: &OrganisationId,
            account: &AccountId,
        ) -> Result<MemberChange, StoreError> {
            let mut tx = pool.begin().await?;
            if !lock(&mut tx, organisation).await? {
                tx.rollback().await?;
                return Ok(MemberChange::NotMember);
            }
            let outcome = match role_of(&mut tx, organisation, account).await? {
                None => MemberChange::NotMember,
                Some(OrganisationRole::Owner) if owners(&mut tx, organisation).await? <= 1 => {
                    MemberChange::LastOwner
                }
                Some(_) => {
                    sqlx::query(
                        "DELETE FROM organisation_members \
                         WHERE organisation_id = $1 AND account_id = $2",
                    )
                    .bind($organisation(organisation))
                    .bind($account(account))
                    .execute(&mut *tx)
                    .await?;
                    MemberChange::Done
                }
            };
            tx.commit().await?;
            Ok(outcome)
        }

        pub(super) async fn set_member_role(
            pool: &$pool,
            organisation: &OrganisationId,
            account: &AccountId,
            new_role: OrganisationRole,
        ) -> Result<MemberChange, StoreError> {
            let mut tx = pool.begin().await?;
            if !lock(&mut tx, organisation).await? {
                tx.rollback().await?;
                return Ok(MemberChange::NotMember);
            }
            let outcome = match role_of(&mut tx, organisation, account).await? {
                None => MemberChange::NotMember,
                Some(OrganisationRole::Owner)
                    if new_role == OrganisationRole::Member
                        && owners(&mut tx, organisation).await? <= 1 =>
                {
                    MemberChange::LastOwner
                }
                Some(_) => {
                    sqlx::query(
                        "UPDATE organisation_members SET role = $1 \
                         WHERE organisation_id = $2 AND account_id = $3",
                    )
                    .bind(new_role.as_str())
                    .bind($organisation(organisation))
                    .bind($account(account))
                    .execute(&mut *tx)
                    .await?;
                    MemberChange::Done
                }
            };
            tx.commit().await?;
            Ok(outcome)
        }

        pub(super) async fn sole_owned_organisations(
            pool: &$pool,
            account: &AccountId,
        ) -> Result<Vec<OrganisationRecord>, StoreError> {
            let rows: Vec<(String, String, DateTime<Utc>)> = sqlx::query_as(
                "SELECT CAST(o.id AS TEXT), o.name, o.created_at FROM organisations o \
                 JOIN organisation_members m ON m.organisation_id = o.id \
                 WHERE m.account_id = $1 AND m.role = 'owner' \
                 AND NOT EXISTS (SELECT 1 FROM organisation_members other \
                     WHERE other.organisation_id = o.id AND other.role = 'owner' \
                     AND other.account_id <> m.account_id) \
                 AND EXISTS (SELECT 1 FROM organisation_members other \
                     WHERE other.organisation_id = o.id AND other.account_id <> m.account_id) \
                 ORDER BY o.name",
            )
            .bind($account(account))
            .fetch_all(pool)
            .await?;
            rows.into_iter()
                .map(|(id, name, created_at)| organisation_record(&id, &name, created_at))
                .collect()
        }

        pub(super) async fn organisation_applications(
            pool: &$pool,
            organisation: &OrganisationId,
        ) -> Result<Vec<OrganisationApplication>, StoreError> {
            let rows: Vec<(
                String,
                String,
                String,
                DateTime<Utc>,
                DateTime<Utc>,
                Option<String>,
                Option<String>,
            )> = sqlx::query_as(
                "SELECT p.reference, p.service_key, p.status, p.submitted_at, p.updated_at, \
                 p.organisation_name, a.email FROM applications p \
                 LEFT JOIN accounts a ON a.id = p.account_id \
                 WHERE p.organisation_id = $1 ORDER BY p.submitted_at DESC, p.reference",
            )
            .bind($organisation(organisation))
            .fetch_all(pool)
            .await?;
            rows.into_iter()
                .map(
                    |(reference, service_key, status, submitted_at, updated_at, name, email)| {
                        Ok(OrganisationApplication {
                            application: ApplicationRecord {
                                reference,
                                service_key,
                                organisation: name,
                                status: ApplicationStatus::parse(&status).ok_or_else(|| {
                                    StoreError::corrupt(std::io::Error::other(
                                        "unknown application status",
                                    ))
                                })?,
                                submitted_at,
                                updated_at,
                            },
                            submitted_by: email
                                .map(|e| Email::parse(&e).map_err(StoreError::corrupt))
                                .transpose()?,
                        })
                    },
                )
                .collect()
        }
    };
}

pub(crate) use organisation_queries;

/// The database type of a pool, so the macro can name its transactions.
pub(crate) trait PoolDb {
    type Db: sqlx::Database;
}

impl PoolDb for sqlx::SqlitePool {
    type Db = sqlx::Sqlite;
}

impl PoolDb for sqlx::PgPool {
    type Db = sqlx::Postgres;
}

//! Drafts, applications, the outbox and receipts. The SQL is the same on both backends, so it
//! is written once here and expanded in each backend's module; only how an account id is bound
//! differs (TEXT on SQLite, UUID on PostgreSQL), which each backend passes in as `$account`.

macro_rules! application_queries {
    ($pool:ty, $account:path, $organisation:path) => {
        use chrono::{DateTime, Utc};
        use rathaus_domain::AccountId;

        use crate::error::StoreError;
        use crate::model::{
            ApplicationRecord, ApplicationStatus, DraftRecord, DraftSummary, NewApplication,
            PurgeReport, SubmitOutcome,
        };

        fn parse_uuid(raw: &str) -> Result<uuid::Uuid, StoreError> {
            raw.parse().map_err(StoreError::corrupt)
        }

        pub(super) async fn save_draft(pool: &$pool, draft: &DraftRecord) -> Result<(), StoreError> {
            sqlx::query(
                "INSERT INTO drafts (id, account_id, service_key, sealed, created_at, updated_at, \
                 expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
                 ON CONFLICT (account_id, service_key) DO UPDATE SET sealed = excluded.sealed, \
                 updated_at = excluded.updated_at, expires_at = excluded.expires_at",
            )
            .bind(draft.id.to_string())
            .bind($account(&draft.account))
            .bind(&draft.service_key)
            .bind(&draft.sealed)
            .bind(draft.created_at)
            .bind(draft.updated_at)
            .bind(draft.expires_at)
            .execute(pool)
            .await?;
            Ok(())
        }

        pub(super) async fn draft(
            pool: &$pool,
            account: &AccountId,
            service_key: &str,
            now: DateTime<Utc>,
        ) -> Result<Option<DraftRecord>, StoreError> {
            let row: Option<(String, Vec<u8>, DateTime<Utc>, DateTime<Utc>, DateTime<Utc>)> =
                sqlx::query_as(
                    "SELECT id, sealed, created_at, updated_at, expires_at FROM drafts \
                     WHERE account_id = $1 AND service_key = $2 AND expires_at > $3",
                )
                .bind($account(account))
                .bind(service_key)
                .bind(now)
                .fetch_optional(pool)
                .await?;
            row.map(|(id, sealed, created_at, updated_at, expires_at)| {
                Ok(DraftRecord {
                    id: parse_uuid(&id)?,
                    account: *account,
                    service_key: service_key.to_owned(),
                    sealed,
                    created_at,
                    updated_at,
                    expires_at,
                })
            })
            .transpose()
        }

        pub(super) async fn drafts(
            pool: &$pool,
            account: &AccountId,
            now: DateTime<Utc>,
        ) -> Result<Vec<DraftSummary>, StoreError> {
            let rows: Vec<(String, String, DateTime<Utc>, DateTime<Utc>)> = sqlx::query_as(
                "SELECT id, service_key, updated_at, expires_at FROM drafts \
                 WHERE account_id = $1 AND expires_at > $2 ORDER BY updated_at DESC, id",
            )
            .bind($account(account))
            .bind(now)
            .fetch_all(pool)
            .await?;
            rows.into_iter()
                .map(|(id, service_key, updated_at, expires_at)| {
                    Ok(DraftSummary {
                        id: parse_uuid(&id)?,
                        service_key,
                        updated_at,
                        expires_at,
                    })
                })
                .collect()
        }

        pub(super) async fn delete_draft(
            pool: &$pool,
            account: &AccountId,
            service_key: &str,
        ) -> Result<(), StoreError> {
            sqlx::query("DELETE FROM drafts WHERE account_id = $1 AND service_key = $2")
                .bind($account(account))
                .bind(service_key)
                .execute(pool)
                .await?;
            Ok(())
        }

        pub(super) async fn put_draft_file(
            pool: &$pool,
            draft: uuid::Uuid,
            file: uuid::Uuid,
            sealed: &[u8],
            now: DateTime<Utc>,
        ) -> Result<(), StoreError> {
            sqlx::query(
                "INSERT INTO draft_files (id, draft_id, sealed, created_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(file.to_string())
            .bind(draft.to_string())
            .bind(sealed)
            .bind(now)
            .execute(pool)
            .await?;
            Ok(())
        }

        pub(super) async fn draft_file(
            pool: &$pool,
            account: &AccountId,
            file: uuid::Uuid,
        ) -> Result<Option<Vec<u8>>, StoreError> {
            // Joined with the draft, so an account can only ever read its own files.
            let row: Option<(Vec<u8>,)> = sqlx::query_as(
                "SELECT f.sealed FROM draft_files f JOIN drafts d ON d.id = f.draft_id \
                 WHERE f.id = $1 AND d.account_id = $2",
            )
            .bind(file.to_string())
            .bind($account(account))
            .fetch_optional(pool)
            .await?;
            Ok(row.map(|(sealed,)| sealed))
        }

        pub(super) async fn delete_draft_files(
            pool: &$pool,
            draft: uuid::Uuid,
            files: &[uuid::Uuid],
        ) -> Result<(), StoreError> {
            for file in files {
                sqlx::query("DELETE FROM draft_files WHERE id = $1 AND draft_id = $2")
                    .bind(file.to_string())
                    .bind(draft.to_string())
                    .execute(pool)
                    .await?;
            }
            Ok(())
        }

        pub(super) async fn submit_application(
            pool: &$pool,
            application: &NewApplication,
        ) -> Result<SubmitOutcome, StoreError> {
            if let Some(reference) = reference_of(pool, application.submission_id).await? {
                return Ok(SubmitOutcome::AlreadySubmitted { reference });
            }
            let mut tx = pool.begin().await?;
            let inserted = sqlx::query(
                "INSERT INTO applications (reference, submission_id, account_id, service_key, \
                 status, submitted_at, updated_at, organisation_id, organisation_name) \
                 VALUES ($1, $2, $3, $4, 'queued', $5, $5, $6, $7)",
            )
            .bind(&application.reference)
            .bind(application.submission_id.to_string())
            .bind($account(&application.account))
            .bind(&application.service_key)
            .bind(application.submitted_at)
            .bind(application.organisation.as_ref().map(|(id, _)| $organisation(id)))
            .bind(application.organisation.as_ref().map(|(_, name)| name.as_str().to_owned()))
            .execute(&mut *tx)
            .await;
            match inserted.map_err(StoreError::from) {
                Ok(_) => {}
                // Two clicks raced; the other one won.
                Err(StoreError::Conflict { .. }) => {
                    drop(tx);
                    return match reference_of(pool, application.submission_id).await? {
                        Some(reference) => Ok(SubmitOutcome::AlreadySubmitted { reference }),
                        None => Err(StoreError::corrupt(std::io::Error::other(
                            "application reference clashed",
                        ))),
                    };
                }
                Err(other) => return Err(other),
            }
            for delivery in &application.deliveries {
                sqlx::query(
                    "INSERT INTO deliveries (id, reference, authority_id, node_id, envelope, \
                     state, attempts, next_attempt_at, created_at) \
                     VALUES ($1, $2, $3, $4, $5, 'pending', 0, $6, $6)",
                )
                .bind(delivery.id.to_string())
                .bind(&application.reference)
                .bind(delivery.authority.as_str())
                .bind(delivery.node.as_str())
                .bind(&delivery.envelope)
                .bind(application.submitted_at)
                .execute(&mut *tx)
                .await?;
            }
            if let Some((sealed, expires_at)) = &application.receipt {
                sqlx::query(
                    "INSERT INTO receipts (reference, sealed, expires_at) VALUES ($1, $2, $3)",
                )
                .bind(&application.reference)
                .bind(sealed)
                .bind(*expires_at)
                .execute(&mut *tx)
                .await?;
            }
            sqlx::query("DELETE FROM drafts WHERE account_id = $1 AND service_key = $2")
                .bind($account(&application.account))
                .bind(&application.service_key)
                .execute(&mut *tx)
                .await?;
            rathaus_failpoint::hit(rathaus_failpoint::SUBMIT_BEFORE_COMMIT);
            tx.commit().await?;
            Ok(SubmitOutcome::Submitted)
        }

        async fn reference_of(
            pool: &$pool,
            submission_id: uuid::Uuid,
        ) -> Result<Option<String>, StoreError> {
            let row: Option<(String,)> =
                sqlx::query_as("SELECT reference FROM applications WHERE submission_id = $1")
                    .bind(submission_id.to_string())
                    .fetch_optional(pool)
                    .await?;
            Ok(row.map(|(r,)| r))
        }

        pub(super) async fn application_by_submission(
            pool: &$pool,
            account: &AccountId,
            submission_id: uuid::Uuid,
        ) -> Result<Option<ApplicationRecord>, StoreError> {
            let row: Option<ApplicationRow> = sqlx::query_as(
                "SELECT reference, service_key, status, submitted_at, updated_at, organisation_name \
                 FROM applications WHERE account_id = $1 AND submission_id = $2",
            )
            .bind($account(account))
            .bind(submission_id.to_string())
            .fetch_optional(pool)
            .await?;
            row.map(application_record).transpose()
        }

        pub(super) type ApplicationRow = (
            String,
            String,
            String,
            DateTime<Utc>,
            DateTime<Utc>,
            Option<String>,
        );

        pub(super) fn application_record(row: ApplicationRow) -> Result<ApplicationRecord, StoreError> {
            let (reference, service_key, status, submitted_at, updated_at, organisation) = row;
            Ok(ApplicationRecord {
                reference,
                service_key,
                organisation,
                status: ApplicationStatus::parse(&status).ok_or_else(|| {
                    StoreError::corrupt(std::io::Error::other("unknown application status"))
                })?,
                submitted_at,
                updated_at,
            })
        }

        pub(super) async fn applications(
            pool: &$pool,
            account: &AccountId,
        ) -> Result<Vec<ApplicationRecord>, StoreError> {
            let rows: Vec<ApplicationRow> = sqlx::query_as(
                "SELECT reference, service_key, status, submitted_at, updated_at, organisation_name \
                 FROM applications WHERE account_id = $1 ORDER BY submitted_at DESC, reference",
            )
            .bind($account(account))
            .fetch_all(pool)
            .await?;
            rows.into_iter().map(application_record).collect()
        }

        pub(super) async fn application(
            pool: &$pool,
            account: &AccountId,
            reference: &str,
        ) -> Result<Option<ApplicationRecord>, StoreError> {
            let row: Option<ApplicationRow> = sqlx::query_as(
                "SELECT reference, service_key, status, submitted_at, updated_at, organisation_name \
                 FROM applications WHERE account_id = $1 AND reference = $2",
            )
            .bind($account(account))
            .bind(reference)
            .fetch_optional(pool)
            .await?;
            row.map(application_record).transpose()
        }

        pub(super) async fn receipt(
            pool: &$pool,
            account: &AccountId,
            reference: &str,
            now: DateTime<Utc>,
        ) -> Result<Option<Vec<u8>>, StoreError> {
            let row: Option<(Vec<u8>,)> = sqlx::query_as(
                "SELECT r.sealed FROM receipts r JOIN applications a ON a.reference = r.reference \
                 WHERE r.reference = $1 AND a.account_id = $2 AND r.expires_at > $3",
            )
            .bind(reference)
            .bind($account(account))
            .bind(now)
            .fetch_optional(pool)
            .await?;
            Ok(row.map(|(sealed,)| sealed))
        }

        pub(super) async fn set_assurance_level(
            pool: &$pool,
            account: &AccountId,
            level: rathaus_domain::AssuranceLevel,
            now: DateTime<Utc>,
        ) -> Result<bool, StoreError> {
            let changed = sqlx::query(
                "UPDATE accounts SET assurance_level = $1, updated_at = $2 WHERE id = $3",
            )
            .bind(level.as_str())
            .bind(now)
            .bind($account(account))
            .execute(pool)
            .await?
            .rows_affected();
            Ok(changed == 1)
        }

        pub(super) async fn purge_expired(
            pool: &$pool,
            now: DateTime<Utc>,
        ) -> Result<PurgeReport, StoreError> {
            let drafts = sqlx::query("DELETE FROM drafts WHERE expires_at <= $1")
                .bind(now)
                .execute(pool)
                .await?
                .rows_affected();
            let receipts = sqlx::query("DELETE FROM receipts WHERE expires_at <= $1")
                .bind(now)
                .execute(pool)
                .await?
                .rows_affected();
            // Links and ceremonies nobody can use any more: expired e-mail changes, business
            // account invitations and passkey ceremonies (each also refuses itself once
            // expired; this only keeps the tables small).
            let mut links = 0;
            for table in [
                "email_changes",
                "organisation_invitations",
                "passkey_ceremonies",
            ] {
                links += sqlx::query(&format!("DELETE FROM {table} WHERE expires_at <= $1"))
                    .bind(now)
                    .execute(pool)
                    .await?
                    .rows_affected();
            }
            Ok(PurgeReport {
                drafts,
                receipts,
                links,
            })
        }
    };
}

pub(crate) use application_queries;

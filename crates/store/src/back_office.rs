//! The clerks' back office at an authority node (clerk accounts and sessions, the inbox, status
//! changes with their history and their outbox of messages for the portal), and at the portal
//! the status an authority reports for its delivery. Written once for both backends like
//! [`crate::delivery`]; ids are TEXT on both.

macro_rules! back_office_queries {
    ($pool:ty) => {
        use chrono::{DateTime, Utc};
        use rathaus_domain::{CaseStatus, ClerkId, ClerkRole, Email};

        use crate::error::StoreError;
        use crate::model::{
            ApplicationStatus, CaseEvent, CaseQuery, CaseRecord, CaseStatusChange, CaseSummary,
            ClerkRecord, ClerkSessionRecord, DeliveryRoute, StatusMessage,
        };

        fn corrupt(what: &'static str) -> StoreError {
            StoreError::corrupt(std::io::Error::other(what))
        }

        fn parse_uuid(raw: &str) -> Result<uuid::Uuid, StoreError> {
            raw.parse().map_err(StoreError::corrupt)
        }

        // --- clerks ---------------------------------------------------------------------------

        const CLERK_COLUMNS: &str = "c.id, c.authority_id, c.email, c.display_name, \
             c.password_hash, c.role, c.created_at, c.updated_at";

        type ClerkRow = (
            String,
            String,
            String,
            String,
            String,
            String,
            DateTime<Utc>,
            DateTime<Utc>,
        );

        fn clerk_record(row: ClerkRow) -> Result<ClerkRecord, StoreError> {
            let (id, authority, email, display_name, password_hash, role, created_at, updated_at) =
                row;
            Ok(ClerkRecord {
                id: id.parse().map_err(StoreError::corrupt)?,
                authority,
                email: Email::parse(&email).map_err(StoreError::corrupt)?,
                display_name,
                password_hash,
                role: ClerkRole::parse(&role).ok_or_else(|| corrupt("unknown clerk role"))?,
                created_at,
                updated_at,
            })
        }

        pub(super) async fn create_clerk(
            pool: &$pool,
            clerk: &ClerkRecord,
        ) -> Result<(), StoreError> {
            sqlx::query(
                "INSERT INTO clerks (id, authority_id, email, email_key, display_name, \
                 password_hash, role, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(clerk.id.to_string())
            .bind(&clerk.authority)
            .bind(clerk.email.as_str())
            .bind(clerk.email.key())
            .bind(&clerk.display_name)
            .bind(&clerk.password_hash)
            .bind(clerk.role.as_str())
            .bind(clerk.created_at)
            .bind(clerk.updated_at)
            .execute(pool)
            .await?;
            Ok(())
        }

        pub(super) async fn clerk_by_email(
            pool: &$pool,
            email: &Email,
        ) -> Result<Option<ClerkRecord>, StoreError> {
            let row: Option<ClerkRow> = sqlx::query_as(&format!(
                "SELECT {CLERK_COLUMNS} FROM clerks c WHERE c.email_key = $1"
            ))
            .bind(email.key())
            .fetch_optional(pool)
            .await?;
            row.map(clerk_record).transpose()
        }

        pub(super) async fn set_clerk_password_hash(
            pool: &$pool,
            id: ClerkId,
            password_hash: &str,
            now: DateTime<Utc>,
        ) -> Result<(), StoreError> {
            sqlx::query("UPDATE clerks SET password_hash = $1, updated_at = $2 WHERE id = $3")
                .bind(password_hash)
                .bind(now)
                .bind(id.to_string())
                .execute(pool)
                .await?;
            Ok(())
        }

        // --- clerk sessions -------------------------------------------------------------------

        pub(super) async fn create_clerk_session(
            pool: &$pool,
            session: &ClerkSessionRecord,
        ) -> Result<(), StoreError> {
            sqlx::query(
                "INSERT INTO clerk_sessions (token_hash, clerk_id, csrf_secret, created_at, \
                 last_seen_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(&session.token_hash)
            .bind(session.clerk_id.to_string())
            .bind(&session.csrf_secret)
            .bind(session.created_at)
            .bind(session.last_seen_at)
            .bind(session.expires_at)
            .execute(pool)
            .await?;
            Ok(())
        }

        pub(super) async fn clerk_session(
            pool: &$pool,
            token_hash: &str,
        ) -> Result<Option<(ClerkSessionRecord, ClerkRecord)>, StoreError> {
            let row: Option<(
                String,
                DateTime<Utc>,
                DateTime<Utc>,
                DateTime<Utc>,
                String,
                String,
                String,
                String,
                String,
                String,
                DateTime<Utc>,
                DateTime<Utc>,
            )> = sqlx::query_as(&format!(
                "SELECT s.csrf_secret, s.created_at, s.last_seen_at, s.expires_at, \
                 {CLERK_COLUMNS} FROM clerk_sessions s JOIN clerks c ON c.id = s.clerk_id \
                 WHERE s.token_hash = $1"
            ))
            .bind(token_hash)
            .fetch_optional(pool)
            .await?;
            let Some((csrf_secret, created_at, last_seen_at, expires_at, id, a, e, n, p, r, c, u)) =
                row
            else {
                return Ok(None);
            };
            let clerk = clerk_record((id, a, e, n, p, r, c, u))?;
            Ok(Some((
                ClerkSessionRecord {
                    token_hash: token_hash.to_owned(),
                    clerk_id: clerk.id,
                    csrf_secret,
                    created_at,
                    last_seen_at,
                    expires_at,
                },
                clerk,
            )))
        }

        pub(super) async fn touch_clerk_session(
            pool: &$pool,
            token_hash: &str,
            now: DateTime<Utc>,
        ) -> Result<(), StoreError> {
            sqlx::query("UPDATE clerk_sessions SET last_seen_at = $1 WHERE token_hash = $2")
                .bind(now)
                .bind(token_hash)
                .execute(pool)
                .await?;
            Ok(())
        }

        pub(super) async fn delete_clerk_session(
            pool: &$pool,
            token_hash: &str,
        ) -> Result<bool, StoreError> {
            let deleted = sqlx::query("DELETE FROM clerk_sessions WHERE token_hash = $1")
                .bind(token_hash)
                .execute(pool)
                .await?
                .rows_affected();
            Ok(deleted == 1)
        }

        pub(super) async fn purge_clerk_sessions(
            pool: &$pool,
            idle_since: DateTime<Utc>,
            now: DateTime<Utc>,
        ) -> Result<u64, StoreError> {
            Ok(sqlx::query(
                "DELETE FROM clerk_sessions WHERE last_seen_at <= $1 OR expires_at <= $2",
            )
            .bind(idle_since)
            .bind(now)
            .execute(pool)
            .await?
            .rows_affected())
        }

        // --- cases ----------------------------------------------------------------------------

        pub(super) async fn case_inbox(
            pool: &$pool,
            query: &CaseQuery,
        ) -> Result<Vec<CaseSummary>, StoreError> {
            // `%` and `_` in the search are matched literally.
            let pattern = query.reference.as_ref().map(|r| {
                let escaped = r
                    .to_uppercase()
                    .replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_");
                format!("%{escaped}%")
            });
            let rows: Vec<(String, String, String, String, DateTime<Utc>, DateTime<Utc>)> =
                sqlx::query_as(
                    "SELECT delivery_id, reference, service_key, status, received_at, updated_at \
                     FROM cases WHERE authority_id = $1 AND ($2 IS NULL OR status = $2) \
                     AND ($3 IS NULL OR UPPER(reference) LIKE $3 ESCAPE '\\') \
                     ORDER BY received_at DESC, delivery_id LIMIT $4 OFFSET $5",
                )
                .bind(&query.authority)
                .bind(query.status.map(CaseStatus::as_str))
                .bind(pattern)
                .bind(i64::from(query.limit))
                .bind(i64::from(query.offset))
                .fetch_all(pool)
                .await?;
            rows.into_iter()
                .map(
                    |(id, reference, service_key, status, received_at, updated_at)| {
                        Ok(CaseSummary {
                            delivery_id: parse_uuid(&id)?,
                            reference,
                            service_key,
                            status,
                            received_at,
                            updated_at,
                        })
                    },
                )
                .collect()
        }

        pub(super) async fn authority_case(
            pool: &$pool,
            authority: &str,
            delivery_id: uuid::Uuid,
        ) -> Result<Option<CaseRecord>, StoreError> {
            let row: Option<(
                String,
                String,
                String,
                String,
                Vec<u8>,
                String,
                DateTime<Utc>,
                DateTime<Utc>,
            )> = sqlx::query_as(
                "SELECT delivery_id, reference, authority_id, service_key, envelope, status, \
                 received_at, updated_at FROM cases WHERE delivery_id = $1 AND authority_id = $2",
            )
            .bind(delivery_id.to_string())
            .bind(authority)
            .fetch_optional(pool)
            .await?;
            row.map(
                |(id, reference, authority, service_key, envelope, status, received_at, updated_at)| {
                    Ok(CaseRecord {
                        delivery_id: parse_uuid(&id)?,
                        reference,
                        authority,
                        service_key,
                        envelope,
                        status,
                        received_at,
                        updated_at,
                    })
                },
            )
            .transpose()
        }

        pub(super) async fn case_opened(
            pool: &$pool,
            case_id: uuid::Uuid,
            clerk: ClerkId,
            now: DateTime<Utc>,
        ) -> Result<bool, StoreError> {
            let mut tx = pool.begin().await?;
            // The first look at an untouched case tells the citizen it has been received; a
            // case already worked on (even without being opened) is not reported again.
            let untouched: Option<(String,)> = sqlx::query_as(
                "SELECT reference FROM cases WHERE delivery_id = $1 AND status = 'received' \
                 AND NOT EXISTS (SELECT 1 FROM case_history WHERE case_id = $1)",
            )
            .bind(case_id.to_string())
            .fetch_optional(&mut *tx)
            .await?;
            let Some((reference,)) = untouched else {
                return Ok(false);
            };
            sqlx::query(
                "INSERT INTO case_history (case_id, at, clerk_id, event) \
                 VALUES ($1, $2, $3, 'opened')",
            )
            .bind(case_id.to_string())
            .bind(now)
            .bind(clerk.to_string())
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO status_outbox (case_id, reference, status, created_at) \
                 VALUES ($1, $2, 'received', $3)",
            )
            .bind(case_id.to_string())
            .bind(&reference)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(true)
        }

        pub(super) async fn change_case_status(
            pool: &$pool,
            change: &CaseStatusChange,
        ) -> Result<bool, StoreError> {
            let mut tx = pool.begin().await?;
            if !super::messages::apply_status_change(&mut *tx, change).await? {
                tx.rollback().await?;
                return Ok(false);
            }
            tx.commit().await?;
            Ok(true)
        }

        pub(super) async fn case_history(
            pool: &$pool,
            case_id: uuid::Uuid,
        ) -> Result<Vec<CaseEvent>, StoreError> {
            let rows: Vec<(DateTime<Utc>, Option<String>, String, Option<String>, Option<String>)> =
                sqlx::query_as(
                    "SELECT at, clerk_id, event, from_status, to_status FROM case_history \
                     WHERE case_id = $1 ORDER BY id",
                )
                .bind(case_id.to_string())
                .fetch_all(pool)
                .await?;
            rows.into_iter()
                .map(|(at, clerk, event, from_status, to_status)| {
                    Ok(CaseEvent {
                        at,
                        clerk: clerk
                            .map(|c| c.parse::<ClerkId>())
                            .transpose()
                            .map_err(StoreError::corrupt)?,
                        event,
                        from_status,
                        to_status,
                    })
                })
                .collect()
        }

        // --- the status outbox (authority node) -----------------------------------------------

        pub(super) async fn pending_status_messages(
            pool: &$pool,
            limit: u32,
        ) -> Result<Vec<StatusMessage>, StoreError> {
            let rows: Vec<(i64, String, String, String, DateTime<Utc>)> = sqlx::query_as(
                "SELECT id, case_id, reference, status, created_at FROM status_outbox \
                 ORDER BY id LIMIT $1",
            )
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await?;
            rows.into_iter()
                .map(|(id, case_id, reference, status, created_at)| {
                    Ok(StatusMessage {
                        id,
                        case_id: parse_uuid(&case_id)?,
                        reference,
                        status: CaseStatus::parse(&status)
                            .ok_or_else(|| corrupt("unknown case status"))?,
                        created_at,
                    })
                })
                .collect()
        }

        pub(super) async fn status_message_sent(pool: &$pool, id: i64) -> Result<(), StoreError> {
            sqlx::query("DELETE FROM status_outbox WHERE id = $1")
                .bind(id)
                .execute(pool)
                .await?;
            Ok(())
        }

        pub(super) async fn status_message_failed(
            pool: &$pool,
            id: i64,
            error: &str,
        ) -> Result<(), StoreError> {
            sqlx::query(
                "UPDATE status_outbox SET attempts = attempts + 1, last_error = $1 WHERE id = $2",
            )
            .bind(error.chars().take(500).collect::<String>())
            .bind(id)
            .execute(pool)
            .await?;
            Ok(())
        }

        // --- the status back channel (portal) -------------------------------------------------

        pub(super) async fn delivery_route(
            pool: &$pool,
            delivery_id: uuid::Uuid,
        ) -> Result<Option<DeliveryRoute>, StoreError> {
            let row: Option<(String, String, String, String)> = sqlx::query_as(
                "SELECT d.reference, d.authority_id, d.node_id, a.service_key \
                 FROM deliveries d JOIN applications a ON a.reference = d.reference \
                 WHERE d.id = $1",
            )
            .bind(delivery_id.to_string())
            .fetch_optional(pool)
            .await?;
            Ok(row.map(|(reference, authority, node, service_key)| DeliveryRoute {
                reference,
                authority,
                node,
                service_key,
            }))
        }

        /// Where one delivery stands for the citizen: what its authority reported, else how
        /// far the outbox got.
        fn delivery_status(state: &str, case_status: Option<&str>) -> ApplicationStatus {
            match (case_status.and_then(ApplicationStatus::parse), state) {
                (Some(reported), _) => reported,
                (None, "delivered") => ApplicationStatus::Delivered,
                (None, "dead") => ApplicationStatus::Undeliverable,
                (None, _) => ApplicationStatus::Queued,
            }
        }

        /// The application's status from its deliveries' (one per receiving authority): an
        /// undeliverable copy or a question of any authority comes first, otherwise the least
        /// advanced copy counts, so "decided" means every authority has decided.
        fn application_status(deliveries: &[ApplicationStatus]) -> ApplicationStatus {
            const PROGRESS: [ApplicationStatus; 6] = [
                ApplicationStatus::Queued,
                ApplicationStatus::Delivered,
                ApplicationStatus::Received,
                ApplicationStatus::InProgress,
                ApplicationStatus::NeedsInformation,
                ApplicationStatus::Decided,
            ];
            for first in [
                ApplicationStatus::Undeliverable,
                ApplicationStatus::NeedsInformation,
            ] {
                if deliveries.contains(&first) {
                    return first;
                }
            }
            PROGRESS
                .into_iter()
                .find(|step| deliveries.contains(step))
                .unwrap_or(ApplicationStatus::Queued)
        }

        pub(super) async fn record_case_status(
            pool: &$pool,
            delivery_id: uuid::Uuid,
            status: CaseStatus,
            now: DateTime<Utc>,
        ) -> Result<Option<ApplicationStatus>, StoreError> {
            let mut tx = pool.begin().await?;
            let reference: Option<(String,)> = sqlx::query_as(
                "UPDATE deliveries SET case_status = $1, case_status_at = $2 WHERE id = $3 \
                 RETURNING reference",
            )
            .bind(status.as_str())
            .bind(now)
            .bind(delivery_id.to_string())
            .fetch_optional(&mut *tx)
            .await?;
            let Some((reference,)) = reference else {
                return Ok(None);
            };
            let rows: Vec<(String, Option<String>)> = sqlx::query_as(
                // Replies travel through the outbox too; they are not copies of the application.
                "SELECT state, case_status FROM deliveries WHERE reference = $1 \
                 AND in_reply_to IS NULL",
            )
            .bind(&reference)
            .fetch_all(&mut *tx)
            .await?;
            let statuses: Vec<ApplicationStatus> = rows
                .iter()
                .map(|(state, case_status)| delivery_status(state, case_status.as_deref()))
                .collect();
            let overall = application_status(&statuses);
            sqlx::query("UPDATE applications SET status = $1, updated_at = $2 WHERE reference = $3")
                .bind(overall.as_str())
                .bind(now)
                .bind(&reference)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(Some(overall))
        }
    };
}

pub(crate) use back_office_queries;

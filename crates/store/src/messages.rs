//! Messages between the authority and the citizen (the Postfach): at an authority node the
//! messages of each case and the queue of those not yet accepted by the portal, at the portal
//! the citizen's mailbox and the replies that leave through the delivery outbox. Written once
//! for both backends like [`crate::back_office`]; `$account` binds an account id (TEXT on
//! SQLite, UUID on PostgreSQL) and `$conn` is the backend's connection type, so a decision's
//! status change shares the transaction of its message.

macro_rules! message_queries {
    ($pool:ty, $conn:ty, $account:path) => {
        use chrono::{DateTime, Utc};
        use rathaus_domain::{AccountId, ClerkId};

        use crate::error::StoreError;
        use crate::model::{
            CaseMessage, CaseStatusChange, MailboxMessage, MessageDirection, NewCaseMessage,
            NewReply, OutgoingMessage,
        };

        fn parse_uuid(raw: &str) -> Result<uuid::Uuid, StoreError> {
            raw.parse().map_err(StoreError::corrupt)
        }

        fn direction(raw: &str) -> Result<MessageDirection, StoreError> {
            MessageDirection::parse(raw)
                .ok_or_else(|| StoreError::corrupt(std::io::Error::other("unknown direction")))
        }

        /// Changes a case's status with its history entry and its status message for the
        /// portal, inside the caller's transaction; `false` when the case is not the
        /// authority's or no longer has the status `change.from`.
        pub(super) async fn apply_status_change(
            conn: &mut $conn,
            change: &CaseStatusChange,
        ) -> Result<bool, StoreError> {
            let reference: Option<(String,)> = sqlx::query_as(
                "UPDATE cases SET status = $1, updated_at = $2, retain_until = $6 \
                 WHERE delivery_id = $3 AND authority_id = $4 AND status = $5 RETURNING reference",
            )
            .bind(change.to.as_str())
            .bind(change.at)
            .bind(change.case_id.to_string())
            .bind(&change.authority)
            .bind(change.from.as_str())
            .bind(change.retain_until)
            .fetch_optional(&mut *conn)
            .await?;
            let Some((reference,)) = reference else {
                return Ok(false);
            };
            sqlx::query(
                "INSERT INTO case_history (case_id, at, clerk_id, event, from_status, to_status) \
                 VALUES ($1, $2, $3, 'status_changed', $4, $5)",
            )
            .bind(change.case_id.to_string())
            .bind(change.at)
            .bind(change.clerk.to_string())
            .bind(change.from.as_str())
            .bind(change.to.as_str())
            .execute(&mut *conn)
            .await?;
            sqlx::query(
                "INSERT INTO status_outbox (case_id, reference, status, created_at) \
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(change.case_id.to_string())
            .bind(&reference)
            .bind(change.to.as_str())
            .bind(change.at)
            .execute(&mut *conn)
            .await?;
            Ok(true)
        }

        // --- at the authority node --------------------------------------------------------

        pub(super) async fn record_case_message(
            pool: &$pool,
            message: &NewCaseMessage,
        ) -> Result<bool, StoreError> {
            let mut tx = pool.begin().await?;
            // Writing first takes SQLite's write lock at once (waiting for it if need be); a
            // read first would have to upgrade its lock later, which fails rather than waits.
            let owned: Option<(String,)> = sqlx::query_as(
                "UPDATE cases SET updated_at = $1 WHERE delivery_id = $2 AND authority_id = $3 \
                 RETURNING reference",
            )
            .bind(message.at)
            .bind(message.case_id.to_string())
            .bind(&message.authority)
            .fetch_optional(&mut *tx)
            .await?;
            if owned.is_none() {
                // Rolled back now: a dropped transaction would hold the lock until the
                // connection is used again.
                tx.rollback().await?;
                return Ok(false);
            }
            if let Some(change) = &message.status_change
                && !apply_status_change(&mut *tx, change).await?
            {
                tx.rollback().await?;
                return Ok(false);
            }
            sqlx::query(
                "INSERT INTO case_messages (id, case_id, direction, clerk_id, decision, \
                 envelope, created_at, next_attempt_at) \
                 VALUES ($1, $2, 'to_citizen', $3, $4, $5, $6, $6)",
            )
            .bind(message.id.to_string())
            .bind(message.case_id.to_string())
            .bind(message.clerk.to_string())
            .bind(message.decision)
            .bind(&message.envelope)
            .bind(message.at)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(true)
        }

        pub(super) async fn store_reply(
            pool: &$pool,
            case_id: uuid::Uuid,
            authority: &str,
            reference: &str,
            id: uuid::Uuid,
            envelope: &[u8],
            now: DateTime<Utc>,
        ) -> Result<Option<bool>, StoreError> {
            let mut tx = pool.begin().await?;
            // A write first, for SQLite's lock (see `record_case_message`).
            let owned: Option<(String,)> = sqlx::query_as(
                "UPDATE cases SET updated_at = updated_at WHERE delivery_id = $1 \
                 AND authority_id = $2 AND reference = $3 RETURNING delivery_id",
            )
            .bind(case_id.to_string())
            .bind(authority)
            .bind(reference)
            .fetch_optional(&mut *tx)
            .await?;
            if owned.is_none() {
                tx.rollback().await?;
                return Ok(None);
            }
            // The reply's id is its delivery id: a repeated delivery is stored once.
            let inserted = sqlx::query(
                "INSERT INTO case_messages (id, case_id, direction, decision, envelope, \
                 created_at) VALUES ($1, $2, 'from_citizen', $3, $4, $5) \
                 ON CONFLICT (id) DO NOTHING",
            )
            .bind(id.to_string())
            .bind(case_id.to_string())
            .bind(false)
            .bind(envelope)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if inserted == 1 {
                sqlx::query("UPDATE cases SET updated_at = $1 WHERE delivery_id = $2")
                    .bind(now)
                    .bind(case_id.to_string())
                    .execute(&mut *tx)
                    .await?;
                // The answer to a question: the case is worked on again, and the citizen's
                // application says so.
                let waiting: Option<(String,)> = sqlx::query_as(
                    "UPDATE cases SET status = 'in_progress' WHERE delivery_id = $1 \
                     AND status = 'needs_information' RETURNING reference",
                )
                .bind(case_id.to_string())
                .fetch_optional(&mut *tx)
                .await?;
                if let Some((reference,)) = waiting {
                    sqlx::query(
                        "INSERT INTO case_history (case_id, at, clerk_id, event, from_status, \
                         to_status) VALUES ($1, $2, NULL, 'status_changed', \
                         'needs_information', 'in_progress')",
                    )
                    .bind(case_id.to_string())
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                    sqlx::query(
                        "INSERT INTO status_outbox (case_id, reference, status, created_at) \
                         VALUES ($1, $2, 'in_progress', $3)",
                    )
                    .bind(case_id.to_string())
                    .bind(&reference)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                }
            }
            tx.commit().await?;
            Ok(Some(inserted == 1))
        }

        type CaseMessageRow = (
            String,
            String,
            String,
            Option<String>,
            bool,
            Vec<u8>,
            DateTime<Utc>,
            Option<DateTime<Utc>>,
            i64,
            Option<String>,
        );

        pub(super) async fn case_messages(
            pool: &$pool,
            case_id: uuid::Uuid,
        ) -> Result<Vec<CaseMessage>, StoreError> {
            let rows: Vec<CaseMessageRow> = sqlx::query_as(
                "SELECT id, case_id, direction, clerk_id, decision, envelope, created_at, \
                 sent_at, CAST(attempts AS BIGINT), last_error FROM case_messages \
                 WHERE case_id = $1 ORDER BY created_at, id",
            )
            .bind(case_id.to_string())
            .fetch_all(pool)
            .await?;
            rows.into_iter()
                .map(
                    |(id, case, dir, clerk, decision, envelope, created_at, sent_at, attempts, last_error)| {
                        Ok(CaseMessage {
                            id: parse_uuid(&id)?,
                            case_id: parse_uuid(&case)?,
                            direction: direction(&dir)?,
                            clerk: clerk
                                .map(|c| c.parse::<ClerkId>())
                                .transpose()
                                .map_err(StoreError::corrupt)?,
                            decision,
                            envelope,
                            created_at,
                            sent_at,
                            attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
                            last_error,
                        })
                    },
                )
                .collect()
        }

        pub(super) async fn pending_case_messages(
            pool: &$pool,
            now: DateTime<Utc>,
            limit: u32,
        ) -> Result<Vec<OutgoingMessage>, StoreError> {
            let rows: Vec<(String, String, String, bool, Vec<u8>, i64, DateTime<Utc>)> =
                sqlx::query_as(
                    "SELECT m.id, m.case_id, c.reference, m.decision, m.envelope, \
                     CAST(m.attempts AS BIGINT), m.created_at FROM case_messages m \
                     JOIN cases c ON c.delivery_id = m.case_id \
                     WHERE m.direction = 'to_citizen' AND m.sent_at IS NULL \
                     AND m.next_attempt_at <= $1 ORDER BY m.created_at, m.id LIMIT $2",
                )
                .bind(now)
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await?;
            rows.into_iter()
                .map(|(id, case_id, reference, decision, envelope, attempts, created_at)| {
                    Ok(OutgoingMessage {
                        id: parse_uuid(&id)?,
                        case_id: parse_uuid(&case_id)?,
                        reference,
                        decision,
                        envelope,
                        attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
                        created_at,
                    })
                })
                .collect()
        }

        pub(super) async fn case_message_sent(
            pool: &$pool,
            id: uuid::Uuid,
            now: DateTime<Utc>,
        ) -> Result<(), StoreError> {
            sqlx::query(
                "UPDATE case_messages SET sent_at = $1, attempts = attempts + 1, \
                 last_error = NULL WHERE id = $2 AND sent_at IS NULL",
            )
            .bind(now)
            .bind(id.to_string())
            .execute(pool)
            .await?;
            Ok(())
        }

        pub(super) async fn case_message_failed(
            pool: &$pool,
            id: uuid::Uuid,
            error: &str,
            next_attempt_at: DateTime<Utc>,
        ) -> Result<(), StoreError> {
            sqlx::query(
                "UPDATE case_messages SET attempts = attempts + 1, last_error = $1, \
                 next_attempt_at = $2 WHERE id = $3 AND sent_at IS NULL",
            )
            .bind(error.chars().take(500).collect::<String>())
            .bind(next_attempt_at)
            .bind(id.to_string())
            .execute(pool)
            .await?;
            Ok(())
        }

        // --- at the portal --------------------------------------------------------------------

        pub(super) async fn store_mailbox_message(
            pool: &$pool,
            message: &MailboxMessage,
            files: &[(uuid::Uuid, Vec<u8>)],
        ) -> Result<bool, StoreError> {
            let mut tx = pool.begin().await?;
            let inserted = sqlx::query(
                "INSERT INTO mailbox_messages (id, reference, account_id, delivery_id, \
                 authority_id, direction, decision, sealed, received_at, read_at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
                 ON CONFLICT (id) DO NOTHING",
            )
            .bind(message.id.to_string())
            .bind(&message.reference)
            .bind($account(&message.account))
            .bind(message.delivery_id.to_string())
            .bind(&message.authority)
            .bind(message.direction.as_str())
            .bind(message.decision)
            .bind(&message.sealed)
            .bind(message.received_at)
            .bind(message.read_at)
            .bind(message.expires_at)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if inserted == 0 {
                tx.rollback().await?;
                return Ok(false);
            }
            insert_files(&mut *tx, message.id, files).await?;
            tx.commit().await?;
            Ok(true)
        }

        async fn insert_files(
            conn: &mut $conn,
            message: uuid::Uuid,
            files: &[(uuid::Uuid, Vec<u8>)],
        ) -> Result<(), StoreError> {
            for (id, sealed) in files {
                sqlx::query(
                    "INSERT INTO mailbox_files (id, message_id, sealed) VALUES ($1, $2, $3)",
                )
                .bind(id.to_string())
                .bind(message.to_string())
                .bind(sealed)
                .execute(&mut *conn)
                .await?;
            }
            Ok(())
        }

        pub(super) async fn submit_reply(pool: &$pool, reply: &NewReply) -> Result<(), StoreError> {
            let message = &reply.message;
            let mut tx = pool.begin().await?;
            sqlx::query(
                "INSERT INTO mailbox_messages (id, reference, account_id, delivery_id, \
                 authority_id, direction, decision, sealed, received_at, read_at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5, 'from_citizen', $6, $7, $8, $8, $9)",
            )
            .bind(message.id.to_string())
            .bind(&message.reference)
            .bind($account(&message.account))
            .bind(message.delivery_id.to_string())
            .bind(&message.authority)
            .bind(false)
            .bind(&message.sealed)
            .bind(message.received_at)
            .bind(message.expires_at)
            .execute(&mut *tx)
            .await?;
            insert_files(&mut *tx, message.id, &reply.files).await?;
            sqlx::query(
                "INSERT INTO deliveries (id, reference, authority_id, node_id, envelope, \
                 state, attempts, next_attempt_at, created_at, in_reply_to) \
                 VALUES ($1, $2, $3, $4, $5, 'pending', 0, $6, $6, $7)",
            )
            .bind(message.id.to_string())
            .bind(&message.reference)
            .bind(&message.authority)
            .bind(&reply.node)
            .bind(&reply.envelope)
            .bind(message.received_at)
            .bind(message.delivery_id.to_string())
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(())
        }

        const MAILBOX_COLUMNS: &str = "m.id, m.reference, m.delivery_id, m.authority_id, \
             m.direction, m.decision, m.sealed, m.received_at, m.read_at, m.expires_at, d.state";

        type MailboxRow = (
            String,
            String,
            String,
            String,
            String,
            bool,
            Vec<u8>,
            DateTime<Utc>,
            Option<DateTime<Utc>>,
            DateTime<Utc>,
            Option<String>,
        );

        fn mailbox_message(account: AccountId, row: MailboxRow) -> Result<MailboxMessage, StoreError> {
            let (id, reference, delivery, authority, dir, decision, sealed, received_at, read_at, expires_at, state) =
                row;
            Ok(MailboxMessage {
                id: parse_uuid(&id)?,
                reference,
                account,
                delivery_id: parse_uuid(&delivery)?,
                authority,
                direction: direction(&dir)?,
                decision,
                sealed,
                received_at,
                read_at,
                expires_at,
                delivery_state: state,
            })
        }

        pub(super) async fn mailbox_messages(
            pool: &$pool,
            account: &AccountId,
            now: DateTime<Utc>,
        ) -> Result<Vec<MailboxMessage>, StoreError> {
            let rows: Vec<MailboxRow> = sqlx::query_as(&format!(
                "SELECT {MAILBOX_COLUMNS} FROM mailbox_messages m \
                 LEFT JOIN deliveries d ON d.id = m.id \
                 WHERE m.account_id = $1 AND m.expires_at > $2 \
                 ORDER BY m.received_at DESC, m.id"
            ))
            .bind($account(account))
            .bind(now)
            .fetch_all(pool)
            .await?;
            rows.into_iter().map(|row| mailbox_message(*account, row)).collect()
        }

        pub(super) async fn mailbox_message_of(
            pool: &$pool,
            account: &AccountId,
            id: uuid::Uuid,
            now: DateTime<Utc>,
        ) -> Result<Option<MailboxMessage>, StoreError> {
            let row: Option<MailboxRow> = sqlx::query_as(&format!(
                "SELECT {MAILBOX_COLUMNS} FROM mailbox_messages m \
                 LEFT JOIN deliveries d ON d.id = m.id \
                 WHERE m.account_id = $1 AND m.id = $2 AND m.expires_at > $3"
            ))
            .bind($account(account))
            .bind(id.to_string())
            .bind(now)
            .fetch_optional(pool)
            .await?;
            row.map(|row| mailbox_message(*account, row)).transpose()
        }

        pub(super) async fn mailbox_file(
            pool: &$pool,
            account: &AccountId,
            message: uuid::Uuid,
            file: uuid::Uuid,
            now: DateTime<Utc>,
        ) -> Result<Option<Vec<u8>>, StoreError> {
            let row: Option<(Vec<u8>,)> = sqlx::query_as(
                "SELECT f.sealed FROM mailbox_files f \
                 JOIN mailbox_messages m ON m.id = f.message_id \
                 WHERE f.id = $1 AND f.message_id = $2 AND m.account_id = $3 \
                 AND m.expires_at > $4",
            )
            .bind(file.to_string())
            .bind(message.to_string())
            .bind($account(account))
            .bind(now)
            .fetch_optional(pool)
            .await?;
            Ok(row.map(|(sealed,)| sealed))
        }

        pub(super) async fn mark_message_read(
            pool: &$pool,
            account: &AccountId,
            id: uuid::Uuid,
            now: DateTime<Utc>,
        ) -> Result<bool, StoreError> {
            let updated = sqlx::query(
                "UPDATE mailbox_messages SET read_at = $1 WHERE id = $2 AND account_id = $3 \
                 AND read_at IS NULL",
            )
            .bind(now)
            .bind(id.to_string())
            .bind($account(account))
            .execute(pool)
            .await?
            .rows_affected();
            Ok(updated == 1)
        }

        pub(super) async fn unread_messages(
            pool: &$pool,
            account: &AccountId,
            now: DateTime<Utc>,
        ) -> Result<u64, StoreError> {
            let (count,): (i64,) = sqlx::query_as(
                "SELECT COUNT(*) FROM mailbox_messages WHERE account_id = $1 \
                 AND read_at IS NULL AND expires_at > $2",
            )
            .bind($account(account))
            .bind(now)
            .fetch_one(pool)
            .await?;
            Ok(u64::try_from(count).unwrap_or_default())
        }

        pub(super) async fn application_account(
            pool: &$pool,
            reference: &str,
        ) -> Result<Option<AccountId>, StoreError> {
            // An application whose account was deleted has no owner to write to.
            let row: Option<(Option<String>,)> = sqlx::query_as(
                "SELECT CAST(account_id AS TEXT) FROM applications WHERE reference = $1",
            )
            .bind(reference)
            .fetch_optional(pool)
            .await?;
            row.and_then(|(id,)| id)
                .map(|id| id.parse().map_err(StoreError::corrupt))
                .transpose()
        }

        pub(super) async fn purge_messages(
            pool: &$pool,
            now: DateTime<Utc>,
        ) -> Result<u64, StoreError> {
            // Files go with their message (ON DELETE CASCADE).
            Ok(sqlx::query("DELETE FROM mailbox_messages WHERE expires_at <= $1")
                .bind(now)
                .execute(pool)
                .await?
                .rows_affected())
        }
    };
}

pub(crate) use message_queries;

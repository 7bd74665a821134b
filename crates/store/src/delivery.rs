//! The outbox worker's queries at the portal, pinned node keys, replay protection, and the
//! cases an authority node receives. Written once for both backends like
//! [`crate::applications`]; `$lock` is the row-locking clause of the claim query
//! (`FOR UPDATE SKIP LOCKED` on PostgreSQL, where several workers share the outbox; nothing on
//! SQLite, whose single writer makes the claim atomic).

macro_rules! delivery_queries {
    ($pool:ty, $lock:literal) => {
        use chrono::{DateTime, Utc};

        use crate::error::StoreError;
        use crate::model::{
            ApplicationStatus, CaseRecord, DeliveryState, NodeOutbox, OutboxEntry, OutboxListing,
            OutboxStats, OverdueDelivery, PendingDelivery, RecipientRecord, RetriedDelivery,
        };

        fn parse_uuid(raw: &str) -> Result<uuid::Uuid, StoreError> {
            raw.parse().map_err(StoreError::corrupt)
        }

        pub(super) async fn pin_node_keys(
            pool: &$pool,
            node: &str,
            jwks: &str,
            now: DateTime<Utc>,
        ) -> Result<(), StoreError> {
            sqlx::query(
                "INSERT INTO node_keys (node_id, jwks, pinned_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (node_id) DO UPDATE SET jwks = excluded.jwks, \
                 pinned_at = excluded.pinned_at",
            )
            .bind(node)
            .bind(jwks)
            .bind(now)
            .execute(pool)
            .await?;
            Ok(())
        }

        pub(super) async fn node_keys(pool: &$pool, node: &str) -> Result<Option<String>, StoreError> {
            let row: Option<(String,)> =
                sqlx::query_as("SELECT jwks FROM node_keys WHERE node_id = $1")
                    .bind(node)
                    .fetch_optional(pool)
                    .await?;
            Ok(row.map(|(j,)| j))
        }

        pub(super) async fn claim_deliveries(
            pool: &$pool,
            now: DateTime<Utc>,
            lease_until: DateTime<Utc>,
            limit: u32,
        ) -> Result<Vec<PendingDelivery>, StoreError> {
            // Claiming moves `next_attempt_at` to the end of a lease: other workers skip the
            // row, and if this worker dies the row comes due again (the node's idempotency
            // makes the repeat harmless).
            #[allow(clippy::type_complexity)]
            let rows: Vec<(String, String, String, String, Option<Vec<u8>>, i64, DateTime<Utc>, Option<String>)> =
                sqlx::query_as(concat!(
                    "UPDATE deliveries SET next_attempt_at = $1 WHERE id IN (SELECT id FROM \
                     deliveries WHERE state = 'pending' AND next_attempt_at <= $2 \
                     ORDER BY next_attempt_at LIMIT $3",
                    $lock,
                    ") RETURNING id, reference, authority_id, node_id, envelope, CAST(attempts AS BIGINT), \
                     COALESCE(retried_at, created_at), in_reply_to"
                ))
                .bind(lease_until)
                .bind(now)
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await?;
            let mut claimed = Vec::with_capacity(rows.len());
            for (id, reference, authority, node, envelope, attempts, created_at, in_reply_to) in rows {
                let service: Option<(String,)> =
                    sqlx::query_as("SELECT service_key FROM applications WHERE reference = $1")
                        .bind(&reference)
                        .fetch_optional(pool)
                        .await?;
                claimed.push(PendingDelivery {
                    id: parse_uuid(&id)?,
                    reference,
                    service_key: service.map(|(s,)| s).unwrap_or_default(),
                    authority,
                    node,
                    envelope: envelope.unwrap_or_default(),
                    attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
                    created_at,
                    in_reply_to: in_reply_to.as_deref().map(parse_uuid).transpose()?,
                });
            }
            Ok(claimed)
        }

        pub(super) async fn delivery_succeeded(
            pool: &$pool,
            id: uuid::Uuid,
            now: DateTime<Utc>,
        ) -> Result<(), StoreError> {
            let mut tx = pool.begin().await?;
            // The ciphertext is dropped once the authority holds it (R3): the portal keeps
            // metadata only.
            let reference: Option<(String,)> = sqlx::query_as(
                "UPDATE deliveries SET state = 'delivered', envelope = NULL, delivered_at = $1, \
                 attempts = attempts + 1, last_error = NULL WHERE id = $2 AND state = 'pending' \
                 RETURNING reference",
            )
            .bind(now)
            .bind(id.to_string())
            .fetch_optional(&mut *tx)
            .await?;
            if let Some((reference,)) = reference {
                sqlx::query(
                    "UPDATE applications SET status = 'delivered', updated_at = $1 \
                     WHERE reference = $2 AND status = 'queued' AND NOT EXISTS (SELECT 1 FROM \
                     deliveries WHERE reference = $2 AND state <> 'delivered' \
                     AND in_reply_to IS NULL)",
                )
                .bind(now)
                .bind(&reference)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            Ok(())
        }

        pub(super) async fn delivery_failed(
            pool: &$pool,
            id: uuid::Uuid,
            error: &str,
            next_attempt_at: DateTime<Utc>,
            dead: bool,
            now: DateTime<Utc>,
        ) -> Result<(), StoreError> {
            let mut tx = pool.begin().await?;
            let reference: Option<(String, Option<String>)> = sqlx::query_as(
                "UPDATE deliveries SET attempts = attempts + 1, last_error = $1, \
                 next_attempt_at = $2, state = CASE WHEN $3 THEN 'dead' ELSE state END \
                 WHERE id = $4 AND state = 'pending' RETURNING reference, in_reply_to",
            )
            .bind(error.chars().take(500).collect::<String>())
            .bind(next_attempt_at)
            .bind(dead)
            .bind(id.to_string())
            .fetch_optional(&mut *tx)
            .await?;
            // A reply that cannot be delivered does not make the application undeliverable.
            if dead && let Some((reference, None)) = reference {
                sqlx::query(
                    "UPDATE applications SET status = 'undeliverable', updated_at = $1 \
                     WHERE reference = $2",
                )
                .bind(now)
                .bind(&reference)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            Ok(())
        }

        pub(super) async fn outbox_stats(pool: &$pool) -> Result<OutboxStats, StoreError> {
            let (pending, dead, delivered): (i64, i64, i64) = sqlx::query_as(
                "SELECT \
                 COALESCE(SUM(CASE WHEN state = 'pending' THEN 1 ELSE 0 END), 0), \
                 COALESCE(SUM(CASE WHEN state = 'dead' THEN 1 ELSE 0 END), 0), \
                 COALESCE(SUM(CASE WHEN state = 'delivered' THEN 1 ELSE 0 END), 0) \
                 FROM deliveries",
            )
            .fetch_one(pool)
            .await?;
            let oldest: Option<(DateTime<Utc>,)> = sqlx::query_as(
                "SELECT created_at FROM deliveries WHERE state = 'pending' \
                 ORDER BY created_at LIMIT 1",
            )
            .fetch_optional(pool)
            .await?;
            Ok(OutboxStats {
                pending: u64::try_from(pending).unwrap_or_default(),
                dead: u64::try_from(dead).unwrap_or_default(),
                delivered: u64::try_from(delivered).unwrap_or_default(),
                oldest_pending: oldest.map(|(t,)| t),
            })
        }

        pub(super) async fn recipients(
            pool: &$pool,
            reference: &str,
        ) -> Result<Vec<RecipientRecord>, StoreError> {
            // The entries of one application share `created_at`; the authority id keeps the
            // order the same on both backends. Replies travel through the outbox too; they are
            // not copies of the application.
            type Row = (String, String, String, Option<String>, i64, Option<DateTime<Utc>>);
            let rows: Vec<Row> = sqlx::query_as(
                "SELECT authority_id, node_id, state, case_status, CAST(attempts AS BIGINT), \
                 delivered_at FROM deliveries WHERE reference = $1 AND in_reply_to IS NULL \
                 ORDER BY created_at, authority_id",
            )
            .bind(reference)
            .fetch_all(pool)
            .await?;
            let corrupt = |what: &str| StoreError::corrupt(std::io::Error::other(what.to_owned()));
            rows.into_iter()
                .map(|(authority, node, state, case_status, attempts, delivered_at)| {
                    Ok(RecipientRecord {
                        authority,
                        node,
                        state: DeliveryState::parse(&state)
                            .ok_or_else(|| corrupt("unknown delivery state"))?,
                        case_status: case_status
                            .map(|s| {
                                ApplicationStatus::parse(&s)
                                    .ok_or_else(|| corrupt("unknown case status"))
                            })
                            .transpose()?,
                        attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
                        delivered_at,
                    })
                })
                .collect()
        }

        pub(super) async fn overdue_deliveries(
            pool: &$pool,
            before: DateTime<Utc>,
            limit: u32,
        ) -> Result<Vec<OverdueDelivery>, StoreError> {
            let rows: Vec<(String, String, String, i64, DateTime<Utc>, Option<String>)> =
                sqlx::query_as(
                    "SELECT reference, authority_id, node_id, CAST(attempts AS BIGINT), \
                     COALESCE(retried_at, created_at), last_error FROM deliveries \
                     WHERE state = 'pending' AND COALESCE(retried_at, created_at) < $1 \
                     ORDER BY COALESCE(retried_at, created_at), id LIMIT $2",
                )
                .bind(before)
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await?;
            Ok(rows
                .into_iter()
                .map(
                    |(reference, authority, node, attempts, created_at, last_error)| {
                        OverdueDelivery {
                            reference,
                            authority,
                            node,
                            attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
                            created_at,
                            last_error,
                        }
                    },
                )
                .collect())
        }

        pub(super) async fn expire_deliveries(
            pool: &$pool,
            before: DateTime<Utc>,
            now: DateTime<Utc>,
        ) -> Result<u64, StoreError> {
            let mut tx = pool.begin().await?;
            let expired: Vec<(String, Option<String>)> = sqlx::query_as(
                "UPDATE deliveries SET state = 'dead', \
                 last_error = 'not acknowledged within the delivery deadline' \
                 WHERE state = 'pending' AND COALESCE(retried_at, created_at) < $1 \
                 RETURNING reference, in_reply_to",
            )
            .bind(before)
            .fetch_all(&mut *tx)
            .await?;
            // A reply that cannot be delivered does not make the application undeliverable.
            for (reference, _) in expired.iter().filter(|(_, reply)| reply.is_none()) {
                sqlx::query(
                    "UPDATE applications SET status = 'undeliverable', updated_at = $1 \
                     WHERE reference = $2",
                )
                .bind(now)
                .bind(reference)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            Ok(expired.len() as u64)
        }

        pub(super) async fn outbox_by_node(pool: &$pool) -> Result<Vec<NodeOutbox>, StoreError> {
            type Row = (String, i64, i64, i64, i64, i64, Option<DateTime<Utc>>);
            let rows: Vec<Row> = sqlx::query_as(
                "SELECT node_id, \
                 COALESCE(SUM(CASE WHEN state = 'pending' THEN 1 ELSE 0 END), 0), \
                 COALESCE(SUM(CASE WHEN state = 'pending' AND attempts > 0 THEN 1 ELSE 0 END), 0), \
                 COALESCE(SUM(CASE WHEN state = 'dead' THEN 1 ELSE 0 END), 0), \
                 COALESCE(SUM(CASE WHEN state = 'delivered' THEN 1 ELSE 0 END), 0), \
                 CAST(COALESCE(SUM(attempts), 0) AS BIGINT), \
                 MIN(CASE WHEN state = 'pending' THEN created_at END) \
                 FROM deliveries GROUP BY node_id ORDER BY node_id",
            )
            .fetch_all(pool)
            .await?;
            let count = |n: i64| u64::try_from(n).unwrap_or_default();
            Ok(rows
                .into_iter()
                .map(
                    |(node, pending, failing, dead, delivered, attempts, oldest_pending)| NodeOutbox {
                        node,
                        pending: count(pending),
                        failing: count(failing),
                        dead: count(dead),
                        delivered: count(delivered),
                        attempts: count(attempts),
                        oldest_pending,
                    },
                )
                .collect())
        }

        pub(super) async fn outbox_entries(
            pool: &$pool,
            listing: OutboxListing,
            limit: u32,
        ) -> Result<Vec<OutboxEntry>, StoreError> {
            type Row = (
                String,
                String,
                String,
                String,
                i64,
                DateTime<Utc>,
                DateTime<Utc>,
                Option<String>,
                Option<String>,
                bool,
            );
            let filter = match listing {
                OutboxListing::Failing => "state = 'pending' AND attempts > 0",
                OutboxListing::Dead => "state = 'dead'",
            };
            let rows: Vec<Row> = sqlx::query_as(&format!(
                "SELECT id, reference, authority_id, node_id, CAST(attempts AS BIGINT), \
                 COALESCE(retried_at, created_at), next_attempt_at, last_error, in_reply_to, \
                 envelope IS NOT NULL FROM deliveries WHERE {filter} \
                 ORDER BY COALESCE(retried_at, created_at), id LIMIT $1"
            ))
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await?;
            rows.into_iter()
                .map(
                    |(id, reference, authority, node, attempts, since, next_attempt_at, last_error, in_reply_to, retryable)| {
                        Ok(OutboxEntry {
                            id: parse_uuid(&id)?,
                            reference,
                            authority,
                            node,
                            attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
                            since,
                            next_attempt_at,
                            last_error,
                            reply: in_reply_to.is_some(),
                            retryable,
                        })
                    },
                )
                .collect()
        }

        pub(super) async fn retry_dead_letter(
            pool: &$pool,
            id: uuid::Uuid,
            now: DateTime<Utc>,
        ) -> Result<Option<RetriedDelivery>, StoreError> {
            let mut tx = pool.begin().await?;
            // Attempts count from zero again, and the delivery window starts now: otherwise
            // the next failure or the next sweep would give up on it at once.
            let retried: Option<(String, String, Option<String>)> = sqlx::query_as(
                "UPDATE deliveries SET state = 'pending', attempts = 0, next_attempt_at = $1, \
                 retried_at = $1 WHERE id = $2 AND state = 'dead' AND envelope IS NOT NULL \
                 RETURNING reference, node_id, in_reply_to",
            )
            .bind(now)
            .bind(id.to_string())
            .fetch_optional(&mut *tx)
            .await?;
            let Some((reference, node, in_reply_to)) = retried else {
                return Ok(None);
            };
            // The application is on its way again unless another of its copies is still a
            // dead letter.
            if in_reply_to.is_none() {
                sqlx::query(
                    "UPDATE applications SET status = 'queued', updated_at = $1 \
                     WHERE reference = $2 AND status = 'undeliverable' AND NOT EXISTS \
                     (SELECT 1 FROM deliveries WHERE reference = $2 AND state = 'dead' \
                     AND in_reply_to IS NULL)",
                )
                .bind(now)
                .bind(&reference)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            Ok(Some(RetriedDelivery {
                reference,
                node,
                reply: in_reply_to.is_some(),
            }))
        }

        pub(super) async fn accept_nonce(
            pool: &$pool,
            signer: &str,
            nonce: &str,
            now: DateTime<Utc>,
        ) -> Result<bool, StoreError> {
            let inserted = sqlx::query(
                "INSERT INTO seen_nonces (signer, nonce, seen_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (signer, nonce) DO NOTHING",
            )
            .bind(signer)
            .bind(nonce)
            .bind(now)
            .execute(pool)
            .await?
            .rows_affected();
            Ok(inserted == 1)
        }

        pub(super) async fn purge_nonces(
            pool: &$pool,
            before: DateTime<Utc>,
        ) -> Result<u64, StoreError> {
            Ok(sqlx::query("DELETE FROM seen_nonces WHERE seen_at < $1")
                .bind(before)
                .execute(pool)
                .await?
                .rows_affected())
        }

        pub(super) async fn store_case(pool: &$pool, case: &CaseRecord) -> Result<bool, StoreError> {
            let inserted = sqlx::query(
                "INSERT INTO cases (delivery_id, reference, authority_id, service_key, envelope, \
                 status, received_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                 ON CONFLICT (delivery_id) DO NOTHING",
            )
            .bind(case.delivery_id.to_string())
            .bind(&case.reference)
            .bind(&case.authority)
            .bind(&case.service_key)
            .bind(&case.envelope)
            .bind(&case.status)
            .bind(case.received_at)
            .bind(case.updated_at)
            .execute(pool)
            .await?
            .rows_affected();
            Ok(inserted == 1)
        }

        type CaseRow = (String, String, String, String, Vec<u8>, String, DateTime<Utc>, DateTime<Utc>);

        fn case_record(row: CaseRow) -> Result<CaseRecord, StoreError> {
            let (id, reference, authority, service_key, envelope, status, received_at, updated_at) =
                row;
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
        }

        pub(super) async fn cases(pool: &$pool, authority: &str) -> Result<Vec<CaseRecord>, StoreError> {
            let rows: Vec<CaseRow> = sqlx::query_as(
                "SELECT delivery_id, reference, authority_id, service_key, envelope, status, \
                 received_at, updated_at FROM cases WHERE authority_id = $1 \
                 ORDER BY received_at DESC, delivery_id",
            )
            .bind(authority)
            .fetch_all(pool)
            .await?;
            rows.into_iter().map(case_record).collect()
        }

        pub(super) async fn case(
            pool: &$pool,
            delivery_id: uuid::Uuid,
        ) -> Result<Option<CaseRecord>, StoreError> {
            let row: Option<CaseRow> = sqlx::query_as(
                "SELECT delivery_id, reference, authority_id, service_key, envelope, status, \
                 received_at, updated_at FROM cases WHERE delivery_id = $1",
            )
            .bind(delivery_id.to_string())
            .fetch_optional(pool)
            .await?;
            row.map(case_record).transpose()
        }
    };
}

pub(crate) use delivery_queries;

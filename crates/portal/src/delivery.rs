//! The delivery worker: sends the outbox's envelopes to the authority nodes (issue 5, C4, F3).
//!
//! Each round leases the due entries, signs a delivery message per entry with the portal's key,
//! posts it to the node, and checks the node's signed receipt against the node's pinned key.
//! Success drops the ciphertext; failure retries with exponential backoff and jitter, and after
//! [`DeliverySettings::max_attempts`] or [`DeliverySettings::give_up_after`] the entry becomes a
//! dead letter and the citizen is told to apply another way. A crash between sending and
//! recording is harmless: the lease runs out, the entry is sent again, and the node stores it
//! once (idempotency key) and acknowledges it again. The crash points of
//! [`rathaus_failpoint`] mark each of these steps for the tests that prove it (C4, F4).
//!
//! Every ten minutes a [`sweep`] looks for entries that wait too long (R2): after
//! [`DeliverySettings::alert_after`] (3 days) each one is an operator alert in the log and in
//! the `rathaus_outbox_overdue` gauge; after [`DeliverySettings::give_up_after`] (14 days) it
//! becomes a dead letter even when its next attempt is not due yet, so the citizen is told in
//! time.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::StreamExt;
use rathaus_failpoint as failpoint;
use rathaus_seal::PublicKeySet;
use rathaus_seal::protocol::{
    DELIVERY_TYP, DeliveryPayload, MAX_AGE_SECS, RECEIPT_TYP, ReceiptPayload,
};
use rathaus_store::PendingDelivery;

use crate::state::PortalState;

/// How the worker retries.
#[derive(Debug, Clone)]
pub struct DeliverySettings {
    /// Time between rounds when nothing wakes the worker.
    pub interval: Duration,
    /// How long one attempt may take before the entry is tried again.
    pub lease: chrono::Duration,
    /// The first retry waits this long; each further one twice as long, at most `max_backoff`.
    pub first_backoff: chrono::Duration,
    pub max_backoff: chrono::Duration,
    pub max_attempts: u32,
    /// An application not delivered after this long becomes a dead letter (R2: 14 days).
    pub give_up_after: chrono::Duration,
    /// An application not delivered after this long is an operator alert (R2: 3 days).
    pub alert_after: chrono::Duration,
    /// Time between two sweeps for overdue entries.
    pub sweep_every: Duration,
    /// Entries per round.
    pub batch: u32,
    /// Entries of a round attempted at the same time.
    pub parallel: usize,
}

impl Default for DeliverySettings {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(5),
            lease: chrono::Duration::seconds(120),
            first_backoff: chrono::Duration::seconds(10),
            max_backoff: chrono::Duration::hours(1),
            max_attempts: 400,
            give_up_after: chrono::Duration::days(14),
            alert_after: chrono::Duration::days(3),
            sweep_every: Duration::from_secs(600),
            batch: 20,
            parallel: 4,
        }
    }
}

/// What one round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Round {
    pub delivered: usize,
    pub failed: usize,
}

/// Why one attempt failed.
#[derive(Debug, thiserror::Error)]
pub enum AttemptError {
    #[error("the node `{0}` has no registered address")]
    NoEndpoint(String),
    #[error("the node `{0}` has no pinned keys")]
    NoKeys(String),
    #[error("the portal has no delivery keys")]
    NoPortalKeys,
    #[error("sending failed: {0}")]
    Send(String),
    #[error("the node answered {0}")]
    Status(u16),
    #[error("the receipt was refused: {0}")]
    Receipt(String),
    #[error(transparent)]
    Store(#[from] rathaus_store::StoreError),
}

/// Runs rounds until the process ends; a submit wakes it early.
pub fn spawn_worker(state: PortalState, settings: DeliverySettings) {
    tokio::spawn(async move {
        let client = match http_client() {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(error = %e, "the delivery worker cannot start");
                return;
            }
        };
        let mut last_sweep: Option<std::time::Instant> = None;
        loop {
            if last_sweep.is_none_or(|at| at.elapsed() >= settings.sweep_every) {
                last_sweep = Some(std::time::Instant::now());
                if let Err(e) = sweep(&state, &settings).await {
                    tracing::warn!(error = %e, "the sweep for overdue deliveries failed");
                }
            }
            let full = match run_round(&state, &client, &settings).await {
                Ok(round) => {
                    if round.delivered + round.failed > 0 {
                        tracing::info!(
                            delivered = round.delivered,
                            failed = round.failed,
                            "delivery round"
                        );
                    }
                    round.delivered + round.failed >= settings.batch as usize
                }
                Err(e) => {
                    tracing::warn!(error = %e, "delivery round failed");
                    false
                }
            };
            // A full batch means more are probably due (a burst of submissions): go on at
            // once instead of waiting for the interval. Failed entries are pushed past their
            // backoff, so a node that is down cannot keep this loop spinning.
            if full {
                continue;
            }
            tokio::select! {
                () = state.delivery_wake.notified() => {}
                () = tokio::time::sleep(settings.interval) => {}
            }
        }
    });
}

pub fn http_client() -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .connect_timeout(Duration::from_secs(5))
        .build()
}

/// One round: every due entry is attempted once.
pub async fn run_round(
    state: &PortalState,
    client: &reqwest::Client,
    settings: &DeliverySettings,
) -> Result<Round, rathaus_store::StoreError> {
    let now = state.clock.now();
    let due = state
        .store
        .claim_deliveries(now, now + settings.lease, settings.batch)
        .await?;
    // Several entries at once: most of an attempt is waiting for the node, and a burst of
    // submissions should not queue behind one round trip after another.
    let outcomes: Vec<Result<bool, rathaus_store::StoreError>> = futures::stream::iter(due)
        .map(|delivery| deliver_one(state, client, settings, delivery))
        .buffer_unordered(settings.parallel.max(1))
        .collect()
        .await;
    let mut round = Round::default();
    for outcome in outcomes {
        if outcome? {
            round.delivered += 1;
        } else {
            round.failed += 1;
        }
    }
    Ok(round)
}

/// Attempts one entry and records the outcome; `true` when the node acknowledged it.
async fn deliver_one(
    state: &PortalState,
    client: &reqwest::Client,
    settings: &DeliverySettings,
    delivery: PendingDelivery,
) -> Result<bool, rathaus_store::StoreError> {
    match attempt(state, client, &delivery).await {
        Ok(()) => {
            failpoint::hit(failpoint::DELIVERY_AFTER_RECEIPT);
            state
                .store
                .delivery_succeeded(delivery.id, state.clock.now())
                .await?;
            failpoint::hit(failpoint::DELIVERY_AFTER_RECORD);
            metrics::counter!("rathaus_deliveries_total", "outcome" => "delivered").increment(1);
            Ok(true)
        }
        Err(error) => {
            let now = state.clock.now();
            let attempts = delivery.attempts + 1;
            let dead = attempts >= settings.max_attempts
                || now - delivery.created_at >= settings.give_up_after;
            let next = now + backoff(settings, attempts);
            tracing::warn!(
                reference = %delivery.reference,
                node = %delivery.node,
                attempts,
                dead,
                error = %error,
                "delivery attempt failed"
            );
            state
                .store
                .delivery_failed(delivery.id, &error.to_string(), next, dead, now)
                .await?;
            metrics::counter!(
                "rathaus_deliveries_total",
                "outcome" => if dead { "dead" } else { "retry" }
            )
            .increment(1);
            Ok(false)
        }
    }
}

/// What one sweep found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sweep {
    /// Entries waiting longer than `alert_after` (after the expiry below), oldest first.
    pub overdue: Vec<rathaus_store::OverdueDelivery>,
    /// Entries that became dead letters in this sweep.
    pub expired: u64,
}

/// At most this many overdue entries are looked at per sweep; the gauge says "this many or
/// more" beyond it, and an operator then has a bigger problem than a list can show.
const OVERDUE_LIMIT: u32 = 1000;
/// Overdue entries named one by one in the log per sweep.
const OVERDUE_LOGGED: usize = 20;

/// R2: turns entries older than `give_up_after` into dead letters (their applications become
/// undeliverable, which tells the citizen), and raises an alert for every entry older than
/// `alert_after`: an `ERROR` log line naming reference, authority and node, and the
/// `rathaus_outbox_overdue` gauge. Metadata only; nothing of the content is logged.
pub async fn sweep(
    state: &PortalState,
    settings: &DeliverySettings,
) -> Result<Sweep, rathaus_store::StoreError> {
    let now = state.clock.now();
    let expired = state
        .store
        .expire_deliveries(now - settings.give_up_after, now)
        .await?;
    if expired > 0 {
        tracing::error!(
            expired,
            days = settings.give_up_after.num_days(),
            "applications not acknowledged in time became dead letters; their citizens are told to apply another way"
        );
        metrics::counter!("rathaus_deliveries_total", "outcome" => "dead").increment(expired);
    }
    let overdue = state
        .store
        .overdue_deliveries(now - settings.alert_after, OVERDUE_LIMIT)
        .await?;
    metrics::gauge!("rathaus_outbox_overdue").set(overdue.len() as f64);
    for entry in overdue.iter().take(OVERDUE_LOGGED) {
        tracing::error!(
            reference = %entry.reference,
            authority = %entry.authority,
            node = %entry.node,
            attempts = entry.attempts,
            waiting_days = (now - entry.created_at).num_days(),
            last_error = entry.last_error.as_deref().unwrap_or("none"),
            "an application has not been acknowledged by its authority for more than {} days",
            settings.alert_after.num_days()
        );
    }
    if overdue.len() > OVERDUE_LOGGED {
        tracing::error!(
            more = overdue.len() - OVERDUE_LOGGED,
            "more applications are overdue than listed"
        );
    }
    Ok(Sweep { overdue, expired })
}

/// Exponential backoff with ±20 % jitter, so many queued entries do not hit a node that comes
/// back all at the same moment.
fn backoff(settings: &DeliverySettings, attempts: u32) -> chrono::Duration {
    let factor = 2i32.saturating_pow(attempts.saturating_sub(1).min(20));
    let base = (settings.first_backoff * factor).min(settings.max_backoff);
    let jitter = rand::random_range(0.8..1.2);
    let millis = (base.num_milliseconds() as f64 * jitter) as i64;
    chrono::Duration::milliseconds(millis.max(1))
}

async fn attempt(
    state: &PortalState,
    client: &reqwest::Client,
    delivery: &PendingDelivery,
) -> Result<(), AttemptError> {
    let keys = state
        .delivery_keys
        .as_ref()
        .ok_or(AttemptError::NoPortalKeys)?;
    let endpoint = state
        .store
        .node_endpoints()
        .await?
        .into_iter()
        .find(|e| e.node.as_str() == delivery.node)
        .ok_or_else(|| AttemptError::NoEndpoint(delivery.node.clone()))?;
    let node_keys = node_public_keys(state, &delivery.node, state.clock.now()).await?;
    let payload = DeliveryPayload {
        delivery_id: delivery.id.to_string(),
        reference: delivery.reference.clone(),
        service_key: delivery.service_key.clone(),
        authority: delivery.authority.clone(),
        node: delivery.node.clone(),
        envelope: String::from_utf8_lossy(&delivery.envelope).into_owned(),
        in_reply_to: delivery.in_reply_to.map(|case| case.to_string()),
    };
    let value = serde_json::to_value(&payload).map_err(|e| AttemptError::Send(e.to_string()))?;
    let now = state.clock.now();
    let keys = Arc::clone(keys);
    let body =
        tokio::task::spawn_blocking(move || rathaus_seal::sign(&value, DELIVERY_TYP, &keys, now))
            .await
            .map_err(|e| AttemptError::Send(e.to_string()))?
            .map_err(|e| AttemptError::Send(e.to_string()))?;
    let url = format!(
        "{}/api/v1/deliveries",
        endpoint.base_url.trim_end_matches('/')
    );
    failpoint::hit(failpoint::DELIVERY_BEFORE_SEND);
    let response = client
        .post(&url)
        .header(http::header::CONTENT_TYPE, "application/jose")
        .header("Idempotency-Key", delivery.id.to_string())
        .body(body)
        .send()
        .await
        .map_err(|e| AttemptError::Send(e.without_url().to_string()))?;
    let status = response.status();
    if !status.is_success() {
        return Err(AttemptError::Status(status.as_u16()));
    }
    let receipt = response
        .text()
        .await
        .map_err(|e| AttemptError::Send(e.without_url().to_string()))?;
    check_receipt(state, &node_keys, &receipt, delivery).await
}

pub(crate) async fn node_public_keys(
    state: &PortalState,
    node: &str,
    now: DateTime<Utc>,
) -> Result<PublicKeySet, AttemptError> {
    let jwks = state
        .store
        .node_keys(node)
        .await?
        .ok_or_else(|| AttemptError::NoKeys(node.to_owned()))?;
    PublicKeySet::pin(&jwks, now).map_err(|e| AttemptError::Receipt(e.to_string()))
}

async fn check_receipt(
    state: &PortalState,
    node_keys: &PublicKeySet,
    receipt: &str,
    delivery: &PendingDelivery,
) -> Result<(), AttemptError> {
    let now = state.clock.now();
    let verified = rathaus_seal::verify(
        receipt.trim(),
        RECEIPT_TYP,
        node_keys,
        now,
        chrono::Duration::seconds(MAX_AGE_SECS),
    )
    .map_err(|e| AttemptError::Receipt(e.to_string()))?;
    if !state
        .store
        .accept_nonce(&format!("node:{}", verified.kid), &verified.nonce, now)
        .await?
    {
        return Err(AttemptError::Receipt(
            "the receipt was seen before (replay)".into(),
        ));
    }
    let mut payload = verified.payload;
    if let Some(object) = payload.as_object_mut() {
        object.remove("iat");
        object.remove("nonce");
    }
    let receipt: ReceiptPayload =
        serde_json::from_value(payload).map_err(|e| AttemptError::Receipt(e.to_string()))?;
    if receipt.delivery_id != delivery.id.to_string() || receipt.node != delivery.node {
        return Err(AttemptError::Receipt(
            "the receipt is for another delivery".into(),
        ));
    }
    Ok(())
}

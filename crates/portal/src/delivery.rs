//! The delivery worker: sends the outbox's envelopes to the authority nodes (issue 5, C4, F3).
//!
//! Each round leases the due entries, signs a delivery message per entry with the portal's key,
//! posts it to the node, and checks the node's signed receipt against the node's pinned key.
//! Success drops the ciphertext; failure retries with exponential backoff and jitter, and after
//! [`DeliverySettings::max_attempts`] or [`DeliverySettings::give_up_after`] the entry becomes a
//! dead letter and the citizen is told to apply another way. A crash between sending and
//! recording is harmless: the lease runs out, the entry is sent again, and the node stores it
//! once (idempotency key) and acknowledges it again.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
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
    /// Entries per round.
    pub batch: u32,
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
            batch: 20,
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
        loop {
            match run_round(&state, &client, &settings).await {
                Ok(round) if round.delivered + round.failed > 0 => {
                    tracing::info!(
                        delivered = round.delivered,
                        failed = round.failed,
                        "delivery round"
                    );
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "delivery round failed"),
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
    let mut round = Round::default();
    for delivery in due {
        match attempt(state, client, &delivery).await {
            Ok(()) => {
                state
                    .store
                    .delivery_succeeded(delivery.id, state.clock.now())
                    .await?;
                metrics::counter!("rathaus_deliveries_total", "outcome" => "delivered")
                    .increment(1);
                round.delivered += 1;
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
                round.failed += 1;
            }
        }
    }
    Ok(round)
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

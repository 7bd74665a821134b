//! The status back channel (issue 5): every status change of a case is written to the node's
//! status outbox in the same transaction as the change, and sent from there to the portal as a
//! JWS of type `rathaus-status+jws` signed with the node's key (`POST {portal}/api/v1/status`).
//!
//! Messages go out in the order of the changes. A portal that cannot be reached, answers 5xx,
//! or refuses the signature (its operator has not pinned this node's keys yet) ends the round
//! and everything waits for the next one, so a later status never overtakes an earlier one.
//! A message the portal can never accept (malformed, unknown delivery, replay) is dropped with a
//! warning, so it does not block the others. The periodic task also ends old clerk sessions and
//! forgets old sign-in failures and nonces, and the same loop sends the clerks' messages to
//! citizens ([`crate::messages`]).

use std::sync::Arc;
use std::time::Duration;

use rathaus_seal::protocol::{MAX_AGE_SECS, STATUS_TYP, StatusPayload};
use rathaus_store::StatusMessage;

use crate::NodeState;

/// Messages per round.
const BATCH: u32 = 50;

/// What one round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Round {
    /// Accepted by the portal.
    pub sent: usize,
    /// Refused for good and dropped.
    pub dropped: usize,
    /// Left for a later round (the portal is unreachable or not ready).
    pub waiting: usize,
}

/// Why one message could not be sent.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("the node has no portal address (`authority.portal_url`)")]
    NoPortal,
    #[error("the node has no keys to sign with")]
    NoKeys,
    #[error("signing failed: {0}")]
    Sign(String),
    #[error("sending failed: {0}")]
    Send(String),
    /// The portal answered with this status.
    #[error("the portal answered {0}")]
    Status(u16),
}

impl SendError {
    /// Whether the portal will never accept this message, however often it is sent.
    fn is_final(&self) -> bool {
        matches!(self, Self::Status(400 | 404 | 409 | 413 | 422))
    }
}

pub fn http_client() -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .connect_timeout(Duration::from_secs(5))
        .build()
}

/// Sends the waiting status messages in order, until the first one that has to wait.
pub async fn send_pending(
    state: &NodeState,
    client: &reqwest::Client,
) -> Result<Round, rathaus_store::StoreError> {
    let mut round = Round::default();
    let pending = state.store.pending_status_messages(BATCH).await?;
    let total = pending.len();
    for message in pending {
        match send(state, client, &message).await {
            Ok(()) => {
                state.store.status_message_sent(message.id).await?;
                round.sent += 1;
            }
            Err(error) if error.is_final() => {
                tracing::warn!(
                    reference = %message.reference,
                    status = %message.status,
                    %error,
                    "the portal refused a status message for good; it is dropped"
                );
                state.store.status_message_sent(message.id).await?;
                round.dropped += 1;
            }
            Err(error) => {
                tracing::warn!(
                    reference = %message.reference,
                    status = %message.status,
                    %error,
                    "a status message could not be sent; it is kept for the next try"
                );
                state
                    .store
                    .status_message_failed(message.id, &error.to_string())
                    .await?;
                round.waiting = total - round.sent - round.dropped;
                break;
            }
        }
    }
    Ok(round)
}

async fn send(
    state: &NodeState,
    client: &reqwest::Client,
    message: &StatusMessage,
) -> Result<(), SendError> {
    let portal = state.portal_url.as_deref().ok_or(SendError::NoPortal)?;
    let keys = state.delivery.as_ref().ok_or(SendError::NoKeys)?;
    let payload = StatusPayload {
        reference: message.reference.clone(),
        delivery_id: message.case_id.to_string(),
        node: state.node.id.to_string(),
        status: message.status.as_str().to_owned(),
    };
    let value = serde_json::to_value(&payload).map_err(|e| SendError::Sign(e.to_string()))?;
    let own = Arc::clone(&keys.own);
    // Signed at the moment of sending, so a message that waited is not refused as old.
    let now = keys.clock.now();
    let body =
        tokio::task::spawn_blocking(move || rathaus_seal::sign(&value, STATUS_TYP, &own, now))
            .await
            .map_err(|e| SendError::Sign(e.to_string()))?
            .map_err(|e| SendError::Sign(e.to_string()))?;
    let response = client
        .post(format!("{portal}/api/v1/status"))
        .header(http::header::CONTENT_TYPE, "application/jose")
        .body(body)
        .send()
        .await
        .map_err(|e| SendError::Send(e.without_url().to_string()))?;
    let status = response.status();
    if status.is_success() {
        Ok(())
    } else {
        Err(SendError::Status(status.as_u16()))
    }
}

/// Runs the status sender and the node's housekeeping until the process ends: a status change
/// wakes it at once, otherwise it looks every `interval`.
pub fn spawn_background(state: NodeState, interval: Duration) {
    tokio::spawn(async move {
        let client = match http_client() {
            Ok(client) => client,
            Err(e) => {
                tracing::error!(error = %e, "the status sender cannot start");
                return;
            }
        };
        if state.portal_url.is_none() {
            tracing::warn!(
                "no `authority.portal_url`: status changes are kept and not sent to the portal"
            );
        }
        let mut last_cleanup: Option<tokio::time::Instant> = None;
        loop {
            if state.portal_url.is_some() && state.delivery.is_some() {
                match send_pending(&state, &client).await {
                    Ok(round) if round.sent + round.dropped > 0 => tracing::info!(
                        sent = round.sent,
                        dropped = round.dropped,
                        waiting = round.waiting,
                        "status messages sent"
                    ),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "status round failed"),
                }
                match crate::messages::send_pending(&state, &client).await {
                    Ok(round) if round.sent + round.failed > 0 => tracing::info!(
                        sent = round.sent,
                        failed = round.failed,
                        "messages to citizens sent"
                    ),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "message round failed"),
                }
            }
            if last_cleanup.is_none_or(|at| at.elapsed() >= Duration::from_secs(600)) {
                housekeeping(&state).await;
                last_cleanup = Some(tokio::time::Instant::now());
            }
            tokio::select! {
                () = state.status_wake.notified() => {}
                () = tokio::time::sleep(interval) => {}
            }
        }
    });
}

/// Ends clerk sessions past their time and forgets old sign-in failures and nonces.
async fn housekeeping(state: &NodeState) {
    let Some(office) = &state.back_office else {
        return;
    };
    let now = office.clock.now();
    match state
        .store
        .purge_clerk_sessions(now - office.settings.session_idle, now)
        .await
    {
        Ok(0) => {}
        Ok(n) => tracing::info!(sessions = n, "ended clerk sessions deleted"),
        Err(error) => tracing::warn!(%error, "could not delete ended clerk sessions"),
    }
    if let Err(error) = state
        .store
        .purge_sign_in_failures(now - chrono::Duration::hours(1))
        .await
    {
        tracing::warn!(%error, "could not delete old sign-in failures");
    }
    // R1: decided cases past their service's retention period.
    if let Err(error) = crate::back_office::purge_expired_cases(state).await {
        tracing::warn!(%error, "could not delete cases past their retention period");
    }
    // Older messages are refused by their age anyway (C3).
    if let Err(error) = state
        .store
        .purge_nonces(now - chrono::Duration::seconds(MAX_AGE_SECS * 2))
        .await
    {
        tracing::warn!(%error, "could not forget old nonces");
    }
}

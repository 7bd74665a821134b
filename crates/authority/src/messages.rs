//! Messages between the clerk and the citizen (issue 5, the Postfach), the node's side.
//!
//! **To the citizen:** a clerk's message waits in `case_messages` (sealed to the node's own key)
//! until the portal accepts it. [`send_pending`] opens each due message, seals its content anew
//! to the portal's pinned encryption key, and posts it as a JWS of type `rathaus-message+jws`
//! signed with the node's key to `POST {portal}/api/v1/messages`. The portal stores a message
//! once per id, so a message sent again after a lost answer is harmless. A failed attempt is
//! retried with exponential backoff (at most an hour apart) and never dropped: a decision must
//! reach the citizen, and an operator sees the waiting message in the log and on the case page.
//!
//! **From the citizen:** a reply arrives like an application, at `POST /api/v1/deliveries`,
//! with `in_reply_to` naming the case; [`receive_reply`] stores it once on that case (only if
//! the case belongs to the named authority of this node and has that reference), moves a case
//! that waited for information back to "in progress", and answers with a signed receipt.

use std::sync::Arc;

use axum::response::{IntoResponse, Response};
use base64::Engine;
use http::{HeaderValue, StatusCode, header};
use rathaus_seal::protocol::{
    DeliveryPayload, MESSAGE_TYP, MessageContent, MessagePayload, RECEIPT_TYP, ReceiptPayload,
};
use rathaus_store::OutgoingMessage;
use rathaus_web::ApiError;
use sha2::{Digest, Sha256};

use crate::{DeliveryKeys, NodeState};

/// Messages per round.
const BATCH: u32 = 20;
/// The first retry waits this long, each further one twice as long, at most [`MAX_BACKOFF_SECS`].
const FIRST_BACKOFF_SECS: i64 = 10;
const MAX_BACKOFF_SECS: i64 = 3600;

/// What one round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Round {
    /// Accepted by the portal.
    pub sent: usize,
    /// Kept for a later attempt.
    pub failed: usize,
}

/// Why one message could not be sent.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("the node has no portal address (`authority.portal_url`)")]
    NoPortal,
    #[error("the node has no keys")]
    NoKeys,
    #[error("the message does not open with the node's key")]
    Damaged,
    #[error("sealing or signing failed: {0}")]
    Seal(String),
    #[error("sending failed: {0}")]
    Send(String),
    #[error("the portal answered {0}")]
    Status(u16),
}

impl SendError {
    /// Whether sending again cannot help without someone changing something.
    fn needs_operator(&self) -> bool {
        matches!(
            self,
            Self::Damaged | Self::Status(400 | 401 | 404 | 409 | 413 | 422)
        )
    }
}

/// Sends the due messages to the portal, each on its own: one that fails waits for its next
/// attempt without holding up the others.
pub async fn send_pending(
    state: &NodeState,
    client: &reqwest::Client,
) -> Result<Round, rathaus_store::StoreError> {
    let Some(keys) = state.delivery.as_ref() else {
        return Ok(Round::default());
    };
    let now = keys.clock.now();
    let mut round = Round::default();
    for message in state.store.pending_case_messages(now, BATCH).await? {
        match send(state, keys, client, &message).await {
            Ok(()) => {
                state
                    .store
                    .case_message_sent(message.id, keys.clock.now())
                    .await?;
                round.sent += 1;
            }
            Err(error) => {
                let attempts = message.attempts.saturating_add(1);
                let wait = FIRST_BACKOFF_SECS
                    .saturating_mul(1_i64 << attempts.saturating_sub(1).min(20))
                    .min(MAX_BACKOFF_SECS);
                if error.needs_operator() {
                    tracing::error!(
                        reference = %message.reference,
                        message = %message.id,
                        attempts,
                        %error,
                        "the portal refuses a message to a citizen; it is kept and retried"
                    );
                } else {
                    tracing::warn!(
                        reference = %message.reference,
                        message = %message.id,
                        attempts,
                        %error,
                        "a message to a citizen could not be sent; it is kept for the next try"
                    );
                }
                state
                    .store
                    .case_message_failed(
                        message.id,
                        &error.to_string(),
                        keys.clock.now() + chrono::Duration::seconds(wait),
                    )
                    .await?;
                round.failed += 1;
            }
        }
    }
    Ok(round)
}

async fn send(
    state: &NodeState,
    keys: &DeliveryKeys,
    client: &reqwest::Client,
    message: &OutgoingMessage,
) -> Result<(), SendError> {
    let portal = state.portal_url.as_deref().ok_or(SendError::NoPortal)?;
    let own = Arc::clone(&keys.own);
    let portal_keys = Arc::clone(&keys.portal);
    let envelope = message.envelope.clone();
    let payload = MessagePayload {
        message_id: message.id.to_string(),
        reference: message.reference.clone(),
        delivery_id: message.case_id.to_string(),
        node: state.node.id.to_string(),
        decision: message.decision,
        content: String::new(),
    };
    // Sealed and signed at the moment of sending, so a message that waited is not refused as
    // old, and always to the portal's newest key.
    let now = keys.clock.now();
    let body = tokio::task::spawn_blocking(move || {
        let jwe = std::str::from_utf8(&envelope).map_err(|_| SendError::Damaged)?;
        let plain = rathaus_seal::open(jwe, &own, now).map_err(|_| SendError::Damaged)?;
        let sealed = rathaus_seal::seal(&plain, "application/json", &portal_keys, now)
            .map_err(|e| SendError::Seal(e.to_string()))?;
        let value = serde_json::to_value(MessagePayload {
            content: sealed.jwe,
            ..payload
        })
        .map_err(|e| SendError::Seal(e.to_string()))?;
        rathaus_seal::sign(&value, MESSAGE_TYP, &own, now)
            .map_err(|e| SendError::Seal(e.to_string()))
    })
    .await
    .map_err(|e| SendError::Seal(e.to_string()))??;
    let response = client
        .post(format!("{portal}/api/v1/messages"))
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

/// Whether a reply's content is a message whose files match their checksums.
fn readable_reply(plain: &[u8]) -> bool {
    let Ok(content) = serde_json::from_slice::<MessageContent>(plain) else {
        return false;
    };
    content.attachments.iter().all(|file| {
        base64::engine::general_purpose::STANDARD
            .decode(&file.data)
            .is_ok_and(|bytes| {
                format!("{:x}", Sha256::digest(&bytes)).eq_ignore_ascii_case(&file.sha256)
            })
    })
}

/// Stores a citizen's reply (a delivery with `in_reply_to`) on its case and answers with a
/// signed receipt. The caller has checked the signature, the nonce, and that the delivery is
/// for an authority of this node.
pub(crate) async fn receive_reply(
    state: &NodeState,
    keys: &DeliveryKeys,
    delivery: DeliveryPayload,
    case: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Response {
    let (Ok(case_id), Ok(reply_id)) = (
        case.parse::<uuid::Uuid>(),
        delivery.delivery_id.parse::<uuid::Uuid>(),
    ) else {
        return ApiError::bad_request("`in_reply_to` and `delivery_id` must be UUIDs")
            .into_response();
    };
    let own = Arc::clone(&keys.own);
    let envelope = delivery.envelope.clone();
    let readable = tokio::task::spawn_blocking(move || {
        rathaus_seal::open(&envelope, &own, now).is_ok_and(|plain| readable_reply(&plain))
    })
    .await
    .unwrap_or(false);
    if !readable {
        return refused(
            StatusCode::UNPROCESSABLE_ENTITY,
            "the reply does not open with this node's key or is not a message",
        );
    }
    let stored = match state
        .store
        .store_reply(
            case_id,
            &delivery.authority,
            &delivery.reference,
            reply_id,
            delivery.envelope.as_bytes(),
            now,
        )
        .await
    {
        Ok(Some(stored)) => stored,
        // Another authority's case, another reference, or no case at all: all alike (Z2).
        Ok(None) => {
            return refused(
                StatusCode::NOT_FOUND,
                "no such case for this authority and reference",
            );
        }
        Err(e) if e.is_unavailable() => {
            return ApiError::Unavailable {
                cause: e.to_string(),
            }
            .into_response();
        }
        Err(e) => return ApiError::internal(e).into_response(),
    };
    if stored {
        // A case that waited for this answer is "in progress" again: tell the portal.
        state.status_wake.notify_one();
    }
    tracing::info!(reference = %delivery.reference, case = %case_id, reply = %reply_id, stored, "reply received");
    let receipt = ReceiptPayload {
        delivery_id: delivery.delivery_id,
        reference: delivery.reference,
        node: state.node.id.to_string(),
        outcome: if stored { "stored" } else { "duplicate" }.into(),
    };
    let signed = serde_json::to_value(&receipt)
        .map_err(|e| e.to_string())
        .and_then(|v| {
            rathaus_seal::sign(&v, RECEIPT_TYP, &keys.own, now).map_err(|e| e.to_string())
        });
    match signed {
        Ok(jws) => {
            let mut response = jws.into_response();
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/jose"),
            );
            response
        }
        Err(e) => ApiError::internal(e).into_response(),
    }
}

fn refused(status: StatusCode, detail: &str) -> Response {
    let mut response = ApiError::bad_request(detail).into_response();
    *response.status_mut() = status;
    response
}

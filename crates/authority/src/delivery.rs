//! `POST /api/v1/deliveries`: where applications arrive from the portal (issue 5).
//!
//! The body is a JWS signed by the portal's pinned key; its payload carries the JWE encrypted
//! to this node. The node checks the signature, age and nonce (C3), that the delivery is meant
//! for one of its authorities, and that the envelope opens with its own key; then it stores the
//! envelope as it arrived (so the content stays encrypted at rest) and answers with a receipt
//! signed by its own key. The same delivery stored twice is stored once and acknowledged twice.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use rathaus_seal::protocol::{
    DELIVERY_TYP, DeliveryPayload, MAX_AGE_SECS, RECEIPT_TYP, ReceiptPayload,
};
use rathaus_seal::{PrivateKeySet, PublicKeySet};
use rathaus_store::CaseRecord;
use rathaus_web::{ApiError, Clock};

use crate::NodeState;

/// The keys a node needs to receive applications.
#[derive(Debug, Clone)]
pub struct DeliveryKeys {
    /// The node's own keys: to open envelopes and sign receipts.
    pub own: Arc<PrivateKeySet>,
    /// The portal's pinned public keys: to check who delivers.
    pub portal: Arc<PublicKeySet>,
    pub clock: Arc<dyn Clock>,
}

pub(crate) async fn receive(State(state): State<NodeState>, body: Bytes) -> Response {
    let Some(keys) = state.delivery.clone() else {
        return ApiError::Unavailable {
            cause: "this node has no keys configured; see `rathaus keys generate`".into(),
        }
        .into_response();
    };
    let now = keys.clock.now();
    let Ok(jws) = std::str::from_utf8(&body) else {
        return ApiError::bad_request("the body must be a compact JWS").into_response();
    };
    let verified = match rathaus_seal::verify(
        jws.trim(),
        DELIVERY_TYP,
        &keys.portal,
        now,
        chrono::Duration::seconds(MAX_AGE_SECS),
    ) {
        Ok(v) => v,
        Err(e) => {
            tracing::warn!(error = %e, "refused a delivery with a bad signature");
            return refused(StatusCode::UNAUTHORIZED, &format!("signature refused: {e}"));
        }
    };
    let mut payload = verified.payload.clone();
    if let Some(object) = payload.as_object_mut() {
        object.remove("iat");
        object.remove("nonce");
    }
    let delivery: DeliveryPayload = match serde_json::from_value(payload) {
        Ok(d) => d,
        Err(e) => {
            return ApiError::bad_request(format!("the delivery is malformed: {e}"))
                .into_response();
        }
    };
    if delivery.node != state.node.id.as_str()
        || !state
            .tenant
            .authorities_on(&state.node.id)
            .any(|a| a.id.as_str() == delivery.authority)
    {
        return refused(
            StatusCode::UNPROCESSABLE_ENTITY,
            "this delivery is not for an authority on this node",
        );
    }
    let Ok(delivery_id) = delivery.delivery_id.parse::<uuid::Uuid>() else {
        return ApiError::bad_request("`delivery_id` must be a UUID").into_response();
    };
    match state
        .store
        .accept_nonce(&format!("portal:{}", verified.kid), &verified.nonce, now)
        .await
    {
        Ok(true) => {}
        Ok(false) => {
            return refused(
                StatusCode::CONFLICT,
                "this message was seen before (replay)",
            );
        }
        Err(e) => return store_error(&e),
    }
    // The envelope must be for this node: open it (and forget the plaintext at once).
    let own = Arc::clone(&keys.own);
    let envelope = delivery.envelope.clone();
    let opens =
        tokio::task::spawn_blocking(move || rathaus_seal::open(&envelope, &own, now).is_ok())
            .await
            .unwrap_or(false);
    if !opens {
        return refused(
            StatusCode::UNPROCESSABLE_ENTITY,
            "the envelope does not open with this node's key",
        );
    }
    if let Some(case) = delivery.in_reply_to.clone() {
        return crate::messages::receive_reply(&state, &keys, delivery, &case, now).await;
    }
    let case = CaseRecord {
        delivery_id,
        reference: delivery.reference.clone(),
        authority: delivery.authority.clone(),
        service_key: delivery.service_key.clone(),
        envelope: delivery.envelope.into_bytes(),
        status: "received".into(),
        received_at: now,
        updated_at: now,
    };
    let stored = match state.store.store_case(&case).await {
        Ok(stored) => stored,
        Err(e) => return store_error(&e),
    };
    rathaus_failpoint::hit(rathaus_failpoint::NODE_AFTER_STORE);
    tracing::info!(reference = %case.reference, delivery = %delivery_id, stored, "delivery received");
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

fn store_error(error: &rathaus_store::StoreError) -> Response {
    if error.is_unavailable() {
        ApiError::Unavailable {
            cause: error.to_string(),
        }
        .into_response()
    } else {
        ApiError::internal(error).into_response()
    }
}

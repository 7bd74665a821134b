//! `POST /api/v1/status`: status changes from the authority nodes (issue 5, the back channel).
//!
//! The body is a compact JWS of type `rathaus-status+jws`, signed by the node whose clerk
//! changed the status; its payload is `{reference, delivery_id, node, status}` plus `iat` and
//! `nonce`. It is authenticated by its signature, not by a session: the node it names must
//! have pinned keys here, the signature must verify against them, the message must be fresh,
//! the delivery must be one this portal sent to that node for that reference, and the nonce
//! must be new (C3). Only then does the application's status change. Every refusal is an
//! RFC 9457 problem document and changes nothing: 400 for a malformed message, 401 for a
//! signature that does not verify (unknown node, wrong key, altered byte, too old), 404 for an
//! unknown delivery, 409 for a delivery of another node or reference and for a replay.

use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use rathaus_domain::CaseStatus;
use rathaus_seal::protocol::{STATUS_TYP, StatusPayload};
use rathaus_web::ApiError;

use super::node_message::{self, conflict, malformed, store_error};
use crate::state::PortalState;

pub(crate) async fn receive(State(state): State<PortalState>, body: Bytes) -> Response {
    let now = state.clock.now();
    let verified = match node_message::verify::<StatusPayload>(&state, &body, STATUS_TYP, now).await
    {
        Ok(verified) => verified,
        Err(refusal) => return refusal,
    };
    let message = &verified.message;
    let Some(status) = CaseStatus::parse(&message.status) else {
        return malformed("`status` must be received, in_progress, needs_information or decided");
    };
    let Ok(delivery_id) = message.delivery_id.parse::<uuid::Uuid>() else {
        return malformed("`delivery_id` must be a UUID");
    };
    let route = match state.store.delivery_route(delivery_id).await {
        Ok(Some(route)) => route,
        Ok(None) => return ApiError::not_found("no such delivery").into_response(),
        Err(e) => return store_error(&e),
    };
    if route.node != message.node || route.reference != message.reference {
        return conflict("the delivery was not sent to this node for this reference");
    }
    if let Err(refusal) = verified.accept_once(&state, now).await {
        return refusal;
    }
    match state
        .store
        .record_case_status(delivery_id, status, now)
        .await
    {
        Ok(Some(application)) => {
            tracing::info!(
                reference = %route.reference,
                authority = %route.authority,
                reported = %status,
                application = application.as_str(),
                "status reported by the authority"
            );
            StatusCode::NO_CONTENT.into_response()
        }
        Ok(None) => ApiError::not_found("no such delivery").into_response(),
        Err(e) => store_error(&e),
    }
}

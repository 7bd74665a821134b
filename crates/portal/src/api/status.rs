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

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use http::{HeaderValue, StatusCode, header};
use rathaus_domain::CaseStatus;
use rathaus_seal::PublicKeySet;
use rathaus_seal::protocol::{MAX_AGE_SECS, STATUS_TYP, StatusPayload};
use rathaus_web::ApiError;
use rathaus_web::error::{Problem, error_reference};

use crate::state::PortalState;

/// A refusal with its own problem type (documented at `/api/v1/problems`).
fn problem(status: StatusCode, slug: &str, title: &str, detail: impl Into<String>) -> Response {
    let reference = error_reference();
    let detail = detail.into();
    tracing::warn!(error.reference = %reference, status = status.as_u16(), %detail, "status message refused");
    let mut response = (
        status,
        Json(Problem {
            type_uri: format!("/api/v1/problems#{slug}"),
            title: title.to_owned(),
            status: status.as_u16(),
            detail: Some(detail),
            instance: format!("urn:rathaus:error:{reference}"),
            errors: Vec::new(),
        }),
    )
        .into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    response
}

fn malformed(detail: impl Into<String>) -> Response {
    ApiError::bad_request(detail).into_response()
}

fn unauthenticated(detail: impl Into<String>) -> Response {
    problem(
        StatusCode::UNAUTHORIZED,
        "signature-refused",
        "The signature was refused",
        detail,
    )
}

fn conflict(detail: impl Into<String>) -> Response {
    problem(
        StatusCode::CONFLICT,
        "conflict",
        "The message does not fit what the portal knows",
        detail,
    )
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

/// The node a message says it comes from, read before the signature is checked, only to know
/// whose pinned keys to check it against.
fn claimed_node(jws: &str) -> Option<String> {
    let mut parts = jws.split('.');
    let (Some(_), Some(payload), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()?;
    let value: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    value.get("node")?.as_str().map(str::to_owned)
}

pub(crate) async fn receive(State(state): State<PortalState>, body: Bytes) -> Response {
    let now = state.clock.now();
    let Ok(jws) = std::str::from_utf8(&body) else {
        return malformed("the body must be a compact JWS");
    };
    let jws = jws.trim();
    let Some(node) = claimed_node(jws) else {
        return malformed("the body must be a compact JWS whose payload names the node");
    };
    let keys = match state.store.node_keys(&node).await {
        Ok(Some(jwks)) => match PublicKeySet::pin(&jwks, now) {
            Ok(keys) => keys,
            Err(e) => return unauthenticated(format!("the node's pinned keys are unusable: {e}")),
        },
        Ok(None) => return unauthenticated("no keys are pinned for this node"),
        Err(e) => return store_error(&e),
    };
    let verified = match rathaus_seal::verify(
        jws,
        STATUS_TYP,
        &keys,
        now,
        chrono::Duration::seconds(MAX_AGE_SECS),
    ) {
        Ok(verified) => verified,
        Err(e) => return unauthenticated(format!("signature refused: {e}")),
    };
    let mut payload = verified.payload;
    if let Some(object) = payload.as_object_mut() {
        object.remove("iat");
        object.remove("nonce");
    }
    let Ok(message) = serde_json::from_value::<StatusPayload>(payload) else {
        return malformed("the status message is malformed");
    };
    if message.node != node {
        return unauthenticated("the message names another node than its signer");
    }
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
    match state
        .store
        .accept_nonce(&format!("node:{}", verified.kid), &verified.nonce, now)
        .await
    {
        Ok(true) => {}
        Ok(false) => {
            return problem(
                StatusCode::CONFLICT,
                "replay",
                "The message was seen before",
                "this message was accepted before (replay)",
            );
        }
        Err(e) => return store_error(&e),
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

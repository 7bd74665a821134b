//! What every signed message from an authority node to the portal has in common: status
//! changes (`status.rs`), identity assertions (`identity.rs`) and messages to citizens
//! (`crate::mailbox::receive`).
//!
//! Each is a compact JWS whose payload names the signing node. [`verify`] reads that name only
//! to find the node's pinned keys, checks the signature, the type and the age against them,
//! and that the payload names the same node as its signer. The nonce is remembered separately
//! ([`NodeMessage::accept_once`]) so that a handler can first check everything that changes
//! nothing and only then spend the nonce (C3). Refusals are RFC 9457 problem documents whose
//! types are listed at `/api/v1/problems`.

use axum::Json;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use chrono::{DateTime, Utc};
use http::{HeaderValue, StatusCode, header};
use rathaus_seal::PublicKeySet;
use rathaus_seal::protocol::{IdentityPayload, MAX_AGE_SECS, MessagePayload, StatusPayload};
use rathaus_web::ApiError;
use rathaus_web::error::{Problem, error_reference};
use serde::de::DeserializeOwned;

use crate::state::PortalState;

/// A payload signed by a node, which names that node.
pub(crate) trait FromNode: DeserializeOwned {
    /// What the message is, for error details ("status message").
    const WHAT: &'static str;
    fn node(&self) -> &str;
}

impl FromNode for StatusPayload {
    const WHAT: &'static str = "status message";
    fn node(&self) -> &str {
        &self.node
    }
}

impl FromNode for MessagePayload {
    const WHAT: &'static str = "message";
    fn node(&self) -> &str {
        &self.node
    }
}

impl FromNode for IdentityPayload {
    const WHAT: &'static str = "identity assertion";
    fn node(&self) -> &str {
        &self.node
    }
}

/// A message whose signature, type, age and signer are checked; its nonce not yet.
pub(crate) struct NodeMessage<T> {
    pub message: T,
    /// The key the nonce is remembered under: per signing key, as nonces are per signer.
    nonce_scope: String,
    nonce: String,
}

impl<T> NodeMessage<T> {
    /// Remembers the message's nonce; a message seen before is refused as a replay (409).
    pub(crate) async fn accept_once(
        &self,
        state: &PortalState,
        now: DateTime<Utc>,
    ) -> Result<(), Response> {
        match state
            .store
            .accept_nonce(&self.nonce_scope, &self.nonce, now)
            .await
        {
            Ok(true) => Ok(()),
            Ok(false) => Err(refuse(
                StatusCode::CONFLICT,
                "replay",
                "The message was seen before",
                "this message was accepted before (replay)",
            )),
            Err(e) => Err(store_error(&e)),
        }
    }
}

/// Checks `body` as a JWS of type `typ` from the node it names; see the module comment.
pub(crate) async fn verify<T: FromNode>(
    state: &PortalState,
    body: &[u8],
    typ: &str,
    now: DateTime<Utc>,
) -> Result<NodeMessage<T>, Response> {
    let Ok(jws) = std::str::from_utf8(body) else {
        return Err(malformed("the body must be a compact JWS"));
    };
    let jws = jws.trim();
    let Some(node) = claimed_node(jws) else {
        return Err(malformed(
            "the body must be a compact JWS whose payload names the node",
        ));
    };
    let keys = match state.store.node_keys(&node).await {
        Ok(Some(jwks)) => PublicKeySet::pin(&jwks, now)
            .map_err(|e| unauthenticated(format!("the node's pinned keys are unusable: {e}")))?,
        Ok(None) => return Err(unauthenticated("no keys are pinned for this node")),
        Err(e) => return Err(store_error(&e)),
    };
    let verified = rathaus_seal::verify(
        jws,
        typ,
        &keys,
        now,
        chrono::Duration::seconds(MAX_AGE_SECS),
    )
    .map_err(|e| unauthenticated(format!("signature refused: {e}")))?;
    let mut payload = verified.payload;
    if let Some(object) = payload.as_object_mut() {
        object.remove("iat");
        object.remove("nonce");
    }
    let Ok(message) = serde_json::from_value::<T>(payload) else {
        return Err(malformed(format!("the {} is malformed", T::WHAT)));
    };
    if message.node() != node {
        return Err(unauthenticated(
            "the message names another node than its signer",
        ));
    }
    Ok(NodeMessage {
        message,
        nonce_scope: format!("node:{}", verified.kid),
        nonce: verified.nonce,
    })
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

/// A refusal with its own problem type (documented at `/api/v1/problems`), logged with its
/// error reference so an operator can match the node's log line to the portal's.
pub(crate) fn refuse(
    status: StatusCode,
    slug: &str,
    title: &str,
    detail: impl Into<String>,
) -> Response {
    let reference = error_reference();
    let detail = detail.into();
    tracing::warn!(error.reference = %reference, status = status.as_u16(), %detail, "signed message from a node refused");
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

pub(crate) fn malformed(detail: impl Into<String>) -> Response {
    ApiError::bad_request(detail).into_response()
}

pub(crate) fn unauthenticated(detail: impl Into<String>) -> Response {
    refuse(
        StatusCode::UNAUTHORIZED,
        "signature-refused",
        "The signature was refused",
        detail,
    )
}

pub(crate) fn conflict(detail: impl Into<String>) -> Response {
    refuse(
        StatusCode::CONFLICT,
        "conflict",
        "The message does not fit what the portal knows",
        detail,
    )
}

pub(crate) fn store_error(error: &rathaus_store::StoreError) -> Response {
    if error.is_unavailable() {
        ApiError::Unavailable {
            cause: error.to_string(),
        }
        .into_response()
    } else {
        ApiError::internal(error).into_response()
    }
}

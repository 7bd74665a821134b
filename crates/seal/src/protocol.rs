//! The signed messages between the portal and authority nodes, so both sides agree on their
//! shape in one place.
//!
//! A delivery is a JWS of type [`DELIVERY_TYP`] signed by the portal, posted to the node's
//! `POST /api/v1/deliveries`; its payload carries the metadata and the JWE for the node. The
//! node answers with a JWS of type [`RECEIPT_TYP`] signed with its own key. Both are checked
//! with [`crate::verify`] against pinned keys and their nonces remembered (C3).
//!
//! A status change travels back the other way: the node signs a JWS of type [`STATUS_TYP`]
//! with its own key and posts it to the portal's `POST /api/v1/status`, which checks it against
//! the node's pinned keys.

use serde::{Deserialize, Serialize};

pub const DELIVERY_TYP: &str = "rathaus-delivery+jws";
pub const RECEIPT_TYP: &str = "rathaus-receipt+jws";
pub const STATUS_TYP: &str = "rathaus-status+jws";

/// How old a signed message may be when it arrives; older ones are refused as replays.
pub const MAX_AGE_SECS: i64 = 300;

/// What the portal signs when it delivers an application to a node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliveryPayload {
    /// The idempotency key: the same delivery is stored once, however often it arrives.
    pub delivery_id: String,
    pub reference: String,
    pub service_key: String,
    pub authority: String,
    pub node: String,
    /// The application (submission document and attachments) as JWE for the node.
    pub envelope: String,
}

/// What a node signs when it has stored a delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReceiptPayload {
    pub delivery_id: String,
    pub reference: String,
    pub node: String,
    /// `stored`, or `duplicate` when the delivery had arrived before.
    pub outcome: String,
}

/// What a node signs when a clerk changes the status of a case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusPayload {
    pub reference: String,
    /// The delivery the case came with (the case's id at the node).
    pub delivery_id: String,
    /// The node that signs; the portal checks that the delivery went to it.
    pub node: String,
    /// `received`, `in_progress`, `needs_information` or `decided`.
    pub status: String,
}

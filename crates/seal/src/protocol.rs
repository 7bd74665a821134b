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
//!
//! An identity assertion also travels from a node to the portal: when a clerk at an
//! authority's counter has checked a person's ID card against their one-time identification
//! code, the node signs a JWS of type [`IDENTITY_TYP`] and posts it to the portal's
//! `POST /api/v1/identity-assertions`, which answers at once with the outcome.
//!
//! A message to the citizen (the Postfach) travels the same way as a JWS of type
//! [`MESSAGE_TYP`] to the portal's `POST /api/v1/messages`; its content ([`MessageContent`]) is
//! a JWE to the portal's encryption key inside it, so only the portal can read it. The
//! citizen's reply goes like an application: a [`DeliveryPayload`] whose `in_reply_to` names
//! the case, with a [`MessageContent`] sealed to the node.

use serde::{Deserialize, Serialize};

pub const DELIVERY_TYP: &str = "rathaus-delivery+jws";
pub const RECEIPT_TYP: &str = "rathaus-receipt+jws";
pub const STATUS_TYP: &str = "rathaus-status+jws";
pub const IDENTITY_TYP: &str = "rathaus-identity+jws";
pub const MESSAGE_TYP: &str = "rathaus-message+jws";

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
    /// The application (submission document and attachments) as JWE for the node; for a
    /// reply, a [`MessageContent`] as JWE for the node.
    pub envelope: String,
    /// For a citizen's reply: the delivery id of the case it answers. Absent for an
    /// application, so older nodes and portals read each other's deliveries unchanged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_reply_to: Option<String>,
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

/// What a node signs when it sends a clerk's message to the citizen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MessagePayload {
    /// The message's id: the portal stores a message once, however often it arrives.
    pub message_id: String,
    pub reference: String,
    /// The delivery the case came with (the case's id at the node).
    pub delivery_id: String,
    /// The node that signs; the portal checks that the delivery went to it.
    pub node: String,
    /// Whether the message carries the authority's decision.
    pub decision: bool,
    /// A [`MessageContent`] as JWE to the portal's encryption key.
    pub content: String,
}

/// The content of a message in either direction, always sealed (JWE) for its recipient.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MessageContent {
    pub subject: String,
    pub text: String,
    #[serde(default)]
    pub attachments: Vec<MessageFile>,
}

impl std::fmt::Debug for MessageContent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Content never reaches a log through `Debug`.
        f.debug_struct("MessageContent")
            .field("attachments", &self.attachments.len())
            .finish_non_exhaustive()
    }
}

/// A file of a message: its description and its content in standard base64.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MessageFile {
    pub id: String,
    pub name: String,
    pub media_type: String,
    pub size: u64,
    /// SHA-256 of the content in lowercase hex, checked by the recipient.
    pub sha256: String,
    pub data: String,
}

impl std::fmt::Debug for MessageFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MessageFile")
            .field("id", &self.id)
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

/// What a node signs when a clerk has identified a person at the counter (SECURITY.md A6).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentityPayload {
    /// The one-time identification code the person brought, as typed (the portal reads it
    /// again and checks its check character).
    pub code: String,
    /// The node that signs; the portal checks its signature against this node's pinned keys.
    pub node: String,
    /// The authority whose counter it was; it must be hosted by `node`.
    pub authority: String,
    /// The clerk's id at the node (a UUID, never a name), for the portal's audit log.
    pub clerk: String,
    /// What the clerk read from the ID document.
    pub attributes: IdentityAttributes,
}

/// The attributes a clerk verified against an ID document. They are personal data: the
/// portal hands them on (to be kept only with the person's consent) and never logs them.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentityAttributes {
    pub family_name: String,
    pub given_names: String,
    /// `YYYY-MM-DD`.
    pub birth_date: String,
    pub street: String,
    pub house_number: String,
    pub postcode: String,
    pub city: String,
    /// One of [`DOCUMENT_TYPES`].
    pub document_type: String,
}

impl std::fmt::Debug for IdentityAttributes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Personal data never reaches a log line through `{:?}` (L1).
        f.write_str("IdentityAttributes(***)")
    }
}

/// The ID documents a clerk may check: the German ID card, the German passport, the
/// electronic residence permit (eAT) and the eID card for citizens of the EU and the EEA.
pub const DOCUMENT_TYPES: [&str; 4] = [
    "personalausweis",
    "reisepass",
    "aufenthaltstitel",
    "unionsbuerger_eid",
];

/// What the portal answers to an accepted identity assertion (a refusal is a problem
/// document whose `type` says why, see `/api/v1/problems`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentityOutcome {
    /// `verified`: the code was redeemed; the account has at least level `substantial` now.
    pub outcome: String,
}

/// The problem `type` (after `/api/v1/problems#`) when no account has this code.
pub const PROBLEM_CODE_UNKNOWN: &str = "identification-code-unknown";
/// The problem `type` when the code is older than 14 days.
pub const PROBLEM_CODE_EXPIRED: &str = "identification-code-expired";
/// The problem `type` when the code has been used already.
pub const PROBLEM_CODE_USED: &str = "identification-code-used";

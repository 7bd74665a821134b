//! The submission document: what an authority receives, machine-readable, in the shape of
//! the published schema ([`crate::schema`]). It carries no account identifier (R4): the
//! portal alone knows whose application it is. `verified` names the answers that were
//! prefilled from an identity check and left unchanged, with where and when they were verified.

use chrono::{DateTime, SecondsFormat, Utc};
use rathaus_domain::{Lang, ServiceKey};
use serde_json::{Value as Json, json};

use crate::answers::Answers;
use crate::prefill::Marks;

/// The format tag every document carries, so receivers can evolve with it.
pub const FORMAT: &str = "rathaus-submission/1";

pub fn submission_document(
    key: &ServiceKey,
    service_name: &str,
    reference: &str,
    submitted_at: DateTime<Utc>,
    lang: Lang,
    answers: &Answers,
    verified: &Marks,
) -> Json {
    json!({
        "format": FORMAT,
        "service": { "key": key.to_string(), "name": service_name },
        "reference": reference,
        "submitted_at": submitted_at.to_rfc3339_opts(SecondsFormat::Secs, true),
        "language": lang.code(),
        "answers": answers.to_json(),
        "attachments": answers.files(),
        "verified": verified.to_json(),
    })
}

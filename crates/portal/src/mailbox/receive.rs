//! `POST /api/v1/messages`: messages from the authority nodes to citizens (issue 5).
//!
//! The body is a compact JWS of type `rathaus-message+jws` signed by the node whose clerk wrote
//! the message; its payload is `{message_id, reference, delivery_id, node, decision, content}`
//! plus `iat` and `nonce`, where `content` is a JWE to the portal's encryption key. It is
//! checked like a status message (C3): the node's pinned keys, a fresh signature, a delivery
//! this portal sent to that node for that reference, a new nonce. Then the content must open
//! with the portal's key and be a well-formed message whose files are what their checksums
//! and types say (U1). Only then is it sealed at rest for the application's owner, and the
//! owner gets a mail that a message is waiting — the mail names no subject and no content.
//!
//! Every refusal is an RFC 9457 problem document and changes nothing: 400 malformed, 401 the
//! signature (unknown node, wrong key, altered byte, too old), 404 unknown delivery, 409 a
//! delivery of another node or reference, or a replay, 422 content that does not open or is
//! not acceptable, 503 a portal without keys. A message that arrives again (the node did not
//! get the answer) is acknowledged again and stored once: 200 instead of 201, and no mail.

use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use http::StatusCode;
use rathaus_forms::definition::FileType;
use rathaus_seal::protocol::{MESSAGE_TYP, MessageContent, MessagePayload};
use rathaus_store::{MailboxMessage, MessageDirection};
use rathaus_web::ApiError;
use sha2::{Digest, Sha256};

use super::{
    MAX_FILE_BYTES, MAX_FILES, MAX_SUBJECT, MAX_TEXT, Stored, StoredFile, file_owner,
    message_owner, printable,
};
use crate::api::node_message::{self, conflict, malformed, refuse, store_error};
use crate::mail::{MailKind, compose};
use crate::state::PortalState;

/// Files a message from an authority may carry: the clerk's attachments and the decision.
const MAX_MESSAGE_FILES: usize = MAX_FILES + 1;
/// The decision text of the PDF is not part of `text`; a notice may be long, but not a book.
const MAX_MESSAGE_TEXT: usize = MAX_TEXT;
/// The types a message's files may have, by their content.
const ACCEPTED: [FileType; 3] = [FileType::Pdf, FileType::Png, FileType::Jpeg];

fn unacceptable(detail: impl Into<String>) -> Response {
    refuse(
        StatusCode::UNPROCESSABLE_ENTITY,
        "unacceptable-content",
        "The message's content cannot be accepted",
        detail,
    )
}

/// A message's content checked and split: what is sealed as the message, and each file.
struct Accepted {
    stored: Stored,
    files: Vec<(uuid::Uuid, Vec<u8>)>,
}

/// Checks the opened content; the error names what is wrong, never the content itself.
fn accept(content: MessageContent) -> Result<Accepted, String> {
    let subject = content.subject.trim();
    if subject.is_empty() || subject.chars().count() > MAX_SUBJECT || !printable(subject, false) {
        return Err(format!(
            "`subject` must be 1 to {MAX_SUBJECT} printable characters"
        ));
    }
    let text = content.text.trim();
    if text.chars().count() > MAX_MESSAGE_TEXT || !printable(text, true) {
        return Err(format!(
            "`text` must be at most {MAX_MESSAGE_TEXT} printable characters"
        ));
    }
    if content.attachments.len() > MAX_MESSAGE_FILES {
        return Err(format!("at most {MAX_MESSAGE_FILES} attachments"));
    }
    let mut stored = Vec::new();
    let mut files = Vec::new();
    for (index, file) in content.attachments.into_iter().enumerate() {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(&file.data)
            .map_err(|_| format!("attachment {index} is not base64"))?;
        if bytes.is_empty() || bytes.len() as u64 > MAX_FILE_BYTES {
            return Err(format!(
                "attachment {index} must have 1 byte to {MAX_FILE_BYTES} bytes"
            ));
        }
        if !format!("{:x}", Sha256::digest(&bytes)).eq_ignore_ascii_case(&file.sha256) {
            return Err(format!("attachment {index} does not match its checksum"));
        }
        let Some(kind) = rathaus_forms::uploads::sniff(&bytes).filter(|k| ACCEPTED.contains(k))
        else {
            return Err(format!("attachment {index} is not a PDF, PNG or JPEG"));
        };
        let id = uuid::Uuid::new_v4();
        stored.push(StoredFile {
            id,
            name: rathaus_forms::uploads::sanitise_name(&file.name, kind),
            media_type: kind.media_type().to_owned(),
            size: bytes.len() as u64,
        });
        files.push((id, bytes));
    }
    Ok(Accepted {
        stored: Stored {
            subject: subject.to_owned(),
            text: text.to_owned(),
            files: stored,
        },
        files,
    })
}

#[allow(clippy::too_many_lines)]
pub(crate) async fn receive(State(state): State<PortalState>, body: Bytes) -> Response {
    let now = state.clock.now();
    let verified =
        match node_message::verify::<MessagePayload>(&state, &body, MESSAGE_TYP, now).await {
            Ok(verified) => verified,
            Err(refusal) => return refusal,
        };
    let message = &verified.message;
    let (Ok(delivery_id), Ok(message_id)) = (
        message.delivery_id.parse::<uuid::Uuid>(),
        message.message_id.parse::<uuid::Uuid>(),
    ) else {
        return malformed("`delivery_id` and `message_id` must be UUIDs");
    };
    let route = match state.store.delivery_route(delivery_id).await {
        Ok(Some(route)) => route,
        Ok(None) => return ApiError::not_found("no such delivery").into_response(),
        Err(e) => return store_error(&e),
    };
    if route.node != message.node || route.reference != message.reference {
        return conflict("the delivery was not sent to this node for this reference");
    }
    let Some(portal_keys) = state.delivery_keys.clone() else {
        return ApiError::Unavailable {
            cause: "the portal has no keys to open messages (`portal.keys_file`)".into(),
        }
        .into_response();
    };
    if let Err(refusal) = verified.accept_once(&state, now).await {
        return refusal;
    }
    let account = match state.store.application_account(&route.reference).await {
        Ok(Some(account)) => account,
        Ok(None) => return ApiError::not_found("no such application").into_response(),
        Err(e) => return store_error(&e),
    };
    let vault = crate::applications::vault(&state);
    let content = message.content.clone();
    let opened = tokio::task::spawn_blocking(move || {
        let plain = rathaus_seal::open(&content, &portal_keys, now)
            .map_err(|_| "the content does not open with the portal's key".to_owned())?;
        let content: MessageContent = serde_json::from_slice(&plain)
            .map_err(|_| "the content is not a message".to_owned())?;
        let accepted = accept(content)?;
        // Sealed at rest at once: the plaintext leaves this closure only sealed (C1).
        let plain = serde_json::to_vec(&accepted.stored).map_err(|e| e.to_string())?;
        let sealed = vault
            .seal(&plain, &message_owner(&account, message_id))
            .map_err(|e| e.to_string())?;
        let files = accepted
            .files
            .into_iter()
            .map(|(id, bytes)| {
                vault
                    .seal(&bytes, &file_owner(&account, id))
                    .map(|sealed| (id, sealed))
                    .map_err(|e| e.to_string())
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok::<_, String>((sealed, files))
    })
    .await;
    let (sealed, files) = match opened {
        Ok(Ok(sealed)) => sealed,
        Ok(Err(detail)) => return unacceptable(detail),
        Err(e) => return ApiError::internal(e).into_response(),
    };
    let record = MailboxMessage {
        id: message_id,
        reference: route.reference.clone(),
        account,
        delivery_id,
        authority: route.authority.clone(),
        direction: MessageDirection::ToCitizen,
        decision: message.decision,
        sealed,
        received_at: now,
        read_at: None,
        expires_at: state.message_expiry(&route.service_key, now),
        delivery_state: None,
    };
    let stored = match state.store.store_mailbox_message(&record, &files).await {
        Ok(stored) => stored,
        Err(e) => return store_error(&e),
    };
    tracing::info!(
        reference = %route.reference,
        authority = %route.authority,
        message = %message_id,
        decision = message.decision,
        stored,
        "message from the authority"
    );
    if !stored {
        return StatusCode::OK.into_response();
    }
    metrics::counter!("rathaus_mailbox_messages_total").increment(1);
    match state.store.account(account).await {
        Ok(Some(owner)) => crate::accounts::send_in_background(
            &state,
            compose(
                MailKind::NewMessage,
                owner.email,
                &crate::accounts::absolute(&state, "/account/mailbox"),
            ),
        ),
        Ok(None) => {}
        Err(error) => tracing::warn!(%error, "the mail about a new message could not be sent"),
    }
    StatusCode::CREATED.into_response()
}

#[cfg(test)]
mod tests {
    use rathaus_seal::protocol::MessageFile;

    use super::*;

    const PDF: &[u8] = b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n";

    fn file(data: &[u8], name: &str) -> MessageFile {
        MessageFile {
            id: uuid::Uuid::new_v4().to_string(),
            name: name.to_owned(),
            media_type: "application/pdf".to_owned(),
            size: data.len() as u64,
            sha256: format!("{:x}", Sha256::digest(data)),
            data: base64::engine::general_purpose::STANDARD.encode(data),
        }
    }

    fn content(subject: &str, attachments: Vec<MessageFile>) -> MessageContent {
        MessageContent {
            subject: subject.to_owned(),
            text: "Guten Tag".to_owned(),
            attachments,
        }
    }

    #[test]
    fn u1_message_files_are_checked_by_content_and_renamed() {
        let accepted =
            accept(content("Bescheid", vec![file(PDF, "../../etc/passwd.exe")])).unwrap();
        assert_eq!(accepted.stored.files[0].name, "passwd.pdf");
        assert_eq!(accepted.stored.files[0].media_type, "application/pdf");

        let mut wrong_sum = file(PDF, "a.pdf");
        wrong_sum.sha256 = "00".repeat(32);
        assert!(accept(content("x", vec![wrong_sum])).is_err());
        let html = file(b"<html><script>alert(1)</script></html>", "a.pdf");
        assert!(accept(content("x", vec![html])).is_err());
        let too_many = (0..=MAX_MESSAGE_FILES)
            .map(|_| file(PDF, "a.pdf"))
            .collect();
        assert!(accept(content("x", too_many)).is_err());
    }

    #[test]
    fn v1_subjects_without_text_or_with_control_characters_are_refused() {
        assert!(accept(content("", Vec::new())).is_err());
        assert!(accept(content("Betreff\r\nBcc: x", Vec::new())).is_err());
        assert!(accept(content(&"x".repeat(MAX_SUBJECT + 1), Vec::new())).is_err());
        assert!(accept(content("Rückfrage zu Ihrem Antrag", Vec::new())).is_ok());
    }
}

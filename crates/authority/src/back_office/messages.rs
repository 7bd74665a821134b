//! Messages of a case: a clerk writes to the citizen (`POST /back-office/cases/{id}/messages`,
//! multipart with attachments) as a notice, a question (the case waits for information) or a
//! decision (the decision text becomes a PDF/UA document attached to the message and the case
//! is decided); `GET …/messages/{message}/files/{file}` downloads a file of a message in either
//! direction.
//!
//! A message is kept as a JWE to the node's own key, like the case itself, and queued for the
//! portal in the same transaction as the status change it makes ([`crate::messages`] sends
//! it). The content is opened in memory for one request only.

use std::sync::Arc;

use axum::extract::{Path, Request, State};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use http::{HeaderMap, header};
use rathaus_domain::{AuditEvent, CaseStatus};
use rathaus_forms::definition::FileType;
use rathaus_forms::uploads::{self, Upload};
use rathaus_seal::protocol::{MessageContent, MessageFile};
use rathaus_store::{CaseMessage, CaseRecord, CaseStatusChange, MessageDirection, NewCaseMessage};
use rathaus_web::form_body::{self, FormBody, FormLimits};
use rathaus_web::{PageError, PageProblem};
use sha2::{Digest, Sha256};

use super::case::{self, Compose};
use super::document::{human_size, served_media_type};
use super::session::CSRF_FIELD;
use super::texts::BoTexts;
use super::{
    BoPage, ClerkUser, audit, forbidden, not_found, same_site, see_other, store_failure,
    unavailable, when,
};
use crate::NodeState;

/// Attachments per message.
pub(crate) const MAX_FILES: usize = 5;
/// Bytes per attachment.
pub(crate) const MAX_FILE_BYTES: u64 = 10 * 1024 * 1024;
/// Bytes of all attachments of a message together; with base64 inside a JWE this stays well
/// below the portal's limit for a signed message.
pub(crate) const MAX_TOTAL_BYTES: u64 = 20 * 1024 * 1024;
/// Pixels of an attached image.
const MAX_PIXELS: u64 = 40_000_000;
pub(crate) const MAX_SUBJECT: usize = 200;
pub(crate) const MAX_TEXT: usize = 20_000;
const MAX_DECISION: usize = 50_000;
/// Text fields of the form (csrf, kind, subject, text, decision); more is refused (V2).
const MAX_FIELDS: usize = 8;

/// The file types a message may carry.
pub(crate) const ACCEPTED: [FileType; 3] = [FileType::Pdf, FileType::Png, FileType::Jpeg];

/// What the clerk chose to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A notice; the status stays.
    Notice,
    /// A question: the case waits for information.
    Question,
    /// The decision: attached as PDF, the case is decided.
    Decision,
}

impl Kind {
    fn parse(raw: &str) -> Option<Self> {
        match raw {
            "message" => Some(Self::Notice),
            "question" => Some(Self::Question),
            "decision" => Some(Self::Decision),
            _ => None,
        }
    }
}

/// A message as the case page shows it.
#[derive(Debug, Clone)]
pub(crate) struct MessageView {
    pub at: String,
    pub from_citizen: bool,
    pub decision: bool,
    pub subject: String,
    pub text: String,
    pub files: Vec<MessageFileView>,
    /// For messages to the citizen: whether the portal has it yet.
    pub state: &'static str,
}

#[derive(Debug, Clone)]
pub(crate) struct MessageFileView {
    pub href: String,
    pub name: String,
    pub size: String,
}

/// Whether a text is printable: no control characters but line breaks and tabs (V1).
pub(crate) fn printable(text: &str, multiline: bool) -> bool {
    !text
        .chars()
        .any(|c| c.is_control() && !(multiline && matches!(c, '\n' | '\r' | '\t')))
}

/// Opens the messages of a case with the node's key, oldest first. A message that does not
/// open is shown as damaged rather than failing the whole page.
pub(crate) async fn open_all(
    state: &NodeState,
    messages: Vec<CaseMessage>,
) -> Vec<(CaseMessage, Option<MessageContent>)> {
    let Some(keys) = state.delivery.clone() else {
        return messages.into_iter().map(|m| (m, None)).collect();
    };
    let now = keys.clock.now();
    tokio::task::spawn_blocking(move || {
        messages
            .into_iter()
            .map(|m| {
                let content = open_content(&m.envelope, &keys.own, now);
                (m, content)
            })
            .collect()
    })
    .await
    .unwrap_or_default()
}

pub(crate) fn open_content(
    envelope: &[u8],
    keys: &rathaus_seal::PrivateKeySet,
    now: chrono::DateTime<chrono::Utc>,
) -> Option<MessageContent> {
    let jwe = std::str::from_utf8(envelope).ok()?;
    let plain = rathaus_seal::open(jwe, keys, now).ok()?;
    serde_json::from_slice(&plain).ok()
}

pub(crate) fn views(
    case_id: uuid::Uuid,
    opened: &[(CaseMessage, Option<MessageContent>)],
    t: &BoTexts,
    lang: rathaus_domain::Lang,
) -> Vec<MessageView> {
    opened
        .iter()
        .map(|(message, content)| {
            let from_citizen = message.direction == MessageDirection::FromCitizen;
            let (subject, text, files) = match content {
                Some(content) => (
                    content.subject.clone(),
                    content.text.clone(),
                    content
                        .attachments
                        .iter()
                        .map(|f| MessageFileView {
                            href: format!(
                                "/back-office/cases/{case_id}/messages/{}/files/{}",
                                message.id, f.id
                            ),
                            name: f.name.clone(),
                            size: human_size(f.size),
                        })
                        .collect(),
                ),
                None => ("?".to_owned(), String::new(), Vec::new()),
            };
            MessageView {
                at: when(message.created_at, lang),
                from_citizen,
                decision: message.decision,
                subject,
                text,
                files,
                state: match (from_citizen, message.sent_at) {
                    (true, _) => "",
                    (false, Some(_)) => t.message_delivered,
                    (false, None) => t.message_waiting,
                },
            }
        })
        .collect()
}

/// The posted form: its text fields, and the files chosen (an input left empty sends none).
struct Posted {
    form: FormBody,
    uploads: Vec<Upload>,
}

impl Posted {
    fn get(&self, name: &str) -> &str {
        self.form.get(name)
    }
}

async fn read_form(request: Request, state: &NodeState) -> Result<Posted, PageProblem> {
    let limits = FormLimits {
        max_fields: MAX_FIELDS,
        // One more than allowed, so that "too many files" is told as such, not as too large.
        max_files: MAX_FILES + 1,
    };
    let mut form = form_body::read(request, state, limits).await?;
    let uploads = std::mem::take(&mut form.files)
        .into_iter()
        .filter(|f| !f.content.is_empty())
        .map(|f| Upload {
            input: f.input,
            file_name: f.file_name,
            content: f.content,
        })
        .collect();
    Ok(Posted { form, uploads })
}

/// Checks the form; the errors are shown above it with everything typed kept.
fn check(
    posted: &Posted,
    current: CaseStatus,
    role: rathaus_domain::ClerkRole,
    t: &BoTexts,
    lang: rathaus_domain::Lang,
) -> (Option<Kind>, Vec<rathaus_forms::FileRef>, Vec<String>) {
    let mut errors = Vec::new();
    let kind = Kind::parse(posted.get("kind"));
    match kind {
        None => errors.push(t.err_kind.to_owned()),
        Some(Kind::Question)
            if current != CaseStatus::NeedsInformation
                && !current.may_become(CaseStatus::NeedsInformation, role) =>
        {
            errors.push(t.err_kind_status.to_owned());
        }
        Some(Kind::Decision) if !current.may_become(CaseStatus::Decided, role) => {
            errors.push(t.err_kind_status.to_owned());
        }
        _ => {}
    }
    let subject = posted.get("subject").trim();
    if subject.is_empty() || subject.chars().count() > MAX_SUBJECT || !printable(subject, false) {
        errors.push(t.err_subject.to_owned());
    }
    let text = posted.get("text").trim();
    if text.is_empty() || text.chars().count() > MAX_TEXT || !printable(text, true) {
        errors.push(t.err_text.to_owned());
    }
    if kind == Some(Kind::Decision) {
        let decision = posted.get("decision").trim();
        if decision.is_empty()
            || decision.chars().count() > MAX_DECISION
            || !printable(decision, true)
        {
            errors.push(t.err_decision.to_owned());
        }
    }
    let total: u64 = posted.uploads.iter().map(|u| u.content.len() as u64).sum();
    let mut files = Vec::new();
    if posted.uploads.len() > MAX_FILES || total > MAX_TOTAL_BYTES {
        errors.push(t.err_files.to_owned());
    } else {
        for upload in &posted.uploads {
            // The clerk's own name for the file, shown back in the error only.
            let name: String = upload
                .file_name
                .rsplit(['/', '\\'])
                .next()
                .unwrap_or_default()
                .chars()
                .filter(|c| !c.is_control())
                .take(80)
                .collect();
            let Ok(label) = rathaus_domain::Text::new(
                format!("{} {name}", super::texts::DE.file_label),
                format!("{} {name}", super::texts::EN.file_label),
            ) else {
                errors.push(t.err_files.to_owned());
                continue;
            };
            match uploads::accept(upload, &ACCEPTED, MAX_FILE_BYTES, MAX_PIXELS, &label) {
                Ok(file) => files.push(file),
                Err(message) => errors.push(message.get(lang).to_owned()),
            }
        }
    }
    (kind, files, errors)
}

#[allow(clippy::too_many_lines)]
pub(crate) async fn write(
    State(state): State<NodeState>,
    page: BoPage,
    headers: HeaderMap,
    user: ClerkUser,
    Path(id): Path<String>,
    request: Request,
) -> Response {
    let Some(office) = state.back_office.clone() else {
        return unavailable(&page);
    };
    let multipart = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    if !multipart {
        return PageError::new(PageProblem::BadRequest, page.chrome.clone()).into_response();
    }
    let posted = match read_form(request, &state).await {
        Ok(posted) => posted,
        Err(problem) => return PageError::new(problem, page.chrome.clone()).into_response(),
    };
    // The token first: without it nothing is looked up, let alone written (S4).
    if !same_site(&headers) || !user.csrf_ok(posted.get(CSRF_FIELD)) {
        return forbidden(&page);
    }
    let case = match case::load(&state, &page, &user, &id).await {
        Ok(case) => case,
        Err(response) => return response,
    };
    let Some(current) = CaseStatus::parse(&case.status) else {
        return PageError::internal(page.chrome.clone(), "a case has an unknown status")
            .into_response();
    };
    let lang = page.chrome.lang;
    let (kind, files, errors) = check(&posted, current, user.clerk.role, page.t, lang);
    let compose = Compose {
        kind: posted.get("kind").to_owned(),
        subject: posted.get("subject").to_owned(),
        text: posted.get("text").to_owned(),
        decision: posted.get("decision").to_owned(),
        errors,
    };
    let Some(kind) = kind.filter(|_| compose.errors.is_empty()) else {
        return case::show(&state, &office, &page, &user, &case, compose, None).await;
    };
    let Some(keys) = state.delivery.clone() else {
        let mut e = PageError::new(PageProblem::Unavailable, page.chrome.clone());
        e.cause = Some("this node has no keys configured".into());
        return e.into_response();
    };
    let now = office.clock.now();
    let mut attachments: Vec<MessageFile> = files
        .iter()
        .zip(&posted.uploads)
        .map(|(file, upload)| MessageFile {
            id: file.id.to_string(),
            name: file.name.clone(),
            media_type: file.media_type.clone(),
            size: file.size,
            sha256: file.sha256.clone(),
            data: base64::engine::general_purpose::STANDARD.encode(&upload.content),
        })
        .collect();
    if kind == Kind::Decision {
        match decision_pdf(&state, &office, &page, &case, compose.decision.trim(), now).await {
            Ok(file) => attachments.insert(0, file),
            Err(response) => return response,
        }
    }
    let content = MessageContent {
        subject: compose.subject.trim().to_owned(),
        text: compose.text.trim().to_owned(),
        attachments,
    };
    let own = Arc::clone(&keys.own);
    let sealed = tokio::task::spawn_blocking(move || {
        let plain = serde_json::to_vec(&content).map_err(|e| e.to_string())?;
        rathaus_seal::seal(&plain, "application/json", &own.public(), now)
            .map_err(|e| e.to_string())
    })
    .await
    .map_err(|e| e.to_string())
    .and_then(|r| r);
    let sealed = match sealed {
        Ok(sealed) => sealed,
        Err(e) => return PageError::internal(page.chrome.clone(), e).into_response(),
    };
    let to = match kind {
        Kind::Notice => None,
        Kind::Question if current == CaseStatus::NeedsInformation => None,
        Kind::Question => Some(CaseStatus::NeedsInformation),
        Kind::Decision => Some(CaseStatus::Decided),
    };
    let status_change = to.map(|to| CaseStatusChange {
        case_id: case.delivery_id,
        authority: user.clerk.authority.clone(),
        clerk: user.clerk.id,
        from: current,
        to,
        at: now,
        retain_until: office.retain_until(&case.service_key, to, now),
    });
    let message = NewCaseMessage {
        id: uuid::Uuid::new_v4(),
        case_id: case.delivery_id,
        authority: user.clerk.authority.clone(),
        clerk: user.clerk.id,
        decision: kind == Kind::Decision,
        envelope: sealed.jwe.into_bytes(),
        at: now,
        status_change,
    };
    let href = format!("/back-office/cases/{}", case.delivery_id);
    match state.store.record_case_message(&message).await {
        Ok(true) => {}
        Ok(false) => return see_other(&format!("{href}?error=moved")),
        Err(e) => return store_failure(&page, &e),
    }
    if let Some(to) = to {
        audit(
            &state,
            &office,
            AuditEvent::CaseStatusChanged,
            &format!(
                "clerk={} case={} reference={} from={current} to={to} message={}",
                user.clerk.id, case.delivery_id, case.reference, message.id
            ),
        )
        .await;
    }
    tracing::info!(case = %case.delivery_id, message = %message.id, decision = message.decision, "message to the citizen queued");
    state.status_wake.notify_one();
    see_other(&format!("{href}?sent=1#messages"))
}

/// Renders the decision as a PDF/UA document in the clerk's language.
async fn decision_pdf(
    state: &NodeState,
    office: &super::BackOffice,
    page: &BoPage,
    case: &CaseRecord,
    text: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<MessageFile, Response> {
    let t = page.t;
    let lang = page.chrome.lang;
    let authority = state
        .tenant
        .authorities
        .iter()
        .find(|a| a.id.as_str() == case.authority)
        .map_or_else(|| case.authority.clone(), |a| a.name.get(lang).to_owned());
    let service = office
        .services
        .get(&case.service_key)
        .map_or_else(|| case.service_key.clone(), |s| s.name.get(lang).to_owned());
    let decision = rathaus_receipt::Decision {
        lang: lang.code(),
        title: t.pdf_title.to_owned(),
        authority_name: authority,
        service_name: service,
        reference_label: t.reference_label.to_owned(),
        reference: case.reference.clone(),
        date_label: t.pdf_date.to_owned(),
        date: when(now, lang),
        authority_label: t.pdf_authority.to_owned(),
        heading: t.pdf_heading.to_owned(),
        text_label: t.pdf_text.to_owned(),
        text: text.to_owned(),
        footer: t.pdf_footer.to_owned(),
    };
    let pdf = tokio::task::spawn_blocking(move || rathaus_receipt::render_decision(&decision))
        .await
        .map_err(|e| e.to_string())
        .and_then(|r| r.map_err(|e| e.to_string()));
    let pdf = match pdf {
        Ok(pdf) => pdf,
        Err(e) => return Err(PageError::internal(page.chrome.clone(), e).into_response()),
    };
    let reference: String = case
        .reference
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect();
    Ok(MessageFile {
        id: uuid::Uuid::new_v4().to_string(),
        name: format!("{}-{reference}.pdf", t.pdf_file),
        media_type: FileType::Pdf.media_type().to_owned(),
        size: pdf.len() as u64,
        sha256: format!("{:x}", Sha256::digest(&pdf)),
        data: base64::engine::general_purpose::STANDARD.encode(&pdf),
    })
}

pub(crate) async fn file(
    State(state): State<NodeState>,
    page: BoPage,
    user: ClerkUser,
    Path((id, message, file)): Path<(String, String, String)>,
) -> Response {
    let Some(office) = state.back_office.clone() else {
        return unavailable(&page);
    };
    let case = match case::load(&state, &page, &user, &id).await {
        Ok(case) => case,
        Err(response) => return response,
    };
    let (Ok(message_id), Ok(file_id)) = (message.parse::<uuid::Uuid>(), file.parse::<uuid::Uuid>())
    else {
        return not_found(&page);
    };
    let messages = match state.store.case_messages(case.delivery_id).await {
        Ok(messages) => messages,
        Err(e) => return store_failure(&page, &e),
    };
    let Some(message) = messages.into_iter().find(|m| m.id == message_id) else {
        return not_found(&page);
    };
    let opened = open_all(&state, vec![message]).await;
    let Some(found) = opened
        .into_iter()
        .filter_map(|(_, content)| content)
        .flat_map(|c| c.attachments)
        .find(|f| f.id == file_id.to_string())
    else {
        return not_found(&page);
    };
    let Ok(content) = base64::engine::general_purpose::STANDARD.decode(&found.data) else {
        return PageError::internal(page.chrome.clone(), "a message file is not base64")
            .into_response();
    };
    if !format!("{:x}", Sha256::digest(&content)).eq_ignore_ascii_case(&found.sha256) {
        return PageError::internal(
            page.chrome.clone(),
            format!("message {message_id}: file {file_id} does not match its checksum"),
        )
        .into_response();
    }
    audit(
        &state,
        &office,
        AuditEvent::AttachmentDownloaded,
        &format!(
            "clerk={} case={} reference={} message={message_id} file={file_id}",
            user.clerk.id, case.delivery_id, case.reference
        ),
    )
    .await;
    case::download(served_media_type(&found.media_type), &found.name, content)
}

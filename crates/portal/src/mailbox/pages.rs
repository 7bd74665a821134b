//! The mailbox pages: the list of messages by application, one message (read when opened),
//! its files, and the reply.
//!
//! A reply is checked like an upload in a form (U1: type by content, size and count limits,
//! sanitised names, the malware scanner), sealed once at rest for the citizen's own copy and
//! once as JWE to the authority's pinned key, and written together with its outbox entry in
//! one transaction; the delivery worker carries it to the node like an application (C4).

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, Request, State};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use http::{HeaderValue, StatusCode, header};
use rathaus_domain::Lang;
use rathaus_forms::definition::FileType;
use rathaus_forms::uploads::{self, Upload};
use rathaus_seal::protocol::{MessageContent, MessageFile};
use rathaus_store::{MailboxMessage, MessageDirection, NewReply};
use rathaus_web::form_body::{self, FormBody, FormLimits};
use rathaus_web::{Chrome, PageError, PageProblem};

use super::texts::{MailboxTexts, texts};
use super::{
    MAX_FILE_BYTES, MAX_FILES, MAX_TEXT, MAX_TOTAL_BYTES, Stored, StoredFile, file_owner,
    message_owner, printable,
};
use crate::accounts::forms::respond;
use crate::accounts::session::page_store_error;
use crate::accounts::{AuthUser, csrf, see_other};
use crate::state::{Page, PortalState};
use crate::texts::{date_time as when, day};

/// Pixels of an attached image.
const MAX_PIXELS: u64 = 40_000_000;
/// Text fields of the reply form (csrf, text); more is refused (V2).
const MAX_FIELDS: usize = 4;
const ACCEPTED: [FileType; 3] = [FileType::Pdf, FileType::Png, FileType::Jpeg];

fn not_found(page: &Page) -> Response {
    PageError::new(PageProblem::NotFound, page.chrome.clone()).into_response()
}

fn authority_name(state: &PortalState, id: &str, lang: Lang) -> String {
    id.parse()
        .ok()
        .and_then(|id| state.tenant.authority(&id))
        .map_or_else(|| id.to_owned(), |a| a.name.get(lang).to_owned())
}

fn service_name(state: &PortalState, key: &str, lang: Lang) -> String {
    key.parse()
        .ok()
        .and_then(|k| state.catalog.get(&k))
        .map_or_else(|| key.to_owned(), |e| e.name(lang).text.to_owned())
}

/// Opens a message sealed for its owner; a damaged one is left out rather than shown half.
fn open(state: &PortalState, message: &MailboxMessage) -> Option<Stored> {
    let plain = crate::applications::vault(state)
        .open(
            &message.sealed,
            &message_owner(&message.account, message.id),
        )
        .ok()?;
    serde_json::from_slice(&plain).ok()
}

#[derive(Debug)]
struct Row {
    href: String,
    subject: String,
    from: String,
    received: String,
    /// When the housekeeping deletes it: its service's `message_days` after it arrived (R1).
    deleted: String,
    unread: bool,
    decision: bool,
}

#[derive(Debug)]
struct Group {
    service: String,
    reference: String,
    rows: Vec<Row>,
}

#[derive(Template)]
#[template(path = "portal/mailbox/list.html")]
struct ListPage<'a> {
    chrome: &'a Chrome,
    m: &'static MailboxTexts,
    unread: String,
    groups: Vec<Group>,
}

pub(crate) async fn list(State(state): State<PortalState>, page: Page, user: AuthUser) -> Response {
    let lang = page.chrome.lang;
    let m = texts(lang);
    let now = state.clock.now();
    let (messages, applications) = match (
        state.store.mailbox_messages(&user.account.id, now).await,
        state.store.applications(&user.account.id).await,
    ) {
        (Ok(messages), Ok(applications)) => (messages, applications),
        (Err(e), _) | (_, Err(e)) => return page_store_error(&page, &e),
    };
    let services: BTreeMap<&str, &str> = applications
        .iter()
        .map(|a| (a.reference.as_str(), a.service_key.as_str()))
        .collect();
    // Applications in the order of their newest message.
    let mut groups: Vec<Group> = Vec::new();
    let mut unread = 0;
    for message in &messages {
        let Some(stored) = open(&state, message) else {
            tracing::warn!(message = %message.id, "a mailbox message could not be opened");
            continue;
        };
        let is_unread =
            message.read_at.is_none() && message.direction == MessageDirection::ToCitizen;
        unread += u64::from(is_unread);
        let row = Row {
            href: format!("/account/mailbox/{}", message.id),
            subject: stored.subject,
            from: match message.direction {
                MessageDirection::ToCitizen => authority_name(&state, &message.authority, lang),
                MessageDirection::FromCitizen => m.you.to_owned(),
            },
            received: when(message.received_at, lang),
            deleted: day(message.expires_at, lang),
            unread: is_unread,
            decision: message.decision,
        };
        match groups.iter_mut().find(|g| g.reference == message.reference) {
            Some(group) => group.rows.push(row),
            None => groups.push(Group {
                service: services
                    .get(message.reference.as_str())
                    .map(|key| service_name(&state, key, lang))
                    .unwrap_or_default(),
                reference: message.reference.clone(),
                rows: vec![row],
            }),
        }
    }
    respond(
        &state,
        &page,
        StatusCode::OK,
        &ListPage {
            chrome: &page.chrome,
            m,
            unread: m.unread(unread),
            groups,
        },
        [],
    )
}

#[derive(Debug)]
struct FileLink {
    href: String,
    name: String,
    size: String,
}

#[derive(Template)]
#[template(path = "portal/mailbox/message.html")]
struct MessagePage<'a> {
    chrome: &'a Chrome,
    m: &'static MailboxTexts,
    id: String,
    subject: String,
    from: String,
    received: String,
    reference: String,
    service: String,
    decision: bool,
    text: String,
    files: Vec<FileLink>,
    /// For the citizen's own reply: where its delivery stands.
    state: &'static str,
    can_reply: bool,
    /// A message of an authority whose application is gone: no reply form, and why.
    no_reply: bool,
    csrf: &'a str,
    reply_text: String,
    errors: Vec<String>,
    sent: bool,
}

fn human_size(bytes: u64) -> String {
    if bytes >= 1024 * 1024 {
        format!("{:.1} MB", bytes as f64 / (1024.0 * 1024.0))
    } else {
        format!("{} KB", bytes.div_ceil(1024))
    }
}

/// The message of the path, if it is the account's.
async fn load(
    state: &PortalState,
    page: &Page,
    user: &AuthUser,
    id: Result<Path<String>, PathRejection>,
) -> Result<(MailboxMessage, Stored), Response> {
    let Ok(id) = id
        .map_err(|_| ())
        .and_then(|Path(id)| id.parse::<uuid::Uuid>().map_err(|_| ()))
    else {
        return Err(not_found(page));
    };
    let message = match state
        .store
        .mailbox_message(&user.account.id, id, state.clock.now())
        .await
    {
        Ok(Some(message)) => message,
        Ok(None) => return Err(not_found(page)),
        Err(e) => return Err(page_store_error(page, &e)),
    };
    match open(state, &message) {
        Some(stored) => Ok((message, stored)),
        None => Err(PageError::internal(
            page.chrome.clone(),
            format!("mailbox message {id} does not open"),
        )
        .into_response()),
    }
}

#[allow(clippy::too_many_arguments)]
async fn render(
    state: &PortalState,
    page: &Page,
    user: &AuthUser,
    message: &MailboxMessage,
    stored: Stored,
    reply_text: String,
    errors: Vec<String>,
    sent: bool,
) -> Response {
    let lang = page.chrome.lang;
    let m = texts(lang);
    let service = match state
        .store
        .application(&user.account.id, &message.reference)
        .await
    {
        Ok(application) => application.map(|a| service_name(state, &a.service_key, lang)),
        Err(e) => return page_store_error(page, &e),
    };
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    respond(
        state,
        page,
        status,
        &MessagePage {
            chrome: &page.chrome,
            m,
            id: message.id.to_string(),
            subject: stored.subject,
            from: match message.direction {
                MessageDirection::ToCitizen => authority_name(state, &message.authority, lang),
                MessageDirection::FromCitizen => m.you.to_owned(),
            },
            received: when(message.received_at, lang),
            reference: message.reference.clone(),
            can_reply: message.direction == MessageDirection::ToCitizen && service.is_some(),
            no_reply: message.direction == MessageDirection::ToCitizen && service.is_none(),
            service: service.unwrap_or_default(),
            decision: message.decision,
            text: stored.text,
            files: stored
                .files
                .iter()
                .map(|f| FileLink {
                    href: format!("/account/mailbox/{}/files/{}", message.id, f.id),
                    name: f.name.clone(),
                    size: human_size(f.size),
                })
                .collect(),
            state: match message.delivery_state.as_deref() {
                Some("pending") => m.state_pending,
                Some("delivered") => m.state_delivered,
                Some("dead") => m.state_dead,
                _ => "",
            },
            csrf: &user.session.csrf_secret,
            reply_text,
            errors,
            sent,
        },
        [],
    )
}

pub(crate) async fn show(
    State(state): State<PortalState>,
    page: Page,
    user: AuthUser,
    id: Result<Path<String>, PathRejection>,
    RawQuery(query): RawQuery,
) -> Response {
    let (message, stored) = match load(&state, &page, &user, id).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    if message.read_at.is_none()
        && let Err(error) = state
            .store
            .mark_message_read(&user.account.id, message.id, state.clock.now())
            .await
    {
        tracing::warn!(%error, message = %message.id, "could not mark a message read");
    }
    let sent = query.as_deref() == Some("sent=1");
    render(
        &state,
        &page,
        &user,
        &message,
        stored,
        String::new(),
        Vec::new(),
        sent,
    )
    .await
}

pub(crate) async fn file(
    State(state): State<PortalState>,
    page: Page,
    user: AuthUser,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Response {
    let Ok(Path((id, file))) = path else {
        return not_found(&page);
    };
    let (Ok(id), Ok(file)) = (id.parse::<uuid::Uuid>(), file.parse::<uuid::Uuid>()) else {
        return not_found(&page);
    };
    let now = state.clock.now();
    let (message, sealed) = match (
        state.store.mailbox_message(&user.account.id, id, now).await,
        state
            .store
            .mailbox_file(&user.account.id, id, file, now)
            .await,
    ) {
        (Ok(Some(message)), Ok(Some(sealed))) => (message, sealed),
        (Ok(_), Ok(_)) => return not_found(&page),
        (Err(e), _) | (_, Err(e)) => return page_store_error(&page, &e),
    };
    let described = open(&state, &message).and_then(|s| s.files.into_iter().find(|f| f.id == file));
    let content = crate::applications::vault(&state)
        .open(&sealed, &file_owner(&user.account.id, file))
        .ok();
    let (Some(described), Some(content)) = (described, content) else {
        return PageError::internal(
            page.chrome.clone(),
            format!("mailbox file {file} of message {id} does not open"),
        )
        .into_response();
    };
    download(&described, content)
}

/// A download: never cached, never sniffed, always saved rather than shown.
fn download(file: &StoredFile, content: Vec<u8>) -> Response {
    let ascii: String = file
        .name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded =
        percent_encoding::utf8_percent_encode(&file.name, percent_encoding::NON_ALPHANUMERIC);
    let disposition = HeaderValue::from_str(&format!(
        "attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("attachment"));
    // Only the types a message may carry are named; anything else is opaque bytes.
    let media_type = ACCEPTED
        .into_iter()
        .map(FileType::media_type)
        .find(|known| *known == file.media_type)
        .unwrap_or("application/octet-stream");
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(media_type)),
            (header::CONTENT_DISPOSITION, disposition),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        content,
    )
        .into_response()
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

async fn read_form(request: Request, state: &PortalState) -> Result<Posted, PageProblem> {
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

/// Checks the reply: text, then each file by its content and the malware scanner (U1).
async fn check(
    state: &PortalState,
    posted: &Posted,
    m: &MailboxTexts,
    lang: Lang,
) -> (Vec<MessageFile>, Vec<String>) {
    let mut errors = Vec::new();
    let text = posted.get("text").trim();
    if text.is_empty() || text.chars().count() > MAX_TEXT || !printable(text, true) {
        errors.push(m.err_text.to_owned());
    }
    let total: u64 = posted.uploads.iter().map(|u| u.content.len() as u64).sum();
    if posted.uploads.len() > MAX_FILES || total > MAX_TOTAL_BYTES {
        errors.push(m.err_files.to_owned());
        return (Vec::new(), errors);
    }
    let mut files = Vec::new();
    for upload in &posted.uploads {
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
            errors.push(m.err_files.to_owned());
            continue;
        };
        let file = match uploads::accept(upload, &ACCEPTED, MAX_FILE_BYTES, MAX_PIXELS, &label) {
            Ok(file) => file,
            Err(message) => {
                errors.push(message.get(lang).to_owned());
                continue;
            }
        };
        if let Some(scanner) = &state.scanner {
            match scanner.scan(&upload.content).await {
                Ok(crate::scan::Verdict::Clean) => {}
                Ok(crate::scan::Verdict::Infected(signature)) => {
                    tracing::warn!(%signature, "a file of a reply was refused by the virus scanner");
                    errors.push(m.err_scan.to_owned());
                    continue;
                }
                Err(error) => {
                    tracing::error!(%error, "the files of a reply cannot be scanned");
                    errors.push(m.err_scan.to_owned());
                    continue;
                }
            }
        }
        files.push(MessageFile {
            id: file.id.to_string(),
            name: file.name,
            media_type: file.media_type,
            size: file.size,
            sha256: file.sha256,
            data: base64::engine::general_purpose::STANDARD.encode(&upload.content),
        });
    }
    (files, errors)
}

#[allow(clippy::too_many_lines)]
pub(crate) async fn reply(
    State(state): State<PortalState>,
    page: Page,
    user: AuthUser,
    id: Result<Path<String>, PathRejection>,
    request: Request,
) -> Response {
    let posted = match read_form(request, &state).await {
        Ok(posted) => posted,
        Err(problem) => return PageError::new(problem, page.chrome.clone()).into_response(),
    };
    // The token first: without it nothing is looked up, let alone sent (S4).
    if !csrf::verify_session(&user, posted.get(csrf::FIELD)) {
        return csrf::forbidden(&page);
    }
    let (message, stored) = match load(&state, &page, &user, id).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    if message.direction != MessageDirection::ToCitizen {
        return not_found(&page);
    }
    let lang = page.chrome.lang;
    let m = texts(lang);
    let (files, errors) = check(&state, &posted, m, lang).await;
    let text = posted.get("text").trim().to_owned();
    if !errors.is_empty() {
        let typed = posted.get("text").to_owned();
        return render(&state, &page, &user, &message, stored, typed, errors, false).await;
    }
    let now = state.clock.now();
    let route = match state.store.delivery_route(message.delivery_id).await {
        Ok(Some(route)) => route,
        Ok(None) => return not_found(&page),
        Err(e) => return page_store_error(&page, &e),
    };
    let node_keys = match crate::delivery::node_public_keys(&state, &route.node, now).await {
        Ok(keys) => keys,
        Err(e) => {
            let mut error = PageError::new(PageProblem::Unavailable, page.chrome.clone());
            error.cause = Some(e.to_string());
            return error.into_response();
        }
    };
    let subject = if stored.subject.starts_with(m.reply_subject_prefix) {
        stored.subject.clone()
    } else {
        format!("{}{}", m.reply_subject_prefix, stored.subject)
            .chars()
            .take(super::MAX_SUBJECT)
            .collect()
    };
    let reply_id = uuid::Uuid::new_v4();
    let account = user.account.id;
    let vault = crate::applications::vault(&state);
    let own_copy = Stored {
        subject: subject.clone(),
        text: text.clone(),
        files: Vec::new(),
    };
    let content = MessageContent {
        subject,
        text,
        attachments: files,
    };
    let sealed = tokio::task::spawn_blocking(move || {
        let plain = serde_json::to_vec(&content).map_err(|e| e.to_string())?;
        let envelope = rathaus_seal::seal(&plain, "application/json", &node_keys, now)
            .map_err(|e| e.to_string())?;
        let mut own_copy = own_copy;
        let mut sealed_files = Vec::new();
        for file in &content.attachments {
            let id = uuid::Uuid::new_v4();
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(&file.data)
                .map_err(|e| e.to_string())?;
            sealed_files.push((
                id,
                vault
                    .seal(&bytes, &file_owner(&account, id))
                    .map_err(|e| e.to_string())?,
            ));
            own_copy.files.push(StoredFile {
                id,
                name: file.name.clone(),
                media_type: file.media_type.clone(),
                size: file.size,
            });
        }
        let plain = serde_json::to_vec(&own_copy).map_err(|e| e.to_string())?;
        let sealed = vault
            .seal(&plain, &message_owner(&account, reply_id))
            .map_err(|e| e.to_string())?;
        Ok::<_, String>((envelope.jwe, sealed, sealed_files))
    })
    .await
    .map_err(|e| e.to_string())
    .and_then(|r| r);
    let (envelope, sealed, sealed_files) = match sealed {
        Ok(sealed) => sealed,
        Err(e) => return PageError::internal(page.chrome.clone(), e).into_response(),
    };
    let reply = NewReply {
        message: MailboxMessage {
            id: reply_id,
            reference: message.reference.clone(),
            account,
            delivery_id: message.delivery_id,
            authority: route.authority.clone(),
            direction: MessageDirection::FromCitizen,
            decision: false,
            sealed,
            received_at: now,
            read_at: Some(now),
            expires_at: state.message_expiry(&route.service_key, now),
            delivery_state: None,
        },
        files: sealed_files,
        node: route.node.clone(),
        envelope: envelope.into_bytes(),
    };
    if let Err(e) = state.store.submit_reply(&reply).await {
        return page_store_error(&page, &e);
    }
    tracing::info!(reference = %message.reference, reply = %reply_id, "reply queued for the authority");
    state.delivery_wake.notify_one();
    see_other(&format!("/account/mailbox/{reply_id}?sent=1"))
}

//! One case: `GET /back-office/cases/{id}` shows it with its messages, `…/attachments/{file}`
//! downloads a file, `…/export.json` exports the submission document, `POST …/status` changes
//! its status (messages and decisions are in [`super::messages`]).
//!
//! Every handler finds the case through the clerk's own authority, so another authority's case
//! id answers 404 exactly like an unknown one (Z1, Z2), and every access is audited without
//! content (L1). The envelope is opened in memory for the one request (never on disk).

use askama::Template;
use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderValue, StatusCode, header};
use rathaus_domain::{AuditEvent, CaseStatus};
use rathaus_store::{CaseRecord, CaseStatusChange};
use rathaus_web::{Chrome, PageError, PageProblem};
use sha2::{Digest, Sha256};

use super::document::{self, FileView, OpenError, Opened, SectionView};
use super::messages::{self as case_messages, MessageView};
use super::session::CSRF_FIELD;
use super::texts::BoTexts;
use super::{
    BackOffice, BoPage, ClerkBar, ClerkUser, Posted, audit, forbidden, not_found, query_param,
    respond, same_site, see_other, status_label, store_failure, unavailable, when,
};
use crate::NodeState;

/// The case, if it exists and belongs to the clerk's authority; otherwise the answer to give.
pub(crate) async fn load(
    state: &NodeState,
    page: &BoPage,
    user: &ClerkUser,
    raw_id: &str,
) -> Result<CaseRecord, Response> {
    let Ok(id) = raw_id.parse::<uuid::Uuid>() else {
        return Err(not_found(page));
    };
    match state.store.authority_case(&user.clerk.authority, id).await {
        Ok(Some(case)) => Ok(case),
        Ok(None) => Err(not_found(page)),
        Err(e) => Err(store_failure(page, &e)),
    }
}

async fn open(state: &NodeState, page: &BoPage, case: &CaseRecord) -> Result<Opened, Response> {
    match document::open(state.delivery.as_ref(), case).await {
        Ok(opened) => Ok(opened),
        Err(OpenError::NoKeys) => {
            let mut e = PageError::new(PageProblem::Unavailable, page.chrome.clone());
            e.cause = Some("this node has no keys configured".into());
            Err(e.into_response())
        }
        Err(e) => Err(PageError::internal(
            page.chrome.clone(),
            format!("case {}: {e}", case.delivery_id),
        )
        .into_response()),
    }
}

fn detail(user: &ClerkUser, case: &CaseRecord) -> String {
    format!(
        "clerk={} case={} reference={}",
        user.clerk.id, case.delivery_id, case.reference
    )
}

struct StatusChoice {
    value: &'static str,
    label: &'static str,
}

struct HistoryRow {
    at: String,
    what: &'static str,
    change: String,
    by_you: bool,
}

#[derive(Template)]
#[template(path = "authority/back_office/case.html")]
struct CasePage<'a> {
    chrome: &'a Chrome,
    t: &'static BoTexts,
    clerk: ClerkBar,
    case_id: String,
    reference: String,
    service: String,
    received: String,
    submitted: String,
    /// The organisation the application is made for, when a business account made it.
    on_behalf_of: Option<String>,
    status: &'static str,
    status_value: &'static str,
    /// When a decided case is deleted, as a sentence; `None` while it is open.
    retention: Option<String>,
    sections: Vec<SectionView>,
    files: Vec<FileView>,
    next: Vec<StatusChoice>,
    notice: Option<&'static str>,
    error: Option<&'static str>,
    history: Vec<HistoryRow>,
    messages: Vec<MessageView>,
    compose: Compose,
    /// Which kinds of message fit the case's status now.
    may_ask: bool,
    may_decide: bool,
    /// A residence registration also exports as XML in the spirit of XMeld.
    xmeld: bool,
}

/// The message form as the clerk filled it in, with what is wrong with it.
#[derive(Debug, Clone, Default)]
pub(crate) struct Compose {
    pub kind: String,
    pub subject: String,
    pub text: String,
    pub decision: String,
    pub errors: Vec<String>,
}

pub(crate) async fn view(
    State(state): State<NodeState>,
    page: BoPage,
    user: ClerkUser,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let Some(office) = state.back_office.clone() else {
        return unavailable(&page);
    };
    let case = match load(&state, &page, &user, &id).await {
        Ok(case) => case,
        Err(response) => return response,
    };
    audit(
        &state,
        &office,
        AuditEvent::CaseViewed,
        &detail(&user, &case),
    )
    .await;
    match state
        .store
        .case_opened(case.delivery_id, user.clerk.id, office.clock.now())
        .await
    {
        Ok(true) => state.status_wake.notify_one(),
        Ok(false) => {}
        Err(e) => {
            tracing::warn!(error = %e, case = %case.delivery_id, "could not record that a case was opened")
        }
    }
    show(
        &state,
        &office,
        &page,
        &user,
        &case,
        Compose::default(),
        query.as_deref(),
    )
    .await
}

/// The case page: with the message form as given (empty, or filled in with errors, then
/// answered 400 so the clerk sees that nothing was sent).
pub(crate) async fn show(
    state: &NodeState,
    office: &BackOffice,
    page: &BoPage,
    user: &ClerkUser,
    case: &CaseRecord,
    compose: Compose,
    query: Option<&str>,
) -> Response {
    let opened = match open(state, page, case).await {
        Ok(opened) => opened,
        Err(response) => return response,
    };
    let history = match state.store.case_history(case.delivery_id).await {
        Ok(history) => history,
        Err(e) => return store_failure(page, &e),
    };
    let messages = match state.store.case_messages(case.delivery_id).await {
        Ok(messages) => case_messages::open_all(state, messages).await,
        Err(e) => return store_failure(page, &e),
    };
    let messages = case_messages::views(case.delivery_id, &messages, page.t, page.chrome.lang);
    let retain_until = match state.store.case_retain_until(case.delivery_id).await {
        Ok(until) => until,
        Err(e) => return store_failure(page, &e),
    };
    render(
        state,
        office,
        page,
        user,
        case,
        &opened,
        &history,
        query,
        messages,
        compose,
        retain_until,
    )
}

#[allow(clippy::too_many_arguments)]
fn render(
    state: &NodeState,
    office: &BackOffice,
    page: &BoPage,
    user: &ClerkUser,
    case: &CaseRecord,
    opened: &Opened,
    history: &[rathaus_store::CaseEvent],
    query: Option<&str>,
    messages: Vec<MessageView>,
    compose: Compose,
    retain_until: Option<chrono::DateTime<chrono::Utc>>,
) -> Response {
    let t = page.t;
    let lang = page.chrome.lang;
    let service = office.services.get(&case.service_key);
    let current = CaseStatus::parse(&case.status);
    let next = current
        .map(|s| s.next(user.clerk.role))
        .unwrap_or_default()
        .into_iter()
        .map(|s| StatusChoice {
            value: s.as_str(),
            label: status_label(t, s.as_str()),
        })
        .collect();
    let history = history
        .iter()
        .map(|event| HistoryRow {
            at: when(event.at, lang),
            what: if event.event == "opened" {
                t.history_opened
            } else {
                t.history_changed
            },
            change: match (&event.from_status, &event.to_status) {
                (Some(from), Some(to)) => {
                    format!("{} → {}", status_label(t, from), status_label(t, to))
                }
                _ => String::new(),
            },
            by_you: event.clerk == Some(user.clerk.id),
        })
        .collect();
    let submitted = opened
        .text("submitted_at")
        .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
        .map(|at| when(at.with_timezone(&chrono::Utc), lang))
        .unwrap_or_default();
    let on_behalf_of = opened
        .document
        .get("on_behalf_of")
        .and_then(|o| o.get("name"))
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned);
    let notice = query_param(query, "changed")
        .map(|_| t.status_changed)
        .or_else(|| query_param(query, "sent").map(|_| t.message_sent));
    let error = match query_param(query, "error").as_deref() {
        Some("choice") => Some(t.err_status_choice),
        Some("moved") => Some(t.err_status_moved),
        _ => None,
    };
    let template = CasePage {
        chrome: &page.chrome,
        t,
        clerk: ClerkBar::new(state, page, user),
        case_id: case.delivery_id.to_string(),
        xmeld: case.service_key == super::xmeld::SERVICE_KEY,
        reference: case.reference.clone(),
        service: service.map_or_else(
            || format!("{} ({})", t.unknown_service, case.service_key),
            |s| s.name.get(lang).to_owned(),
        ),
        received: when(case.received_at, lang),
        submitted,
        on_behalf_of,
        status: status_label(t, &case.status),
        status_value: current.map_or("", CaseStatus::as_str),
        retention: retain_until.map(|until| {
            let date = match lang {
                rathaus_domain::Lang::De => until.format("%d.%m.%Y").to_string(),
                rathaus_domain::Lang::En => until.format("%-d %b %Y").to_string(),
            };
            t.retention_until.replace("{date}", &date)
        }),
        sections: document::sections(
            opened,
            service.and_then(|s| s.form.as_deref()),
            case.delivery_id,
            lang,
            t,
        ),
        files: opened
            .files()
            .iter()
            .map(|f| FileView::new(case.delivery_id, f))
            .collect(),
        next,
        notice,
        error,
        history,
        messages,
        may_ask: current.is_some_and(|s| {
            s == CaseStatus::NeedsInformation
                || s.may_become(CaseStatus::NeedsInformation, user.clerk.role)
        }),
        may_decide: current.is_some_and(|s| s.may_become(CaseStatus::Decided, user.clerk.role)),
        compose,
    };
    let status = if template.compose.errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    respond(page, status, &template, [])
}

/// `attachment; filename="…"; filename*=UTF-8''…`: an ASCII fallback without quotes or path
/// characters, and the real name percent-encoded.
fn disposition(name: &str) -> HeaderValue {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .take(120)
        .collect();
    let ascii = if ascii.trim_matches(['.', '_']).is_empty() {
        "attachment".to_owned()
    } else {
        ascii
    };
    let encoded = percent_encoding::utf8_percent_encode(name, percent_encoding::NON_ALPHANUMERIC);
    HeaderValue::from_str(&format!(
        "attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("attachment"))
}

/// A download: never cached, never sniffed, always saved rather than shown.
pub(crate) fn download(content_type: &'static str, name: &str, body: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CONTENT_DISPOSITION, disposition(name)),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        body,
    )
        .into_response()
}

pub(crate) async fn attachment(
    State(state): State<NodeState>,
    page: BoPage,
    user: ClerkUser,
    Path((id, file)): Path<(String, String)>,
) -> Response {
    let Some(office) = state.back_office.clone() else {
        return unavailable(&page);
    };
    let case = match load(&state, &page, &user, &id).await {
        Ok(case) => case,
        Err(response) => return response,
    };
    let Ok(file_id) = file.parse::<uuid::Uuid>() else {
        return not_found(&page);
    };
    let opened = match open(&state, &page, &case).await {
        Ok(opened) => opened,
        Err(response) => return response,
    };
    let Some((file, content)) = opened.attachment(file_id) else {
        return not_found(&page);
    };
    // The portal recorded the file's SHA-256: what arrived must be what was uploaded.
    let digest = format!("{:x}", Sha256::digest(&content));
    if !digest.eq_ignore_ascii_case(&file.sha256) {
        return PageError::internal(
            page.chrome.clone(),
            format!(
                "case {}: attachment {file_id} does not match its checksum",
                case.delivery_id
            ),
        )
        .into_response();
    }
    audit(
        &state,
        &office,
        AuditEvent::AttachmentDownloaded,
        &format!("{} file={file_id}", detail(&user, &case)),
    )
    .await;
    download(
        document::served_media_type(&file.media_type),
        &file.name,
        content,
    )
}

/// The export formats of a case.
#[derive(Clone, Copy)]
enum Export {
    /// The submission document as it arrived (every service).
    Json,
    /// The residence registration in the spirit of XMeld ([`super::xmeld`]).
    Xmeld,
}

pub(crate) async fn export(
    State(state): State<NodeState>,
    page: BoPage,
    user: ClerkUser,
    Path(id): Path<String>,
) -> Response {
    export_as(state, page, user, id, Export::Json).await
}

pub(crate) async fn export_xml(
    State(state): State<NodeState>,
    page: BoPage,
    user: ClerkUser,
    Path(id): Path<String>,
) -> Response {
    export_as(state, page, user, id, Export::Xmeld).await
}

async fn export_as(
    state: NodeState,
    page: BoPage,
    user: ClerkUser,
    id: String,
    format: Export,
) -> Response {
    let Some(office) = state.back_office.clone() else {
        return unavailable(&page);
    };
    let case = match load(&state, &page, &user, &id).await {
        Ok(case) => case,
        Err(response) => return response,
    };
    // Only the residence registration has the XML layout; for another case the address does
    // not exist, before anything is decrypted.
    if matches!(format, Export::Xmeld) && case.service_key != super::xmeld::SERVICE_KEY {
        return not_found(&page);
    }
    let opened = match open(&state, &page, &case).await {
        Ok(opened) => opened,
        Err(response) => return response,
    };
    let (body, media_type, extension) = match format {
        Export::Json => match serde_json::to_vec_pretty(&opened.document) {
            Ok(body) => (body, "application/json; charset=utf-8", "json"),
            Err(e) => return PageError::internal(page.chrome.clone(), e).into_response(),
        },
        Export::Xmeld => {
            let head = super::xmeld::Head {
                delivery_id: case.delivery_id,
                authority: &case.authority,
                received_at: case.received_at,
                created_at: office.clock.now(),
            };
            match super::xmeld::residence_registration(&opened.document, &head) {
                Ok(body) => (body, "application/xml; charset=utf-8", "xml"),
                Err(e) => {
                    return PageError::internal(
                        page.chrome.clone(),
                        format!("case {}: {e}", case.delivery_id),
                    )
                    .into_response();
                }
            }
        }
    };
    audit(
        &state,
        &office,
        AuditEvent::CaseExported,
        &format!("{} format={extension}", detail(&user, &case)),
    )
    .await;
    let name: String = case
        .reference
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect();
    download(media_type, &format!("{name}.{extension}"), body)
}

pub(crate) async fn change_status(
    State(state): State<NodeState>,
    page: BoPage,
    headers: HeaderMap,
    user: ClerkUser,
    Path(id): Path<String>,
    form: Posted,
) -> Response {
    let Some(office) = state.back_office.clone() else {
        return unavailable(&page);
    };
    // The token first: without it nothing is looked up, let alone changed (S4).
    if !same_site(&headers) || !user.csrf_ok(form.get(CSRF_FIELD)) {
        return forbidden(&page);
    }
    let case = match load(&state, &page, &user, &id).await {
        Ok(case) => case,
        Err(response) => return response,
    };
    let href = format!("/back-office/cases/{}", case.delivery_id);
    let Some(current) = CaseStatus::parse(&case.status) else {
        return PageError::internal(page.chrome.clone(), "a case has an unknown status")
            .into_response();
    };
    // The status the clerk saw: if the case has moved on meanwhile, they look again first.
    if form.get("from") != current.as_str() {
        return see_other(&format!("{href}?error=moved"));
    }
    let Some(to) =
        CaseStatus::parse(form.get("status")).filter(|to| current.may_become(*to, user.clerk.role))
    else {
        return see_other(&format!("{href}?error=choice"));
    };
    let now = office.clock.now();
    let change = CaseStatusChange {
        case_id: case.delivery_id,
        authority: user.clerk.authority.clone(),
        clerk: user.clerk.id,
        from: current,
        to,
        at: now,
        retain_until: office.retain_until(&case.service_key, to, now),
    };
    match state.store.change_case_status(&change).await {
        Ok(true) => {}
        Ok(false) => return see_other(&format!("{href}?error=moved")),
        Err(e) => return store_failure(&page, &e),
    }
    audit(
        &state,
        &office,
        AuditEvent::CaseStatusChanged,
        &format!("{} from={current} to={to}", detail(&user, &case)),
    )
    .await;
    state.status_wake.notify_one();
    see_other(&format!("{href}?changed=1"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn u1_download_names_cannot_break_out_of_the_header() {
        let value = disposition("Bescheid \"final\"\r\n../ä.pdf");
        let text = value.to_str().unwrap();
        assert!(
            text.starts_with("attachment; filename=\"Bescheid__final___..__.pdf\"; "),
            "{text}"
        );
        assert!(
            text.contains("filename*=UTF-8''Bescheid%20%22final%22%0D%0A%2E%2E%2F%C3%A4%2Epdf")
        );
        assert_eq!(
            disposition("..").to_str().unwrap(),
            "attachment; filename=\"attachment\"; filename*=UTF-8''%2E%2E"
        );
    }
}

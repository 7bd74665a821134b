//! The clerks' back office (issue 5): sign-in, the inbox of the clerk's own authority, a case
//! with every answer and attachment (opened in memory with the node's key), status changes
//! that travel back to the citizen's portal, and the JSON export.
//!
//! - [`session`]: clerk sessions (30 minutes idle, 12 hours at most), their cookie, the
//!   `ClerkUser` extractor, and the CSRF tokens of every form;
//! - [`sign_in`]: signing in (throttled, no account enumeration) and out;
//! - [`inbox`]: the authority's cases, filtered and searched;
//! - [`case`]: one case, its attachments, its export and its status;
//! - [`messages`]: messages to the citizen (notices, questions, decisions as PDF) and their
//!   replies;
//! - [`document`]: opening the envelope and showing the submission document with the labels of
//!   the service definition.
//!
//! Deny by default: every case is read through `Store::authority_case` with the clerk's own
//! authority, so another authority's case answers 404 exactly like an unknown one (Z1, Z2).
//! Every look at a case, download, export and status change goes to the audit log, without
//! content (L1).

mod case;
mod document;
mod inbox;
mod messages;
mod session;
mod sign_in;
pub(crate) mod texts;
mod xmeld;

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::extract::FromRequestParts;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Duration, Utc};
use http::request::Parts;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use rathaus_auth::Hasher;
use rathaus_domain::{AuditEvent, CaseStatus, Text, log_safe};
use rathaus_forms::FormDefinition;
use rathaus_store::{AuditRecord, Store, StoreError};
use rathaus_web::{Chrome, Clock, PageError, PageLang, PageProblem};

use crate::NodeState;
pub(crate) use session::ClerkUser;
use texts::BoTexts;

/// How clerk sessions behave.
#[derive(Debug, Clone)]
pub struct BackOfficeSettings {
    /// A session ends after this long without a request (30 minutes).
    pub session_idle: Duration,
    /// A session ends this long after sign-in, whatever the activity (12 hours).
    pub session_absolute: Duration,
    /// `Secure` cookies with the `__Host-` prefix; off only for a node served over plain HTTP
    /// on this machine (the demo).
    pub secure_cookies: bool,
    /// A decided case is deleted this long after its decision unless its service sets its own
    /// `[retention] case_days` (`authority.case_retention_days`).
    pub case_retention: Duration,
}

/// Five years: the usual period for files of administrative procedures without a law of
/// their own.
pub const DEFAULT_CASE_RETENTION_DAYS: u32 = 1825;

impl Default for BackOfficeSettings {
    fn default() -> Self {
        Self {
            session_idle: Duration::minutes(30),
            session_absolute: Duration::hours(12),
            secure_cookies: true,
            case_retention: Duration::days(i64::from(DEFAULT_CASE_RETENTION_DAYS)),
        }
    }
}

/// A service as the back office shows it: its name, and its form for the fields' labels.
#[derive(Debug, Clone)]
pub struct ServiceForm {
    pub name: Text,
    pub form: Option<Arc<FormDefinition>>,
    /// The service's own period for decided cases (`[retention] case_days`), if it sets one.
    pub case_days: Option<u32>,
}

impl ServiceForm {
    /// The back office's view of a service definition and its parsed form.
    pub fn of(
        definition: &rathaus_domain::ServiceDefinition,
        form: Option<Arc<FormDefinition>>,
    ) -> Self {
        Self {
            name: definition.name.clone(),
            form,
            case_days: definition.retention.case_days,
        }
    }
}

/// The services the node knows, by key (from the same service definitions as the portal).
#[derive(Debug, Clone, Default)]
pub struct ServiceForms(HashMap<String, ServiceForm>);

impl ServiceForms {
    pub fn new(services: impl IntoIterator<Item = (String, ServiceForm)>) -> Self {
        Self(services.into_iter().collect())
    }

    pub fn get(&self, key: &str) -> Option<&ServiceForm> {
        self.0.get(key)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Everything the back office needs besides the node's state.
pub struct BackOffice {
    pub settings: BackOfficeSettings,
    pub hasher: Arc<Hasher>,
    pub services: Arc<ServiceForms>,
    pub clock: Arc<dyn Clock>,
    /// Signs the token of the sign-in form (shown before there is a session).
    form_key: Vec<u8>,
}

impl fmt::Debug for BackOffice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BackOffice")
            .field("settings", &self.settings)
            .field("hasher", &self.hasher)
            .field("services", &self.services.len())
            .finish_non_exhaustive()
    }
}

/// Why the back office could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum BackOfficeError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Random(#[from] rathaus_auth::RandomError),
}

impl BackOffice {
    /// Reads (or, on the first start, stores) the key of the sign-in form's token in the
    /// node's database, so that it survives restarts.
    pub async fn new(
        store: &dyn Store,
        settings: BackOfficeSettings,
        hasher: Arc<Hasher>,
        services: ServiceForms,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, BackOfficeError> {
        let candidate = rathaus_auth::tokens::random_bytes::<32>()?;
        let form_key = store
            .shared_secret("back-office-form-key", &candidate, clock.now())
            .await?;
        Ok(Self {
            settings,
            hasher,
            services: Arc::new(services),
            clock,
            form_key,
        })
    }
}

impl BackOffice {
    /// When a case of `service_key` that becomes `to` at `at` is to be deleted: a decided
    /// case after its service's period (or the node's default), any other never (R1).
    pub(crate) fn retain_until(
        &self,
        service_key: &str,
        to: CaseStatus,
        at: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        (to == CaseStatus::Decided).then(|| {
            match self.services.get(service_key).and_then(|s| s.case_days) {
                Some(days) => rathaus_store::retention::case_due(at, days),
                None => at + self.settings.case_retention,
            }
        })
    }
}

/// The back office's routes; each handler checks the clerk itself (`ClerkUser`).
pub(crate) fn routes() -> Router<NodeState> {
    Router::new()
        .route("/back-office", get(inbox::inbox))
        .route(
            "/back-office/sign-in",
            get(sign_in::form).post(sign_in::submit),
        )
        .route("/back-office/sign-out", post(sign_in::sign_out))
        .route("/back-office/cases/{id}", get(case::view))
        .route(
            "/back-office/cases/{id}/attachments/{file}",
            get(case::attachment),
        )
        .route("/back-office/cases/{id}/status", post(case::change_status))
        .route("/back-office/cases/{id}/export.json", get(case::export))
        .route("/back-office/cases/{id}/export.xml", get(case::export_xml))
        .route("/back-office/cases/{id}/messages", post(messages::write))
        .route(
            "/back-office/cases/{id}/messages/{message}/files/{file}",
            get(messages::file),
        )
}

/// The 503 page for a node that runs without the back office.
pub(crate) fn unavailable(page: &BoPage) -> Response {
    let mut error = PageError::new(PageProblem::Unavailable, page.chrome.clone());
    error.cause = Some("the back office is not configured on this node".into());
    error.into_response()
}

/// Per-request page context: the frame and the back office's texts in the request's language.
#[derive(Debug, Clone)]
pub(crate) struct BoPage {
    pub chrome: Chrome,
    pub t: &'static BoTexts,
    /// The language was chosen with `?lang=`: the answer remembers it in a cookie.
    remember_lang: Option<HeaderValue>,
}

impl FromRequestParts<NodeState> for BoPage {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &NodeState,
    ) -> Result<Self, Self::Rejection> {
        let lang = PageLang::from_parts(parts);
        let t = texts::texts(lang.lang);
        let mut chrome = Chrome::new(
            Arc::clone(&state.site),
            lang.lang,
            parts.uri.path(),
            parts.uri.query(),
        );
        chrome.account_link = Some(&t.nav);
        let secure = state
            .back_office
            .as_ref()
            .is_none_or(|office| office.settings.secure_cookies);
        let remember_lang = lang
            .explicit
            .then(|| {
                HeaderValue::from_str(&rathaus_web::lang::remember_cookie(lang.lang, secure)).ok()
            })
            .flatten();
        Ok(Self {
            chrome,
            t,
            remember_lang,
        })
    }
}

/// Renders a back-office page: never cached (it shows personal data or carries a form token),
/// with the given status and extra `Set-Cookie` values.
pub(crate) fn respond(
    page: &BoPage,
    status: StatusCode,
    template: &impl Template,
    cookies: impl IntoIterator<Item = Option<HeaderValue>>,
) -> Response {
    let mut response = match template.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => return PageError::internal(page.chrome.clone(), e).into_response(),
    };
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    for cookie in cookies
        .into_iter()
        .chain([page.remember_lang.clone()])
        .flatten()
    {
        headers.append(header::SET_COOKIE, cookie);
    }
    response
}

/// The back office's entry in the navigation of the node's pages.
pub(crate) fn nav_link(lang: rathaus_domain::Lang) -> &'static rathaus_web::NavLink {
    &texts::texts(lang).nav
}

/// 303 See Other: the answer to every successful form.
pub(crate) fn see_other(location: &str) -> Response {
    axum::response::Redirect::to(location).into_response()
}

/// A store error as a page: 503 when the database is down, 500 otherwise.
pub(crate) fn store_failure(page: &BoPage, error: &StoreError) -> Response {
    if error.is_unavailable() {
        let mut e = PageError::new(PageProblem::Unavailable, page.chrome.clone());
        e.cause = Some(error.to_string());
        e.into_response()
    } else {
        PageError::internal(page.chrome.clone(), error).into_response()
    }
}

pub(crate) fn not_found(page: &BoPage) -> Response {
    PageError::new(PageProblem::NotFound, page.chrome.clone()).into_response()
}

pub(crate) fn forbidden(page: &BoPage) -> Response {
    PageError::new(PageProblem::Forbidden, page.chrome.clone()).into_response()
}

/// Whether a state-changing request comes from this site: a browser's `Sec-Fetch-Site` must be
/// `same-origin` (or `none`), and an `Origin` must name the host the request was sent to. The
/// form's token is checked besides (S4).
pub(crate) fn same_site(headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site")
        && !matches!(site.as_bytes(), b"same-origin" | b"none")
    {
        return false;
    }
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true; // not a browser, or an old one: the form token still has to match
    };
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    match (origin.to_str().ok().and_then(|o| o.split_once("://")), host) {
        (Some((_, origin_host)), Some(host)) => origin_host.eq_ignore_ascii_case(host),
        _ => false,
    }
}

/// Longest audit detail kept, in characters.
const MAX_DETAIL: usize = 300;

/// Writes an audit entry at the node (L1): UTC from the injected clock, the detail escaped to
/// one line, never content. A failure to write is logged and does not fail the request.
pub(crate) async fn audit(state: &NodeState, office: &BackOffice, event: AuditEvent, detail: &str) {
    let detail = log_safe(detail, MAX_DETAIL);
    tracing::info!(target: "rathaus::audit", event = event.as_str(), %detail, "audit");
    let entry = AuditRecord {
        id: 0,
        at: office.clock.now(),
        event,
        account_id: None,
        detail,
    };
    if let Err(error) = state.store.append_audit(&entry).await {
        tracing::error!(event = event.as_str(), %error, "audit entry could not be written");
    }
}

/// Deletes the decided cases whose retention period has passed (R1), each with an audit entry
/// naming only its reference, service and authority; returns how many. Runs in the node's
/// housekeeping; public for the tests that jump the clock.
pub async fn purge_expired_cases(state: &NodeState) -> Result<usize, StoreError> {
    let Some(office) = state.back_office.as_deref() else {
        return Ok(0);
    };
    let deleted = state.store.purge_decided_cases(office.clock.now()).await?;
    for record in &deleted {
        audit(
            state,
            office,
            AuditEvent::RetentionDeleted,
            &format!(
                "case reference={} service={} authority={}",
                record.reference,
                record.service_key,
                record.authority.as_deref().unwrap_or("")
            ),
        )
        .await;
    }
    if !deleted.is_empty() {
        tracing::info!(
            cases = deleted.len(),
            "cases past their retention period deleted"
        );
    }
    Ok(deleted.len())
}

/// The texts of a case status.
pub(crate) fn status_label(t: &BoTexts, status: &str) -> &'static str {
    match rathaus_domain::CaseStatus::parse(status) {
        Some(rathaus_domain::CaseStatus::Received) => t.status_received,
        Some(rathaus_domain::CaseStatus::InProgress) => t.status_in_progress,
        Some(rathaus_domain::CaseStatus::NeedsInformation) => t.status_needs_information,
        Some(rathaus_domain::CaseStatus::Decided) => t.status_decided,
        None => t.status_unknown,
    }
}

/// A time as a clerk reads it (UTC is stored; shown in UTC with its zone named).
pub(crate) fn when(at: chrono::DateTime<chrono::Utc>, lang: rathaus_domain::Lang) -> String {
    match lang {
        rathaus_domain::Lang::De => at.format("%d.%m.%Y, %H:%M UTC").to_string(),
        rathaus_domain::Lang::En => at.format("%-d %b %Y, %H:%M UTC").to_string(),
    }
}

/// More fields than any back-office form has; more is refused (V2).
const MAX_FIELDS: usize = 8;

/// An `application/x-www-form-urlencoded` body as name–value pairs.
#[derive(Debug)]
pub(crate) struct Posted(Vec<(String, String)>);

impl Posted {
    /// The first value of `name`, or `""`.
    pub fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    }
}

impl axum::extract::FromRequest<NodeState> for Posted {
    type Rejection = Response;

    async fn from_request(
        request: axum::extract::Request,
        state: &NodeState,
    ) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = request.into_parts();
        let Ok(page) = BoPage::from_request_parts(&mut parts, state).await;
        let request = axum::extract::Request::from_parts(parts, body);
        match axum::Form::<Vec<(String, String)>>::from_request(request, state).await {
            Ok(axum::Form(pairs)) if pairs.len() <= MAX_FIELDS => Ok(Self(pairs)),
            Ok(_) => Err(PageError::new(PageProblem::BadRequest, page.chrome).into_response()),
            Err(rejection) => {
                let problem = if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    PageProblem::TooLarge
                } else {
                    PageProblem::BadRequest
                };
                Err(PageError::new(problem, page.chrome).into_response())
            }
        }
    }
}

/// The client's address as the node sees it (the peer), for throttling and the audit log.
#[derive(Debug, Clone)]
pub(crate) struct ClientAddr(pub String);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(
            parts
                .extensions
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map_or_else(|| "unknown".to_owned(), |info| info.0.ip().to_string()),
        ))
    }
}

/// The bar on every signed-in page: who is signed in, for which authority, and sign-out.
#[derive(Debug, Clone)]
pub(crate) struct ClerkBar {
    pub name: String,
    pub role: &'static str,
    pub authority: String,
    pub csrf: String,
}

impl ClerkBar {
    pub fn new(state: &NodeState, page: &BoPage, user: &ClerkUser) -> Self {
        let authority = state
            .tenant
            .authorities
            .iter()
            .find(|a| a.id.as_str() == user.clerk.authority)
            .map_or_else(
                || user.clerk.authority.clone(),
                |a| a.name.get(page.chrome.lang).to_owned(),
            );
        Self {
            name: user.clerk.display_name.clone(),
            role: match user.clerk.role {
                rathaus_domain::ClerkRole::Clerk => page.t.role_clerk,
                rathaus_domain::ClerkRole::Lead => page.t.role_lead,
            },
            authority,
            csrf: user.session.csrf_secret.clone(),
        }
    }
}

/// The first value of `name` in a query string, decoded (`+` is a space).
pub(crate) fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    query?.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        (key == name).then(|| {
            percent_encoding::percent_decode_str(&value.replace('+', " "))
                .decode_utf8_lossy()
                .into_owned()
        })
    })
}

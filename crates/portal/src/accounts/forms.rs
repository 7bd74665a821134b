//! Reading posted forms, the errors shown next to their fields, the client's address, and the
//! answer every account page shares (no caching, extra cookies).

use std::net::SocketAddr;

use askama::Template;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::response::{IntoResponse, Response};
use http::request::Parts;
use http::{HeaderValue, StatusCode, header};
use rathaus_domain::{EmailError, PasswordError};
use rathaus_web::{PageError, PageProblem};

use crate::account_texts::AccountTexts;
use crate::state::{Page, PortalState};

/// More fields than any account form has; more is refused (SECURITY.md V2).
const MAX_FIELDS: usize = 16;

/// An `application/x-www-form-urlencoded` body as name–value pairs.
#[derive(Debug)]
pub(crate) struct PostedForm(Vec<(String, String)>);

impl PostedForm {
    /// The first value of `name`, or `""`.
    pub fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    }
}

impl FromRequest<PortalState> for PostedForm {
    type Rejection = Response;

    async fn from_request(request: Request, state: &PortalState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = request.into_parts();
        let Ok(page) = Page::from_request_parts(&mut parts, state).await;
        let request = Request::from_parts(parts, body);
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

/// One problem with one field; `field` is the input's `id`, so the summary can link to it.
#[derive(Debug, Clone)]
pub(crate) struct FieldError {
    pub field: &'static str,
    pub message: &'static str,
}

/// The problems of one form submission, in the order of the fields.
#[derive(Debug, Clone, Default)]
pub(crate) struct FormErrors(Vec<FieldError>);

impl FormErrors {
    pub fn add(&mut self, field: &'static str, message: &'static str) {
        self.0.push(FieldError { field, message });
    }

    pub fn get(&self, field: &str) -> Option<&'static str> {
        self.0.iter().find(|e| e.field == field).map(|e| e.message)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> std::slice::Iter<'_, FieldError> {
        self.0.iter()
    }
}

pub(crate) fn email_message(t: &'static AccountTexts, error: EmailError) -> &'static str {
    match error {
        EmailError::Empty => t.err_email_missing,
        EmailError::TooLong => t.err_email_too_long,
        EmailError::Malformed => t.err_email_invalid,
    }
}

pub(crate) fn password_message(t: &'static AccountTexts, error: PasswordError) -> &'static str {
    match error {
        PasswordError::TooShort => t.err_password_too_short,
        PasswordError::TooLong => t.err_password_too_long,
        PasswordError::ControlCharacter => t.err_password_control,
        PasswordError::Common => t.err_password_common,
        PasswordError::IsEmail => t.err_password_is_email,
    }
}

/// "30 seconds", "15 minutes": how long to wait, in the page's language.
pub(crate) fn wait_text(t: &'static AccountTexts, seconds: u64) -> String {
    if seconds < 120 {
        t.wait_seconds.replace("{n}", &seconds.to_string())
    } else {
        t.wait_minutes
            .replace("{n}", &seconds.div_ceil(60).to_string())
    }
}

/// The client's address: the last value of the configured proxy header, else the peer.
#[derive(Debug, Clone)]
pub(crate) struct ClientIp(pub String);

impl FromRequestParts<PortalState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &PortalState,
    ) -> Result<Self, Self::Rejection> {
        let from_header = state
            .accounts
            .settings
            .client_ip_header
            .as_ref()
            .and_then(|name| parts.headers.get_all(name).iter().next_back())
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .and_then(|v| v.trim().parse::<std::net::IpAddr>().ok());
        let ip = from_header.or_else(|| {
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|info| info.0.ip())
        });
        Ok(Self(
            ip.map_or_else(|| "unknown".to_owned(), |ip| ip.to_string()),
        ))
    }
}

/// Renders an account page: never cached (it may show personal data or carry a form token),
/// with the given status and extra `Set-Cookie` values.
pub(crate) fn respond(
    state: &PortalState,
    page: &Page,
    status: StatusCode,
    template: &impl Template,
    cookies: impl IntoIterator<Item = Option<HeaderValue>>,
) -> Response {
    let mut response = crate::pages::render(page, state.secure_cookies, template);
    if response.status() == StatusCode::OK {
        *response.status_mut() = status;
    }
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    for cookie in cookies.into_iter().flatten() {
        headers.append(header::SET_COOKIE, cookie);
    }
    response
}

//! Errors as people and programs see them: a friendly page with an error reference for people,
//! RFC 9457 problem+json for the API. Internal causes are logged with the same reference and
//! never shown (SECURITY.md V3).

use askama::Template;
use axum::Json;
use axum::response::{Html, IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use rathaus_domain::Lang;
use serde::Serialize;

use crate::chrome::Chrome;

/// A short random reference, shown to the person and written to the log.
pub fn error_reference() -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    id[..12].to_owned()
}

/// What went wrong, in words a person understands; each kind owns its status code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageProblem {
    /// 400: the address or a form value could not be understood.
    BadRequest,
    /// 403: a form was sent without a valid security token, or from another site; nothing
    /// was changed.
    Forbidden,
    /// 429: too many requests right now (for example every password worker is busy); the
    /// person may retry after the given number of seconds (sent as `Retry-After`).
    TooManyRequests { retry_after_secs: u64 },
    /// 404: no such page or service.
    NotFound,
    /// 413: what was sent is too large.
    TooLarge,
    /// 503: a backend is down; the person may retry shortly.
    Unavailable,
    /// 500: a bug or an unexpected failure.
    Internal,
}

impl PageProblem {
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest => StatusCode::BAD_REQUEST,
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn texts(&self, lang: Lang) -> (&'static str, &'static str) {
        match (self, lang) {
            (Self::BadRequest, Lang::De) => (
                "Die Anfrage ist ungültig",
                "Die Adresse oder die gesendeten Angaben konnten nicht verarbeitet werden. Bitte prüfen Sie die Eingabe und versuchen Sie es erneut.",
            ),
            (Self::BadRequest, Lang::En) => (
                "The request is not valid",
                "The address or the data sent could not be processed. Please check your input and try again.",
            ),
            (Self::Forbidden, Lang::De) => (
                "Anfrage abgelehnt",
                "Das Formular war abgelaufen oder wurde nicht von dieser Website gesendet. Es wurde nichts geändert. Bitte laden Sie die Seite neu und versuchen Sie es noch einmal.",
            ),
            (Self::Forbidden, Lang::En) => (
                "Request refused",
                "The form had expired or was not sent from this website. Nothing was changed. Please reload the page and try again.",
            ),
            (Self::TooManyRequests { .. }, Lang::De) => (
                "Bitte versuchen Sie es gleich noch einmal",
                "Gerade sind sehr viele Anfragen gleichzeitig eingegangen. Bitte warten Sie einen Moment und senden Sie das Formular dann erneut.",
            ),
            (Self::TooManyRequests { .. }, Lang::En) => (
                "Please try again in a moment",
                "Very many requests are arriving at the same time right now. Please wait a moment and then send the form again.",
            ),
            (Self::NotFound, Lang::De) => (
                "Seite nicht gefunden",
                "Diese Seite gibt es nicht (mehr). Vielleicht finden Sie die Leistung über die Suche.",
            ),
            (Self::NotFound, Lang::En) => (
                "Page not found",
                "This page does not exist (any more). You may find the service you are looking for with the search.",
            ),
            (Self::TooLarge, Lang::De) => (
                "Die Anfrage ist zu groß",
                "Es wurden mehr Daten gesendet, als angenommen werden. Bitte kürzen Sie Ihre Eingabe.",
            ),
            (Self::TooLarge, Lang::En) => (
                "The request is too large",
                "More data was sent than is accepted. Please shorten your input.",
            ),
            (Self::Unavailable, Lang::De) => (
                "Vorübergehend nicht verfügbar",
                "Der Dienst ist gerade nicht erreichbar. Bitte versuchen Sie es in einer Minute erneut; Ihre bisherigen Angaben gehen dadurch nicht verloren.",
            ),
            (Self::Unavailable, Lang::En) => (
                "Temporarily unavailable",
                "The service cannot be reached right now. Please try again in a minute; nothing you entered so far is lost.",
            ),
            (Self::Internal, Lang::De) => (
                "Ein Fehler ist aufgetreten",
                "Das hätte nicht passieren dürfen. Bitte versuchen Sie es später erneut. Wenn Sie uns kontaktieren, nennen Sie bitte die Fehlerkennung.",
            ),
            (Self::Internal, Lang::En) => (
                "Something went wrong",
                "This should not have happened. Please try again later. If you contact us, please quote the error reference.",
            ),
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    chrome: &'a Chrome,
    title: &'a str,
    message: &'a str,
    reference: &'a str,
}

/// An error page for people.
#[derive(Debug)]
pub struct PageError {
    pub problem: PageProblem,
    pub chrome: Chrome,
    /// The internal cause, logged and never shown.
    pub cause: Option<String>,
}

impl PageError {
    pub fn new(problem: PageProblem, chrome: Chrome) -> Self {
        Self {
            problem,
            chrome,
            cause: None,
        }
    }

    pub fn internal(chrome: Chrome, cause: impl std::fmt::Display) -> Self {
        Self {
            problem: PageProblem::Internal,
            chrome,
            cause: Some(cause.to_string()),
        }
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let reference = error_reference();
        let status = self.problem.status();
        if status.is_server_error() {
            tracing::error!(error.reference = %reference, status = status.as_u16(), cause = self.cause.as_deref().unwrap_or("-"), "request failed");
        } else {
            tracing::debug!(error.reference = %reference, status = status.as_u16(), "request refused");
        }
        let (title, message) = self.problem.texts(self.chrome.lang);
        let page = ErrorPage {
            chrome: &self.chrome,
            title,
            message,
            reference: &reference,
        };
        let body = page.render().unwrap_or_else(|_| {
            format!(
                "<!doctype html><title>{}</title><p>{} ({})",
                status.as_u16(),
                title,
                reference
            )
        });
        let mut response = (status, Html(body)).into_response();
        match self.problem {
            PageProblem::Unavailable => {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("30"));
            }
            PageProblem::TooManyRequests { retry_after_secs } => {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
            }
            _ => {}
        }
        response
    }
}

/// An RFC 9457 problem document for the API.
#[derive(Debug, Serialize)]
pub struct Problem {
    #[serde(rename = "type")]
    pub type_uri: String,
    pub title: String,
    pub status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The error reference also written to the server log.
    pub instance: String,
    /// Field-level problems, for validation errors.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldProblem>,
}

#[derive(Debug, Serialize)]
pub struct FieldProblem {
    /// The parameter or JSON pointer that is wrong.
    pub pointer: String,
    pub detail: String,
}

/// An API error; its variants own their status codes and problem types.
#[derive(Debug)]
pub enum ApiError {
    /// 400 with a detail for the caller and optional per-parameter problems.
    BadRequest {
        detail: String,
        errors: Vec<FieldProblem>,
    },
    /// 401: the request needs a signed-in session, and has none (or an expired one).
    Unauthorized,
    /// 404 for an unknown resource.
    NotFound { detail: String },
    /// 429: retry after the given number of seconds.
    TooManyRequests { retry_after_secs: u64 },
    /// 413 for oversized input.
    TooLarge,
    /// 503 when a backend is down; the caller should retry.
    Unavailable { cause: String },
    /// 500; the cause is logged, never returned.
    Internal { cause: String },
}

impl ApiError {
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::BadRequest {
            detail: detail.into(),
            errors: Vec::new(),
        }
    }

    pub fn invalid_parameter(name: &str, detail: impl Into<String>) -> Self {
        let detail = detail.into();
        Self::BadRequest {
            detail: format!("the parameter `{name}` is not valid: {detail}"),
            errors: vec![FieldProblem {
                pointer: name.to_owned(),
                detail,
            }],
        }
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::NotFound {
            detail: detail.into(),
        }
    }

    pub fn internal(cause: impl std::fmt::Display) -> Self {
        Self::Internal {
            cause: cause.to_string(),
        }
    }
}

/// Where the problem types are documented (in the OpenAPI document's description).
const PROBLEM_BASE: &str = "/api/v1/problems#";

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let reference = error_reference();
        let retry_after = match &self {
            Self::TooManyRequests { retry_after_secs } => Some(*retry_after_secs),
            Self::Unavailable { .. } => Some(30),
            _ => None,
        };
        let (status, slug, title, detail, errors) = match self {
            Self::BadRequest { detail, errors } => (
                StatusCode::BAD_REQUEST,
                "bad-request",
                "The request is not valid",
                Some(detail),
                errors,
            ),
            Self::Unauthorized => (
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "Sign in first",
                Some(
                    "this endpoint needs a signed-in session; the session is missing or has ended"
                        .to_owned(),
                ),
                Vec::new(),
            ),
            Self::TooManyRequests { .. } => (
                StatusCode::TOO_MANY_REQUESTS,
                "too-many-requests",
                "Too many requests, retry later",
                None,
                Vec::new(),
            ),
            Self::NotFound { detail } => (
                StatusCode::NOT_FOUND,
                "not-found",
                "Not found",
                Some(detail),
                Vec::new(),
            ),
            Self::TooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "too-large",
                "The request is too large",
                None,
                Vec::new(),
            ),
            Self::Unavailable { cause } => {
                tracing::warn!(error.reference = %reference, %cause, "backend unavailable");
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "Temporarily unavailable, retry later",
                    None,
                    Vec::new(),
                )
            }
            Self::Internal { cause } => {
                tracing::error!(error.reference = %reference, %cause, "API request failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "Internal error",
                    None,
                    Vec::new(),
                )
            }
        };
        let problem = Problem {
            type_uri: format!("{PROBLEM_BASE}{slug}"),
            title: title.to_owned(),
            status: status.as_u16(),
            detail,
            instance: format!("urn:rathaus:error:{reference}"),
            errors,
        };
        let mut response = (status, Json(problem)).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Some(seconds) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

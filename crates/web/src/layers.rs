//! The tower layers every rathaus server runs behind: request ids, tracing, timeouts, body
//! limits, compression, security headers and panic catching.

use std::time::Duration;

use axum::Router;
use axum::extract::{MatchedPath, Request};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use http::{HeaderName, HeaderValue, StatusCode, header};
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Limits and switches for [`apply`].
#[derive(Debug, Clone)]
pub struct LayerOptions {
    pub request_timeout: Duration,
    pub body_limit_bytes: usize,
    /// Largest accepted `multipart/form-data` body (forms with uploads), in bytes.
    pub upload_limit_bytes: usize,
    /// Longest accepted path plus query; longer URLs get 414.
    pub max_uri_bytes: usize,
    /// Send HSTS (only when the site is served over TLS, directly or behind a proxy).
    pub hsts: bool,
}

impl Default for LayerOptions {
    fn default() -> Self {
        Self {
            request_timeout: Duration::from_secs(30),
            body_limit_bytes: 1024 * 1024,
            upload_limit_bytes: 64 * 1024 * 1024,
            max_uri_bytes: 16 * 1024,
            hsts: false,
        }
    }
}

/// Content Security Policy: nothing inline, nothing from elsewhere, no framing.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'";

pub fn apply<S: Clone + Send + Sync + 'static>(
    router: Router<S>,
    options: &LayerOptions,
) -> Router<S> {
    let max_uri = options.max_uri_bytes;
    let (normal, upload) = (options.body_limit_bytes, options.upload_limit_bytes);
    let router = router
        // The limit below replaces axum's per-extractor default of 2 MB.
        .layer(axum::extract::DefaultBodyLimit::disable())
        .layer(middleware::from_fn(move |req: Request, next: Next| {
            limit_body(req, next, normal, upload)
        }))
        .layer(middleware::from_fn(record_metrics))
        .layer(middleware::from_fn(move |req: Request, next: Next| {
            limit_uri(req, next, max_uri)
        }));
    let router = if options.hsts {
        router.layer(SetResponseHeaderLayer::if_not_present(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=63072000; includeSubDomains"),
        ))
    } else {
        router
    };
    router.layer(
        ServiceBuilder::new()
            .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
            .layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
                let id = req.headers().get(REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("-");
                // Only method and path: query strings can carry personal data (a search for a name).
                tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id)
            }))
            .layer(PropagateRequestIdLayer::new(REQUEST_ID))
            .layer(CatchPanicLayer::custom(|_| internal_error_response()))
            .layer(CompressionLayer::new())
            .layer(header_layer(header::CONTENT_SECURITY_POLICY, CSP))
            .layer(header_layer(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
            .layer(header_layer(header::REFERRER_POLICY, "same-origin"))
            .layer(header_layer(header::X_FRAME_OPTIONS, "DENY"))
            .layer(header_layer(
                HeaderName::from_static("permissions-policy"),
                "camera=(), microphone=(), geolocation=(), payment=()",
            ))
            .layer(header_layer(HeaderName::from_static("cross-origin-opener-policy"), "same-origin"))
            .layer(middleware::map_response(explain_unavailable))
            .layer(TimeoutLayer::with_status_code(StatusCode::SERVICE_UNAVAILABLE, options.request_timeout)),
    )
}

/// A 503 without `Retry-After` (the request timeout's, which comes with an empty body) gets
/// one, and a short page instead of nothing: the person and their client may try again soon,
/// like after every other 503 here.
async fn explain_unavailable(mut response: Response) -> Response {
    use axum::body::HttpBody;
    if response.status() != StatusCode::SERVICE_UNAVAILABLE
        || response.headers().contains_key(header::RETRY_AFTER)
    {
        return response;
    }
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
    if response.body().size_hint().exact() == Some(0) {
        let headers = std::mem::take(response.headers_mut());
        let mut page = (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            "<!doctype html><html lang=\"de\"><meta charset=\"utf-8\">\
             <title>Zurzeit nicht erreichbar / Temporarily unavailable</title>\
             <h1>Zurzeit nicht erreichbar / Temporarily unavailable</h1>\
             <p>Bitte versuchen Sie es in einigen Sekunden noch einmal. / \
             Please try again in a few seconds.</p><p><a href=\"/\">Startseite / Start page</a></p></html>",
        )
            .into_response();
        for (name, value) in &headers {
            if name != header::CONTENT_LENGTH && name != header::CONTENT_TYPE {
                page.headers_mut().insert(name, value.clone());
            }
        }
        return page;
    }
    response
}

fn header_layer(name: HeaderName, value: &'static str) -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value))
}

fn internal_error_response() -> Response {
    let reference = crate::error::error_reference();
    tracing::error!(error.reference = %reference, "handler panicked");
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        format!(
            "<!doctype html><html lang=\"de\"><meta charset=\"utf-8\"><title>Fehler / Error</title>\
             <h1>Ein Fehler ist aufgetreten / Something went wrong</h1>\
             <p>Fehlerkennung / Error reference: {reference}</p><p><a href=\"/\">Startseite / Start page</a></p></html>"
        ),
    )
        .into_response()
}

/// Caps the body: `normal` for everything, `upload` for multipart forms with files. A declared
/// length above the cap is refused before reading; a body that grows past it while being read
/// makes the extractor answer 413.
async fn limit_body(req: Request, next: Next, normal: usize, upload: usize) -> Response {
    let multipart = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        // Signed messages between nodes carry sealed files (applications, replies, decisions).
        .is_some_and(|v| v.starts_with("multipart/form-data") || v == "application/jose");
    let limit = if multipart {
        upload.max(normal)
    } else {
        normal
    };
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > limit as u64) {
        return (StatusCode::PAYLOAD_TOO_LARGE, "request body too large").into_response();
    }
    let (parts, body) = req.into_parts();
    let body = axum::body::Body::new(http_body_util::Limited::new(body, limit));
    next.run(Request::from_parts(parts, body)).await
}

async fn limit_uri(req: Request, next: Next, max: usize) -> Response {
    let length = req.uri().path().len() + req.uri().query().map_or(0, str::len);
    if length > max {
        return (
            StatusCode::URI_TOO_LONG,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "Die Adresse ist zu lang. / The address is too long.",
        )
            .into_response();
    }
    next.run(req).await
}

async fn record_metrics(req: Request, next: Next) -> Response {
    let started = std::time::Instant::now();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = req.method().to_string();
    let response = next.run(req).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!("http_requests_total", "method" => method.clone(), "route" => route.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("http_request_duration_seconds", "method" => method, "route" => route)
        .record(started.elapsed().as_secs_f64());
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::routing::get;
    use tower::ServiceExt;

    fn app() -> Router {
        let router = Router::new()
            .route(
                "/slow",
                get(|| async {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    "late"
                }),
            )
            .route(
                "/busy",
                get(|| async {
                    (
                        StatusCode::SERVICE_UNAVAILABLE,
                        [(header::RETRY_AFTER, "1")],
                        "own page",
                    )
                }),
            );
        apply(
            router,
            &LayerOptions {
                request_timeout: Duration::from_millis(50),
                ..LayerOptions::default()
            },
        )
    }

    async fn get_path(path: &str) -> (StatusCode, http::HeaderMap, String) {
        let response = app()
            .oneshot(Request::get(path).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let (parts, body) = response.into_parts();
        let bytes = axum::body::to_bytes(body, 1 << 20).await.unwrap();
        (
            parts.status,
            parts.headers,
            String::from_utf8(bytes.to_vec()).unwrap(),
        )
    }

    #[tokio::test]
    async fn a_timed_out_request_gets_503_with_retry_after_and_a_page() {
        let (status, headers, body) = get_path("/slow").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(headers[header::RETRY_AFTER], "5");
        assert!(
            headers[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        assert!(body.contains("Temporarily unavailable"), "{body}");
        assert!(headers.contains_key(REQUEST_ID), "the other headers stay");
    }

    #[tokio::test]
    async fn a_503_that_says_when_to_retry_is_left_as_it_is() {
        let (status, headers, body) = get_path("/busy").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(headers[header::RETRY_AFTER], "1");
        assert_eq!(body, "own page");
    }
}

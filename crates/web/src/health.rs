//! `/healthz` (the process is alive) and the body of `/readyz` (ready to serve).

use axum::Json;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use serde::Serialize;

pub async fn healthz() -> impl IntoResponse {
    (
        [(header::CACHE_CONTROL, "no-store")],
        Json(serde_json::json!({"status": "ok"})),
    )
}

#[derive(Debug, Serialize)]
pub struct Readiness {
    pub status: &'static str,
    pub checks: Vec<Check>,
}

#[derive(Debug, Serialize)]
pub struct Check {
    pub name: &'static str,
    pub ok: bool,
}

/// 200 when every check passed, otherwise 503 with Retry-After.
pub fn readiness(checks: Vec<Check>) -> Response {
    let ready = checks.iter().all(|c| c.ok);
    let body = Json(Readiness {
        status: if ready { "ready" } else { "unavailable" },
        checks,
    });
    let mut response = if ready {
        (StatusCode::OK, body).into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, body).into_response()
    };
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if !ready {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
    }
    response
}

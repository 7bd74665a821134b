//! The versioned JSON API (`/api/v1`), described by `openapi.json` beside this file.

mod services;

use axum::Router;
use axum::response::IntoResponse;
use axum::routing::get;
use http::header;

use crate::state::PortalState;

pub fn router() -> Router<PortalState> {
    Router::new()
        .route("/api/v1/services", get(services::list))
        .route("/api/v1/services/{id}", get(services::detail))
        .route("/api/v1/responsibility", get(services::responsibility))
        .route("/api/v1/life-situations", get(services::life_situations))
        .route("/api/v1/openapi.json", get(openapi))
        .route("/api/v1/problems", get(problems))
}

pub const OPENAPI: &str = include_str!("openapi.json");

async fn openapi() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI)
}

/// Human-readable description of the problem types used in `type` of problem documents.
async fn problems() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "bad-request: a parameter is missing or not valid; see `errors` for which.\n\
         not-found: the resource does not exist.\n\
         too-large: the request or its body is too large.\n\
         unavailable: a backend is temporarily unavailable; retry after the Retry-After header.\n\
         internal: an unexpected error; quote `instance` when reporting it.\n",
    )
}

//! The versioned JSON API (`/api/v1`), described by `openapi.json` beside this file.

mod account;
mod identity;
pub(crate) mod node_message;
mod services;
mod status;

use axum::response::IntoResponse;
use axum::routing::get;
use http::header;

use crate::routes::Routes;

pub(crate) fn routes(routes: Routes) -> Routes {
    routes
        .public("/api/v1/services", get(services::list))
        .public("/api/v1/services/{id}", get(services::detail))
        .public("/api/v1/services/{id}/schema", get(services::schema))
        .public("/api/v1/responsibility", get(services::responsibility))
        .public("/api/v1/life-situations", get(services::life_situations))
        .public("/api/v1/openapi.json", get(openapi))
        .public("/api/v1/problems", get(problems))
        .signed_in("/api/v1/account", get(account::me))
        // Authenticated by the authority node's signature, not by a session.
        .public("/api/v1/status", axum::routing::post(status::receive))
        // Authenticated by the authority node's signature, not by a session.
        .public(
            "/api/v1/identity-assertions",
            axum::routing::post(identity::receive),
        )
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
         unauthorized: the endpoint needs a signed-in session (the portal's session cookie); it is missing or has ended.\n\
         not-found: the resource does not exist.\n\
         too-large: the request or its body is too large.\n\
         too-many-requests: too many requests right now; retry after the Retry-After header.\n\
         unavailable: a backend is temporarily unavailable; retry after the Retry-After header.\n\
         internal: an unexpected error; quote `instance` when reporting it.\n\
         signature-refused: a signed message between nodes did not verify (unknown signer, wrong key, altered, or too old).\n\
         replay: a signed message between nodes arrived a second time.\n\
         conflict: a signed message does not fit what the receiver knows (for example a delivery of another node).\n\
         forbidden: a signed message speaks for an authority that its node does not host.\n\
         unacceptable-content: a message's sealed content does not open with the portal's key, or is not acceptable (unprintable subject, a file that is not what its checksum or type says).\n\
         identification-code-unknown: no account has this identification code (never issued, or replaced by a newer one).\n\
         identification-code-expired: the identification code is older than 14 days.\n\
         identification-code-used: the identification code has been used already; it works only once.\n",
    )
}

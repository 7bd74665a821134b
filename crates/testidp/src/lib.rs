//! A **test** OpenID Provider for the demo and the tests of rathaus: the authorization code flow
//! with PKCE (S256 only), signed ID tokens (RS256) and the test identities of the German eID
//! ([`identities`]). It is clearly marked as a test provider on every page, and it is not a real
//! eID service: anyone can pick any identity.
//!
//! What it implements, and nothing more:
//!
//! - `GET /.well-known/openid-configuration` — the discovery document;
//! - `GET /authorize` — a server-rendered page (no JavaScript) that lists the test identities,
//!   with one button per identity and a cancel button (`error=access_denied`);
//!   `POST /authorize` — the choice, answered with a redirect back to the client;
//! - `POST /token` — code → ID token, for a registered client (`client_secret_basic` or
//!   `client_secret_post`), the same `redirect_uri`, the PKCE verifier, a code used once and
//!   within 60 seconds;
//! - `GET /jwks` — the public key; the key pair is generated at start-up.
//!
//! The ID token carries `iss`, `sub` (a stable pseudonym per identity and client), `aud`,
//! `exp`, `iat`, `auth_time`, `nonce`, `acr` = `http://eidas.europa.eu/LoA/high`, and only the
//! attributes the `scope` asks for (R4). Time comes from an injected [`Clock`]; the codes
//! waiting for exchange are bounded ([`codes`]).
//!
//! For relying-party tests a [`Fault`] makes the provider misbehave in one chosen way (a token
//! signed by a key it does not publish, a wrong nonce or audience, a lower `acr`).

mod authorize;
pub mod codes;
pub mod identities;
mod keys;
mod token;

use std::fmt;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::{HeaderValue, StatusCode, header};
use rathaus_web::Clock;
use serde_json::json;

use crate::codes::Codes;
use crate::keys::SigningKey;

/// `acr` of the German eID (eIDAS level of assurance "high").
pub const ACR_HIGH: &str = "http://eidas.europa.eu/LoA/high";
/// `acr` of eIDAS level "substantial"; this provider issues it only under
/// [`Fault::AcrSubstantial`].
pub const ACR_SUBSTANTIAL: &str = "http://eidas.europa.eu/LoA/substantial";

/// How long an ID token is valid after it was issued.
pub const ID_TOKEN_LIFETIME: chrono::Duration = chrono::Duration::minutes(5);

/// A relying party the provider knows.
#[derive(Clone)]
pub struct ClientRegistration {
    pub client_id: String,
    pub client_secret: String,
    /// The one redirect URI of this client; requests must name it exactly.
    pub redirect_uri: String,
}

impl fmt::Debug for ClientRegistration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientRegistration")
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .field("redirect_uri", &self.redirect_uri)
            .finish()
    }
}

/// One way to misbehave, for the tests of a relying party. Never set outside tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Sign ID tokens with a key that has the published key's id but is not the published key.
    UnpublishedKey,
    /// Put another nonce into the ID token than the client sent.
    WrongNonce,
    /// Address the ID token to another client.
    WrongAudience,
    /// Claim only eIDAS "substantial" in `acr`.
    AcrSubstantial,
}

/// How the provider is set up.
#[derive(Debug, Clone)]
pub struct IdpConfig {
    /// The issuer identifier: the provider's base URL (`http://127.0.0.1:8090`), without a
    /// trailing slash. Endpoints are this plus `/authorize`, `/token`, `/jwks`.
    pub issuer: String,
    pub clients: Vec<ClientRegistration>,
    pub fault: Option<Fault>,
}

/// Why the provider could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot create the signing key: {0}")]
    Key(#[source] josekit::JoseError),
    #[error("no random numbers available: {0}")]
    Random(String),
    #[error("the issuer must be an http:// or https:// URL without query or fragment: {0}")]
    Issuer(String),
    #[error("a client needs an id, a secret and an http(s) redirect URI: {0}")]
    Client(String),
}

/// The test provider: configuration, signing key, pending codes and the clock.
#[derive(Debug, Clone)]
pub struct TestIdp {
    inner: Arc<Inner>,
}

#[derive(Debug)]
pub(crate) struct Inner {
    pub issuer: String,
    pub clients: Vec<ClientRegistration>,
    pub fault: Option<Fault>,
    pub key: SigningKey,
    /// Signs instead of `key` under [`Fault::UnpublishedKey`].
    pub impostor: Option<SigningKey>,
    pub codes: Codes,
    pub clock: Arc<dyn Clock>,
    /// `Content-Security-Policy` of the pages: forms may go to this provider and, through
    /// its redirect, to the registered clients.
    pub csp: HeaderValue,
}

impl TestIdp {
    /// Checks the configuration and generates the signing key.
    pub fn new(config: IdpConfig, clock: Arc<dyn Clock>) -> Result<Self, Error> {
        let issuer = config.issuer.trim_end_matches('/').to_owned();
        if origin(&issuer).is_none() || issuer.contains(['?', '#']) {
            return Err(Error::Issuer(config.issuer));
        }
        let mut form_targets = vec!["'self'".to_owned()];
        for client in &config.clients {
            let Some(client_origin) = origin(&client.redirect_uri) else {
                return Err(Error::Client(client.client_id.clone()));
            };
            if client.client_id.is_empty() || client.client_secret.is_empty() {
                return Err(Error::Client(client.client_id.clone()));
            }
            form_targets.push(client_origin.to_owned());
        }
        let csp = format!(
            "default-src 'none'; style-src 'self'; form-action {}; frame-ancestors 'none'; base-uri 'none'",
            form_targets.join(" ")
        );
        let csp = HeaderValue::from_str(&csp).map_err(|_| Error::Issuer(issuer.clone()))?;
        let key = SigningKey::generate()?;
        let impostor = match config.fault {
            Some(Fault::UnpublishedKey) => Some(SigningKey::generate_with_kid(key.kid())?),
            _ => None,
        };
        Ok(Self {
            inner: Arc::new(Inner {
                issuer,
                clients: config.clients,
                fault: config.fault,
                key,
                impostor,
                codes: Codes::default(),
                clock,
                csp,
            }),
        })
    }

    /// The issuer identifier, as it appears in tokens and the discovery document.
    pub fn issuer(&self) -> &str {
        &self.inner.issuer
    }

    /// How many codes wait for exchange right now.
    pub fn pending_codes(&self) -> usize {
        self.inner.codes.len()
    }

    /// The provider's routes, served under the issuer's path (usually the root).
    pub fn router(&self) -> Router {
        let routes = Router::new()
            .route("/", get(authorize::index))
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/authorize", get(authorize::show).post(authorize::decide))
            .route("/token", axum::routing::post(token::exchange))
            .route("/jwks", get(jwks))
            .route("/testidp.css", get(stylesheet))
            .layer(middleware::from_fn_with_state(
                Arc::clone(&self.inner),
                security_headers,
            ))
            .with_state(Arc::clone(&self.inner));
        match path_of(&self.inner.issuer) {
            "" | "/" => routes,
            prefix => Router::new().nest(prefix, routes),
        }
    }
}

/// `scheme://host[:port]` of an http(s) URL, or `None`.
fn origin(url: &str) -> Option<&str> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))?;
    let host_len = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    if host_len == 0 {
        return None;
    }
    Some(&url[..url.len() - rest.len() + host_len])
}

/// The path part of the issuer (`""` for a bare origin).
fn path_of(issuer: &str) -> &str {
    origin(issuer).map_or("", |o| &issuer[o.len()..])
}

/// `N` random bytes, base64url without padding.
pub(crate) fn random_token<const N: usize>() -> Result<String, Error> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|e| Error::Random(e.to_string()))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

async fn security_headers(
    State(inner): State<Arc<Inner>>,
    request: Request,
    next: Next,
) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, inner.csp.clone());
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // The redirect back carries the code: no page of the provider tells anyone where it was.
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

async fn discovery(State(inner): State<Arc<Inner>>) -> Response {
    let issuer = &inner.issuer;
    let mut scopes = vec!["openid"];
    scopes.extend_from_slice(identities::ATTRIBUTE_SCOPES);
    axum::Json(json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/authorize"),
        "token_endpoint": format!("{issuer}/token"),
        "jwks_uri": format!("{issuer}/jwks"),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "code_challenge_methods_supported": ["S256"],
        "scopes_supported": scopes,
        "acr_values_supported": [ACR_HIGH],
        "claims_supported": [
            "iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "acr",
            "given_name", "family_name", "birthdate", "address",
            "birth_name", "place_of_birth", "doctoral_degree"
        ],
        "claims_parameter_supported": true,
        "request_parameter_supported": false,
        "authorization_response_iss_parameter_supported": true,
        "ui_locales_supported": ["de", "en"],
        "service_documentation": format!("{issuer}/"),
    }))
    .into_response()
}

async fn jwks(State(inner): State<Arc<Inner>>) -> Response {
    axum::Json(json!({ "keys": [inner.key.public_jwk().as_ref()] })).into_response()
}

/// The provider's few styles, served as a file so that the pages need no inline style.
const STYLESHEET: &str = "\
body{font-family:system-ui,sans-serif;margin:0;color:#1b1b1b;background:#fff;line-height:1.5}\
main{max-width:48rem;margin:0 auto;padding:1rem}\
.warning{background:#ffd500;color:#000;padding:1rem;border-bottom:4px solid #000;font-weight:bold}\
.warning p{margin:0;max-width:48rem;margin:0 auto}\
.identity{border:2px solid #555;border-radius:4px;padding:0 1rem 1rem;margin:1rem 0}\
dl{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem}dt{font-weight:bold}dd{margin:0}\
button{font:inherit;padding:.6rem 1.2rem;border:2px solid #0b3d91;border-radius:4px;cursor:pointer}\
.choose{background:#0b3d91;color:#fff}.cancel{background:#fff;color:#0b3d91}\
button:focus-visible{outline:3px solid #ffd500;outline-offset:2px}\
.note{color:#333}code{overflow-wrap:anywhere}";

async fn stylesheet() -> Response {
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        STYLESHEET,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_and_paths_of_urls() {
        assert_eq!(
            origin("http://127.0.0.1:8090"),
            Some("http://127.0.0.1:8090")
        );
        assert_eq!(origin("https://a.example/cb?x"), Some("https://a.example"));
        assert_eq!(origin("ftp://a.example"), None);
        assert_eq!(origin("http:///x"), None);
        assert_eq!(path_of("https://id.example/eid"), "/eid");
        assert_eq!(path_of("https://id.example"), "");
    }
}

//! The token endpoint: an authorization code for an ID token (RFC 6749 §4.1.3, OpenID Connect
//! Core §3.1.3, RFC 7636).
//!
//! Order of the checks: the client authenticates (`client_secret_basic` or
//! `client_secret_post`, exactly one of them); then the code is taken out of the table — from
//! here on it is spent, whatever the outcome — and must belong to this client, name the same
//! `redirect_uri`, be younger than 60 seconds, and match the PKCE verifier.

use std::sync::Arc;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use http::{HeaderMap, HeaderValue, StatusCode, header};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::codes::Grant;
use crate::identities::Identity;
use crate::{ACR_HIGH, ACR_SUBSTANTIAL, ClientRegistration, Fault, ID_TOKEN_LIFETIME, Inner};

/// An OAuth error answer: `{"error": …, "error_description": …}`.
fn oauth_error(status: StatusCode, error: &'static str, description: &'static str) -> Response {
    tracing::info!(error, description, "token request refused");
    let mut response = (
        status,
        axum::Json(json!({ "error": error, "error_description": description })),
    )
        .into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if status == StatusCode::UNAUTHORIZED {
        headers.insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"testidp\""),
        );
    }
    response
}

fn bad_request(error: &'static str, description: &'static str) -> Response {
    oauth_error(StatusCode::BAD_REQUEST, error, description)
}

/// `client_id` and `client_secret` from `Authorization: Basic` (each form-urlencoded, RFC 6749
/// §2.3.1).
fn basic_credentials(headers: &HeaderMap) -> Option<Result<(String, String), ()>> {
    let value = headers.get(header::AUTHORIZATION)?;
    let parse = || -> Option<(String, String)> {
        let encoded = value.to_str().ok()?.strip_prefix("Basic ")?;
        let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
        let (id, secret) = decoded.split_once(':')?;
        let unescape = |s: &str| -> Option<String> {
            let pairs: Vec<(String, String)> =
                serde_urlencoded::from_str(&format!("v={s}")).ok()?;
            pairs.into_iter().next().map(|(_, v)| v)
        };
        Some((unescape(id)?, unescape(secret)?))
    };
    Some(parse().ok_or(()))
}

fn authenticate<'a>(
    inner: &'a Inner,
    headers: &HeaderMap,
    form: &[(String, String)],
) -> Result<&'a ClientRegistration, Box<Response>> {
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let (id, secret) = match (basic_credentials(headers), field("client_secret")) {
        (Some(_), Some(_)) => {
            return Err(Box::new(bad_request(
                "invalid_request",
                "use one client authentication method, not two",
            )));
        }
        (Some(Ok((id, secret))), None) => {
            if field("client_id").is_some_and(|body_id| body_id != id) {
                return Err(Box::new(bad_request(
                    "invalid_request",
                    "two different client ids",
                )));
            }
            (id, secret)
        }
        (None, Some(secret)) => (
            field("client_id").unwrap_or_default().to_owned(),
            secret.to_owned(),
        ),
        (Some(Err(())), None) | (None, None) => {
            return Err(Box::new(oauth_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "client authentication failed",
            )));
        }
    };
    // Every registered client is compared, so the timing does not tell which ids exist.
    let mut found = None;
    for client in &inner.clients {
        let id_ok = client.client_id.as_bytes().ct_eq(id.as_bytes());
        let secret_ok = client.client_secret.as_bytes().ct_eq(secret.as_bytes());
        if bool::from(id_ok & secret_ok) {
            found = Some(client);
        }
    }
    found.ok_or_else(|| {
        Box::new(oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "client authentication failed",
        ))
    })
}

/// Whether `verifier` is a valid PKCE verifier whose S256 challenge is `challenge`.
fn pkce_matches(verifier: &str, challenge: &str) -> bool {
    let well_formed = (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
    let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    well_formed && bool::from(computed.as_bytes().ct_eq(challenge.as_bytes()))
}

/// The pseudonym of `identity` towards `client_id`: stable, and different for every client.
pub(crate) fn pseudonym(identity: &str, client_id: &str) -> String {
    let digest = Sha256::new()
        .chain_update(b"rathaus-testidp pairwise subject\0")
        .chain_update(client_id.as_bytes())
        .chain_update(b"\0")
        .chain_update(identity.as_bytes())
        .finalize();
    URL_SAFE_NO_PAD.encode(digest)
}

fn id_token_claims(inner: &Inner, grant: &Grant, identity: &Identity) -> Map<String, Value> {
    let now = inner.clock.now();
    let scopes: Vec<&str> = grant.scopes.iter().map(String::as_str).collect();
    let requested: Vec<&str> = grant.claims.iter().map(String::as_str).collect();
    let mut claims = identity.release(&scopes, &requested);
    let audience = match inner.fault {
        Some(Fault::WrongAudience) => "another-client".to_owned(),
        _ => grant.client_id.clone(),
    };
    let acr = match inner.fault {
        Some(Fault::AcrSubstantial) => ACR_SUBSTANTIAL,
        _ => ACR_HIGH,
    };
    claims.insert("iss".into(), json!(inner.issuer));
    claims.insert(
        "sub".into(),
        json!(pseudonym(identity.key, &grant.client_id)),
    );
    claims.insert("aud".into(), json!(audience));
    claims.insert("iat".into(), json!(now.timestamp()));
    claims.insert("exp".into(), json!((now + ID_TOKEN_LIFETIME).timestamp()));
    claims.insert("auth_time".into(), json!(grant.issued_at.timestamp()));
    claims.insert("acr".into(), json!(acr));
    match (inner.fault, &grant.nonce) {
        (Some(Fault::WrongNonce), _) => {
            claims.insert("nonce".into(), json!("not-the-nonce-you-sent"));
        }
        (_, Some(nonce)) => {
            claims.insert("nonce".into(), json!(nonce));
        }
        (_, None) => {}
    }
    claims
}

/// `POST /token`.
pub(crate) async fn exchange(
    State(inner): State<Arc<Inner>>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let Ok(form) = serde_urlencoded::from_str::<Vec<(String, String)>>(&body) else {
        return bad_request("invalid_request", "the body is not a form");
    };
    for (i, (name, _)) in form.iter().enumerate() {
        if form[..i].iter().any(|(seen, _)| seen == name) {
            return bad_request("invalid_request", "a parameter is given more than once");
        }
    }
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    };
    let client = match authenticate(&inner, &headers, &form) {
        Ok(client) => client,
        Err(response) => return *response,
    };
    if field("grant_type") != "authorization_code" {
        return bad_request(
            "unsupported_grant_type",
            "only authorization_code is supported",
        );
    }
    let now = inner.clock.now();
    let Some(grant) = inner.codes.take(field("code"), now) else {
        return bad_request("invalid_grant", "the code is unknown, used or expired");
    };
    if grant.client_id != client.client_id {
        return bad_request("invalid_grant", "the code belongs to another client");
    }
    if field("redirect_uri") != grant.redirect_uri {
        return bad_request(
            "invalid_grant",
            "redirect_uri differs from the authorization request",
        );
    }
    if !pkce_matches(field("code_verifier"), &grant.code_challenge) {
        return bad_request("invalid_grant", "the PKCE code_verifier does not match");
    }
    let Some(identity) = crate::identities::find(grant.identity) else {
        return bad_request("invalid_grant", "unknown identity");
    };
    let key = inner.impostor.as_ref().unwrap_or(&inner.key);
    let id_token = match key.sign(id_token_claims(&inner, &grant, identity)) {
        Ok(token) => token,
        Err(error) => {
            tracing::error!(%error, "ID token could not be signed");
            return oauth_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "the ID token could not be signed",
            );
        }
    };
    // An access token is part of every token response; this provider has no API it opens.
    let access_token = match crate::random_token::<32>() {
        Ok(token) => token,
        Err(_) => {
            return oauth_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "no randomness",
            );
        }
    };
    tracing::info!(client = %client.client_id, identity = identity.key, "ID token issued");
    let mut response = axum::Json(json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": 60,
        "scope": grant.scopes.join(" "),
        "id_token": id_token,
    }))
    .into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_s256_from_rfc_7636_appendix_b() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(pkce_matches(verifier, challenge));
        assert!(!pkce_matches(
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXl",
            challenge
        ));
        assert!(!pkce_matches("short", challenge));
        assert!(!pkce_matches("", ""));
    }

    #[test]
    fn the_pseudonym_is_stable_per_identity_and_client() {
        assert_eq!(pseudonym("erika", "portal"), pseudonym("erika", "portal"));
        assert_ne!(pseudonym("erika", "portal"), pseudonym("erika", "other"));
        assert_ne!(pseudonym("erika", "portal"), pseudonym("lea", "portal"));
        assert_eq!(pseudonym("erika", "portal").len(), 43);
    }
}

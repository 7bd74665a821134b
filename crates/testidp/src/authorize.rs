//! The authorization endpoint: the page with the test identities, and the choice.
//!
//! A request names a registered client and exactly its redirect URI, or it gets an error page
//! and no redirect (an unchecked redirect would make the provider an open redirector). Every
//! other problem goes back to the client as `error=…` with its `state`. The page repeats the
//! request in hidden fields, and the choice checks it again: nothing is trusted because it was
//! checked when the page was shown.

use std::sync::Arc;

use askama::Template;
use axum::extract::{RawQuery, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use http::{HeaderValue, StatusCode, header};

use crate::codes::Grant;
use crate::identities::{IDENTITIES, Identity};
use crate::{ClientRegistration, Inner};

/// Longest accepted `state`, `nonce` and `scope`.
const MAX_PARAM: usize = 512;

/// The parameters of an authorization request that the provider looks at; others are ignored.
const PARAMS: &[&str] = &[
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
    "acr_values",
    "claims",
];

/// Longest accepted `claims` parameter.
const MAX_CLAIMS_PARAM: usize = 2_048;

/// A request's parameters, each at most once.
#[derive(Debug, Default)]
struct Params(Vec<(String, String)>);

impl Params {
    fn parse(raw: &str) -> Result<Self, &'static str> {
        let pairs: Vec<(String, String)> =
            serde_urlencoded::from_str(raw).map_err(|_| "the parameters cannot be read")?;
        for (i, (name, _)) in pairs.iter().enumerate() {
            if pairs[..i].iter().any(|(seen, _)| seen == name) {
                return Err("a parameter is given more than once");
            }
        }
        Ok(Self(pairs))
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A checked authorization request.
#[derive(Debug)]
struct Checked<'a> {
    client: &'a ClientRegistration,
    scopes: Vec<String>,
    /// Single claims asked for in the `claims` parameter, known ones only.
    claims: Vec<String>,
    state: Option<String>,
    nonce: Option<String>,
    code_challenge: String,
    /// The request's own parameters, for the hidden fields of the page.
    echo: Vec<(String, String)>,
}

/// Why a request was refused.
#[derive(Debug)]
enum Refusal {
    /// The client or its redirect URI is unknown: shown here, never redirected.
    Page(&'static str),
    /// Sent back to the client.
    Redirect {
        to: String,
        error: &'static str,
        description: &'static str,
        state: Option<String>,
    },
}

fn check<'a>(inner: &'a Inner, params: &Params) -> Result<Checked<'a>, Refusal> {
    let client = params
        .get("client_id")
        .and_then(|id| inner.clients.iter().find(|c| c.client_id == id))
        .ok_or(Refusal::Page("unknown client_id"))?;
    if params.get("redirect_uri") != Some(client.redirect_uri.as_str()) {
        return Err(Refusal::Page(
            "redirect_uri is not the one registered for this client",
        ));
    }
    let state = params.get("state").map(str::to_owned);
    let refuse = |error, description| Refusal::Redirect {
        to: client.redirect_uri.clone(),
        error,
        description,
        state: state.clone().filter(|s| s.len() <= MAX_PARAM),
    };
    if state.as_ref().is_some_and(|s| s.len() > MAX_PARAM) {
        return Err(refuse("invalid_request", "state is too long"));
    }
    if params.get("response_type") != Some("code") {
        return Err(refuse(
            "unsupported_response_type",
            "only response_type=code is supported",
        ));
    }
    let scope = params.get("scope").unwrap_or_default();
    if scope.len() > MAX_PARAM {
        return Err(refuse("invalid_scope", "scope is too long"));
    }
    let scopes: Vec<String> = scope
        .split(' ')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    if !scopes.iter().any(|s| s == "openid") {
        return Err(refuse("invalid_scope", "scope must contain openid"));
    }
    let claims = match params.get("claims") {
        None => Vec::new(),
        Some(raw) if raw.len() > MAX_CLAIMS_PARAM => {
            return Err(refuse("invalid_request", "claims is too long"));
        }
        Some(raw) => requested_claims(raw)
            .ok_or_else(|| refuse("invalid_request", "claims must be a JSON object"))?,
    };
    if params.get("code_challenge_method") != Some("S256") {
        return Err(refuse(
            "invalid_request",
            "PKCE is required, with code_challenge_method=S256",
        ));
    }
    let code_challenge = params.get("code_challenge").unwrap_or_default();
    if code_challenge.len() != 43
        || !code_challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(refuse(
            "invalid_request",
            "code_challenge must be a base64url SHA-256 (43 characters)",
        ));
    }
    let nonce = params.get("nonce").map(str::to_owned);
    if nonce.as_ref().is_some_and(|n| n.len() > MAX_PARAM) {
        return Err(refuse("invalid_request", "nonce is too long"));
    }
    let echo = PARAMS
        .iter()
        .filter_map(|name| params.get(name).map(|v| ((*name).to_owned(), v.to_owned())))
        .collect();
    Ok(Checked {
        client,
        scopes,
        claims,
        state,
        nonce,
        code_challenge: code_challenge.to_owned(),
        echo,
    })
}

/// The claims named in the `id_token` member of a `claims` request parameter (OpenID Connect
/// Core 5.5) that this provider can release; others are ignored, as the standard says.
fn requested_claims(raw: &str) -> Option<Vec<String>> {
    let value: serde_json::Value = serde_json::from_str(raw).ok()?;
    let object = value.as_object()?;
    let Some(id_token) = object.get("id_token") else {
        return Some(Vec::new());
    };
    Some(
        id_token
            .as_object()?
            .keys()
            .filter(|k| crate::identities::RELEASABLE_CLAIMS.contains(&k.as_str()))
            .cloned()
            .collect(),
    )
}

/// `base?query` or `base&query`.
fn with_query(base: &str, pairs: &[(&str, &str)]) -> String {
    let query = serde_urlencoded::to_string(pairs).unwrap_or_default();
    let joiner = if base.contains('?') { '&' } else { '?' };
    format!("{base}{joiner}{query}")
}

fn back_to_client<'a>(
    inner: &'a Inner,
    to: &str,
    mut pairs: Vec<(&'a str, &'a str)>,
    state: Option<&'a str>,
) -> Response {
    if let Some(state) = state {
        pairs.push(("state", state));
    }
    // RFC 9207: the client can tell which provider answered.
    pairs.push(("iss", &inner.issuer));
    no_store(Redirect::to(&with_query(to, &pairs)).into_response())
}

fn refused(inner: &Inner, refusal: Refusal) -> Response {
    match refusal {
        Refusal::Page(reason) => {
            tracing::info!(reason, "authorization request refused");
            page(
                StatusCode::BAD_REQUEST,
                &ErrorPage {
                    reason,
                    issuer: &inner.issuer,
                },
            )
        }
        Refusal::Redirect {
            to,
            error,
            description,
            state,
        } => back_to_client(
            inner,
            &to,
            vec![("error", error), ("error_description", description)],
            state.as_deref(),
        ),
    }
}

fn no_store(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn page(status: StatusCode, template: &impl Template) -> Response {
    match template.render() {
        Ok(html) => no_store((status, Html(html)).into_response()),
        Err(error) => {
            tracing::error!(%error, "test provider page could not be rendered");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// One identity as the page shows it.
#[derive(Debug)]
struct IdentityView {
    key: &'static str,
    name: String,
    birth_name: Option<&'static str>,
    doctoral_degree: Option<&'static str>,
    birthdate: String,
    place_of_birth: String,
    address: String,
    note_de: &'static str,
    note_en: &'static str,
}

impl From<&Identity> for IdentityView {
    fn from(i: &Identity) -> Self {
        Self {
            key: i.key,
            name: i.display_name(),
            birth_name: i.birth_name,
            doctoral_degree: i.doctoral_degree,
            birthdate: i.birthdate_de(),
            place_of_birth: if i.birth_country == "DE" {
                i.place_of_birth.to_owned()
            } else {
                format!("{} ({})", i.place_of_birth, i.birth_country)
            },
            address: i.address_line(),
            note_de: i.note_de,
            note_en: i.note_en,
        }
    }
}

/// What the request releases, for the page: by scope, then the single claims not covered.
fn released(checked: &Checked<'_>) -> Vec<(&'static str, &'static str)> {
    let mut out: Vec<(&'static str, &'static str)> = checked
        .scopes
        .iter()
        .filter_map(|s| scope_label(s))
        .collect();
    let profile = checked.scopes.iter().any(|s| s == "profile");
    for claim in &checked.claims {
        let label = match claim.as_str() {
            "given_name" if !profile => Some(("Vorname(n)", "given name(s)")),
            "family_name" if !profile => Some(("Familienname", "family name")),
            "birthdate" if !profile => Some(("Geburtsdatum", "date of birth")),
            other if !checked.scopes.iter().any(|s| s == other) => scope_label(other),
            _ => None,
        };
        if let Some(label) = label
            && !out.contains(&label)
        {
            out.push(label);
        }
    }
    out
}

/// What a scope releases, for the page: German and English.
fn scope_label(scope: &str) -> Option<(&'static str, &'static str)> {
    Some(match scope {
        "profile" => (
            "Vor- und Familienname, Geburtsdatum",
            "given and family name, date of birth",
        ),
        "address" => ("Anschrift", "address"),
        "birth_name" => ("Geburtsname", "birth name"),
        "place_of_birth" => ("Geburtsort", "place of birth"),
        "doctoral_degree" => ("Doktorgrad", "doctoral degree"),
        _ => return None,
    })
}

#[derive(Template)]
#[template(path = "testidp/authorize.html")]
struct AuthorizePage<'a> {
    client_id: &'a str,
    hidden: &'a [(String, String)],
    released: Vec<(&'static str, &'static str)>,
    identities: Vec<IdentityView>,
}

#[derive(Template)]
#[template(path = "testidp/index.html")]
struct IndexPage<'a> {
    issuer: &'a str,
    identities: Vec<IdentityView>,
}

#[derive(Template)]
#[template(path = "testidp/error.html")]
struct ErrorPage<'a> {
    reason: &'a str,
    issuer: &'a str,
}

/// `GET /`: what this is, and the identities.
pub(crate) async fn index(State(inner): State<Arc<Inner>>) -> Response {
    page(
        StatusCode::OK,
        &IndexPage {
            issuer: &inner.issuer,
            identities: IDENTITIES.iter().map(IdentityView::from).collect(),
        },
    )
}

/// `GET /authorize`: the page with the identities.
pub(crate) async fn show(State(inner): State<Arc<Inner>>, RawQuery(query): RawQuery) -> Response {
    let params = match Params::parse(query.as_deref().unwrap_or_default()) {
        Ok(p) => p,
        Err(reason) => return refused(&inner, Refusal::Page(reason)),
    };
    let checked = match check(&inner, &params) {
        Ok(c) => c,
        Err(refusal) => return refused(&inner, refusal),
    };
    page(
        StatusCode::OK,
        &AuthorizePage {
            client_id: &checked.client.client_id,
            hidden: &checked.echo,
            released: released(&checked),
            identities: IDENTITIES.iter().map(IdentityView::from).collect(),
        },
    )
}

/// `POST /authorize`: an identity was chosen, or the person cancelled.
pub(crate) async fn decide(State(inner): State<Arc<Inner>>, body: String) -> Response {
    let params = match Params::parse(&body) {
        Ok(p) => p,
        Err(reason) => return refused(&inner, Refusal::Page(reason)),
    };
    let checked = match check(&inner, &params) {
        Ok(c) => c,
        Err(refusal) => return refused(&inner, refusal),
    };
    let to = checked.client.redirect_uri.as_str();
    if params.get("cancel").is_some() {
        return back_to_client(
            &inner,
            to,
            vec![
                ("error", "access_denied"),
                ("error_description", "the person cancelled"),
            ],
            checked.state.as_deref(),
        );
    }
    let Some(identity) = params.get("identity").and_then(crate::identities::find) else {
        return refused(&inner, Refusal::Page("no such test identity"));
    };
    let code = match crate::random_token::<32>() {
        Ok(code) => code,
        Err(error) => {
            tracing::error!(%error, "no code could be made");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    let now = inner.clock.now();
    let grant = Grant {
        client_id: checked.client.client_id.clone(),
        redirect_uri: checked.client.redirect_uri.clone(),
        identity: identity.key,
        scopes: checked.scopes,
        claims: checked.claims,
        nonce: checked.nonce,
        code_challenge: checked.code_challenge,
        issued_at: now,
    };
    if inner.codes.insert(&code, grant, now).is_err() {
        tracing::warn!("too many pending codes; authorization refused");
        return back_to_client(
            &inner,
            to,
            vec![
                ("error", "temporarily_unavailable"),
                (
                    "error_description",
                    "too many pending sign-ins, try again in a minute",
                ),
            ],
            checked.state.as_deref(),
        );
    }
    back_to_client(&inner, to, vec![("code", &code)], checked.state.as_deref())
}

//! The identification counter (issue 3, "in person, once"; SECURITY.md A6, C3, Z2, L1).
//!
//! `GET /back-office/counter` shows a signed-in clerk the form; `POST /back-office/counter`
//! takes the person's one-time identification code and what the clerk verified on the ID
//! document, signs an identity assertion (`rathaus-identity+jws`, with `iat` and `nonce`) with
//! the node's key, posts it to the portal's `POST /api/v1/identity-assertions`, and shows the
//! clerk the portal's answer at once: confirmed, or an unknown, expired or used code. The clerk
//! never learns whose account it is.
//!
//! Who may use it: every signed-in clerk of an authority this node hosts, in the roles `clerk`
//! and `lead` alike, since checking ID documents is everyday counter work; the assertion always
//! names the clerk's own authority, and the portal accepts it only from the node that hosts it.
//!
//! Nothing of the person is kept here: the attributes travel in the signed assertion and are
//! neither stored, logged nor audited at the node (L1). The audit log records that the clerk
//! confirmed an identification and what the portal answered. Typos are caught by the code's
//! check character before anything is sent; codes the portal refuses count against the clerk
//! (5 free within 15 minutes, then rising delays, at most 20 an hour), and the portal limits
//! each node as a whole as well.

mod texts;

use std::sync::{Arc, OnceLock};

use askama::Template;
use axum::Router;
use axum::extract::{FromRequest, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{Datelike, Duration, NaiveDate};
use http::{HeaderMap, StatusCode, header};
use rathaus_auth::{CodeError, IdentificationCode, Throttle, ThrottleRule};
use rathaus_domain::AuditEvent;
use rathaus_seal::protocol::{
    IDENTITY_TYP, IdentityAttributes, IdentityPayload, PROBLEM_CODE_EXPIRED, PROBLEM_CODE_UNKNOWN,
    PROBLEM_CODE_USED,
};
use rathaus_web::{Chrome, PageError, PageProblem};

use crate::NodeState;
use crate::back_office::texts::BoTexts;
use crate::back_office::{
    BoPage, ClerkBar, ClerkUser, audit, forbidden, respond, same_site, store_failure, unavailable,
};
use texts::CounterTexts;

/// Codes the portal refused, per clerk.
pub(crate) const CLERK_RULE: ThrottleRule = ThrottleRule {
    free: 5,
    window: Duration::minutes(15),
    max_delay: Duration::minutes(15),
    per_hour: 20,
};

/// Longest entry of a text field, in characters.
const MAX_TEXT: usize = 200;
/// More fields than the form has are refused (V2).
const MAX_FIELDS: usize = 16;

/// The ID documents offered, as sent (`rathaus_seal::protocol::DOCUMENT_TYPES`).
const DOCUMENTS: [&str; 4] = rathaus_seal::protocol::DOCUMENT_TYPES;

pub(crate) fn routes() -> Router<NodeState> {
    Router::new().route("/back-office/counter", get(form).post(confirm))
}

/// What the clerk entered, shown again after an error (never logged).
#[derive(Debug, Clone, Default)]
struct Entered {
    code: String,
    family_name: String,
    given_names: String,
    birth_date: String,
    street: String,
    house_number: String,
    postcode: String,
    city: String,
    document_type: String,
    checked: bool,
}

/// A message at the top of the page.
#[derive(Debug, Clone)]
struct Notice {
    success: bool,
    text: String,
}

#[derive(Template)]
#[template(path = "authority/counter/counter.html")]
struct CounterPage<'a> {
    chrome: &'a Chrome,
    t: &'static BoTexts,
    c: &'static CounterTexts,
    clerk: ClerkBar,
    entered: Entered,
    /// (field id, message), in the order of the form.
    errors: Vec<(&'static str, &'static str)>,
    notice: Option<Notice>,
    documents: Vec<(&'static str, &'static str)>,
    person: Vec<PersonField>,
}

/// One text input about the person.
#[derive(Debug, Clone)]
struct PersonField {
    id: &'static str,
    label: &'static str,
    value: String,
    date: bool,
    error: Option<&'static str>,
}

impl CounterPage<'_> {
    fn error(&self, id: &str) -> Option<&'static str> {
        self.errors.iter().find(|(f, _)| *f == id).map(|(_, m)| *m)
    }
}

fn document_label(c: &CounterTexts, value: &str) -> &'static str {
    match value {
        "personalausweis" => c.doc_personalausweis,
        "reisepass" => c.doc_reisepass,
        "aufenthaltstitel" => c.doc_aufenthaltstitel,
        _ => c.doc_unionsbuerger_eid,
    }
}

fn show(
    state: &NodeState,
    page: &BoPage,
    user: &ClerkUser,
    status: StatusCode,
    entered: Entered,
    errors: Vec<(&'static str, &'static str)>,
    notice: Option<Notice>,
) -> Response {
    let c = texts::texts(page.chrome.lang);
    let person = [
        ("family_name", c.family_name, &entered.family_name),
        ("given_names", c.given_names, &entered.given_names),
        ("birth_date", c.birth_date, &entered.birth_date),
        ("street", c.street, &entered.street),
        ("house_number", c.house_number, &entered.house_number),
        ("postcode", c.postcode, &entered.postcode),
        ("city", c.city, &entered.city),
    ]
    .into_iter()
    .map(|(id, label, value)| PersonField {
        id,
        label,
        value: value.clone(),
        date: id == "birth_date",
        error: errors.iter().find(|(f, _)| *f == id).map(|(_, m)| *m),
    })
    .collect();
    respond(
        page,
        status,
        &CounterPage {
            chrome: &page.chrome,
            t: page.t,
            c,
            clerk: ClerkBar::new(state, page, user),
            entered,
            errors,
            notice,
            documents: DOCUMENTS
                .iter()
                .map(|d| (*d, document_label(c, d)))
                .collect(),
            person,
        },
        [],
    )
}

/// `GET /back-office/counter`.
pub(crate) async fn form(
    State(state): State<NodeState>,
    page: BoPage,
    user: ClerkUser,
) -> Response {
    show(
        &state,
        &page,
        &user,
        StatusCode::OK,
        Entered::default(),
        Vec::new(),
        None,
    )
}

/// The form as name–value pairs.
struct Fields(Vec<(String, String)>);

impl Fields {
    fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    }
}

async fn read_form(
    request: axum::extract::Request,
    state: &NodeState,
) -> Result<Fields, PageProblem> {
    match axum::Form::<Vec<(String, String)>>::from_request(request, state).await {
        Ok(axum::Form(pairs)) if pairs.len() <= MAX_FIELDS => Ok(Fields(pairs)),
        Ok(_) => Err(PageProblem::BadRequest),
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            Err(PageProblem::TooLarge)
        }
        Err(_) => Err(PageProblem::BadRequest),
    }
}

/// Checks the entries; the code is read into its canonical form.
fn check(
    c: &CounterTexts,
    entered: &Entered,
    today: NaiveDate,
) -> Result<(IdentificationCode, IdentityAttributes), Vec<(&'static str, &'static str)>> {
    let mut errors = Vec::new();
    let code = if entered.code.trim().is_empty() {
        errors.push(("code", c.err_code_missing));
        None
    } else {
        match IdentificationCode::parse(entered.code.trim()) {
            Ok(code) => Some(code),
            Err(CodeError::Check) => {
                errors.push(("code", c.err_code_check));
                None
            }
            Err(CodeError::Length | CodeError::Character) => {
                errors.push(("code", c.err_code_format));
                None
            }
        }
    };
    for (id, value, max) in [
        ("family_name", &entered.family_name, MAX_TEXT),
        ("given_names", &entered.given_names, MAX_TEXT),
        ("birth_date", &entered.birth_date, 10),
        ("street", &entered.street, MAX_TEXT),
        ("house_number", &entered.house_number, 20),
        ("postcode", &entered.postcode, 10),
        ("city", &entered.city, MAX_TEXT),
    ] {
        if value.trim().is_empty() {
            errors.push((id, c.err_required));
        } else if value.chars().count() > max || value.chars().any(char::is_control) {
            errors.push((id, c.err_too_long));
        } else if id == "birth_date" {
            let born = NaiveDate::parse_from_str(value.trim(), "%Y-%m-%d");
            if !born.is_ok_and(|d| d <= today && d.year_ce().1 >= 1900) {
                errors.push((id, c.err_birth_date));
            }
        }
    }
    if !DOCUMENTS.contains(&entered.document_type.as_str()) {
        errors.push(("document_type", c.err_document_type));
    }
    if !entered.checked {
        errors.push(("checked", c.err_not_checked));
    }
    match code {
        Some(code) if errors.is_empty() => Ok((
            code,
            IdentityAttributes {
                family_name: entered.family_name.trim().to_owned(),
                given_names: entered.given_names.trim().to_owned(),
                birth_date: entered.birth_date.trim().to_owned(),
                street: entered.street.trim().to_owned(),
                house_number: entered.house_number.trim().to_owned(),
                postcode: entered.postcode.trim().to_owned(),
                city: entered.city.trim().to_owned(),
                document_type: entered.document_type.clone(),
            },
        )),
        _ => Err(errors),
    }
}

/// What the portal said, or why it could not be asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Verified,
    Unknown,
    Expired,
    Used,
    /// The portal limits this node: retry after this many seconds.
    PortalThrottled(u64),
    /// Refused for another reason (signature, authority, malformed): an operator's matter.
    Refused(u16),
    /// Not reached, or a server error there.
    Unreachable,
    /// No portal address or no keys at this node.
    NotConfigured,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Self::Verified => "verified",
            Self::Unknown => "unknown code",
            Self::Expired => "expired code",
            Self::Used => "used code",
            Self::PortalThrottled(_) => "throttled by the portal",
            Self::Refused(_) => "refused by the portal",
            Self::Unreachable => "portal unreachable",
            Self::NotConfigured => "no portal configured",
        }
    }

    /// Whether the code itself was refused (what counts against the clerk).
    fn is_wrong_code(self) -> bool {
        matches!(self, Self::Unknown | Self::Expired | Self::Used)
    }
}

fn client() -> Option<&'static reqwest::Client> {
    static CLIENT: OnceLock<Option<reqwest::Client>> = OnceLock::new();
    CLIENT
        .get_or_init(|| crate::status::http_client().ok())
        .as_ref()
}

/// Signs the assertion and asks the portal.
async fn ask_portal(state: &NodeState, payload: &IdentityPayload) -> Outcome {
    let (Some(portal), Some(keys)) = (state.portal_url.as_deref(), state.delivery.as_ref()) else {
        return Outcome::NotConfigured;
    };
    let Some(client) = client() else {
        return Outcome::Unreachable;
    };
    let Ok(value) = serde_json::to_value(payload) else {
        return Outcome::Refused(0);
    };
    let own = Arc::clone(&keys.own);
    let now = keys.clock.now();
    let signed =
        tokio::task::spawn_blocking(move || rathaus_seal::sign(&value, IDENTITY_TYP, &own, now))
            .await;
    let body = match signed {
        Ok(Ok(body)) => body,
        Ok(Err(error)) => {
            tracing::error!(%error, "the identity assertion could not be signed");
            return Outcome::NotConfigured;
        }
        Err(error) => {
            tracing::error!(%error, "the identity assertion could not be signed");
            return Outcome::Unreachable;
        }
    };
    let response = match client
        .post(format!("{portal}/api/v1/identity-assertions"))
        .header(header::CONTENT_TYPE, "application/jose")
        .body(body)
        .send()
        .await
    {
        Ok(response) => response,
        Err(error) => {
            tracing::warn!(error = %error.without_url(), "the portal cannot be reached");
            return Outcome::Unreachable;
        }
    };
    let status = response.status();
    if status.is_success() {
        return Outcome::Verified;
    }
    if status.is_server_error() {
        tracing::warn!(
            status = status.as_u16(),
            "the portal failed on an identity assertion"
        );
        return Outcome::Unreachable;
    }
    if status == StatusCode::TOO_MANY_REQUESTS {
        let retry = response
            .headers()
            .get(header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())
            .unwrap_or(60);
        return Outcome::PortalThrottled(retry);
    }
    let problem_type = response
        .json::<serde_json::Value>()
        .await
        .ok()
        .and_then(|v| v.get("type")?.as_str().map(str::to_owned))
        .unwrap_or_default();
    let slug = problem_type.rsplit('#').next().unwrap_or_default();
    match slug {
        s if s == PROBLEM_CODE_UNKNOWN => Outcome::Unknown,
        s if s == PROBLEM_CODE_EXPIRED => Outcome::Expired,
        s if s == PROBLEM_CODE_USED => Outcome::Used,
        _ => {
            tracing::error!(
                status = status.as_u16(),
                problem = %rathaus_domain::log_safe(slug, 64),
                "the portal refused an identity assertion; are this node's keys pinned there?"
            );
            Outcome::Refused(status.as_u16())
        }
    }
}

fn wait_text(c: &CounterTexts, template: &str, secs: u64) -> String {
    let wait = if secs < 120 {
        c.wait_seconds.replace("{n}", &secs.to_string())
    } else {
        c.wait_minutes
            .replace("{n}", &secs.div_ceil(60).to_string())
    };
    template.replace("{wait}", &wait)
}

fn throttle_key(user: &ClerkUser) -> String {
    format!("counter-clerk:{}", user.clerk.id)
}

/// `POST /back-office/counter`: the clerk confirms an identification.
pub(crate) async fn confirm(
    State(state): State<NodeState>,
    page: BoPage,
    user: ClerkUser,
    headers: HeaderMap,
    request: axum::extract::Request,
) -> Response {
    let Some(office) = state.back_office.clone() else {
        return unavailable(&page);
    };
    let fields = match read_form(request, &state).await {
        Ok(fields) => fields,
        Err(problem) => return PageError::new(problem, page.chrome.clone()).into_response(),
    };
    if !same_site(&headers) || !user.csrf_ok(fields.get("csrf")) {
        return forbidden(&page);
    }
    let c = texts::texts(page.chrome.lang);
    let entered = Entered {
        code: fields.get("code").to_owned(),
        family_name: fields.get("family_name").to_owned(),
        given_names: fields.get("given_names").to_owned(),
        birth_date: fields.get("birth_date").to_owned(),
        street: fields.get("street").to_owned(),
        house_number: fields.get("house_number").to_owned(),
        postcode: fields.get("postcode").to_owned(),
        city: fields.get("city").to_owned(),
        document_type: fields.get("document_type").to_owned(),
        checked: fields.get("checked") == "yes",
    };
    let now = office.clock.now();
    let (code, attributes) = match check(c, &entered, now.date_naive()) {
        Ok(checked) => checked,
        Err(errors) => {
            return show(
                &state,
                &page,
                &user,
                StatusCode::BAD_REQUEST,
                entered,
                errors,
                None,
            );
        }
    };
    let key = throttle_key(&user);
    let failures = match state
        .store
        .sign_in_failures(&key, now - CLERK_RULE.horizon())
        .await
    {
        Ok(failures) => failures,
        Err(e) => return store_failure(&page, &e),
    };
    if let Throttle::Wait(wait) = CLERK_RULE.check(&failures, now) {
        let secs = Throttle::Wait(wait).retry_after_secs().unwrap_or(1);
        tracing::warn!(clerk = %user.clerk.id, "identification tries throttled");
        let mut response = show(
            &state,
            &page,
            &user,
            StatusCode::TOO_MANY_REQUESTS,
            entered,
            Vec::new(),
            Some(Notice {
                success: false,
                text: wait_text(c, c.throttled, secs),
            }),
        );
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, http::HeaderValue::from(secs));
        return response;
    }
    let payload = IdentityPayload {
        code: code.expose(),
        node: state.node.id.to_string(),
        authority: user.clerk.authority.clone(),
        clerk: user.clerk.id.to_string(),
        attributes,
    };
    let outcome = ask_portal(&state, &payload).await;
    if outcome.is_wrong_code()
        && let Err(e) = state
            .store
            .record_sign_in_failure(std::slice::from_ref(&key), now)
            .await
    {
        return store_failure(&page, &e);
    }
    if outcome != Outcome::NotConfigured {
        audit(
            &state,
            &office,
            AuditEvent::IdentityChecked,
            &format!(
                "clerk {} at authority {}: {}",
                user.clerk.id,
                user.clerk.authority,
                outcome.as_str()
            ),
        )
        .await;
    }
    outcome_page(&state, &page, &user, c, outcome, entered)
}

fn outcome_page(
    state: &NodeState,
    page: &BoPage,
    user: &ClerkUser,
    c: &CounterTexts,
    outcome: Outcome,
    entered: Entered,
) -> Response {
    let (status, text) = match outcome {
        Outcome::Verified => {
            // A fresh form for the next person; nothing of this one stays on the page.
            return show(
                state,
                page,
                user,
                StatusCode::OK,
                Entered::default(),
                Vec::new(),
                Some(Notice {
                    success: true,
                    text: c.verified.to_owned(),
                }),
            );
        }
        Outcome::Unknown => (StatusCode::UNPROCESSABLE_ENTITY, c.unknown.to_owned()),
        Outcome::Expired => (StatusCode::UNPROCESSABLE_ENTITY, c.expired.to_owned()),
        Outcome::Used => (StatusCode::UNPROCESSABLE_ENTITY, c.used.to_owned()),
        Outcome::PortalThrottled(secs) => (
            StatusCode::TOO_MANY_REQUESTS,
            wait_text(c, c.portal_throttled, secs),
        ),
        Outcome::Refused(_) => (StatusCode::BAD_GATEWAY, c.refused.to_owned()),
        Outcome::Unreachable => (StatusCode::BAD_GATEWAY, c.unreachable.to_owned()),
        Outcome::NotConfigured => (StatusCode::SERVICE_UNAVAILABLE, c.not_configured.to_owned()),
    };
    show(
        state,
        page,
        user,
        status,
        entered,
        Vec::new(),
        Some(Notice {
            success: false,
            text,
        }),
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn filled(code: &str) -> Entered {
        Entered {
            code: code.to_owned(),
            family_name: "Mustermann".into(),
            given_names: "Erika".into(),
            birth_date: "1964-08-12".into(),
            street: "Heidestraße".into(),
            house_number: "17".into(),
            postcode: "51147".into(),
            city: "Köln".into(),
            document_type: "personalausweis".into(),
            checked: true,
        }
    }

    #[test]
    fn a6_the_form_is_checked_before_anything_is_sent() {
        let today = NaiveDate::from_ymd_opt(2026, 6, 1).unwrap();
        let code = IdentificationCode::generate().unwrap().expose();
        let (parsed, attributes) = check(&texts::DE, &filled(&code.to_lowercase()), today).unwrap();
        assert_eq!(parsed.expose(), code);
        assert_eq!(attributes.city, "Köln");
        // A typo in the code is caught by its check character.
        let mut typo = code.clone().into_bytes();
        typo[0] = if typo[0] == b'A' { b'B' } else { b'A' };
        let errors = check(
            &texts::DE,
            &filled(&String::from_utf8(typo).unwrap()),
            today,
        )
        .unwrap_err();
        assert_eq!(errors, vec![("code", texts::DE.err_code_check)]);
        // Missing entries, a date in the future, an unknown document, no confirmation.
        let mut bad = filled(&code);
        bad.family_name = " ".into();
        bad.birth_date = "2030-01-01".into();
        bad.document_type = "library-card".into();
        bad.checked = false;
        bad.city = "Köln\r\nX".into();
        let ids: Vec<&str> = check(&texts::DE, &bad, today)
            .unwrap_err()
            .iter()
            .map(|(id, _)| *id)
            .collect();
        assert_eq!(
            ids,
            [
                "family_name",
                "birth_date",
                "city",
                "document_type",
                "checked"
            ]
        );
    }
}

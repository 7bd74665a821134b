//! "Meine Daten": everything the portal holds about the signed-in citizen, as a page and as a
//! JSON download, and the changes a citizen makes to it (GDPR art. 15, 16, 17, 20; SECURITY.md
//! Z1, S2, S4, L1).
//!
//! [`collect`] gathers every section named in [`rathaus_store::own_data::ACCOUNT_TABLES`] for
//! the account of the session only (Z1: every query is by the session's account, nothing here
//! takes an id from the request). Sealed data is opened for its owner; what does not open is
//! listed as such rather than left out. [`change`] changes the password and deletes the account.

mod change;
mod email;
mod texts;

use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use http::{HeaderValue, StatusCode, header};
use rathaus_domain::{AccountId, AuditEvent, VerifiedAttributes};
use rathaus_store::{AttributeScope, StoreError};
use rathaus_web::Chrome;
use serde_json::{Value, json};

use super::session::page_store_error;
use super::{AuthUser, audit};
use crate::applications::vault;
use crate::routes::Routes;
use crate::state::{Page, PortalState};
pub(crate) use texts::{OwnDataTexts, texts};

/// How many audit entries the page and the export show (the newest).
const AUDIT_ENTRIES: u32 = 500;

/// The routes of this module, each with who may use it.
pub(crate) fn routes(routes: Routes) -> Routes {
    routes
        .signed_in("/account/data", axum::routing::get(page))
        .signed_in("/account/data.json", axum::routing::get(download))
        .signed_in(
            "/account/password",
            axum::routing::get(change::password_form).post(change::change_password),
        )
        .signed_in(
            "/account/delete",
            axum::routing::get(change::delete_form).post(change::delete_account),
        )
        .public("/account/deleted", axum::routing::get(change::deleted))
        .signed_in(
            "/account/email",
            axum::routing::get(email::form).post(email::request),
        )
        .public(
            "/account/email/confirm",
            axum::routing::get(email::confirm_form).post(email::confirm),
        )
}

fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Sealed blobs are bound to these owners; they must match the ones that sealed them
/// (`applications::draft_owner`, `applications::prefill`, `mailbox::message_owner`), which the
/// export test checks by finding the sealed values in plain form.
fn draft_owner(account: &AccountId, service_key: &str) -> String {
    format!("draft:{account}:{service_key}")
}

fn attributes_owner(account: &AccountId) -> String {
    format!("verified-attributes:{account}")
}

/// Every section of the citizen's data, as JSON (the download) from which the page is built.
async fn collect(state: &PortalState, user: &AuthUser) -> Result<Value, StoreError> {
    let store = &state.store;
    let now = state.clock.now();
    let account = &user.account;
    let id = &account.id;
    let sealer = vault(state);

    let idle_since = now - state.accounts.settings.session_idle;
    let sessions: Vec<Value> = store
        .sessions_of(*id, idle_since, now)
        .await?
        .into_iter()
        .map(|s| {
            json!({
                "id": s.id.to_string(),
                "level": s.level.as_str(),
                "created_at": rfc3339(s.created_at),
                "last_seen_at": rfc3339(s.last_seen_at),
                "expires_at": rfc3339(s.expires_at.min(s.last_seen_at + state.accounts.settings.session_idle)),
                "current": s.id == user.session.id,
            })
        })
        .collect();

    let organisations: Vec<Value> = store
        .organisations_of(id)
        .await?
        .into_iter()
        .map(|m| {
            json!({
                "organisation_id": m.organisation.id.to_string(),
                "name": m.organisation.name.as_str(),
                "role": m.role.as_str(),
                "joined_at": rfc3339(m.joined_at),
            })
        })
        .collect();

    let email_links: Vec<Value> = store
        .email_links_of(id, now)
        .await?
        .into_iter()
        .map(|l| {
            json!({
                "purpose": l.purpose,
                "new_email": l.new_email,
                "created_at": rfc3339(l.created_at),
                "expires_at": rfc3339(l.expires_at),
            })
        })
        .collect();

    let second_factor = store.second_factor_of(id).await?.map(|f| {
        json!({
            "kind": "totp",
            "created_at": rfc3339(f.created_at),
            "confirmed_at": f.confirmed_at.map(rfc3339),
            "recovery_codes_left": f.recovery_codes_left,
        })
    });

    // By name and dates: the public key and the credential id are nothing a person can read.
    let passkeys: Vec<Value> = store
        .passkeys_of(id)
        .await?
        .into_iter()
        .map(|p| {
            json!({
                "name": p.name.as_str(),
                "created_at": rfc3339(p.created_at),
                "last_used_at": p.last_used_at.map(rfc3339),
            })
        })
        .collect();

    let verified_attributes: Vec<Value> = store
        .verified_attributes(id, user.session.id)
        .await?
        .into_iter()
        .map(|record| {
            let opened = sealer
                .open(&record.sealed, &attributes_owner(id))
                .ok()
                .and_then(|plain| serde_json::from_slice::<VerifiedAttributes>(&plain).ok());
            json!({
                "kept": match record.scope {
                    AttributeScope::Remembered => "remembered",
                    AttributeScope::Session(_) => "session",
                },
                "source": record.source.as_str(),
                "verified_at": rfc3339(record.verified_at),
                "stored_at": rfc3339(record.created_at),
                "attributes": opened.map(|a| serde_json::to_value(a).unwrap_or(Value::Null)),
            })
        })
        .collect();

    let mut drafts = Vec::new();
    for summary in store.drafts(id, now).await? {
        let record = store.draft(id, &summary.service_key, now).await?;
        let content = record.as_ref().and_then(|r| {
            sealer
                .open(&r.sealed, &draft_owner(id, &r.service_key))
                .ok()
                .and_then(|plain| serde_json::from_slice::<Value>(&plain).ok())
        });
        drafts.push(json!({
            "service_key": summary.service_key,
            "created_at": record.as_ref().map(|r| rfc3339(r.created_at)),
            "updated_at": rfc3339(summary.updated_at),
            "expires_at": rfc3339(summary.expires_at),
            "answers": content.as_ref().and_then(|c| c.get("answers")).cloned(),
        }));
    }

    let applications: Vec<Value> = store
        .applications(id)
        .await?
        .into_iter()
        .map(|a| {
            json!({
                "reference": a.reference,
                "service_key": a.service_key,
                "status": a.status.as_str(),
                "submitted_at": rfc3339(a.submitted_at),
                "updated_at": rfc3339(a.updated_at),
            })
        })
        .collect();

    let messages: Vec<Value> = store
        .mailbox_messages(id, now)
        .await?
        .into_iter()
        .map(|m| {
            let opened = sealer
                .open(&m.sealed, &crate::mailbox::message_owner(id, m.id))
                .ok()
                .and_then(|plain| serde_json::from_slice::<Value>(&plain).ok());
            json!({
                "id": m.id.to_string(),
                "reference": m.reference,
                "authority": m.authority,
                "direction": m.direction.as_str(),
                "decision": m.decision,
                "received_at": rfc3339(m.received_at),
                "read_at": m.read_at.map(rfc3339),
                "expires_at": rfc3339(m.expires_at),
                "content": opened,
            })
        })
        .collect();

    let identification_code = store.identification_code(id, now).await?.map(|c| {
        json!({
            "created_at": rfc3339(c.created_at),
            "expires_at": rfc3339(c.expires_at),
        })
    });

    let audit: Vec<Value> = store
        .audit_entries_of(id, AUDIT_ENTRIES)
        .await?
        .into_iter()
        .map(|e| {
            json!({
                "at": rfc3339(e.at),
                "event": e.event.as_str(),
                "detail": e.detail,
            })
        })
        .collect();

    Ok(json!({
        "format": "rathaus-own-data/1",
        "exported_at": rfc3339(now),
        "account": {
            "id": id.to_string(),
            "email": account.email.as_str(),
            "level": account.level.as_str(),
            "created_at": rfc3339(account.created_at),
            "email_confirmed_at": account.email_confirmed_at.map(rfc3339),
        },
        "sessions": sessions,
        "email_links": email_links,
        "second_factor": second_factor,
        "passkeys": passkeys,
        "verified_attributes": verified_attributes,
        "drafts": drafts,
        "applications": applications,
        "messages": messages,
        "identification_code": identification_code,
        "organisations": organisations,
        "audit": audit,
    }))
}

/// `GET /account/data.json`: the whole export as an attachment, never cached.
pub async fn download(State(state): State<PortalState>, page: Page, user: AuthUser) -> Response {
    let data = match collect(&state, &user).await {
        Ok(data) => data,
        Err(e) => return page_store_error(&page, &e),
    };
    let body = match serde_json::to_vec_pretty(&data) {
        Ok(body) => body,
        Err(e) => return rathaus_web::PageError::internal(page.chrome.clone(), e).into_response(),
    };
    let sections: Vec<&str> = data
        .as_object()
        .map(|o| o.keys().map(String::as_str).collect())
        .unwrap_or_default();
    audit::record(
        &state,
        AuditEvent::DataExported,
        Some(user.account.id),
        &format!("sections: {}", sections.join(",")),
    )
    .await;
    let filename = format!(
        "attachment; filename=\"rathaus-meine-daten-{}.json\"",
        state.clock.now().format("%Y-%m-%d")
    );
    let mut response = (StatusCode::OK, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if let Ok(value) = HeaderValue::from_str(&filename) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

/// One section of the page: a heading and a table (or "none").
#[derive(Debug)]
struct Section {
    title: &'static str,
    hint: Option<&'static str>,
    columns: Vec<&'static str>,
    rows: Vec<Vec<String>>,
}

#[derive(Template)]
#[template(path = "portal/account/data.html")]
struct DataPage<'a> {
    chrome: &'a Chrome,
    d: &'static OwnDataTexts,
    sections: Vec<Section>,
}

fn text(value: &Value, key: &str) -> String {
    match value.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

/// A moment of the export, as the page's language writes it.
fn time(value: &Value, key: &str, lang: rathaus_domain::Lang) -> String {
    value
        .get(key)
        .and_then(Value::as_str)
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| crate::texts::date_time(t.with_timezone(&Utc), lang))
        .unwrap_or_default()
}

fn list<'v>(data: &'v Value, key: &str) -> &'v [Value] {
    data.get(key)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// Flattens a JSON object into (path, value) rows for the page, e.g. `address.postcode`.
fn flatten(prefix: &str, value: &Value, rows: &mut Vec<(String, String)>) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                let path = if prefix.is_empty() {
                    key.clone()
                } else {
                    format!("{prefix}.{key}")
                };
                flatten(&path, inner, rows);
            }
        }
        Value::Array(items) => {
            for (i, inner) in items.iter().enumerate() {
                flatten(&format!("{prefix}[{i}]"), inner, rows);
            }
        }
        Value::Null => {}
        Value::String(s) => rows.push((prefix.to_owned(), s.clone())),
        other => rows.push((prefix.to_owned(), other.to_string())),
    }
}

fn sections(data: &Value, d: &'static OwnDataTexts, page: &Page) -> Vec<Section> {
    let lang = page.chrome.lang;
    let form = page.t.form;
    let account = &data["account"];
    let yes_no = |b: bool| if b { d.yes } else { d.no }.to_owned();
    let level = account
        .get("level")
        .and_then(Value::as_str)
        .and_then(|l| l.parse::<rathaus_domain::AssuranceLevel>().ok())
        .map(|l| l.label(lang).to_owned())
        .unwrap_or_default();
    let mut out = vec![Section {
        title: d.account,
        hint: None,
        columns: vec![d.email, d.level, d.created, d.confirmed],
        rows: vec![vec![
            text(account, "email"),
            level,
            time(account, "created_at", lang),
            time(account, "email_confirmed_at", lang),
        ]],
    }];
    out.push(Section {
        title: d.sessions,
        hint: None,
        columns: vec![d.created, d.last_seen, d.ends],
        rows: list(data, "sessions")
            .iter()
            .map(|s| {
                vec![
                    time(s, "created_at", lang),
                    time(s, "last_seen_at", lang),
                    time(s, "expires_at", lang),
                ]
            })
            .collect(),
    });
    out.push(Section {
        title: d.email_links,
        hint: None,
        columns: vec![d.purpose, d.created, d.valid_until],
        rows: list(data, "email_links")
            .iter()
            .map(|l| {
                let purpose = match l["new_email"].as_str() {
                    Some(address) => format!("{} → {address}", text(l, "purpose")),
                    None => text(l, "purpose"),
                };
                vec![
                    purpose,
                    time(l, "created_at", lang),
                    time(l, "expires_at", lang),
                ]
            })
            .collect(),
    });
    out.push(Section {
        title: d.second_factor,
        hint: None,
        columns: vec![d.created, d.confirmed, d.recovery_left],
        rows: data
            .get("second_factor")
            .filter(|f| !f.is_null())
            .map(|f| {
                vec![vec![
                    time(f, "created_at", lang),
                    time(f, "confirmed_at", lang),
                    text(f, "recovery_codes_left"),
                ]]
            })
            .unwrap_or_default(),
    });
    out.push(Section {
        title: d.passkeys,
        hint: None,
        columns: vec![d.name, d.created, d.last_used],
        rows: list(data, "passkeys")
            .iter()
            .map(|p| {
                vec![
                    text(p, "name"),
                    time(p, "created_at", lang),
                    time(p, "last_used_at", lang),
                ]
            })
            .collect(),
    });
    let mut attributes = Vec::new();
    for set in list(data, "verified_attributes") {
        let kept = if set.get("kept").and_then(Value::as_str) == Some("remembered") {
            d.kept_remembered
        } else {
            d.kept_session
        };
        let mut rows = Vec::new();
        flatten("", &set["attributes"], &mut rows);
        for (name, value) in rows {
            attributes.push(vec![name, value, kept.to_owned()]);
        }
    }
    out.push(Section {
        title: d.verified_attributes,
        hint: None,
        columns: vec![d.attribute, d.value, d.kept],
        rows: attributes,
    });
    out.push(Section {
        title: d.drafts,
        hint: None,
        columns: vec![d.service, d.created, d.updated, d.deleted_on],
        rows: list(data, "drafts")
            .iter()
            .map(|x| {
                vec![
                    text(x, "service_key"),
                    time(x, "created_at", lang),
                    time(x, "updated_at", lang),
                    time(x, "expires_at", lang),
                ]
            })
            .collect(),
    });
    out.push(Section {
        title: d.applications,
        hint: None,
        columns: vec![d.reference, d.service, d.status, d.submitted, d.updated],
        rows: list(data, "applications")
            .iter()
            .map(|x| {
                let status = x
                    .get("status")
                    .and_then(Value::as_str)
                    .and_then(rathaus_store::ApplicationStatus::parse)
                    .map_or_else(|| text(x, "status"), |s| form.status(s).to_owned());
                vec![
                    text(x, "reference"),
                    text(x, "service_key"),
                    status,
                    time(x, "submitted_at", lang),
                    time(x, "updated_at", lang),
                ]
            })
            .collect(),
    });
    out.push(Section {
        title: d.messages,
        hint: None,
        columns: vec![d.received, d.reference, d.authority, d.subject, d.read],
        rows: list(data, "messages")
            .iter()
            .map(|m| {
                vec![
                    time(m, "received_at", lang),
                    text(m, "reference"),
                    text(m, "authority"),
                    m.get("content")
                        .map_or_else(String::new, |c| text(c, "subject")),
                    yes_no(m.get("read_at").is_some_and(|r| !r.is_null())),
                ]
            })
            .collect(),
    });
    out.push(Section {
        title: d.identification_code,
        hint: None,
        columns: vec![d.created, d.valid_until],
        rows: data
            .get("identification_code")
            .filter(|c| !c.is_null())
            .map(|c| {
                vec![vec![
                    time(c, "created_at", lang),
                    time(c, "expires_at", lang),
                ]]
            })
            .unwrap_or_default(),
    });
    let o = crate::organisations::texts(page.chrome.lang);
    out.push(Section {
        title: o.title,
        hint: None,
        columns: vec![o.col_name, o.col_role, o.col_since],
        rows: list(data, "organisations")
            .iter()
            .map(|m| {
                let role = m["role"]
                    .as_str()
                    .and_then(|r| r.parse().ok())
                    .map_or_else(|| text(m, "role"), |r| o.role(r).to_owned());
                vec![text(m, "name"), role, time(m, "joined_at", lang)]
            })
            .collect(),
    });
    out.push(Section {
        title: d.audit,
        hint: Some(d.audit_hint),
        columns: vec![d.when, d.event, d.detail],
        rows: list(data, "audit")
            .iter()
            .map(|e| vec![time(e, "at", lang), text(e, "event"), text(e, "detail")])
            .collect(),
    });
    out
}

/// `GET /account/data`: the page.
pub async fn page(State(state): State<PortalState>, page: Page, user: AuthUser) -> Response {
    let data = match collect(&state, &user).await {
        Ok(data) => data,
        Err(e) => return page_store_error(&page, &e),
    };
    let d = texts(page.chrome.lang);
    super::forms::respond(
        &state,
        &page,
        StatusCode::OK,
        &DataPage {
            chrome: &page.chrome,
            d,
            sections: sections(&data, d, &page),
        },
        [],
    )
}

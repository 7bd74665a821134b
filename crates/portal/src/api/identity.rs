//! `POST /api/v1/identity-assertions`: identity checks at an authority's counter (issue 3;
//! SECURITY.md A6, A8, C3, Z2, L1).
//!
//! The body is a compact JWS of type `rathaus-identity+jws`, signed by the node whose clerk
//! checked the ID card; its payload is `{code, node, authority, clerk, attributes}` plus `iat`
//! and `nonce`. Like a status message it is authenticated by its signature: the node must have
//! pinned keys here, the signature must verify, the message must be fresh, the authority must
//! be one the tenant file hosts on that node, and the nonce must be new. Failed redemptions are
//! counted per node; too many within the hour answer 429 before any code is looked at.
//!
//! The answer tells the clerk at once what happened, and never whose account it was: 200
//! `{"outcome":"verified"}`, or a problem document whose `type` ends in
//! `identification-code-unknown` (404), `identification-code-expired` (410) or
//! `identification-code-used` (409). Every refusal changes nothing. The verified attributes go
//! to [`hand_over_verified_attributes`] only; neither the log nor the audit log sees them (L1).

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use chrono::Duration;
use http::StatusCode;
use rathaus_auth::{IdentificationCode, Throttle, ThrottleRule};
use rathaus_domain::AuditEvent;
use rathaus_seal::protocol::{
    DOCUMENT_TYPES, IDENTITY_TYP, IdentityOutcome, IdentityPayload, PROBLEM_CODE_EXPIRED,
    PROBLEM_CODE_UNKNOWN, PROBLEM_CODE_USED,
};
use rathaus_store::Redemption;
use rathaus_web::ApiError;

use super::node_message::{self, refuse, store_error};
use crate::accounts::audit;
use crate::accounts::in_person::{code_digest, hand_over_verified_attributes};
use crate::state::PortalState;

/// Failed redemptions per node: a counter serves many people and clerks mistype codes now and
/// then (the check character catches most typos before they are sent), so 20 failures within
/// 15 minutes are free, then delays rise; at most 60 an hour. With 75 random bits per code,
/// that leaves a guesser no chance at all.
pub(crate) const NODE_RULE: ThrottleRule = ThrottleRule {
    free: 20,
    window: Duration::minutes(15),
    max_delay: Duration::minutes(15),
    per_hour: 60,
};

/// Longest value of any attribute, in characters.
const MAX_ATTRIBUTE: usize = 200;

fn throttle_key(node: &str) -> String {
    format!("identity-node:{node}")
}

/// Whether the attributes are complete, one line each, and the document type is known. Their
/// values are not echoed in the answer.
fn attributes_problem(payload: &IdentityPayload) -> Option<&'static str> {
    let a = &payload.attributes;
    let all = [
        &a.family_name,
        &a.given_names,
        &a.birth_date,
        &a.street,
        &a.house_number,
        &a.postcode,
        &a.city,
    ];
    if all.iter().any(|v| v.trim().is_empty()) {
        return Some("every attribute must be given");
    }
    if all
        .iter()
        .any(|v| v.chars().count() > MAX_ATTRIBUTE || v.chars().any(char::is_control))
    {
        return Some("an attribute is too long or contains control characters");
    }
    if chrono::NaiveDate::parse_from_str(&a.birth_date, "%Y-%m-%d").is_err() {
        return Some("`birth_date` must be a date YYYY-MM-DD");
    }
    if !DOCUMENT_TYPES.contains(&a.document_type.as_str()) {
        return Some("`document_type` is not a known ID document");
    }
    None
}

pub(crate) async fn receive(State(state): State<PortalState>, body: Bytes) -> Response {
    let now = state.clock.now();
    let verified =
        match node_message::verify::<IdentityPayload>(&state, &body, IDENTITY_TYP, now).await {
            Ok(verified) => verified,
            Err(refusal) => return refusal,
        };
    let message = &verified.message;
    let node = message.node.clone();
    // Z2: a node speaks only for the authorities the tenant file puts on it.
    let hosted = state
        .tenant
        .authorities
        .iter()
        .any(|a| a.id.as_str() == message.authority && a.node.as_str() == node);
    if !hosted {
        return refuse(
            StatusCode::FORBIDDEN,
            "forbidden",
            "The node may not speak for this authority",
            "the authority is not hosted by the signing node",
        );
    }
    if message.clerk.parse::<uuid::Uuid>().is_err() {
        return ApiError::bad_request("`clerk` must be the clerk's id (a UUID)").into_response();
    }
    if let Some(problem) = attributes_problem(message) {
        return ApiError::bad_request(problem).into_response();
    }
    let Ok(code) = IdentificationCode::parse(&message.code) else {
        return ApiError::bad_request("`code` is not an identification code").into_response();
    };
    let key = throttle_key(&node);
    let failures = match state
        .store
        .sign_in_failures(&key, now - NODE_RULE.horizon())
        .await
    {
        Ok(failures) => failures,
        Err(e) => return store_error(&e),
    };
    if let Throttle::Wait(wait) = NODE_RULE.check(&failures, now) {
        let retry_after_secs = Throttle::Wait(wait).retry_after_secs().unwrap_or(1);
        tracing::warn!(%node, retry_after_secs, "identity assertions throttled");
        return ApiError::TooManyRequests { retry_after_secs }.into_response();
    }
    if let Err(refusal) = verified.accept_once(&state, now).await {
        return refusal;
    }
    let redemption = match state
        .store
        .redeem_identification_code(&code_digest(&state, &code), now)
        .await
    {
        Ok(redemption) => redemption,
        Err(e) => return store_error(&e),
    };
    let where_ = format!(
        "at authority {} (node {node}, clerk {})",
        message.authority, message.clerk
    );
    let refused =
        |slug: &'static str, status: StatusCode, title: &'static str, why: &'static str| {
            let state = state.clone();
            let key = key.clone();
            let where_ = where_.clone();
            async move {
                if let Err(e) = state.store.record_sign_in_failure(&[key], now).await {
                    return store_error(&e);
                }
                audit::record(
                    &state,
                    AuditEvent::IdentityChecked,
                    None,
                    &format!("refused ({why}) {where_}"),
                )
                .await;
                refuse(status, slug, title, why)
            }
        };
    match redemption {
        Redemption::Unknown => {
            refused(
                PROBLEM_CODE_UNKNOWN,
                StatusCode::NOT_FOUND,
                "Unknown identification code",
                "no account has this code; the person can show a new one in their account",
            )
            .await
        }
        Redemption::Expired => {
            refused(
                PROBLEM_CODE_EXPIRED,
                StatusCode::GONE,
                "The identification code has expired",
                "the code is older than 14 days; the person can show a new one in their account",
            )
            .await
        }
        Redemption::Used => {
            refused(
                PROBLEM_CODE_USED,
                StatusCode::CONFLICT,
                "The identification code has been used",
                "the code has been used already; it works only once",
            )
            .await
        }
        Redemption::Redeemed {
            account,
            before,
            after,
            sessions_ended,
            remember_attributes,
        } => {
            let detail = if before == after {
                format!("identity checked in person {where_}; level stays {after}")
            } else {
                format!("{before} -> {after} in person {where_}; {sessions_ended} session(s) ended")
            };
            let event = if before == after {
                AuditEvent::IdentityChecked
            } else {
                AuditEvent::LevelChanged
            };
            audit::record(&state, event, Some(account), &detail).await;
            hand_over_verified_attributes(
                &state,
                account,
                message.attributes.clone(),
                now,
                remember_attributes,
            )
            .await;
            (
                StatusCode::OK,
                Json(IdentityOutcome {
                    outcome: "verified".to_owned(),
                }),
            )
                .into_response()
        }
    }
}

//! The signed-in account as JSON. Without a live session: 401 problem+json.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use rathaus_domain::AssuranceLevel;
use serde::Serialize;

use crate::accounts::AuthUser;
use crate::state::PortalState;

#[derive(Debug, Serialize)]
pub struct AccountView {
    pub email: String,
    pub email_confirmed: bool,
    pub level: AssuranceLevel,
    pub session: SessionView,
}

#[derive(Debug, Serialize)]
pub struct SessionView {
    pub level: AssuranceLevel,
    pub created_at: DateTime<Utc>,
    /// When the session ends without further activity.
    pub idle_until: DateTime<Utc>,
    /// When the session ends whatever the activity.
    pub expires_at: DateTime<Utc>,
}

pub async fn me(State(state): State<PortalState>, user: AuthUser) -> Json<AccountView> {
    let idle_until = (user.session.last_seen_at + state.accounts.settings.session_idle)
        .min(user.session.expires_at);
    Json(AccountView {
        email: user.account.email.to_string(),
        email_confirmed: user.account.email_confirmed_at.is_some(),
        level: user.account.level,
        session: SessionView {
            level: user.session.level,
            created_at: user.session.created_at,
            idle_until,
            expires_at: user.session.expires_at,
        },
    })
}

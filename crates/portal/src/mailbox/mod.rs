//! The citizen's mailbox (Postfach, issue 5): messages from the authorities about the
//! citizen's applications (notices, questions, decisions with their PDF) and the citizen's
//! replies.
//!
//! - [`receive`]: `POST /api/v1/messages`, where authority nodes deliver messages, signed by
//!   the node and with their content sealed to the portal's key (C3). The portal opens the
//!   content, seals it at rest for the owner ([`crate::applications::vault`]), and mails the
//!   citizen that a message is waiting, without any of its content.
//! - [`pages`]: `/account/mailbox` (messages by application, unread marked),
//!   `/account/mailbox/{id}` (a message; opening it marks it read), its files, and the reply,
//!   which leaves through the delivery outbox encrypted to the authority like an application.
//!
//! Deny by default: every message and file is looked up by (account, id), so another account's
//! id answers 404 exactly like an unknown one (Z1). Messages are deleted after
//! their service's `[retention] message_days` (or `portal.message_retention_days`) by the
//! portal's housekeeping (R1; [`crate::retention`]).

pub(crate) mod pages;
pub(crate) mod receive;
mod texts;

use axum::routing::{get, post};
use rathaus_domain::AccountId;
use serde::{Deserialize, Serialize};

use crate::routes::Routes;
use crate::state::PortalState;

/// Files per reply.
pub(crate) const MAX_FILES: usize = 5;
/// Bytes per file of a reply or a message.
pub(crate) const MAX_FILE_BYTES: u64 = 10 * 1024 * 1024;
/// Bytes of all files of a reply together.
pub(crate) const MAX_TOTAL_BYTES: u64 = 20 * 1024 * 1024;
pub(crate) const MAX_SUBJECT: usize = 200;
pub(crate) const MAX_TEXT: usize = 20_000;

pub(crate) fn routes(routes: Routes) -> Routes {
    routes
        .public("/api/v1/messages", post(receive::receive))
        .signed_in("/account/mailbox", get(pages::list))
        .signed_in("/account/mailbox/{id}", get(pages::show))
        .signed_in("/account/mailbox/{id}/files/{file}", get(pages::file))
        .signed_in("/account/mailbox/{id}/reply", post(pages::reply))
}

/// What is sealed at rest for a message: everything the citizen reads but the files' content.
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct Stored {
    pub subject: String,
    pub text: String,
    pub files: Vec<StoredFile>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct StoredFile {
    pub id: uuid::Uuid,
    pub name: String,
    pub media_type: String,
    pub size: u64,
}

/// Binds a sealed message to its owner and id, so a blob copied into another row does not open.
pub(crate) fn message_owner(account: &AccountId, message: uuid::Uuid) -> String {
    format!("message:{account}:{message}")
}

pub(crate) fn file_owner(account: &AccountId, file: uuid::Uuid) -> String {
    format!("message-file:{account}:{file}")
}

/// How many of the account's messages are unread (for the account's navigation); a failure
/// shows no count rather than failing the page.
pub(crate) async fn unread(state: &PortalState, account: &AccountId) -> u64 {
    match state
        .store
        .unread_messages(account, state.clock.now())
        .await
    {
        Ok(n) => n,
        Err(error) => {
            tracing::warn!(%error, "could not count unread messages");
            0
        }
    }
}

/// The navigation entry of the mailbox with its unread count, e.g. "Postfach (2 ungelesen)".
pub(crate) fn nav_label(lang: rathaus_domain::Lang, unread: u64) -> String {
    let t = texts::texts(lang);
    if unread == 0 {
        t.nav.to_owned()
    } else {
        format!("{} ({})", t.nav, t.unread(unread))
    }
}

/// Whether a text is printable: no control characters but line breaks and tabs (V1).
pub(crate) fn printable(text: &str, multiline: bool) -> bool {
    !text
        .chars()
        .any(|c| c.is_control() && !(multiline && matches!(c, '\n' | '\r' | '\t')))
}

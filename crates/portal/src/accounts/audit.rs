//! Security events into the audit log (SECURITY.md L1, L2): the `audit_log` table, and one log
//! line with target `rathaus::audit`. Times are UTC from the injected clock; the detail is
//! escaped to one line (CR, LF and other control characters become `\r`, `\n`, `\u{…}`), so no
//! value can forge an entry. Callers never pass passwords, tokens or mail contents.

use rathaus_domain::{AccountId, AuditEvent, log_safe};
use rathaus_store::AuditRecord;

use crate::state::PortalState;

/// Longest detail kept, in characters.
const MAX_DETAIL: usize = 300;

/// Records `event`. A failure to write is logged and does not fail the request.
pub(crate) async fn record(
    state: &PortalState,
    event: AuditEvent,
    account: Option<AccountId>,
    detail: &str,
) {
    let detail = log_safe(detail, MAX_DETAIL);
    let at = state.clock.now();
    tracing::info!(
        target: "rathaus::audit",
        event = event.as_str(),
        account = %account.map_or_else(|| "-".to_owned(), |a| a.to_string()),
        %detail,
        "audit"
    );
    let entry = AuditRecord {
        id: 0,
        at,
        event,
        account_id: account,
        detail,
    };
    if let Err(error) = state.store.append_audit(&entry).await {
        tracing::error!(event = event.as_str(), %error, "audit entry could not be written");
    }
}

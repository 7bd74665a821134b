//! Named crash points at every step of submitting and delivering an application, so a test can
//! kill a real process at exactly that step and prove that nothing acknowledged is lost or
//! delivered twice (SECURITY.md C4, F4).
//!
//! Without the `failpoints` feature, [`hit`] is an empty inline function and the environment
//! is never read: a release build contains no way to crash itself. With the feature, a process
//! started with `RATHAUS_FAILPOINTS=name[,name…]` aborts (SIGABRT: no destructors, no flushing,
//! no transaction commit — as abrupt as SIGKILL) the first time it reaches one of those points.
//!
//! The names are listed in [`ALL`]; `docs/operations.md` describes each.

/// The environment variable that arms crash points.
pub const VARIABLE: &str = "RATHAUS_FAILPOINTS";

/// The portal's submit handler has sealed the envelopes; the transaction that writes the
/// application, its outbox entries and its receipt has not been committed.
pub const SUBMIT_BEFORE_COMMIT: &str = "submit-before-commit";
/// The submit transaction is committed; the citizen has not been answered yet.
pub const SUBMIT_AFTER_COMMIT: &str = "submit-after-commit";
/// The delivery worker has leased an entry and signed it, and not sent it yet.
pub const DELIVERY_BEFORE_SEND: &str = "delivery-before-send";
/// The node has stored the case and not answered with its receipt yet.
pub const NODE_AFTER_STORE: &str = "node-after-store";
/// The worker holds the node's verified receipt and has not recorded it yet.
pub const DELIVERY_AFTER_RECEIPT: &str = "delivery-after-receipt";
/// The worker has recorded the receipt (ciphertext dropped, status updated).
pub const DELIVERY_AFTER_RECORD: &str = "delivery-after-record";

/// Every crash point, in the order an application passes them.
pub const ALL: [&str; 6] = [
    SUBMIT_BEFORE_COMMIT,
    SUBMIT_AFTER_COMMIT,
    DELIVERY_BEFORE_SEND,
    NODE_AFTER_STORE,
    DELIVERY_AFTER_RECEIPT,
    DELIVERY_AFTER_RECORD,
];

/// Marks the crash point `name`; aborts the process there when it is armed.
#[cfg(feature = "failpoints")]
pub fn hit(name: &str) {
    if armed(std::env::var(VARIABLE).ok().as_deref(), name) {
        // stderr is unbuffered: the test reads this line from the log to know the process
        // died at the intended step and not somewhere else.
        eprintln!("rathaus: failpoint {name}: aborting");
        std::process::abort();
    }
}

/// Marks the crash point `name`; does nothing in this build.
#[cfg(not(feature = "failpoints"))]
#[inline(always)]
pub fn hit(_name: &str) {}

/// Whether `name` is in the comma-separated list `setting`.
#[cfg_attr(not(feature = "failpoints"), allow(dead_code))]
fn armed(setting: Option<&str>, name: &str) -> bool {
    setting.is_some_and(|list| list.split(',').any(|n| n.trim() == name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_listed_points_are_armed() {
        assert!(armed(Some("node-after-store"), NODE_AFTER_STORE));
        assert!(armed(
            Some("submit-after-commit, node-after-store"),
            NODE_AFTER_STORE
        ));
        assert!(!armed(Some("node-after-stored"), NODE_AFTER_STORE));
        assert!(!armed(Some(""), NODE_AFTER_STORE));
        assert!(!armed(None, NODE_AFTER_STORE));
    }

    #[test]
    fn names_are_unique() {
        let mut names = ALL.to_vec();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ALL.len());
    }
}

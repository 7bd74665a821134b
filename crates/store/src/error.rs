//! The one error type of the store, and the redaction of database URLs for logs.
//!
//! Callers decide on the HTTP status from the variant alone (`Unavailable` → 503 with
//! `Retry-After`, `Conflict` → 409), so the classification of driver errors happens here, once.
//! `Display` never contains SQL text, bind values or a password: it may end up on an error page
//! or in a log line that many people read. The driver's error stays reachable as `source()`.

use rathaus_domain::NodeId;
use sqlx::error::{DatabaseError, ErrorKind};

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database cannot be reached right now (connection refused, pool timed out, database
    /// busy or shutting down). Worth retrying later; the web layer answers 503.
    #[error("the database is unavailable; try again later")]
    Unavailable(#[source] sqlx::Error),

    /// The schema could not be brought up to date. The process should not serve requests.
    #[error("the database schema could not be migrated")]
    Migration(#[source] sqlx::migrate::MigrateError),

    /// A row with the same key already exists (a unique constraint was violated).
    #[error("a record with the same key already exists")]
    Conflict {
        /// The name of the violated constraint, when the database tells it, so that callers can
        /// tell which field clashed without parsing messages.
        constraint: Option<String>,
        #[source]
        source: sqlx::Error,
    },

    /// The database URL is malformed or names a backend we do not support. `url` is redacted.
    #[error("invalid database url `{url}`: {reason}")]
    InvalidUrl { url: String, reason: String },

    /// An authority node's database was initialised for another node; serving with it would
    /// mix two authorities' data.
    #[error("this database belongs to node `{stored}`, not to node `{requested}`")]
    NodeMismatch { stored: NodeId, requested: NodeId },

    /// Anything else: a bug, a broken invariant, data in the database that no longer parses.
    #[error("internal database error")]
    Internal(#[source] sqlx::Error),
}

impl StoreError {
    /// Whether the failure is transient and the request may succeed later (→ 503).
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Unavailable(_))
    }

    /// Whether a unique constraint was violated (→ 409).
    pub fn is_conflict(&self) -> bool {
        matches!(self, Self::Conflict { .. })
    }

    pub(crate) fn invalid_url(url: &str, reason: impl Into<String>) -> Self {
        Self::InvalidUrl {
            url: redact_url(url),
            reason: reason.into(),
        }
    }

    /// Wraps a value read from the database that does not parse as its domain type.
    pub(crate) fn corrupt(error: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Internal(sqlx::Error::Decode(Box::new(error)))
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        if is_unavailable(&error) {
            return Self::Unavailable(error);
        }
        match error {
            sqlx::Error::Database(ref db) if db.kind() == ErrorKind::UniqueViolation => {
                Self::Conflict {
                    constraint: db.constraint().map(str::to_owned),
                    source: error,
                }
            }
            sqlx::Error::Migrate(migrate) => Self::from(*migrate),
            other => Self::Internal(other),
        }
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(error: sqlx::migrate::MigrateError) -> Self {
        match error {
            // A connection lost while migrating is an outage, not a broken migration.
            sqlx::migrate::MigrateError::Execute(inner) if is_unavailable(&inner) => {
                Self::Unavailable(inner)
            }
            other => Self::Migration(other),
        }
    }
}

fn is_unavailable(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => is_transient(db.as_ref()),
        _ => false,
    }
}

/// Database error codes that mean "not now" rather than "never".
///
/// PostgreSQL: class 08 (connection exception), 53300 (too many connections), 57P01–57P03
/// (shutting down, starting up). SQLite: `SQLITE_BUSY` and `SQLITE_LOCKED` with any extended
/// code, which reach us only after the busy timeout has run out.
fn is_transient(db: &dyn DatabaseError) -> bool {
    let Some(code) = db.code() else {
        return false;
    };
    if code.starts_with("08") || code == "53300" || code.starts_with("57P0") {
        return true;
    }
    code.parse::<u32>()
        .is_ok_and(|code| matches!(code & 0xff, 5 | 6))
}

/// Returns the URL with its password (in the user info or a `password=` parameter) replaced by
/// `***`, for log lines and error messages.
///
/// Works on strings that are not valid URLs too, and errs towards hiding too much: whatever lies
/// between the first `:` after `scheme://` and the last `@` before the query is hidden.
pub fn redact_url(url: &str) -> String {
    let (main, query) = match url.split_once('?') {
        Some((main, query)) => (main, Some(query)),
        None => (url, None),
    };
    let (prefix, rest) = match main.split_once("://") {
        Some((scheme, rest)) => (format!("{scheme}://"), rest),
        // Not a URL; if it looks like `user:password@host`, hide the password all the same.
        None => (String::new(), main),
    };
    let rest = match rest.rfind('@') {
        Some(at) => match rest[..at].split_once(':') {
            Some((user, _password)) => format!("{user}:***{}", &rest[at..]),
            None => rest.to_owned(),
        },
        None => rest.to_owned(),
    };
    let mut out = prefix + &rest;
    if let Some(query) = query {
        out.push('?');
        let pairs: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((key, _)) if key.eq_ignore_ascii_case("password") => format!("{key}=***"),
                _ => pair.to_owned(),
            })
            .collect();
        out.push_str(&pairs.join("&"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted() {
        let cases = [
            (
                "postgres://app:s3cret@db:5432/rathaus",
                "postgres://app:***@db:5432/rathaus",
            ),
            (
                "postgresql://app:p@ss:w/rd@db/rathaus",
                "postgresql://app:***@db/rathaus",
            ),
            (
                "postgres://app@db/rathaus?password=s3cret&sslmode=require",
                "postgres://app@db/rathaus?password=***&sslmode=require",
            ),
            ("postgres://db/rathaus", "postgres://db/rathaus"),
            (
                "sqlite://data/rathaus.db?mode=rwc",
                "sqlite://data/rathaus.db?mode=rwc",
            ),
            ("sqlite:rathaus.db", "sqlite:rathaus.db"),
            ("not a url at all", "not a url at all"),
            ("app:s3cret@db/rathaus", "app:***@db/rathaus"),
        ];
        for (url, expected) in cases {
            assert_eq!(redact_url(url), expected, "{url}");
        }
    }

    #[test]
    fn invalid_url_errors_show_no_password() {
        let error = StoreError::invalid_url("mysql://root:s3cret@db/x", "unsupported");
        let shown = error.to_string();
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(shown.contains("mysql://root:***@db/x"), "{shown}");
    }

    #[test]
    fn driver_errors_are_classified() {
        assert!(StoreError::from(sqlx::Error::PoolTimedOut).is_unavailable());
        assert!(
            StoreError::from(sqlx::Error::Io(
                std::io::ErrorKind::ConnectionRefused.into()
            ))
            .is_unavailable()
        );
        assert!(!StoreError::from(sqlx::Error::RowNotFound).is_unavailable());
    }
}

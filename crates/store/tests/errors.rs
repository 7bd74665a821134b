//! Errors of `open`: they must be classified right (the web layer turns `Unavailable` into 503)
//! and must never show a password.

// A test crate: its helpers panic on purpose, like the tests that call them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::error::Error as _;
use std::time::{Duration, Instant};

use rathaus_store::{StoreError, StoreOptions, open};

fn quick() -> StoreOptions {
    StoreOptions {
        max_connections: 2,
        connect_timeout: Duration::from_secs(2),
    }
}

/// Display of the error and of every source below it.
fn chain(error: &StoreError) -> String {
    let mut shown = error.to_string();
    let mut source = error.source();
    while let Some(inner) = source {
        shown.push_str(" | ");
        shown.push_str(&inner.to_string());
        source = inner.source();
    }
    shown
}

#[tokio::test]
async fn an_unknown_scheme_is_an_invalid_url() {
    let error = open("mysql://root:s3cret@db/rathaus", &quick())
        .await
        .unwrap_err();
    assert!(matches!(error, StoreError::InvalidUrl { .. }), "{error:?}");
    let shown = error.to_string();
    assert!(shown.contains("mysql"), "{shown}");
    assert!(!shown.contains("s3cret"), "{shown}");

    let error = open("data/rathaus.db", &quick()).await.unwrap_err();
    assert!(matches!(error, StoreError::InvalidUrl { .. }), "{error:?}");
}

#[tokio::test]
async fn an_unreachable_postgres_is_unavailable_quickly() {
    let started = Instant::now();
    let error = open("postgres://rathaus:s3cret@127.0.0.1:1/rathaus", &quick())
        .await
        .unwrap_err();
    assert!(error.is_unavailable(), "{error:?}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
    let shown = chain(&error);
    assert!(!shown.contains("s3cret"), "{shown}");
}

#[tokio::test]
async fn a_malformed_postgres_url_shows_no_password() {
    let error = open(
        "postgres://rathaus:s3cret@127.0.0.1:notaport/rathaus",
        &quick(),
    )
    .await
    .unwrap_err();
    assert!(matches!(error, StoreError::InvalidUrl { .. }), "{error:?}");
    let shown = chain(&error);
    assert!(!shown.contains("s3cret"), "{shown}");
}

#[tokio::test]
async fn sqlite_needs_a_file_name_but_takes_memory() {
    let error = open("sqlite:", &quick()).await.unwrap_err();
    assert!(matches!(error, StoreError::InvalidUrl { .. }), "{error:?}");

    let store = open("sqlite::memory:", &quick()).await.unwrap();
    store.ping().await.unwrap();
    assert!(store.node_endpoints().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_sqlite_file_in_an_unwritable_place_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("file");
    std::fs::write(&blocker, b"not a directory").unwrap();
    let url = format!("sqlite://{}/sub/rathaus.db", blocker.display());
    let error = open(&url, &quick()).await.unwrap_err();
    assert!(matches!(error, StoreError::InvalidUrl { .. }), "{error:?}");
}

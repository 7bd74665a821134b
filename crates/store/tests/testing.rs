//! The test databases themselves: a PostgreSQL one must disappear even when a test forgets (or
//! panics before) `cleanup`.

// A test crate: its helpers panic on purpose, like the tests that call them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use rathaus_store::Backend;
use rathaus_store::testing::TestDatabase;
use sqlx::{Connection, PgConnection};

#[tokio::test]
async fn a_dropped_postgres_test_database_is_removed() {
    let Ok(admin_url) = std::env::var("DATABASE_URL") else {
        eprintln!("DATABASE_URL is not set; skipped");
        return;
    };
    let db = TestDatabase::postgres(&admin_url).await.unwrap();
    assert_eq!(db.backend(), Backend::Postgres);
    let store = db.open().await.unwrap();
    store.ping().await.unwrap();
    let name = db.url().rsplit('/').next().unwrap().to_owned();
    assert!(name.starts_with("rathaus_test_"), "{name}");
    drop(db); // the store's connections are still open: they are ended

    let mut admin = PgConnection::connect(&admin_url).await.unwrap();
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM pg_database WHERE datname = $1")
        .bind(&name)
        .fetch_one(&mut admin)
        .await
        .unwrap();
    assert_eq!(left, 0);
}

#[tokio::test]
async fn a_sqlite_test_database_lives_in_a_new_directory() {
    let db = TestDatabase::sqlite().unwrap();
    assert_eq!(db.backend(), Backend::Sqlite);
    let path = db.url().strip_prefix("sqlite://").unwrap().to_owned();
    assert!(!std::path::Path::new(&path).exists());
    db.open().await.unwrap().close().await;
    assert!(std::path::Path::new(&path).exists());
    db.cleanup().await.unwrap();
    assert!(!std::path::Path::new(&path).exists());
}

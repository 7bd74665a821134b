//! A citizen's own data at the store (GDPR art. 15, 17): every table with an account column is
//! covered, and deleting an account removes what it must and keeps only what the law needs;
//! on SQLite always and on PostgreSQL when `DATABASE_URL` is set, each test on a fresh database.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use rathaus_domain::{AccountId, AssuranceLevel, AuditEvent, Email, SessionId};
use rathaus_store::own_data::ACCOUNT_TABLES;
use rathaus_store::testing::TestDatabase;
use rathaus_store::{AuditRecord, DraftRecord, NewApplication, NewDelivery, SessionRecord, Store};

macro_rules! on_every_backend {
    ($($test:ident),* $(,)?) => {
        mod sqlite {
            use super::*;
            $(
                #[tokio::test]
                async fn $test() {
                    let db = TestDatabase::sqlite().unwrap();
                    super::$test(db.open().await.unwrap()).await;
                    db.cleanup().await.unwrap();
                }
            )*
        }
        mod postgres {
            use super::*;
            $(
                #[tokio::test]
                async fn $test() {
                    let Some(db) = TestDatabase::postgres_from_env().await.unwrap() else {
                        eprintln!("DATABASE_URL is not set; PostgreSQL run skipped");
                        return;
                    };
                    let store = db.open().await.unwrap();
                    super::$test(Arc::clone(&store)).await;
                    store.close().await;
                    db.cleanup().await.unwrap();
                }
            )*
        }
    };
}

on_every_backend!(
    every_table_with_an_account_column_is_covered_by_the_export,
    deletion_removes_the_account_and_detaches_applications_under_way,
    z1_deletion_leaves_other_accounts_untouched,
    deleting_an_unknown_account_changes_nothing,
    l1_audit_entries_of_an_account_are_its_own_only,
);

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 1, 8, 0, 0).unwrap()
}

async fn account(store: &Arc<dyn Store>, email: &str) -> AccountId {
    let id = AccountId::random();
    store
        .create_account(id, &Email::parse(email).unwrap(), "$argon2id$x", t0())
        .await
        .unwrap();
    id
}

async fn session(store: &Arc<dyn Store>, account: AccountId, token: &str) {
    store
        .create_session(&SessionRecord {
            token_hash: token.to_owned(),
            id: SessionId::random(),
            account_id: account,
            csrf_secret: "csrf".to_owned(),
            level: AssuranceLevel::Basic,
            created_at: t0(),
            last_seen_at: t0(),
            expires_at: t0() + Duration::hours(12),
        })
        .await
        .unwrap();
}

async fn draft(store: &Arc<dyn Store>, account: AccountId, service: &str) {
    store
        .save_draft(&DraftRecord {
            id: uuid::Uuid::new_v4(),
            account,
            service_key: service.to_owned(),
            sealed: b"sealed".to_vec(),
            created_at: t0(),
            updated_at: t0(),
            expires_at: t0() + Duration::days(30),
        })
        .await
        .unwrap();
}

/// Submits an application with one delivery and returns the delivery's id.
async fn submit(store: &Arc<dyn Store>, account: AccountId, reference: &str) -> uuid::Uuid {
    let delivery = uuid::Uuid::new_v4();
    store
        .submit_application(&NewApplication {
            reference: reference.to_owned(),
            submission_id: uuid::Uuid::new_v4(),
            account,
            service_key: "local-test".into(),
            submitted_at: t0(),
            deliveries: vec![NewDelivery {
                id: delivery,
                authority: "kundenzentrum-mitte".parse().unwrap(),
                node: "kundenzentren".parse().unwrap(),
                envelope: b"jwe".to_vec(),
            }],
            organisation: None,
            receipt: Some((b"sealed receipt".to_vec(), t0() + Duration::hours(24))),
        })
        .await
        .unwrap();
    delivery
}

async fn audit(store: &Arc<dyn Store>, account: AccountId, detail: &str) {
    store
        .append_audit(&AuditRecord {
            id: 0,
            at: t0(),
            event: AuditEvent::SignIn,
            account_id: Some(account),
            detail: detail.to_owned(),
        })
        .await
        .unwrap();
}

async fn every_table_with_an_account_column_is_covered_by_the_export(store: Arc<dyn Store>) {
    let in_schema = store.account_tables().await.unwrap();
    let mut declared: Vec<String> = ACCOUNT_TABLES
        .iter()
        .map(|(table, _)| (*table).to_owned())
        .collect();
    declared.sort();
    assert_eq!(
        in_schema, declared,
        "a table with an account_id column must be declared in own_data::ACCOUNT_TABLES, \
         exported and handled by the account deletion"
    );
}

async fn deletion_removes_the_account_and_detaches_applications_under_way(store: Arc<dyn Store>) {
    let anna = account(&store, "anna@example.org").await;
    session(&store, anna, "token-1").await;
    session(&store, anna, "token-2").await;
    draft(&store, anna, "other-service").await;
    let done = submit(&store, anna, "A-DONE").await;
    store.delivery_succeeded(done, t0()).await.unwrap();
    submit(&store, anna, "A-PENDING").await;
    audit(&store, anna, "sign-in").await;
    store
        .issue_identification_code(&anna, "digest", t0(), t0() + Duration::days(14), false)
        .await
        .unwrap();

    let report = store.delete_account(&anna).await.unwrap().unwrap();
    assert_eq!(report.sessions, 2);
    assert_eq!(report.drafts, 1);
    assert_eq!(report.applications_deleted, 1);
    assert_eq!(report.applications_detached, 1);

    assert!(store.account(anna).await.unwrap().is_none());
    assert!(store.session("token-1").await.unwrap().is_none());
    assert!(store.drafts(&anna, t0()).await.unwrap().is_empty());
    assert!(store.applications(&anna).await.unwrap().is_empty());
    assert!(
        store
            .identification_code(&anna, t0())
            .await
            .unwrap()
            .is_none()
    );
    // The pending delivery still goes out; the receipt of the finished one is gone.
    let claimed = store
        .claim_deliveries(t0(), t0() + Duration::minutes(5), 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    assert!(
        store
            .receipt(&anna, "A-DONE", t0())
            .await
            .unwrap()
            .is_none()
    );
    // The audit log keeps the pseudonymous id; nothing else points to the person.
    assert_eq!(store.audit_entries_of(&anna, 10).await.unwrap().len(), 1);
    // Once delivered, the detached metadata is no longer needed.
    assert_eq!(store.purge_detached_applications().await.unwrap(), 0);
    store
        .delivery_succeeded(claimed[0].id, t0() + Duration::minutes(1))
        .await
        .unwrap();
    assert_eq!(store.purge_detached_applications().await.unwrap(), 1);
}

async fn z1_deletion_leaves_other_accounts_untouched(store: Arc<dyn Store>) {
    let anna = account(&store, "anna@example.org").await;
    let bob = account(&store, "bob@example.org").await;
    for who in [anna, bob] {
        session(&store, who, &format!("token-{who}")).await;
        draft(&store, who, "other-service").await;
        submit(&store, who, &format!("R-{who}")).await;
        audit(&store, who, "sign-in").await;
    }
    store.delete_account(&anna).await.unwrap().unwrap();
    assert!(store.account(bob).await.unwrap().is_some());
    assert!(
        store
            .session(&format!("token-{bob}"))
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(store.drafts(&bob, t0()).await.unwrap().len(), 1);
    assert_eq!(store.applications(&bob).await.unwrap().len(), 1);
    assert_eq!(store.audit_entries_of(&bob, 10).await.unwrap().len(), 1);
}

async fn deleting_an_unknown_account_changes_nothing(store: Arc<dyn Store>) {
    let anna = account(&store, "anna@example.org").await;
    assert!(
        store
            .delete_account(&AccountId::random())
            .await
            .unwrap()
            .is_none()
    );
    assert!(store.account(anna).await.unwrap().is_some());
}

async fn l1_audit_entries_of_an_account_are_its_own_only(store: Arc<dyn Store>) {
    let anna = account(&store, "anna@example.org").await;
    let bob = account(&store, "bob@example.org").await;
    audit(&store, anna, "first").await;
    audit(&store, bob, "bob's").await;
    audit(&store, anna, "second").await;
    let entries = store.audit_entries_of(&anna, 10).await.unwrap();
    let details: Vec<&str> = entries.iter().map(|e| e.detail.as_str()).collect();
    assert_eq!(details, ["second", "first"]);
    assert_eq!(store.audit_entries_of(&anna, 1).await.unwrap().len(), 1);
}

/// Migration 0010 rebuilds `applications` on SQLite; dropping the old table would cascade into
/// the tables that refer to it. Rows written before the migration must all be there after it.
#[tokio::test]
async fn migration_0010_keeps_every_row_that_refers_to_applications_on_sqlite() {
    use sqlx::Executor;

    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("old.db").display());
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(dir.path().join("old.db"))
        .create_if_missing(true)
        .foreign_keys(true);
    let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
    let mut before = sqlx::migrate::Migrator::new(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/sqlite"),
    )
    .await
    .unwrap();
    before.migrations = before
        .migrations
        .iter()
        .filter(|m| m.version < 11)
        .cloned()
        .collect::<Vec<_>>()
        .into();
    before.run(&pool).await.unwrap();
    let t = "2026-06-01T08:00:00Z";
    pool.execute(
        format!(
            "INSERT INTO accounts VALUES ('a1', 'anna@example.org', 'anna@example.org', 'x', \
             '{t}', 'basic', '{t}', '{t}'); \
             INSERT INTO applications VALUES ('R-1', 's1', 'a1', 'local-test', 'queued', \
             '{t}', '{t}'); \
             INSERT INTO deliveries (id, reference, authority_id, node_id, envelope, state, \
             attempts, next_attempt_at, created_at) VALUES ('d1', 'R-1', 'amt', 'node', \
             X'00', 'pending', 0, '{t}', '{t}'); \
             INSERT INTO receipts VALUES ('R-1', X'01', '{t}'); \
             INSERT INTO mailbox_messages (id, reference, account_id, delivery_id, \
             authority_id, direction, decision, sealed, received_at, expires_at) VALUES \
             ('m1', 'R-1', 'a1', 'd1', 'amt', 'to_citizen', 0, X'02', '{t}', '{t}'); \
             INSERT INTO mailbox_files VALUES ('f1', 'm1', X'03');"
        )
        .as_str(),
    )
    .await
    .unwrap();
    pool.close().await;

    let store = rathaus_store::open(&url, &Default::default())
        .await
        .unwrap();
    store.close().await;
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    for table in [
        "applications",
        "deliveries",
        "receipts",
        "mailbox_messages",
        "mailbox_files",
    ] {
        let (n,): (i64,) = sqlx::query_as(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(n, 1, "{table} lost its rows in the rebuild");
    }
    let problems: Vec<(String,)> = sqlx::query_as("SELECT \"table\" FROM pragma_foreign_key_check")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert!(problems.is_empty(), "{problems:?}");
}

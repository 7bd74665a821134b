//! One test suite, run against SQLite always and against PostgreSQL when `DATABASE_URL` is set.
//! Each test gets a fresh database.

// A test crate: its helpers panic on purpose, like the tests that call them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use rathaus_domain::{NodeId, TenantDirectory, TenantId};
use rathaus_store::testing::TestDatabase;
use rathaus_store::{Store, StoreError, SyncReport};

/// Generates `sqlite::NAME` and `postgres::NAME` for each `async fn NAME(&TestDatabase)`.
macro_rules! on_every_backend {
    ($($test:ident),* $(,)?) => {
        mod sqlite {
            use super::*;
            $(
                #[tokio::test]
                async fn $test() {
                    let db = TestDatabase::sqlite().unwrap();
                    super::$test(&db).await;
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
                    super::$test(&db).await;
                    db.cleanup().await.unwrap();
                }
            )*
        }
    };
}

on_every_backend!(
    migrations_run_twice_are_a_no_op,
    ping_answers_until_closed,
    sync_inserts_updates_and_retires,
    sync_keeps_tenants_apart,
    concurrent_syncs_agree,
    node_endpoints_are_upserted,
    node_identity_is_created_once,
    accounts_are_unique_by_address_in_lowercase,
    email_links_are_single_use_and_expire,
    sessions_belong_to_their_account_and_end_on_the_server,
    verified_attributes_end_with_the_session_unless_remembered,
    sign_in_failures_are_counted_per_key,
    the_audit_log_keeps_order_and_text,
    shared_secrets_are_written_once,
    clerks_are_unique_by_address_and_sessions_end,
    the_inbox_shows_one_authority_filtered_and_newest_first,
    status_changes_write_history_and_outbox_together,
    reported_statuses_set_the_application_status,
    drafts_are_one_per_service_private_and_expire,
    a_submit_is_written_once_with_its_outbox_and_receipt,
    the_outbox_is_leased_retried_and_emptied,
    nonces_and_cases_are_stored_once,
    each_recipient_has_its_own_entry_and_only_its_owner_sees_it,
    r2_overdue_entries_are_listed_then_expired,
    a_dead_letter_is_listed_per_node_and_retried_once_with_a_new_window,
    c5_the_audit_log_is_a_hash_chain_that_names_the_broken_entry,
    messages_are_written_with_their_status_change_and_replies_once,
    r1_the_mailbox_is_private_replies_leave_through_the_outbox_and_old_messages_go,
    r1_decided_cases_go_when_their_period_has_passed,
    r1_application_records_go_after_their_period_once_delivered,
    organisations_keep_an_owner_and_invitations_fit_one_address,
    applications_in_an_organisations_name_are_listed_for_it,
);

#[path = "backends/retention.rs"]
mod retention;
use retention::*;

#[path = "backends/accounts.rs"]
mod accounts;
use accounts::*;

#[path = "backends/applications.rs"]
mod applications;
use applications::*;

#[path = "backends/back_office.rs"]
mod back_office;
use back_office::*;

#[path = "backends/messages.rs"]
mod messages;
use messages::*;
#[path = "backends/organisations.rs"]
mod organisations;
use organisations::*;

#[path = "backends/recipients.rs"]
mod recipients;
use recipients::*;

const TENANT: &str = r#"
id = "musterstadt"
name = { de = "Musterstadt", en = "Sample City" }

[[districts]]
id = "nord"
name = { de = "Nord", en = "North" }
postcodes = ["12345"]

[[districts]]
id = "sued"
name = { de = "Süd", en = "South" }
postcodes = ["12347"]

[[authority_kinds]]
id = "kundenzentrum"
name = { de = "Kundenzentrum", en = "Customer centre" }
scope = "district"

[[authority_kinds]]
id = "finanzamt"
name = { de = "Finanzamt", en = "Tax office" }
scope = "tenant"

[[nodes]]
id = "bezirke"
name = { de = "Bezirke", en = "Districts" }

[[authorities]]
id = "kz-nord"
kind = "kundenzentrum"
district = "nord"
name = { de = "Kundenzentrum Nord", en = "Customer centre North" }
address = { street = "Hauptstraße 1", postcode = "12345", city = "Musterstadt" }
node = "bezirke"

[[authorities]]
id = "kz-sued"
kind = "kundenzentrum"
district = "sued"
name = { de = "Kundenzentrum Süd", en = "Customer centre South" }
address = { street = "Südweg 1", postcode = "12347", city = "Musterstadt" }
node = "bezirke"

[[authorities]]
id = "finanzamt"
kind = "finanzamt"
name = { de = "Finanzamt", en = "Tax office" }
address = { street = "Steuerweg 2", postcode = "12347", city = "Musterstadt" }
node = "bezirke"
"#;

fn directory(source: &str) -> TenantDirectory {
    TenantDirectory::parse(Path::new("tenant.toml"), source).unwrap()
}

fn at(hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 1, hour, 0, 0).unwrap()
}

fn tenant(id: &str) -> TenantId {
    id.parse().unwrap()
}

fn node(id: &str) -> NodeId {
    id.parse().unwrap()
}

async fn authority_ids(store: &Arc<dyn Store>, tenant_id: &str) -> Vec<String> {
    let records = store.authorities(&tenant(tenant_id)).await.unwrap();
    records.iter().map(|a| a.id.to_string()).collect()
}

async fn migrations_run_twice_are_a_no_op(db: &TestDatabase) {
    let store = db.open().await.unwrap();
    assert_eq!(store.backend(), db.backend());
    store
        .sync_directory(&directory(TENANT), at(1))
        .await
        .unwrap();
    store.close().await;

    let again = db.open().await.unwrap();
    assert_eq!(
        authority_ids(&again, "musterstadt").await,
        ["finanzamt", "kz-nord", "kz-sued"]
    );
    again.close().await;
}

async fn ping_answers_until_closed(db: &TestDatabase) {
    let store = db.open().await.unwrap();
    store.ping().await.unwrap();
    store.close().await;
    let error = store.ping().await.unwrap_err();
    assert!(error.is_unavailable(), "{error:?}");
}

async fn sync_inserts_updates_and_retires(db: &TestDatabase) {
    let store = db.open().await.unwrap();
    let first = store
        .sync_directory(&directory(TENANT), at(1))
        .await
        .unwrap();
    // 2 districts + 2 kinds + 3 authorities + 1 node
    assert_eq!(
        first,
        SyncReport {
            added: 8,
            updated: 0,
            retired: 0
        }
    );

    let again = store
        .sync_directory(&directory(TENANT), at(2))
        .await
        .unwrap();
    assert!(again.is_unchanged(), "{again}");

    let records = store.authorities(&tenant("musterstadt")).await.unwrap();
    let nord = records.iter().find(|a| a.id.as_str() == "kz-nord").unwrap();
    assert_eq!(nord.district.as_ref().map(|d| d.as_str()), Some("nord"));
    assert_eq!(nord.name.en(), "Customer centre North");
    assert_eq!(nord.node.as_str(), "bezirke");
    let finanzamt = records
        .iter()
        .find(|a| a.id.as_str() == "finanzamt")
        .unwrap();
    assert_eq!(finanzamt.district, None);
    assert_eq!(finanzamt.kind.as_str(), "finanzamt");

    // Rename one authority, drop another (and its district), add a node.
    let changed = TENANT
        .replace("Kundenzentrum Nord\"", "Kundenzentrum Nord-Ost\"")
        .replace(
            "[[nodes]]",
            "[[nodes]]\nid = \"jugend\"\nname = { de = \"Jugend\", en = \"Youth\" }\n\n[[nodes]]",
        );
    let changed = remove_block(&changed, "id = \"kz-sued\"");
    let changed = remove_block(&changed, "id = \"sued\"");
    let report = store
        .sync_directory(&directory(&changed), at(3))
        .await
        .unwrap();
    assert_eq!(
        report,
        SyncReport {
            added: 1,
            updated: 1,
            retired: 2
        }
    );
    assert_eq!(
        authority_ids(&store, "musterstadt").await,
        ["finanzamt", "kz-nord"]
    );
    let records = store.authorities(&tenant("musterstadt")).await.unwrap();
    assert_eq!(records[1].name.de(), "Kundenzentrum Nord-Ost");

    let again = store
        .sync_directory(&directory(&changed), at(4))
        .await
        .unwrap();
    assert!(again.is_unchanged(), "{again}");

    // The original file brings the retired rows back and retires the extra node.
    let back = store
        .sync_directory(&directory(TENANT), at(5))
        .await
        .unwrap();
    assert_eq!(
        back,
        SyncReport {
            added: 2,
            updated: 1,
            retired: 1
        }
    );
    assert_eq!(
        authority_ids(&store, "musterstadt").await,
        ["finanzamt", "kz-nord", "kz-sued"]
    );
    store.close().await;
}

/// Removes the `[[…]]` block of `source` that contains `needle`.
fn remove_block(source: &str, needle: &str) -> String {
    let blocks: Vec<&str> = source.split("\n[[").collect();
    let kept: Vec<&str> = blocks.into_iter().filter(|b| !b.contains(needle)).collect();
    kept.join("\n[[")
}

async fn sync_keeps_tenants_apart(db: &TestDatabase) {
    let store = db.open().await.unwrap();
    store
        .sync_directory(&directory(TENANT), at(1))
        .await
        .unwrap();
    let other = TENANT.replacen("id = \"musterstadt\"", "id = \"beispielstadt\"", 1);
    let other = remove_block(&other, "id = \"kz-nord\"");
    let report = store
        .sync_directory(&directory(&other), at(2))
        .await
        .unwrap();
    assert_eq!(
        report,
        SyncReport {
            added: 7,
            updated: 0,
            retired: 0
        }
    );
    assert_eq!(
        authority_ids(&store, "musterstadt").await,
        ["finanzamt", "kz-nord", "kz-sued"]
    );
    assert_eq!(
        authority_ids(&store, "beispielstadt").await,
        ["finanzamt", "kz-sued"]
    );
    assert!(authority_ids(&store, "nirgendwo").await.is_empty());
    store.close().await;
}

async fn concurrent_syncs_agree(db: &TestDatabase) {
    let store = db.open().await.unwrap();
    let tenant_file = directory(TENANT);
    let (a, b) = tokio::join!(
        store.sync_directory(&tenant_file, at(1)),
        store.sync_directory(&tenant_file, at(1)),
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.added + b.added, 8, "{a} / {b}");
    assert!(a.is_unchanged() || b.is_unchanged(), "{a} / {b}");
    store.close().await;
}

async fn node_endpoints_are_upserted(db: &TestDatabase) {
    let store = db.open().await.unwrap();
    assert!(store.node_endpoints().await.unwrap().is_empty());
    store
        .register_node_endpoint(&node("jugend"), "http://127.0.0.1:8082", at(1))
        .await
        .unwrap();
    store
        .register_node_endpoint(&node("bezirke"), "http://127.0.0.1:8081", at(1))
        .await
        .unwrap();
    store
        .register_node_endpoint(&node("jugend"), "http://127.0.0.1:9092", at(2))
        .await
        .unwrap();

    let endpoints = store.node_endpoints().await.unwrap();
    let summary: Vec<_> = endpoints
        .iter()
        .map(|e| (e.node.as_str(), e.base_url.as_str(), e.registered_at))
        .collect();
    assert_eq!(
        summary,
        [
            ("bezirke", "http://127.0.0.1:8081", at(1)),
            ("jugend", "http://127.0.0.1:9092", at(2))
        ]
    );
    store.close().await;
}

async fn node_identity_is_created_once(db: &TestDatabase) {
    let store = db.open().await.unwrap();
    assert_eq!(store.node_identity().await.unwrap(), None);

    let created = store
        .init_node_identity(&node("bezirke"), at(1))
        .await
        .unwrap();
    assert_eq!(
        (created.node.as_str(), created.created_at),
        ("bezirke", at(1))
    );
    let later = store
        .init_node_identity(&node("bezirke"), at(5))
        .await
        .unwrap();
    assert_eq!(later, created);
    assert_eq!(store.node_identity().await.unwrap(), Some(created));

    let error = store
        .init_node_identity(&node("jugend"), at(6))
        .await
        .unwrap_err();
    assert!(
        matches!(error, StoreError::NodeMismatch { .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("`bezirke`"), "{error}");
    store.close().await;
}

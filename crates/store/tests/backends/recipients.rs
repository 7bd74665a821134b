//! Several recipients per application and the R2 deadlines of the outbox, on every backend.

use chrono::{DateTime, Duration, TimeZone, Utc};
use rathaus_domain::{AccountId, Email};
use rathaus_store::testing::TestDatabase;
use rathaus_store::{
    ApplicationStatus, DeliveryState, NewApplication, NewDelivery, OutboxListing, Store,
};

fn t(minutes: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 5, 4, 10, 0, 0).unwrap() + Duration::minutes(minutes)
}

async fn account(store: &dyn Store, address: &str) -> AccountId {
    let id = AccountId::random();
    store
        .create_account(id, &Email::parse(address).unwrap(), "$argon2id$x", t(0))
        .await
        .unwrap();
    id
}

fn delivery(authority: &str, node: &str) -> NewDelivery {
    NewDelivery {
        id: uuid::Uuid::new_v4(),
        authority: authority.parse().unwrap(),
        node: node.parse().unwrap(),
        envelope: format!("jwe for {authority}").into_bytes(),
    }
}

/// An application to the registration office and the ID card office, submitted at `at`.
fn to_two(account: AccountId, reference: &str, at: DateTime<Utc>) -> NewApplication {
    NewApplication {
        reference: reference.to_owned(),
        submission_id: uuid::Uuid::new_v4(),
        account,
        service_key: "local-test".into(),
        submitted_at: at,
        deliveries: vec![
            delivery("kundenzentrum-mitte", "kundenzentren"),
            delivery("personalausweisbehoerde-mitte", "kundenzentren"),
        ],
        organisation: None,
        receipt: None,
    }
}

pub(crate) async fn each_recipient_has_its_own_entry_and_only_its_owner_sees_it(db: &TestDatabase) {
    let store = db.open().await.unwrap();
    let anna = account(store.as_ref(), "anna@example.org").await;
    let bob = account(store.as_ref(), "bob@example.org").await;
    store
        .submit_application(&to_two(anna, "MU-2026-AAAA-0001", t(0)))
        .await
        .unwrap();
    let claimed = store.claim_deliveries(t(1), t(3), 10).await.unwrap();
    assert_eq!(claimed.len(), 2);
    assert_ne!(claimed[0].envelope, claimed[1].envelope);
    let office = claimed
        .iter()
        .find(|d| d.authority == "kundenzentrum-mitte")
        .unwrap();
    store.delivery_succeeded(office.id, t(2)).await.unwrap();

    // One copy delivered, one still on its way: the application is not delivered yet.
    let recipients = store.recipients(&anna, "MU-2026-AAAA-0001").await.unwrap();
    let states: Vec<(&str, DeliveryState, u32)> = recipients
        .iter()
        .map(|r| (r.authority.as_str(), r.state, r.attempts))
        .collect();
    assert_eq!(
        states,
        [
            ("kundenzentrum-mitte", DeliveryState::Delivered, 1),
            ("personalausweisbehoerde-mitte", DeliveryState::Pending, 0),
        ]
    );
    assert_eq!(recipients[0].delivered_at, Some(t(2)));
    let application = store
        .application(&anna, "MU-2026-AAAA-0001")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(application.status, ApplicationStatus::Queued);
    // Another account gets nothing (Z1), an unknown reference neither.
    assert!(
        store
            .recipients(&bob, "MU-2026-AAAA-0001")
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .recipients(&anna, "MU-2026-ZZZZ-9999")
            .await
            .unwrap()
            .is_empty()
    );

    let card = claimed
        .iter()
        .find(|d| d.authority == "personalausweisbehoerde-mitte")
        .unwrap();
    store.delivery_succeeded(card.id, t(4)).await.unwrap();
    let application = store
        .application(&anna, "MU-2026-AAAA-0001")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(application.status, ApplicationStatus::Delivered);

    // Each office reports on its own copy; the page shows each office's word.
    store
        .record_case_status(card.id, rathaus_domain::CaseStatus::InProgress, t(5))
        .await
        .unwrap();
    let statuses: Vec<Option<ApplicationStatus>> = store
        .recipients(&anna, "MU-2026-AAAA-0001")
        .await
        .unwrap()
        .iter()
        .map(|r| r.case_status)
        .collect();
    assert_eq!(statuses, [None, Some(ApplicationStatus::InProgress)]);
}

pub(crate) async fn r2_overdue_entries_are_listed_then_expired(db: &TestDatabase) {
    let store = db.open().await.unwrap();
    let anna = account(store.as_ref(), "anna@example.org").await;
    let old = t(0);
    let young = t(0) + Duration::days(2);
    store
        .submit_application(&to_two(anna, "MU-2026-AAAA-0001", old))
        .await
        .unwrap();
    store
        .submit_application(&to_two(anna, "MU-2026-AAAA-0002", young))
        .await
        .unwrap();
    // The older application's first copy arrived; only its second one is still waiting.
    let claimed = store.claim_deliveries(t(1), t(3), 10).await.unwrap();
    let arrived = claimed
        .iter()
        .find(|d| d.reference == "MU-2026-AAAA-0001" && d.authority == "kundenzentrum-mitte")
        .unwrap();
    store.delivery_succeeded(arrived.id, t(2)).await.unwrap();
    for other in claimed.iter().filter(|d| d.id != arrived.id) {
        store
            .delivery_failed(other.id, "connection refused", t(10), false, t(2))
            .await
            .unwrap();
    }

    // Three days after the first submit: only its waiting copy is overdue, with its last error.
    let alert = old + Duration::days(3) + Duration::seconds(1);
    let overdue = store
        .overdue_deliveries(alert - Duration::days(3), 10)
        .await
        .unwrap();
    assert_eq!(overdue.len(), 1, "{overdue:?}");
    assert_eq!(overdue[0].reference, "MU-2026-AAAA-0001");
    assert_eq!(overdue[0].authority, "personalausweisbehoerde-mitte");
    assert_eq!(overdue[0].attempts, 1);
    assert_eq!(overdue[0].created_at, old);
    assert_eq!(overdue[0].last_error.as_deref(), Some("connection refused"));
    // The limit holds.
    assert!(
        store
            .overdue_deliveries(t(0) + Duration::days(30), 0)
            .await
            .unwrap()
            .is_empty()
    );

    // Nothing expires a second early.
    assert_eq!(
        store
            .expire_deliveries(old, old + Duration::days(14))
            .await
            .unwrap(),
        0
    );
    let expired = store
        .expire_deliveries(old + Duration::seconds(1), old + Duration::days(14))
        .await
        .unwrap();
    assert_eq!(expired, 1);
    let dead = store
        .application(&anna, "MU-2026-AAAA-0001")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(dead.status, ApplicationStatus::Undeliverable);
    let states: Vec<DeliveryState> = store
        .recipients(&anna, "MU-2026-AAAA-0001")
        .await
        .unwrap()
        .iter()
        .map(|r| r.state)
        .collect();
    assert_eq!(states, [DeliveryState::Delivered, DeliveryState::Dead]);
    // The younger application is untouched, and expiring again changes nothing.
    let young_app = store
        .application(&anna, "MU-2026-AAAA-0002")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(young_app.status, ApplicationStatus::Queued);
    assert_eq!(
        store
            .expire_deliveries(old + Duration::seconds(1), old + Duration::days(15))
            .await
            .unwrap(),
        0
    );
    let stats = store.outbox_stats().await.unwrap();
    assert_eq!((stats.pending, stats.delivered, stats.dead), (2, 1, 1));
}

pub(crate) async fn a_dead_letter_is_listed_per_node_and_retried_once_with_a_new_window(
    db: &TestDatabase,
) {
    let store = db.open().await.unwrap();
    let anna = account(store.as_ref(), "anna@example.org").await;
    let submitted = t(0);
    store
        .submit_application(&to_two(anna, "MU-2026-AAAA-0001", submitted))
        .await
        .unwrap();
    let claimed = store.claim_deliveries(t(1), t(3), 10).await.unwrap();
    let (office, card) = (&claimed[0], &claimed[1]);
    store.delivery_succeeded(office.id, t(2)).await.unwrap();
    store
        .delivery_failed(card.id, "the node answered 503", t(20), false, t(2))
        .await
        .unwrap();

    let failing = store
        .outbox_entries(OutboxListing::Failing, 10)
        .await
        .unwrap();
    assert_eq!(failing.len(), 1);
    assert_eq!(failing[0].id, card.id);
    assert_eq!(
        failing[0].last_error.as_deref(),
        Some("the node answered 503")
    );
    assert_eq!((failing[0].attempts, failing[0].since), (1, submitted));
    let nodes = store.outbox_by_node().await.unwrap();
    assert_eq!(nodes.len(), 1);
    assert_eq!(
        (
            nodes[0].pending,
            nodes[0].failing,
            nodes[0].dead,
            nodes[0].delivered
        ),
        (1, 1, 0, 1)
    );
    assert_eq!(
        (nodes[0].attempts, nodes[0].oldest_pending),
        (2, Some(submitted))
    );

    // Fourteen days later the sweep gives up: a dead letter, the application undeliverable.
    let late = submitted + Duration::days(14);
    assert_eq!(
        store
            .expire_deliveries(late - Duration::days(14) + Duration::seconds(1), late)
            .await
            .unwrap(),
        1
    );
    let dead = store.outbox_entries(OutboxListing::Dead, 10).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert!(dead[0].retryable && !dead[0].reply);
    assert!(
        store
            .outbox_entries(OutboxListing::Failing, 10)
            .await
            .unwrap()
            .is_empty()
    );
    // A delivered entry, or an unknown id, is no dead letter.
    for id in [office.id, uuid::Uuid::new_v4()] {
        assert_eq!(store.retry_dead_letter(id, late).await.unwrap(), None);
    }

    // The operator retries: pending and due now, attempts from zero, the application queued.
    let retried = store
        .retry_dead_letter(card.id, late)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(retried.reference, "MU-2026-AAAA-0001");
    assert_eq!(retried.node, "kundenzentren");
    assert!(!retried.reply);
    assert_eq!(store.retry_dead_letter(card.id, late).await.unwrap(), None);
    let application = store
        .application(&anna, "MU-2026-AAAA-0001")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(application.status, ApplicationStatus::Queued);
    // The window starts again: the next sweep neither alerts nor gives up on it.
    let sweep = late + Duration::minutes(10);
    assert!(
        store
            .overdue_deliveries(sweep - Duration::days(3), 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store
            .expire_deliveries(sweep - Duration::days(14), sweep)
            .await
            .unwrap(),
        0
    );
    let again = store
        .claim_deliveries(late, late + Duration::minutes(2), 10)
        .await
        .unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(
        (again[0].id, again[0].attempts, again[0].created_at),
        (card.id, 0, late)
    );
    assert_eq!(again[0].envelope, card.envelope);
    store.delivery_succeeded(card.id, late).await.unwrap();
    let application = store
        .application(&anna, "MU-2026-AAAA-0001")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(application.status, ApplicationStatus::Delivered);
}

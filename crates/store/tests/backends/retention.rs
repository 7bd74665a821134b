//! Retention (SECURITY.md R1) on every backend: at an authority node a decided case goes when
//! its `retain_until` has come, with everything attached to it, and an undecided or reopened
//! one stays; at the portal an application's record goes after its period, but not while a
//! copy is still on its way or a message about it is younger than the period.

use chrono::{DateTime, Duration, TimeZone, Utc};
use rathaus_domain::{AccountId, CaseStatus, ClerkId, Email};
use rathaus_store::retention::RetentionDeleted;
use rathaus_store::testing::TestDatabase;
use rathaus_store::{
    CaseRecord, CaseStatusChange, MailboxMessage, MessageDirection, NewApplication, NewDelivery,
    Store,
};

fn t(minutes: i64) -> DateTime<Utc> {
    // Fractional seconds on purpose: SQLite compares times as text.
    Utc.with_ymd_and_hms(2026, 5, 4, 10, 0, 0).unwrap()
        + Duration::minutes(minutes)
        + Duration::milliseconds(250)
}

fn case(reference: &str) -> CaseRecord {
    CaseRecord {
        delivery_id: uuid::Uuid::new_v4(),
        reference: reference.to_owned(),
        authority: "kz-nord".to_owned(),
        service_key: "local-test-dog".to_owned(),
        envelope: b"jwe".to_vec(),
        status: "received".to_owned(),
        received_at: t(0),
        updated_at: t(0),
    }
}

async fn change(
    store: &dyn Store,
    case: &CaseRecord,
    from: CaseStatus,
    to: CaseStatus,
    retain_until: Option<DateTime<Utc>>,
) {
    let changed = store
        .change_case_status(&CaseStatusChange {
            case_id: case.delivery_id,
            authority: case.authority.clone(),
            clerk: ClerkId::random(),
            from,
            to,
            at: t(1),
            retain_until,
        })
        .await
        .unwrap();
    assert!(changed);
}

pub(crate) async fn r1_decided_cases_go_when_their_period_has_passed(db: &TestDatabase) {
    let store = db.open().await.unwrap();
    let (due, later, open, reopened) = (
        case("HA-2026-AAAA-0001"),
        case("HA-2026-AAAA-0002"),
        case("HA-2026-AAAA-0003"),
        case("HA-2026-AAAA-0004"),
    );
    for c in [&due, &later, &open, &reopened] {
        store.store_case(c).await.unwrap();
    }
    change(
        &*store,
        &due,
        CaseStatus::Received,
        CaseStatus::Decided,
        Some(t(10)),
    )
    .await;
    change(
        &*store,
        &later,
        CaseStatus::Received,
        CaseStatus::Decided,
        Some(t(100)),
    )
    .await;
    change(
        &*store,
        &open,
        CaseStatus::Received,
        CaseStatus::InProgress,
        None,
    )
    .await;
    change(
        &*store,
        &reopened,
        CaseStatus::Received,
        CaseStatus::Decided,
        Some(t(10)),
    )
    .await;
    change(
        &*store,
        &reopened,
        CaseStatus::Decided,
        CaseStatus::InProgress,
        None,
    )
    .await;
    assert_eq!(
        store.case_retain_until(later.delivery_id).await.unwrap(),
        Some(t(100))
    );
    assert_eq!(
        store.case_retain_until(open.delivery_id).await.unwrap(),
        None
    );

    // Not yet: one millisecond before.
    assert!(
        store
            .purge_decided_cases(t(10) - Duration::milliseconds(1))
            .await
            .unwrap()
            .is_empty()
    );
    let deleted = store.purge_decided_cases(t(50)).await.unwrap();
    assert_eq!(
        deleted,
        [RetentionDeleted {
            reference: due.reference.clone(),
            service_key: "local-test-dog".to_owned(),
            authority: Some("kz-nord".to_owned()),
        }]
    );
    assert!(
        store
            .authority_case("kz-nord", due.delivery_id)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .case_history(due.delivery_id)
            .await
            .unwrap()
            .is_empty(),
        "the history goes with the case"
    );
    for kept in [&later, &open, &reopened] {
        assert!(
            store
                .authority_case("kz-nord", kept.delivery_id)
                .await
                .unwrap()
                .is_some(),
            "{} stays",
            kept.reference
        );
    }
    assert!(store.purge_decided_cases(t(50)).await.unwrap().is_empty());
}

fn application(account: AccountId, reference: &str, service: &str) -> (NewApplication, uuid::Uuid) {
    let delivery = uuid::Uuid::new_v4();
    (
        NewApplication {
            reference: reference.to_owned(),
            submission_id: uuid::Uuid::new_v4(),
            account,
            service_key: service.to_owned(),
            submitted_at: t(0),
            deliveries: vec![NewDelivery {
                id: delivery,
                authority: "kz-nord".parse().unwrap(),
                node: "bezirke".parse().unwrap(),
                envelope: b"jwe".to_vec(),
            }],
            organisation: None,
            receipt: None,
        },
        delivery,
    )
}

pub(crate) async fn r1_application_records_go_after_their_period_once_delivered(db: &TestDatabase) {
    let store = db.open().await.unwrap();
    let anna = AccountId::random();
    store
        .create_account(
            anna,
            &Email::parse("anna@example.org").unwrap(),
            "$argon2id$x",
            t(0),
        )
        .await
        .unwrap();
    let mut deliveries = Vec::new();
    for (reference, service) in [
        ("HA-2026-AAAA-0001", "local-test-dog"),
        ("HA-2026-AAAA-0002", "local-test-dog"),
        ("HA-2026-AAAA-0003", "local-test-dog"),
        ("HA-2026-AAAA-0004", "local-test-parking"),
    ] {
        let (new, delivery) = application(anna, reference, service);
        store.submit_application(&new).await.unwrap();
        deliveries.push(delivery);
    }
    // 0002 is still on its way; the others have arrived.
    for delivery in [deliveries[0], deliveries[2], deliveries[3]] {
        store.delivery_succeeded(delivery, t(1)).await.unwrap();
    }
    // A message about 0003 arrives late: its record stays while the message is young.
    let message = MailboxMessage {
        id: uuid::Uuid::new_v4(),
        reference: "HA-2026-AAAA-0003".to_owned(),
        account: anna,
        delivery_id: deliveries[2],
        authority: "kz-nord".to_owned(),
        direction: MessageDirection::ToCitizen,
        decision: true,
        sealed: b"sealed".to_vec(),
        received_at: t(60),
        read_at: None,
        expires_at: t(60) + Duration::days(365),
        delivery_state: None,
    };
    assert!(store.store_mailbox_message(&message, &[]).await.unwrap());

    assert_eq!(
        store.application_service_keys().await.unwrap(),
        ["local-test-dog", "local-test-parking"]
    );
    let deleted = store
        .purge_application_records("local-test-dog", t(30))
        .await
        .unwrap();
    assert_eq!(
        deleted,
        [RetentionDeleted {
            reference: "HA-2026-AAAA-0001".to_owned(),
            service_key: "local-test-dog".to_owned(),
            authority: None,
        }]
    );
    assert_eq!(
        store
            .application_account("HA-2026-AAAA-0001")
            .await
            .unwrap(),
        None
    );
    for kept in [
        "HA-2026-AAAA-0002",
        "HA-2026-AAAA-0003",
        "HA-2026-AAAA-0004",
    ] {
        assert_eq!(
            store.application_account(kept).await.unwrap(),
            Some(anna),
            "{kept} stays"
        );
    }
    // Later than the message, the record goes, and its message with it.
    let deleted = store
        .purge_application_records("local-test-dog", t(61))
        .await
        .unwrap();
    assert_eq!(deleted.len(), 1);
    assert_eq!(deleted[0].reference, "HA-2026-AAAA-0003");
    assert!(
        store
            .mailbox_messages(&anna, t(62))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store
            .application_account("HA-2026-AAAA-0002")
            .await
            .unwrap(),
        Some(anna),
        "still on its way"
    );
}

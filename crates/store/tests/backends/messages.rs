//! Messages between authority and citizen on every backend: at the node, a message is written
//! with the status change it makes and queued until the portal has it, and a reply is stored
//! once on the case it names; at the portal, the mailbox is private to its owner, a reply leaves
//! through the outbox without touching the application's status, and old messages go (R1).

use chrono::{DateTime, Duration, TimeZone, Utc};
use rathaus_domain::{AccountId, CaseStatus, ClerkId, Email};
use rathaus_store::testing::TestDatabase;
use rathaus_store::{
    ApplicationStatus, CaseRecord, CaseStatusChange, MailboxMessage, MessageDirection,
    NewApplication, NewCaseMessage, NewDelivery, NewReply,
};

fn t(minutes: i64) -> DateTime<Utc> {
    // Fractional seconds on purpose: SQLite compares times as text.
    Utc.with_ymd_and_hms(2026, 5, 4, 10, 0, 0).unwrap()
        + Duration::minutes(minutes)
        + Duration::milliseconds(250)
}

fn case(authority: &str, reference: &str) -> CaseRecord {
    CaseRecord {
        delivery_id: uuid::Uuid::new_v4(),
        reference: reference.to_owned(),
        authority: authority.to_owned(),
        service_key: "local-test-dog".to_owned(),
        envelope: b"jwe".to_vec(),
        status: "received".to_owned(),
        received_at: t(0),
        updated_at: t(0),
    }
}

pub(crate) async fn messages_are_written_with_their_status_change_and_replies_once(
    db: &TestDatabase,
) {
    let store = db.open().await.unwrap();
    let mine = case("kz-nord", "HA-2026-AAAA-0001");
    store.store_case(&mine).await.unwrap();
    let erika = ClerkId::random();
    let message = |authority: &str, from, to: Option<CaseStatus>, minute| NewCaseMessage {
        id: uuid::Uuid::new_v4(),
        case_id: mine.delivery_id,
        authority: authority.to_owned(),
        clerk: erika,
        decision: to == Some(CaseStatus::Decided),
        envelope: b"sealed".to_vec(),
        at: t(minute),
        status_change: to.map(|to| CaseStatusChange {
            case_id: mine.delivery_id,
            authority: authority.to_owned(),
            clerk: erika,
            from,
            to,
            at: t(minute),
            retain_until: None,
        }),
    };
    // Another authority, or a status that moved on meanwhile: nothing is written (Z2).
    for refused in [
        message("kz-sued", CaseStatus::Received, None, 1),
        message(
            "kz-nord",
            CaseStatus::InProgress,
            Some(CaseStatus::Decided),
            1,
        ),
    ] {
        assert!(!store.record_case_message(&refused).await.unwrap());
    }
    assert!(
        store
            .case_messages(mine.delivery_id)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(store.pending_status_messages(10).await.unwrap().is_empty());

    // A question: the message and the status change with its message for the portal.
    let question = message(
        "kz-nord",
        CaseStatus::Received,
        Some(CaseStatus::NeedsInformation),
        2,
    );
    assert!(store.record_case_message(&question).await.unwrap());
    let stored = store.case(mine.delivery_id).await.unwrap().unwrap();
    assert_eq!(stored.status, "needs_information");
    assert_eq!(store.pending_status_messages(10).await.unwrap().len(), 1);
    let due = store.pending_case_messages(t(2), 10).await.unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(
        (due[0].id, due[0].reference.as_str()),
        (question.id, "HA-2026-AAAA-0001")
    );
    // A failed attempt waits for its next time; a sent message is not due again.
    store
        .case_message_failed(question.id, "the portal answered 503", t(10))
        .await
        .unwrap();
    assert!(
        store
            .pending_case_messages(t(9), 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store.pending_case_messages(t(10), 10).await.unwrap().len(),
        1
    );
    store.case_message_sent(question.id, t(10)).await.unwrap();
    assert!(
        store
            .pending_case_messages(t(60), 10)
            .await
            .unwrap()
            .is_empty()
    );
    let kept = &store.case_messages(mine.delivery_id).await.unwrap()[0];
    assert_eq!((kept.attempts, kept.sent_at), (2, Some(t(10))));

    // A reply: only on the case of that authority and reference, once, and the case is worked
    // on again.
    let reply = uuid::Uuid::new_v4();
    for (authority, reference) in [
        ("kz-sued", "HA-2026-AAAA-0001"),
        ("kz-nord", "HA-2026-XXXX-0001"),
    ] {
        assert_eq!(
            store
                .store_reply(mine.delivery_id, authority, reference, reply, b"jwe", t(20))
                .await
                .unwrap(),
            None
        );
    }
    for stored in [true, false] {
        assert_eq!(
            store
                .store_reply(
                    mine.delivery_id,
                    "kz-nord",
                    "HA-2026-AAAA-0001",
                    reply,
                    b"jwe",
                    t(20)
                )
                .await
                .unwrap(),
            Some(stored)
        );
    }
    let messages = store.case_messages(mine.delivery_id).await.unwrap();
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[1].direction, MessageDirection::FromCitizen);
    assert_eq!(
        store.case(mine.delivery_id).await.unwrap().unwrap().status,
        "in_progress"
    );
    assert_eq!(store.pending_status_messages(10).await.unwrap().len(), 2);
}

pub(crate) async fn r1_the_mailbox_is_private_replies_leave_through_the_outbox_and_old_messages_go(
    db: &TestDatabase,
) {
    let store = db.open().await.unwrap();
    let (anna, bob) = (AccountId::random(), AccountId::random());
    for (id, email) in [(anna, "anna@example.org"), (bob, "bob@example.org")] {
        store
            .create_account(id, &Email::parse(email).unwrap(), "$argon2id$x", t(0))
            .await
            .unwrap();
    }
    let delivery = uuid::Uuid::new_v4();
    store
        .submit_application(&NewApplication {
            reference: "HA-2026-AAAA-0001".to_owned(),
            submission_id: uuid::Uuid::new_v4(),
            account: anna,
            service_key: "local-test-dog".to_owned(),
            submitted_at: t(0),
            deliveries: vec![NewDelivery {
                id: delivery,
                authority: "kz-nord".parse().unwrap(),
                node: "bezirke".parse().unwrap(),
                envelope: b"jwe".to_vec(),
            }],
            organisation: None,
            receipt: None,
        })
        .await
        .unwrap();
    store.delivery_succeeded(delivery, t(1)).await.unwrap();
    assert_eq!(
        store
            .application_account("HA-2026-AAAA-0001")
            .await
            .unwrap(),
        Some(anna)
    );
    let message = MailboxMessage {
        id: uuid::Uuid::new_v4(),
        reference: "HA-2026-AAAA-0001".to_owned(),
        account: anna,
        delivery_id: delivery,
        authority: "kz-nord".to_owned(),
        direction: MessageDirection::ToCitizen,
        decision: false,
        sealed: b"sealed".to_vec(),
        received_at: t(2),
        read_at: None,
        expires_at: t(2) + Duration::days(365),
        delivery_state: None,
    };
    let file = uuid::Uuid::new_v4();
    let files = vec![(file, b"sealed file".to_vec())];
    assert!(store.store_mailbox_message(&message, &files).await.unwrap());
    assert!(
        !store.store_mailbox_message(&message, &files).await.unwrap(),
        "stored once"
    );
    // Only Anna sees it (Z1), and reading it once counts.
    assert_eq!(store.unread_messages(&anna, t(3)).await.unwrap(), 1);
    assert!(store.mailbox_messages(&bob, t(3)).await.unwrap().is_empty());
    assert!(
        store
            .mailbox_message(&bob, message.id, t(3))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .mailbox_file(&bob, message.id, file, t(3))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        !store
            .mark_message_read(&bob, message.id, t(3))
            .await
            .unwrap()
    );
    assert_eq!(
        store
            .mailbox_file(&anna, message.id, file, t(3))
            .await
            .unwrap(),
        Some(b"sealed file".to_vec())
    );
    assert!(
        store
            .mark_message_read(&anna, message.id, t(3))
            .await
            .unwrap()
    );
    assert!(
        !store
            .mark_message_read(&anna, message.id, t(4))
            .await
            .unwrap()
    );
    assert_eq!(store.unread_messages(&anna, t(4)).await.unwrap(), 0);

    // A reply: the citizen's copy and an outbox entry naming the case, in one go; the
    // application's status is not the reply's.
    let reply = MailboxMessage {
        id: uuid::Uuid::new_v4(),
        direction: MessageDirection::FromCitizen,
        received_at: t(5),
        read_at: Some(t(5)),
        expires_at: t(5) + Duration::days(365),
        ..message.clone()
    };
    store
        .submit_reply(&NewReply {
            message: reply.clone(),
            files: Vec::new(),
            node: "bezirke".to_owned(),
            envelope: b"jwe for the node".to_vec(),
        })
        .await
        .unwrap();
    let claimed = store.claim_deliveries(t(5), t(7), 10).await.unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].in_reply_to, Some(delivery));
    store
        .delivery_failed(claimed[0].id, "gone", t(6), true, t(6))
        .await
        .unwrap();
    let shown = store
        .mailbox_message(&anna, reply.id, t(6))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(shown.delivery_state.as_deref(), Some("dead"));
    assert_eq!(
        store.applications(&anna).await.unwrap()[0].status,
        ApplicationStatus::Delivered,
        "a dead reply does not make the application undeliverable"
    );

    // R1: kept until its end, then deleted with its files.
    let end = t(2) + Duration::days(365);
    assert_eq!(
        store
            .purge_messages(end - Duration::seconds(1))
            .await
            .unwrap(),
        0
    );
    assert_eq!(store.purge_messages(end).await.unwrap(), 1);
    assert!(
        store
            .mailbox_file(&anna, message.id, file, t(3))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .mailbox_message(&anna, message.id, t(3))
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        store.mailbox_messages(&anna, t(6)).await.unwrap().len(),
        1,
        "the reply"
    );
}

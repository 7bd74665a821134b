//! The back office at an authority node (clerks, sessions, inbox, status changes and their
//! outbox) and the status back channel at the portal, on every backend.

use chrono::{DateTime, Duration, TimeZone, Utc};
use rathaus_domain::{AccountId, CaseStatus, ClerkId, ClerkRole, Email};
use rathaus_store::testing::TestDatabase;
use rathaus_store::{
    ApplicationStatus, CaseQuery, CaseRecord, CaseStatusChange, ClerkRecord, ClerkSessionRecord,
    NewApplication, NewDelivery, Store,
};

fn t(minutes: i64) -> DateTime<Utc> {
    // Fractional seconds on purpose: SQLite compares times as text.
    Utc.with_ymd_and_hms(2026, 5, 4, 10, 0, 0).unwrap()
        + Duration::minutes(minutes)
        + Duration::milliseconds(250)
}

fn clerk(authority: &str, email: &str) -> ClerkRecord {
    ClerkRecord {
        id: ClerkId::random(),
        authority: authority.to_owned(),
        email: Email::parse(email).unwrap(),
        display_name: "Erika Muster".to_owned(),
        password_hash: "$argon2id$x".to_owned(),
        role: ClerkRole::Clerk,
        created_at: t(0),
        updated_at: t(0),
    }
}

fn case(authority: &str, reference: &str, minute: i64) -> CaseRecord {
    CaseRecord {
        delivery_id: uuid::Uuid::new_v4(),
        reference: reference.to_owned(),
        authority: authority.to_owned(),
        service_key: "local-test-dog".to_owned(),
        envelope: b"jwe".to_vec(),
        status: "received".to_owned(),
        received_at: t(minute),
        updated_at: t(minute),
    }
}

fn query(authority: &str) -> CaseQuery {
    CaseQuery {
        authority: authority.to_owned(),
        status: None,
        reference: None,
        limit: 50,
        offset: 0,
    }
}

pub(crate) async fn clerks_are_unique_by_address_and_sessions_end(db: &TestDatabase) {
    let store = db.open().await.unwrap();
    let erika = clerk("kz-nord", "Erika@Example.org");
    store.create_clerk(&erika).await.unwrap();
    let clash = store
        .create_clerk(&clerk("kz-sued", "erika@example.org"))
        .await
        .unwrap_err();
    assert!(clash.is_conflict(), "{clash:?}");
    let found = store
        .clerk_by_email(&Email::parse("ERIKA@example.org").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.id, erika.id);
    assert_eq!(found.authority, "kz-nord");
    assert_eq!(found.role, ClerkRole::Clerk);
    store
        .set_clerk_password_hash(erika.id, "$argon2id$y", t(1))
        .await
        .unwrap();

    let session = ClerkSessionRecord {
        token_hash: "digest".to_owned(),
        clerk_id: erika.id,
        csrf_secret: "csrf".to_owned(),
        created_at: t(0),
        last_seen_at: t(0),
        expires_at: t(0) + Duration::hours(12),
    };
    store.create_clerk_session(&session).await.unwrap();
    let (found, who) = store.clerk_session("digest").await.unwrap().unwrap();
    assert_eq!(found, session);
    assert_eq!(who.password_hash, "$argon2id$y");
    store.touch_clerk_session("digest", t(20)).await.unwrap();
    // Idle since minute 10: the session was seen at minute 20 and stays.
    assert_eq!(store.purge_clerk_sessions(t(10), t(21)).await.unwrap(), 0);
    assert_eq!(store.purge_clerk_sessions(t(20), t(21)).await.unwrap(), 1);
    assert!(store.clerk_session("digest").await.unwrap().is_none());
    assert!(!store.delete_clerk_session("digest").await.unwrap());
}

pub(crate) async fn the_inbox_shows_one_authority_filtered_and_newest_first(db: &TestDatabase) {
    let store = db.open().await.unwrap();
    let old = case("kz-nord", "HA-2026-AAAA-0001", 1);
    let new = case("kz-nord", "HA-2026-BBBB-0002", 2);
    let foreign = case("kz-sued", "HA-2026-AAAA-0003", 3);
    let odd = case("kz-nord", "HA-2026-C%_D-0004", 0);
    for c in [&old, &new, &foreign, &odd] {
        store.store_case(c).await.unwrap();
    }
    let refs = |list: Vec<rathaus_store::CaseSummary>| -> Vec<String> {
        list.into_iter().map(|c| c.reference).collect()
    };
    assert_eq!(
        refs(store.case_inbox(&query("kz-nord")).await.unwrap()),
        [
            "HA-2026-BBBB-0002",
            "HA-2026-AAAA-0001",
            "HA-2026-C%_D-0004"
        ]
    );
    let mut search = query("kz-nord");
    search.reference = Some("aaaa".to_owned());
    assert_eq!(
        refs(store.case_inbox(&search).await.unwrap()),
        ["HA-2026-AAAA-0001"]
    );
    // `%` and `_` are taken literally.
    search.reference = Some("%".to_owned());
    assert_eq!(
        refs(store.case_inbox(&search).await.unwrap()),
        ["HA-2026-C%_D-0004"]
    );
    let mut page = query("kz-nord");
    page.limit = 1;
    page.offset = 1;
    assert_eq!(
        refs(store.case_inbox(&page).await.unwrap()),
        ["HA-2026-AAAA-0001"]
    );
    // Another authority's case is not found through this authority.
    assert!(
        store
            .authority_case("kz-nord", foreign.delivery_id)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .authority_case("kz-sued", foreign.delivery_id)
            .await
            .unwrap()
            .is_some()
    );

    let erika = ClerkId::random();
    let change = CaseStatusChange {
        case_id: new.delivery_id,
        authority: "kz-nord".to_owned(),
        clerk: erika,
        from: CaseStatus::Received,
        to: CaseStatus::InProgress,
        at: t(5),
        retain_until: None,
    };
    assert!(store.change_case_status(&change).await.unwrap());
    let mut in_progress = query("kz-nord");
    in_progress.status = Some(CaseStatus::InProgress);
    assert_eq!(
        refs(store.case_inbox(&in_progress).await.unwrap()),
        ["HA-2026-BBBB-0002"]
    );
}

pub(crate) async fn status_changes_write_history_and_outbox_together(db: &TestDatabase) {
    let store = db.open().await.unwrap();
    let mine = case("kz-nord", "HA-2026-AAAA-0001", 1);
    let foreign = case("kz-sued", "HA-2026-AAAA-0002", 1);
    store.store_case(&mine).await.unwrap();
    store.store_case(&foreign).await.unwrap();
    let erika = ClerkId::random();

    // The first look tells the portal "received"; the second does not.
    assert!(
        store
            .case_opened(mine.delivery_id, erika, t(2))
            .await
            .unwrap()
    );
    assert!(
        !store
            .case_opened(mine.delivery_id, erika, t(3))
            .await
            .unwrap()
    );
    let change = |case_id, authority: &str, from, to, minute| CaseStatusChange {
        case_id,
        authority: authority.to_owned(),
        clerk: erika,
        from,
        to,
        at: t(minute),
        retain_until: None,
    };
    // Another authority's case, or a stale `from`: nothing changes.
    assert!(
        !store
            .change_case_status(&change(
                foreign.delivery_id,
                "kz-nord",
                CaseStatus::Received,
                CaseStatus::Decided,
                4
            ))
            .await
            .unwrap()
    );
    assert!(
        !store
            .change_case_status(&change(
                mine.delivery_id,
                "kz-nord",
                CaseStatus::InProgress,
                CaseStatus::Decided,
                4
            ))
            .await
            .unwrap()
    );
    assert!(
        store
            .change_case_status(&change(
                mine.delivery_id,
                "kz-nord",
                CaseStatus::Received,
                CaseStatus::InProgress,
                5
            ))
            .await
            .unwrap()
    );
    assert!(
        store
            .change_case_status(&change(
                mine.delivery_id,
                "kz-nord",
                CaseStatus::InProgress,
                CaseStatus::Decided,
                6
            ))
            .await
            .unwrap()
    );
    assert_eq!(
        store
            .authority_case("kz-sued", foreign.delivery_id)
            .await
            .unwrap()
            .unwrap()
            .status,
        "received"
    );
    let history = store.case_history(mine.delivery_id).await.unwrap();
    let events: Vec<(&str, Option<&str>)> = history
        .iter()
        .map(|e| (e.event.as_str(), e.to_status.as_deref()))
        .collect();
    assert_eq!(
        events,
        [
            ("opened", None),
            ("status_changed", Some("in_progress")),
            ("status_changed", Some("decided"))
        ]
    );
    assert!(history.iter().all(|e| e.clerk == Some(erika)));

    // The outbox holds the three messages in order; a failure keeps one, sending drops it.
    let pending = store.pending_status_messages(10).await.unwrap();
    let statuses: Vec<CaseStatus> = pending.iter().map(|m| m.status).collect();
    assert_eq!(
        statuses,
        [
            CaseStatus::Received,
            CaseStatus::InProgress,
            CaseStatus::Decided
        ]
    );
    assert!(pending.iter().all(|m| m.reference == "HA-2026-AAAA-0001"));
    store
        .status_message_failed(pending[0].id, "portal unreachable")
        .await
        .unwrap();
    assert_eq!(store.pending_status_messages(10).await.unwrap().len(), 3);
    store.status_message_sent(pending[0].id).await.unwrap();
    let left = store.pending_status_messages(1).await.unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].id, pending[1].id);
}

pub(crate) async fn reported_statuses_set_the_application_status(db: &TestDatabase) {
    let store = db.open().await.unwrap();
    let account = AccountId::random();
    store
        .create_account(
            account,
            &Email::parse("anna@example.org").unwrap(),
            "$argon2id$x",
            t(0),
        )
        .await
        .unwrap();
    let (first, second) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
    let delivery = |id, authority: &str| NewDelivery {
        id,
        authority: authority.parse().unwrap(),
        node: "bezirke".parse().unwrap(),
        envelope: b"jwe".to_vec(),
    };
    store
        .submit_application(&NewApplication {
            reference: "HA-2026-AAAA-0001".to_owned(),
            submission_id: uuid::Uuid::new_v4(),
            account,
            service_key: "local-test-dog".to_owned(),
            submitted_at: t(0),
            deliveries: vec![delivery(first, "kz-nord"), delivery(second, "finanzamt")],
            organisation: None,
            receipt: None,
        })
        .await
        .unwrap();
    let route = store.delivery_route(second).await.unwrap().unwrap();
    assert_eq!(
        (
            route.reference.as_str(),
            route.authority.as_str(),
            route.node.as_str()
        ),
        ("HA-2026-AAAA-0001", "finanzamt", "bezirke")
    );
    assert!(
        store
            .delivery_route(uuid::Uuid::new_v4())
            .await
            .unwrap()
            .is_none()
    );
    let status = |store: std::sync::Arc<dyn Store>| async move {
        store
            .application(&account, "HA-2026-AAAA-0001")
            .await
            .unwrap()
            .unwrap()
            .status
    };
    store.delivery_succeeded(first, t(1)).await.unwrap();
    store.delivery_succeeded(second, t(1)).await.unwrap();
    assert_eq!(status(store.clone()).await, ApplicationStatus::Delivered);
    // One authority decides: the other has not yet even opened it.
    assert_eq!(
        store
            .record_case_status(first, CaseStatus::Decided, t(2))
            .await
            .unwrap(),
        Some(ApplicationStatus::Delivered)
    );
    assert_eq!(
        store
            .record_case_status(second, CaseStatus::InProgress, t(3))
            .await
            .unwrap(),
        Some(ApplicationStatus::InProgress)
    );
    // A question from any authority comes first.
    store
        .record_case_status(second, CaseStatus::NeedsInformation, t(4))
        .await
        .unwrap();
    assert_eq!(
        status(store.clone()).await,
        ApplicationStatus::NeedsInformation
    );
    store
        .record_case_status(second, CaseStatus::Decided, t(5))
        .await
        .unwrap();
    assert_eq!(status(store.clone()).await, ApplicationStatus::Decided);
    assert_eq!(
        store
            .record_case_status(uuid::Uuid::new_v4(), CaseStatus::Decided, t(6))
            .await
            .unwrap(),
        None
    );
}

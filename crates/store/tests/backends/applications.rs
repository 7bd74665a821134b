//! Drafts, submitted applications, the outbox, nonces and received cases, on every backend.

use chrono::{DateTime, Duration, TimeZone, Utc};
use rathaus_domain::{AccountId, Email};
use rathaus_store::testing::TestDatabase;
use rathaus_store::{
    ApplicationStatus, CaseRecord, DraftRecord, NewApplication, NewDelivery, Store, SubmitOutcome,
};

fn t(minutes: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 5, 4, 10, 0, 0).unwrap()
        + Duration::minutes(minutes)
        + Duration::milliseconds(250)
}

async fn account(store: &dyn Store, address: &str) -> AccountId {
    let id = AccountId::random();
    store
        .create_account(id, &Email::parse(address).unwrap(), "$argon2id$x", t(0))
        .await
        .unwrap();
    id
}

fn draft(account: AccountId, service: &str, sealed: &[u8], at: i64) -> DraftRecord {
    DraftRecord {
        id: uuid::Uuid::new_v4(),
        account,
        service_key: service.to_owned(),
        sealed: sealed.to_vec(),
        created_at: t(at),
        updated_at: t(at),
        expires_at: t(at) + Duration::days(30),
    }
}

fn application(account: AccountId, reference: &str, submission: uuid::Uuid) -> NewApplication {
    NewApplication {
        reference: reference.to_owned(),
        submission_id: submission,
        account,
        service_key: "local-test".into(),
        submitted_at: t(10),
        deliveries: vec![NewDelivery {
            id: uuid::Uuid::new_v4(),
            authority: "kundenzentrum-mitte".parse().unwrap(),
            node: "kundenzentren".parse().unwrap(),
            envelope: b"eyJhbGciOiJSU0EtT0FFUC0yNTYifQ.jwe".to_vec(),
        }],
        organisation: None,
        receipt: Some((b"sealed receipt".to_vec(), t(10) + Duration::hours(24))),
    }
}

pub(crate) async fn drafts_are_one_per_service_private_and_expire(db: &TestDatabase) {
    let store = db.open().await.unwrap();
    let anna = account(store.as_ref(), "anna@example.org").await;
    let bob = account(store.as_ref(), "bob@example.org").await;
    let first = draft(anna, "local-test", b"one", 0);
    store.save_draft(&first).await.unwrap();
    // Saving again replaces the content and keeps the id.
    let mut second = draft(anna, "local-test", b"two", 5);
    second.id = uuid::Uuid::new_v4();
    store.save_draft(&second).await.unwrap();
    let stored = store
        .draft(&anna, "local-test", t(6))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.id, first.id);
    assert_eq!(stored.sealed, b"two");
    assert!(
        store
            .draft(&bob, "local-test", t(6))
            .await
            .unwrap()
            .is_none()
    );

    let file = uuid::Uuid::new_v4();
    store
        .put_draft_file(first.id, file, b"pdf", t(6))
        .await
        .unwrap();
    assert_eq!(
        store.draft_file(&anna, file).await.unwrap().unwrap(),
        b"pdf"
    );
    assert!(
        store.draft_file(&bob, file).await.unwrap().is_none(),
        "only the owner reads it"
    );
    assert_eq!(store.drafts(&anna, t(6)).await.unwrap().len(), 1);

    // Past its expiry the draft is gone for reading at once, and the job deletes it and its files.
    let later = t(5) + Duration::days(30) + Duration::minutes(1);
    assert!(
        store
            .draft(&anna, "local-test", later)
            .await
            .unwrap()
            .is_none()
    );
    let report = store.purge_expired(later).await.unwrap();
    assert_eq!(report.drafts, 1);
    assert!(store.draft_file(&anna, file).await.unwrap().is_none());
}

pub(crate) async fn a_submit_is_written_once_with_its_outbox_and_receipt(db: &TestDatabase) {
    let store = db.open().await.unwrap();
    let anna = account(store.as_ref(), "anna@example.org").await;
    let bob = account(store.as_ref(), "bob@example.org").await;
    store
        .save_draft(&draft(anna, "local-test", b"answers", 0))
        .await
        .unwrap();
    let submission = uuid::Uuid::new_v4();
    let outcome = store
        .submit_application(&application(anna, "MU-2026-AAAA-BBBB", submission))
        .await
        .unwrap();
    assert_eq!(outcome, SubmitOutcome::Submitted);
    assert!(
        store
            .draft(&anna, "local-test", t(11))
            .await
            .unwrap()
            .is_none(),
        "draft deleted"
    );
    // The second click with another reference finds the first one.
    let again = store
        .submit_application(&application(anna, "MU-2026-CCCC-DDDD", submission))
        .await
        .unwrap();
    assert_eq!(
        again,
        SubmitOutcome::AlreadySubmitted {
            reference: "MU-2026-AAAA-BBBB".into()
        }
    );
    let listed = store.applications(&anna).await.unwrap();
    assert_eq!(listed.len(), 1);
    let found = store
        .application_by_submission(&anna, submission)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.reference, "MU-2026-AAAA-BBBB");
    assert!(
        store
            .application_by_submission(&bob, submission)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(listed[0].status, ApplicationStatus::Queued);
    assert!(store.applications(&bob).await.unwrap().is_empty());
    assert!(
        store
            .application(&bob, "MU-2026-AAAA-BBBB")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .receipt(&anna, "MU-2026-AAAA-BBBB", t(11))
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        store
            .receipt(&bob, "MU-2026-AAAA-BBBB", t(11))
            .await
            .unwrap()
            .is_none()
    );
    let report = store
        .purge_expired(t(11) + Duration::hours(24))
        .await
        .unwrap();
    assert_eq!(report.receipts, 1);
    assert_eq!(store.outbox_stats().await.unwrap().pending, 1);
}

pub(crate) async fn the_outbox_is_leased_retried_and_emptied(db: &TestDatabase) {
    let store = db.open().await.unwrap();
    let anna = account(store.as_ref(), "anna@example.org").await;
    store
        .submit_application(&application(
            anna,
            "MU-2026-AAAA-BBBB",
            uuid::Uuid::new_v4(),
        ))
        .await
        .unwrap();
    store
        .submit_application(&application(
            anna,
            "MU-2026-EEEE-FFFF",
            uuid::Uuid::new_v4(),
        ))
        .await
        .unwrap();
    let claimed = store.claim_deliveries(t(11), t(13), 10).await.unwrap();
    assert_eq!(claimed.len(), 2);
    assert_eq!(claimed[0].service_key, "local-test");
    assert!(!claimed[0].envelope.is_empty());
    // Leased: nobody else gets them until the lease ends.
    assert!(
        store
            .claim_deliveries(t(12), t(14), 10)
            .await
            .unwrap()
            .is_empty()
    );

    // One is acknowledged: its ciphertext is dropped and the application is delivered.
    let (done, failed) = (&claimed[0], &claimed[1]);
    store.delivery_succeeded(done.id, t(12)).await.unwrap();
    let delivered = store
        .application(&anna, &done.reference)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(delivered.status, ApplicationStatus::Delivered);
    // The other fails and comes due again after its backoff.
    store
        .delivery_failed(failed.id, "connection refused", t(20), false, t(12))
        .await
        .unwrap();
    assert!(
        store
            .claim_deliveries(t(19), t(21), 10)
            .await
            .unwrap()
            .is_empty()
    );
    let retry = store.claim_deliveries(t(20), t(22), 10).await.unwrap();
    assert_eq!(retry.len(), 1);
    assert_eq!(retry[0].attempts, 1);
    // Given up: a dead letter, and the citizen sees it.
    store
        .delivery_failed(failed.id, "gone", t(30), true, t(21))
        .await
        .unwrap();
    let dead = store
        .application(&anna, &failed.reference)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(dead.status, ApplicationStatus::Undeliverable);
    let stats = store.outbox_stats().await.unwrap();
    assert_eq!((stats.pending, stats.delivered, stats.dead), (0, 1, 1));
    assert!(
        store
            .claim_deliveries(t(40), t(42), 10)
            .await
            .unwrap()
            .is_empty()
    );
}

pub(crate) async fn nonces_and_cases_are_stored_once(db: &TestDatabase) {
    let store = db.open().await.unwrap();
    assert!(store.accept_nonce("portal:k1", "n1", t(0)).await.unwrap());
    assert!(
        !store.accept_nonce("portal:k1", "n1", t(1)).await.unwrap(),
        "a replay"
    );
    assert!(
        store.accept_nonce("portal:k2", "n1", t(1)).await.unwrap(),
        "per signer"
    );
    assert_eq!(store.purge_nonces(t(1)).await.unwrap(), 1);

    let case = CaseRecord {
        delivery_id: uuid::Uuid::new_v4(),
        reference: "MU-2026-AAAA-BBBB".into(),
        authority: "kundenzentrum-mitte".into(),
        service_key: "local-test".into(),
        envelope: b"jwe".to_vec(),
        status: "received".into(),
        received_at: t(0),
        updated_at: t(0),
    };
    assert!(store.store_case(&case).await.unwrap());
    assert!(
        !store.store_case(&case).await.unwrap(),
        "the same delivery again"
    );
    assert_eq!(store.cases("kundenzentrum-mitte").await.unwrap().len(), 1);
    assert!(store.cases("jugendamt-mitte").await.unwrap().is_empty());
    assert_eq!(store.case(case.delivery_id).await.unwrap().unwrap(), case);
}

/// Runs one statement on the test database directly, as someone with access to the files would.
async fn tamper(db: &TestDatabase, sql: &str) {
    match db.backend() {
        rathaus_store::Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(db.url()).await.unwrap();
            sqlx::query(sql).execute(&pool).await.unwrap();
            pool.close().await;
        }
        rathaus_store::Backend::Postgres => {
            let pool = sqlx::PgPool::connect(db.url()).await.unwrap();
            sqlx::query(sql).execute(&pool).await.unwrap();
            pool.close().await;
        }
    }
}

pub(crate) async fn c5_the_audit_log_is_a_hash_chain_that_names_the_broken_entry(
    db: &TestDatabase,
) {
    use rathaus_domain::AuditEvent;
    use rathaus_store::AuditRecord;
    let store = db.open().await.unwrap();
    let anna = account(store.as_ref(), "anna@example.org").await;
    for (i, event) in [
        AuditEvent::Register,
        AuditEvent::SignIn,
        AuditEvent::SignOut,
    ]
    .into_iter()
    .enumerate()
    {
        store
            .append_audit(&AuditRecord {
                id: 0,
                // Nanoseconds on purpose: stored and hashed to the microsecond on both backends.
                at: t(i as i64) + Duration::nanoseconds(123_456_789),
                event,
                account_id: Some(anna),
                detail: format!("entry {i}"),
            })
            .await
            .unwrap();
    }
    let ok = store.verify_audit().await.unwrap();
    assert_eq!((ok.entries, ok.first_broken), (3, None));
    let ids: Vec<i64> = {
        let mut ids: Vec<i64> = store
            .audit_entries(10)
            .await
            .unwrap()
            .iter()
            .map(|e| e.id)
            .collect();
        ids.sort();
        ids
    };

    // One changed character in the second entry: the verification names it.
    tamper(
        db,
        &format!(
            "UPDATE audit_log SET detail = 'entry X' WHERE id = {}",
            ids[1]
        ),
    )
    .await;
    assert_eq!(
        store.verify_audit().await.unwrap().first_broken,
        Some(ids[1])
    );
    // Put back, then delete it: the entry after the gap no longer links.
    tamper(
        db,
        &format!(
            "UPDATE audit_log SET detail = 'entry 1' WHERE id = {}",
            ids[1]
        ),
    )
    .await;
    assert_eq!(store.verify_audit().await.unwrap().first_broken, None);
    tamper(db, &format!("DELETE FROM audit_log WHERE id = {}", ids[1])).await;
    assert_eq!(
        store.verify_audit().await.unwrap().first_broken,
        Some(ids[2])
    );
}

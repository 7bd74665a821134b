//! Accounts, e-mail links, sessions, throttling, audit log and shared secrets, on every backend.

use chrono::{DateTime, Duration, TimeZone, Utc};
use rathaus_domain::{AccountId, AssuranceLevel, AuditEvent, Email, SessionId};
use rathaus_store::testing::TestDatabase;
use rathaus_store::{AuditRecord, EmailTokenPurpose, NewEmailToken, SessionRecord};

fn t(minutes: i64) -> DateTime<Utc> {
    // Fractional seconds on purpose: SQLite compares times as text.
    Utc.with_ymd_and_hms(2026, 5, 4, 10, 0, 0).unwrap()
        + Duration::minutes(minutes)
        + Duration::milliseconds(250)
}

fn email(raw: &str) -> Email {
    Email::parse(raw).unwrap()
}

fn session(account: AccountId, token: &str, created: i64, hours: i64) -> SessionRecord {
    SessionRecord {
        token_hash: token.to_owned(),
        id: SessionId::random(),
        account_id: account,
        csrf_secret: format!("csrf-{token}"),
        level: AssuranceLevel::Basic,
        created_at: t(created),
        last_seen_at: t(created),
        expires_at: t(created) + Duration::hours(hours),
    }
}

pub(crate) async fn accounts_are_unique_by_address_in_lowercase(db: &TestDatabase) {
    let store = db.open().await.unwrap();
    let id = AccountId::random();
    let anna = email("Anna@Example.org");
    store
        .create_account(id, &anna, "$argon2id$x", t(0))
        .await
        .unwrap();
    let clash = store
        .create_account(AccountId::random(), &email("anna@EXAMPLE.org"), "h", t(1))
        .await
        .unwrap_err();
    assert!(clash.is_conflict(), "{clash:?}");

    let found = store
        .account_by_email(&email("ANNA@example.org"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.id, id);
    assert_eq!(found.email.as_str(), "Anna@example.org");
    assert_eq!(found.level, AssuranceLevel::Basic);
    assert_eq!(found.email_confirmed_at, None);
    assert_eq!(found.created_at, t(0));
    assert!(
        store
            .account_by_email(&email("bob@example.org"))
            .await
            .unwrap()
            .is_none()
    );
    assert!(store.account(AccountId::random()).await.unwrap().is_none());

    assert!(store.confirm_email(id, t(2)).await.unwrap());
    assert!(
        !store.confirm_email(id, t(3)).await.unwrap(),
        "confirmed once"
    );
    store
        .set_password_hash(id, "$argon2id$new", t(4))
        .await
        .unwrap();
    let account = store.account(id).await.unwrap().unwrap();
    assert_eq!(account.email_confirmed_at, Some(t(2)));
    assert_eq!(account.password_hash, "$argon2id$new");
    assert_eq!(account.updated_at, t(4));
    store.close().await;
}

pub(crate) async fn email_links_are_single_use_and_expire(db: &TestDatabase) {
    let store = db.open().await.unwrap();
    let id = AccountId::random();
    store
        .create_account(id, &email("a@example.org"), "h", t(0))
        .await
        .unwrap();
    for (hash, purpose) in [
        ("c1", EmailTokenPurpose::Confirm),
        ("r1", EmailTokenPurpose::Reset),
    ] {
        store
            .create_email_token(&NewEmailToken {
                token_hash: hash.into(),
                account_id: id,
                purpose,
                created_at: t(0),
                expires_at: t(60),
            })
            .await
            .unwrap();
    }
    // The wrong purpose is as good as unknown.
    assert_eq!(
        store
            .email_token("c1", EmailTokenPurpose::Reset, t(1))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .email_token("c1", EmailTokenPurpose::Confirm, t(1))
            .await
            .unwrap(),
        Some(id)
    );
    // Looking does not use it; using it does, once.
    assert_eq!(
        store
            .use_email_token("c1", EmailTokenPurpose::Confirm, t(1))
            .await
            .unwrap(),
        Some(id)
    );
    assert_eq!(
        store
            .use_email_token("c1", EmailTokenPurpose::Confirm, t(2))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .email_token("c1", EmailTokenPurpose::Confirm, t(2))
            .await
            .unwrap(),
        None
    );
    // Expired exactly at its end.
    assert_eq!(
        store
            .use_email_token("r1", EmailTokenPurpose::Reset, t(60))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .use_email_token("nope", EmailTokenPurpose::Reset, t(1))
            .await
            .unwrap(),
        None
    );
    store.close().await;
}

pub(crate) async fn sessions_belong_to_their_account_and_end_on_the_server(db: &TestDatabase) {
    let store = db.open().await.unwrap();
    let anna = AccountId::random();
    let bob = AccountId::random();
    store
        .create_account(anna, &email("anna@example.org"), "h", t(0))
        .await
        .unwrap();
    store
        .create_account(bob, &email("bob@example.org"), "h", t(0))
        .await
        .unwrap();
    let first = session(anna, "tok-a1", 0, 12);
    let second = session(anna, "tok-a2", 10, 12);
    let bobs = session(bob, "tok-b1", 0, 12);
    for s in [&first, &second, &bobs] {
        store.create_session(s).await.unwrap();
    }
    let (found, account) = store.session("tok-a1").await.unwrap().unwrap();
    assert_eq!(found, first);
    assert_eq!(account.id, anna);
    assert!(store.session("unknown").await.unwrap().is_none());

    store.touch_session("tok-a1", t(20)).await.unwrap();
    assert_eq!(
        store
            .session("tok-a1")
            .await
            .unwrap()
            .unwrap()
            .0
            .last_seen_at,
        t(20)
    );

    // Newest first; idle ones (last seen at or before `idle_since`) and expired ones left out.
    let live = store.sessions_of(anna, t(5), t(30)).await.unwrap();
    assert_eq!(
        live.iter()
            .map(|s| s.token_hash.as_str())
            .collect::<Vec<_>>(),
        ["tok-a2", "tok-a1"]
    );
    let live = store.sessions_of(anna, t(10), t(30)).await.unwrap();
    assert_eq!(
        live.len(),
        1,
        "tok-a2 was last seen exactly at the idle limit"
    );
    assert!(
        store
            .sessions_of(anna, t(0), t(12 * 60 + 10))
            .await
            .unwrap()
            .is_empty()
    );

    // Z1: another account's session id is not found.
    assert!(!store.delete_account_session(bob, second.id).await.unwrap());
    assert!(store.session("tok-a2").await.unwrap().is_some());
    assert!(store.delete_account_session(anna, second.id).await.unwrap());
    assert!(store.session("tok-a2").await.unwrap().is_none());

    assert!(store.delete_session("tok-a1").await.unwrap());
    assert!(!store.delete_session("tok-a1").await.unwrap());
    store
        .create_session(&session(anna, "tok-a3", 0, 12))
        .await
        .unwrap();
    store
        .create_session(&session(anna, "tok-a4", 0, 12))
        .await
        .unwrap();
    assert_eq!(store.delete_sessions_of(anna).await.unwrap(), 2);
    assert!(
        store.session("tok-b1").await.unwrap().is_some(),
        "bob keeps his"
    );

    // Purging removes idle and expired sessions only.
    store
        .create_session(&session(anna, "tok-idle", 0, 12))
        .await
        .unwrap();
    store
        .create_session(&session(anna, "tok-fresh", 40, 12))
        .await
        .unwrap();
    store.touch_session("tok-b1", t(40)).await.unwrap();
    assert_eq!(store.purge_sessions(t(30), t(41)).await.unwrap(), 1);
    assert!(store.session("tok-fresh").await.unwrap().is_some());
    assert_eq!(store.purge_sessions(t(30), t(13 * 60)).await.unwrap(), 2);
    store.close().await;
}

pub(crate) async fn sign_in_failures_are_counted_per_key(db: &TestDatabase) {
    let store = db.open().await.unwrap();
    let keys = ["account:x".to_owned(), "client:y".to_owned()];
    for minute in [0, 1, 2] {
        store
            .record_sign_in_failure(&keys, t(minute))
            .await
            .unwrap();
    }
    store
        .record_sign_in_failure(&keys[1..], t(3))
        .await
        .unwrap();
    assert_eq!(
        store.sign_in_failures("account:x", t(0)).await.unwrap(),
        [t(1), t(2)]
    );
    assert_eq!(
        store
            .sign_in_failures("client:y", t(-1))
            .await
            .unwrap()
            .len(),
        4
    );
    store.clear_sign_in_failures("account:x").await.unwrap();
    assert!(
        store
            .sign_in_failures("account:x", t(-1))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.purge_sign_in_failures(t(2)).await.unwrap(), 2);
    assert_eq!(
        store.sign_in_failures("client:y", t(-1)).await.unwrap(),
        [t(2), t(3)]
    );
    store.close().await;
}

pub(crate) async fn the_audit_log_keeps_order_and_text(db: &TestDatabase) {
    let store = db.open().await.unwrap();
    let id = AccountId::random();
    for (minute, event, account) in [
        (0, AuditEvent::Register, Some(id)),
        (1, AuditEvent::SignInFailed, None),
        (2, AuditEvent::SignIn, Some(id)),
    ] {
        store
            .append_audit(&AuditRecord {
                id: 0,
                at: t(minute),
                event,
                account_id: account,
                detail: format!("detail {minute} \\r\\n"),
            })
            .await
            .unwrap();
    }
    let entries = store.audit_entries(2).await.unwrap();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0].event, AuditEvent::SignIn);
    assert_eq!(entries[0].account_id, Some(id));
    assert_eq!(entries[0].at, t(2));
    assert_eq!(entries[1].event, AuditEvent::SignInFailed);
    assert_eq!(entries[1].account_id, None);
    assert_eq!(entries[1].detail, "detail 1 \\r\\n");
    assert!(entries[0].id > entries[1].id);
    store.close().await;
}

pub(crate) async fn shared_secrets_are_written_once(db: &TestDatabase) {
    let store = db.open().await.unwrap();
    let first = store.shared_secret("csrf", b"first", t(0)).await.unwrap();
    let second = store.shared_secret("csrf", b"second", t(1)).await.unwrap();
    assert_eq!(first, b"first");
    assert_eq!(second, b"first");
    assert_eq!(
        store.shared_secret("other", b"x", t(1)).await.unwrap(),
        b"x"
    );
    store.close().await;
}

fn attributes(
    account: AccountId,
    scope: rathaus_store::AttributeScope,
    sealed: &[u8],
    at: i64,
) -> rathaus_store::VerifiedAttributesRecord {
    rathaus_store::VerifiedAttributesRecord {
        id: uuid::Uuid::new_v4(),
        account,
        scope,
        source: rathaus_domain::AttributeSource::Eid,
        verified_at: t(at),
        sealed: sealed.to_vec(),
        created_at: t(at),
    }
}

/// Session-only attributes end with their session; remembered ones stay with the account
/// until deleted; nobody sees another session's or account's (R4, Z1).
pub(crate) async fn verified_attributes_end_with_the_session_unless_remembered(db: &TestDatabase) {
    use rathaus_store::AttributeScope;
    let store = db.open().await.unwrap();
    let anna = AccountId::random();
    let bob = AccountId::random();
    for (id, address) in [(anna, "anna@example.org"), (bob, "bob@example.org")] {
        store
            .create_account(id, &email(address), "h", t(0))
            .await
            .unwrap();
    }
    let first = session(anna, "tok-v1", 0, 12);
    let second = session(anna, "tok-v2", 0, 12);
    let bobs = session(bob, "tok-v3", 0, 12);
    for s in [&first, &second, &bobs] {
        store.create_session(s).await.unwrap();
    }
    let mine = AttributeScope::Session(first.id);
    assert!(
        store
            .save_verified_attributes(&attributes(anna, mine, b"old", 1))
            .await
            .unwrap()
    );
    // A second check replaces the first.
    assert!(
        store
            .save_verified_attributes(&attributes(anna, mine, b"session", 2))
            .await
            .unwrap()
    );
    // Another account's session cannot be used to keep anything.
    assert!(
        !store
            .save_verified_attributes(&attributes(anna, AttributeScope::Session(bobs.id), b"x", 2))
            .await
            .unwrap()
    );
    let seen = store.verified_attributes(&anna, first.id).await.unwrap();
    assert_eq!(seen.len(), 1);
    assert_eq!(
        (seen[0].sealed.as_slice(), seen[0].scope),
        (&b"session"[..], mine)
    );
    assert_eq!(seen[0].verified_at, t(2));
    // The other session of the same account does not see them.
    assert!(
        store
            .verified_attributes(&anna, second.id)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .verified_attributes(&bob, first.id)
            .await
            .unwrap()
            .is_empty()
    );

    // Remembered ones are seen by every session of the account, after the session's own.
    store
        .save_verified_attributes(&attributes(anna, AttributeScope::Remembered, b"kept", 3))
        .await
        .unwrap();
    let seen = store.verified_attributes(&anna, first.id).await.unwrap();
    let scopes: Vec<_> = seen.iter().map(|r| r.scope).collect();
    assert_eq!(scopes, [mine, AttributeScope::Remembered]);
    assert_eq!(
        store
            .verified_attributes(&anna, second.id)
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(
        store
            .verified_attributes(&bob, bobs.id)
            .await
            .unwrap()
            .is_empty()
    );

    // Sign-out ends the session's attributes, not the remembered ones.
    store.delete_session("tok-v1").await.unwrap();
    let seen = store.verified_attributes(&anna, first.id).await.unwrap();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].scope, AttributeScope::Remembered);
    // Idle expiry too.
    store
        .save_verified_attributes(&attributes(
            anna,
            AttributeScope::Session(second.id),
            b"s2",
            4,
        ))
        .await
        .unwrap();
    store.purge_sessions(t(60), t(60)).await.unwrap();
    assert!(
        store
            .verified_attributes(&anna, second.id)
            .await
            .unwrap()
            .iter()
            .all(|r| r.scope == AttributeScope::Remembered)
    );
    // The citizen deletes the remembered ones.
    assert_eq!(
        store
            .delete_verified_attributes(&bob, AttributeScope::Remembered)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        store
            .delete_verified_attributes(&anna, AttributeScope::Remembered)
            .await
            .unwrap(),
        1
    );
    assert!(
        store
            .verified_attributes(&anna, first.id)
            .await
            .unwrap()
            .is_empty()
    );
}

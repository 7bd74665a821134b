//! The second factor's storage (authenticator, recovery codes, pending sign-ins) on SQLite
//! always and on PostgreSQL when `DATABASE_URL` is set; each test on a fresh database. What the
//! portal relies on for replays and single use is decided here, by conditional statements.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use rathaus_domain::{AccountId, Email};
use rathaus_store::testing::TestDatabase;
use rathaus_store::{PendingSignInRecord, Store};

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
    an_unconfirmed_factor_is_replaced_a_confirmed_one_is_kept,
    a_time_step_is_accepted_once_and_never_an_older_one,
    recovery_codes_work_once_and_only_for_their_account,
    a_pending_sign_in_finishes_once_expires_and_ends_after_too_many_failures,
    removing_the_factor_removes_its_recovery_codes,
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

/// An account with a confirmed factor (accepted step 100) and the recovery codes `r1`, `r2`.
async fn enrolled(store: &Arc<dyn Store>, email: &str) -> AccountId {
    let id = account(store, email).await;
    assert!(
        store
            .start_totp_enrolment(&id, b"sealed", t0())
            .await
            .unwrap()
    );
    let codes = ["r1".to_owned(), "r2".to_owned()];
    assert!(store.confirm_totp(&id, 100, &codes, t0()).await.unwrap());
    id
}

async fn an_unconfirmed_factor_is_replaced_a_confirmed_one_is_kept(store: Arc<dyn Store>) {
    let anna = account(&store, "anna@example.org").await;
    assert!(store.totp_factor(&anna).await.unwrap().is_none());
    assert!(
        store
            .start_totp_enrolment(&anna, b"first", t0())
            .await
            .unwrap()
    );
    assert!(
        store
            .start_totp_enrolment(&anna, b"second", t0())
            .await
            .unwrap()
    );
    let factor = store.totp_factor(&anna).await.unwrap().unwrap();
    assert_eq!(factor.secret_sealed, b"second");
    assert_eq!(factor.confirmed_at, None);
    // An unconfirmed factor accepts no code.
    assert!(!store.claim_totp_step(&anna, 1).await.unwrap());
    assert!(
        store
            .confirm_totp(&anna, 7, &["x".to_owned()], t0())
            .await
            .unwrap()
    );
    assert!(
        !store
            .confirm_totp(&anna, 8, &["y".to_owned()], t0())
            .await
            .unwrap()
    );
    assert!(
        !store
            .start_totp_enrolment(&anna, b"third", t0())
            .await
            .unwrap()
    );
    let factor = store.totp_factor(&anna).await.unwrap().unwrap();
    assert_eq!(factor.secret_sealed, b"second");
    assert_eq!(factor.confirmed_at, Some(t0()));
    assert_eq!(factor.last_step, Some(7));
    assert_eq!(factor.recovery_codes_left, 1);
}

async fn a_time_step_is_accepted_once_and_never_an_older_one(store: Arc<dyn Store>) {
    let anna = enrolled(&store, "anna@example.org").await;
    // The step that confirmed the factor is used up.
    assert!(!store.claim_totp_step(&anna, 100).await.unwrap());
    assert!(store.claim_totp_step(&anna, 102).await.unwrap());
    assert!(!store.claim_totp_step(&anna, 102).await.unwrap());
    assert!(!store.claim_totp_step(&anna, 101).await.unwrap());
    // Two sign-ins with the same code at once: exactly one wins.
    let (a, b) = tokio::join!(
        store.claim_totp_step(&anna, 103),
        store.claim_totp_step(&anna, 103)
    );
    assert!(a.unwrap() ^ b.unwrap());
    let bert = enrolled(&store, "bert@example.org").await;
    assert!(
        store.claim_totp_step(&bert, 103).await.unwrap(),
        "steps are per account"
    );
}

async fn recovery_codes_work_once_and_only_for_their_account(store: Arc<dyn Store>) {
    let anna = enrolled(&store, "anna@example.org").await;
    let bert = account(&store, "bert@example.org").await;
    assert!(!store.use_recovery_code(&bert, "r1", t0()).await.unwrap());
    assert!(store.use_recovery_code(&anna, "r1", t0()).await.unwrap());
    assert!(!store.use_recovery_code(&anna, "r1", t0()).await.unwrap());
    assert!(!store.use_recovery_code(&anna, "r3", t0()).await.unwrap());
    let factor = store.totp_factor(&anna).await.unwrap().unwrap();
    assert_eq!(factor.recovery_codes_left, 1);
}

fn pending(account: AccountId, token: &str, at: DateTime<Utc>) -> PendingSignInRecord {
    PendingSignInRecord {
        token_hash: token.to_owned(),
        account_id: account,
        next_path: "/account".to_owned(),
        created_at: at,
        expires_at: at + Duration::minutes(5),
    }
}

async fn a_pending_sign_in_finishes_once_expires_and_ends_after_too_many_failures(
    store: Arc<dyn Store>,
) {
    let anna = enrolled(&store, "anna@example.org").await;
    store
        .create_pending_sign_in(&pending(anna, "p1", t0()))
        .await
        .unwrap();
    let found = store.pending_sign_in("p1", t0()).await.unwrap().unwrap();
    assert_eq!(found, pending(anna, "p1", t0()));
    assert!(store.finish_pending_sign_in("p1", t0()).await.unwrap());
    assert!(!store.finish_pending_sign_in("p1", t0()).await.unwrap());
    assert!(store.pending_sign_in("p1", t0()).await.unwrap().is_none());

    store
        .create_pending_sign_in(&pending(anna, "p2", t0()))
        .await
        .unwrap();
    let end = t0() + Duration::minutes(5);
    assert!(
        store
            .pending_sign_in("p2", end - Duration::seconds(1))
            .await
            .unwrap()
            .is_some()
    );
    assert!(store.pending_sign_in("p2", end).await.unwrap().is_none());
    assert!(!store.finish_pending_sign_in("p2", end).await.unwrap());

    store
        .create_pending_sign_in(&pending(anna, "p3", t0()))
        .await
        .unwrap();
    for _ in 0..2 {
        assert!(!store.pending_sign_in_failed("p3", 3).await.unwrap());
    }
    assert!(store.pending_sign_in_failed("p3", 3).await.unwrap());
    assert!(store.pending_sign_in("p3", t0()).await.unwrap().is_none());

    // A new pending sign-in sweeps the expired ones.
    store
        .create_pending_sign_in(&pending(anna, "p4", end + Duration::minutes(1)))
        .await
        .unwrap();
    assert!(
        !store.finish_pending_sign_in("p2", t0()).await.unwrap(),
        "swept"
    );
}

async fn removing_the_factor_removes_its_recovery_codes(store: Arc<dyn Store>) {
    let anna = enrolled(&store, "anna@example.org").await;
    assert!(store.remove_totp(&anna).await.unwrap());
    assert!(!store.remove_totp(&anna).await.unwrap());
    assert!(store.totp_factor(&anna).await.unwrap().is_none());
    assert!(!store.use_recovery_code(&anna, "r2", t0()).await.unwrap());
    // Enrolling again starts from nothing: old codes do not come back.
    let again = enrolled(&store, "bert@example.org").await;
    store
        .create_pending_sign_in(&pending(again, "p", t0()))
        .await
        .unwrap();
    assert!(store.use_recovery_code(&again, "r1", t0()).await.unwrap());
}

//! Identification codes for the in-person check (SECURITY.md A6, A8) on SQLite always and on
//! PostgreSQL when `DATABASE_URL` is set; each test on a fresh database.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use rathaus_domain::{AccountId, AssuranceLevel, Email, SessionId};
use rathaus_store::testing::TestDatabase;
use rathaus_store::{IssuedCode, Redemption, SessionRecord, Store};

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
    a6_a_code_is_single_use_and_raises_to_substantial_once,
    a6_a_code_expires_after_its_time_to_the_second,
    a6_asking_again_replaces_the_old_code,
    a6_a_code_belongs_to_one_account,
    a8_redeeming_ends_every_session_of_the_account_only,
    a6_an_account_above_substantial_keeps_its_level_and_sessions,
);

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 1, 8, 0, 0).unwrap()
}

const DAYS_14: Duration = Duration::days(14);

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

async fn level(store: &Arc<dyn Store>, account: AccountId) -> AssuranceLevel {
    store.account(account).await.unwrap().unwrap().level
}

async fn a6_a_code_is_single_use_and_raises_to_substantial_once(store: Arc<dyn Store>) {
    let anna = account(&store, "anna@example.org").await;
    store
        .issue_identification_code(&anna, "hash-a", t0(), t0() + DAYS_14, false)
        .await
        .unwrap();
    assert_eq!(
        store.identification_code(&anna, t0()).await.unwrap(),
        Some(IssuedCode {
            created_at: t0(),
            expires_at: t0() + DAYS_14
        })
    );
    let later = t0() + Duration::days(3);
    let Redemption::Redeemed {
        account,
        before,
        after,
        ..
    } = store
        .redeem_identification_code("hash-a", later)
        .await
        .unwrap()
    else {
        panic!("the code was refused");
    };
    assert_eq!(
        (account, before, after),
        (anna, AssuranceLevel::Basic, AssuranceLevel::Substantial)
    );
    assert_eq!(level(&store, anna).await, AssuranceLevel::Substantial);
    assert_eq!(store.identification_code(&anna, later).await.unwrap(), None);
    // Reuse is refused, however soon.
    assert_eq!(
        store
            .redeem_identification_code("hash-a", later)
            .await
            .unwrap(),
        Redemption::Used
    );
    assert_eq!(
        store
            .redeem_identification_code("never-issued", later)
            .await
            .unwrap(),
        Redemption::Unknown
    );
}

async fn a6_a_code_expires_after_its_time_to_the_second(store: Arc<dyn Store>) {
    let anna = account(&store, "anna@example.org").await;
    let bob = account(&store, "bob@example.org").await;
    store
        .issue_identification_code(&anna, "hash-a", t0(), t0() + DAYS_14, false)
        .await
        .unwrap();
    store
        .issue_identification_code(&bob, "hash-b", t0(), t0() + DAYS_14, false)
        .await
        .unwrap();
    let end = t0() + DAYS_14;
    assert_eq!(
        store
            .redeem_identification_code("hash-a", end + Duration::seconds(1))
            .await
            .unwrap(),
        Redemption::Expired
    );
    assert_eq!(
        store
            .redeem_identification_code("hash-a", end)
            .await
            .unwrap(),
        Redemption::Expired,
        "valid while now < expires_at"
    );
    assert_eq!(level(&store, anna).await, AssuranceLevel::Basic);
    assert!(matches!(
        store
            .redeem_identification_code("hash-b", end - Duration::seconds(1))
            .await
            .unwrap(),
        Redemption::Redeemed { .. }
    ));
}

async fn a6_asking_again_replaces_the_old_code(store: Arc<dyn Store>) {
    let anna = account(&store, "anna@example.org").await;
    store
        .issue_identification_code(&anna, "old", t0(), t0() + DAYS_14, false)
        .await
        .unwrap();
    let again = t0() + Duration::days(10);
    store
        .issue_identification_code(&anna, "new", again, again + DAYS_14, true)
        .await
        .unwrap();
    assert_eq!(
        store
            .redeem_identification_code("old", again)
            .await
            .unwrap(),
        Redemption::Unknown
    );
    // The new code has its own 14 days, and the consent given with it (not the old one's).
    assert!(matches!(
        store
            .redeem_identification_code("new", t0() + Duration::days(20))
            .await
            .unwrap(),
        Redemption::Redeemed {
            remember_attributes: true,
            ..
        }
    ));
}

async fn a6_a_code_belongs_to_one_account(store: Arc<dyn Store>) {
    let anna = account(&store, "anna@example.org").await;
    let bob = account(&store, "bob@example.org").await;
    store
        .issue_identification_code(&anna, "hash-a", t0(), t0() + DAYS_14, false)
        .await
        .unwrap();
    store
        .issue_identification_code(&bob, "hash-b", t0(), t0() + DAYS_14, false)
        .await
        .unwrap();
    // Bob's code raises Bob, never Anna.
    let Redemption::Redeemed { account, .. } = store
        .redeem_identification_code("hash-b", t0())
        .await
        .unwrap()
    else {
        panic!("refused");
    };
    assert_eq!(account, bob);
    assert_eq!(level(&store, anna).await, AssuranceLevel::Basic);
    assert!(
        store
            .identification_code(&anna, t0())
            .await
            .unwrap()
            .is_some()
    );
    // Two accounts cannot hold the same digest.
    assert!(
        store
            .issue_identification_code(&bob, "hash-a", t0(), t0() + DAYS_14, false)
            .await
            .is_err()
    );
}

async fn a8_redeeming_ends_every_session_of_the_account_only(store: Arc<dyn Store>) {
    let anna = account(&store, "anna@example.org").await;
    let bob = account(&store, "bob@example.org").await;
    session(&store, anna, "anna-1").await;
    session(&store, anna, "anna-2").await;
    session(&store, bob, "bob-1").await;
    store
        .issue_identification_code(&anna, "hash-a", t0(), t0() + DAYS_14, false)
        .await
        .unwrap();
    let Redemption::Redeemed { sessions_ended, .. } = store
        .redeem_identification_code("hash-a", t0())
        .await
        .unwrap()
    else {
        panic!("refused");
    };
    assert_eq!(sessions_ended, 2);
    assert!(store.session("anna-1").await.unwrap().is_none());
    assert!(store.session("anna-2").await.unwrap().is_none());
    assert!(store.session("bob-1").await.unwrap().is_some());
}

async fn a6_an_account_above_substantial_keeps_its_level_and_sessions(store: Arc<dyn Store>) {
    let anna = account(&store, "anna@example.org").await;
    session(&store, anna, "anna-1").await;
    store
        .issue_identification_code(&anna, "hash-a", t0(), t0() + DAYS_14, false)
        .await
        .unwrap();
    store
        .set_assurance_level(&anna, AssuranceLevel::High, t0())
        .await
        .unwrap();
    assert_eq!(
        store
            .redeem_identification_code("hash-a", t0())
            .await
            .unwrap(),
        Redemption::Redeemed {
            account: anna,
            before: AssuranceLevel::High,
            after: AssuranceLevel::High,
            sessions_ended: 0,
            remember_attributes: false,
        }
    );
    assert_eq!(level(&store, anna).await, AssuranceLevel::High);
    assert!(store.session("anna-1").await.unwrap().is_some());
}

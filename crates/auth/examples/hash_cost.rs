//! Measures what one password hash costs on this machine with the production parameters
//! (argon2id, m=19456 KiB, t=2, p=1): `cargo run --release -p rathaus-auth --example hash_cost`.
//! A sign-in costs one verification, a registration or password change one hash.
#![allow(clippy::print_stdout, clippy::unwrap_used)]

use std::time::{Duration, Instant};

use rathaus_auth::{Hasher, Policy};
use rathaus_domain::{Blocklist, NewPassword, PasswordAttempt};

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let hasher = Hasher::new(Policy::production(), 1, Duration::from_secs(60))
        .await
        .unwrap();
    let password = NewPassword::parse(
        "ein Satz zum Messen der Kosten",
        &Blocklist::default(),
        None,
    )
    .unwrap();
    let stored = hasher.hash(&password).await.unwrap();
    let attempt = PasswordAttempt::parse("ein Satz zum Messen der Kosten").unwrap();
    let rounds = 20;
    let started = Instant::now();
    for _ in 0..rounds {
        hasher
            .verify(&attempt, Some(stored.as_str()))
            .await
            .unwrap();
    }
    let each = started.elapsed() / rounds;
    println!(
        "argon2id m=19456 KiB, t=2, p=1: one verification takes {:.1} ms (mean of {rounds}); \
         one worker serves about {:.0} sign-ins per second",
        each.as_secs_f64() * 1000.0,
        1.0 / each.as_secs_f64()
    );
}

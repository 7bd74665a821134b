//! What the envelope costs: times key generation, seal/open of 1 KB, 1 MB and 10 MB, and
//! sign/verify of a receipt. Run with `cargo run --release -p rathaus-seal --example seal_cost`.
#![allow(clippy::print_stdout)]

use std::time::{Duration as Elapsed, Instant};

use chrono::{DateTime, Duration, Utc};
use rathaus_seal::{PrivateKeySet, SealError, open, seal, sign, verify};
use serde_json::json;

fn main() -> Result<(), SealError> {
    let now = DateTime::<Utc>::from_timestamp(1_767_600_000, 0).unwrap_or_default();

    let started = Instant::now();
    let keys = PrivateKeySet::generate("authority-example", now, Duration::days(365))?;
    println!(
        "generate (2 × RSA 4096)       {:>10.1} ms",
        ms(started.elapsed())
    );
    let public = keys.public();

    for (label, size) in [
        ("1 KB", 1024),
        ("1 MB", 1024 * 1024),
        ("10 MB", 10 * 1024 * 1024),
    ] {
        let payload: Vec<u8> = (0..size).map(|i: usize| (i % 251) as u8).collect();
        let runs = if size > 1024 * 1024 { 3 } else { 20 };
        let (mut seal_time, mut open_time) = (Elapsed::ZERO, Elapsed::ZERO);
        let mut jwe_len = 0;
        for _ in 0..runs {
            let started = Instant::now();
            let sealed = seal(&payload, "application/octet-stream", &public, now)?;
            seal_time += started.elapsed();
            jwe_len = sealed.jwe.len();
            let started = Instant::now();
            let opened = open(&sealed.jwe, &keys, now)?;
            open_time += started.elapsed();
            assert_eq!(opened.len(), payload.len());
        }
        println!(
            "seal {label:<6} → {:>9} B JWE  {:>10.2} ms   open {:>10.2} ms   (mean of {runs})",
            jwe_len,
            ms(seal_time) / f64::from(runs),
            ms(open_time) / f64::from(runs),
        );
    }

    let receipt =
        json!({ "submission": "0190c2a4-7d1e-7c3b-9f00-1a2b3c4d5e6f", "status": "received" });
    let runs = 50;
    let (mut sign_time, mut verify_time) = (Elapsed::ZERO, Elapsed::ZERO);
    for _ in 0..runs {
        let started = Instant::now();
        let jws = sign(&receipt, "rathaus-receipt+jws", &keys, now)?;
        sign_time += started.elapsed();
        let started = Instant::now();
        verify(
            &jws,
            "rathaus-receipt+jws",
            &public,
            now,
            Duration::minutes(5),
        )?;
        verify_time += started.elapsed();
    }
    println!(
        "sign receipt (PS512)          {:>10.2} ms   verify {:>8.2} ms   (mean of {runs})",
        ms(sign_time) / f64::from(runs),
        ms(verify_time) / f64::from(runs),
    );
    Ok(())
}

fn ms(elapsed: Elapsed) -> f64 {
    elapsed.as_secs_f64() * 1000.0
}

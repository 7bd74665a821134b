//! Delivery benchmark (issue 5): how many applications the portal accepts per second — the
//! submit request validates every step again, builds the submission document, encrypts it as
//! JWE to each recipient's key, renders and seals the PDF receipt, and commits application,
//! outbox entries and receipt in one transaction — and how long an application then takes
//! until it is stored at the authority node, while that burst is being delivered.
//!
//! Drives the real `rathaus demo` (portal and four authority node processes, SQLite) over
//! HTTP. Built as a bench target of crates/cli so it uses the same `rathaus` binary and test
//! helpers; run it with `cargo bench -p rathaus --bench delivery` (see bench/README.md).
//! Settings: `BENCH_SUBMISSIONS` (default 60; one account each, since a draft is per account
//! and service), `BENCH_CONCURRENCY` (default 8).
// A measuring program: it reports on stdout, and its setup panics on purpose when the demo
// misbehaves.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    dead_code
)]

#[path = "../crates/cli/tests/common/mod.rs"]
mod common;
#[path = "support.rs"]
mod support;

use std::time::{Duration, Instant};

use common::nodes::{DOG, fill_in};
use common::{Demo, DemoOptions};
use support::{citizen, cookie_header, percentile, setting};

fn summary(label: &str, values: &mut [f64]) {
    values.sort_by(f64::total_cmp);
    println!(
        "{label:<44} {:>4} × p50 {:>8.1} ms  p95 {:>8.1} ms  max {:>8.1} ms",
        values.len(),
        percentile(values, 50.0),
        percentile(values, 95.0),
        values.last().copied().unwrap_or(f64::NAN),
    );
}

#[tokio::main]
async fn main() {
    // `cargo bench` passes `--bench`; a filter argument would not mean anything here.
    let submissions = setting("BENCH_SUBMISSIONS", 60);
    let concurrency = setting("BENCH_CONCURRENCY", 8).min(submissions);
    let demo = Demo::start_with(DemoOptions {
        log_filter: Some("warn"),
        ..DemoOptions::default()
    });
    println!(
        "rathaus delivery benchmark: {submissions} submissions of the dog registration, \
         {concurrency} at a time, against `rathaus demo` (SQLite, 4 node processes)"
    );

    // Setup (not measured): one account per submission, each with a completed draft.
    let setup = Instant::now();
    let mut ready = Vec::with_capacity(submissions);
    for i in 0..submissions {
        let mut browser = citizen(&demo, &format!("bench{i}@example.org")).await;
        let fields = fill_in(&mut browser, &format!("Bench {i}")).await;
        ready.push((browser, fields));
    }
    println!(
        "setup: {submissions} accounts with a completed form in {:.1} s",
        setup.elapsed().as_secs_f64()
    );

    // The burst: every submit request, `concurrency` at a time.
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let portal = demo.portal.clone();
    let semaphore = std::sync::Arc::new(tokio::sync::Semaphore::new(concurrency));
    let burst = Instant::now();
    let mut tasks = Vec::new();
    for (browser, fields) in ready {
        let client = client.clone();
        let url = format!("{portal}/services/{DOG}/submit");
        let semaphore = std::sync::Arc::clone(&semaphore);
        tasks.push(tokio::spawn(async move {
            let _permit = semaphore.acquire_owned().await.unwrap();
            let cookie = cookie_header(&browser);
            let started = Instant::now();
            let response = client
                .post(url)
                .header("cookie", cookie)
                .form(&fields)
                .send()
                .await
                .unwrap();
            let took = started.elapsed().as_secs_f64() * 1000.0;
            assert_eq!(response.status().as_u16(), 303, "the submit is accepted");
            took
        }));
    }
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.push(task.await.unwrap());
    }
    let burst_secs = burst.elapsed().as_secs_f64();

    // Wait until the node holds all of them, then read when each was submitted (portal) and
    // stored (node); both processes use the same system clock.
    let portal_db = format!(
        "sqlite:{}?mode=ro",
        demo.data_dir().join("portal.db").display()
    );
    let node_db = format!(
        "sqlite:{}?mode=ro",
        demo.data_dir().join("nodes/landesbehoerden.db").display()
    );
    let deadline = Instant::now() + Duration::from_secs(600);
    let portal_pool = sqlx::SqlitePool::connect(&portal_db).await.unwrap();
    loop {
        let (delivered,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM deliveries WHERE state = 'delivered'")
                .fetch_one(&portal_pool)
                .await
                .unwrap();
        if delivered as usize >= submissions {
            break;
        }
        assert!(Instant::now() < deadline, "not all delivered in 10 minutes");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let drained_secs = burst.elapsed().as_secs_f64();
    let submitted: Vec<(String, chrono::DateTime<chrono::Utc>)> =
        sqlx::query_as("SELECT reference, submitted_at FROM applications")
            .fetch_all(&portal_pool)
            .await
            .unwrap();
    let node_pool = sqlx::SqlitePool::connect(&node_db).await.unwrap();
    let stored: Vec<(String, chrono::DateTime<chrono::Utc>)> =
        sqlx::query_as("SELECT reference, received_at FROM cases")
            .fetch_all(&node_pool)
            .await
            .unwrap();
    let stored: std::collections::HashMap<_, _> = stored.into_iter().collect();
    let mut to_node: Vec<f64> = submitted
        .iter()
        .filter_map(|(reference, at)| {
            stored
                .get(reference)
                .map(|s| (*s - *at).num_microseconds().unwrap_or(0) as f64 / 1000.0)
        })
        .collect();
    assert_eq!(
        to_node.len(),
        submissions,
        "every application reached the node"
    );

    println!(
        "submit burst: {submissions} in {burst_secs:.2} s = {:.1} submissions/s (validate, encrypt, receipt, commit)",
        submissions as f64 / burst_secs
    );
    summary("submit request latency", &mut latencies);
    summary("submit → stored at the authority node", &mut to_node);
    println!("all {submissions} stored at the node {drained_secs:.2} s after the burst began");
}

//! Accounts benchmark (issue 3): the measured cost of a sign-in and of an authenticated page
//! request.
//!
//! 1. argon2id alone, with the production policy (`Policy::production()`: 19 MiB, t = 2,
//!    p = 1) through `rathaus_auth::Hasher` as the portal uses it: hashes and verifies one at a
//!    time (mean, p50, p95), then verifies with a pool of one worker per CPU kept full, which
//!    is the ceiling of sign-ins per second on this machine.
//! 2. A full sign-in over HTTP against the real `rathaus demo`: GET the form (CSRF token and
//!    cookie), POST e-mail and password, follow the 303 to the account page. Every account
//!    once per concurrency level; latency of the whole and of the POST alone, sign-ins per
//!    second, and the answers 429 counted apart (the hashing pool is bounded and sheds load
//!    with 429 when no worker frees up within `portal.password_wait_ms`).
//! 3. Page requests over keep-alive connections: signed-in pages (`/account`, `/applications`,
//!    and the start page with a session cookie) against anonymous ones (the start page and a
//!    service page), the same number of requests and connections each, in the same run.
//!
//! A bench target of crates/cli, so it drives the same `rathaus` binary as the integration
//! tests and reuses their helpers; run it with `cargo bench -p rathaus --bench accounts` (see
//! bench/README.md). Settings: `BENCH_ARGON2_ROUNDS` (default 30), `BENCH_ACCOUNTS` (default
//! 64), `BENCH_SIGNIN_CONCURRENCY` (default `1,4,16,64`), `BENCH_REQUESTS` (default 2000 per
//! page), `BENCH_CONCURRENCY` (default 8 connections for the pages).
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

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::nodes::DOG;
use common::{Browser, Demo, DemoOptions};
use rathaus_auth::{Hasher, Policy, Verification};
use rathaus_domain::{Blocklist, NewPassword, PasswordAttempt};
use support::{PASSWORD, citizen, cookie_header, percentile, register, setting};

/// A comma-separated list of positive numbers, e.g. `1,4,16`.
fn levels(name: &str, default: &[usize]) -> Vec<usize> {
    let parsed: Vec<usize> = std::env::var(name)
        .unwrap_or_default()
        .split(',')
        .filter_map(|v| v.trim().parse().ok())
        .filter(|n| *n > 0)
        .collect();
    if parsed.is_empty() {
        default.to_vec()
    } else {
        parsed
    }
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

fn millis(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1000.0
}

/// n, mean, p50, p95, max of some milliseconds.
struct Spread {
    n: usize,
    mean: f64,
    p50: f64,
    p95: f64,
    max: f64,
}

impl Spread {
    fn of(values: &mut [f64]) -> Self {
        values.sort_by(f64::total_cmp);
        Self {
            n: values.len(),
            mean: values.iter().sum::<f64>() / values.len().max(1) as f64,
            p50: percentile(values, 50.0),
            p95: percentile(values, 95.0),
            max: values.last().copied().unwrap_or(f64::NAN),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// 1. argon2id alone

struct Argon2Figures {
    policy: Policy,
    hash: Spread,
    verify: Spread,
    pool_size: usize,
    pool_verifies: usize,
    pool_per_sec: f64,
}

async fn argon2(rounds: usize) -> Argon2Figures {
    let policy = Policy::production();
    // One worker, waiting as long as it takes: the cost of one operation, no queueing.
    let single = Hasher::new(policy, 1, Duration::from_secs(60))
        .await
        .unwrap();
    let password = NewPassword::parse(PASSWORD, Blocklist::shipped(), None).unwrap();
    let attempt = PasswordAttempt::parse(PASSWORD).unwrap();
    let mut hashes = Vec::with_capacity(rounds);
    let mut hash_ms = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let started = Instant::now();
        let hash = single.hash(&password).await.unwrap();
        hash_ms.push(millis(started));
        hashes.push(hash);
    }
    let mut verify_ms = Vec::with_capacity(rounds);
    for hash in &hashes {
        let started = Instant::now();
        let outcome = single.verify(&attempt, Some(hash.as_str())).await.unwrap();
        verify_ms.push(millis(started));
        assert_eq!(
            outcome,
            Verification::Match {
                needs_rehash: false
            }
        );
    }

    // The portal's pool: one worker per CPU, all of them busy.
    let pool = Arc::new(
        Hasher::with_cpus(policy, Duration::from_secs(60))
            .await
            .unwrap(),
    );
    let pool_size = pool.permits();
    let pool_verifies = (rounds * 2).max(pool_size * 16);
    let stored = hashes[0].as_str().to_owned();
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(pool_verifies);
    for _ in 0..pool_verifies {
        let pool = Arc::clone(&pool);
        let attempt = attempt.clone();
        let stored = stored.clone();
        tasks.push(tokio::spawn(async move {
            pool.verify(&attempt, Some(&stored)).await.unwrap()
        }));
    }
    for task in tasks {
        assert!(matches!(task.await.unwrap(), Verification::Match { .. }));
    }
    let pool_per_sec = pool_verifies as f64 / started.elapsed().as_secs_f64();
    Argon2Figures {
        policy,
        hash: Spread::of(&mut hash_ms),
        verify: Spread::of(&mut verify_ms),
        pool_size,
        pool_verifies,
        pool_per_sec,
    }
}

// ---------------------------------------------------------------------------------------------
// 2. Sign-in over HTTP

enum SignIn {
    /// Signed in and the account page shown: whole sign-in and POST alone, in ms.
    Done {
        total: f64,
        post: f64,
    },
    /// 429 because every hashing worker stayed busy (the error page, not the form).
    Busy,
    /// 429 from the sign-in throttle (the form again; only after failures, so not expected).
    Throttled,
    Other(String),
}

/// One sign-in as a browser does it, with a browser that has no cookies yet.
async fn sign_in(mut browser: Browser, email: &str) -> SignIn {
    let started = Instant::now();
    let form = browser.get("/account/sign-in").await;
    if form.status != 200 {
        return SignIn::Other(format!("sign-in form: {}", form.status));
    }
    let csrf = form.csrf();
    let posted = Instant::now();
    let answer = browser
        .post(
            "/account/sign-in",
            &[("csrf", &csrf), ("email", email), ("password", PASSWORD)],
        )
        .await;
    let post = millis(posted);
    match answer.status {
        303 => {
            let page = browser.get(answer.location()).await;
            if page.status == 200 && page.body.contains(email) {
                SignIn::Done {
                    total: millis(started),
                    post,
                }
            } else {
                SignIn::Other(format!("{}: {}", answer.location(), page.status))
            }
        }
        429 if answer.body.contains("name=\"password\"") => SignIn::Throttled,
        429 => SignIn::Busy,
        other => SignIn::Other(format!("sign-in POST: {other}")),
    }
}

struct SignInFigures {
    concurrency: usize,
    attempts: usize,
    done: usize,
    busy: usize,
    throttled: usize,
    other: Vec<String>,
    per_sec: f64,
    total: Spread,
    post: Spread,
}

async fn sign_ins(portal: &str, emails: &[String], concurrency: usize) -> SignInFigures {
    let semaphore = Arc::new(tokio::sync::Semaphore::new(concurrency));
    // The browsers (an HTTP client each) are made before the clock starts.
    let browsers: Vec<Browser> = emails.iter().map(|_| Browser::new(portal)).collect();
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(emails.len());
    for (browser, email) in browsers.into_iter().zip(emails.iter().cloned()) {
        let semaphore = Arc::clone(&semaphore);
        tasks.push(tokio::spawn(async move {
            let _permit = semaphore.acquire_owned().await.unwrap();
            sign_in(browser, &email).await
        }));
    }
    let mut outcomes = Vec::with_capacity(tasks.len());
    for task in tasks {
        outcomes.push(task.await.unwrap());
    }
    let secs = started.elapsed().as_secs_f64();
    let (mut total, mut post) = (Vec::new(), Vec::new());
    let (mut busy, mut throttled, mut other) = (0, 0, Vec::new());
    for outcome in outcomes {
        match outcome {
            SignIn::Done { total: t, post: p } => {
                total.push(t);
                post.push(p);
            }
            SignIn::Busy => busy += 1,
            SignIn::Throttled => throttled += 1,
            SignIn::Other(what) => other.push(what),
        }
    }
    SignInFigures {
        concurrency,
        attempts: emails.len(),
        done: total.len(),
        busy,
        throttled,
        other,
        per_sec: total.len() as f64 / secs,
        total: Spread::of(&mut total),
        post: Spread::of(&mut post),
    }
}

// ---------------------------------------------------------------------------------------------
// 3. Page requests over keep-alive connections

struct PageFigures {
    label: String,
    requests: usize,
    errors: usize,
    per_sec: f64,
    latency: Spread,
    bytes_per_response: f64,
}

/// `requests` GETs of `url`, `connections` at a time, each connection one after another; an
/// answer other than `expected` counts as an error.
async fn hammer(
    url: &str,
    cookie: Option<&str>,
    expected: u16,
    requests: usize,
    connections: usize,
) -> (f64, Vec<f64>, usize, usize) {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(connections)
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = Vec::with_capacity(connections);
    for _ in 0..connections {
        let (client, next) = (client.clone(), Arc::clone(&next));
        let (url, cookie) = (url.to_owned(), cookie.map(str::to_owned));
        workers.push(tokio::spawn(async move {
            let (mut latencies, mut errors, mut bytes) = (Vec::new(), 0, 0);
            while next.fetch_add(1, Ordering::Relaxed) < requests {
                let mut request = client.get(&url);
                if let Some(cookie) = &cookie {
                    request = request.header("cookie", cookie);
                }
                let sent = Instant::now();
                match request.send().await {
                    Ok(response) => {
                        let ok = response.status().as_u16() == expected;
                        let body = response.bytes().await.map(|b| b.len());
                        latencies.push(millis(sent));
                        match body {
                            Ok(len) if ok => bytes += len,
                            _ => errors += 1,
                        }
                    }
                    Err(_) => errors += 1,
                }
            }
            (latencies, errors, bytes)
        }));
    }
    let (mut latencies, mut errors, mut bytes) = (Vec::new(), 0, 0);
    for worker in workers {
        let (l, e, b) = worker.await.unwrap();
        latencies.extend(l);
        errors += e;
        bytes += b;
    }
    (started.elapsed().as_secs_f64(), latencies, errors, bytes)
}

async fn page(
    label: &str,
    url: &str,
    cookie: Option<&str>,
    expected: u16,
    requests: usize,
    connections: usize,
) -> PageFigures {
    // Warm-up, not counted: connections open, caches filled.
    hammer(
        url,
        cookie,
        expected,
        (requests / 10).max(connections),
        connections,
    )
    .await;
    let (secs, mut latencies, errors, bytes) =
        hammer(url, cookie, expected, requests, connections).await;
    PageFigures {
        label: label.to_owned(),
        requests,
        errors,
        per_sec: requests as f64 / secs,
        bytes_per_response: bytes as f64 / (requests - errors).max(1) as f64,
        latency: Spread::of(&mut latencies),
    }
}

// ---------------------------------------------------------------------------------------------

#[tokio::main]
async fn main() {
    // `cargo bench` passes `--bench`; a filter argument would not mean anything here.
    let rounds = setting("BENCH_ARGON2_ROUNDS", 30);
    let accounts = setting("BENCH_ACCOUNTS", 64);
    let sign_in_levels = levels("BENCH_SIGNIN_CONCURRENCY", &[1, 4, 16, 64]);
    let requests = setting("BENCH_REQUESTS", 2000);
    let connections = setting("BENCH_CONCURRENCY", 8);
    let cpus = std::thread::available_parallelism().map_or(1, usize::from);
    let load_before = load_average();
    println!(
        "rathaus accounts benchmark: argon2id {rounds} rounds; {accounts} sign-ins at each of \
         {sign_in_levels:?} at a time; {requests} page requests per page over {connections} \
         keep-alive connections; {cpus} CPUs; load average {load_before}"
    );

    // 1. argon2id alone, before the demo starts, in this process.
    let started = Instant::now();
    let a2 = argon2(rounds).await;
    println!(
        "argon2id measured in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    // 2. Sign-ins against the demo (password pool: one worker per CPU, 500 ms wait: the
    //    defaults `password_workers = 0`, `password_wait_ms = 500`).
    let demo = Demo::start_with(DemoOptions {
        log_filter: Some("warn"),
        ..DemoOptions::default()
    });
    let setup = Instant::now();
    let emails: Vec<String> = (0..accounts)
        .map(|i| format!("signin{i}@example.org"))
        .collect();
    for email in &emails {
        register(&demo, email).await;
    }
    // The account whose session the page requests use; not signed in by the sign-in runs.
    let reader = "reader@example.org";
    let browser = citizen(&demo, reader).await;
    println!(
        "setup: {} accounts registered and confirmed in {:.1} s",
        accounts + 1,
        setup.elapsed().as_secs_f64()
    );
    let mut signs = Vec::new();
    for &level in &sign_in_levels {
        let figures = sign_ins(&demo.portal, &emails, level.min(accounts)).await;
        println!(
            "sign-ins {level} at a time: {} ok, {} × 429 busy, {} × 429 throttled, {} other",
            figures.done,
            figures.busy,
            figures.throttled,
            figures.other.len()
        );
        for what in figures.other.iter().take(3) {
            println!("  unexpected: {what}");
        }
        signs.push(figures);
    }
    let busy_logged = demo.log().matches("password hashing busy").count();

    // 3. Pages: the same requests and connections for each, signed in and anonymous.
    let cookie = cookie_header(&browser);
    let service = format!("/services/{DOG}");
    let service_label = format!("anonymous: service page `{service}`");
    // The start page does not look at the session (a public page that is the same for
    // everyone), so with the cookie it measures what the cookie alone costs. `/api/v1/account`
    // without a cookie answers 401 before any database read, with it one session + account
    // read: the pair is the cost of the session lookup alone.
    let scenarios: [(&str, &str, Option<&str>, u16); 7] = [
        ("anonymous: start page `/`", "/", None, 200),
        (&service_label, &service, None, 200),
        (
            "start page `/` with the session cookie (not looked up)",
            "/",
            Some(&cookie),
            200,
        ),
        ("signed in: `/account`", "/account", Some(&cookie), 200),
        (
            "signed in: `/applications`",
            "/applications",
            Some(&cookie),
            200,
        ),
        (
            "anonymous: `/api/v1/account` (401, no cookie)",
            "/api/v1/account",
            None,
            401,
        ),
        (
            "signed in: `/api/v1/account` (JSON)",
            "/api/v1/account",
            Some(&cookie),
            200,
        ),
    ];
    let mut pages = Vec::new();
    for (label, path, cookie, expected) in scenarios {
        pages.push(
            page(
                label,
                &demo.url(path),
                cookie,
                expected,
                requests,
                connections,
            )
            .await,
        );
    }
    let load_after = load_average();
    drop(demo);

    // The tables.
    let p = a2.policy;
    println!();
    println!(
        "## argon2id, production policy (m = {} KiB, t = {}, p = {}), in the bench process",
        p.m_kib, p.t, p.p
    );
    println!();
    println!("| operation | n | mean | p50 | p95 | max | per second |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
    for (what, s) in [
        ("hash, one at a time", &a2.hash),
        ("verify, one at a time", &a2.verify),
    ] {
        println!(
            "| {what} | {} | {:.1} ms | {:.1} ms | {:.1} ms | {:.1} ms | {:.1} |",
            s.n,
            s.mean,
            s.p50,
            s.p95,
            s.max,
            1000.0 / s.mean
        );
    }
    println!(
        "| verify, pool of {} workers kept full | {} | | | | | {:.1} |",
        a2.pool_size, a2.pool_verifies, a2.pool_per_sec
    );
    println!();
    println!(
        "## Sign-in over HTTP (GET form, POST, follow to /account), {accounts} accounts per row"
    );
    println!();
    println!(
        "| at a time | ok | 429 busy | 429 throttled | other | sign-ins/s | whole p50 / p95 / max | POST p50 / p95 |"
    );
    println!("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for s in &signs {
        println!(
            "| {} | {}/{} | {} | {} | {} | {:.1} | {:.1} / {:.1} / {:.1} ms | {:.1} / {:.1} ms |",
            s.concurrency,
            s.done,
            s.attempts,
            s.busy,
            s.throttled,
            s.other.len(),
            s.per_sec,
            s.total.p50,
            s.total.p95,
            s.total.max,
            s.post.p50,
            s.post.p95,
        );
    }
    println!();
    println!("(the portal logged \"password hashing busy\" {busy_logged} times)");
    println!();
    println!("## Pages, {requests} requests each over {connections} keep-alive connections");
    println!();
    println!(
        "| page | req/s | p50 | p95 | max | KB/resp | errors | req/s ÷ anonymous `/` | p50 ÷ anonymous `/` |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    let (base_rate, base_p50) = (pages[0].per_sec, pages[0].latency.p50);
    for s in &pages {
        println!(
            "| {} | {:.0} | {:.2} ms | {:.2} ms | {:.2} ms | {:.1} | {} | {:.2} | {:.2} |",
            s.label,
            s.per_sec,
            s.latency.p50,
            s.latency.p95,
            s.latency.max,
            s.bytes_per_response / 1024.0,
            s.errors,
            s.per_sec / base_rate,
            s.latency.p50 / base_p50,
        );
    }
    let (without, with) = (&pages[5], &pages[6]);
    println!();
    println!(
        "session lookup alone (`/api/v1/account` signed in vs without a cookie): req/s × {:.2}, \
         p50 {:+.2} ms",
        with.per_sec / without.per_sec,
        with.latency.p50 - without.latency.p50
    );
    println!();
    println!(
        "load average (1, 5, 15 min): {load_before} at the start, {load_after} at the end; \
         client and server share the {cpus} CPUs"
    );
}

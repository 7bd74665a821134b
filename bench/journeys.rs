//! Journeys benchmark (issue 7, R10: hundreds of thousands of concurrent users): virtual
//! citizens going through the portal as people do, with think times, against the real
//! `rathaus demo` (portal and four authority node processes, SQLite).
//!
//! Each virtual citizen, over and over until the run ends:
//!
//! 1. signs in (the form, then e-mail and password: one argon2id verification; follows the
//!    redirect to the account page),
//! 2. searches the catalogue (`/search?q=…`, one of a few dog-related queries),
//! 3. opens the service page of the dog registration (`/services/99110009104000`),
//! 4. starts the form and fills in its three steps (owner, dog, insurance): each step page,
//!    then its answers posted,
//! 5. opens the review and submits (every step validated again, JWE to the authority, PDF
//!    receipt sealed, one transaction), follows to the confirmation,
//! 6. reads the mailbox (`/account/mailbox`),
//! 7. signs out (the sign-out page, then its form).
//!
//! Between two steps it thinks for a random time in [`BENCH_THINK_MIN_MS`,
//! `BENCH_THINK_MAX_MS`] (defaults 500 and 2000 ms). Real people take longer (they read a
//! page, type an address: tens of seconds per step), but a bench run must finish in about a
//! minute, and what loads the server is the requests per second: with shorter thinking, 200
//! virtual citizens send what a few thousand people reading at human speed would send. The
//! same account may apply again (submit ends the draft; the next form start opens a new one),
//! so each virtual citizen keeps its own account.
//!
//! Setup, not measured: `BENCH_CITIZENS` accounts registered and confirmed,
//! `BENCH_SETUP_CONCURRENCY` at a time (default 4: a registration costs one argon2id hash and
//! the portal's hashing pool has one worker per CPU). Then the portal's RSS is read before
//! and after signing every account in once (live sessions that stay), which gives memory per
//! live session. Then `BENCH_CITIZENS` (default 200) run concurrently for `BENCH_DURATION_S`
//! (default 60), starting at random moments of the first `BENCH_RAMP_S` (default 10) so they do
//! not all sign in in the same second.
//!
//! Reported: journeys completed per second (whole run, and its second half, past the ramp-up),
//! errors by step and kind (unexpected status, transport errors such as timeouts), latency
//! p50/p95/p99/max per request kind, and the portal's RSS (`VmRSS`, the demo process alone;
//! its authority nodes are separate processes) at the end. A journey that failed is counted
//! under its error, and the citizen starts over after a think. Journeys in flight when the run
//! ends are not counted.
//!
//! With the national catalogue export at `../shared/fixtures/leika/leistungen.csv` (or
//! `BENCH_CATALOGUE=PATH`) the demo lists it, so the searches run over 4,800+ entries; without
//! it over the shipped definitions only (the report says which).
//!
//! A bench target of crates/cli like `delivery`; run by hand, not in CI:
//! `cargo bench -p rathaus --bench journeys` (see bench/README.md); a quick check:
//! `BENCH_CITIZENS=20 BENCH_DURATION_S=10 cargo bench -p rathaus --bench journeys`.
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

use std::collections::BTreeMap;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::nodes::{DOG, dog_steps};
use common::{Answer, Browser, Demo, DemoOptions};
use futures::FutureExt;
use rand::Rng;
use support::{
    PASSWORD, percentile, portal_pid, register, rss_kib, setting, step_fields, submit_fields,
};

/// What citizens type into the search (URL-encoded), one per journey at random.
const QUERIES: [&str; 6] = [
    "Hund",
    "Hund+anmelden",
    "Hundesteuer",
    "Hundeanmeldung",
    "Hunde",
    "dog+registration",
];

/// The request kinds in the order of a journey (the report's rows).
const KINDS: [&str; 14] = [
    "sign-in form",
    "sign-in",
    "account page",
    "search",
    "service page",
    "form start",
    "step page",
    "step post",
    "review",
    "submit",
    "confirmation",
    "mailbox",
    "sign-out form",
    "sign-out",
];

/// Milliseconds from the environment; unlike `setting`, 0 is allowed.
fn millis_setting(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

fn mib(kib: Option<u64>) -> String {
    kib.map_or_else(|| "?".into(), |k| format!("{:.1} MiB", k as f64 / 1024.0))
}

/// What all citizens record, behind one lock (never held across an await).
#[derive(Default)]
struct Tally {
    /// Milliseconds of the requests answered as expected, by kind.
    latencies: BTreeMap<&'static str, Vec<f64>>,
    /// Failed journeys by "step: what".
    errors: BTreeMap<String, usize>,
    /// When each journey was completed, in seconds since the run began, and how long it took.
    completed: Vec<(f64, f64)>,
    started: usize,
}

/// One virtual citizen: a browser (cookies, a keep-alive connection) and an account.
struct Citizen {
    browser: Browser,
    portal: String,
    email: String,
    think: (u64, u64),
    tally: Arc<Mutex<Tally>>,
    /// The request being sent, to name the step of a transport error (a panic in `Browser`).
    at: &'static str,
}

impl Citizen {
    async fn think(&self) {
        let (min, max) = self.think;
        let ms = rand::rng().random_range(min..=max.max(min));
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }

    fn check(
        &mut self,
        kind: &'static str,
        sent: Instant,
        answer: &Answer,
        expected: u16,
    ) -> Result<(), String> {
        if answer.status != expected {
            return Err(format!("{kind}: status {}", answer.status));
        }
        let ms = sent.elapsed().as_secs_f64() * 1000.0;
        self.tally
            .lock()
            .unwrap()
            .latencies
            .entry(kind)
            .or_default()
            .push(ms);
        Ok(())
    }

    async fn get(
        &mut self,
        kind: &'static str,
        path: &str,
        expected: u16,
    ) -> Result<Answer, String> {
        self.at = kind;
        let sent = Instant::now();
        let answer = self.browser.get(path).await;
        self.check(kind, sent, &answer, expected)?;
        Ok(answer)
    }

    async fn post(
        &mut self,
        kind: &'static str,
        path: &str,
        fields: &[(&str, &str)],
        expected: u16,
    ) -> Result<Answer, String> {
        self.at = kind;
        let sent = Instant::now();
        let answer = self.browser.post(path, fields).await;
        self.check(kind, sent, &answer, expected)?;
        Ok(answer)
    }

    /// One whole journey, from signing in to signing out.
    async fn journey(&mut self, n: usize) -> Result<(), String> {
        let form = self.get("sign-in form", "/account/sign-in", 200).await?;
        let csrf = form_token(&form, "sign-in form")?;
        self.think().await; // typing e-mail and password
        let email = self.email.clone();
        let signed_in = self
            .post(
                "sign-in",
                "/account/sign-in",
                &[("csrf", &csrf), ("email", &email), ("password", PASSWORD)],
                303,
            )
            .await?;
        self.get("account page", signed_in.location(), 200).await?;
        self.think().await;
        let query = QUERIES[rand::rng().random_range(0..QUERIES.len())];
        self.get("search", &format!("/search?q={query}"), 200)
            .await?;
        self.think().await;
        self.get("service page", &format!("/services/{DOG}"), 200)
            .await?;
        self.think().await;
        self.get("form start", &format!("/services/{DOG}/form"), 303)
            .await?;
        for (step, answers) in dog_steps(&format!("Bello {n}")) {
            let path = format!("/services/{DOG}/form/{step}");
            let page = self.get("step page", &path, 200).await?;
            let csrf = form_token(&page, "step page")?;
            self.think().await; // filling in the step
            self.post("step post", &path, &step_fields(&csrf, step, &answers), 303)
                .await?;
        }
        let review = self
            .get("review", &format!("/services/{DOG}/review"), 200)
            .await?;
        let fields = submit_fields(&review).ok_or("review: no submit form")?;
        let fields: Vec<(&str, &str)> = fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        self.think().await; // reading the review
        let submitted = self
            .post("submit", &format!("/services/{DOG}/submit"), &fields, 303)
            .await?;
        let confirmation = submitted.location().to_owned();
        if !confirmation.starts_with("/applications/") {
            return Err(format!("submit: sent to {confirmation}"));
        }
        self.get("confirmation", &confirmation, 200).await?;
        self.think().await;
        self.get("mailbox", "/account/mailbox", 200).await?;
        self.think().await;
        let page = self.get("sign-out form", "/account/sign-out", 200).await?;
        let csrf = form_token(&page, "sign-out form")?;
        self.post("sign-out", "/account/sign-out", &[("csrf", &csrf)], 303)
            .await?;
        Ok(())
    }
}

fn form_token(answer: &Answer, kind: &str) -> Result<String, String> {
    if answer.body.contains("name=\"csrf\" value=\"") {
        Ok(answer.csrf())
    } else {
        Err(format!("{kind}: no form"))
    }
}

/// A transport error as `Browser` reports it (it panics with the request and reqwest's error).
fn transport(payload: &(dyn std::any::Any + Send)) -> String {
    let text = payload
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| payload.downcast_ref::<&str>().copied())
        .unwrap_or("panic");
    let kinds = [
        ("TimedOut", "timeout"),
        ("timed out", "timeout"),
        ("ConnectionRefused", "connection refused"),
        ("ConnectionReset", "connection reset"),
        ("IncompleteMessage", "connection closed mid-answer"),
        ("Connect", "connect error"),
    ];
    kinds
        .iter()
        .find(|(marker, _)| text.contains(marker))
        .map_or_else(
            || format!("panic: {}", text.chars().take(100).collect::<String>()),
            |(_, kind)| (*kind).to_owned(),
        )
}

/// Signs `email` in with a new browser, and out again when `out`; else the session stays.
async fn sign_in_once(portal: &str, email: &str, out: bool) {
    let mut browser = Browser::new(portal);
    let answer = browser
        .submit(
            "/account/sign-in",
            "/account/sign-in",
            &[("email", email), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(answer.status, 303, "sign-in of {email}: {}", answer.body);
    if out {
        let answer = browser
            .submit("/account/sign-out", "/account/sign-out", &[])
            .await;
        assert_eq!(answer.status, 303, "sign-out of {email}: {}", answer.body);
    }
}

/// Runs `work` for every item, `concurrency` at a time.
async fn in_parallel<T, F>(items: Vec<T>, concurrency: usize, work: impl Fn(T) -> F)
where
    F: std::future::Future<Output = ()>,
{
    use futures::StreamExt;
    futures::stream::iter(items.into_iter().map(work))
        .buffer_unordered(concurrency)
        .collect::<Vec<()>>()
        .await;
}

#[tokio::main]
async fn main() {
    // `cargo bench` passes `--bench`; a filter argument would not mean anything here.
    let citizens = setting("BENCH_CITIZENS", 200);
    let duration = Duration::from_secs(setting("BENCH_DURATION_S", 60) as u64);
    let ramp = Duration::from_secs(millis_setting("BENCH_RAMP_S", 10)).min(duration / 2);
    let think_min = millis_setting("BENCH_THINK_MIN_MS", 500);
    let think_max = millis_setting("BENCH_THINK_MAX_MS", 2000).max(think_min);
    let setup_concurrency = setting("BENCH_SETUP_CONCURRENCY", 4);
    let catalogue = std::env::var("BENCH_CATALOGUE")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| common::root().join("../shared/fixtures/leika/leistungen.csv"));
    let catalogue = catalogue.is_file().then(|| catalogue.display().to_string());
    let mut args = vec![];
    if let Some(path) = &catalogue {
        args.extend(["--catalogue", path.as_str()]);
    }
    let cpus = std::thread::available_parallelism().map_or(1, usize::from);
    let demo = Demo::start_with(DemoOptions {
        args: &args,
        log_filter: Some("warn"),
        ..DemoOptions::default()
    });
    let pid = portal_pid();
    println!(
        "rathaus journeys benchmark: {citizens} virtual citizens for {} s (ramp-up {} s), \
         think {think_min}–{think_max} ms, against `rathaus demo` (SQLite, 4 node processes; \
         catalogue: {}); {cpus} CPUs; load average {}",
        duration.as_secs(),
        ramp.as_secs(),
        catalogue.as_deref().unwrap_or("shipped definitions only"),
        load_average()
    );
    let rss = || pid.and_then(rss_kib);
    let rss_start = rss();

    // Setup (not measured): the accounts, registered and confirmed side by side.
    let setup = Instant::now();
    let emails: Vec<String> = (0..citizens)
        .map(|i| format!("citizen{i}@example.org"))
        .collect();
    in_parallel(emails.clone(), setup_concurrency, |email| {
        let demo = &demo;
        async move {
            register(demo, &email).await;
        }
    })
    .await;
    println!(
        "setup: {citizens} accounts registered and confirmed in {:.1} s",
        setup.elapsed().as_secs_f64()
    );

    // Memory per live session: every account signed in once, the sessions left open. First
    // the same sign-ins once with signing out, not measured: each argon2id verification
    // allocates 19 MiB on whichever blocking thread runs it, and the allocator keeps that
    // memory per thread, so the first few hundred hashes raise the RSS by hundreds of MiB
    // that have nothing to do with sessions.
    let rss_registered = rss();
    let sign_ins = |out: bool| {
        let portal = demo.portal.clone();
        in_parallel(emails.clone(), setup_concurrency, move |email| {
            let portal = portal.clone();
            async move { sign_in_once(&portal, &email, out).await }
        })
    };
    sign_ins(true).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_before = rss();
    let signing = Instant::now();
    sign_ins(false).await;
    let signing = signing.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_after = rss();
    let sessions_db = format!(
        "sqlite:{}?mode=ro",
        demo.data_dir().join("portal.db").display()
    );
    let pool = sqlx::SqlitePool::connect(&sessions_db).await.unwrap();
    let (sessions,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM sessions")
        .fetch_one(&pool)
        .await
        .unwrap();
    let per_session = match (rss_before, rss_after) {
        (Some(b), Some(a)) => format!("{:+.1} KiB", (a as f64 - b as f64) / citizens as f64),
        _ => "?".into(),
    };
    println!(
        "portal RSS: {} at start-up, {} after the registrations, {} after {citizens} more \
         sign-ins and sign-outs (argon2id's memory kept by the allocator)",
        mib(rss_start),
        mib(rss_registered),
        mib(rss_before),
    );
    println!(
        "sessions: {citizens} sign-ins in {signing:.1} s, left open; portal RSS {} before, {} \
         after ({sessions} sessions in the store) = {per_session} per live session",
        mib(rss_before),
        mib(rss_after),
    );

    // The run. A transport error is a panic in `Browser`; it is caught and counted, and only
    // the first few are printed.
    let panics = Arc::new(AtomicUsize::new(0));
    {
        let (panics, default_hook) = (Arc::clone(&panics), std::panic::take_hook());
        std::panic::set_hook(Box::new(move |info| {
            if panics.fetch_add(1, Ordering::Relaxed) < 3 {
                default_hook(info);
            }
        }));
    }
    let tally = Arc::new(Mutex::new(Tally::default()));
    let begun = Instant::now();
    let mut tasks = Vec::with_capacity(citizens);
    for (i, email) in emails.into_iter().enumerate() {
        let mut citizen = Citizen {
            browser: Browser::new(&demo.portal),
            portal: demo.portal.clone(),
            email,
            think: (think_min, think_max),
            tally: Arc::clone(&tally),
            at: "start",
        };
        let start = ramp.mul_f64(rand::rng().random_range(0.0..1.0));
        tasks.push(tokio::spawn(async move {
            tokio::time::sleep(start).await;
            for n in 0.. {
                citizen.tally.lock().unwrap().started += 1;
                let journey_started = Instant::now();
                let outcome = AssertUnwindSafe(citizen.journey(i * 10_000 + n))
                    .catch_unwind()
                    .await;
                let failure = match outcome {
                    Ok(Ok(())) => {
                        let at = begun.elapsed().as_secs_f64();
                        let took = journey_started.elapsed().as_secs_f64();
                        citizen.tally.lock().unwrap().completed.push((at, took));
                        None
                    }
                    Ok(Err(what)) => Some(what),
                    Err(payload) => {
                        // The browser's state is unknown: a new one, as after a reload.
                        citizen.browser = Browser::new(&citizen.portal);
                        Some(format!("{}: {}", citizen.at, transport(&*payload)))
                    }
                };
                if let Some(what) = failure {
                    *citizen
                        .tally
                        .lock()
                        .unwrap()
                        .errors
                        .entry(what)
                        .or_default() += 1;
                }
                citizen.think().await;
            }
        }));
    }
    tokio::time::sleep(duration).await;
    for task in &tasks {
        task.abort();
    }
    let secs = begun.elapsed().as_secs_f64();
    let rss_end = rss();
    let load_end = load_average();
    for task in tasks {
        let _ = task.await;
    }
    let _ = std::panic::take_hook();

    let tally = std::mem::take(&mut *tally.lock().unwrap());
    let done = tally.completed.len();
    let failed: usize = tally.errors.values().sum();
    let half = secs / 2.0;
    let second_half = tally.completed.iter().filter(|(at, _)| *at >= half).count();
    let mut took: Vec<f64> = tally.completed.iter().map(|(_, t)| *t).collect();
    took.sort_by(f64::total_cmp);
    println!(
        "journeys: {done} completed in {secs:.1} s = {:.2} journeys/s ({:.2}/s in the second \
         half); {failed} failed; {} in flight at the end (not counted); a journey took p50 \
         {:.1} s, p95 {:.1} s (think times included)",
        done as f64 / secs,
        second_half as f64 / (secs - half),
        tally.started - done - failed,
        percentile(&took, 50.0),
        percentile(&took, 95.0),
    );
    if tally.errors.is_empty() {
        println!("errors: none");
    } else {
        println!("errors (step: what, failed journeys):");
        for (what, n) in &tally.errors {
            println!("  {n:>6} × {what}");
        }
    }
    println!(
        "{:<14} {:>8} {:>9} {:>9} {:>9} {:>9}",
        "request", "n", "p50 ms", "p95 ms", "p99 ms", "max ms"
    );
    let mut requests = 0;
    for kind in KINDS {
        let mut values = tally.latencies.get(kind).cloned().unwrap_or_default();
        values.sort_by(f64::total_cmp);
        requests += values.len();
        println!(
            "{kind:<14} {:>8} {:>9.1} {:>9.1} {:>9.1} {:>9.1}",
            values.len(),
            percentile(&values, 50.0),
            percentile(&values, 95.0),
            percentile(&values, 99.0),
            values.last().copied().unwrap_or(f64::NAN),
        );
    }
    println!(
        "requests answered as expected: {requests} = {:.0}/s; load average at the end {load_end}",
        requests as f64 / secs
    );
    println!(
        "portal RSS (demo process, without its node processes): {} at start-up, {} at the end",
        mib(rss_start),
        mib(rss_end)
    );
}

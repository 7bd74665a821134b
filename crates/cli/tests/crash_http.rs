//! Crash safety with real processes (SECURITY.md C4, F4): `rathaus demo` is started with one
//! crash point armed (`RATHAUS_FAILPOINTS`, see crates/failpoint), a citizen submits a dog
//! registration over HTTP, the portal or the authority node aborts at exactly that step, and
//! the demo is started again on the same data directory. Every acknowledged submission must
//! end up stored once at the node and acknowledged once at the portal; a submission whose
//! acknowledgement never arrived is retried by the citizen and must not appear twice.
//!
//! F3 as an operator would see it: the portal and an authority node as separate processes
//! (`rathaus portal`, `rathaus authority`), the node not running while applications are
//! submitted; they wait in the outbox and each arrives once when the node is started.
//!
//! The crash points are compiled into this test's build of the binary only: `rathaus-failpoint`
//! is a dev-dependency of this crate with its `failpoints` feature, so `cargo test` builds
//! `rathaus` with it and `cargo build`/release builds do not (crates/cli/Cargo.toml).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::nodes::{
    DOG, FAST_RETRIES, NODE, PASSWORD, assert_delivered_once_at, authority_args, count, fill_in,
    free_addr, portal_env, post_submit, sign_in, spawn, wait_healthy,
};
use common::{Browser, confirm_account, rathaus, register_account};

/// One run of `rathaus demo` on a data directory that outlives it.
struct Run {
    child: Child,
    portal: String,
    log: PathBuf,
}

impl Run {
    /// Starts the demo on `data`, with `failpoint` armed (if any); its log goes to a file.
    fn start(data: &Path, failpoint: Option<&str>, name: &str) -> Self {
        Self::start_on(&Databases::Sqlite(data.to_owned()), data, failpoint, name)
    }

    /// Like [`Run::start`], with the processes' databases in `databases`.
    fn start_on(databases: &Databases, data: &Path, failpoint: Option<&str>, name: &str) -> Self {
        let log = data.join(format!("{name}.log"));
        let mut command = rathaus();
        command
            .args(["demo", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data)
            .args(databases.demo_args())
            .envs(FAST_RETRIES)
            .env_remove(rathaus_failpoint::VARIABLE)
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap());
        if let Some(point) = failpoint {
            command.env(rathaus_failpoint::VARIABLE, point);
        }
        let mut child = command.spawn().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut portal = None;
        while Instant::now() < deadline {
            match rx.recv_timeout(Duration::from_millis(100)) {
                Ok(line) => {
                    if let Some(url) = line.trim().strip_prefix("Portal: ") {
                        portal = Some(url.trim_end_matches('/').to_owned());
                    } else if line.trim().starts_with("API:") {
                        break;
                    }
                }
                Err(_) => {
                    if let Some(status) = child.try_wait().unwrap() {
                        panic!(
                            "rathaus demo exited during start-up ({status}): {}",
                            std::fs::read_to_string(&log).unwrap_or_default()
                        );
                    }
                }
            }
        }
        Self {
            child,
            portal: portal.expect("the demo printed its portal URL"),
            log,
        }
    }

    /// Waits until the process has died at `failpoint`; fails if it did not.
    fn wait_for_crash(&mut self, failpoint: &str) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.child.try_wait().unwrap().is_none() {
            assert!(
                Instant::now() < deadline,
                "the demo did not crash at {failpoint}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let log = std::fs::read_to_string(&self.log).unwrap();
        assert!(
            log.contains(&format!("failpoint {failpoint}: aborting")),
            "the process died, but not at {failpoint}: {log}"
        );
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A browser on the (new) portal address of `run`, keeping the citizen's session cookies.
fn browser_on(portal: &str, cookies: &std::collections::BTreeMap<String, String>) -> Browser {
    let mut browser = Browser::new(portal);
    browser.cookies = cookies.clone();
    browser
}

async fn citizen(run: &Run, data: &Path, email: &str) -> Browser {
    let mut browser = Browser::new(&run.portal);
    register_account(&mut browser, email, PASSWORD).await;
    let mail = newest_mail(data).await;
    confirm_account(&mut browser, &mail, &run.portal).await;
    sign_in(&mut browser, email).await;
    browser
}

async fn newest_mail(data: &Path) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(dir) = std::fs::read_dir(data.join("mail")) {
            let mut names: Vec<PathBuf> = dir
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.to_string_lossy().ends_with("-confirm.eml"))
                .collect();
            names.sort();
            if let Some(last) = names.last() {
                return std::fs::read_to_string(last).unwrap();
            }
        }
        assert!(Instant::now() < deadline, "no confirmation mail");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Where the demo under test keeps the portal's and the node's data.
enum Databases {
    /// `portal.db` and `nodes/<node>.db` in the data directory.
    Sqlite(PathBuf),
    /// `--database-url`: the portal's database and `<name>_<node>` on a PostgreSQL server.
    Postgres { url: String, name: String },
}

impl Databases {
    fn demo_args(&self) -> Vec<String> {
        match self {
            Self::Sqlite(_) => Vec::new(),
            Self::Postgres { url, .. } => vec!["--database-url".into(), url.clone()],
        }
    }

    fn portal(&self) -> String {
        match self {
            Self::Sqlite(data) => format!("sqlite:{}?mode=ro", data.join("portal.db").display()),
            Self::Postgres { url, .. } => url.clone(),
        }
    }

    fn node(&self) -> String {
        match self {
            Self::Sqlite(data) => format!(
                "sqlite:{}?mode=ro",
                data.join("nodes").join(format!("{NODE}.db")).display()
            ),
            Self::Postgres { url, name } => {
                rathaus_store::with_database(url, &format!("{name}_{NODE}"))
            }
        }
    }

    /// Drops the PostgreSQL databases the demo made.
    async fn drop_all(&self) {
        let Self::Postgres { url, name } = self else {
            return;
        };
        let admin = sqlx::PgPool::connect(&rathaus_store::with_database(url, "postgres"))
            .await
            .unwrap();
        let made: Vec<(String,)> =
            sqlx::query_as("SELECT datname::text FROM pg_database WHERE datname LIKE $1")
                .bind(format!("{name}%"))
                .fetch_all(&admin)
                .await
                .unwrap();
        for (database,) in made {
            sqlx::query(&format!("DROP DATABASE \"{database}\" WITH (FORCE)"))
                .execute(&admin)
                .await
                .unwrap();
        }
        admin.close().await;
    }
}

fn db_url(path: PathBuf) -> String {
    format!("sqlite:{}?mode=ro", path.display())
}

/// Waits until the portal has the node's receipt for `reference`, then checks that the node
/// holds exactly one case for it and the portal exactly one acknowledged delivery, with the
/// ciphertext gone.
async fn assert_delivered_once(data: &Path, reference: &str, what: &str) {
    assert_delivered_once_on(&Databases::Sqlite(data.to_owned()), reference, what).await;
}

async fn assert_delivered_once_on(databases: &Databases, reference: &str, what: &str) {
    assert_delivered_once_at(&databases.portal(), &databases.node(), reference, what).await;
}

async fn applications(databases: &Databases) -> i64 {
    count(
        &databases.portal(),
        "SELECT COUNT(*) FROM applications WHERE service_key = $1",
        DOG,
    )
    .await
}

#[tokio::test]
async fn c4_f4_a_crash_at_every_failpoint_delivers_each_acknowledged_submission_exactly_once() {
    let data = tempfile::tempdir().unwrap();
    crash_at_every_failpoint(data.path(), &Databases::Sqlite(data.path().to_owned())).await;
}

/// The same with the portal and the nodes on PostgreSQL (`DATABASE_URL`), where the outbox is
/// claimed with `FOR UPDATE SKIP LOCKED` and the transactions are the server's.
#[tokio::test]
async fn c4_f4_on_postgresql_a_crash_at_every_failpoint_delivers_each_acknowledged_submission_exactly_once()
 {
    let Ok(server) = std::env::var(rathaus_store::testing::DATABASE_URL) else {
        eprintln!("DATABASE_URL is not set; skipped");
        return;
    };
    if !server.starts_with("postgres") {
        return;
    }
    // The data directory's random name makes the databases' names unique too.
    let data = tempfile::tempdir().unwrap();
    let random: String = data
        .path()
        .file_name()
        .unwrap()
        .to_string_lossy()
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect();
    let name = format!(
        "rathaus_crash_{}_{}",
        std::process::id(),
        random.to_ascii_lowercase()
    );
    let databases = Databases::Postgres {
        url: rathaus_store::with_database(&server, &name),
        name,
    };
    crash_at_every_failpoint(data.path(), &databases).await;
    databases.drop_all().await;
}

async fn crash_at_every_failpoint(data: &Path, databases: &Databases) {
    common::seed_keys(data);
    let first = Run::start_on(databases, data, None, "setup");
    common::remember_keys(data);
    let mut cookies = citizen(&first, data, "anna@example.org").await.cookies;
    drop(first);

    let started = Instant::now();
    let mut acknowledged = 0;
    for (i, point) in rathaus_failpoint::ALL.iter().enumerate() {
        let mut armed = Run::start_on(databases, data, Some(point), &format!("{point}-armed"));
        let mut browser = browser_on(&armed.portal, &cookies);
        let fields = fill_in(&mut browser, &format!("Bello {i}")).await;
        let answer = post_submit(&armed.portal, &browser, &fields).await;
        armed.wait_for_crash(point);
        cookies = browser.cookies.clone();
        drop(armed);

        let after = Run::start_on(databases, data, None, &format!("{point}-after"));
        let mut browser = browser_on(&after.portal, &cookies);
        let reference = match answer {
            Some(reference) => reference,
            // No answer: the citizen sends the same form again, with the same submission id.
            None => post_submit(&after.portal, &browser, &fields)
                .await
                .expect("the restarted portal answers"),
        };
        acknowledged += 1;
        assert_delivered_once_on(databases, &reference, point).await;
        assert_eq!(
            applications(databases).await,
            acknowledged,
            "{point}: one application per acknowledged submission"
        );
        // The citizen sees it delivered.
        let page = browser.get(&format!("/applications/{reference}")).await;
        assert!(page.body.contains("Zugestellt"), "{point}: {}", page.body);
    }
    eprintln!(
        "{} crash points in {:.1} s",
        rathaus_failpoint::ALL.len(),
        started.elapsed().as_secs_f64()
    );
}

#[tokio::test]
async fn f3_applications_for_a_stopped_node_queue_and_are_delivered_once_when_it_is_back() {
    // The demo prepares keys, pins, the account; then the portal and the node run as the
    // separate processes an operator runs, and the node is not started at first.
    let data = tempfile::tempdir().unwrap();
    common::seed_keys(data.path());
    let first = Run::start(data.path(), None, "setup");
    common::remember_keys(data.path());
    let cookies = citizen(&first, data.path(), "anna@example.org")
        .await
        .cookies;
    drop(first);
    let node_addr = free_addr();
    let pool = sqlx::SqlitePool::connect(&format!(
        "sqlite:{}",
        data.path().join("portal.db").display()
    ))
    .await
    .unwrap();
    sqlx::query("UPDATE node_endpoints SET base_url = $1 WHERE node_id = $2")
        .bind(format!("http://{node_addr}"))
        .bind(NODE)
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;

    let portal_addr = free_addr();
    let portal_url = format!("http://{portal_addr}");
    let keys = data.path().join("keys");
    let _portal = spawn(
        &[
            "portal",
            "--listen",
            &portal_addr,
            "--database-url",
            &format!("sqlite:{}", data.path().join("portal.db").display()),
        ],
        &portal_env(&keys, &portal_url, &data.path().join("mail")),
        &data.path().join("portal.log"),
    );
    wait_healthy(&portal_url).await;

    // Three applications while the node is down: each acknowledged, each waiting.
    let mut references = Vec::new();
    for i in 0..3 {
        let mut browser = browser_on(&portal_url, &cookies);
        let fields = fill_in(&mut browser, &format!("Wartend {i}")).await;
        references.push(post_submit(&portal_url, &browser, &fields).await.unwrap());
    }
    let portal_db = db_url(data.path().join("portal.db"));
    let deadline = Instant::now() + Duration::from_secs(30);
    for reference in &references {
        // The worker has tried and failed at least once.
        while count(
            &portal_db,
            "SELECT COUNT(*) FROM deliveries WHERE reference = $1 AND state = 'pending' \
             AND attempts > 0 AND last_error IS NOT NULL",
            reference,
        )
        .await
            != 1
        {
            assert!(Instant::now() < deadline, "{reference} was never attempted");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    // The node comes back on its registered address and gets each application once.
    let node_db = format!(
        "sqlite:{}",
        data.path()
            .join("nodes")
            .join(format!("{NODE}.db"))
            .display()
    );
    let _node = spawn(
        &authority_args(&node_addr, &node_db, &portal_url, &keys),
        &[],
        &data.path().join("node.log"),
    );
    wait_healthy(&format!("http://{node_addr}")).await;
    for reference in &references {
        assert_delivered_once(data.path(), reference, "node back").await;
    }
}

//! Portal and authority nodes as separate processes (`rathaus portal`, `rathaus authority`),
//! the dog registration filled in over HTTP, and what the databases hold afterwards; shared by
//! the crash tests (crash_http.rs) and the scale-out tests (multinode.rs).

use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use super::{Browser, rathaus};

/// The dog registration (Hundeanmeldung), a basic-level online service.
pub const DOG: &str = "99110009104000";
pub const PASSWORD: &str = "Ein langer Satz als Passwort";
/// The node that hosts the central dog register, and its authority.
pub const NODE: &str = "landesbehoerden";
pub const AUTHORITY: &str = "hunderegister";

/// Short leases and retries, so a crashed attempt is repeated within seconds, not minutes.
pub const FAST_RETRIES: [(&str, &str); 2] = [
    ("RATHAUS_PORTAL__DELIVERY_LEASE_SECS", "2"),
    ("RATHAUS_PORTAL__DELIVERY_FIRST_RETRY_SECS", "1"),
];

/// A port on this machine that nothing listens on right now.
pub fn free_addr() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().to_string()
}

/// A process started with its log in a file, killed (SIGKILL) when dropped.
pub struct Process(pub Child);

impl Process {
    /// SIGKILL, as a lost machine would do it, and waits until the process is gone.
    pub fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        self.0.try_wait().unwrap().is_none()
    }

    /// Waits (up to 60 s) until `{base}/healthz` answers; fails at once, with the log, when
    /// the process has ended instead (its port taken meanwhile, a bad option).
    pub async fn wait_healthy(&mut self, base: &str, log: &Path) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(response) = reqwest::get(format!("{base}/healthz")).await
                && response.status().is_success()
            {
                return;
            }
            assert!(
                self.is_running(),
                "{base} ended during start-up: {}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
            assert!(Instant::now() < deadline, "{base} did not come up");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Starts `rathaus ARGS` with `env` (and the short delivery retries), its stderr in `log`.
pub fn spawn<A: AsRef<std::ffi::OsStr>>(args: &[A], env: &[(&str, String)], log: &Path) -> Process {
    let mut command = rathaus();
    command
        .args(args)
        .envs(FAST_RETRIES)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .env_remove(rathaus_failpoint::VARIABLE)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap());
    Process(command.spawn().unwrap())
}

/// Waits (up to 60 s) until `{base}/healthz` answers.
pub async fn wait_healthy(base: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(response) = reqwest::get(format!("{base}/healthz")).await
            && response.status().is_success()
        {
            return;
        }
        assert!(Instant::now() < deadline, "{base} did not come up");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The environment of a `rathaus portal` that delivers with the keys in `keys` (the demo's
/// layout: `portal.json`), serves plain HTTP under `public_url` and writes mails into `mail`.
pub fn portal_env(keys: &Path, public_url: &str, mail: &Path) -> Vec<(&'static str, String)> {
    vec![
        (
            "RATHAUS_PORTAL__KEYS_FILE",
            keys.join("portal.json").display().to_string(),
        ),
        ("RATHAUS_PORTAL__PUBLIC_URL", public_url.to_owned()),
        ("RATHAUS_PORTAL__SECURE_COOKIES", "false".into()),
        ("RATHAUS_MAIL__DIR", mail.display().to_string()),
    ]
}

/// The arguments of `rathaus authority` for [`NODE`] on `listen` with its database, sending
/// status changes to `portal_url`, with the keys in `keys` (the demo's layout).
pub fn authority_args(
    listen: &str,
    database_url: &str,
    portal_url: &str,
    keys: &Path,
) -> Vec<String> {
    vec![
        "authority".into(),
        "--node".into(),
        NODE.into(),
        "--listen".into(),
        listen.into(),
        "--database-url".into(),
        database_url.into(),
        "--portal-url".into(),
        portal_url.into(),
        "--keys".into(),
        keys.join(format!("{NODE}.json")).display().to_string(),
        "--portal-keys".into(),
        keys.join("portal.public.json").display().to_string(),
    ]
}

/// Signs in on the browser's node with [`PASSWORD`]; the session cookie is then set.
pub async fn sign_in(browser: &mut Browser, email: &str) {
    let signed_in = browser
        .submit(
            "/account/sign-in",
            "/account/sign-in",
            &[("email", email), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(
        (signed_in.status, signed_in.location()),
        (303, "/account"),
        "{email} on {}: {}",
        browser.base(),
        signed_in.body
    );
    assert!(browser.session_cookie().is_some());
}

/// The date `offset` days from today, as a form field wants it.
pub fn day(offset: i64) -> String {
    let today = rathaus_web::Clock::now(&rathaus_web::SystemClock).date_naive();
    (today + chrono::Duration::days(offset))
        .format("%Y-%m-%d")
        .to_string()
}

/// The steps of the dog registration with valid answers, for a dog called `dog_name`.
pub fn dog_steps(dog_name: &str) -> [(&'static str, Vec<(&'static str, String)>); 3] {
    let owned = |pairs: &[(&'static str, &str)]| -> Vec<(&'static str, String)> {
        pairs.iter().map(|(k, v)| (*k, (*v).to_owned())).collect()
    };
    [
        (
            "owner",
            owned(&[
                ("owner_name.given_names", "Anna"),
                ("owner_name.family_name", "Schulz"),
                ("owner_birth_date", "1987-05-14"),
                ("owner_address.street", "Osterstraße"),
                ("owner_address.house_number", "112"),
                ("owner_address.postcode", "20259"),
                ("owner_address.city", "Hamburg"),
            ]),
        ),
        (
            "dog",
            owned(&[
                ("dog_name", dog_name),
                ("dog_sex", "female"),
                ("breed", "other"),
                ("breed_description", "Labrador-Mischling"),
                ("dog_birth_date", &day(-700)),
                ("shoulder_height", "55"),
                ("chip_number", "276098106543210"),
                ("keeping_since", &day(-30)),
            ]),
        ),
        (
            "insurance",
            owned(&[
                ("insurer", "Hanseatische Tierhalter-Versicherung"),
                ("policy_number", "TH-2024-77812"),
                ("insurance_meets_minimum", "yes"),
            ]),
        ),
    ]
}

/// Fills in the dog registration up to the review; returns the review's submit fields.
pub async fn fill_in(browser: &mut Browser, dog_name: &str) -> Vec<(String, String)> {
    fill_in_on(browser, dog_name, &[]).await
}

/// Like [`fill_in`], with each step (and then the review) sent to the next of `nodes` in turn:
/// the draft saved through one portal node is continued through another.
pub async fn fill_in_on(
    browser: &mut Browser,
    dog_name: &str,
    nodes: &[String],
) -> Vec<(String, String)> {
    let mut next_node = nodes.iter().cycle();
    let mut switch = |browser: &mut Browser| {
        if let Some(node) = next_node.next() {
            browser.set_base(node);
        }
    };
    switch(browser);
    let start = browser.get(&format!("/services/{DOG}/form")).await;
    assert_eq!(start.status, 303, "{}", start.body);
    for (step, fields) in dog_steps(dog_name) {
        let path = format!("/services/{DOG}/form/{step}");
        let csrf = browser.get(&path).await.csrf();
        let mut all = vec![("csrf", csrf.as_str()), ("step", step), ("action", "next")];
        all.extend(fields.iter().map(|(k, v)| (*k, v.as_str())));
        let answer = browser.post(&path, &all).await;
        assert_eq!(answer.status, 303, "{step}: {}", answer.body);
        switch(browser);
    }
    let review = browser.get(&format!("/services/{DOG}/review")).await;
    assert_eq!(review.status, 200, "{}", review.body);
    vec![
        ("csrf".into(), review.csrf()),
        ("submission".into(), submission_token(&review.body)),
        ("declaration".into(), "yes".into()),
    ]
}

/// The review form's `submission` field: fixed when the draft was made, it makes the submit
/// idempotent (a second post with it finds the first application).
pub fn submission_token(review: &str) -> String {
    review
        .split("name=\"submission\" value=\"")
        .nth(1)
        .expect("the review form has a submission field")
        .split('"')
        .next()
        .unwrap()
        .to_owned()
}

/// Posts the submit form; `None` when the connection broke before an answer (the portal
/// died), else the reference it redirects to.
pub async fn post_submit(
    portal: &str,
    browser: &Browser,
    fields: &[(String, String)],
) -> Option<String> {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let jar: Vec<String> = browser
        .cookies
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    let response = client
        .post(format!("{portal}/services/{DOG}/submit"))
        .header("cookie", jar.join("; "))
        .form(fields)
        .send()
        .await
        .ok()?;
    assert_eq!(response.status().as_u16(), 303);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    Some(reference_in(&location))
}

/// The reference of an application from the submit's redirect (`/applications/{reference}`).
pub fn reference_in(location: &str) -> String {
    location
        .strip_prefix("/applications/")
        .unwrap_or_else(|| panic!("not an application: {location}"))
        .to_owned()
}

/// `query` with `reference` bound to `$1`, counted on a SQLite or PostgreSQL database.
pub async fn count(url: &str, query: &str, reference: &str) -> i64 {
    let (n,): (i64,) = if url.starts_with("postgres") {
        let pool = sqlx::PgPool::connect(url).await.unwrap();
        let n = sqlx::query_as(query)
            .bind(reference)
            .fetch_one(&pool)
            .await
            .unwrap();
        pool.close().await;
        n
    } else {
        let pool = sqlx::SqlitePool::connect(url).await.unwrap();
        let n = sqlx::query_as(query)
            .bind(reference)
            .fetch_one(&pool)
            .await
            .unwrap();
        pool.close().await;
        n
    };
    n
}

/// Waits until the portal (database `portal`) has the node's receipt for `reference`, then
/// checks that the node (database `node`) holds exactly one case for it and the portal exactly
/// one acknowledged delivery, with the ciphertext gone.
pub async fn assert_delivered_once_at(portal: &str, node: &str, reference: &str, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let delivered = count(
            portal,
            "SELECT COUNT(*) FROM deliveries WHERE reference = $1 AND state = 'delivered' \
             AND envelope IS NULL",
            reference,
        )
        .await;
        if delivered == 1 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: {reference} was not delivered within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let entries = count(
        portal,
        "SELECT COUNT(*) FROM deliveries WHERE reference = $1",
        reference,
    )
    .await;
    let cases = count(
        node,
        &format!(
            "SELECT COUNT(*) FROM cases WHERE reference = $1 AND authority_id = '{AUTHORITY}'"
        ),
        reference,
    )
    .await;
    assert_eq!(
        (entries, cases),
        (1, 1),
        "{what}: one outbox entry and one case"
    );
}

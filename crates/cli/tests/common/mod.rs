//! Starts real `rathaus` processes for integration tests and talks to them over HTTP.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub mod nodes;

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

pub fn fixture() -> PathBuf {
    let path = root().join("../shared/fixtures/leika/leistungen.csv");
    assert!(
        path.is_file(),
        "the catalogue fixture is missing: {}",
        path.display()
    );
    path
}

pub fn rathaus() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_rathaus"));
    command
        .current_dir(root())
        .env("RATHAUS_LOG", "warn")
        .env_remove("RATHAUS_CONFIG");
    command
}

/// A running `rathaus demo`, stopped when dropped.
pub struct Demo {
    child: Child,
    pub portal: String,
    pub nodes: Vec<(String, String)>,
    /// The in-process TEST identity provider (`Test eID provider: …`).
    pub test_idp: Option<String>,
    data: tempfile::TempDir,
    log: Option<PathBuf>,
}

/// How to start a demo beyond the defaults.
#[derive(Default)]
pub struct DemoOptions<'a> {
    /// Extra command-line options of `rathaus demo`.
    pub args: &'a [&'a str],
    /// Extra environment variables (`RATHAUS_PORTAL__…`).
    pub env: &'a [(&'a str, &'a str)],
    /// Write the demo's log (stderr) into `DATA/demo.log` at this filter instead of showing it.
    pub log_filter: Option<&'a str>,
}

impl Demo {
    pub fn start(extra: &[&str]) -> Self {
        Self::start_with(DemoOptions {
            args: extra,
            ..DemoOptions::default()
        })
    }

    pub fn start_with(options: DemoOptions<'_>) -> Self {
        let data = tempfile::tempdir().unwrap();
        seed_keys(data.path());
        let mut command = rathaus();
        command
            .args(["demo", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data.path())
            .args(options.args)
            .envs(options.env.iter().copied())
            .stdout(Stdio::piped());
        let log = options.log_filter.map(|filter| {
            let path = data.path().join("demo.log");
            command
                .env("RATHAUS_LOG", filter)
                .stderr(std::fs::File::create(&path).unwrap());
            path
        });
        if log.is_none() {
            command.stderr(Stdio::inherit());
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
        let mut nodes = Vec::new();
        let mut test_idp = None;
        while Instant::now() < deadline {
            match rx.recv_timeout(Duration::from_millis(200)) {
                Ok(line) => {
                    if let Some(url) = line.trim().strip_prefix("Portal: ") {
                        portal = Some(url.trim_end_matches('/').to_owned());
                    } else if let Some(rest) = line.trim().strip_prefix("Authority node ") {
                        let (id, url) = rest.split_once(": ").unwrap();
                        nodes.push((id.to_owned(), url.trim_end_matches('/').to_owned()));
                    } else if let Some(rest) = line.trim().strip_prefix("Test eID provider: ") {
                        let url = rest.split_whitespace().next().unwrap_or_default();
                        test_idp = Some(url.trim_end_matches('/').to_owned());
                    } else if line.trim().starts_with("API:") {
                        break;
                    }
                }
                Err(_) => {
                    if let Some(status) = child.try_wait().unwrap() {
                        panic!("rathaus demo exited during start-up: {status}");
                    }
                }
            }
        }
        let portal = portal.expect("rathaus demo printed no portal URL within 60 s");
        remember_keys(data.path());
        Self {
            child,
            portal,
            nodes,
            test_idp,
            data,
            log,
        }
    }

    /// The demo's data directory (databases, `mail/`).
    pub fn data_dir(&self) -> &Path {
        self.data.path()
    }

    /// What the demo has logged so far (only with `DemoOptions::log_filter`).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log.as_ref().expect("started without a log file"))
            .unwrap_or_default()
    }

    /// The newest mail of `kind` (`confirm`, `reset`, `already-registered`) in the demo's
    /// mail directory, waiting up to 10 s for it to appear (mails are written in the
    /// background). Only mails written after `after` (a count from `mail_count`) are looked at.
    pub fn newest_mail(&self, kind: &str, after: usize) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let mut names = self.mail_names();
            let fresh: Vec<String> = names.split_off(after.min(names.len()));
            if let Some(name) = fresh
                .iter()
                .rev()
                .find(|n| n.ends_with(&format!("-{kind}.eml")))
            {
                return std::fs::read_to_string(self.data_dir().join("mail").join(name)).unwrap();
            }
            assert!(
                Instant::now() < deadline,
                "no {kind} mail after {after}: {names:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// How many mails have been written so far.
    pub fn mail_count(&self) -> usize {
        self.mail_names().len()
    }

    fn mail_names(&self) -> Vec<String> {
        let Ok(dir) = std::fs::read_dir(self.data_dir().join("mail")) else {
            return Vec::new();
        };
        let mut names: Vec<String> = dir
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".eml"))
            .collect();
        names.sort(); // time, then a sequence number
        names
    }

    /// Kills the demo process with SIGKILL, as a crash would.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.portal)
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

pub async fn get(url: &str) -> (u16, reqwest::header::HeaderMap, String) {
    let response = client().get(url).send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.text().await.unwrap())
}

pub async fn get_json(url: &str) -> (u16, serde_json::Value) {
    let (status, headers, body) = get(url).await;
    let kind = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(
        kind.contains("json"),
        "{url}: expected JSON, got {kind}: {body}"
    );
    (status, serde_json::from_str(&body).unwrap())
}

/// The first link in a mail that starts with `prefix` (for example `http://127.0.0.1:…/account/confirm`).
pub fn link_in(mail: &str, prefix: &str) -> String {
    let start = mail
        .find(prefix)
        .unwrap_or_else(|| panic!("no {prefix} in {mail}"));
    mail[start..]
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect()
}

/// Registers `email` with `password` through the registration form; the portal then mails
/// the confirmation link.
pub async fn register_account(browser: &mut Browser, email: &str, password: &str) {
    let registered = browser
        .submit(
            "/account/register",
            "/account/register",
            &[("email", email), ("password", password)],
        )
        .await;
    assert_eq!(registered.status, 303, "{}", registered.body);
}

/// Confirms an account with the link in its confirmation `mail` from `portal`: opens the link,
/// then posts the page's form.
pub async fn confirm_account(browser: &mut Browser, mail: &str, portal: &str) {
    let confirm = link_in(mail, &format!("{portal}/account/confirm?token="));
    let token = confirm.split("token=").nth(1).unwrap().to_owned();
    let page = browser.get(&confirm).await;
    let confirmed = browser
        .post(
            "/account/confirm",
            &[("csrf", &page.csrf()), ("token", &token)],
        )
        .await;
    assert_eq!(confirmed.status, 200, "{}", confirmed.body);
}

/// A browser over real HTTP: keeps cookies, follows no redirects.
pub struct Browser {
    client: reqwest::Client,
    base: String,
    pub cookies: std::collections::BTreeMap<String, String>,
    /// The portal nodes to go on to, in order, when `base` cannot be reached (see
    /// [`Browser::across`]).
    fallbacks: Vec<String>,
    /// Every request that failed at the connection level and was sent again to the next node:
    /// the node, the request and the error.
    pub connection_failures: Vec<String>,
}

/// An answer as tests look at it.
pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Answer {
    pub fn location(&self) -> &str {
        self.headers
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    /// The `csrf` field of the first form on the page.
    pub fn csrf(&self) -> String {
        let marker = "name=\"csrf\" value=\"";
        let start = self.body.find(marker).expect("no csrf field") + marker.len();
        self.body[start..].split('"').next().unwrap().to_owned()
    }

    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect()
    }
}

impl Browser {
    pub fn new(base: &str) -> Self {
        Self {
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            base: base.trim_end_matches('/').to_owned(),
            cookies: Default::default(),
            fallbacks: Vec::new(),
            connection_failures: Vec::new(),
        }
    }

    /// A browser on the first of several portal nodes behind one address, as a load balancer
    /// would treat them: a request that fails at the connection level (a node lost) is sent
    /// again, unchanged and with the same cookies, to the next node, which is used from then
    /// on. Each failure is kept in `connection_failures`; a timeout is not such a failure.
    pub fn across(nodes: &[String]) -> Self {
        let mut browser = Self::new(&nodes[0]);
        browser.fallbacks = nodes[1..]
            .iter()
            .map(|n| n.trim_end_matches('/').to_owned())
            .collect();
        browser
    }

    /// The node requests go to.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// Sends the following requests to another node (with the same cookies).
    pub fn set_base(&mut self, base: &str) {
        base.trim_end_matches('/').clone_into(&mut self.base);
    }

    async fn send(&mut self, request: reqwest::RequestBuilder) -> Answer {
        let request = if self.cookies.is_empty() {
            request
        } else {
            let jar: Vec<String> = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            request.header("cookie", jar.join("; "))
        };
        let mut request = request.build().unwrap();
        let (status, headers, body) = loop {
            let what = format!("{} {}", request.method(), request.url());
            let attempt = request
                .try_clone()
                .expect("a request without a streamed body");
            let error = match self.client.execute(attempt).await {
                Ok(response) => {
                    let status = response.status().as_u16();
                    let headers = response.headers().clone();
                    match response.text().await {
                        Ok(body) => break (status, headers, body),
                        Err(e) => e,
                    }
                }
                Err(e) => e,
            };
            if error.is_timeout() || self.fallbacks.is_empty() {
                panic!("{what}: {error:?}");
            }
            self.connection_failures.push(format!("{what}: {error}"));
            let next = self.fallbacks.remove(0);
            if let Some(rest) = request.url().as_str().strip_prefix(&self.base) {
                *request.url_mut() = reqwest::Url::parse(&format!("{next}{rest}")).unwrap();
            }
            self.base = next;
        };
        for cookie in headers.get_all("set-cookie") {
            let text = cookie.to_str().unwrap();
            let (pair, attributes) = text.split_once(';').unwrap_or((text, ""));
            let (name, value) = pair.split_once('=').unwrap();
            if attributes.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
        Answer {
            status,
            headers,
            body,
        }
    }

    fn url(&self, path: &str) -> String {
        if path.starts_with("http") {
            path.to_owned()
        } else {
            format!("{}{path}", self.base)
        }
    }

    pub async fn get(&mut self, path: &str) -> Answer {
        let request = self.client.get(self.url(path));
        self.send(request).await
    }

    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Answer {
        let request = self.client.post(self.url(path)).form(fields);
        self.send(request).await
    }

    /// Like `post`, with extra headers (for example a foreign `Origin`).
    pub async fn post_with(
        &mut self,
        path: &str,
        fields: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> Answer {
        let mut request = self.client.post(self.url(path)).form(fields);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        self.send(request).await
    }

    /// Posts a body of the given content type (for example a multipart form with files).
    pub async fn post_body(&mut self, path: &str, content_type: &str, body: Vec<u8>) -> Answer {
        let request = self
            .client
            .post(self.url(path))
            .header("content-type", content_type)
            .body(body);
        self.send(request).await
    }

    /// GETs `form`, then posts `fields` to `action` with the page's CSRF token.
    pub async fn submit(&mut self, form: &str, action: &str, fields: &[(&str, &str)]) -> Answer {
        let csrf = self.get(form).await.csrf();
        let mut all = vec![("csrf", csrf.as_str())];
        all.extend_from_slice(fields);
        self.post(action, &all).await
    }

    pub fn session_cookie(&self) -> Option<String> {
        self.cookies
            .iter()
            .find(|(k, _)| k.ends_with("rathaus_session"))
            .map(|(_, v)| v.clone())
    }
}

/// Where demo key sets are kept between tests: RSA 4096 generation takes seconds, and every
/// demo start has a fresh data directory.
fn key_cache() -> std::path::PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("demo-keys")
}

pub fn seed_keys(data: &Path) {
    let cache = key_cache();
    if let Ok(entries) = std::fs::read_dir(&cache) {
        let keys = data.join("keys");
        std::fs::create_dir_all(&keys).unwrap();
        for entry in entries.flatten() {
            std::fs::copy(entry.path(), keys.join(entry.file_name())).unwrap();
        }
    }
}

pub fn remember_keys(data: &Path) {
    let cache = key_cache();
    if cache.exists() {
        return;
    }
    let staging = cache.with_extension(format!("tmp{}", std::process::id()));
    let _ = std::fs::create_dir_all(&staging);
    if let Ok(entries) = std::fs::read_dir(data.join("keys")) {
        for entry in entries.flatten() {
            let _ = std::fs::copy(entry.path(), staging.join(entry.file_name()));
        }
    }
    // Another test binary may have won the race; either set is fine.
    if std::fs::rename(&staging, &cache).is_err() {
        let _ = std::fs::remove_dir_all(&staging);
    }
}

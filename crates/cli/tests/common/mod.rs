//! Starts real `rathaus` processes for integration tests and talks to them over HTTP.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

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
    _data: tempfile::TempDir,
}

impl Demo {
    pub fn start(extra: &[&str]) -> Self {
        let data = tempfile::tempdir().unwrap();
        let mut child = rathaus()
            .args(["demo", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data.path())
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
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
        while Instant::now() < deadline {
            match rx.recv_timeout(Duration::from_millis(200)) {
                Ok(line) => {
                    if let Some(url) = line.trim().strip_prefix("Portal: ") {
                        portal = Some(url.trim_end_matches('/').to_owned());
                    } else if let Some(rest) = line.trim().strip_prefix("Authority node ") {
                        let (id, url) = rest.split_once(": ").unwrap();
                        nodes.push((id.to_owned(), url.trim_end_matches('/').to_owned()));
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
        Self {
            child,
            portal,
            nodes,
            _data: data,
        }
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

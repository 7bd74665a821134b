//! What the bench targets of crates/cli (`delivery`, `accounts`, `journeys`) share: settings,
//! accounts, the dog registration's answers and percentiles. Each bench includes it with
//! `#[path = "support.rs"] mod support;` beside `mod common;` (the integration tests' helpers),
//! so nothing is copied between them. The dog registration's answers and filling it in are the
//! integration tests' own (`common::nodes`).

use std::time::{Duration, Instant};

use crate::common::{Answer, Browser, Demo, confirm_account, register_account};

pub const PASSWORD: &str = "Ein langer Satz als Passwort";

/// A positive number from the environment, or `default`.
pub fn setting(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(default)
}

/// The value at percentile `p` (0–100) of sorted values, NaN for none.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

/// The `Cookie` header a browser would send.
pub fn cookie_header(browser: &Browser) -> String {
    let jar: Vec<String> = browser
        .cookies
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    jar.join("; ")
}

/// The confirmation mail sent to `email`, among the mails after the first `after` of the
/// demo's mail directory (names sort by time), waiting up to 10 s for it (mails are written in
/// the background). Looks for the address, so registrations may run side by side.
fn confirm_mail(demo: &Demo, email: &str, after: usize) -> String {
    let dir = demo.data_dir().join("mail");
    let to = format!("To: {email}");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .map(|d| {
                d.filter_map(Result::ok)
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| n.ends_with(".eml"))
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        let fresh = names.iter().skip(after);
        for name in fresh.filter(|n| n.ends_with("-confirm.eml")) {
            let text = std::fs::read_to_string(dir.join(name)).unwrap_or_default();
            if text.lines().any(|l| l.trim_end() == to) {
                return text;
            }
        }
        assert!(Instant::now() < deadline, "no confirmation mail to {email}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Registers and confirms `email` (one argon2id hash in the portal); returns the browser,
/// not signed in. Safe to run several at a time.
pub async fn register(demo: &Demo, email: &str) -> Browser {
    let mut browser = Browser::new(&demo.portal);
    let mails = demo.mail_count();
    register_account(&mut browser, email, PASSWORD).await;
    let mail = confirm_mail(demo, email, mails);
    confirm_account(&mut browser, &mail, &demo.portal).await;
    browser
}

/// Registers, confirms and signs in `email`; returns the browser.
pub async fn citizen(demo: &Demo, email: &str) -> Browser {
    let mut browser = register(demo, email).await;
    let signed_in = browser
        .submit(
            "/account/sign-in",
            "/account/sign-in",
            &[("email", email), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(signed_in.status, 303, "{}", signed_in.body);
    browser
}

/// The fields a step's form posts: its CSRF token, the step, "next", and the answers.
pub fn step_fields<'a>(
    csrf: &'a str,
    step: &'a str,
    answers: &'a [(&'static str, String)],
) -> Vec<(&'a str, &'a str)> {
    let mut all = vec![("csrf", csrf), ("step", step), ("action", "next")];
    all.extend(answers.iter().map(|(k, v)| (*k, v.as_str())));
    all
}

/// The submit form's fields from the review page (CSRF token, submission id, declaration), or
/// None when the page has no submit form.
pub fn submit_fields(review: &Answer) -> Option<Vec<(String, String)>> {
    let submission = review
        .body
        .split("name=\"submission\" value=\"")
        .nth(1)?
        .split('"')
        .next()?
        .to_owned();
    Some(vec![
        ("csrf".into(), review.csrf()),
        ("submission".into(), submission),
        ("declaration".into(), "yes".into()),
    ])
}

/// The pid of the `rathaus demo` process (the portal; its authority nodes are its children):
/// the child of this process named `rathaus`.
pub fn portal_pid() -> Option<u32> {
    let me = std::process::id();
    std::fs::read_dir("/proc").ok()?.find_map(|entry| {
        let pid: u32 = entry.ok()?.file_name().to_str()?.parse().ok()?;
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // pid (comm) state ppid …; comm may hold spaces, so split after the last ')'.
        let (head, rest) = stat.rsplit_once(')')?;
        let ppid: u32 = rest.split_whitespace().nth(1)?.parse().ok()?;
        (ppid == me && head.ends_with("(rathaus")).then_some(pid)
    })
}

/// Resident memory of a process in KiB (`VmRSS` of `/proc/PID/status`).
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

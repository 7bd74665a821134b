//! The command line: service checks, configuration errors and help.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::rathaus;

fn write(dir: &std::path::Path, name: &str, content: &str) {
    std::fs::write(dir.join(name), content).unwrap();
}

#[test]
fn services_check_accepts_the_shipped_definitions() {
    let output = rathaus()
        .args([
            "services",
            "check",
            "services",
            "--tenant",
            "demo/tenant.toml",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    let valid: usize = stdout.split_whitespace().next().unwrap().parse().unwrap();
    assert!(
        valid >= 80,
        "at least 80 hand-written definitions are shipped, found {valid}"
    );
}

#[test]
fn services_check_reports_every_error_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let good = std::fs::read_to_string(common::root().join("services/residence-registration.toml"))
        .unwrap();
    write(dir.path(), "a-good.toml", &good);
    write(dir.path(), "b-duplicate.toml", &good);
    write(
        dir.path(),
        "c-unknown-key.toml",
        &good.replacen("online = ", "colour = \"blue\"\nonline = ", 1),
    );
    write(
        dir.path(),
        "d-bad-kind.toml",
        &good
            .replace("99115005104000", "local-other")
            .replace("\"kundenzentrum\"", "\"zoo\""),
    );
    write(dir.path(), "e-binary.toml", "\u{0}\u{1}garbage = [");
    std::fs::write(
        dir.path().join("f-latin1.toml"),
        [0x6b, 0x65, 0x79, 0x3d, 0xe4],
    )
    .unwrap();

    let output = rathaus()
        .args(["services", "check"])
        .arg(dir.path())
        .args(["--tenant", "demo/tenant.toml"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    let lines: Vec<&str> = stdout.lines().collect();
    let line_for = |file: &str| {
        lines
            .iter()
            .find(|l| l.contains(file))
            .copied()
            .unwrap_or_else(|| panic!("no error for {file}: {stdout}"))
    };
    assert!(line_for("b-duplicate.toml").contains("already used by"));
    let unknown = line_for("c-unknown-key.toml");
    assert!(unknown.contains("colour"), "{unknown}");
    assert!(
        unknown.split(':').nth(1).unwrap().parse::<usize>().is_ok(),
        "line number: {unknown}"
    );
    assert!(line_for("d-bad-kind.toml").contains("no authority kind `zoo`"));
    line_for("e-binary.toml");
    assert!(line_for("f-latin1.toml").contains("UTF-8"));
    assert!(
        stdout.contains("1 valid definition(s), 5 error(s)"),
        "{stdout}"
    );

    let output = rathaus()
        .args(["services", "check", "/nonexistent/dir"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stdout).contains("does not exist"));
}

#[test]
fn services_check_validates_a_catalogue_export() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("bad.csv");
    std::fs::write(&csv, "leika_key,name,typisierung,legal_basis,law_shortcuts,ozg_leistung,ozg_id,lebenslage,themenfeld\n123,Kaputt,5,,,X,1,,\n").unwrap();
    let output = rathaus()
        .args(["services", "check", "services", "--catalogue"])
        .arg(&csv)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stdout.contains("bad.csv:2:") && stdout.contains("14 digits"),
        "{stdout}"
    );

    let fixture = common::fixture();
    let output = rathaus()
        .args(["services", "check", "services", "--catalogue"])
        .arg(&fixture)
        .output()
        .unwrap();
    assert!(output.status.success());
    assert!(String::from_utf8_lossy(&output.stdout).contains("4813 catalogue entries"));
}

#[test]
fn a_wrong_configuration_is_a_precise_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("[portal]\nlisten = \"not an address\"\n", "portal.listen"),
        ("[portal]\ncolour = \"blue\"\n", "colour"),
        ("[log]\nformat = \"xml\"\n", "log.format"),
        ("this is not toml", "rathaus.toml"),
        (
            "[portal]\noperators = [\"betrieb at stadt\"]\n",
            "`portal.operators`: \"betrieb at stadt\" is not an e-mail address",
        ),
    ];
    for (content, needle) in cases {
        let file = dir.path().join("rathaus.toml");
        std::fs::write(&file, content).unwrap();
        let output = rathaus()
            .arg("--config")
            .arg(&file)
            .args(["config", "show"])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{content}: {stderr}");
        assert!(stderr.contains(needle), "{content}: {stderr}");
        assert!(!stderr.contains("panicked"));
    }
    let output = rathaus()
        .args(["--config", "/nonexistent.toml", "config", "show"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));

    let output = rathaus()
        .args(["config", "show"])
        .env("RATHAUS_PORTAL__LISTEN", "0.0.0.0:9000")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&output.stdout).contains("0.0.0.0:9000"));
}

#[test]
fn the_default_configuration_round_trips() {
    let output = rathaus().args(["config", "default"]).output().unwrap();
    assert!(output.status.success());
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("rathaus.toml");
    std::fs::write(&file, &output.stdout).unwrap();
    let shown = rathaus()
        .arg("--config")
        .arg(&file)
        .args(["config", "show"])
        .output()
        .unwrap();
    assert!(
        shown.status.success(),
        "{}",
        String::from_utf8_lossy(&shown.stderr)
    );
}

#[test]
fn help_documents_every_subcommand_and_the_demo_options() {
    let output = rathaus().arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&output.stdout);
    for command in ["demo", "portal", "authority", "services", "config"] {
        assert!(help.contains(command), "{help}");
    }
    let output = rathaus().args(["demo", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&output.stdout);
    for option in [
        "--data-dir",
        "--listen",
        "--services",
        "--catalogue",
        "--tenant",
    ] {
        assert!(help.contains(option), "{help}");
    }
}

#[test]
fn the_demo_refuses_broken_definitions_with_their_errors() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "broken.toml",
        "key = \"local-broken\"\nname = 3\n",
    );
    let data = tempfile::tempdir().unwrap();
    let output = rathaus()
        .args(["demo", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data.path())
        .arg("--services")
        .arg(dir.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("broken.toml:2:"), "{stderr}");
}

#[test]
fn the_shipped_files_are_found_from_any_working_directory() {
    let elsewhere = tempfile::tempdir().unwrap();
    let output = rathaus()
        .current_dir(elsewhere.path())
        .args(["config", "show"])
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&output.stdout);
    // Found beside the executable (in a checkout: target/debug/../../services), as an absolute path.
    let line = shown
        .lines()
        .find(|l| l.starts_with("services_dir = "))
        .unwrap();
    let found =
        std::path::PathBuf::from(line.trim_start_matches("services_dir = ").trim_matches('"'));
    assert!(
        found.is_absolute() && found.ends_with("services") && found.is_dir(),
        "{shown}"
    );
    assert!(
        found.join("residence-registration.toml").is_file(),
        "{shown}"
    );
    // An operator's own relative path is kept as written.
    let output = rathaus()
        .current_dir(elsewhere.path())
        .args(["config", "show"])
        .env("RATHAUS_CATALOG__SERVICES_DIR", "my-services")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&output.stdout).contains("services_dir = \"my-services\""));
}

#[test]
fn the_eid_section_is_optional_checked_and_its_secret_never_shown() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("rathaus.toml");
    std::fs::write(
        &file,
        "[eid]\nissuer = \"https://eid.example.org\"\nclient_id = \"serviceportal\"\nclient_secret = \"Kanarienvogel-Geheimnis\"\n",
    )
    .unwrap();
    let shown = rathaus()
        .arg("--config")
        .arg(&file)
        .args(["config", "show"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&shown.stdout);
    assert!(
        shown.status.success(),
        "{}",
        String::from_utf8_lossy(&shown.stderr)
    );
    assert!(
        stdout.contains("[eid]") && stdout.contains("https://eid.example.org"),
        "{stdout}"
    );
    assert!(!stdout.contains("Kanarienvogel"), "{stdout}");
    assert!(stdout.contains("[redacted]"));

    // From the environment, and the secret stays hidden there too.
    let shown = rathaus()
        .args(["config", "show"])
        .env("RATHAUS_EID__ISSUER", "https://eid.example.org")
        .env("RATHAUS_EID__CLIENT_ID", "serviceportal")
        .env("RATHAUS_EID__CLIENT_SECRET", "Kanarienvogel-Geheimnis")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&shown.stdout);
    assert!(
        stdout.contains("serviceportal") && !stdout.contains("Kanarienvogel"),
        "{stdout}"
    );

    // Without the section there is none; a typo or a missing key is an error naming it.
    let plain = rathaus().args(["config", "show"]).output().unwrap();
    assert!(!String::from_utf8_lossy(&plain.stdout).contains("[eid]"));
    for (content, needle) in [
        (
            "[eid]\nissuer = \"https://e.example\"\nclient_id = \"a\"\nclient_secret = \"b\"\nscope = \"x\"\n",
            "scope",
        ),
        (
            "[eid]\nissuer = \"https://e.example\"\nclient_id = \"a\"\n",
            "client_secret",
        ),
    ] {
        std::fs::write(&file, content).unwrap();
        let output = rathaus()
            .arg("--config")
            .arg(&file)
            .args(["config", "show"])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{content}: {stderr}");
        assert!(stderr.contains(needle), "{content}: {stderr}");
    }
}

#[test]
fn the_test_identity_provider_has_its_own_subcommand() {
    let output = rathaus().args(["test-idp", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success());
    for option in [
        "--listen",
        "--issuer",
        "--client-id",
        "--client-secret",
        "--redirect-url",
    ] {
        assert!(help.contains(option), "{help}");
    }
    assert!(help.contains("Not a real eID"), "{help}");
}

#[test]
fn c5_audit_verify_reports_an_intact_log_and_a_tampered_one() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("portal.db");
    let url = format!("sqlite:{}", db.display());
    // A fresh database: verify creates it and finds an empty, intact log.
    let out = rathaus()
        .args(["audit", "verify", "--database-url", &url])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("intact: 0 entries"));

    // Two entries written the way the product writes them, then one changed by hand.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let store = rathaus_store::open(&url, &rathaus_store::testing::TestDatabase::options())
            .await
            .unwrap();
        for detail in ["first", "second"] {
            store
                .append_audit(&rathaus_store::AuditRecord {
                    id: 0,
                    at: chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2026, 5, 4, 10, 0, 0)
                        .unwrap(),
                    event: rathaus_domain::AuditEvent::SignIn,
                    account_id: None,
                    detail: detail.into(),
                })
                .await
                .unwrap();
        }
        store.close().await;
        let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
        sqlx::query("UPDATE audit_log SET detail = 'changed' WHERE detail = 'second'")
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
    });
    let out = rathaus()
        .args(["audit", "verify", "--database-url", &url])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("entry 2 does not match"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

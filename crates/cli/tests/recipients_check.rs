//! `rathaus services check` on `[[recipients]]` (several recipients per service, issue 5):
//! every mistake is reported with file and line, and the shipped residence registration, which
//! goes to the registration office and the ID card office, passes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{rathaus, root};

fn check(dir: &std::path::Path) -> (Option<i32>, String) {
    let output = rathaus()
        .args(["services", "check"])
        .arg(dir)
        .args(["--tenant", "demo/tenant.toml"])
        .output()
        .unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

/// The line of `needle` in `source`, counted from 1.
fn line_of(source: &str, needle: &str) -> usize {
    source
        .lines()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("{needle} not in the file"))
        + 1
}

#[test]
fn services_check_reports_bad_recipients_with_file_and_line() {
    let good =
        std::fs::read_to_string(root().join("services/residence-registration.toml")).unwrap();
    assert!(
        good.contains("[[recipients]]"),
        "the shipped file has a recipient"
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a-good.toml"), &good).unwrap();
    let (status, stdout) = check(dir.path());
    assert_eq!(status, Some(0), "{stdout}");

    let cases = [
        (
            "b-unknown-kind.toml",
            good.replace(
                "authority_kind = \"personalausweisbehoerde\"",
                "authority_kind = \"passamt\"",
            ),
            "authority_kind = \"passamt\"",
            "no authority kind `passamt`",
        ),
        (
            "c-responsible-kind.toml",
            good.replace(
                "authority_kind = \"personalausweisbehoerde\"",
                "authority_kind = \"kundenzentrum\"",
            ),
            "[[recipients]]",
            "already the responsible authority kind",
        ),
        (
            "d-no-purpose.toml",
            good.replace(
                "purpose = { de = \"Die Personalausweisbehörde",
                "# purpose = {",
            ),
            "[[recipients]]",
            "purpose",
        ),
    ];
    for (name, source, at, message) in &cases {
        let source = source.replace("99115005104000", "local-recipient-test");
        std::fs::write(dir.path().join(name), &source).unwrap();
        let (status, stdout) = check(dir.path());
        assert_eq!(status, Some(1), "{name}: {stdout}");
        let line = stdout
            .lines()
            .find(|l| l.contains(name))
            .unwrap_or_else(|| panic!("no error for {name}: {stdout}"));
        assert!(line.contains(message), "{name}: {line}");
        let reported: usize = line.split(':').nth(1).unwrap().parse().unwrap();
        let expected = line_of(&source, at);
        // The kind's own line, or for the table as a whole its header or the line after it.
        assert!(
            (expected..=expected + 1).contains(&reported),
            "{name}: line {reported}, expected {expected}: {line}"
        );
        std::fs::remove_file(dir.path().join(name)).unwrap();
    }
}

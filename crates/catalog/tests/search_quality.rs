//! Search quality: everyday queries must find the right service among the top results, with
//! the shipped definitions alone and with the whole national catalogue loaded beside them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use rathaus_catalog::Catalog;
use rathaus_domain::{Lang, ServiceKey, TenantDirectory};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Cases {
    case: Vec<Case>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    query: String,
    lang: Lang,
    expect: String,
    top: usize,
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn fixture() -> PathBuf {
    let path = root().join("../shared/fixtures/leika/leistungen.csv");
    assert!(
        path.is_file(),
        "the catalogue fixture is missing: {}",
        path.display()
    );
    path
}

fn tenant() -> TenantDirectory {
    let path = root().join("demo/tenant.toml");
    TenantDirectory::parse(&path, &std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn cases() -> Vec<Case> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/search_quality");
    let mut all = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    for file in files
        .into_iter()
        .filter(|f| f.extension().is_some_and(|e| e == "toml"))
    {
        let cases: Cases = toml::from_str(&std::fs::read_to_string(&file).unwrap())
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        all.extend(cases.case);
    }
    all
}

fn failures(catalog: &Catalog) -> (usize, Vec<String>) {
    let cases = cases();
    let mut failed = Vec::new();
    for case in &cases {
        let expect: ServiceKey = case
            .expect
            .parse()
            .unwrap_or_else(|e| panic!("{}: {e}", case.expect));
        assert!(
            catalog.get(&expect).is_some(),
            "case `{}` expects an unknown service {expect}",
            case.query
        );
        let results = catalog.search(&case.query, case.lang, None, 0, case.top);
        if !results.items.iter().any(|e| e.key == expect) {
            let got: Vec<String> = results
                .items
                .iter()
                .map(|e| format!("{} ({})", e.key, e.name(case.lang).text))
                .collect();
            failed.push(format!(
                "[{}] {:?} → expected {expect} in top {}, got {got:?}",
                case.lang, case.query, case.top
            ));
        }
    }
    (cases.len(), failed)
}

#[test]
fn search_quality_with_the_shipped_definitions() {
    let catalog = Catalog::load(&root().join("services"), None, &tenant()).unwrap();
    let (total, failed) = failures(&catalog);
    assert!(
        total >= 40,
        "the quality set must have at least 40 queries, has {total}"
    );
    assert!(
        failed.is_empty(),
        "{} of {total} queries failed:\n{}",
        failed.len(),
        failed.join("\n")
    );
}

#[test]
fn search_quality_with_the_full_national_catalogue() {
    let catalog = Catalog::load(&root().join("services"), Some(&fixture()), &tenant()).unwrap();
    assert!(catalog.len() > 4_800, "only {} entries", catalog.len());
    let (total, failed) = failures(&catalog);
    assert!(
        failed.is_empty(),
        "{} of {total} queries failed:\n{}",
        failed.len(),
        failed.join("\n")
    );
}

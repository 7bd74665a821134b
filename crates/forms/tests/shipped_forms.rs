#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Every shipped service definition's form parses and passes every check.

use std::path::Path;

#[test]
fn every_shipped_form_is_valid() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../services");
    let mut errors = Vec::new();
    let mut forms = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "toml") {
            continue;
        }
        let source = std::fs::read_to_string(&path).unwrap();
        match rathaus_forms::parse_form(&path, &source) {
            Ok(Some(_)) => forms += 1,
            Ok(None) => {}
            Err(e) => errors.push(e.to_string()),
        }
    }
    assert!(errors.is_empty(), "{}", errors.join("\n"));
    assert!(forms >= 1, "no shipped service has a form");
}

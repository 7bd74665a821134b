//! Development aid: parses every `*.toml` in a directory as a service definition and prints
//! the errors. Operators use `rathaus services check`, which also checks across files.
#![allow(clippy::print_stdout)]

use std::path::Path;

fn main() {
    let dir = std::env::args().nth(1).unwrap_or_else(|| "services".into());
    let mut bad = 0;
    let mut good = 0;
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .map(|rd| rd.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    paths.sort();
    for path in paths
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
    {
        let source = std::fs::read_to_string(path).unwrap_or_default();
        match rathaus_domain::ServiceDefinition::parse(Path::new(path), &source) {
            Ok(_) => good += 1,
            Err(e) => {
                bad += 1;
                println!("{e}");
            }
        }
    }
    if let Some(tenant) = std::env::args().nth(2) {
        let source = std::fs::read_to_string(&tenant).unwrap_or_default();
        if let Err(e) = rathaus_domain::TenantDirectory::parse(Path::new(&tenant), &source) {
            bad += 1;
            println!("{e}");
        }
    }
    println!("{good} valid, {bad} with errors");
    std::process::exit(i32::from(bad > 0));
}

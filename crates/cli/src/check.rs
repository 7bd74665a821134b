//! `rathaus services check`: every problem in a set of definitions, with file and line.

use std::path::Path;
use std::process::ExitCode;

use rathaus_catalog::{load_definitions, read_catalogue};
use rathaus_domain::{SourceError, TenantDirectory};

#[allow(clippy::print_stdout)]
pub fn run(dir: &Path, tenant: Option<&Path>, catalogue: Option<&Path>) -> ExitCode {
    let mut errors: Vec<SourceError> = Vec::new();
    let tenant = match tenant.map(read_tenant) {
        Some(Ok(tenant)) => Some(tenant),
        Some(Err(error)) => {
            errors.push(error);
            None
        }
        None => None,
    };
    let loaded = load_definitions(dir, tenant.as_ref());
    errors.extend(loaded.errors);
    let mut catalogue_rows = 0;
    if let Some(path) = catalogue {
        match std::fs::read(path) {
            Ok(bytes) => match read_catalogue(path, &bytes) {
                Ok(records) => catalogue_rows = records.len(),
                Err(list) => errors.extend(list),
            },
            Err(_) => errors.push(SourceError::new(
                path,
                None,
                "cannot read the catalogue file",
            )),
        }
    }
    for error in &errors {
        println!("{error}");
    }
    let valid = loaded.definitions.len();
    let mut summary = format!("{valid} valid definition(s), {} error(s)", errors.len());
    if catalogue.is_some() {
        summary.push_str(&format!(", {catalogue_rows} catalogue entries"));
    }
    println!("{summary}");
    if errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

pub fn read_tenant(path: &Path) -> Result<TenantDirectory, SourceError> {
    let source = std::fs::read_to_string(path).map_err(|_| {
        SourceError::new(
            path,
            None,
            "cannot read the tenant file (missing, unreadable or not UTF-8)",
        )
    })?;
    TenantDirectory::parse(path, &source)
}

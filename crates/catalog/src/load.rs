//! Reading service definitions from a directory, with every problem reported at once.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use std::sync::Arc;

use rathaus_domain::{ServiceDefinition, ServiceKey, SourceError, TenantDirectory};
use rathaus_forms::FormDefinition;

/// Largest definition file accepted; the longest real ones are a few dozen kilobytes.
const MAX_FILE_BYTES: u64 = 512 * 1024;
/// Most definitions one directory may hold.
const MAX_FILES: usize = 20_000;

/// The result of reading a directory: the valid definitions and the errors of the others.
#[derive(Debug, Default)]
pub struct LoadedDefinitions {
    pub definitions: Vec<(PathBuf, ServiceDefinition)>,
    /// The online forms of the definitions that have one.
    pub forms: HashMap<ServiceKey, Arc<FormDefinition>>,
    pub errors: Vec<SourceError>,
}

/// Reads every `*.toml` file directly in `dir` (sorted by name, so results are stable) and
/// checks each one, then checks across files: duplicate keys, and (with a tenant) authority
/// kinds the tenant does not have.
pub fn load_definitions(dir: &Path, tenant: Option<&TenantDirectory>) -> LoadedDefinitions {
    let mut loaded = LoadedDefinitions::default();
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) => {
            loaded.errors.push(SourceError::new(
                dir,
                None,
                format!("cannot read the directory: {}", io_reason(&e)),
            ));
            return loaded;
        }
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "toml"))
        .collect();
    paths.sort();
    if paths.len() > MAX_FILES {
        loaded.errors.push(SourceError::new(
            dir,
            None,
            format!("more than {MAX_FILES} definition files"),
        ));
        return loaded;
    }

    for path in paths {
        match read_one(&path) {
            Ok((definition, form)) => {
                if let Some(form) = form {
                    loaded.forms.insert(definition.key.clone(), Arc::new(form));
                }
                loaded.definitions.push((path, definition));
            }
            Err(error) => loaded.errors.push(error),
        }
    }

    let mut first: HashMap<ServiceKey, &Path> = HashMap::new();
    let mut cross_errors = Vec::new();
    for (path, definition) in &loaded.definitions {
        if let Some(other) = first.insert(definition.key.clone(), path) {
            cross_errors.push(SourceError::new(
                path,
                definition.positions.key,
                format!(
                    "the key {} is already used by {}",
                    definition.key,
                    other.display()
                ),
            ));
        }
        let Some(tenant) = tenant else { continue };
        // The responsible kind and every further recipient's kind must exist in the tenant.
        let kinds = definition
            .responsibility
            .iter()
            .map(|r| (&r.authority_kind, definition.positions.authority_kind))
            .chain(
                definition
                    .recipients
                    .iter()
                    .map(|r| (&r.authority_kind, r.position)),
            );
        for (kind, position) in kinds {
            if tenant.kind(kind).is_none() {
                cross_errors.push(SourceError::new(
                    path,
                    position,
                    format!(
                        "the tenant `{}` has no authority kind `{}`; known kinds: {}",
                        tenant.id,
                        kind,
                        tenant
                            .authority_kinds
                            .iter()
                            .map(|k| k.id.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ));
            }
        }
    }
    if !cross_errors.is_empty() {
        let bad: Vec<PathBuf> = cross_errors.iter().map(|e| e.file.clone()).collect();
        loaded.definitions.retain(|(path, _)| !bad.contains(path));
        let kept: std::collections::HashSet<&ServiceKey> =
            loaded.definitions.iter().map(|(_, d)| &d.key).collect();
        loaded.forms.retain(|key, _| kept.contains(key));
        loaded.errors.extend(cross_errors);
    }
    loaded
        .errors
        .sort_by(|a, b| (&a.file, a.position).cmp(&(&b.file, b.position)));
    loaded
}

fn read_one(path: &Path) -> Result<(ServiceDefinition, Option<FormDefinition>), SourceError> {
    let metadata = std::fs::metadata(path).map_err(|e| {
        SourceError::new(
            path,
            None,
            format!("cannot read the file: {}", io_reason(&e)),
        )
    })?;
    if metadata.len() > MAX_FILE_BYTES {
        return Err(SourceError::new(
            path,
            None,
            format!("the file is larger than {} KiB", MAX_FILE_BYTES / 1024),
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| {
        SourceError::new(
            path,
            None,
            format!("cannot read the file: {}", io_reason(&e)),
        )
    })?;
    let source = String::from_utf8(bytes).map_err(|e| {
        let position = rathaus_domain::Position::at(
            &String::from_utf8_lossy(&e.as_bytes()[..e.utf8_error().valid_up_to()]),
            e.utf8_error().valid_up_to(),
        );
        SourceError::new(path, Some(position), "the file is not valid UTF-8")
    })?;
    let definition = ServiceDefinition::parse(path, &source)?;
    let form = rathaus_forms::parse_form(path, &source)?;
    Ok((definition, form))
}

/// Describes an I/O error without the raw OS error text's internals.
pub(crate) fn io_reason(error: &std::io::Error) -> &'static str {
    match error.kind() {
        std::io::ErrorKind::NotFound => "it does not exist",
        std::io::ErrorKind::PermissionDenied => "permission denied",
        std::io::ErrorKind::NotADirectory => "it is not a directory",
        std::io::ErrorKind::IsADirectory => "it is a directory",
        std::io::ErrorKind::InvalidData => "it is not valid text",
        _ => "input/output error",
    }
}

//! Key files: the private set with mode 0600, the public set as plain JSON.
//!
//! Writing is atomic: the JSON goes to a temporary file in the same directory (created with its
//! final mode, never wider), which is flushed to disk and then moved into place; the directory
//! is flushed too. Without `overwrite` the move is a hard link, which fails if the target exists,
//! so two writers cannot both succeed and an existing key is never replaced by accident.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read as _, Write as _};
use std::path::{Path, PathBuf};

use crate::jwk::encode_b64;
use crate::{PrivateKeySet, PublicKeySet, SealError};

/// Largest key file read, in bytes; a key set is a few kilobytes.
const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// Writes the private set to `path` with mode 0600. Refuses an existing file unless
/// `overwrite` is true.
pub fn write_private(
    path: impl AsRef<Path>,
    keys: &PrivateKeySet,
    overwrite: bool,
) -> Result<(), SealError> {
    let json = keys.to_json()?;
    write_atomic(path.as_ref(), json.as_bytes(), 0o600, overwrite)
}

/// Reads and checks a private set written by [`write_private`].
pub fn read_private(path: impl AsRef<Path>) -> Result<PrivateKeySet, SealError> {
    let path = path.as_ref();
    let text = read_limited(path)?;
    PrivateKeySet::from_json(&text).map_err(|e| in_file(path, e))
}

/// Writes the public set to `path` as JSON with mode 0644. Refuses an existing file unless
/// `overwrite` is true.
pub fn write_public(
    path: impl AsRef<Path>,
    keys: &PublicKeySet,
    overwrite: bool,
) -> Result<(), SealError> {
    let json = keys.to_json()?;
    write_atomic(path.as_ref(), json.as_bytes(), 0o644, overwrite)
}

/// Reads and checks a public set (see [`PublicKeySet::from_json`]).
pub fn read_public(path: impl AsRef<Path>) -> Result<PublicKeySet, SealError> {
    let path = path.as_ref();
    let text = read_limited(path)?;
    PublicKeySet::from_json(&text).map_err(|e| in_file(path, e))
}

fn in_file(path: &Path, error: SealError) -> SealError {
    SealError::InFile {
        path: path.to_path_buf(),
        error: Box::new(error),
    }
}

fn io_error(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> SealError {
    let path = path.to_path_buf();
    move |error| SealError::Io {
        action,
        path,
        error,
    }
}

fn read_limited(path: &Path) -> Result<String, SealError> {
    let file = File::open(path).map_err(io_error("open", path))?;
    let mut text = String::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(io_error("read", path))?;
    if text.len() as u64 > MAX_FILE_BYTES {
        return Err(SealError::Io {
            action: "read",
            path: path.to_path_buf(),
            error: io::Error::new(
                io::ErrorKind::InvalidData,
                format!("larger than {MAX_FILE_BYTES} bytes; not a key file"),
            ),
        });
    }
    Ok(text)
}

fn write_atomic(path: &Path, bytes: &[u8], mode: u32, overwrite: bool) -> Result<(), SealError> {
    let name = path.file_name().ok_or_else(|| SealError::Io {
        action: "create",
        path: path.to_path_buf(),
        error: io::Error::new(io::ErrorKind::InvalidInput, "the path names no file"),
    })?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !overwrite && path.exists() {
        return Err(SealError::FileExists {
            path: path.to_path_buf(),
        });
    }

    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".{}.tmp", encode_b64(&crate::random_bytes::<6>()?)));
    let tmp = dir.join(tmp_name);

    let result = write_tmp(&tmp, bytes, mode).and_then(|()| publish(&tmp, path, overwrite));
    // The temporary file is gone after a rename; after a hard link or a failure it is removed.
    let _ = fs::remove_file(&tmp);
    result?;
    File::open(&dir)
        .and_then(|d| d.sync_all())
        .map_err(io_error("flush the directory of", path))
}

fn write_tmp(tmp: &Path, bytes: &[u8], mode: u32) -> Result<(), SealError> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    let mut file = options.open(tmp).map_err(io_error("create", tmp))?;
    file.write_all(bytes).map_err(io_error("write", tmp))?;
    file.sync_all().map_err(io_error("flush", tmp))
}

fn publish(tmp: &Path, path: &Path, overwrite: bool) -> Result<(), SealError> {
    if overwrite {
        return fs::rename(tmp, path).map_err(io_error("replace", path));
    }
    match fs::hard_link(tmp, path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Err(SealError::FileExists {
            path: path.to_path_buf(),
        }),
        Err(e) => Err(SealError::Io {
            action: "create",
            path: path.to_path_buf(),
            error: e,
        }),
    }
}

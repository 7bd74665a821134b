//! Key files: mode 0600, atomic creation, no accidental overwrite, paths in errors.

use std::os::unix::fs::PermissionsExt as _;

use rathaus_seal::{
    PublicKeySet, SealError, read_private, read_public, write_private, write_public,
};

use crate::fixtures::{authority, portal};

#[test]
fn private_key_file_has_mode_0600_and_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("authority.jwks");
    write_private(&path, authority(), false).unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert_eq!(&read_private(&path).unwrap(), authority());
    // nothing but the key file is left in the directory
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("authority.jwks")]);
}

#[test]
fn existing_key_file_is_not_overwritten_unless_asked() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keys.jwks");
    write_private(&path, authority(), false).unwrap();
    let err = write_private(&path, portal(), false).unwrap_err();
    assert!(matches!(err, SealError::FileExists { .. }), "{err}");
    assert!(err.to_string().contains(&path.display().to_string()));
    assert_eq!(&read_private(&path).unwrap(), authority());

    write_private(&path, portal(), true).unwrap();
    assert_eq!(&read_private(&path).unwrap(), portal());
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn public_key_file_round_trips_as_plain_json() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("authority.public.jwks");
    write_public(&path, &authority().public(), false).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(
        PublicKeySet::from_json(&text).unwrap(),
        authority().public()
    );
    assert_eq!(read_public(&path).unwrap(), authority().public());
}

#[test]
fn key_file_errors_name_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.jwks");
    let err = read_private(&missing).unwrap_err();
    assert!(matches!(err, SealError::Io { action: "open", .. }), "{err}");
    assert!(
        err.to_string().contains(&missing.display().to_string()),
        "{err}"
    );

    // a public set where the private one is expected
    let public = dir.path().join("public.jwks");
    write_public(&public, &authority().public(), false).unwrap();
    let err = read_private(&public).unwrap_err();
    assert!(
        err.to_string()
            .starts_with(&format!("key file `{}`: ", public.display())),
        "{err}"
    );

    // a private set where the public one is expected
    let private = dir.path().join("private.jwks");
    write_private(&private, authority(), false).unwrap();
    let err = read_public(&private).unwrap_err();
    assert!(
        matches!(&err, SealError::InFile { error, .. } if matches!(**error, SealError::PrivateMaterialInPublicSet { .. })),
        "{err}"
    );

    let nowhere = dir.path().join("no-such-dir").join("keys.jwks");
    let err = write_private(&nowhere, authority(), false).unwrap_err();
    assert!(err.to_string().contains("no-such-dir"), "{err}");
}

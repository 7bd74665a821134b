//! Key generation, key sets and the key checks of C2.

use rathaus_seal::{KeyPurpose, PrivateKeySet, PublicKeySet, SealError};
use serde_json::{Value, json};

use crate::fixtures::{
    as_value, authority, days, edited_public, kid_of, portal, rotated, rsa_2048_public_jwk, t0,
};

fn refused(json: &str) -> SealError {
    PublicKeySet::from_json(json).unwrap_err()
}

#[test]
fn generate_makes_one_rsa_4096_key_per_purpose() {
    let keys = authority();
    assert_eq!(keys.keys().len(), 2);
    for purpose in [KeyPurpose::Encryption, KeyPurpose::Signing] {
        let key = keys.keys().iter().find(|k| k.purpose() == purpose).unwrap();
        assert!(key.kid().starts_with("authority-berlin-"), "{}", key.kid());
        assert_eq!(key.kid().len(), "authority-berlin-".len() + 12);
        assert_eq!(key.created(), t0());
        assert_eq!(key.not_after(), t0() + days(365));
    }
    let public = keys.public();
    assert!(public.keys().iter().all(|k| k.bits() == 4096));
    assert_ne!(keys.keys()[0].kid(), keys.keys()[1].kid());
}

#[test]
fn generate_refuses_bad_owner_and_validity() {
    for owner in ["", "a b", "x\ny", "ä", &"a".repeat(65)] {
        let err = PrivateKeySet::generate(owner, t0(), days(1)).unwrap_err();
        assert!(matches!(err, SealError::InvalidOwner(_)), "{err}");
    }
    let err = PrivateKeySet::generate("portal", t0(), days(0)).unwrap_err();
    assert!(matches!(err, SealError::InvalidValidity(0)), "{err}");
}

#[test]
fn private_set_round_trips_through_json_and_serde() {
    let json = authority().to_json().unwrap();
    assert_eq!(&PrivateKeySet::from_json(&json).unwrap(), authority());
    let via_serde: PrivateKeySet = serde_json::from_str(&json).unwrap();
    assert_eq!(&via_serde, authority());
    let value = as_value(&json);
    let key = &value["keys"][0];
    for param in ["d", "p", "q", "dp", "dq", "qi"] {
        assert!(key[param].is_string(), "{param}");
    }
    assert_eq!(key["key_ops"], json!(["unwrapKey"]));
    assert_eq!(value["keys"][1]["key_ops"], json!(["sign"]));
}

#[test]
fn public_set_is_a_jwks_with_unix_validity_and_no_private_material() {
    let public = authority().public();
    let json = public.to_json().unwrap();
    assert_eq!(PublicKeySet::from_json(&json).unwrap(), public);
    let value = as_value(&json);
    let enc = &value["keys"][0];
    assert_eq!(enc["kty"], "RSA");
    assert_eq!(enc["use"], "enc");
    assert_eq!(enc["alg"], "RSA-OAEP-256");
    assert_eq!(enc["key_ops"], json!(["wrapKey"]));
    assert_eq!(enc["nbf"], json!(t0().timestamp()));
    assert_eq!(enc["exp"], json!((t0() + days(365)).timestamp()));
    let sig = &value["keys"][1];
    assert_eq!(sig["use"], "sig");
    assert_eq!(sig["alg"], "PS512");
    assert_eq!(sig["key_ops"], json!(["verify"]));
    for param in ["d", "p", "q", "dp", "dq", "qi"] {
        assert!(!json.contains(&format!("\"{param}\"")), "{param}");
    }
}

#[test]
fn debug_never_prints_key_material() {
    let private = as_value(&authority().to_json().unwrap());
    let shown = format!("{:?} {:?}", authority(), authority().keys());
    for key in private["keys"].as_array().unwrap() {
        for param in ["n", "d", "p", "q", "dp", "dq", "qi"] {
            let value = key[param].as_str().unwrap();
            assert!(!shown.contains(&value[..16]), "{param} leaked in Debug");
        }
        assert!(shown.contains(key["kid"].as_str().unwrap()));
    }
    assert!(shown.contains("<redacted>"));
    let public_shown = format!("{:?}", authority().public());
    let n = private["keys"][0]["n"].as_str().unwrap();
    assert!(!public_shown.contains(&n[..16]));
}

#[test]
fn c2_rsa_2048_key_refused() {
    let json = json!({ "keys": [rsa_2048_public_jwk()] }).to_string();
    let err = refused(&json);
    assert!(
        matches!(
            err,
            SealError::WeakKey {
                bits: 2048,
                min: 4096,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        "key `k1` is RSA 2048 bits; at least 4096 are required"
    );
    // serde runs the same checks
    assert!(serde_json::from_str::<PublicKeySet>(&json).is_err());
}

#[test]
fn c2_wrong_key_ops_refused() {
    let cases: [(KeyPurpose, Option<Value>); 7] = [
        (KeyPurpose::Encryption, Some(json!(["encrypt"]))),
        (KeyPurpose::Encryption, Some(json!(["wrapKey", "encrypt"]))),
        (KeyPurpose::Encryption, Some(json!(["unwrapKey"]))),
        (KeyPurpose::Encryption, Some(json!([]))),
        (KeyPurpose::Encryption, None),
        (KeyPurpose::Signing, Some(json!(["sign"]))),
        (KeyPurpose::Signing, Some(json!("verify"))),
    ];
    for (purpose, ops) in cases {
        let json = edited_public(authority(), purpose, |k| match &ops {
            Some(ops) => {
                k.insert("key_ops".into(), ops.clone());
            }
            None => {
                k.remove("key_ops");
            }
        });
        let err = refused(&json);
        assert!(
            matches!(err, SealError::WrongKeyOps { .. }),
            "{ops:?}: {err}"
        );
        assert!(err.to_string().contains("must have exactly"), "{err}");
    }
}

#[test]
fn c2_key_alg_outside_allowlist_refused() {
    for alg in [
        Some("RSA-OAEP"),
        Some("RSA1_5"),
        Some("RS256"),
        Some("PS256"),
        Some("none"),
        None,
    ] {
        let json = edited_public(authority(), KeyPurpose::Encryption, |k| match alg {
            Some(alg) => {
                k.insert("alg".into(), alg.into());
            }
            None => {
                k.remove("alg");
            }
        });
        let err = refused(&json);
        assert!(
            matches!(err, SealError::AlgorithmNotAllowed { .. }),
            "{alg:?}: {err}"
        );
    }
}

#[test]
fn c2_inconsistent_use_refused() {
    let json = edited_public(authority(), KeyPurpose::Signing, |k| {
        k.insert("use".into(), "enc".into());
    });
    let err = refused(&json);
    assert!(matches!(err, SealError::WrongUse { .. }), "{err}");
    // no `use` at all is fine: `alg` and `key_ops` say enough
    let json = edited_public(authority(), KeyPurpose::Signing, |k| {
        k.remove("use");
    });
    assert!(PublicKeySet::from_json(&json).is_ok());
}

#[test]
fn c2_private_material_in_public_set_refused() {
    let private = as_value(&authority().to_json().unwrap());
    for param in ["d", "p", "q", "dp", "dq", "qi", "k", "oth"] {
        let json = edited_public(authority(), KeyPurpose::Encryption, |k| {
            let value = private["keys"][0]
                .get(param)
                .cloned()
                .unwrap_or_else(|| "AQAB".into());
            k.insert(param.into(), value);
        });
        let err = refused(&json);
        assert!(
            matches!(&err, SealError::PrivateMaterialInPublicSet { param: p, .. } if p == param),
            "{param}: {err}"
        );
        assert!(err.to_string().contains("compromised"));
    }
    // the whole private JWKS passed as a public one
    let err = refused(&authority().to_json().unwrap());
    assert!(
        matches!(err, SealError::PrivateMaterialInPublicSet { .. }),
        "{err}"
    );
}

#[test]
fn c2_ec_and_symmetric_keys_refused_with_clear_message() {
    let ec = json!({"keys": [{
        "kty": "EC", "crv": "P-256", "kid": "ec1", "use": "enc", "alg": "ECDH-ES",
        "key_ops": ["wrapKey"], "nbf": 0, "exp": 4_000_000_000_i64,
        "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
        "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"
    }]});
    let err = refused(&ec.to_string());
    assert_eq!(
        err.to_string(),
        "key `ec1` is of type EC (P-256); only RSA keys of at least 4096 bits are supported \
         (RSA-OAEP-256 for encryption, PS512 for signing)"
    );
    let oct = json!({"keys": [{"kty": "oct", "kid": "s1", "alg": "HS256"}]});
    let err = refused(&oct.to_string());
    assert!(matches!(err, SealError::UnsupportedKeyType { .. }), "{err}");
}

#[test]
fn c2_weak_exponent_refused() {
    let json = edited_public(authority(), KeyPurpose::Encryption, |k| {
        k.insert("e".into(), "Aw".into()); // e = 3
    });
    let err = refused(&json);
    assert!(matches!(err, SealError::WeakExponent { .. }), "{err}");
}

#[test]
fn c2_missing_or_inverted_validity_refused() {
    for (nbf, exp) in [
        (None, Some(json!(2_000_000_000_i64))),
        (Some(json!(1_000_000_000_i64)), None),
        (
            Some(json!(2_000_000_000_i64)),
            Some(json!(1_000_000_000_i64)),
        ),
        (Some(json!("2026-01-01")), Some(json!(2_000_000_000_i64))),
    ] {
        let json = edited_public(authority(), KeyPurpose::Encryption, |k| {
            k.remove("nbf");
            k.remove("exp");
            if let Some(v) = &nbf {
                k.insert("nbf".into(), v.clone());
            }
            if let Some(v) = &exp {
                k.insert("exp".into(), v.clone());
            }
        });
        let err = refused(&json);
        assert!(matches!(err, SealError::MalformedKey { .. }), "{err}");
    }
}

#[test]
fn c2_unknown_parameter_duplicate_kid_and_empty_set_refused() {
    let json = edited_public(authority(), KeyPurpose::Encryption, |k| {
        k.insert("jku".into(), "https://evil.invalid/keys".into());
    });
    assert!(matches!(
        refused(&json),
        SealError::UnknownKeyParameter { .. }
    ));

    let mut value = as_value(&authority().public().to_json().unwrap());
    let first = value["keys"][0].clone();
    value["keys"].as_array_mut().unwrap().push(first);
    assert!(matches!(
        refused(&value.to_string()),
        SealError::DuplicateKid(_)
    ));

    assert!(matches!(refused(r#"{"keys":[]}"#), SealError::EmptyKeySet));
    assert!(matches!(refused("[]"), SealError::MalformedKeySet(_)));
    assert!(matches!(
        refused(r#"{"keys":[{"kty":"RSA"}]}"#),
        SealError::MalformedKey { .. }
    ));
}

#[test]
fn c2_control_characters_in_kid_refused() {
    let json = edited_public(authority(), KeyPurpose::Encryption, |k| {
        k.insert("kid".into(), "k1\nFAKE LOG LINE".into());
    });
    let err = refused(&json);
    assert!(matches!(err, SealError::MalformedKey { .. }), "{err}");
    assert!(!err.to_string().contains('\n'));
}

#[test]
fn c2_expired_key_refused() {
    let public = authority().public();
    let kid = kid_of(authority(), KeyPurpose::Signing, t0());
    let end = t0() + days(365);
    assert!(
        public
            .key(
                &kid,
                KeyPurpose::Signing,
                end - chrono::Duration::seconds(1)
            )
            .is_ok()
    );
    let err = public.key(&kid, KeyPurpose::Signing, end).unwrap_err();
    assert!(matches!(err, SealError::KeyExpired { .. }), "{err}");
    let err = public.encryption_key(end).unwrap_err();
    assert!(matches!(err, SealError::NoValidKey { .. }), "{err}");
    // pinning a set that holds an expired key is refused
    let err = PublicKeySet::pin(&public.to_json().unwrap(), end).unwrap_err();
    assert!(matches!(err, SealError::KeyExpired { .. }), "{err}");
    assert!(PublicKeySet::pin(&public.to_json().unwrap(), t0()).is_ok());
}

#[test]
fn c2_not_yet_valid_key_refused() {
    let public = authority().public();
    let kid = kid_of(authority(), KeyPurpose::Signing, t0());
    let before = t0() - chrono::Duration::seconds(1);
    let err = public.key(&kid, KeyPurpose::Signing, before).unwrap_err();
    assert!(matches!(err, SealError::KeyNotYetValid { .. }), "{err}");
    assert!(matches!(
        public.encryption_key(before),
        Err(SealError::NoValidKey { .. })
    ));
}

#[test]
fn c2_unknown_kid_and_wrong_purpose_refused() {
    let public = authority().public();
    let err = public.key("nobody", KeyPurpose::Signing, t0()).unwrap_err();
    assert!(matches!(err, SealError::UnknownKey { .. }), "{err}");
    let enc = kid_of(authority(), KeyPurpose::Encryption, t0());
    let err = public.key(&enc, KeyPurpose::Signing, t0()).unwrap_err();
    assert!(matches!(err, SealError::WrongPurpose { .. }), "{err}");
}

#[test]
fn encryption_key_picks_the_newest_valid_key() {
    let public = rotated().public();
    let old = kid_of(rotated(), KeyPurpose::Encryption, t0());
    let new = kid_of(rotated(), KeyPurpose::Encryption, t0() + days(300));
    assert_eq!(public.encryption_key(t0() + days(10)).unwrap().kid(), old);
    assert_eq!(public.encryption_key(t0() + days(310)).unwrap().kid(), new);
    assert_eq!(public.encryption_key(t0() + days(400)).unwrap().kid(), new);
}

#[test]
fn private_set_without_private_material_refused() {
    let err = PrivateKeySet::from_json(&authority().public().to_json().unwrap()).unwrap_err();
    // the public key_ops are wrong for a private key, and the private parameters are missing
    assert!(
        matches!(
            err,
            SealError::WrongKeyOps { .. } | SealError::MissingPrivateMaterial { .. }
        ),
        "{err}"
    );
    let mut value = as_value(&authority().to_json().unwrap());
    value["keys"][0].as_object_mut().unwrap().remove("qi");
    let err = PrivateKeySet::from_json(&value.to_string()).unwrap_err();
    assert!(
        matches!(err, SealError::MissingPrivateMaterial { param: "qi", .. }),
        "{err}"
    );
}

#[test]
fn drop_expired_keeps_keys_within_grace() {
    let mut keys = rotated().clone();
    let old_end = t0() + days(365);
    assert!(keys.drop_expired(old_end + days(10), days(14)).is_empty());
    let gone = keys.drop_expired(old_end + days(15), days(14));
    assert_eq!(gone.len(), 2);
    assert_eq!(keys.keys().len(), 2);
    assert!(keys.keys().iter().all(|k| k.created() == t0() + days(300)));
    assert_ne!(portal().keys()[0].kid(), keys.keys()[0].kid());
}

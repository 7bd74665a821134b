//! JWE envelopes: round trips, rotation, and the refusals of C1–C3.

use rathaus_seal::{KeyPurpose, SealError, open, seal};
use serde_json::json;

use crate::fixtures::{
    authority, b64, days, flipped, header_of, kid_of, portal, rotated, t0, unb64, with_header,
};

const CANARY: &str = "CANARY-7f3a9c-Musterstrasse-12";

fn sealed_sample() -> String {
    let doc = json!({ "name": "Erika Mustermann", "note": CANARY }).to_string();
    seal(
        doc.as_bytes(),
        "application/json",
        &authority().public(),
        t0(),
    )
    .unwrap()
    .jwe
}

#[test]
fn seal_open_round_trip() {
    let plaintext = json!({ "name": "Erika Mustermann", "note": CANARY }).to_string();
    let sealed = seal(
        plaintext.as_bytes(),
        "application/json",
        &authority().public(),
        t0() + days(1),
    )
    .unwrap();
    let enc_kid = kid_of(authority(), KeyPurpose::Encryption, t0());
    assert_eq!(sealed.kid, enc_kid);
    let header = header_of(&sealed.jwe);
    assert_eq!(header["alg"], "RSA-OAEP-256");
    assert_eq!(header["enc"], "A256GCM");
    assert_eq!(header["cty"], "application/json");
    assert_eq!(header["kid"], enc_kid.as_str());
    assert!(header.get("zip").is_none());
    assert_eq!(sealed.jwe.split('.').count(), 5);
    assert!(!format!("{sealed:?}").contains(&sealed.jwe[..40]));

    let opened = open(&sealed.jwe, authority(), t0() + days(2)).unwrap();
    assert_eq!(opened, plaintext.as_bytes());
}

#[test]
fn c1_ciphertext_does_not_reveal_the_plaintext() {
    let jwe = sealed_sample();
    assert!(!jwe.contains(CANARY));
    assert!(!jwe.contains(&b64(CANARY.as_bytes())[..20]));
    // the same plaintext sealed twice gives different envelopes
    assert_ne!(jwe, sealed_sample());
}

#[test]
fn empty_and_binary_payloads_round_trip() {
    for payload in [Vec::new(), (0..=255u8).collect::<Vec<_>>()] {
        let sealed = seal(
            &payload,
            "application/octet-stream",
            &authority().public(),
            t0(),
        )
        .unwrap();
        assert_eq!(open(&sealed.jwe, authority(), t0()).unwrap(), payload);
    }
}

#[test]
fn attachment_of_20_mb_round_trips() {
    let payload: Vec<u8> = (0..20 * 1024 * 1024)
        .map(|i: u32| (i % 251) as u8)
        .collect();
    let sealed = seal(&payload, "application/pdf", &authority().public(), t0()).unwrap();
    assert!(sealed.jwe.len() > payload.len() * 4 / 3);
    let opened = open(&sealed.jwe, authority(), t0()).unwrap();
    assert!(opened == payload, "20 MB payload changed in transit");
}

#[test]
fn rotation_old_envelopes_open_with_the_old_key() {
    let old_public = authority().public();
    let early = seal(
        b"sealed before rotation",
        "text/plain",
        &old_public,
        t0() + days(10),
    )
    .unwrap();
    assert_eq!(early.kid, kid_of(rotated(), KeyPurpose::Encryption, t0()));

    let late_time = t0() + days(310);
    let late = seal(
        b"sealed after rotation",
        "text/plain",
        &rotated().public(),
        late_time,
    )
    .unwrap();
    assert_eq!(
        late.kid,
        kid_of(rotated(), KeyPurpose::Encryption, t0() + days(300))
    );

    // the rotated set opens both, even after the old key's `exp`
    let after_expiry = t0() + days(400);
    assert_eq!(
        open(&early.jwe, rotated(), after_expiry).unwrap(),
        b"sealed before rotation"
    );
    assert_eq!(
        open(&late.jwe, rotated(), after_expiry).unwrap(),
        b"sealed after rotation"
    );
    // the set from before the rotation does not know the new key
    let err = open(&late.jwe, authority(), late_time).unwrap_err();
    assert!(matches!(err, SealError::UnknownKey { .. }), "{err}");
}

#[test]
fn c2_seal_refuses_expired_or_not_yet_valid_recipient_key() {
    let public = authority().public();
    let err = seal(b"x", "text/plain", &public, t0() + days(365)).unwrap_err();
    assert!(matches!(err, SealError::NoValidKey { .. }), "{err}");
    let err = seal(b"x", "text/plain", &public, t0() - days(1)).unwrap_err();
    assert!(matches!(err, SealError::NoValidKey { .. }), "{err}");
}

#[test]
fn seal_refuses_bad_content_type() {
    for cty in [
        "",
        "text/plain\r\nX-Evil: 1",
        &"a".repeat(256),
        "bild/jpeg ä",
    ] {
        let err = seal(b"x", cty, &authority().public(), t0()).unwrap_err();
        assert!(matches!(err, SealError::InvalidLabel { .. }), "{err}");
    }
}

fn open_with_header(
    edit: impl FnOnce(&mut serde_json::Map<String, serde_json::Value>),
) -> SealError {
    let jwe = sealed_sample();
    let mut header = header_of(&jwe);
    edit(header.as_object_mut().unwrap());
    open(&with_header(&jwe, &header), authority(), t0()).unwrap_err()
}

fn assert_alg_refused(alg: &str) {
    let err = open_with_header(|h| {
        h.insert("alg".into(), alg.into());
    });
    assert!(
        matches!(&err, SealError::HeaderRefused { param: "alg", value, .. } if value == alg),
        "{alg}: {err}"
    );
    assert_eq!(
        err.to_string(),
        format!("message header alg `{alg}` is refused; only `RSA-OAEP-256` is accepted")
    );
}

#[test]
fn c2_jwe_alg_rsa1_5_refused() {
    assert_alg_refused("RSA1_5");
}

#[test]
fn c2_jwe_alg_dir_refused() {
    // a `dir` envelope has an empty encrypted-key part
    let jwe = sealed_sample();
    let kid = kid_of(authority(), KeyPurpose::Encryption, t0());
    let header = b64(json!({"alg": "dir", "enc": "A256GCM", "kid": kid})
        .to_string()
        .as_bytes());
    let mut parts: Vec<&str> = jwe.split('.').collect();
    parts[0] = &header;
    parts[1] = "";
    let err = open(&parts.join("."), authority(), t0()).unwrap_err();
    assert!(
        matches!(err, SealError::HeaderRefused { param: "alg", .. }),
        "{err}"
    );
    assert_alg_refused("dir");
}

#[test]
fn c2_jwe_alg_none_refused() {
    assert_alg_refused("none");
    let err = open_with_header(|h| {
        h.remove("alg");
    });
    assert!(
        matches!(err, SealError::HeaderRefused { param: "alg", .. }),
        "{err}"
    );
}

#[test]
fn c2_jwe_other_algs_refused() {
    for alg in [
        "RSA-OAEP",
        "RSA-OAEP-384",
        "RSA-OAEP-512",
        "A128KW",
        "A256KW",
        "A256GCMKW",
        "PBES2-HS256+A128KW",
        "PBES2-HS512+A256KW",
        "ECDH-ES",
        "ECDH-ES+A256KW",
        "rsa-oaep-256",
    ] {
        assert_alg_refused(alg);
    }
}

#[test]
fn c2_jwe_enc_other_than_a256gcm_refused() {
    for enc in [
        "A128GCM",
        "A192GCM",
        "A128CBC-HS256",
        "A256CBC-HS512",
        "none",
    ] {
        let err = open_with_header(|h| {
            h.insert("enc".into(), enc.into());
        });
        assert!(
            matches!(&err, SealError::HeaderRefused { param: "enc", value, .. } if value == enc),
            "{enc}: {err}"
        );
    }
}

#[test]
fn c2_jwe_zip_crit_and_embedded_keys_refused() {
    for (param, value) in [
        ("zip", json!("DEF")),
        ("crit", json!(["exp"])),
        ("jwk", json!({"kty": "RSA"})),
        ("jku", json!("https://evil.invalid/jwks")),
        ("x5u", json!("https://evil.invalid/cert")),
    ] {
        let err = open_with_header(|h| {
            h.insert(param.into(), value);
        });
        assert!(
            matches!(&err, SealError::HeaderParameterRefused(p) if p == param),
            "{param}: {err}"
        );
    }
}

#[test]
fn c2_jwe_unknown_kid_refused() {
    let err = open_with_header(|h| {
        h.insert("kid".into(), "someone-else".into());
    });
    assert!(matches!(err, SealError::UnknownKey { .. }), "{err}");
    // the signing key's kid is not an encryption key either
    let sig = kid_of(authority(), KeyPurpose::Signing, t0());
    let err = open_with_header(|h| {
        h.insert("kid".into(), sig.into());
    });
    assert!(matches!(err, SealError::UnknownKey { .. }), "{err}");
    let err = open_with_header(|h| {
        h.remove("kid");
    });
    assert!(matches!(err, SealError::MalformedMessage(_)), "{err}");
}

#[test]
fn c1_other_recipient_cannot_open() {
    let jwe = sealed_sample();
    let err = open(&jwe, portal(), t0()).unwrap_err();
    assert!(matches!(err, SealError::UnknownKey { .. }), "{err}");
    // even when the header is rewritten to name the other recipient's key
    let mut header = header_of(&jwe);
    header["kid"] = kid_of(portal(), KeyPurpose::Encryption, t0()).into();
    let err = open(&with_header(&jwe, &header), portal(), t0()).unwrap_err();
    assert!(matches!(err, SealError::DecryptionFailed { .. }), "{err}");
}

#[test]
fn c3_flipped_byte_in_jwe_refused() {
    let jwe = sealed_sample();
    let mut positions = Vec::new();
    let mut start = 0;
    for part in jwe.split('.') {
        let end = start + part.len();
        if end > start {
            // both ends and a sample across the middle of every part
            positions.extend([start, end - 1, start + part.len() / 2]);
            positions.extend((start..end).step_by(97));
        }
        start = end + 1;
    }
    positions.sort_unstable();
    positions.dedup();
    for index in positions {
        let tampered = flipped(&jwe, index);
        assert_ne!(tampered, jwe);
        assert!(
            open(&tampered, authority(), t0()).is_err(),
            "flipping byte {index} went unnoticed"
        );
    }
    // a changed bit, not only a changed character
    let mut bytes = jwe.into_bytes();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x01;
    let tampered = String::from_utf8(bytes).unwrap();
    assert!(open(&tampered, authority(), t0()).is_err());
}

#[test]
fn malformed_envelopes_refused() {
    let jwe = sealed_sample();
    let four_parts = jwe.rsplit_once('.').unwrap().0.to_string();
    for bad in [
        String::new(),
        "a.b.c".to_string(),
        four_parts,
        format!("{jwe}.x"),
        jwe.replacen('.', " .", 1),
        format!("{}.{}", b64(b"not json"), jwe.split_once('.').unwrap().1),
    ] {
        let err = open(&bad, authority(), t0()).unwrap_err();
        assert!(matches!(err, SealError::MalformedMessage(_)), "{err}");
    }
    // the tag part decodes strictly
    assert_eq!(unb64(jwe.rsplit('.').next().unwrap()).len(), 16);
}

//! Signed messages: round trips, rotation, and the refusals of C3.

use chrono::{DateTime, Duration, Utc};
use rathaus_seal::{KeyPurpose, MAX_CLOCK_SKEW_SECS, PrivateKeySet, SealError, sign, verify};
use serde_json::{Value, json};

use crate::fixtures::{
    as_value, authority, b64, days, flipped, header_of, kid_of, portal, rotated, t0, unb64,
    with_header,
};

const TYP: &str = "rathaus-receipt+jws";

fn max_age() -> Duration {
    Duration::minutes(5)
}

fn receipt() -> Value {
    json!({ "submission": "0190c2a4-7d1e-7c3b-9f00-1a2b3c4d5e6f", "status": "received" })
}

fn signed_at(now: DateTime<Utc>) -> String {
    sign(&receipt(), TYP, authority(), now).unwrap()
}

fn check(jws: &str, now: DateTime<Utc>) -> Result<rathaus_seal::Verified, SealError> {
    verify(jws, TYP, &authority().public(), now, max_age())
}

#[test]
fn sign_verify_round_trip() {
    let now = t0() + days(3);
    let jws = signed_at(now);
    assert_eq!(jws.split('.').count(), 3);
    let header = header_of(&jws);
    let sig_kid = kid_of(authority(), KeyPurpose::Signing, t0());
    assert_eq!(header["alg"], "PS512");
    assert_eq!(header["typ"], TYP);
    assert_eq!(header["kid"], sig_kid.as_str());

    let verified = check(&jws, now + Duration::seconds(2)).unwrap();
    assert_eq!(verified.kid, sig_kid);
    assert_eq!(verified.issued_at, now);
    assert_eq!(verified.payload["status"], "received");
    assert_eq!(verified.payload["iat"], json!(now.timestamp()));
    assert_eq!(verified.payload["nonce"], verified.nonce.as_str());
    assert_eq!(verified.nonce.len(), 22);
    assert_eq!(unb64(&verified.nonce).len(), 16);
}

#[test]
fn c3_every_message_gets_a_fresh_nonce_for_the_replay_check() {
    let a = check(&signed_at(t0()), t0()).unwrap();
    let b = check(&signed_at(t0()), t0()).unwrap();
    assert_ne!(a.nonce, b.nonce);
    // a replayed message verifies again with the same nonce: the caller's store refuses it
    let jws = signed_at(t0());
    assert_eq!(
        check(&jws, t0()).unwrap().nonce,
        check(&jws, t0()).unwrap().nonce
    );
}

#[test]
fn sign_refuses_bad_payloads_and_types() {
    for payload in [
        json!([1, 2]),
        json!("text"),
        json!({"iat": 1}),
        json!({"nonce": "x"}),
    ] {
        let err = sign(&payload, TYP, authority(), t0()).unwrap_err();
        assert!(matches!(err, SealError::InvalidPayload(_)), "{err}");
    }
    for typ in ["", "a\nb", &"t".repeat(65)] {
        let err = sign(&receipt(), typ, authority(), t0()).unwrap_err();
        assert!(matches!(err, SealError::InvalidLabel { .. }), "{err}");
    }
    let err = sign(&receipt(), TYP, authority(), t0() + days(365)).unwrap_err();
    assert!(matches!(err, SealError::NoValidKey { .. }), "{err}");
}

#[test]
fn c3_flipped_byte_in_jws_refused() {
    let jws = signed_at(t0());
    for index in 0..jws.len() {
        if jws.as_bytes()[index] == b'.' {
            continue;
        }
        let tampered = flipped(&jws, index);
        assert!(
            check(&tampered, t0()).is_err(),
            "flipping byte {index} went unnoticed"
        );
    }
    let mut bytes = jws.clone().into_bytes();
    let middle = jws.find('.').unwrap() + 5;
    bytes[middle] ^= 0x01;
    assert!(check(&String::from_utf8(bytes).unwrap(), t0()).is_err());
}

#[test]
fn c3_altered_payload_refused_even_when_well_formed() {
    let jws = signed_at(t0());
    let parts: Vec<&str> = jws.split('.').collect();
    let mut payload = as_value(std::str::from_utf8(&unb64(parts[1])).unwrap());
    payload["status"] = "rejected".into();
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        b64(payload.to_string().as_bytes()),
        parts[2]
    );
    let err = check(&forged, t0()).unwrap_err();
    assert!(matches!(err, SealError::BadSignature { .. }), "{err}");
}

#[test]
fn c3_wrong_signer_key_refused() {
    // signed by the portal, verified against the authority's pinned keys
    let jws = sign(&receipt(), TYP, portal(), t0()).unwrap();
    let err = check(&jws, t0()).unwrap_err();
    assert!(matches!(err, SealError::UnknownKey { .. }), "{err}");

    // the portal's key dressed up with the authority's kid
    let authority_kid = kid_of(authority(), KeyPurpose::Signing, t0());
    let portal_kid = kid_of(portal(), KeyPurpose::Signing, t0());
    let impostor = PrivateKeySet::from_json(
        &portal()
            .to_json()
            .unwrap()
            .replace(&portal_kid, &authority_kid),
    )
    .unwrap();
    let jws = sign(&receipt(), TYP, &impostor, t0()).unwrap();
    assert_eq!(header_of(&jws)["kid"], authority_kid.as_str());
    let err = check(&jws, t0()).unwrap_err();
    assert!(matches!(err, SealError::BadSignature { .. }), "{err}");
    assert!(err.to_string().contains(&authority_kid));
}

#[test]
fn c3_alg_none_jws_refused() {
    let jws = signed_at(t0());
    let mut header = header_of(&jws);
    header["alg"] = "none".into();
    let unsigned = with_header(&jws, &header);
    let unsigned = format!("{}.", unsigned.rsplit_once('.').unwrap().0);
    let err = check(&unsigned, t0()).unwrap_err();
    assert!(
        matches!(&err, SealError::HeaderRefused { param: "alg", value, .. } if value == "none"),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        "message header alg `none` is refused; only `PS512` is accepted"
    );
}

#[test]
fn c3_hmac_with_the_public_key_as_secret_refused() {
    // the classic confusion attack: HS512 keyed with the verifier's public key
    let kid = kid_of(authority(), KeyPurpose::Signing, t0());
    let public_json = authority().public().to_json().unwrap();
    let signer = josekit::jws::HS512
        .signer_from_bytes(public_json.as_bytes())
        .unwrap();
    let mut header = josekit::jws::JwsHeader::new();
    header.set_token_type(TYP);
    header.set_key_id(&kid);
    let payload = json!({"iat": t0().timestamp(), "nonce": b64(&[7; 16]), "status": "forged"});
    let forged =
        josekit::jws::serialize_compact(payload.to_string().as_bytes(), &header, &signer).unwrap();
    let err = check(&forged, t0()).unwrap_err();
    assert!(
        matches!(err, SealError::HeaderRefused { param: "alg", .. }),
        "{err}"
    );
}

#[test]
fn c3_algs_outside_allowlist_refused() {
    let jws = signed_at(t0());
    for alg in [
        "HS256", "HS512", "RS256", "RS512", "PS256", "PS384", "ES256", "ES512", "EdDSA", "ps512",
    ] {
        let mut header = header_of(&jws);
        header["alg"] = alg.into();
        let err = check(&with_header(&jws, &header), t0()).unwrap_err();
        assert!(
            matches!(err, SealError::HeaderRefused { param: "alg", .. }),
            "{alg}: {err}"
        );
    }
    for param in ["crit", "b64", "jwk", "jku"] {
        let mut header = header_of(&jws);
        header[param] = json!(["b64"]);
        let err = check(&with_header(&jws, &header), t0()).unwrap_err();
        assert!(
            matches!(err, SealError::HeaderParameterRefused(_)),
            "{param}: {err}"
        );
    }
}

#[test]
fn c3_old_iat_refused() {
    let jws = signed_at(t0());
    assert!(check(&jws, t0() + max_age()).is_ok());
    let err = check(&jws, t0() + max_age() + Duration::seconds(1)).unwrap_err();
    assert!(matches!(err, SealError::Stale { .. }), "{err}");
    assert!(err.to_string().contains("refused as stale"), "{err}");
}

#[test]
fn c3_future_iat_refused() {
    let skew = Duration::seconds(MAX_CLOCK_SKEW_SECS);
    let jws = signed_at(t0() + days(1) + skew);
    assert!(check(&jws, t0() + days(1)).is_ok());
    let jws = signed_at(t0() + days(1) + skew + Duration::seconds(1));
    let err = check(&jws, t0() + days(1)).unwrap_err();
    assert!(matches!(err, SealError::IssuedInFuture { .. }), "{err}");
    assert!(err.to_string().contains("check the clocks"), "{err}");
}

#[test]
fn c3_wrong_typ_refused() {
    let jws = signed_at(t0());
    let err = verify(
        &jws,
        "rathaus-status+jws",
        &authority().public(),
        t0(),
        max_age(),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "message type `rathaus-receipt+jws` was received where `rathaus-status+jws` was expected"
    );
}

#[test]
fn c3_expired_or_not_yet_valid_signer_key_refused() {
    let end = t0() + days(365);
    let jws = signed_at(end - Duration::seconds(10));
    let err = check(&jws, end).unwrap_err();
    assert!(matches!(err, SealError::KeyExpired { .. }), "{err}");
    let err = check(&signed_at(t0()), t0() - Duration::seconds(30)).unwrap_err();
    assert!(matches!(err, SealError::KeyNotYetValid { .. }), "{err}");
}

#[test]
fn c3_encryption_key_cannot_verify() {
    let jws = signed_at(t0());
    let mut header = header_of(&jws);
    header["kid"] = kid_of(authority(), KeyPurpose::Encryption, t0()).into();
    let err = check(&with_header(&jws, &header), t0()).unwrap_err();
    assert!(matches!(err, SealError::WrongPurpose { .. }), "{err}");
}

#[test]
fn rotation_signs_with_the_new_key_and_old_messages_still_verify() {
    let old_msg = signed_at(t0() + days(299));
    let now = t0() + days(310);
    let new_msg = sign(&receipt(), TYP, rotated(), now).unwrap();
    let new_kid = kid_of(rotated(), KeyPurpose::Signing, t0() + days(300));
    assert_eq!(header_of(&new_msg)["kid"], new_kid.as_str());
    let pinned = rotated().public();
    assert_eq!(
        verify(&new_msg, TYP, &pinned, now, max_age()).unwrap().kid,
        new_kid
    );
    assert!(verify(&old_msg, TYP, &pinned, t0() + days(299), max_age()).is_ok());
    // a peer that still pins the old set does not know the new key
    let err = check(&new_msg, now).unwrap_err();
    assert!(matches!(err, SealError::UnknownKey { .. }), "{err}");
}

#[test]
fn malformed_messages_refused() {
    let jws = signed_at(t0());
    for bad in [
        String::new(),
        "a.b".to_string(),
        format!("{jws}.x"),
        jws.replacen('.', "=.", 1),
    ] {
        let err = check(&bad, t0()).unwrap_err();
        assert!(matches!(err, SealError::MalformedMessage(_)), "{err}");
    }
}

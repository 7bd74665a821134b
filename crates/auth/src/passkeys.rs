//! Passkeys: the portal as a WebAuthn relying party (W3C Web Authentication, level 3).
//!
//! A thin layer over `webauthn-rs` that keeps its types inside this crate: the portal hands in
//! and gets back JSON text (the options for the browser, the browser's answer, the ceremony
//! state and the stored credential), so that neither the store nor the handlers depend on the
//! library's types, and the state of a ceremony can wait in the shared database between its
//! two requests, for whichever portal node receives the second one.
//!
//! Every passkey is created and used with user verification (a PIN, a fingerprint or the
//! device's screen lock): a passkey alone is two factors, possession and knowledge or
//! biometrics, so a sign-in with it needs no password and no second factor.
//!
//! Passkeys are discoverable credentials: the sign-in asks for no address, the authenticator
//! offers the passkeys it holds for this site, and its answer names the account (the user
//! handle, the account's random id) and the credential. So the sign-in page says nothing
//! about which addresses have accounts.

use std::fmt;

use url::Url;
use uuid::Uuid;
use webauthn_rs::prelude::{
    DiscoverableAuthentication, DiscoverableKey, Passkey, PasskeyRegistration, PublicKeyCredential,
    RegisterPublicKeyCredential, Webauthn, WebauthnBuilder,
};
use webauthn_rs_proto::ResidentKeyRequirement;

/// Why a passkey ceremony failed. The browser's answer is untrusted input: every way it can be
/// wrong ends here, never in a panic.
#[derive(Debug, thiserror::Error)]
pub enum PasskeyError {
    /// The public URL has no domain (an IP address, say): browsers offer passkeys only to a
    /// site with a domain name, `localhost` included.
    #[error("passkeys need a public URL with a domain name, not {0:?}")]
    NoDomain(String),
    #[error("the public URL {0:?} cannot be parsed")]
    BadUrl(String),
    /// The browser's answer is not the JSON of a WebAuthn credential.
    #[error("the browser's answer is not a WebAuthn credential: {0}")]
    Malformed(String),
    /// The answer does not prove what it must (wrong challenge, origin, signature, no user
    /// verification, a counter that went backwards, …).
    #[error("the passkey was not accepted: {0}")]
    Refused(String),
    /// Our own stored state could not be read back (a bug or a damaged row).
    #[error("stored passkey state cannot be read: {0}")]
    State(String),
}

/// The two halves of a started ceremony: what the browser gets, and what the server keeps.
pub struct Ceremony {
    /// `{"publicKey": {...}}` for `navigator.credentials.create()` or `.get()`, with binary
    /// values as unpadded base64url.
    pub options_json: String,
    /// Kept server-side until the answer comes (it holds the challenge); never sent.
    pub state_json: String,
}

impl fmt::Debug for Ceremony {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ceremony").finish_non_exhaustive()
    }
}

/// A passkey just registered, to be stored with the account.
pub struct NewCredential {
    /// The credential id, unpadded base64url: unique among all accounts.
    pub credential_id: String,
    /// The credential as stored (public key, counter, flags); no secret.
    pub passkey_json: String,
}

impl fmt::Debug for NewCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewCredential")
            .field("credential_id", &self.credential_id)
            .finish_non_exhaustive()
    }
}

/// Who an authenticator's answer claims to be, read before anything is verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claimed {
    /// The user handle: the account id the passkey was created for.
    pub user: Uuid,
    /// The credential id, unpadded base64url.
    pub credential_id: String,
}

/// The portal as a relying party.
pub struct PasskeyRelyingParty {
    webauthn: Webauthn,
    rp_id: String,
}

impl fmt::Debug for PasskeyRelyingParty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PasskeyRelyingParty")
            .field("rp_id", &self.rp_id)
            .finish_non_exhaustive()
    }
}

fn base64url(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<String, PasskeyError> {
    serde_json::to_string(value).map_err(|e| PasskeyError::State(e.to_string()))
}

fn from_state<T: serde::de::DeserializeOwned>(json: &str) -> Result<T, PasskeyError> {
    serde_json::from_str(json).map_err(|e| PasskeyError::State(e.to_string()))
}

fn from_browser<T: serde::de::DeserializeOwned>(json: &str) -> Result<T, PasskeyError> {
    if json.len() > MAX_ANSWER_BYTES {
        return Err(PasskeyError::Malformed("too long".into()));
    }
    serde_json::from_str(json).map_err(|e| PasskeyError::Malformed(e.to_string()))
}

/// A browser's answer is a few kilobytes; anything far larger is not one.
pub const MAX_ANSWER_BYTES: usize = 64 * 1024;

impl PasskeyRelyingParty {
    /// The relying party of the site at `public_url` (its host is the RP id, its origin the
    /// only origin accepted), named `name` in the authenticator's prompt.
    pub fn new(public_url: &str, name: &str) -> Result<Self, PasskeyError> {
        let origin = Url::parse(public_url).map_err(|_| PasskeyError::BadUrl(public_url.into()))?;
        let Some(domain) = origin.domain().map(str::to_owned) else {
            return Err(PasskeyError::NoDomain(public_url.into()));
        };
        let webauthn = WebauthnBuilder::new(&domain, &origin)
            .map_err(|e| PasskeyError::BadUrl(format!("{public_url}: {e}")))?
            .rp_name(name)
            .build()
            .map_err(|e| PasskeyError::BadUrl(format!("{public_url}: {e}")))?;
        Ok(Self {
            webauthn,
            rp_id: domain,
        })
    }

    /// The RP id (the public URL's host) that passkeys are bound to.
    pub fn rp_id(&self) -> &str {
        &self.rp_id
    }

    /// Starts adding a passkey to the account `user`, shown in the authenticator as `label`
    /// (the address); `existing` are the credential ids the account has, which the
    /// authenticator must not register twice.
    pub fn start_registration(
        &self,
        user: Uuid,
        label: &str,
        existing: &[String],
    ) -> Result<Ceremony, PasskeyError> {
        let exclude = existing
            .iter()
            .filter_map(|id| {
                use base64::Engine;
                base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(id)
                    .ok()
            })
            .collect::<Vec<_>>();
        let (mut options, state): (_, PasskeyRegistration) = self
            .webauthn
            .start_passkey_registration(user, label, label, Some(exclude))
            .map_err(|e| PasskeyError::Refused(e.to_string()))?;
        // A passkey must be discoverable, or signing in without an address cannot find it:
        // ask for a resident key (the library's default leaves it to the authenticator).
        if let Some(selection) = options.public_key.authenticator_selection.as_mut() {
            selection.resident_key = Some(ResidentKeyRequirement::Required);
            selection.require_resident_key = true;
        }
        Ok(Ceremony {
            options_json: to_json(&options)?,
            state_json: to_json(&state)?,
        })
    }

    /// Finishes adding a passkey: checks the browser's answer against the stored state.
    pub fn finish_registration(
        &self,
        state_json: &str,
        answer_json: &str,
    ) -> Result<NewCredential, PasskeyError> {
        let state: PasskeyRegistration = from_state(state_json)?;
        let answer: RegisterPublicKeyCredential = from_browser(answer_json)?;
        let passkey = self
            .webauthn
            .finish_passkey_registration(&answer, &state)
            .map_err(|e| PasskeyError::Refused(e.to_string()))?;
        Ok(NewCredential {
            credential_id: base64url(passkey.cred_id().as_ref()),
            passkey_json: to_json(&passkey)?,
        })
    }

    /// Starts a sign-in with any passkey of this site (no address asked).
    pub fn start_sign_in(&self) -> Result<Ceremony, PasskeyError> {
        let (mut options, state): (_, DiscoverableAuthentication) = self
            .webauthn
            .start_discoverable_authentication()
            .map_err(|e| PasskeyError::Refused(e.to_string()))?;
        // The library asks for conditional mediation (the address field's autofill); the
        // portal starts the ceremony from a button, which is plain modal mediation.
        options.mediation = None;
        Ok(Ceremony {
            options_json: to_json(&options)?,
            state_json: to_json(&state)?,
        })
    }

    /// Reads which account and credential an answer claims, so that the credential can be
    /// looked up; nothing is verified yet.
    pub fn claimed(&self, answer_json: &str) -> Result<Claimed, PasskeyError> {
        let answer: PublicKeyCredential = from_browser(answer_json)?;
        let (user, credential_id) = self
            .webauthn
            .identify_discoverable_authentication(&answer)
            .map_err(|e| PasskeyError::Malformed(e.to_string()))?;
        Ok(Claimed {
            user,
            credential_id: base64url(credential_id),
        })
    }

    /// Verifies a sign-in answer against the stored state and the stored credential. Returns
    /// the credential to store again when its counter or flags changed.
    pub fn finish_sign_in(
        &self,
        state_json: &str,
        answer_json: &str,
        passkey_json: &str,
    ) -> Result<Option<String>, PasskeyError> {
        let state: DiscoverableAuthentication = from_state(state_json)?;
        let answer: PublicKeyCredential = from_browser(answer_json)?;
        let mut passkey: Passkey = from_state(passkey_json)?;
        // The `_v2` variant takes the library's `Credential`, which it exports only behind a
        // "danger-credential-internals" feature; this one does the same check with the
        // credential wrapped as a `DiscoverableKey` (its deprecation is about a copy).
        #[allow(deprecated)]
        let result = self
            .webauthn
            .finish_discoverable_authentication(&answer, state, &[DiscoverableKey::from(&passkey)])
            .map_err(|e| PasskeyError::Refused(e.to_string()))?;
        if !result.user_verified() {
            return Err(PasskeyError::Refused("no user verification".into()));
        }
        Ok(match passkey.update_credential(&result) {
            Some(true) => Some(to_json(&passkey)?),
            _ => None,
        })
    }
}

#[cfg(any(test, feature = "test-authenticator"))]
pub mod testing;

#[cfg(test)]
mod tests {
    use super::testing::SoftAuthenticator;
    use super::*;

    const SITE: &str = "https://portal.example.org";

    fn rp() -> PasskeyRelyingParty {
        PasskeyRelyingParty::new(SITE, "Musterstadt").unwrap()
    }

    fn register(rp: &PasskeyRelyingParty, device: &mut SoftAuthenticator, user: Uuid) -> String {
        let ceremony = rp.start_registration(user, "ada@example.org", &[]).unwrap();
        let answer = device.create(&ceremony.options_json, SITE).unwrap();
        let credential = rp
            .finish_registration(&ceremony.state_json, &answer)
            .unwrap();
        credential.passkey_json
    }

    #[test]
    fn a_registered_passkey_signs_in_and_names_its_account() {
        let rp = rp();
        let mut device = SoftAuthenticator::new();
        let user = Uuid::new_v4();
        let stored = register(&rp, &mut device, user);

        let ceremony = rp.start_sign_in().unwrap();
        assert!(!ceremony.options_json.contains("conditional"));
        let answer = device.get(&ceremony.options_json, SITE).unwrap();
        let claimed = rp.claimed(&answer).unwrap();
        assert_eq!(claimed.user, user);
        let updated = rp
            .finish_sign_in(&ceremony.state_json, &answer, &stored)
            .unwrap();
        assert!(updated.is_some(), "the counter moved on");
    }

    #[test]
    fn the_options_ask_for_a_discoverable_credential_with_user_verification() {
        let ceremony = rp()
            .start_registration(Uuid::new_v4(), "ada@example.org", &[])
            .unwrap();
        let options: serde_json::Value = serde_json::from_str(&ceremony.options_json).unwrap();
        let selection = &options["publicKey"]["authenticatorSelection"];
        assert_eq!(selection["residentKey"], "required");
        assert_eq!(selection["userVerification"], "required");
        assert_eq!(options["publicKey"]["rp"]["id"], "portal.example.org");
    }

    #[test]
    fn an_answer_for_another_site_or_a_replayed_answer_is_refused() {
        let rp = rp();
        let mut device = SoftAuthenticator::new();
        let stored = register(&rp, &mut device, Uuid::new_v4());

        let ceremony = rp.start_sign_in().unwrap();
        let phished = device
            .get(
                &ceremony.options_json,
                "https://portal.example.org.evil.example",
            )
            .unwrap();
        assert!(matches!(
            rp.finish_sign_in(&ceremony.state_json, &phished, &stored),
            Err(PasskeyError::Refused(_))
        ));

        let first = rp.start_sign_in().unwrap();
        let answer = device.get(&first.options_json, SITE).unwrap();
        let updated = rp
            .finish_sign_in(&first.state_json, &answer, &stored)
            .unwrap()
            .unwrap();
        // The same answer against a new challenge: refused.
        let second = rp.start_sign_in().unwrap();
        assert!(
            rp.finish_sign_in(&second.state_json, &answer, &updated)
                .is_err()
        );
    }

    #[test]
    fn an_answer_without_user_verification_is_refused() {
        let rp = rp();
        let mut device = SoftAuthenticator::new();
        let stored = register(&rp, &mut device, Uuid::new_v4());
        device.user_verification = false;
        let ceremony = rp.start_sign_in().unwrap();
        let answer = device.get(&ceremony.options_json, SITE).unwrap();
        assert!(
            rp.finish_sign_in(&ceremony.state_json, &answer, &stored)
                .is_err()
        );
    }

    #[test]
    fn garbage_from_the_browser_is_malformed_not_a_panic() {
        let rp = rp();
        let ceremony = rp.start_sign_in().unwrap();
        for answer in ["", "{}", "null", "[1,2]", "{\"id\":\"x\",\"rawId\":\"!!\"}"] {
            assert!(matches!(
                rp.claimed(answer),
                Err(PasskeyError::Malformed(_))
            ));
            assert!(
                rp.finish_sign_in(&ceremony.state_json, answer, "{}")
                    .is_err()
            );
        }
        let huge = "x".repeat(MAX_ANSWER_BYTES + 1);
        assert!(matches!(rp.claimed(&huge), Err(PasskeyError::Malformed(_))));
    }

    #[test]
    fn a_site_without_a_domain_has_no_passkeys() {
        assert!(matches!(
            PasskeyRelyingParty::new("http://127.0.0.1:8080", "x"),
            Err(PasskeyError::NoDomain(_))
        ));
        assert!(PasskeyRelyingParty::new("http://localhost:8080", "x").is_ok());
    }
}

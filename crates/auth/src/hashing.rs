//! Password hashing with argon2id (SECURITY.md A3) on a bounded blocking pool (F6).
//!
//! Every hash and every verification takes a permit of one semaphore (as many permits as the
//! machine has CPUs) and then runs in `spawn_blocking`, never on the async executor. A request
//! that cannot get a permit within a short wait gets [`HashError::Busy`], which the portal answers
//! with 429 and `Retry-After`: a sign-in storm queues briefly and then sheds load instead of
//! exhausting the node. Unknown accounts are verified against a dummy hash of the same cost, so
//! the answer takes as long as for a real account (A5).

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use argon2::password_hash::{PasswordHash as Phc, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rathaus_domain::{NewPassword, PasswordAttempt};
use tokio::sync::Semaphore;

/// The argon2id cost parameters new hashes are made with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Memory in KiB.
    pub m_kib: u32,
    /// Iterations.
    pub t: u32,
    /// Lanes.
    pub p: u32,
}

impl Policy {
    /// OWASP's recommendation for argon2id: 19 MiB, two iterations, one lane.
    pub const fn production() -> Self {
        Self {
            m_kib: 19_456,
            t: 2,
            p: 1,
        }
    }

    /// Cheap parameters so that tests can hash hundreds of passwords. Exists only in this
    /// crate's tests and with the `test-params` feature; nothing outside tests calls it.
    #[cfg(any(test, feature = "test-params"))]
    pub const fn weak_for_tests() -> Self {
        Self {
            m_kib: 64,
            t: 1,
            p: 1,
        }
    }

    /// Like [`Policy::weak_for_tests`] with a given memory cost, to test raising the policy.
    #[cfg(any(test, feature = "test-params"))]
    pub const fn weak_with_memory(m_kib: u32) -> Self {
        Self { m_kib, t: 1, p: 1 }
    }

    fn argon2(&self) -> Result<Argon2<'static>, HashError> {
        let params = Params::new(self.m_kib, self.t, self.p, None)
            .map_err(|e| HashError::Internal(e.to_string()))?;
        Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
    }

    /// Whether a stored PHC string was made with weaker parameters than this policy (or with
    /// another algorithm, or does not parse), so that it should be replaced at the next sign-in.
    pub fn needs_rehash(&self, phc: &str) -> bool {
        let Ok(parsed) = Phc::new(phc) else {
            return true;
        };
        if parsed.algorithm != Algorithm::Argon2id.ident() {
            return true;
        }
        match Params::try_from(&parsed) {
            Ok(params) => {
                params.m_cost() < self.m_kib || params.t_cost() < self.t || params.p_cost() < self.p
            }
            Err(_) => true,
        }
    }
}

/// A PHC string (`$argon2id$v=19$m=19456,t=2,p=1$salt$hash`): algorithm, parameters, salt and
/// hash in one value, as stored in `accounts.password_hash`.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(String);

impl PasswordHash {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash(…)")
    }
}

/// The outcome of checking a password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verification {
    /// The password is right; `needs_rehash` says the stored hash is below the policy.
    Match { needs_rehash: bool },
    /// Wrong password, or no such account.
    Mismatch,
}

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    /// Every hashing permit stayed taken for longer than the wait: answer 429, retry later.
    #[error("all password hashing workers are busy")]
    Busy,
    #[error("password hashing failed: {0}")]
    Internal(String),
}

/// Hashes and verifies passwords on a bounded pool. Cheap to share (`Arc`).
pub struct Hasher {
    policy: Policy,
    permits: Arc<Semaphore>,
    size: usize,
    wait: Duration,
    dummy: String,
}

impl fmt::Debug for Hasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hasher")
            .field("policy", &self.policy)
            .field("permits", &self.size)
            .field("wait", &self.wait)
            .finish_non_exhaustive()
    }
}

impl Hasher {
    /// A pool of `permits` workers (at least one) that waits at most `wait` for a free one.
    /// Computes the dummy hash once, on the pool like every other hash (call at start-up).
    pub async fn new(policy: Policy, permits: usize, wait: Duration) -> Result<Self, HashError> {
        let mut filler = [0u8; 32];
        getrandom::fill(&mut filler).map_err(|e| HashError::Internal(e.to_string()))?;
        let size = permits.max(1);
        let mut hasher = Self {
            policy,
            permits: Arc::new(Semaphore::new(size)),
            size,
            wait,
            dummy: String::new(),
        };
        let filler = base64_of(&filler);
        hasher.dummy = hasher.run(move || hash_blocking(policy, &filler)).await?.0;
        Ok(hasher)
    }

    /// As many permits as the machine has CPUs.
    pub async fn with_cpus(policy: Policy, wait: Duration) -> Result<Self, HashError> {
        let cpus = std::thread::available_parallelism().map_or(1, usize::from);
        Self::new(policy, cpus, wait).await
    }

    pub fn policy(&self) -> Policy {
        self.policy
    }

    /// Number of workers.
    pub fn permits(&self) -> usize {
        self.size
    }

    pub fn needs_rehash(&self, phc: &str) -> bool {
        self.policy.needs_rehash(phc)
    }

    /// Hashes a new password with a fresh random salt.
    pub async fn hash(&self, password: &NewPassword) -> Result<PasswordHash, HashError> {
        let policy = self.policy;
        let password = password.expose().to_owned();
        self.run(move || hash_blocking(policy, &password)).await
    }

    /// Hashes a password that was just verified again, under the current policy (the stored
    /// hash was made with weaker parameters; A3). The password may predate today's rules.
    pub async fn rehash(&self, password: &PasswordAttempt) -> Result<PasswordHash, HashError> {
        let policy = self.policy;
        let password = password.expose().to_owned();
        self.run(move || hash_blocking(policy, &password)).await
    }

    /// Checks `attempt` against `stored`, or against the dummy hash when there is no account,
    /// so that both take the same time.
    pub async fn verify(
        &self,
        attempt: &PasswordAttempt,
        stored: Option<&str>,
    ) -> Result<Verification, HashError> {
        let real = stored.is_some();
        let phc = stored.unwrap_or(&self.dummy).to_owned();
        let attempt = attempt.expose().to_owned();
        let policy = self.policy;
        let matched = self.run(move || verify_blocking(&attempt, &phc)).await?;
        Ok(match (real, matched) {
            (true, true) => Verification::Match {
                needs_rehash: stored.is_some_and(|phc| policy.needs_rehash(phc)),
            },
            _ => Verification::Mismatch,
        })
    }

    /// Runs `work` on the blocking pool once a permit is free, or fails with `Busy`.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> Result<T, HashError> + Send + 'static,
    ) -> Result<T, HashError> {
        let permit = tokio::time::timeout(self.wait, Arc::clone(&self.permits).acquire_owned())
            .await
            .map_err(|_| HashError::Busy)?
            .map_err(|_| HashError::Busy)?;
        tokio::task::spawn_blocking(move || {
            let _permit = permit; // held until the work is done, even if the caller went away
            let started = Instant::now();
            let result = work();
            tracing::trace!(
                millis = started.elapsed().as_millis() as u64,
                "argon2 finished"
            );
            result
        })
        .await
        .map_err(|e| HashError::Internal(e.to_string()))?
    }
}

fn base64_of(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn hash_blocking(policy: Policy, password: &str) -> Result<PasswordHash, HashError> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| HashError::Internal(e.to_string()))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| HashError::Internal(e.to_string()))?;
    let hash = policy
        .argon2()?
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| HashError::Internal(e.to_string()))?;
    Ok(PasswordHash(hash.to_string()))
}

/// Verifies with the parameters stored in the PHC string; an unparsable string never matches.
fn verify_blocking(password: &str, phc: &str) -> Result<bool, HashError> {
    let Ok(parsed) = Phc::new(phc) else {
        return Ok(false);
    };
    Ok(Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rathaus_domain::Blocklist;

    fn password(raw: &str) -> NewPassword {
        NewPassword::parse(raw, &Blocklist::default(), None).unwrap()
    }

    async fn weak() -> Hasher {
        Hasher::new(Policy::weak_for_tests(), 2, Duration::from_secs(5))
            .await
            .unwrap()
    }

    #[test]
    fn a3_production_hashes_are_argon2id_with_the_policy_in_the_phc_string() {
        let hash = hash_blocking(Policy::production(), "ein langes Passwort").unwrap();
        let parsed = Phc::new(hash.as_str()).unwrap();
        assert_eq!(parsed.algorithm.as_str(), "argon2id");
        let params = Params::try_from(&parsed).unwrap();
        assert!(params.m_cost() >= 19_456, "{}", hash.as_str());
        assert!(params.t_cost() >= 2 && params.p_cost() >= 1);
        assert!(hash.as_str().starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(!Policy::production().needs_rehash(hash.as_str()));
        assert!(verify_blocking("ein langes Passwort", hash.as_str()).unwrap());
        assert!(!verify_blocking("ein langes Passwort ", hash.as_str()).unwrap());
        assert_eq!(format!("{hash:?}"), "PasswordHash(…)");
    }

    #[test]
    fn a3_weak_or_foreign_hashes_need_a_rehash() {
        let weak = hash_blocking(Policy::weak_for_tests(), "ein langes Passwort").unwrap();
        assert!(Policy::production().needs_rehash(weak.as_str()));
        assert!(!Policy::weak_for_tests().needs_rehash(weak.as_str()));
        let lower_t = weak.as_str().replace("m=64,t=1", "m=19456,t=1");
        assert!(Policy::production().needs_rehash(&lower_t));
        assert!(
            Policy::production().needs_rehash("$argon2i$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaA")
        );
        assert!(Policy::production().needs_rehash("not a phc string"));
    }

    #[tokio::test]
    async fn a3_verification_reports_a_rehash_when_the_policy_rises() {
        let old = weak().await;
        let stored = old.hash(&password("correct horse, really")).await.unwrap();
        let raised = Hasher::new(Policy::weak_with_memory(128), 1, Duration::from_secs(5))
            .await
            .unwrap();
        let attempt = PasswordAttempt::parse("correct horse, really").unwrap();
        assert_eq!(
            raised
                .verify(&attempt, Some(stored.as_str()))
                .await
                .unwrap(),
            Verification::Match { needs_rehash: true }
        );
        assert_eq!(
            old.verify(&attempt, Some(stored.as_str())).await.unwrap(),
            Verification::Match {
                needs_rehash: false
            }
        );
    }

    #[tokio::test]
    async fn a5_unknown_accounts_are_checked_against_the_dummy_hash_and_never_match() {
        let hasher = weak().await;
        assert!(hasher.dummy.starts_with("$argon2id$v=19$m=64,t=1,p=1$"));
        let attempt = PasswordAttempt::parse("whatever it is").unwrap();
        assert_eq!(
            hasher.verify(&attempt, None).await.unwrap(),
            Verification::Mismatch
        );
        // A stored hash that does not parse never matches either.
        assert_eq!(
            hasher.verify(&attempt, Some("garbage")).await.unwrap(),
            Verification::Mismatch
        );
    }

    #[tokio::test]
    async fn f6_a_full_pool_answers_busy_after_the_wait() {
        let hasher = Arc::new(
            Hasher::new(Policy::weak_for_tests(), 1, Duration::from_millis(20))
                .await
                .unwrap(),
        );
        // Hold the only permit as a long-running hash would.
        let held = Arc::clone(&hasher.permits).acquire_owned().await.unwrap();
        let result = hasher.hash(&password("a password long enough")).await;
        assert!(matches!(result, Err(HashError::Busy)), "{result:?}");
        drop(held);
        assert!(
            hasher
                .hash(&password("a password long enough"))
                .await
                .is_ok()
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        #[test]
        fn a1_p_and_p_plus_x_hash_differently(raw in "\\PC{12,200}") {
            let p = hash_blocking(Policy::weak_for_tests(), &raw).unwrap();
            let longer = format!("{raw}x");
            // Each verifies only itself: nothing is truncated.
            prop_assert!(verify_blocking(&raw, p.as_str()).unwrap());
            prop_assert!(!verify_blocking(&longer, p.as_str()).unwrap());
            let px = hash_blocking(Policy::weak_for_tests(), &longer).unwrap();
            prop_assert_ne!(p.as_str(), px.as_str());
            prop_assert!(!verify_blocking(&raw, px.as_str()).unwrap());
        }
    }
}

//! Throttling of failed sign-ins (SECURITY.md A4): rising delays per account and per client
//! address, and a cap per hour; never a permanent lock.
//!
//! The store keeps the times of failed sign-ins per key (an account, a client address), shared
//! by every portal node; this module decides from those times alone, so the rule is tested with
//! any clock.

use chrono::{DateTime, Duration, Utc};

/// How many failures a key may collect before it has to wait, and how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottleRule {
    /// Failures within [`ThrottleRule::window`] that cost nothing.
    pub free: usize,
    /// The window in which failures count towards the delay.
    pub window: Duration,
    /// The delay never grows beyond this.
    pub max_delay: Duration,
    /// At most this many failures per hour; the next try waits until the oldest is an hour old.
    pub per_hour: usize,
}

impl ThrottleRule {
    /// For one account: after 5 failures within 15 minutes, 1, 2, 4, … seconds after the last
    /// failure, at most 15 minutes.
    pub const ACCOUNT: Self = Self {
        free: 5,
        window: Duration::minutes(15),
        max_delay: Duration::minutes(15),
        per_hour: 100,
    };

    /// For one client address, which many people may share (an office, a mobile network):
    /// delays start after 50 failures within 15 minutes; at most 100 failures per hour.
    pub const CLIENT: Self = Self {
        free: 50,
        window: Duration::minutes(15),
        max_delay: Duration::minutes(15),
        per_hour: 100,
    };

    /// For the second-factor codes of one account: a six-digit code is far easier to guess than
    /// a password, so after 5 wrong codes within an hour each try waits (1, 2, 4, … seconds, at
    /// most 15 minutes), and no more than 10 tries an hour are allowed at all. Someone who has
    /// the password therefore gets about 240 guesses a day, each right with a chance of 3 in a
    /// million (±1 time step); the owner waits at most an hour.
    pub const SECOND_FACTOR: Self = Self {
        free: 5,
        window: Duration::hours(1),
        max_delay: Duration::minutes(15),
        per_hour: 10,
    };

    /// How far back [`ThrottleRule::check`] needs failures.
    pub fn horizon(&self) -> Duration {
        Duration::hours(1).max(self.window)
    }

    /// Whether a sign-in may be tried now, given the times of earlier failures of this key (any
    /// order; older ones are ignored).
    pub fn check(&self, failures: &[DateTime<Utc>], now: DateTime<Utc>) -> Throttle {
        let hour_ago = now - Duration::hours(1);
        let in_hour: Vec<DateTime<Utc>> = failures
            .iter()
            .copied()
            .filter(|at| *at > hour_ago && *at <= now)
            .collect();
        let mut wait = Duration::zero();
        if in_hour.len() >= self.per_hour {
            let mut sorted = in_hour.clone();
            sorted.sort_unstable();
            // The try is allowed again once so many have left the hour that one is free.
            let oldest_to_leave = sorted[sorted.len() - self.per_hour];
            wait = wait.max(oldest_to_leave + Duration::hours(1) - now);
        }
        let window_start = now - self.window;
        let recent: Vec<&DateTime<Utc>> = in_hour.iter().filter(|at| **at > window_start).collect();
        if recent.len() >= self.free
            && let Some(last) = recent.iter().copied().max()
        {
            let exponent = u32::try_from(recent.len() - self.free).unwrap_or(u32::MAX);
            let delay = 2i64
                .checked_pow(exponent)
                .map_or(self.max_delay, Duration::seconds)
                .min(self.max_delay);
            wait = wait.max(*last + delay - now);
        }
        if wait > Duration::zero() {
            Throttle::Wait(wait)
        } else {
            Throttle::Allowed
        }
    }
}

/// The decision for one try.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Throttle {
    Allowed,
    /// Try again after this long.
    Wait(Duration),
}

impl Throttle {
    /// The longer of two decisions (a try must pass both the account's and the address's rule).
    pub fn and(self, other: Throttle) -> Throttle {
        match (self, other) {
            (Throttle::Wait(a), Throttle::Wait(b)) => Throttle::Wait(a.max(b)),
            (Throttle::Wait(a), Throttle::Allowed) | (Throttle::Allowed, Throttle::Wait(a)) => {
                Throttle::Wait(a)
            }
            (Throttle::Allowed, Throttle::Allowed) => Throttle::Allowed,
        }
    }

    /// Whole seconds to wait, rounded up, for `Retry-After`.
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            Throttle::Allowed => None,
            Throttle::Wait(wait) => {
                let millis = wait.num_milliseconds().max(1);
                Some(u64::try_from((millis + 999) / 1000).unwrap_or(1))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap()
    }

    #[test]
    fn a4_delays_rise_after_five_failures_and_are_capped() {
        let rule = ThrottleRule::ACCOUNT;
        let now = t0();
        let mut failures = vec![now; 4];
        assert_eq!(rule.check(&failures, now), Throttle::Allowed);
        failures.push(now);
        assert_eq!(
            rule.check(&failures, now),
            Throttle::Wait(Duration::seconds(1))
        );
        assert_eq!(
            rule.check(&failures, now + Duration::seconds(1)),
            Throttle::Allowed
        );
        failures.push(now);
        assert_eq!(
            rule.check(&failures, now),
            Throttle::Wait(Duration::seconds(2))
        );
        let many = vec![now; 30];
        assert_eq!(
            rule.check(&many, now),
            Throttle::Wait(Duration::minutes(15))
        );
        // Once the failures leave the window, the owner is welcome again: never a permanent lock.
        assert_eq!(
            rule.check(&many, now + Duration::minutes(15)),
            Throttle::Allowed
        );
    }

    #[test]
    fn a4_the_101st_try_within_an_hour_waits_for_the_oldest_to_leave() {
        let rule = ThrottleRule::CLIENT;
        let start = t0();
        // 100 failures spread over 50 minutes: fewer than 50 in any 15 minutes.
        let failures: Vec<_> = (0..100)
            .map(|i| start + Duration::seconds(i * 30))
            .collect();
        let now = start + Duration::minutes(50);
        assert_eq!(rule.check(&failures[..99], now), Throttle::Allowed);
        assert_eq!(
            rule.check(&failures, now),
            Throttle::Wait(Duration::minutes(10))
        );
        assert_eq!(
            rule.check(&failures, start + Duration::hours(1)),
            Throttle::Allowed
        );
        assert_eq!(
            Throttle::Wait(Duration::milliseconds(1)).retry_after_secs(),
            Some(1)
        );
        assert_eq!(
            Throttle::Wait(Duration::seconds(2)).and(Throttle::Wait(Duration::seconds(5))),
            Throttle::Wait(Duration::seconds(5))
        );
    }
}

//! Replay protection shared by the providers: request times must be within [`MAX_SKEW`] of now, and
//! a nonce is accepted once within that window.

use std::collections::{HashSet, VecDeque};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Mutex;
use time::{Duration, OffsetDateTime};

/// How far a request's time may be from the server's, either way.
pub const MAX_SKEW: Duration = Duration::minutes(15);

/// Whether a request signed at `signed` is still acceptable at `now`.
pub fn fresh(signed: OffsetDateTime, now: OffsetDateTime) -> bool {
    (signed - now).abs() <= MAX_SKEW
}

/// Nonces seen in the last [`MAX_SKEW`]: older ones cannot come back, their timestamps are stale.
#[derive(Default)]
pub struct Nonces(Mutex<Seen>);

/// 64-bit digests keep memory flat under load; two nonces colliding is a 1-in-2^64 event per pair.
#[derive(Default)]
struct Seen {
    digests: HashSet<u64>,
    by_age: VecDeque<(OffsetDateTime, u64)>,
}

impl Nonces {
    /// Records `nonce`; false if it was already used within the window.
    pub fn first_use(&self, nonce: &str, now: OffsetDateTime) -> bool {
        let mut hasher = DefaultHasher::new();
        nonce.hash(&mut hasher);
        let digest = hasher.finish();
        let mut seen = self.0.lock().expect("nonce lock");
        while let Some(&(at, old)) = seen.by_age.front() {
            if now - at <= MAX_SKEW {
                break;
            }
            seen.digests.remove(&old);
            seen.by_age.pop_front();
        }
        if !seen.digests.insert(digest) {
            return false;
        }
        seen.by_age.push_back((now, digest));
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn a_nonce_is_accepted_once_within_the_window() {
        let nonces = Nonces::default();
        let t0 = datetime!(2024-01-01 00:00 UTC);
        assert!(nonces.first_use("a", t0));
        assert!(nonces.first_use("b", t0));
        assert!(!nonces.first_use("a", t0 + Duration::minutes(14)));
        assert!(nonces.first_use("a", t0 + Duration::minutes(16)));
    }

    #[test]
    fn times_within_fifteen_minutes_either_way_are_fresh() {
        let now = datetime!(2024-01-01 12:00 UTC);
        assert!(fresh(now - Duration::minutes(15), now));
        assert!(fresh(now + Duration::minutes(15), now));
        assert!(!fresh(now - Duration::minutes(16), now));
        assert!(!fresh(now + Duration::minutes(16), now));
    }
}

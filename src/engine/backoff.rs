//! Exponential backoff with full jitter: the wait before retry n is uniform in
//! `[0, min(cap, base * 2^(n-1))]`, so clients that failed together do not retry together. A
//! server-given wait is a floor. The decision whether to retry is the provider's classification;
//! this is only the policy of how long to wait.

use rand::Rng;
use std::time::Duration;

#[derive(Clone, Copy, Debug)]
pub struct Backoff {
    pub base: Duration,
    pub cap: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            base: Duration::from_millis(200),
            cap: Duration::from_secs(20),
        }
    }
}

impl Backoff {
    /// The wait before retrying after failed attempt number `attempt` (1-based).
    pub fn delay(
        &self,
        attempt: u32,
        server_wait: Option<Duration>,
        rng: &mut impl Rng,
    ) -> Duration {
        let exp = self
            .base
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(20));
        let ceiling = exp.min(self.cap);
        let jittered = ceiling.mul_f64(rng.random::<f64>());
        jittered.max(server_wait.unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    #[test]
    fn grows_exponentially_within_the_cap() {
        let b = Backoff {
            base: Duration::from_millis(100),
            cap: Duration::from_secs(1),
        };
        let mut rng = StdRng::seed_from_u64(7);
        for attempt in 1..10 {
            let ceiling =
                Duration::from_millis(100 * (1 << (attempt - 1))).min(Duration::from_secs(1));
            for _ in 0..200 {
                assert!(b.delay(attempt, None, &mut rng) <= ceiling);
            }
        }
        // Full jitter spreads over the whole range, not just the top.
        let small = (0..1000)
            .filter(|_| b.delay(4, None, &mut rng) < Duration::from_millis(200))
            .count();
        assert!(small > 100, "{small}");
    }

    #[test]
    fn server_wait_is_a_floor() {
        let b = Backoff::default();
        let mut rng = StdRng::seed_from_u64(1);
        assert!(b.delay(1, Some(Duration::from_secs(3)), &mut rng) >= Duration::from_secs(3));
    }
}

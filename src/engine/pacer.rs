//! Per-account request pacing. Request i of an account is scheduled one interval after request i-1,
//! never earlier, so no one-second window holds more than the rate and no burst follows an idle spell.
//! Throttling halves the rate (at most once per second: replies to requests already in flight say
//! the same thing) and a server-given wait pauses the whole account; the rate then recovers
//! linearly back to the configured one.
//!
//! Our own code rather than `governor`: a governor quota is fixed at construction, and an adaptive
//! rate would mean swapping limiters (losing their state) on every change.

use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

/// The lowest rate throttling can push an account down to.
const FLOOR: f64 = 0.2;
/// Share of the configured rate regained per second after a throttle.
const RECOVERY_PER_SECOND: f64 = 0.05;

pub struct Pacer {
    target: Option<f64>,
    state: Mutex<State>,
}

struct State {
    current: f64,
    next: Instant,
    last_change: Instant,
    last_throttle: Option<Instant>,
    throttles: u64,
}

impl Pacer {
    /// `rate` in requests per second; `None` = no pacing.
    pub fn new(rate: Option<f64>) -> Pacer {
        let now = Instant::now();
        let target = rate.filter(|r| r.is_finite() && *r > 0.0);
        Pacer {
            target,
            state: Mutex::new(State {
                current: target.unwrap_or(f64::INFINITY),
                next: now,
                last_change: now,
                last_throttle: None,
                throttles: 0,
            }),
        }
    }

    /// Waits for this request's slot.
    pub async fn acquire(&self) {
        let slot = self.reserve(Instant::now());
        tokio::time::sleep_until(slot).await;
    }

    /// Reserves the next slot at or after `now` and returns it.
    fn reserve(&self, now: Instant) -> Instant {
        let mut s = self.state.lock().expect("pacer lock");
        let slot = s.next.max(now);
        if let Some(target) = self.target {
            // Linear recovery towards the configured rate.
            let elapsed = now.saturating_duration_since(s.last_change).as_secs_f64();
            s.current = (s.current + target * RECOVERY_PER_SECOND * elapsed).min(target);
            s.last_change = now;
            s.next = slot + Duration::from_secs_f64(1.0 / s.current);
        } else {
            s.next = slot;
        }
        slot
    }

    /// A throttling reply: slow down, and honour the server's wait for every request of the account.
    pub fn throttled(&self, retry_after: Option<Duration>) {
        let now = Instant::now();
        let mut s = self.state.lock().expect("pacer lock");
        s.throttles += 1;
        let recent = s
            .last_throttle
            .is_some_and(|t| now.duration_since(t) < Duration::from_secs(1));
        if !recent && let Some(target) = self.target {
            s.current = (s.current / 2.0).max(FLOOR.min(target));
            s.last_change = now;
        }
        s.last_throttle = Some(now);
        if let Some(wait) = retry_after {
            s.next = s.next.max(now + wait);
        }
    }

    /// The rate now in force (requests/s), `None` when unpaced.
    pub fn current_rate(&self) -> Option<f64> {
        self.target
            .map(|_| self.state.lock().expect("pacer lock").current)
    }

    /// Throttling replies seen.
    pub fn throttles(&self) -> u64 {
        self.state.lock().expect("pacer lock").throttles
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn spaces_requests_exactly_at_the_rate() {
        let pacer = Pacer::new(Some(50.0));
        let start = Instant::now();
        let mut times = Vec::new();
        for _ in 0..100 {
            pacer.acquire().await;
            times.push(start.elapsed().as_secs_f64());
        }
        assert_eq!(times[0], 0.0);
        for pair in times.windows(2) {
            assert!((pair[1] - pair[0] - 0.02).abs() < 1e-6, "{pair:?}");
        }
        // No one-second window holds more than 50.
        for (i, t) in times.iter().enumerate() {
            let in_window = times[i..].iter().take_while(|u| **u < t + 1.0).count();
            assert!(in_window <= 50);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn no_burst_after_idle() {
        let pacer = Pacer::new(Some(10.0));
        pacer.acquire().await;
        tokio::time::sleep(Duration::from_secs(5)).await;
        let start = Instant::now();
        pacer.acquire().await;
        pacer.acquire().await;
        assert!((start.elapsed().as_secs_f64() - 0.1).abs() < 1e-6);
    }

    #[tokio::test(start_paused = true)]
    async fn throttle_halves_once_per_second_then_recovers() {
        let pacer = Pacer::new(Some(40.0));
        pacer.throttled(None);
        pacer.throttled(None); // same burst of replies: no second halving
        assert_eq!(pacer.current_rate(), Some(20.0));
        assert_eq!(pacer.throttles(), 2);
        tokio::time::sleep(Duration::from_secs(5)).await;
        pacer.acquire().await; // recovery is applied when the next slot is taken
        let rate = pacer.current_rate().unwrap();
        assert!((rate - 30.0).abs() < 0.01, "{rate}");
        tokio::time::sleep(Duration::from_secs(60)).await;
        pacer.acquire().await;
        assert_eq!(pacer.current_rate(), Some(40.0));
    }

    #[tokio::test(start_paused = true)]
    async fn retry_after_pauses_the_account() {
        let pacer = Pacer::new(None);
        pacer.throttled(Some(Duration::from_millis(800)));
        let start = Instant::now();
        pacer.acquire().await;
        assert_eq!(start.elapsed(), Duration::from_millis(800));
    }
}

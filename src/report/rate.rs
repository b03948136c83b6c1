//! The request rate progress shows: counted over a sliding window, so one slow or fast moment does not
//! swing it, and measured so that it never exceeds the rate the requests were paced at.
//!
//! Counting `m` requests between two instants and dividing by the time between them overstates the
//! pace by up to one request (a request at each end of the interval): 11 requests in 0.5 s at
//! 20/s read as 22/s. Between the first and the last of `m` requests paced at `r` lie at least
//! `(m - 1) / r` seconds, so `(m - 1) / seconds` never exceeds `r`; it understates by at most one
//! request per window.

use std::collections::VecDeque;
use std::time::Duration;
use tokio::time::Instant;

/// Requests per second from `requests` sent within `seconds`; never above the rate they were
/// paced at.
pub fn per_second(requests: u64, seconds: f64) -> f64 {
    if seconds <= 0.0 {
        return 0.0;
    }
    requests.saturating_sub(1) as f64 / seconds
}

/// Samples of a growing request count, the last `span` of them.
#[derive(Debug)]
pub struct Window {
    span: Duration,
    /// (when, requests sent by then), oldest first; the first is the base of the rate.
    samples: VecDeque<(Instant, u64)>,
}

impl Window {
    /// A window that starts at `start`, before the first request.
    pub fn new(start: Instant, span: Duration) -> Window {
        Window {
            span,
            samples: VecDeque::from([(start, 0)]),
        }
    }

    /// Notes `requests` sent by `now`; returns the rate over the last `span` (over the time since
    /// the start while less than `span` has passed, so the first seconds show no spike).
    pub fn sample(&mut self, now: Instant, requests: u64) -> f64 {
        self.samples.push_back((now, requests));
        // The base is the newest sample at least `span` old; older ones are no longer needed.
        while self
            .samples
            .get(1)
            .is_some_and(|(at, _)| now.saturating_duration_since(*at) >= self.span)
        {
            self.samples.pop_front();
        }
        let (since, base) = self.samples[0];
        per_second(
            requests.saturating_sub(base),
            now.saturating_duration_since(since).as_secs_f64(),
        )
    }

    /// The rate covers a whole span (rather than the start-up).
    pub fn full(&self, now: Instant) -> bool {
        now.saturating_duration_since(self.samples[0].0) >= self.span
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    /// How many of requests paced at `rate` from `t = 0` left by `t` (inclusive).
    fn sent_by(rate: f64, t: f64) -> u64 {
        (t * rate).floor() as u64 + 1
    }

    #[test]
    fn a_paced_run_never_reads_above_its_rate_at_any_moment() {
        for rate in [0.5, 1.0, 2.0, 20.0, 100.0, 333.0] {
            let t0 = Instant::now();
            let mut w = Window::new(t0, 10 * S);
            for tick in 1..=300 {
                let t = tick as f64 * 0.1;
                let r = w.sample(t0 + Duration::from_secs_f64(t), sent_by(rate, t));
                assert!(r <= rate + 1e-9, "{r} > {rate} at {t}s");
                if t >= 10.0 {
                    assert!(r >= rate - 0.1 - 1e-9, "{r} far below {rate} at {t}s");
                }
            }
        }
    }

    #[test]
    fn the_rate_is_that_of_the_last_span() {
        let t0 = Instant::now();
        let mut w = Window::new(t0, 10 * S);
        // 20/s for 10 s, then 5/s: after another 10 s only the slow pace is left.
        w.sample(t0 + 10 * S, 201);
        assert!(w.full(t0 + 10 * S));
        let r = w.sample(t0 + 20 * S, 251);
        assert_eq!(r, 4.9);
        assert_eq!(w.sample(t0 + 30 * S, 251), 0.0);
    }

    #[test]
    fn before_the_span_is_full_the_rate_is_over_the_time_since_the_start() {
        let t0 = Instant::now();
        let mut w = Window::new(t0, 10 * S);
        assert!(!w.full(t0 + 2 * S));
        assert_eq!(w.sample(t0 + 2 * S, 41), 20.0);
        assert_eq!(w.sample(t0 + 4 * S, 81), 20.0);
        assert_eq!(per_second(1, 0.001), 0.0, "one request is no rate yet");
        assert_eq!(per_second(5, 0.0), 0.0);
    }
}

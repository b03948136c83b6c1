//! Per-account request pacing (SPEC §5): no one-second window above the rate, measured where it
//! counts, at the server; and when the server throttles, find its real limit and stay just under it.
//!
//! Two mechanisms hold the rate:
//! - a grid: request i is scheduled one interval after request i-1, never earlier, so no burst
//!   follows an idle spell and late wake-ups are caught up without drifting. It runs at [`SAFETY`]
//!   (99%) of the rate: 50 requests at `--rate 50` span 1.01 s, so the time they take to reach the
//!   server may vary by 10 ms before two of them share one of the server's one-second windows;
//! - a gate on the moments requests really leave: request k leaves at least `max(1 s, 1/rate)`
//!   after request `k - n`, `n = max(1, ⌊rate⌋)`, plus the larger of [`GUARD`] and how much longer
//!   than the fastest recent round trip `k - n` took to be answered. A task woken late would
//!   otherwise leave bunched with the one `n` after it; and a request held up on its way (a busy
//!   machine, a stalled network, a server that read it late) may have reached the server that much
//!   later, which its slow reply shows.
//!
//! The margins cost 1% of the rate and buy a limit that holds at the server, not only in our own
//! clock: on a loaded 2-core machine the time from our clock to the server's varies by a few
//! milliseconds typically and by tens of milliseconds at times. A throttle they avoid costs far
//! more (halving, then ten seconds of probing).
//!
//! Throttling (see [`Halving`]): the rate that was throttled is the lower of the rate in force and
//! the requests sent in the last second (what the server counted). It is halved (at most once per
//! second: replies to requests already in flight say the same thing), requests already scheduled
//! are rescheduled at the new rate,
//! and a server-given wait pauses the whole account. The rate then climbs back to just under the
//! rate that was throttled, probes slowly up to it, and climbs quickly past it: a limit that is still
//! there is met again only every ten seconds or so, a limit that was lifted is left behind in seconds.
//!
//! Our own code rather than `governor`: a governor quota is fixed at construction, and an adaptive
//! rate would mean swapping limiters (losing their state) on every change.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

/// Share of the rate the slots are scheduled at (module doc).
const SAFETY: f64 = 0.99;
/// What the gate adds to its window at least: half the 10 ms the grid leaves, so a wake-up late by
/// a timer tick (1 ms) holds nothing back, and a request held back is soon back on the grid.
const GUARD: Duration = Duration::from_millis(5);
/// The lowest rate throttling can push an account down to.
const FLOOR: f64 = 0.2;
/// Throttling replies within this time of a halving do not halve again.
const HALVING_GAP: Duration = Duration::from_secs(1);
/// After a halving, the rate is back to [`SETTLE`] of the throttled rate this many seconds later.
const RAMP_SECONDS: f64 = 2.0;
/// Where the fast climb back stops: just under the rate that was throttled.
const SETTLE: f64 = 0.95;
/// From there, share of the throttled rate added per second: 10 s to reach it again.
const PROBE_PER_SECOND: f64 = 0.005;
/// Past the throttled rate, share of the configured rate added per second.
const CLIMB_PER_SECOND: f64 = 0.10;

/// The last halving: when, and the rate that was throttled.
#[derive(Clone, Copy, Debug)]
struct Halving {
    at: Instant,
    throttled: f64,
}

impl Halving {
    /// The rate `elapsed` seconds after this halving, under the configured `target`: half the
    /// throttled rate, a linear ramp to [`SETTLE`] of it over [`RAMP_SECONDS`], a slow linear probe
    /// up to it, then a faster linear climb to the target.
    fn rate(&self, target: f64, elapsed: f64) -> f64 {
        let top = self.throttled;
        let low = (top / 2.0).max(FLOOR.min(target));
        let settle = (top * SETTLE).max(low);
        let rate = if elapsed < RAMP_SECONDS {
            low + (settle - low) * elapsed / RAMP_SECONDS
        } else {
            let probing = elapsed - RAMP_SECONDS;
            let probed = settle + top * PROBE_PER_SECOND * probing;
            if probed < top {
                probed
            } else {
                let reached = (top - settle) / (top * PROBE_PER_SECOND);
                top + target * CLIMB_PER_SECOND * (probing - reached)
            }
        };
        rate.min(target)
    }
}

pub struct Pacer {
    target: Option<f64>,
    state: Mutex<State>,
}

struct State {
    /// The next free slot of the grid.
    next: Instant,
    /// The last `n` requests (the gate's window), oldest first.
    sent: VecDeque<Departure>,
    /// Sequence number of the next request to leave.
    seq: u64,
    /// Bumped when the slots handed out are no longer valid (a halving or a server's wait).
    generation: u64,
    halving: Option<Halving>,
    throttles: u64,
}

/// A request that left: when, and how long its reply took once it came.
#[derive(Clone, Copy, Debug)]
struct Departure {
    at: Instant,
    round_trip: Option<Duration>,
}

/// Proof of a request's departure, handed back with [`Pacer::replied`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sent {
    seq: u64,
    at: Instant,
}

/// What the gate says to a task whose slot has come.
#[derive(Debug, PartialEq)]
enum Gate {
    Go(Sent),
    /// Too soon after the request `n` back: wait until then.
    WaitUntil(Instant),
    /// The slot was withdrawn by a throttle: take a new one.
    Stale,
}

impl Pacer {
    /// `rate` in requests per second; `None` = no pacing.
    pub fn new(rate: Option<f64>) -> Pacer {
        let target = rate.filter(|r| r.is_finite() && *r > 0.0);
        Pacer {
            target,
            state: Mutex::new(State {
                next: Instant::now(),
                sent: VecDeque::new(),
                seq: 0,
                generation: 0,
                halving: None,
                throttles: 0,
            }),
        }
    }

    /// Waits until this request may leave. Call it right before sending, and [`Pacer::replied`]
    /// when its reply (or the failure to get one) came.
    pub async fn acquire(&self) -> Sent {
        loop {
            let now = Instant::now();
            let (slot, generation) = self.reserve(now);
            // A timer, even one already due, fires on the next tick of tokio's clock (up to 1 ms):
            // an unpaced account or a free slot must not wait for it.
            if slot > now {
                tokio::time::sleep_until(slot).await;
            }
            loop {
                match self.pass(generation, Instant::now()) {
                    Gate::Go(sent) => return sent,
                    Gate::WaitUntil(at) => tokio::time::sleep_until(at).await,
                    Gate::Stale => break,
                }
            }
        }
    }

    /// Reserves the next slot of the grid at or after `now`; returns it with the generation it
    /// belongs to.
    fn reserve(&self, now: Instant) -> (Instant, u64) {
        let mut s = self.state.lock().expect("pacer lock");
        let slot = s.next.max(now);
        s.next = slot + self.interval(&s, now);
        (slot, s.generation)
    }

    /// The gate, for a task holding a slot of `generation`, at `now`; records the request as sent
    /// when it says go.
    fn pass(&self, generation: u64, now: Instant) -> Gate {
        let mut s = self.state.lock().expect("pacer lock");
        if generation != s.generation {
            return Gate::Stale;
        }
        if let Some(target) = self.target {
            let n = target.floor().max(1.0) as usize;
            if s.sent.len() >= n {
                let fastest = s.sent.iter().filter_map(|d| d.round_trip).min();
                let back = s.sent[s.sent.len() - n];
                let held_up = back
                    .round_trip
                    .zip(fastest)
                    .map_or(Duration::ZERO, |(rtt, fastest)| rtt - fastest);
                let opens =
                    back.at + Duration::from_secs_f64(target.recip().max(1.0)) + held_up.max(GUARD);
                if now < opens {
                    return Gate::WaitUntil(opens);
                }
            }
            if s.sent.len() == n {
                s.sent.pop_front();
            }
            s.sent.push_back(Departure {
                at: now,
                round_trip: None,
            });
        }
        let sent = Sent {
            seq: s.seq,
            at: now,
        };
        s.seq += 1;
        Gate::Go(sent)
    }

    /// The reply to `sent` came (or the attempt to get one failed): how long it took tells the
    /// gate how late the request may have reached the server.
    pub fn replied(&self, sent: Sent) {
        let now = Instant::now();
        let mut s = self.state.lock().expect("pacer lock");
        // The window holds requests `seq - len .. seq`; older ones no longer matter.
        let index = (sent.seq + s.sent.len() as u64).checked_sub(s.seq);
        if let Some(d) = index.and_then(|i| s.sent.get_mut(i as usize)) {
            d.round_trip = Some(now.saturating_duration_since(sent.at));
        }
    }

    /// The grid's spacing at the rate in force at `now`.
    fn interval(&self, s: &State, now: Instant) -> Duration {
        match self.rate_at(s, now) {
            Some(rate) => Duration::from_secs_f64(1.0 / (rate * SAFETY)),
            None => Duration::ZERO,
        }
    }

    fn rate_at(&self, s: &State, now: Instant) -> Option<f64> {
        let target = self.target?;
        Some(match s.halving {
            Some(h) => h.rate(target, now.saturating_duration_since(h.at).as_secs_f64()),
            None => target,
        })
    }

    /// A throttling reply: slow down, and honour the server's wait for every request of the account.
    pub fn throttled(&self, retry_after: Option<Duration>) {
        let now = Instant::now();
        let mut s = self.state.lock().expect("pacer lock");
        s.throttles += 1;
        let recent = s
            .halving
            .is_some_and(|h| now.saturating_duration_since(h.at) < HALVING_GAP);
        let halve = !recent && self.target.is_some();
        if halve {
            // What the server saw is what we sent in the last second, whatever the rate in force
            // said: at 40/s against a limit of 20 the throttle comes after 20 requests in 0.5 s.
            let sent = s
                .sent
                .iter()
                .rev()
                .take_while(|d| now.saturating_duration_since(d.at) < Duration::from_secs(1))
                .count() as f64;
            let in_force = self.rate_at(&s, now).expect("paced");
            let throttled = if sent > 0.0 {
                in_force.min(sent)
            } else {
                in_force
            };
            s.halving = Some(Halving { at: now, throttled });
        }
        if halve || retry_after.is_some() {
            // Slots handed out at the old pace are withdrawn; the next request leaves one new
            // interval after the last one that did, and not before the server's wait is over.
            s.generation += 1;
            let after_last = s.sent.back().map_or(now, |d| d.at + self.interval(&s, now));
            s.next = after_last.max(now + retry_after.unwrap_or_default());
        }
    }

    /// The rate now in force (requests/s), `None` when unpaced.
    pub fn current_rate(&self) -> Option<f64> {
        let s = self.state.lock().expect("pacer lock");
        self.rate_at(&s, Instant::now())
    }

    /// Throttling replies seen.
    pub fn throttles(&self) -> u64 {
        self.state.lock().expect("pacer lock").throttles
    }

    /// Requests that have left so far.
    pub fn requests(&self) -> u64 {
        self.state.lock().expect("pacer lock").seq
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    const MS: Duration = Duration::from_millis(1);

    /// The most of `times` (seconds) in any window `[t, t + 1)`.
    fn busiest_second(times: &[f64]) -> usize {
        (0..times.len())
            .map(|i| {
                times[i..]
                    .iter()
                    .take_while(|u| **u < times[i] + 1.0)
                    .count()
            })
            .max()
            .unwrap_or(0)
    }

    #[tokio::test(start_paused = true)]
    async fn spaces_requests_just_under_the_rate() {
        let pacer = Pacer::new(Some(50.0));
        let start = Instant::now();
        let mut times = Vec::new();
        for _ in 0..200 {
            pacer.acquire().await;
            times.push(start.elapsed().as_secs_f64());
        }
        assert_eq!(times[0], 0.0);
        // Tokio's timer wakes on whole milliseconds; the grid does not drift from it.
        for pair in times.windows(2) {
            assert!(
                (pair[1] - pair[0] - 0.02 / SAFETY).abs() <= 1e-3,
                "{pair:?}"
            );
        }
        assert_eq!(busiest_second(&times), 50);
        let rate = (times.len() - 1) as f64 / times[times.len() - 1];
        assert!((rate - 50.0 * SAFETY).abs() < 0.02, "{rate}");
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_callers_share_the_rate() {
        let pacer = Arc::new(Pacer::new(Some(20.0)));
        let start = Instant::now();
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..8 {
            let pacer = pacer.clone();
            tasks.spawn(async move {
                let mut times = Vec::new();
                for _ in 0..10 {
                    pacer.acquire().await;
                    times.push(start.elapsed().as_secs_f64());
                }
                times
            });
        }
        let mut times: Vec<f64> = tasks.join_all().await.into_iter().flatten().collect();
        times.sort_by(f64::total_cmp);
        assert_eq!(times.len(), 80);
        assert!(busiest_second(&times) <= 20);
        assert!(
            (times[79] - 79.0 * 0.05 / SAFETY).abs() <= 5e-3,
            "{}",
            times[79]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn no_burst_after_idle() {
        let pacer = Pacer::new(Some(10.0));
        pacer.acquire().await;
        tokio::time::sleep(Duration::from_secs(5)).await;
        let start = Instant::now();
        pacer.acquire().await;
        pacer.acquire().await;
        assert!((start.elapsed().as_secs_f64() - 0.1 / SAFETY).abs() <= 1e-3);
    }

    fn go(gate: Gate) -> Sent {
        match gate {
            Gate::Go(sent) => sent,
            other => panic!("expected to go, got {other:?}"),
        }
    }

    #[test]
    fn a_late_request_holds_back_the_one_a_second_after_it() {
        let pacer = Pacer::new(Some(5.0));
        let t0 = Instant::now();
        let slots: Vec<(Instant, u64)> = (0..6).map(|_| pacer.reserve(t0)).collect();
        // The first leaves 30 ms after its slot, the others on time.
        go(pacer.pass(slots[0].1, slots[0].0 + 30 * MS));
        for (slot, generation) in &slots[1..5] {
            go(pacer.pass(*generation, *slot));
        }
        let (slot, generation) = slots[5];
        let opens = slots[0].0 + 30 * MS + Duration::from_secs(1) + GUARD;
        assert!(slot < opens);
        assert_eq!(pacer.pass(generation, slot), Gate::WaitUntil(opens));
        go(pacer.pass(generation, opens));
    }

    #[tokio::test(start_paused = true)]
    async fn a_slow_reply_holds_back_the_one_a_second_after_it() {
        let pacer = Pacer::new(Some(5.0));
        let start = Instant::now();
        // The first reply takes 40 ms, the others 2 ms: the first may have reached the server
        // 38 ms late, so the sixth, due 1.01 s after it, waits until 1.038 s.
        let first = pacer.acquire().await;
        tokio::time::sleep(40 * MS).await;
        pacer.replied(first);
        for _ in 1..5 {
            let sent = pacer.acquire().await;
            tokio::time::sleep(2 * MS).await;
            pacer.replied(sent);
        }
        pacer.acquire().await;
        let waited = start.elapsed().as_secs_f64();
        assert!((waited - 1.038).abs() <= 1e-3, "{waited}");
    }

    #[test]
    fn after_a_halving_the_rate_ramps_probes_then_climbs() {
        let h = Halving {
            at: Instant::now(),
            throttled: 20.0,
        };
        let at = |s: f64| h.rate(40.0, s);
        assert_eq!(at(0.0), 10.0);
        assert!((at(1.0) - 14.5).abs() < 1e-9);
        assert!((at(2.0) - 19.0).abs() < 1e-9);
        // Probing: 0.1/s, so the throttled rate is reached again 10 s after the ramp.
        assert!((at(7.0) - 19.5).abs() < 1e-9);
        assert!((at(12.0) - 20.0).abs() < 1e-9);
        // Past it the limit must have moved: 4/s up to the configured rate.
        assert!((at(14.0) - 28.0).abs() < 1e-9);
        assert_eq!(at(60.0), 40.0);
        // Never below the floor, never above the configured rate.
        let tiny = Halving {
            at: h.at,
            throttled: 0.25,
        };
        assert_eq!(tiny.rate(40.0, 0.0), FLOOR);
        assert_eq!(tiny.rate(0.1, 0.0), 0.1);
    }

    #[tokio::test(start_paused = true)]
    async fn throttle_halves_once_per_second_then_recovers() {
        let pacer = Pacer::new(Some(40.0));
        pacer.throttled(None);
        pacer.throttled(None); // same burst of replies: no second halving
        assert_eq!(pacer.current_rate(), Some(20.0));
        assert_eq!(pacer.throttles(), 2);
        tokio::time::sleep(Duration::from_millis(1500)).await;
        // Ramping (20 + 18 * 1.5 / 2 = 33.5) and throttled again: halve again.
        pacer.throttled(None);
        assert!((pacer.current_rate().unwrap() - 16.75).abs() < 1e-9);
        tokio::time::sleep(Duration::from_secs(60)).await;
        assert_eq!(pacer.current_rate(), Some(40.0));
    }

    #[tokio::test(start_paused = true)]
    async fn the_throttled_rate_is_what_the_server_saw() {
        let pacer = Pacer::new(Some(40.0));
        for _ in 0..20 {
            pacer.acquire().await;
        }
        // 20 requests in half a second, then the server's limit of 20/s says no.
        pacer.throttled(None);
        assert_eq!(pacer.current_rate(), Some(10.0));
    }

    #[tokio::test(start_paused = true)]
    async fn a_throttle_reschedules_requests_already_waiting() {
        let pacer = Arc::new(Pacer::new(Some(10.0)));
        for _ in 0..10 {
            pacer.acquire().await;
        }
        let start = Instant::now();
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..3 {
            let pacer = pacer.clone();
            tasks.spawn(async move {
                pacer.acquire().await;
                start.elapsed()
            });
        }
        // Their slots are 0.1 s apart; the first has gone when the server asks for 500 ms.
        tokio::time::sleep(150 * MS).await;
        pacer.throttled(Some(500 * MS));
        let mut times: Vec<Duration> = tasks.join_all().await;
        times.sort();
        assert!(times[0] < 150 * MS);
        assert_eq!(times[1], 650 * MS);
        // Then at about the halved rate, 5/s.
        let gap = (times[2] - times[1]).as_secs_f64();
        assert!((0.19..0.21).contains(&gap), "{gap}");
    }

    #[tokio::test(start_paused = true)]
    async fn retry_after_pauses_an_unpaced_account() {
        let pacer = Pacer::new(None);
        pacer.throttled(Some(Duration::from_millis(800)));
        let start = Instant::now();
        pacer.acquire().await;
        assert_eq!(start.elapsed(), Duration::from_millis(800));
        assert_eq!(pacer.current_rate(), None);
    }
}

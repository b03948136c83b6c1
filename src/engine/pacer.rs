//! Per-account request pacing: no one-second window above the rate, measured where it
//! counts, at the server; and when the server throttles, find its real limit and stay just under it.
//!
//! Two mechanisms hold the rate:
//! - a grid: request i is scheduled one interval after request i-1, never earlier, so no burst
//!   follows an idle spell and late wake-ups are caught up without drifting. It runs at [`SAFETY`]
//!   (99%) of the rate: 50 requests at `--rate 50` span 1.01 s, so the time they take to reach the
//!   server may vary by 10 ms before two of them share one of the server's one-second windows.
//!   Even spacing also matters to limits that are not one-second windows: a token bucket with a
//!   burst of 2 (what API gateways use) refuses requests that arrive bunched even when their
//!   average is under the limit. So no two requests leave closer than [`MIN_GAP`] (half) of the
//!   interval: tasks woken late by a stalled machine catch up at twice the rate, not at once;
//! - a gate on the moments requests really leave: request k leaves at least `max(1 s, 1/rate)`
//!   after request `k - n`, `n = max(1, ⌊rate⌋)`, plus the larger of [`GUARD`] and how much longer
//!   than the fastest recent round trip `k - n` took to be answered. A task woken late would
//!   otherwise leave bunched with the one `n` after it; and a request held up on its way (a busy
//!   machine, a stalled network, a server that read it late) may have reached the server that much
//!   later, which its slow reply shows.
//!
//! The margins cost 1% of the rate and buy a limit that holds at the server, not only in our own
//! clock: on a loaded 2-core machine the time from our clock to the server's varies by a few
//! milliseconds typically and by tens of milliseconds at times.
//!
//! Throttling (see [`Cubic`]) follows CUBIC, as TCP congestion control and the AWS SDKs' adaptive
//! retry mode do, rather than halving: a halving leaves the average at three quarters of the
//! limit, and its sawtooth wastes the rest. On a throttling reply:
//! - the limit is estimated as the rate the server accepted over the last second: replies that
//!   were not throttling (the AWS SDKs take the rate sent, which counts the refused requests too:
//!   a one-second window that is full refuses every request until it moves on, and each refusal
//!   would then lower the estimate again);
//! - the rate drops to [`BETA`] (70%) of that estimate and climbs back along a cubic curve that is
//!   steep at first, flat near the estimate (most of the time is spent just under it), and steep
//!   again past it, so a limit that was lifted is left behind in a few cycles. The curve is back
//!   at the estimate after [`CYCLE_REQUESTS`] requests' time (clamped to [`CYCLE`]): long enough
//!   that the few throttled replies of each meeting with the limit are a small share of the
//!   requests, whatever the limit is (the AWS SDKs' fixed scale meets a limit of 5/s every 7
//!   requests). The average over a cycle is about 93% of the limit;
//! - replies to requests that left before the decrease say nothing new: the next decrease waits
//!   until a request sent after it was answered (TCP's one reduction per round trip);
//! - a throttle while the rate is still climbing back (under the last estimate) means the limit
//!   fell or requests arrived bunched; the rate accepted then is our own reduced rate, so the
//!   estimate falls by `(1 − BETA)/2` (15%) at most per throttle (CUBIC's fast convergence);
//! - requests already scheduled are rescheduled at the new rate, and a server-given wait pauses the
//!   whole account.
//!
//! A request's slot ([`Slot`]) records its reply when it is dropped, so no caller can forget it.
//! [`Pacer::acquire`] is cancel-safe: dropping it while it waits gives its grid slot back if no
//! later slot was handed out since, and otherwise leaves an unused interval (a gap, never a
//! burst); a slot is only recorded as sent when `acquire` returns it, and a slot returned as the
//! run stops is taken back by [`Slot::unused`] (its place in the gate's window stays taken: a
//! gap, never a burst).
//!
//! Our own code rather than `governor`: a governor quota is fixed at construction, and an adaptive
//! rate would mean swapping limiters (losing their state) on every change.

use std::collections::VecDeque;
use std::ops::RangeInclusive;
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

/// Share of the rate the slots are scheduled at (module doc).
const SAFETY: f64 = 0.99;
/// What the gate adds to its window at least: half the 10 ms the grid leaves, so a wake-up late by
/// a timer tick (1 ms) holds nothing back, and a request held back is soon back on the grid.
const GUARD: Duration = Duration::from_millis(5);
/// The closest two requests may leave, as a share of the grid's interval.
const MIN_GAP: f64 = 0.5;
/// The lowest rate throttling can push an account down to.
const FLOOR: f64 = 0.2;
/// CUBIC's multiplicative decrease: the rate right after a throttle, as a share of the estimate.
const BETA: f64 = 0.7;
/// How many requests' time the rate takes to climb back to the estimated limit.
const CYCLE_REQUESTS: f64 = 60.0;
/// Bounds of that time in seconds: at least a server's one-second window, at most half a minute
/// (below 2/s a cycle of 60 requests would keep a lifted limit unnoticed for minutes).
const CYCLE: RangeInclusive<f64> = 1.0..=30.0;
/// The time over which the rate the server accepted is measured.
const MEASURED_OVER: Duration = Duration::from_secs(1);

/// The cubic recovery after the last throttle.
#[derive(Clone, Copy, Debug)]
struct Cubic {
    /// When the throttle came.
    at: Instant,
    /// The estimated limit: the rate the server accepted when it throttled.
    limit: f64,
    /// Seconds until the curve is back at `limit`.
    k: f64,
}

impl Cubic {
    fn new(at: Instant, limit: f64) -> Cubic {
        let k = (CYCLE_REQUESTS / limit).clamp(*CYCLE.start(), *CYCLE.end());
        Cubic { at, limit, k }
    }

    /// The rate `elapsed` seconds after the throttle, under the configured `target`:
    /// `limit · (1 − (1 − BETA) · (1 − elapsed/k)³)`, which is `BETA · limit` at 0, `limit` at `k`
    /// with a flat tangent, and grows ever faster past it.
    fn rate(&self, target: f64, elapsed: f64) -> f64 {
        let behind = 1.0 - elapsed / self.k;
        let rate = self.limit * (1.0 - (1.0 - BETA) * behind.powi(3));
        rate.min(target).max(FLOOR.min(target))
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
    /// Bumped when the slots handed out are no longer valid (a decrease or a server's wait).
    generation: u64,
    cubic: Option<Cubic>,
    /// The first request sent after the last decrease; until one such request was answered,
    /// throttling replies are about the rate before it.
    decreased_at_seq: u64,
    answered_since_decrease: bool,
    /// When replies came, and which of them were throttling, over the last [`MEASURED_OVER`].
    answered: VecDeque<Instant>,
    refused: VecDeque<Instant>,
    first_reply: Option<Instant>,
    throttles: u64,
    /// Slots handed out but not used: not requests that left.
    unused: u64,
}

/// A request that left: when, and how long its reply took once it came.
#[derive(Clone, Copy, Debug)]
struct Departure {
    at: Instant,
    round_trip: Option<Duration>,
}

/// A request's pacing slot, from its departure until its reply: it tells the pacer how long the
/// reply took when it ends, by [`Slot::replied`] or by being dropped (a cancelled request ends
/// there too, and its round trip counts until then: the safe side for the gate).
#[must_use = "a slot is the request's permission to leave: hold it until the reply came"]
pub struct Slot<'a> {
    pacer: &'a Pacer,
    seq: u64,
    at: Instant,
}

impl Slot<'_> {
    /// The reply came (or the attempt to get one failed).
    pub fn replied(self) {}

    /// The request was not sent after all (the stop came as its slot was granted): it does not
    /// count as sent and no reply is recorded.
    pub fn unused(self) {
        let mut s = self.pacer.state.lock().expect("pacer lock");
        s.unused += 1;
        // It reached no server: nothing to wait for in the gate.
        let index = (self.seq + s.sent.len() as u64).checked_sub(s.seq);
        if let Some(d) = index.and_then(|i| s.sent.get_mut(i as usize)) {
            d.round_trip = Some(Duration::ZERO);
        }
        drop(s);
        std::mem::forget(self);
    }
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        self.pacer.replied(self.seq, self.at);
    }
}

/// What the gate says to a task whose slot has come.
#[derive(Debug, PartialEq)]
enum Gate {
    /// Leave now, as request `seq`.
    Go { seq: u64, at: Instant },
    /// Too soon after the request `n` back: wait until then.
    WaitUntil(Instant),
    /// The slot was withdrawn by a throttle: take a new one.
    Stale,
}

/// A grid slot reserved by [`Pacer::acquire`] and not used yet: dropped (the future cancelled), it
/// gives the slot back if it is still the last one handed out.
struct Reservation<'a> {
    pacer: &'a Pacer,
    slot: Instant,
    /// `State::next` right after this reservation.
    next: Instant,
    generation: u64,
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        let mut s = self.pacer.state.lock().expect("pacer lock");
        if s.generation == self.generation && s.next == self.next {
            s.next = self.slot;
        }
    }
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
                cubic: None,
                decreased_at_seq: 0,
                answered_since_decrease: true,
                answered: VecDeque::new(),
                refused: VecDeque::new(),
                first_reply: None,
                throttles: 0,
                unused: 0,
            }),
        }
    }

    /// Waits until this request may leave. Call it right before sending; hold the slot until the
    /// reply came. Cancel-safe (module doc).
    pub async fn acquire(&self) -> Slot<'_> {
        loop {
            let now = Instant::now();
            let reservation = self.reserve(now);
            // A timer, even one already due, fires on the next tick of tokio's clock (up to 1 ms):
            // an unpaced account or a free slot must not wait for it.
            if reservation.slot > now {
                tokio::time::sleep_until(reservation.slot).await;
            }
            loop {
                match self.pass(reservation.generation, Instant::now()) {
                    Gate::Go { seq, at } => {
                        // Used: nothing to give back, whatever happens to the slot.
                        std::mem::forget(reservation);
                        return Slot {
                            pacer: self,
                            seq,
                            at,
                        };
                    }
                    Gate::WaitUntil(at) => tokio::time::sleep_until(at).await,
                    Gate::Stale => break,
                }
            }
        }
    }

    /// Reserves the next slot of the grid at or after `now`.
    fn reserve(&self, now: Instant) -> Reservation<'_> {
        let mut s = self.state.lock().expect("pacer lock");
        let slot = s.next.max(now);
        s.next = slot + self.interval(&s, now);
        Reservation {
            pacer: self,
            slot,
            next: s.next,
            generation: s.generation,
        }
    }

    /// The gate, for a task holding a slot of `generation`, at `now`; records the request as sent
    /// when it says go.
    fn pass(&self, generation: u64, now: Instant) -> Gate {
        let mut s = self.state.lock().expect("pacer lock");
        if generation != s.generation {
            return Gate::Stale;
        }
        if let Some(target) = self.target {
            // A backlog (tasks woken late) drains at twice the rate at most, not all at once: a
            // token bucket with a small burst refuses bunched requests.
            if let Some(last) = s.sent.back() {
                let opens = last.at + self.interval(&s, now).mul_f64(MIN_GAP);
                if now < opens {
                    return Gate::WaitUntil(opens);
                }
            }
            let n = target.floor().max(1.0) as usize;
            if s.sent.len() >= n {
                let fastest = s.sent.iter().filter_map(|d| d.round_trip).min();
                let back = s.sent[s.sent.len() - n];
                let window = Duration::from_secs_f64(target.recip().max(1.0));
                let Some((rtt, fastest)) = back.round_trip.zip(fastest) else {
                    // Not answered yet: it may not even have reached the server (a machine or
                    // server so loaded that a round trip takes a second), and how late it came
                    // shows only in its reply. Look again every half interval until then.
                    let poll = now + self.interval(&s, now).mul_f64(MIN_GAP).max(GUARD);
                    return Gate::WaitUntil(poll.max(back.at + window + GUARD));
                };
                let opens = back.at + window + (rtt - fastest).max(GUARD);
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
        let seq = s.seq;
        s.seq += 1;
        Gate::Go { seq, at: now }
    }

    /// The reply to request `seq`, sent `at`, came (or the attempt to get one ended): how long it
    /// took tells the gate how late the request may have reached the server.
    fn replied(&self, seq: u64, at: Instant) {
        let now = Instant::now();
        let mut s = self.state.lock().expect("pacer lock");
        if seq >= s.decreased_at_seq {
            s.answered_since_decrease = true;
        }
        if self.target.is_some() {
            Self::remember(&mut s.answered, now);
            s.first_reply.get_or_insert(now);
        }
        // The window holds requests `seq - len .. seq`; older ones no longer matter.
        let index = (seq + s.sent.len() as u64).checked_sub(s.seq);
        if let Some(d) = index.and_then(|i| s.sent.get_mut(i as usize)) {
            d.round_trip = Some(now.saturating_duration_since(at));
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
        Some(match s.cubic {
            Some(c) => c.rate(target, now.saturating_duration_since(c.at).as_secs_f64()),
            None => target,
        })
    }

    /// The rate the server accepted over the last [`MEASURED_OVER`] before `now` (or since the
    /// first reply, if sooner): replies that were not throttling. `None` if there were none.
    fn accepted(s: &State, now: Instant) -> Option<f64> {
        let count = |times: &VecDeque<Instant>| {
            times
                .iter()
                .filter(|at| now.saturating_duration_since(**at) < MEASURED_OVER)
                .count()
        };
        let accepted = count(&s.answered).saturating_sub(count(&s.refused));
        let span = now
            .saturating_duration_since(s.first_reply?)
            .min(MEASURED_OVER);
        (accepted > 0 && !span.is_zero()).then(|| accepted as f64 / span.as_secs_f64())
    }

    /// Records `now` in `times` and forgets what is older than [`MEASURED_OVER`].
    fn remember(times: &mut VecDeque<Instant>, now: Instant) {
        while times
            .front()
            .is_some_and(|at| now.saturating_duration_since(*at) >= MEASURED_OVER)
        {
            times.pop_front();
        }
        times.push_back(now);
    }

    /// A throttling reply: slow down, and honour the server's wait for every request of the account.
    pub fn throttled(&self, retry_after: Option<Duration>) {
        let now = Instant::now();
        let mut s = self.state.lock().expect("pacer lock");
        s.throttles += 1;
        if self.target.is_some() {
            Self::remember(&mut s.refused, now);
        }
        let decrease = s.answered_since_decrease && self.target.is_some();
        if let (true, Some(target)) = (decrease, self.target) {
            // The limit is what the server accepted: at 40/s against a window of 20/s the throttle
            // comes after 20 requests in 0.5 s, and while the window is full every request is
            // refused but the rate accepted stays 20. Without an acceptance to go by, the last
            // estimate stands, or the rate in force.
            let accepted = Self::accepted(&s, now);
            let limit = match (accepted, s.cubic.map(|c| c.limit)) {
                // Throttled under the last estimate, while still climbing back to it: the limit
                // fell, or requests arrived bunched (a stalled machine). The rate accepted then
                // is our own reduced rate; CUBIC's fast convergence lowers the estimate by
                // `(1 - BETA) / 2` at most per throttle, so noise does not ratchet it down.
                (Some(accepted), Some(last)) => accepted.max(last * (1.0 + BETA) / 2.0),
                (Some(accepted), None) => accepted,
                (None, last) => last.unwrap_or_else(|| self.rate_at(&s, now).expect("paced")),
            }
            .min(target);
            s.cubic = Some(Cubic::new(now, limit));
            s.decreased_at_seq = s.seq;
            s.answered_since_decrease = false;
        }
        if decrease || retry_after.is_some() {
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
        let s = self.state.lock().expect("pacer lock");
        s.seq - s.unused
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
    async fn an_unused_slot_is_not_a_request_sent_nor_a_reply() {
        let p = Pacer::new(Some(10.0));
        p.acquire().await.unused();
        assert_eq!(p.requests(), 0);
        assert!(p.state.lock().unwrap().answered.is_empty());
        p.acquire().await.replied();
        assert_eq!(p.requests(), 1);
        assert_eq!(p.state.lock().unwrap().answered.len(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn spaces_requests_just_under_the_rate() {
        let pacer = Pacer::new(Some(50.0));
        let start = Instant::now();
        let mut times = Vec::new();
        for _ in 0..200 {
            pacer.acquire().await.replied();
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
                    pacer.acquire().await.replied();
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
        pacer.acquire().await.replied();
        tokio::time::sleep(Duration::from_secs(5)).await;
        let start = Instant::now();
        pacer.acquire().await.replied();
        pacer.acquire().await.replied();
        assert!((start.elapsed().as_secs_f64() - 0.1 / SAFETY).abs() <= 1e-3);
    }

    fn go(gate: Gate) {
        assert!(
            matches!(gate, Gate::Go { .. }),
            "expected to go, got {gate:?}"
        );
    }

    #[test]
    fn a_late_request_holds_back_the_one_a_second_after_it() {
        let pacer = Pacer::new(Some(5.0));
        let t0 = Instant::now();
        let slots: Vec<(Instant, u64)> = (0..6)
            .map(|_| {
                let r = pacer.reserve(t0);
                let taken = (r.slot, r.generation);
                std::mem::forget(r);
                taken
            })
            .collect();
        // The first leaves 30 ms after its slot, the others on time; every reply is quick.
        let left = |generation, at| match pacer.pass(generation, at) {
            Gate::Go { seq, at } => pacer.replied(seq, at),
            gate => panic!("expected to go, got {gate:?}"),
        };
        left(slots[0].1, slots[0].0 + 30 * MS);
        for (slot, generation) in &slots[1..5] {
            left(*generation, *slot);
        }
        let (slot, generation) = slots[5];
        let opens = slots[0].0 + 30 * MS + Duration::from_secs(1) + GUARD;
        assert!(slot < opens);
        assert_eq!(pacer.pass(generation, slot), Gate::WaitUntil(opens));
        go(pacer.pass(generation, opens));
    }

    #[tokio::test(start_paused = true)]
    async fn a_request_still_unanswered_holds_back_the_one_a_second_after_it() {
        let pacer = Pacer::new(Some(5.0));
        let start = Instant::now();
        // The first reply takes 2 s, the others none: the first may have reached the server just
        // before its reply, so the sixth waits for that reply, then one second more and the 2 s.
        let first = pacer.acquire().await;
        for _ in 1..5 {
            pacer.acquire().await.replied();
        }
        let answer_first = async {
            tokio::time::sleep_until(start + Duration::from_secs(2)).await;
            first.replied();
        };
        let sixth = async {
            pacer.acquire().await.replied();
            start.elapsed().as_secs_f64()
        };
        let ((), waited) = tokio::join!(answer_first, sixth);
        assert!((waited - 3.0).abs() <= 1e-3, "{waited}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_slow_reply_holds_back_the_one_a_second_after_it() {
        let pacer = Pacer::new(Some(5.0));
        let start = Instant::now();
        // The first reply takes 40 ms, the others 2 ms: the first may have reached the server
        // 38 ms late, so the sixth, due 1.01 s after it, waits until 1.038 s.
        let first = pacer.acquire().await;
        tokio::time::sleep(40 * MS).await;
        first.replied();
        for _ in 1..5 {
            let slot = pacer.acquire().await;
            tokio::time::sleep(2 * MS).await;
            slot.replied();
        }
        pacer.acquire().await.replied();
        let waited = start.elapsed().as_secs_f64();
        assert!((waited - 1.038).abs() <= 1e-3, "{waited}");
    }

    #[test]
    fn after_a_throttle_the_rate_follows_a_cubic_back_to_the_limit() {
        let c = Cubic::new(Instant::now(), 20.0);
        // 60 requests' time at 20/s.
        assert_eq!(c.k, 3.0);
        let at = |s: f64| c.rate(40.0, s);
        assert!((at(0.0) - 14.0).abs() < 1e-9);
        // Steep first, flat near the limit: 90% of the way back in half the time.
        assert!((at(1.5) - 19.25).abs() < 1e-9);
        assert!((at(3.0) - 20.0).abs() < 1e-9);
        assert!((at(4.5) - 20.75).abs() < 1e-9);
        // Then ever faster: a lifted limit is left behind.
        assert!((at(6.0) - 26.0).abs() < 1e-9);
        assert_eq!(at(7.5), 40.0);
        // The time back scales with the limit, within bounds.
        assert_eq!(Cubic::new(c.at, 5.0).k, 12.0);
        assert_eq!(Cubic::new(c.at, 200.0).k, 1.0);
        assert_eq!(Cubic::new(c.at, 0.5).k, 30.0);
        // Never below the floor, never above the configured rate.
        let tiny = Cubic::new(c.at, 0.25);
        assert_eq!(tiny.rate(40.0, 0.0), FLOOR);
        assert_eq!(tiny.rate(0.1, 0.0), 0.1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_dropped_slot_records_its_reply() {
        let pacer = Pacer::new(Some(5.0));
        {
            let _slot = pacer.acquire().await;
            tokio::time::sleep(40 * MS).await;
        }
        let s = pacer.state.lock().unwrap();
        assert_eq!(s.sent[0].round_trip, Some(40 * MS));
        assert!(s.answered_since_decrease);
    }

    #[tokio::test(start_paused = true)]
    async fn a_cancelled_acquire_gives_its_slot_back() {
        let pacer = Pacer::new(Some(10.0));
        let start = Instant::now();
        pacer.acquire().await.replied();
        // The next slot is 101 ms on; its caller gives up at 50 ms, and the next caller gets it.
        let gave_up = tokio::time::timeout(50 * MS, pacer.acquire()).await;
        assert!(gave_up.is_err());
        pacer.acquire().await.replied();
        let waited = start.elapsed().as_secs_f64();
        assert!((waited - 0.1 / SAFETY).abs() <= 1e-3, "{waited}");
    }

    /// One request at `pacer`'s pace, answered at once; `throttled` if the server refused it.
    async fn request(pacer: &Pacer, throttled: bool) {
        pacer.acquire().await.replied();
        if throttled {
            pacer.throttled(None);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn one_decrease_per_round_trip() {
        let pacer = Pacer::new(Some(40.0));
        for _ in 0..20 {
            request(&pacer, false).await;
        }
        // 20 accepted in half a second: the limit is taken to be 40/s, and the rate drops to 28.
        request(&pacer, true).await;
        let rate = pacer.current_rate().unwrap();
        assert!((rate - 28.0).abs() < 0.5, "{rate}");
        // Replies to requests that left before the decrease: no second one.
        pacer.throttled(None);
        assert_eq!(pacer.current_rate(), Some(rate));
        assert_eq!(pacer.throttles(), 2);
        // A request sent after it, throttled: that is news.
        request(&pacer, true).await;
        assert!(pacer.current_rate().unwrap() < rate - 1.0);
        tokio::time::sleep(Duration::from_secs(60)).await;
        assert_eq!(pacer.current_rate(), Some(40.0));
    }

    #[tokio::test(start_paused = true)]
    async fn the_limit_is_what_the_server_accepted() {
        // Workers that only manage 10/s: throttled at 10/s, not at the 40/s they may use.
        let pacer = Pacer::new(Some(40.0));
        for _ in 0..12 {
            request(&pacer, false).await;
            tokio::time::sleep(100 * MS).await;
        }
        // In the last second: 9 accepted, and this one refused.
        request(&pacer, true).await;
        let rate = pacer.current_rate().unwrap();
        assert!((rate - 9.0 * BETA).abs() < 0.1, "{rate}");
        // A window server refuses everything until its window moves on. Each refusal of a request
        // sent after the decrease decreases again, but the estimate by 15% at most each time
        // (9 → 7.65 → 6.5 at the lowest): 70% of 70% of 9 would be 3.1.
        request(&pacer, true).await;
        request(&pacer, true).await;
        let again = pacer.current_rate().unwrap();
        assert!(again >= 9.0 * 0.85 * 0.85 * BETA - 1e-9, "{again}");
        assert!(again < 9.0 * BETA, "{again}");
    }

    /// A server's per-account limit, as the emulator enforces it.
    enum Server {
        /// At most `limit` admitted in any one second.
        Window {
            limit: usize,
            admitted: VecDeque<Instant>,
        },
        /// `burst` tokens refilled at `rate` per second.
        Bucket {
            rate: f64,
            burst: f64,
            tokens: f64,
            at: Instant,
        },
    }

    impl Server {
        fn window(limit: usize) -> Server {
            Server::Window {
                limit,
                admitted: VecDeque::new(),
            }
        }

        fn bucket(rate: f64, burst: f64) -> Server {
            Server::Bucket {
                rate,
                burst,
                tokens: burst,
                at: Instant::now(),
            }
        }

        fn admits(&mut self, now: Instant) -> bool {
            match self {
                Server::Window { limit, admitted } => {
                    while admitted
                        .front()
                        .is_some_and(|t| now - *t >= Duration::from_secs(1))
                    {
                        admitted.pop_front();
                    }
                    let ok = admitted.len() < *limit;
                    if ok {
                        admitted.push_back(now);
                    }
                    ok
                }
                Server::Bucket {
                    rate,
                    burst,
                    tokens,
                    at,
                } => {
                    *tokens = (*tokens + (now - *at).as_secs_f64() * *rate).min(*burst);
                    *at = now;
                    let ok = *tokens >= 1.0;
                    if ok {
                        *tokens -= 1.0;
                    }
                    ok
                }
            }
        }
    }

    /// 8 workers at `rate` against `server` for `seconds`, each request reaching the server 0 to
    /// 5 ms after it left, or with probability `held_up` 100 to 200 ms (a loaded machine, a
    /// stalled network: it arrives bunched with later ones), seeded; answered 2 ms later; a
    /// throttled request waits 100 ms. Returns when each admitted request arrived (seconds from
    /// the start) and how many were throttled.
    async fn simulate(rate: f64, server: Server, seconds: f64, held_up: f64) -> (Vec<f64>, usize) {
        use rand::{Rng, SeedableRng};
        let pacer = Arc::new(Pacer::new(Some(rate)));
        let server = Arc::new(Mutex::new(server));
        let start = Instant::now();
        let end = start + Duration::from_secs_f64(seconds);
        let mut workers = tokio::task::JoinSet::new();
        for worker in 0..8 {
            let (pacer, server) = (pacer.clone(), server.clone());
            workers.spawn(async move {
                let mut rng = rand::rngs::StdRng::seed_from_u64(worker);
                let (mut admitted, mut throttled) = (Vec::new(), 0);
                while Instant::now() < end {
                    let slot = pacer.acquire().await;
                    let delay = if rng.random_bool(held_up) {
                        100_000..=200_000
                    } else {
                        0..=5000
                    };
                    tokio::time::sleep(Duration::from_micros(rng.random_range(delay))).await;
                    let arrived = Instant::now();
                    let ok = server.lock().unwrap().admits(arrived);
                    tokio::time::sleep(2 * MS).await;
                    slot.replied();
                    if ok {
                        admitted.push((arrived - start).as_secs_f64());
                    } else {
                        throttled += 1;
                        pacer.throttled(None);
                        tokio::time::sleep(100 * MS).await;
                    }
                }
                (admitted, throttled)
            });
        }
        let mut all = Vec::new();
        let mut throttled = 0;
        for (admitted, t) in workers.join_all().await {
            all.extend(admitted);
            throttled += t;
        }
        all.sort_by(f64::total_cmp);
        (all, throttled)
    }

    /// Admitted requests per second from `from` to the end, as a share of `limit`; the throttled
    /// share of all requests.
    fn settled(admitted: &[f64], throttled: usize, from: f64, to: f64, limit: f64) -> (f64, f64) {
        let count = admitted.iter().filter(|t| (from..to).contains(*t)).count();
        let share = throttled as f64 / (admitted.len() + throttled) as f64;
        (count as f64 / (to - from) / limit, share)
    }

    #[tokio::test(start_paused = true)]
    async fn under_an_unknown_window_limit_settles_close_under_it() {
        let (admitted, throttled) = simulate(40.0, Server::window(20), 60.0, 0.02).await;
        let (ratio, share) = settled(&admitted, throttled, 10.0, 60.0, 20.0);
        assert!(ratio >= 0.85, "settled at {ratio:.3} of the limit");
        assert!(ratio <= 1.0, "{ratio:.3}");
        assert!(share <= 0.05, "{throttled} throttled: {share:.3}");
    }

    #[tokio::test(start_paused = true)]
    async fn under_an_unknown_token_bucket_settles_close_under_it() {
        let (admitted, throttled) = simulate(40.0, Server::bucket(20.0, 2.0), 60.0, 0.02).await;
        let (ratio, share) = settled(&admitted, throttled, 10.0, 60.0, 20.0);
        assert!(ratio >= 0.85, "settled at {ratio:.3} of the limit");
        assert!(share <= 0.05, "{throttled} throttled: {share:.3}");
        // A low limit meets the limit less often per request, not more.
        let (admitted, throttled) = simulate(20.0, Server::bucket(5.0, 2.0), 120.0, 0.02).await;
        let (ratio, share) = settled(&admitted, throttled, 20.0, 120.0, 5.0);
        assert!(ratio >= 0.85, "settled at {ratio:.3} of a limit of 5/s");
        assert!(share <= 0.05, "{throttled} throttled: {share:.3}");
    }

    #[tokio::test(start_paused = true)]
    async fn at_or_below_the_limit_the_rate_is_kept() {
        // Exactly at a bucket's limit, a request held up 100 ms arrives with the next two: only
        // the usual few milliseconds here.
        for server in [Server::window(20), Server::bucket(20.0, 2.0)] {
            let (admitted, throttled) = simulate(20.0, server, 30.0, 0.0).await;
            assert_eq!(throttled, 0);
            let ratio = (admitted.len() - 1) as f64 / (admitted[admitted.len() - 1] - admitted[0]);
            assert!((ratio / 20.0 - 1.0).abs() <= 0.02, "{ratio:.2}/s");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_throttle_reschedules_requests_already_waiting() {
        let pacer = Arc::new(Pacer::new(Some(10.0)));
        for _ in 0..10 {
            pacer.acquire().await.replied();
        }
        let start = Instant::now();
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..3 {
            let pacer = pacer.clone();
            tasks.spawn(async move {
                pacer.acquire().await.replied();
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
        // Then at about 70% of the rate accepted, 7/s.
        let gap = (times[2] - times[1]).as_secs_f64();
        assert!((0.14..0.17).contains(&gap), "{gap}");
    }

    #[tokio::test(start_paused = true)]
    async fn retry_after_pauses_an_unpaced_account() {
        let pacer = Pacer::new(None);
        pacer.throttled(Some(Duration::from_millis(800)));
        let start = Instant::now();
        pacer.acquire().await.replied();
        assert_eq!(start.elapsed(), Duration::from_millis(800));
        assert_eq!(pacer.current_rate(), None);
    }
}

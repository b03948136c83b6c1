//! The run-time knobs (rate and its shape, faults, drops, latency) and what decides by them: the
//! per-account rate limiter and the seeded dice.

use crate::jobs::ProviderKind;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A token bucket's capacity unless set: two requests at once, as API gateways commonly allow.
pub const DEFAULT_BURST: f64 = 2.0;

/// The knobs' current values. The default is an emulator that answers everything at once: no rate
/// limit, no faults, no drops, no latency.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Knobs {
    /// Requests per second per account; `None` = unlimited.
    pub rate: Option<f64>,
    /// How the rate is enforced (see [`Limiter`]).
    pub rate_shape: RateShape,
    /// The token bucket's capacity, for [`RateShape::Bucket`]: how many requests may arrive at once.
    pub burst: f64,
    /// Probability of a 5xx before anything is applied.
    pub fault_rate: f64,
    /// Probability, for a write, of applying it and then closing the connection without a reply.
    pub drop_rate: f64,
    /// Added before every API request is handled.
    pub latency: Duration,
}

impl Default for Knobs {
    fn default() -> Self {
        Knobs {
            rate: None,
            rate_shape: RateShape::Window,
            burst: DEFAULT_BURST,
            fault_rate: 0.0,
            drop_rate: 0.0,
            latency: Duration::ZERO,
        }
    }
}

impl Knobs {
    /// `{"rate":..,"rate_shape":..,"burst":..,"fault_rate":..,"drop_rate":..,"latency_ms":..}`, as
    /// `POST /_emulator/knobs` takes it.
    pub fn to_json(&self) -> Value {
        json!({
            "rate": self.rate,
            "rate_shape": self.rate_shape.name(),
            "burst": self.burst,
            "fault_rate": self.fault_rate,
            "drop_rate": self.drop_rate,
            "latency_ms": self.latency.as_secs_f64() * 1000.0,
        })
    }

    fn check(&self) -> Result<(), String> {
        if let Some(rate) = self.rate {
            if !(rate.is_finite() && rate > 0.0) {
                return Err(format!(
                    "rate must be a positive number of requests per second (or null for none), not {rate}"
                ));
            }
        }
        if !(self.burst.is_finite() && self.burst >= 1.0) {
            return Err(format!(
                "burst is the number of requests a token bucket admits at once, at least 1, not {}",
                self.burst
            ));
        }
        for (name, p) in [
            ("fault_rate", self.fault_rate),
            ("drop_rate", self.drop_rate),
        ] {
            if !(0.0..=1.0).contains(&p) {
                return Err(format!("{name} is a probability between 0 and 1, not {p}"));
            }
        }
        Ok(())
    }
}

/// How a per-account rate is enforced.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RateShape {
    /// At most `max(1, ⌊rate⌋)` requests in any `max(1 s, 1/rate)`.
    #[default]
    Window,
    /// A token bucket of `burst` tokens refilled at `rate` per second, as API gateways limit.
    Bucket,
}

impl RateShape {
    pub fn name(self) -> &'static str {
        match self {
            RateShape::Window => "window",
            RateShape::Bucket => "bucket",
        }
    }
}

impl std::str::FromStr for RateShape {
    type Err = String;

    fn from_str(s: &str) -> Result<RateShape, String> {
        match s {
            "window" => Ok(RateShape::Window),
            "bucket" => Ok(RateShape::Bucket),
            other => Err(format!(
                "unknown rate shape '{other}': use window or bucket"
            )),
        }
    }
}

/// A change to some knobs; `None` leaves one as it is.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct KnobChange {
    /// `Some(None)` lifts the rate limit.
    pub rate: Option<Option<f64>>,
    pub rate_shape: Option<RateShape>,
    pub burst: Option<f64>,
    pub fault_rate: Option<f64>,
    pub drop_rate: Option<f64>,
    pub latency: Option<Duration>,
}

impl KnobChange {
    /// Reads `{"rate":..,"rate_shape":..,"burst":..,"fault_rate":..,"drop_rate":..,"latency_ms":..}`
    /// (any subset; `"rate":null` = unlimited, `"rate_shape"` is `"window"` or `"bucket"`).
    pub fn from_json(value: &Value) -> Result<KnobChange, String> {
        let object = value
            .as_object()
            .ok_or("knobs must be a JSON object such as {\"rate\": 5}")?;
        let number = |key: &str, v: &Value| {
            v.as_f64()
                .ok_or_else(|| format!("knob '{key}' must be a number, not {v}"))
        };
        let mut change = KnobChange::default();
        for (key, v) in object {
            match key.as_str() {
                "rate" if v.is_null() => change.rate = Some(None),
                "rate" => change.rate = Some(Some(number(key, v)?)),
                "rate_shape" => {
                    let name = v.as_str().ok_or_else(|| {
                        format!("rate_shape must be \"window\" or \"bucket\", not {v}")
                    })?;
                    change.rate_shape = Some(name.parse()?);
                }
                "burst" => change.burst = Some(number(key, v)?),
                "fault_rate" => change.fault_rate = Some(number(key, v)?),
                "drop_rate" => change.drop_rate = Some(number(key, v)?),
                "latency_ms" => {
                    let ms = number(key, v)?;
                    let latency = Duration::try_from_secs_f64(ms / 1000.0).map_err(|_| {
                        format!("latency_ms must be a non-negative number, not {ms}")
                    })?;
                    change.latency = Some(latency);
                }
                other => {
                    return Err(format!(
                        "unknown knob '{other}': use rate, rate_shape, burst, fault_rate, drop_rate or latency_ms"
                    ));
                }
            }
        }
        Ok(change)
    }

    /// The knobs after this change, if they make sense.
    pub fn applied_to(&self, knobs: Knobs) -> Result<Knobs, String> {
        let changed = Knobs {
            rate: self.rate.unwrap_or(knobs.rate),
            rate_shape: self.rate_shape.unwrap_or(knobs.rate_shape),
            burst: self.burst.unwrap_or(knobs.burst),
            fault_rate: self.fault_rate.unwrap_or(knobs.fault_rate),
            drop_rate: self.drop_rate.unwrap_or(knobs.drop_rate),
            latency: self.latency.unwrap_or(knobs.latency),
        };
        changed.check()?;
        Ok(changed)
    }
}

/// Per-account rate limit, in the shape the knobs say. A refused request does not count.
/// - [`RateShape::Window`]: a request is admitted when fewer than `max(1, ⌊rate⌋)` requests of the
///   same account were admitted in the last `max(1 s, 1/rate)`: so no one-second window ever holds
///   more than `rate` admitted requests, and a rate below 1 means one request per `1/rate` seconds.
/// - [`RateShape::Bucket`]: a bucket of `burst` tokens, full at first, refilled at `rate` tokens per
///   second; a request takes one. Requests closer together than `1/rate` drain it, so even below
///   the rate on average, bunched requests are refused.
#[derive(Default)]
pub struct Limiter {
    accounts: Mutex<HashMap<(ProviderKind, String), Account>>,
}

/// One account's limiter state.
enum Account {
    /// Admission times within the window, oldest first.
    Window(VecDeque<Instant>),
    /// Tokens left at `at`.
    Bucket { tokens: f64, at: Instant },
}

impl Limiter {
    /// Admits a request of `account` at `now` under `knobs`, or says how long until one would be
    /// admitted.
    pub fn take(
        &self,
        kind: ProviderKind,
        account: &str,
        knobs: &Knobs,
        now: Instant,
    ) -> Result<(), Duration> {
        let Some(rate) = knobs.rate else {
            return Ok(());
        };
        let mut accounts = self.accounts.lock().expect("limiter lock");
        let state = accounts
            .entry((kind, account.to_string()))
            .or_insert_with(|| Account::new(knobs, now));
        // A shape changed at run time starts afresh.
        if matches!(
            (&*state, knobs.rate_shape),
            (Account::Window(_), RateShape::Bucket) | (Account::Bucket { .. }, RateShape::Window)
        ) {
            *state = Account::new(knobs, now);
        }
        match state {
            Account::Window(admitted) => {
                let capacity = rate.floor().max(1.0) as usize;
                let window = Duration::from_secs_f64(rate.recip().max(1.0));
                while admitted
                    .front()
                    .is_some_and(|t| now.duration_since(*t) >= window)
                {
                    admitted.pop_front();
                }
                if admitted.len() >= capacity {
                    // The oldest of the last `capacity` admissions leaves the window first.
                    let oldest = admitted[admitted.len() - capacity];
                    return Err(window - now.duration_since(oldest));
                }
                admitted.push_back(now);
            }
            Account::Bucket { tokens, at } => {
                let refilled = now.saturating_duration_since(*at).as_secs_f64() * rate;
                *tokens = (*tokens + refilled).min(knobs.burst);
                *at = now.max(*at);
                if *tokens < 1.0 {
                    return Err(Duration::from_secs_f64((1.0 - *tokens) / rate));
                }
                *tokens -= 1.0;
            }
        }
        Ok(())
    }
}

impl Account {
    fn new(knobs: &Knobs, now: Instant) -> Account {
        match knobs.rate_shape {
            RateShape::Window => Account::Window(VecDeque::new()),
            RateShape::Bucket => Account::Bucket {
                tokens: knobs.burst,
                at: now,
            },
        }
    }
}

/// Seeded randomness for faults and drops, so a run with the same seed and the same request order
/// makes the same decisions.
pub struct Dice(Mutex<StdRng>);

/// One admitted request's two rolls, each uniform in [0, 1).
pub struct Roll {
    pub fault: f64,
    pub drop: f64,
}

impl Dice {
    pub fn new(seed: u64) -> Dice {
        Dice(Mutex::new(StdRng::seed_from_u64(seed)))
    }

    /// Both rolls are always drawn, so the sequence does not depend on the knobs' values.
    pub fn roll(&self) -> Roll {
        let mut rng = self.0.lock().expect("dice lock");
        Roll {
            fault: rng.random(),
            drop: rng.random(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    fn knobs(rate: f64, rate_shape: RateShape, burst: f64) -> Knobs {
        Knobs {
            rate: Some(rate),
            rate_shape,
            burst,
            ..Knobs::default()
        }
    }

    #[test]
    fn no_one_second_window_holds_more_than_the_rate() {
        let limiter = Limiter::default();
        let knobs = knobs(3.0, RateShape::Window, 2.0);
        let t0 = Instant::now();
        let take = |at: Duration| limiter.take(ProviderKind::Aliyun, "k", &knobs, t0 + at);
        assert_eq!(take(Duration::ZERO), Ok(()));
        assert_eq!(take(100 * MS), Ok(()));
        assert_eq!(take(200 * MS), Ok(()));
        assert_eq!(take(300 * MS), Err(700 * MS));
        assert_eq!(take(999 * MS), Err(MS));
        assert_eq!(take(1000 * MS), Ok(()));
        assert_eq!(take(1050 * MS), Err(50 * MS));
        // Another account has its own window.
        assert_eq!(
            limiter.take(ProviderKind::Aliyun, "other", &knobs, t0),
            Ok(())
        );
    }

    #[test]
    fn a_rate_below_one_spaces_requests_out() {
        let limiter = Limiter::default();
        let knobs = knobs(0.5, RateShape::Window, 2.0);
        let t0 = Instant::now();
        let take = |at: Duration| limiter.take(ProviderKind::Ucloud, "k", &knobs, t0 + at);
        assert_eq!(take(Duration::ZERO), Ok(()));
        assert_eq!(take(1500 * MS), Err(500 * MS));
        assert_eq!(take(2000 * MS), Ok(()));
    }

    #[test]
    fn a_token_bucket_admits_a_burst_then_the_rate() {
        let limiter = Limiter::default();
        let knobs = knobs(20.0, RateShape::Bucket, 2.0);
        let t0 = Instant::now();
        let take = |at: Duration| limiter.take(ProviderKind::Aliyun, "k", &knobs, t0 + at);
        // Full at first: two at once, the third waits for a token (1/20 s).
        assert_eq!(take(Duration::ZERO), Ok(()));
        assert_eq!(take(Duration::ZERO), Ok(()));
        assert_eq!(take(Duration::ZERO), Err(50 * MS));
        assert_eq!(take(50 * MS), Ok(()));
        // Evenly spaced at the rate, every request finds its token.
        for i in 2..40 {
            assert_eq!(take(i * 50 * MS), Ok(()), "request at {} ms", i * 50);
        }
        // Below the rate on average (10 in 0.6 s) but bunched: the bucket runs dry.
        let bunched: Vec<bool> = (0..10)
            .map(|i| take(Duration::from_secs(3) + i * 10 * MS).is_ok())
            .collect();
        assert_eq!(bunched.iter().filter(|ok| **ok).count(), 3, "{bunched:?}");
        // The bucket never holds more than `burst`, however long the account was idle.
        assert_eq!(take(Duration::from_secs(60)), Ok(()));
        assert_eq!(take(Duration::from_secs(60)), Ok(()));
        assert_eq!(take(Duration::from_secs(60)), Err(50 * MS));
    }

    #[test]
    fn changing_the_shape_starts_afresh() {
        let limiter = Limiter::default();
        let t0 = Instant::now();
        let window = knobs(1.0, RateShape::Window, 2.0);
        let bucket = knobs(1.0, RateShape::Bucket, 2.0);
        assert_eq!(limiter.take(ProviderKind::Huawei, "k", &window, t0), Ok(()));
        assert!(
            limiter
                .take(ProviderKind::Huawei, "k", &window, t0)
                .is_err()
        );
        assert_eq!(limiter.take(ProviderKind::Huawei, "k", &bucket, t0), Ok(()));
        assert_eq!(limiter.take(ProviderKind::Huawei, "k", &bucket, t0), Ok(()));
        assert!(
            limiter
                .take(ProviderKind::Huawei, "k", &bucket, t0)
                .is_err()
        );
    }

    #[test]
    fn knob_changes_merge_and_are_checked() {
        let knobs = knobs(5.0, RateShape::Window, 2.0);
        let change = KnobChange::from_json(&json!({"rate": null, "latency_ms": 20})).unwrap();
        let changed = change.applied_to(knobs).unwrap();
        assert_eq!(changed.rate, None);
        assert_eq!(changed.latency, 20 * MS);
        assert_eq!(changed.fault_rate, 0.0);

        let too_likely = KnobChange::from_json(&json!({"drop_rate": 1.5})).unwrap();
        assert!(
            too_likely
                .applied_to(knobs)
                .unwrap_err()
                .contains("drop_rate")
        );
        assert!(
            KnobChange::from_json(&json!({"rte": 1}))
                .unwrap_err()
                .contains("unknown knob 'rte'")
        );
        assert!(KnobChange::from_json(&json!({"latency_ms": -1})).is_err());

        let bucket = KnobChange::from_json(&json!({"rate_shape": "bucket", "burst": 3}))
            .unwrap()
            .applied_to(knobs)
            .unwrap();
        assert_eq!((bucket.rate_shape, bucket.burst), (RateShape::Bucket, 3.0));
        assert_eq!(bucket.to_json()["rate_shape"], "bucket");
        assert!(
            KnobChange::from_json(&json!({"rate_shape": "leaky"}))
                .unwrap_err()
                .contains("window or bucket")
        );
        let empty = KnobChange::from_json(&json!({"burst": 0.5})).unwrap();
        assert!(empty.applied_to(knobs).unwrap_err().contains("burst"));
    }

    #[test]
    fn the_same_seed_rolls_the_same() {
        let (a, b) = (Dice::new(7), Dice::new(7));
        for _ in 0..10 {
            let (x, y) = (a.roll(), b.roll());
            assert_eq!((x.fault, x.drop), (y.fault, y.drop));
        }
    }
}

//! The run-time knobs (rate, faults, drops, latency) and what decides by them: the per-account
//! rate window and the seeded dice.

use crate::jobs::ProviderKind;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The knobs' current values.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Knobs {
    /// Requests per second per account; `None` = unlimited.
    pub rate: Option<f64>,
    /// Probability of a 5xx before anything is applied.
    pub fault_rate: f64,
    /// Probability, for a write, of applying it and then closing the connection without a reply.
    pub drop_rate: f64,
    /// Added before every API request is handled.
    pub latency: Duration,
}

impl Knobs {
    /// `{"rate":..,"fault_rate":..,"drop_rate":..,"latency_ms":..}`, as `POST /_emulator/knobs` takes it.
    pub fn to_json(&self) -> Value {
        json!({
            "rate": self.rate,
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

/// A change to some knobs; `None` leaves one as it is.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct KnobChange {
    /// `Some(None)` lifts the rate limit.
    pub rate: Option<Option<f64>>,
    pub fault_rate: Option<f64>,
    pub drop_rate: Option<f64>,
    pub latency: Option<Duration>,
}

impl KnobChange {
    /// Reads `{"rate":..,"fault_rate":..,"drop_rate":..,"latency_ms":..}` (any subset; `"rate":null`
    /// = unlimited).
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
                        "unknown knob '{other}': use rate, fault_rate, drop_rate or latency_ms"
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
            fault_rate: self.fault_rate.unwrap_or(knobs.fault_rate),
            drop_rate: self.drop_rate.unwrap_or(knobs.drop_rate),
            latency: self.latency.unwrap_or(knobs.latency),
        };
        changed.check()?;
        Ok(changed)
    }
}

/// Per-account sliding window. A request is admitted when fewer than `max(1, floor(rate))` requests
/// of the same account were admitted in the last `max(1 s, 1/rate)`: so no one-second window ever
/// holds more than `rate` admitted requests, and a rate below 1 means one request per `1/rate`
/// seconds. Refused requests do not count.
#[derive(Default)]
pub struct Limiter {
    windows: Mutex<HashMap<(ProviderKind, String), VecDeque<Instant>>>,
}

impl Limiter {
    /// Admits a request of `account` at `now`, or says how long until one would be admitted.
    pub fn take(
        &self,
        kind: ProviderKind,
        account: &str,
        rate: f64,
        now: Instant,
    ) -> Result<(), Duration> {
        let capacity = rate.floor().max(1.0) as usize;
        let window = Duration::from_secs_f64(rate.recip().max(1.0));
        let mut windows = self.windows.lock().expect("limiter lock");
        let admitted = windows.entry((kind, account.to_string())).or_default();
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
        Ok(())
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

    #[test]
    fn no_one_second_window_holds_more_than_the_rate() {
        let limiter = Limiter::default();
        let t0 = Instant::now();
        let take = |at: Duration| limiter.take(ProviderKind::Aliyun, "k", 3.0, t0 + at);
        assert_eq!(take(Duration::ZERO), Ok(()));
        assert_eq!(take(100 * MS), Ok(()));
        assert_eq!(take(200 * MS), Ok(()));
        assert_eq!(take(300 * MS), Err(700 * MS));
        assert_eq!(take(999 * MS), Err(MS));
        assert_eq!(take(1000 * MS), Ok(()));
        assert_eq!(take(1050 * MS), Err(50 * MS));
        // Another account has its own window.
        assert_eq!(limiter.take(ProviderKind::Aliyun, "other", 3.0, t0), Ok(()));
    }

    #[test]
    fn a_rate_below_one_spaces_requests_out() {
        let limiter = Limiter::default();
        let t0 = Instant::now();
        let take = |at: Duration| limiter.take(ProviderKind::Ucloud, "k", 0.5, t0 + at);
        assert_eq!(take(Duration::ZERO), Ok(()));
        assert_eq!(take(1500 * MS), Err(500 * MS));
        assert_eq!(take(2000 * MS), Ok(()));
    }

    #[test]
    fn knob_changes_merge_and_are_checked() {
        let knobs = Knobs {
            rate: Some(5.0),
            fault_rate: 0.0,
            drop_rate: 0.0,
            latency: Duration::ZERO,
        };
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

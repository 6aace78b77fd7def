//! `rate_limit`: one token bucket for every request, as in the exporter-toolkit.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A token bucket: `burst` requests at once, refilled one per `interval`.
#[derive(Debug)]
pub struct RateLimiter {
    interval: Duration,
    burst: f64,
    state: Mutex<(f64, Instant)>,
}

impl RateLimiter {
    /// A full bucket. With `burst` 0 no request is ever allowed, as with the
    /// exporter-toolkit's limiter (`rate.NewLimiter(rate.Every(interval), 0)`).
    pub fn new(interval: Duration, burst: u32) -> Self {
        let burst = f64::from(burst);
        RateLimiter {
            interval,
            burst,
            state: Mutex::new((burst, Instant::now())),
        }
    }

    /// Takes a token if one is left.
    pub fn allow(&self) -> bool {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        let refill = now.duration_since(state.1).as_secs_f64() / self.interval.as_secs_f64();
        state.0 = (state.0 + refill).min(self.burst);
        state.1 = now;
        if state.0 >= 1.0 {
            state.0 -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limiter_allows_a_burst_then_refuses() {
        let limiter = RateLimiter::new(Duration::from_secs(3600), 3);
        assert_eq!((0..5).filter(|_| limiter.allow()).count(), 3);
    }

    #[test]
    fn burst_zero_refuses_everything() {
        let limiter = RateLimiter::new(Duration::from_nanos(1), 0);
        std::thread::sleep(Duration::from_millis(2));
        assert_eq!((0..5).filter(|_| limiter.allow()).count(), 0);
    }
}

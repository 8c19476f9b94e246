//! Client-side rate limiting: a token bucket of `qps` tokens per second
//! holding at most `burst` (client-go's `flowcontrol.NewTokenBucketRateLimiter`,
//! behind `--kube-api-qps` / `--kube-api-burst`).
//!
//! A caller takes a token, going into debt when none is left, and sleeps
//! until its token would have been refilled; callers are served in the
//! order they asked.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

#[derive(Debug)]
pub struct RateLimiter {
    qps: f64,
    burst: f64,
    state: Mutex<Bucket>,
}

#[derive(Debug)]
struct Bucket {
    /// May go negative: tokens promised to waiting callers.
    tokens: f64,
    last: Instant,
}

impl RateLimiter {
    /// `qps <= 0` disables limiting.
    pub fn new(qps: f32, burst: u32) -> RateLimiter {
        let burst = f64::from(burst.max(1));
        RateLimiter {
            qps: f64::from(qps),
            burst,
            state: Mutex::new(Bucket {
                tokens: burst,
                last: Instant::now(),
            }),
        }
    }

    /// How long the caller must wait for its token (which it now holds).
    fn reserve(&self) -> Duration {
        if self.qps <= 0.0 {
            return Duration::ZERO;
        }
        let mut b = match self.state.lock() {
            Ok(b) => b,
            Err(poisoned) => poisoned.into_inner(),
        };
        let now = Instant::now();
        let refill = now.duration_since(b.last).as_secs_f64() * self.qps;
        b.tokens = (b.tokens + refill).min(self.burst);
        b.last = now;
        b.tokens -= 1.0;
        if b.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-b.tokens / self.qps)
        }
    }

    /// Waits for a token.
    pub async fn acquire(&self) {
        let wait = self.reserve();
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn burst_then_qps() {
        let rl = RateLimiter::new(10.0, 5);
        let start = Instant::now();
        for _ in 0..5 {
            rl.acquire().await;
        }
        assert_eq!(start.elapsed(), Duration::ZERO, "the burst is free");
        for _ in 0..10 {
            rl.acquire().await;
        }
        // ten more at 10/s: one second, within rounding
        let took = start.elapsed().as_secs_f64();
        assert!((0.99..1.01).contains(&took), "took {took}");
    }

    #[tokio::test(start_paused = true)]
    async fn unlimited_when_qps_is_zero() {
        let rl = RateLimiter::new(0.0, 1);
        let start = Instant::now();
        for _ in 0..1000 {
            rl.acquire().await;
        }
        assert_eq!(start.elapsed(), Duration::ZERO);
    }
}

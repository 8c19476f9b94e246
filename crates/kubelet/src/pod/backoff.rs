//! Restart back-off, per container (upstream `flowcontrol.Backoff` as the
//! kubelet configures it): the first restart after a crash is immediate,
//! then each further restart waits 10 s, 20 s, 40 s … up to 5 minutes
//! (the container shows `CrashLoopBackOff` while it waits). A container
//! that has not needed a restart for 10 minutes (twice the cap) starts
//! over at 10 s. Image pulls back off the same way (`ImagePullBackOff`).

use std::collections::HashMap;
use std::time::Duration;

/// Delays per key (`<pod uid>/<container name>` or an image name).
#[derive(Clone, Debug)]
pub struct Backoff {
    initial: Duration,
    max: Duration,
    /// key → (current delay, when it was last bumped, in unix nanos)
    entries: HashMap<String, (Duration, i64)>,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff::new(Duration::from_secs(10), Duration::from_secs(300))
    }
}

fn nanos(d: Duration) -> i64 {
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}

impl Backoff {
    pub fn new(initial: Duration, max: Duration) -> Self {
        Backoff {
            initial,
            max,
            entries: HashMap::new(),
        }
    }

    /// How much longer `key` must wait, counting from `since` (when the
    /// container exited), or `None` when it may restart now.
    pub fn remaining(&self, key: &str, since: i64, now: i64) -> Option<Duration> {
        let (delay, bumped) = *self.entries.get(key)?;
        if now - bumped > 2 * nanos(self.max) {
            return None; // long quiet: the next bump starts over
        }
        let until = since.saturating_add(nanos(delay));
        (now < until).then(|| Duration::from_nanos((until - now) as u64))
    }

    /// The current delay of `key` (for messages).
    pub fn delay(&self, key: &str) -> Duration {
        self.entries.get(key).map_or(self.initial, |e| e.0)
    }

    /// Records a restart: the next one waits longer.
    pub fn next(&mut self, key: &str, now: i64) {
        let max = self.max;
        let initial = self.initial;
        let e = self
            .entries
            .entry(key.to_string())
            .or_insert((Duration::ZERO, now));
        e.0 = if e.0.is_zero() || now - e.1 > 2 * nanos(max) {
            initial
        } else {
            (e.0 * 2).min(max)
        };
        e.1 = now;
    }

    /// Forgets every key starting with `prefix` (a deleted pod).
    pub fn forget_prefix(&mut self, prefix: &str) {
        self.entries.retain(|k, _| !k.starts_with(prefix));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = 1_000_000_000;

    #[test]
    fn doubles_to_the_cap_and_resets_after_quiet() {
        let mut b = Backoff::default();
        assert_eq!(b.remaining("k", 0, 0), None, "first restart is immediate");
        b.next("k", 0);
        assert_eq!(b.remaining("k", 0, 5 * S), Some(Duration::from_secs(5)));
        assert_eq!(b.remaining("k", 0, 10 * S), None);
        let mut delays = vec![];
        for i in 1..8 {
            b.next("k", i * S);
            delays.push(b.delay("k").as_secs());
        }
        assert_eq!(delays, [20, 40, 80, 160, 300, 300, 300]);
        // Ten quiet minutes later the delay starts over.
        b.next("k", 7 * S + 601 * S);
        assert_eq!(b.delay("k"), Duration::from_secs(10));
        b.forget_prefix("k");
        assert_eq!(b.remaining("k", 0, 0), None);
    }
}

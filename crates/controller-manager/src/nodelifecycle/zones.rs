//! Decide: how fast nodes may be tainted, zone by zone (pure).
//!
//! Tainting a node `NoExecute` evicts its pods, so the controller is
//! careful: nodes are tainted through a queue per zone, at most
//! `--node-eviction-rate` nodes per second (0.1: one every 10 s) with a
//! burst of one. Each pass it looks at how many nodes of a zone are not
//! Ready ([`zone_state`]):
//! - **Normal**: tainting at `--node-eviction-rate`;
//! - **PartialDisruption** (more than 2 nodes and at least
//!   `--unhealthy-zone-threshold`, 55 %, not Ready): something bigger than
//!   a few dead machines is going on; slow down to
//!   `--secondary-node-eviction-rate` (0.01/s) in a zone larger than
//!   `--large-cluster-size-threshold` (50 nodes), stop in a smaller one;
//! - **FullDisruption** (no node Ready): the zone is gone; pods are better
//!   off elsewhere, so taint at the normal rate, **unless every zone is
//!   fully disrupted**: then the fault is more likely the control plane's
//!   (or its network), so tainting stops altogether and the NoExecute
//!   taints come off every node until some node is Ready again.
//!
//! A node's zone is its `topology.kubernetes.io/region` and
//! `topology.kubernetes.io/zone` labels (or the older
//! `failure-domain.beta.kubernetes.io/*` ones); nodes without them make
//! one zone, `""`.

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::time::{Duration, Instant};

use api_types::core::v1::Node;

pub const LABEL_ZONE: &str = "topology.kubernetes.io/zone";
pub const LABEL_REGION: &str = "topology.kubernetes.io/region";
pub const LABEL_ZONE_BETA: &str = "failure-domain.beta.kubernetes.io/zone";
pub const LABEL_REGION_BETA: &str = "failure-domain.beta.kubernetes.io/region";
/// Nodes with this label do not count in their zone's state.
pub const LABEL_EXCLUDE_DISRUPTION: &str = "node.kubernetes.io/exclude-disruption";

/// The node's zone key: `region:\0:zone` as upstream (`""` without either
/// label).
pub fn zone_key(node: &Node) -> String {
    let l = &node.metadata.labels;
    let get = |a: &str, b: &str| l.get(a).or_else(|| l.get(b)).cloned().unwrap_or_default();
    let zone = get(LABEL_ZONE, LABEL_ZONE_BETA);
    let region = get(LABEL_REGION, LABEL_REGION_BETA);
    if zone.is_empty() && region.is_empty() {
        String::new()
    } else {
        format!("{region}:\0:{zone}")
    }
}

/// A zone key as people write it (`region/zone`, or `(no zone)`).
pub fn zone_display(key: &str) -> String {
    match key.split_once(":\0:") {
        Some(("", z)) => z.to_string(),
        Some((r, z)) => format!("{r}/{z}"),
        None if key.is_empty() => "(no zone)".into(),
        None => key.to_string(),
    }
}

/// Whether the node is left out of its zone's state.
pub fn excluded_from_disruption(node: &Node) -> bool {
    node.metadata.labels.contains_key(LABEL_EXCLUDE_DISRUPTION)
}

/// A zone's health.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ZoneState {
    /// Just seen; no pass has counted it yet.
    Initial,
    Normal,
    PartialDisruption,
    FullDisruption,
}

/// The zone's state from its nodes' Ready statuses (`None`: no Ready
/// condition yet, counted as not Ready), and how many are not Ready.
pub fn zone_state(ready: &[Option<&str>], unhealthy_threshold: f32) -> (usize, ZoneState) {
    let ok = ready.iter().filter(|r| **r == Some("True")).count();
    let bad = ready.len() - ok;
    let state = if ok == 0 && bad > 0 {
        ZoneState::FullDisruption
    } else if bad > 2 && bad as f32 / (bad + ok) as f32 >= unhealthy_threshold {
        ZoneState::PartialDisruption
    } else {
        ZoneState::Normal
    };
    (bad, state)
}

/// The eviction-rate flags.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rates {
    /// `--node-eviction-rate`: nodes per second in a healthy zone.
    pub eviction: f32,
    /// `--secondary-node-eviction-rate`: in a partly disrupted large zone.
    pub secondary: f32,
    /// `--large-cluster-size-threshold`: more nodes than this is large.
    pub large_cluster_threshold: usize,
}

impl Rates {
    /// Nodes per second to taint in a zone of `size` nodes in `state`.
    pub fn for_state(&self, state: ZoneState, size: usize) -> f32 {
        match state {
            ZoneState::Initial | ZoneState::Normal | ZoneState::FullDisruption => self.eviction,
            ZoneState::PartialDisruption if size > self.large_cluster_threshold => self.secondary,
            ZoneState::PartialDisruption => 0.0,
        }
    }
}

/// A token bucket of burst 1 (client-go's `TokenBucketRateLimiter`); a
/// rate of 0 never lets anything through.
#[derive(Clone, Debug)]
pub struct TokenBucket {
    qps: f32,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    /// A full bucket.
    pub fn new(qps: f32, now: Instant) -> Self {
        TokenBucket {
            qps,
            tokens: 1.0,
            last: now,
        }
    }

    pub fn qps(&self) -> f32 {
        self.qps
    }

    fn refill(&mut self, now: Instant) {
        let dt = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + dt * f64::from(self.qps.max(0.0))).min(1.0);
        self.last = now.max(self.last);
    }

    /// Takes a token if there is one.
    pub fn try_accept(&mut self, now: Instant) -> bool {
        if self.qps <= 0.0 {
            return false;
        }
        self.refill(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// Changes the rate. A bucket that is empty now stays empty, so that a
    /// change of state does not hand out an extra token.
    pub fn set_qps(&mut self, qps: f32, now: Instant) {
        if qps == self.qps {
            return;
        }
        self.refill(now);
        let had = self.qps > 0.0 && self.tokens >= 1.0;
        *self = TokenBucket::new(qps, now);
        if !had {
            self.tokens = 0.0;
        }
    }
}

/// Nodes waiting to be tainted in one zone, first come first served, each
/// once (upstream's `RateLimitedTimedQueue`).
#[derive(Clone, Debug)]
pub struct TaintQueue {
    limiter: TokenBucket,
    /// (node, not before).
    items: VecDeque<(String, Instant)>,
    queued: HashSet<String>,
}

impl TaintQueue {
    pub fn new(qps: f32, now: Instant) -> Self {
        TaintQueue {
            limiter: TokenBucket::new(qps, now),
            items: VecDeque::new(),
            queued: HashSet::new(),
        }
    }

    /// Queues `node`; false if it is queued already.
    pub fn add(&mut self, node: &str, now: Instant) -> bool {
        if !self.queued.insert(node.to_string()) {
            return false;
        }
        self.items.push_back((node.to_string(), now));
        true
    }

    /// Drops `node`; false if it was not queued.
    pub fn remove(&mut self, node: &str) -> bool {
        if !self.queued.remove(node) {
            return false;
        }
        self.items.retain(|(n, _)| n != node);
        true
    }

    /// Takes the next node that is due, if the rate allows. The node stays
    /// counted as queued until [`TaintQueue::done`] or
    /// [`TaintQueue::retry`].
    pub fn pop(&mut self, now: Instant) -> Option<String> {
        let due = self.items.front().is_some_and(|(_, at)| *at <= now);
        if !due || !self.limiter.try_accept(now) {
            return None;
        }
        self.items.pop_front().map(|(n, _)| n)
    }

    /// The popped `node` was handled.
    pub fn done(&mut self, node: &str) {
        if !self.items.iter().any(|(n, _)| n == node) {
            self.queued.remove(node);
        }
    }

    /// The popped `node` failed: try again at `at` (at the back).
    pub fn retry(&mut self, node: &str, at: Instant) {
        if self.queued.contains(node) && !self.items.iter().any(|(n, _)| n == node) {
            self.items.push_back((node.to_string(), at));
        }
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn qps(&self) -> f32 {
        self.limiter.qps()
    }
}

/// A change of the whole cluster's disruption mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// No change.
    Same,
    /// Every zone just became fully disrupted: tainting stops; remove the
    /// NoExecute taints from every node.
    EnteredFullDisruption,
    /// Some node is Ready again after a full disruption: tainting resumes;
    /// every node gets a fresh grace period.
    LeftFullDisruption,
}

/// The zones, their states and their taint queues.
#[derive(Debug)]
pub struct Zones {
    rates: Rates,
    unhealthy_threshold: f32,
    states: BTreeMap<String, ZoneState>,
    queues: BTreeMap<String, TaintQueue>,
}

impl Zones {
    pub fn new(rates: Rates, unhealthy_threshold: f32) -> Self {
        Zones {
            rates,
            unhealthy_threshold,
            states: BTreeMap::new(),
            queues: BTreeMap::new(),
        }
    }

    /// Starts tracking `zone` (Initial, tainting at the normal rate).
    pub fn ensure(&mut self, zone: &str, now: Instant) {
        if !self.states.contains_key(zone) {
            self.states.insert(zone.to_string(), ZoneState::Initial);
            self.queues
                .entry(zone.to_string())
                .or_insert_with(|| TaintQueue::new(self.rates.eviction, now));
        }
    }

    pub fn state(&self, zone: &str) -> Option<ZoneState> {
        self.states.get(zone).copied()
    }

    pub fn queue(&self, zone: &str) -> Option<&TaintQueue> {
        self.queues.get(zone)
    }

    /// Queues `node` of `zone` for tainting; false if it is queued already.
    pub fn enqueue(&mut self, zone: &str, node: &str, now: Instant) -> bool {
        self.ensure(zone, now);
        self.queues.get_mut(zone).is_some_and(|q| q.add(node, now))
    }

    /// Drops `node` from `zone`'s queue.
    pub fn dequeue(&mut self, zone: &str, node: &str) -> bool {
        self.queues.get_mut(zone).is_some_and(|q| q.remove(node))
    }

    /// Drops `node` from every queue (it was deleted, or changed zone).
    pub fn forget(&mut self, node: &str) {
        for q in self.queues.values_mut() {
            q.remove(node);
        }
    }

    /// The nodes due for tainting now, as far as each zone's rate allows,
    /// with their zones.
    pub fn due(&mut self, now: Instant) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for (zone, q) in &mut self.queues {
            while let Some(n) = q.pop(now) {
                out.push((zone.clone(), n));
            }
        }
        out
    }

    /// A node from [`Zones::due`] was handled.
    pub fn done(&mut self, zone: &str, node: &str) {
        if let Some(q) = self.queues.get_mut(zone) {
            q.done(node);
        }
    }

    /// A node from [`Zones::due`] failed; try again after `wait`.
    pub fn retry(&mut self, zone: &str, node: &str, now: Instant, wait: Duration) {
        if let Some(q) = self.queues.get_mut(zone) {
            q.retry(node, now + wait);
        }
    }

    /// Takes this pass's Ready statuses per zone and moves the zones to
    /// their new states, setting each queue's rate (upstream's
    /// `handleDisruption`).
    pub fn update(&mut self, observed: &BTreeMap<String, Vec<Option<&str>>>, now: Instant) -> Mode {
        let mut new: BTreeMap<&str, (ZoneState, usize)> = BTreeMap::new();
        for (zone, ready) in observed {
            let (_, state) = zone_state(ready, self.unhealthy_threshold);
            new.insert(zone, (state, ready.len()));
            self.ensure(zone, now);
        }
        let all_are_full = new.values().all(|(s, _)| *s == ZoneState::FullDisruption);
        // Zones with no node left are forgotten (their queues stay, empty
        // or not, as upstream's do).
        self.states.retain(|z, _| new.contains_key(z.as_str()));
        let all_were_full = self
            .states
            .values()
            .all(|s| *s == ZoneState::FullDisruption);
        if all_are_full && all_were_full {
            return Mode::Same;
        }
        if all_are_full {
            for q in self.queues.values_mut() {
                q.limiter.set_qps(0.0, now);
            }
            for s in self.states.values_mut() {
                *s = ZoneState::FullDisruption;
            }
            return Mode::EnteredFullDisruption;
        }
        // The rate follows the state and the zone's size every pass
        // (upstream changes it only when the state changes, so a partly
        // disrupted zone that grows large would stay stopped).
        for (zone, (state, size)) in &new {
            let qps = self.rates.for_state(*state, *size);
            if let Some(q) = self.queues.get_mut(*zone) {
                q.limiter.set_qps(qps, now);
            }
            self.states.insert((*zone).to_string(), *state);
        }
        if all_were_full {
            Mode::LeftFullDisruption
        } else {
            Mode::Same
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RATES: Rates = Rates {
        eviction: 0.1,
        secondary: 0.01,
        large_cluster_threshold: 50,
    };

    fn secs(t: Instant, s: f64) -> Instant {
        t + Duration::from_secs_f64(s)
    }

    #[test]
    fn zone_keys_like_upstream() {
        let mut n = Node::default();
        assert_eq!(zone_key(&n), "");
        n.metadata.labels.insert(LABEL_ZONE.into(), "a".into());
        assert_eq!(zone_key(&n), ":\0:a");
        assert_eq!(zone_display(&zone_key(&n)), "a");
        n.metadata
            .labels
            .insert(LABEL_REGION_BETA.into(), "eu".into());
        assert_eq!(zone_key(&n), "eu:\0:a");
        assert_eq!(zone_display(&zone_key(&n)), "eu/a");
        assert_eq!(zone_display(""), "(no zone)");
        assert!(!excluded_from_disruption(&n));
        n.metadata
            .labels
            .insert(LABEL_EXCLUDE_DISRUPTION.into(), String::new());
        assert!(excluded_from_disruption(&n));
    }

    #[test]
    fn zone_states_from_ready_counts() {
        let t = Some("True");
        let f = Some("False");
        let u = Some("Unknown");
        assert_eq!(zone_state(&[t, t, u], 0.55), (1, ZoneState::Normal));
        // Two of two down: fully disrupted; 2 of 3 is not partial (needs
        // more than 2 down).
        assert_eq!(zone_state(&[u, f], 0.55), (2, ZoneState::FullDisruption));
        assert_eq!(zone_state(&[t, u, u], 0.55), (2, ZoneState::Normal));
        assert_eq!(
            zone_state(&[t, t, u, u, None], 0.55),
            (3, ZoneState::PartialDisruption)
        );
        assert_eq!(
            zone_state(&[t, t, t, u, u, u], 0.55),
            (3, ZoneState::Normal)
        );
        assert_eq!(zone_state(&[], 0.55), (0, ZoneState::Normal));
    }

    #[test]
    fn rates_per_state() {
        assert_eq!(RATES.for_state(ZoneState::Normal, 10), 0.1);
        assert_eq!(RATES.for_state(ZoneState::FullDisruption, 10), 0.1);
        assert_eq!(RATES.for_state(ZoneState::PartialDisruption, 10), 0.0);
        assert_eq!(RATES.for_state(ZoneState::PartialDisruption, 51), 0.01);
        assert_eq!(RATES.for_state(ZoneState::PartialDisruption, 50), 0.0);
    }

    #[test]
    fn the_token_bucket_allows_one_then_the_rate() {
        let t = Instant::now();
        let mut b = TokenBucket::new(0.1, t);
        assert!(b.try_accept(t));
        assert!(!b.try_accept(secs(t, 9.9)));
        assert!(b.try_accept(secs(t, 10.0)));
        // Idle for long: still a burst of one only.
        assert!(b.try_accept(secs(t, 100.0)));
        assert!(!b.try_accept(secs(t, 100.0)));
        // Stopped.
        b.set_qps(0.0, secs(t, 200.0));
        assert!(!b.try_accept(secs(t, 1000.0)));
        // Back to normal: it was stopped, so it starts empty.
        b.set_qps(0.1, secs(t, 1000.0));
        assert!(!b.try_accept(secs(t, 1000.0)));
        assert!(b.try_accept(secs(t, 1010.0)));
    }

    #[test]
    fn the_queue_taints_one_node_per_token_in_order() {
        let t = Instant::now();
        let mut q = TaintQueue::new(0.1, t);
        assert!(q.add("a", t));
        assert!(q.add("b", t));
        assert!(!q.add("a", t));
        assert_eq!(q.pop(t).as_deref(), Some("a"));
        assert_eq!(q.pop(t), None, "no token left");
        q.done("a");
        assert_eq!(q.pop(secs(t, 10.0)).as_deref(), Some("b"));
        // b failed: again, later, once a token is there.
        q.retry("b", secs(t, 10.05));
        assert_eq!(q.pop(secs(t, 15.0)), None);
        assert_eq!(q.pop(secs(t, 20.0)).as_deref(), Some("b"));
        q.done("b");
        assert!(q.is_empty());
        // Removed before its turn: never handed out.
        q.add("c", t);
        assert!(q.remove("c"));
        assert_eq!(q.pop(secs(t, 100.0)), None);
    }

    fn observed<'a>(
        zones: &[(&str, &[Option<&'a str>])],
    ) -> BTreeMap<String, Vec<Option<&'a str>>> {
        zones
            .iter()
            .map(|(z, r)| (z.to_string(), r.to_vec()))
            .collect()
    }

    #[test]
    fn a_partly_disrupted_small_zone_stops_tainting_a_large_one_slows_down() {
        let t = Instant::now();
        let mut z = Zones::new(RATES, 0.55);
        let up = Some("True");
        let down = Some("Unknown");
        let small = [up, down, down, down];
        let healthy = [up, up];
        assert_eq!(
            z.update(&observed(&[("a", &small), ("b", &healthy)]), t),
            Mode::Same
        );
        assert_eq!(z.state("a"), Some(ZoneState::PartialDisruption));
        assert_eq!(z.queue("a").map(TaintQueue::qps), Some(0.0));
        assert_eq!(z.state("b"), Some(ZoneState::Normal));
        assert_eq!(z.queue("b").map(TaintQueue::qps), Some(0.1));
        z.enqueue("a", "a1", t);
        assert!(z.due(secs(t, 3600.0)).is_empty(), "zone a is stopped");

        let mut large = vec![up; 20];
        large.extend(vec![down; 40]);
        z.update(&observed(&[("a", &large), ("b", &healthy)]), t);
        assert_eq!(z.state("a"), Some(ZoneState::PartialDisruption));
        assert_eq!(z.queue("a").map(TaintQueue::qps), Some(0.01));

        // Recovered: the normal rate again.
        z.update(&observed(&[("a", &[up, up, down]), ("b", &healthy)]), t);
        assert_eq!(z.state("a"), Some(ZoneState::Normal));
        assert_eq!(z.queue("a").map(TaintQueue::qps), Some(0.1));
    }

    #[test]
    fn one_zone_down_is_evacuated_every_zone_down_stops_everything() {
        let t = Instant::now();
        let mut z = Zones::new(RATES, 0.55);
        let up = Some("True");
        let down = Some("Unknown");
        z.update(&observed(&[("a", &[up, up]), ("b", &[up, up])]), t);
        // Zone a is gone, b is fine: a's nodes are tainted at the normal rate.
        assert_eq!(
            z.update(&observed(&[("a", &[down, down]), ("b", &[up, up])]), t),
            Mode::Same
        );
        assert_eq!(z.state("a"), Some(ZoneState::FullDisruption));
        assert_eq!(z.queue("a").map(TaintQueue::qps), Some(0.1));
        z.enqueue("a", "a1", t);
        z.enqueue("a", "a2", t);
        let due = z.due(t);
        assert_eq!(due, [("a".to_string(), "a1".to_string())]);
        z.done("a", "a1");

        // Every zone is gone: stop.
        assert_eq!(
            z.update(&observed(&[("a", &[down, down]), ("b", &[down, None])]), t),
            Mode::EnteredFullDisruption
        );
        assert!(z.due(secs(t, 3600.0)).is_empty());
        assert_eq!(
            z.update(&observed(&[("a", &[down, down]), ("b", &[down, down])]), t),
            Mode::Same
        );
        // One node is back: resume, each zone at its state's rate.
        assert_eq!(
            z.update(&observed(&[("a", &[down, down]), ("b", &[up, down])]), t),
            Mode::LeftFullDisruption
        );
        assert_eq!(z.state("a"), Some(ZoneState::FullDisruption));
        assert_eq!(z.queue("a").map(TaintQueue::qps), Some(0.1));
        assert_eq!(z.state("b"), Some(ZoneState::Normal));
        // The limiter was stopped, so it starts empty: a2 after 10 s.
        assert!(z.due(secs(t, 5.0)).is_empty());
        assert_eq!(z.due(secs(t, 10.0)), [("a".to_string(), "a2".to_string())]);
    }

    #[test]
    fn a_single_node_cluster_never_taints() {
        let t = Instant::now();
        let mut z = Zones::new(RATES, 0.55);
        z.update(&observed(&[("", &[Some("True")])]), t);
        assert_eq!(
            z.update(&observed(&[("", &[Some("Unknown")])]), t),
            Mode::EnteredFullDisruption
        );
        z.enqueue("", "n", t);
        assert!(z.due(secs(t, 3600.0)).is_empty());
    }
}

//! Hard eviction thresholds (`--eviction-hard`): when is the node under
//! pressure, and how much of it is held back from pods.
//!
//! Upstream's eviction manager (`pkg/kubelet/eviction`) watches a few
//! *signals* (memory available, disk and inodes free, PIDs available) and,
//! when one falls below its hard threshold, reports the matching node
//! condition (`MemoryPressure`, `DiskPressure`, `PIDPressure`) and evicts
//! pods. This module holds the first half: the thresholds, their flag
//! syntax, and whether [`HostFacts`] cross them. Evicting pods is the pod
//! lifecycle's business.
//!
//! The thresholds also shrink `allocatable`: the scheduler must not fill
//! the node up to the point where the kubelet would start evicting, so the
//! memory and `nodefs.available` thresholds are subtracted from capacity
//! (upstream's `hardEvictionReservation`).
//!
//! # Caveats
//! Upstream keeps a condition `True` for `--eviction-pressure-transition-period`
//! (5 min) after the signal recovers, to avoid flapping; here a condition
//! follows the signal at each status update. There is no separate image
//! filesystem: the `imagefs.*` signals observe the root dir's filesystem,
//! as upstream does when both live on one disk.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use api_types::quantity::{Format, ParsedQuantity};

use super::error::Error;
use super::host::HostFacts;

/// An eviction signal, named as in the flag (`memory.available`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Signal {
    MemoryAvailable,
    NodeFsAvailable,
    NodeFsInodesFree,
    ImageFsAvailable,
    ImageFsInodesFree,
    PidAvailable,
}

impl Signal {
    /// Every signal, in flag-name order.
    pub const ALL: [Signal; 6] = [
        Signal::MemoryAvailable,
        Signal::NodeFsAvailable,
        Signal::NodeFsInodesFree,
        Signal::ImageFsAvailable,
        Signal::ImageFsInodesFree,
        Signal::PidAvailable,
    ];

    /// The flag's name of the signal.
    pub fn name(self) -> &'static str {
        match self {
            Signal::MemoryAvailable => "memory.available",
            Signal::NodeFsAvailable => "nodefs.available",
            Signal::NodeFsInodesFree => "nodefs.inodesFree",
            Signal::ImageFsAvailable => "imagefs.available",
            Signal::ImageFsInodesFree => "imagefs.inodesFree",
            Signal::PidAvailable => "pid.available",
        }
    }

    /// The node condition a crossed threshold of this signal sets.
    pub fn condition(self) -> &'static str {
        match self {
            Signal::MemoryAvailable => "MemoryPressure",
            Signal::PidAvailable => "PIDPressure",
            _ => "DiskPressure",
        }
    }

    /// What the host has left of this signal, and out of how much.
    pub fn observe(self, host: &HostFacts) -> Observed {
        let (available, capacity) = match self {
            Signal::MemoryAvailable => (host.memory_available_bytes, host.memory_total_bytes),
            Signal::NodeFsAvailable | Signal::ImageFsAvailable => {
                (host.fs_available_bytes, host.fs_capacity_bytes)
            }
            Signal::NodeFsInodesFree | Signal::ImageFsInodesFree => {
                (host.fs_inodes_free, host.fs_inodes)
            }
            Signal::PidAvailable => (host.pid_max.saturating_sub(host.pids_in_use), host.pid_max),
        };
        Observed {
            available: i128::from(available),
            capacity: i128::from(capacity),
        }
    }
}

impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One observation of a signal, in bytes, inodes or PIDs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Observed {
    pub available: i128,
    pub capacity: i128,
}

/// A threshold: an absolute amount (`100Mi`) or a share of capacity (`10%`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Threshold {
    Quantity(ParsedQuantity),
    /// A fraction in `0..=1` (`10%` is `0.1`). `f32` like upstream's, so
    /// that percentages round the same way.
    Percentage(f32),
}

impl Threshold {
    /// The threshold as an amount, for a resource of `capacity` units
    /// (upstream's `GetThresholdQuantity`: percentages are truncated).
    pub fn amount(&self, capacity: i128) -> i128 {
        match self {
            Threshold::Quantity(q) => i128::from(q.value()),
            Threshold::Percentage(p) => (capacity as f64 * f64::from(*p)) as i128,
        }
    }
}

/// The hard thresholds, by signal. [`Default`] is upstream's Linux set;
/// parsing a flag value replaces it entirely (as upstream does unless
/// `mergeDefaultEvictionSettings`): a signal left out has no threshold.
#[derive(Clone, Debug, PartialEq)]
pub struct EvictionThresholds(pub BTreeMap<Signal, Threshold>);

impl Default for EvictionThresholds {
    /// `memory.available<100Mi, nodefs.available<10%, nodefs.inodesFree<5%,
    /// imagefs.available<15%, imagefs.inodesFree<5%`.
    fn default() -> Self {
        EvictionThresholds(BTreeMap::from([
            (
                Signal::MemoryAvailable,
                Threshold::Quantity(ParsedQuantity::from_value(100 << 20, Format::BinarySI)),
            ),
            (Signal::NodeFsAvailable, Threshold::Percentage(0.10)),
            (Signal::NodeFsInodesFree, Threshold::Percentage(0.05)),
            (Signal::ImageFsAvailable, Threshold::Percentage(0.15)),
            (Signal::ImageFsInodesFree, Threshold::Percentage(0.05)),
        ]))
    }
}

impl EvictionThresholds {
    /// No thresholds at all (`--eviction-hard=""`).
    pub fn none() -> Self {
        EvictionThresholds(BTreeMap::new())
    }

    /// The signals whose threshold `host` crosses (available < threshold).
    pub fn crossed(&self, host: &HostFacts) -> Vec<Signal> {
        self.0
            .iter()
            .filter(|(signal, threshold)| {
                let seen = signal.observe(host);
                seen.available < threshold.amount(seen.capacity)
            })
            .map(|(signal, _)| *signal)
            .collect()
    }

    /// Whether any threshold behind node condition `condition` is crossed.
    pub fn under_pressure(&self, host: &HostFacts, condition: &str) -> bool {
        self.crossed(host)
            .iter()
            .any(|s| s.condition() == condition)
    }

    /// What the thresholds hold back from allocatable, by resource name:
    /// `memory` for `memory.available`, `ephemeral-storage` for
    /// `nodefs.available`, given the capacities in bytes.
    pub fn reservation(
        &self,
        memory_capacity: i128,
        storage_capacity: i128,
    ) -> BTreeMap<&'static str, i128> {
        let mut out = BTreeMap::new();
        if let Some(t) = self.0.get(&Signal::MemoryAvailable) {
            out.insert("memory", t.amount(memory_capacity));
        }
        if let Some(t) = self.0.get(&Signal::NodeFsAvailable) {
            out.insert("ephemeral-storage", t.amount(storage_capacity));
        }
        out
    }
}

impl FromStr for EvictionThresholds {
    type Err = Error;

    /// Parses the flag's syntax: `memory.available<100Mi,nodefs.available<10%`.
    /// Only `<` exists for hard thresholds; percentages are `0%`..`100%`.
    fn from_str(s: &str) -> Result<Self, Error> {
        let mut out = BTreeMap::new();
        for entry in s.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let bad = |why| Error::Threshold {
                entry: entry.to_string(),
                why,
            };
            let (name, value) = entry
                .split_once('<')
                .ok_or_else(|| bad("expected <signal><<value>"))?;
            let signal = Signal::ALL
                .into_iter()
                .find(|s| s.name() == name.trim())
                .ok_or_else(|| bad("unknown signal"))?;
            let value = value.trim();
            let threshold = if let Some(pct) = value.strip_suffix('%') {
                let p: f32 = pct.parse().map_err(|_| bad("not a percentage"))?;
                if !(0.0..=100.0).contains(&p) {
                    return Err(bad("percentage must be between 0% and 100%"));
                }
                Threshold::Percentage(p / 100.0)
            } else {
                let q: ParsedQuantity = value.parse().map_err(|_| bad("not a quantity"))?;
                if q.nanos() < 0 {
                    return Err(bad("must not be negative"));
                }
                Threshold::Quantity(q)
            };
            if out.insert(signal, threshold).is_some() {
                return Err(bad("signal given twice"));
            }
        }
        Ok(EvictionThresholds(out))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn host() -> HostFacts {
        HostFacts {
            memory_total_bytes: 8 << 30,
            memory_available_bytes: 4 << 30,
            fs_capacity_bytes: 100 << 30,
            fs_available_bytes: 50 << 30,
            fs_inodes: 1000,
            fs_inodes_free: 500,
            pid_max: 1000,
            pids_in_use: 100,
            ..HostFacts::default()
        }
    }

    #[test]
    fn the_flag_syntax_parses() {
        let t: EvictionThresholds = "memory.available<1Gi, nodefs.available<5%".parse().unwrap();
        assert_eq!(t.0.len(), 2);
        assert_eq!(t.0[&Signal::MemoryAvailable].amount(0), 1 << 30);
        assert_eq!(t.0[&Signal::NodeFsAvailable], Threshold::Percentage(0.05));
        assert_eq!(
            "".parse::<EvictionThresholds>().unwrap(),
            EvictionThresholds::none()
        );
        for bad in [
            "memory.available>1Gi",
            "cpu.available<1",
            "nodefs.available<120%",
            "memory.available<-1",
            "memory.available<x",
            "pid.available<1,pid.available<2",
        ] {
            assert!(bad.parse::<EvictionThresholds>().is_err(), "{bad}");
        }
    }

    #[test]
    fn defaults_are_upstreams() {
        let d = EvictionThresholds::default();
        assert_eq!(d.0.len(), 5);
        assert!(!d.0.contains_key(&Signal::PidAvailable));
        assert_eq!(d.0[&Signal::ImageFsAvailable], Threshold::Percentage(0.15));
        assert!(d.crossed(&host()).is_empty());
    }

    #[test]
    fn crossing_a_threshold_is_pressure() {
        let t = EvictionThresholds::default();
        let mut h = host();
        h.memory_available_bytes = 50 << 20;
        assert_eq!(t.crossed(&h), [Signal::MemoryAvailable]);
        assert!(t.under_pressure(&h, "MemoryPressure"));
        assert!(!t.under_pressure(&h, "DiskPressure"));

        let mut h = host();
        h.fs_available_bytes = 12 << 30; // 12%: below imagefs' 15%, above nodefs' 10%
        assert_eq!(t.crossed(&h), [Signal::ImageFsAvailable]);
        assert!(t.under_pressure(&h, "DiskPressure"));

        let mut h = host();
        h.fs_inodes_free = 10;
        assert!(t.under_pressure(&h, "DiskPressure"));

        let pids: EvictionThresholds = "pid.available<10%".parse().unwrap();
        let mut h = host();
        assert!(!pids.under_pressure(&h, "PIDPressure"));
        h.pids_in_use = 950;
        assert!(pids.under_pressure(&h, "PIDPressure"));
    }

    #[test]
    fn reservation_is_memory_and_nodefs() {
        let r = EvictionThresholds::default().reservation(8 << 30, 1000);
        assert_eq!(r["memory"], 100 << 20);
        assert_eq!(r["ephemeral-storage"], 100);
        assert_eq!(r.len(), 2);
    }
}

//! Decide: is a node alive? (pure; upstream's `tryUpdateNodeHealth`)
//!
//! A kubelet shows it is alive in two ways: it renews its Lease in
//! `kube-node-lease` (every 10 s), and it refreshes `lastHeartbeatTime` of
//! its conditions (when something changed, or every few minutes). The
//! controller never compares those timestamps with its own clock: the
//! kubelet's clock may be off. It only notes **when it saw them change**,
//! on its own monotonic clock ([`NodeHealth::probe`]). A node whose
//! signs of life have not changed for the grace period
//! (`--node-monitor-grace-period`, 50 s; `--node-startup-grace-period`,
//! 60 s, for a node that never posted a Ready condition) is presumed dead:
//! its Ready, MemoryPressure, DiskPressure and PIDPressure conditions
//! become `Unknown` (reason `NodeStatusUnknown`, message `Kubelet stopped
//! posting node status.`).
//!
//! The controller never sets them back: the kubelet does, with its next
//! status report.

use std::time::{Duration, Instant};

use api_types::core::v1::{Node, NodeCondition};
use api_types::meta::v1::{MicroTime, Time};
use chrono::{DateTime, SubsecRound, Utc};

/// The conditions a silent node has set to `Unknown`, in this order.
/// (`NetworkUnavailable` is left alone: the network plugin owns it.)
pub const SILENT_CONDITIONS: [&str; 4] = ["Ready", "MemoryPressure", "DiskPressure", "PIDPressure"];

pub const REASON_UNKNOWN: &str = "NodeStatusUnknown";
pub const MESSAGE_UNKNOWN: &str = "Kubelet stopped posting node status.";
pub const REASON_NEVER_UPDATED: &str = "NodeStatusNeverUpdated";
pub const MESSAGE_NEVER_UPDATED: &str = "Kubelet never posted node status.";

/// What the controller remembers of a node between passes.
#[derive(Clone, Debug, PartialEq)]
pub struct NodeHealth {
    /// When this controller last saw a sign of life, on its own clock.
    pub probe: Instant,
    /// The Ready condition as last seen (or as last written here).
    pub ready: Option<NodeCondition>,
    /// The Lease's `renewTime` as last seen.
    pub lease_renew: Option<MicroTime>,
}

/// The two clocks: monotonic for durations, wall for timestamps written to
/// the API.
#[derive(Clone, Copy, Debug)]
pub struct Now {
    pub mono: Instant,
    pub wall: DateTime<Utc>,
}

impl Now {
    pub fn read() -> Now {
        Now {
            mono: Instant::now(),
            wall: Utc::now(),
        }
    }

    /// The instant of wall time `t` (not after now).
    pub fn instant_of(&self, t: DateTime<Utc>) -> Instant {
        let ago = (self.wall - t).to_std().unwrap_or(Duration::ZERO);
        self.mono.checked_sub(ago).unwrap_or(self.mono)
    }

    /// Now as a `metav1.Time` (whole seconds).
    pub fn time(&self) -> Time {
        Time(self.wall.trunc_subsecs(0))
    }
}

/// The grace periods.
#[derive(Clone, Copy, Debug)]
pub struct Grace {
    /// `--node-monitor-grace-period`.
    pub monitor: Duration,
    /// `--node-startup-grace-period`.
    pub startup: Duration,
}

/// The outcome of looking at a node once.
#[derive(Clone, Debug, PartialEq)]
pub struct Assessment {
    /// What to remember (if no update is written, or writing it fails).
    pub health: NodeHealth,
    /// The Ready condition as the node has it; for a node that never
    /// posted one, an `Unknown` one as of its creation.
    pub observed_ready: NodeCondition,
    /// The Ready condition once `update` is written (`None`: the node has
    /// none and its startup grace is not over).
    pub current_ready: Option<NodeCondition>,
    /// Conditions to write through `nodes/status` (empty: nothing).
    pub update: Vec<NodeCondition>,
}

impl Assessment {
    /// What to remember once `update` is written.
    pub fn written(&self) -> NodeHealth {
        NodeHealth {
            ready: self.current_ready.clone(),
            ..self.health.clone()
        }
    }

    /// Ready went from `True` to something else in this assessment: the
    /// moment to mark the node's pods not ready.
    pub fn became_not_ready(&self) -> bool {
        self.observed_ready.status == "True"
            && self
                .current_ready
                .as_ref()
                .is_some_and(|c| c.status != "True")
    }
}

fn condition<'a>(node: &'a Node, type_: &str) -> Option<&'a NodeCondition> {
    node.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == type_)
}

/// Looks at `node` (and its Lease's `renewTime`) given what was remembered
/// from the last look (`prev`).
pub fn assess(
    prev: Option<&NodeHealth>,
    node: &Node,
    lease_renew: Option<MicroTime>,
    now: Now,
    grace: Grace,
) -> Assessment {
    let created = node.metadata.creation_timestamp;
    let ready = condition(node, "Ready");
    let (observed_ready, grace) = match ready {
        Some(c) => (c.clone(), grace.monitor),
        None => (
            NodeCondition {
                type_: "Ready".into(),
                status: "Unknown".into(),
                last_heartbeat_time: created,
                last_transition_time: created,
                ..NodeCondition::default()
            },
            grace.startup,
        ),
    };
    let fresh = |ready: Option<&NodeCondition>, lease_renew| NodeHealth {
        probe: now.mono,
        ready: ready.cloned(),
        lease_renew,
    };
    let mut health = match (prev, ready) {
        // Never posted: the clock runs from the node's creation.
        (None, None) => NodeHealth {
            probe: created.map_or(now.mono, |t| now.instant_of(t.0)),
            ready: None,
            lease_renew: None,
        },
        (Some(p), None) => NodeHealth {
            ready: None,
            ..p.clone()
        },
        // First seen (or its first Ready condition): alive as of now.
        (None, Some(c)) => fresh(Some(c), None),
        (Some(p), Some(c)) => match &p.ready {
            None => fresh(Some(c), p.lease_renew),
            Some(saved) if saved.last_heartbeat_time != c.last_heartbeat_time => {
                fresh(Some(c), p.lease_renew)
            }
            Some(_) => p.clone(),
        },
    };
    // A renewed Lease is a sign of life too (even from a kubelet that
    // never posted its status).
    if let Some(renew) = lease_renew
        && health.lease_renew.is_none_or(|seen| seen < renew)
    {
        health.lease_renew = Some(renew);
        health.probe = now.mono;
    }

    let mut current_ready = ready.cloned();
    let mut update = Vec::new();
    if now.mono.saturating_duration_since(health.probe) > grace {
        let at = Some(now.time());
        for type_ in SILENT_CONDITIONS {
            match condition(node, type_) {
                None => update.push(NodeCondition {
                    type_: type_.into(),
                    status: "Unknown".into(),
                    last_heartbeat_time: created,
                    last_transition_time: at,
                    reason: Some(REASON_NEVER_UPDATED.into()),
                    message: Some(MESSAGE_NEVER_UPDATED.into()),
                }),
                Some(c) if c.status != "Unknown" => update.push(NodeCondition {
                    status: "Unknown".into(),
                    last_transition_time: at,
                    reason: Some(REASON_UNKNOWN.into()),
                    message: Some(MESSAGE_UNKNOWN.into()),
                    ..c.clone()
                }),
                Some(_) => {}
            }
        }
        if let Some(r) = update.iter().find(|c| c.type_ == "Ready") {
            current_ready = Some(r.clone());
        } else {
            // Ready is Unknown already: the other conditions are not
            // worth a write on their own (as upstream).
            update.clear();
        }
    }
    Assessment {
        health,
        observed_ready,
        current_ready,
        update,
    }
}

#[cfg(test)]
mod tests {
    use api_types::core::v1::NodeStatus;

    use super::*;

    const MONITOR: Duration = Duration::from_secs(50);
    const GRACE: Grace = Grace {
        monitor: MONITOR,
        startup: Duration::from_secs(60),
    };

    fn time(s: &str) -> Time {
        Time::parse(s).unwrap_or_else(|e| panic!("{e}"))
    }

    fn cond(type_: &str, status: &str, heartbeat: &str) -> NodeCondition {
        NodeCondition {
            type_: type_.into(),
            status: status.into(),
            last_heartbeat_time: Some(time(heartbeat)),
            last_transition_time: Some(time("2025-01-01T00:00:00Z")),
            reason: Some("KubeletReady".into()),
            message: Some("kubelet is posting ready status".into()),
        }
    }

    fn node(conditions: Vec<NodeCondition>) -> Node {
        let mut n = Node {
            status: Some(NodeStatus {
                conditions: Some(conditions),
                ..NodeStatus::default()
            }),
            ..Node::default()
        };
        n.metadata.name = "n1".into();
        n.metadata.creation_timestamp = Some(time("2025-01-01T00:00:00Z"));
        n
    }

    fn healthy(heartbeat: &str) -> Node {
        node(vec![
            cond("MemoryPressure", "False", heartbeat),
            cond("DiskPressure", "False", heartbeat),
            cond("PIDPressure", "False", heartbeat),
            cond("Ready", "True", heartbeat),
        ])
    }

    /// A clock `secs` after `start`, whose wall time is far from the
    /// kubelet's: only changes count, never the kubelet's timestamps.
    fn at(start: Instant, secs: u64) -> Now {
        Now {
            mono: start + Duration::from_secs(secs),
            wall: time("2030-06-01T00:00:00Z").0 + chrono::Duration::seconds(secs as i64),
        }
    }

    #[test]
    fn a_node_that_keeps_renewing_its_lease_stays_healthy() {
        let t = Instant::now();
        let n = healthy("2025-01-01T00:00:00Z");
        let renew = |s: i64| {
            Some(MicroTime(
                time("2025-01-01T00:00:00Z").0 + chrono::Duration::seconds(s),
            ))
        };
        let a = assess(None, &n, renew(0), at(t, 0), GRACE);
        assert!(a.update.is_empty());
        let mut h = a.health;
        // The status heartbeat never moves (kubelets write it rarely); the
        // Lease does, every 10 s.
        for s in (10..=200).step_by(10) {
            let a = assess(Some(&h), &n, renew(s), at(t, s as u64), GRACE);
            assert!(a.update.is_empty(), "at {s}s");
            assert_eq!(
                a.current_ready.as_ref().map(|c| c.status.as_str()),
                Some("True")
            );
            h = a.health;
        }
        assert_eq!(h.probe, at(t, 200).mono);
    }

    #[test]
    fn a_silent_node_goes_unknown_after_the_grace_period() {
        let t = Instant::now();
        let n = healthy("2025-01-01T00:00:00Z");
        let renew = Some(MicroTime(time("2025-01-01T00:00:00Z").0));
        let a = assess(None, &n, renew, at(t, 0), GRACE);
        // Exactly the grace period: still healthy.
        let a = assess(Some(&a.health), &n, renew, at(t, 50), GRACE);
        assert!(a.update.is_empty());
        let a = assess(Some(&a.health), &n, renew, at(t, 51), GRACE);
        assert_eq!(a.update.len(), 4);
        for c in &a.update {
            assert_eq!(c.status, "Unknown");
            assert_eq!(c.reason.as_deref(), Some(REASON_UNKNOWN));
            assert_eq!(c.message.as_deref(), Some(MESSAGE_UNKNOWN));
            assert_eq!(c.last_transition_time, Some(at(t, 51).time()));
            // The kubelet's last heartbeat is kept.
            assert_eq!(c.last_heartbeat_time, Some(time("2025-01-01T00:00:00Z")));
        }
        assert!(a.became_not_ready());
        assert_eq!(a.observed_ready.status, "True");

        // Written; the next pass sees it and has nothing more to do.
        let h = a.written();
        let unknown = node(a.update.clone());
        let b = assess(Some(&h), &unknown, renew, at(t, 56), GRACE);
        assert!(b.update.is_empty());
        assert!(!b.became_not_ready());
        assert_eq!(b.current_ready.map(|c| c.status), Some("Unknown".into()));
    }

    #[test]
    fn any_sign_of_life_resets_the_clock() {
        let t = Instant::now();
        let a = assess(
            None,
            &healthy("2025-01-01T00:00:00Z"),
            None,
            at(t, 0),
            GRACE,
        );
        // A new status heartbeat at 40 s (no Lease at all).
        let a = assess(
            Some(&a.health),
            &healthy("2025-01-01T00:00:40Z"),
            None,
            at(t, 40),
            GRACE,
        );
        let a = assess(
            Some(&a.health),
            &healthy("2025-01-01T00:00:40Z"),
            None,
            at(t, 85),
            GRACE,
        );
        assert!(a.update.is_empty());
        let a = assess(
            Some(&a.health),
            &healthy("2025-01-01T00:00:40Z"),
            None,
            at(t, 91),
            GRACE,
        );
        assert_eq!(a.current_ready.map(|c| c.status), Some("Unknown".into()));
    }

    #[test]
    fn the_kubelets_clock_does_not_matter() {
        // Heartbeats from a kubelet whose clock is a year behind: alive,
        // because they change.
        let t = Instant::now();
        let old = |s: u64| healthy(&format!("2024-01-01T00:00:{s:02}Z"));
        let mut h = assess(None, &old(0), None, at(t, 0), GRACE).health;
        for s in 1..10u64 {
            let a = assess(Some(&h), &old(s), None, at(t, s * 30), GRACE);
            assert!(a.update.is_empty());
            h = a.health;
        }
    }

    #[test]
    fn a_node_that_never_posted_status_gets_the_startup_grace() {
        let t = Instant::now();
        let mut n = node(vec![]);
        n.status = None;
        // Created at 00:00:00 wall time; the controller's wall clock is
        // 30 s later.
        let now = |s: u64| Now {
            mono: t + Duration::from_secs(s),
            wall: time("2025-01-01T00:00:30Z").0 + chrono::Duration::seconds(s as i64),
        };
        let a = assess(None, &n, None, now(0), GRACE);
        assert!(a.update.is_empty());
        assert_eq!(a.current_ready, None);
        assert_eq!(a.observed_ready.status, "Unknown");
        let a = assess(Some(&a.health), &n, None, now(29), GRACE);
        assert!(a.update.is_empty());
        let a = assess(Some(&a.health), &n, None, now(31), GRACE);
        assert_eq!(a.update.len(), 4);
        assert!(a.update.iter().all(|c| {
            c.status == "Unknown"
                && c.reason.as_deref() == Some(REASON_NEVER_UPDATED)
                && c.message.as_deref() == Some(MESSAGE_NEVER_UPDATED)
                && c.last_heartbeat_time == Some(time("2025-01-01T00:00:00Z"))
        }));
        assert!(!a.became_not_ready());
    }

    #[test]
    fn a_lease_without_status_keeps_a_node_alive() {
        let t = Instant::now();
        let mut n = node(vec![]);
        n.status = None;
        let now = |s: u64| Now {
            mono: t + Duration::from_secs(s),
            wall: time("2025-01-01T00:00:00Z").0 + chrono::Duration::seconds(s as i64),
        };
        let renew = |s: i64| {
            Some(MicroTime(
                time("2025-01-01T00:00:00Z").0 + chrono::Duration::seconds(s),
            ))
        };
        let mut h = assess(None, &n, renew(0), now(0), GRACE).health;
        for s in (10..300).step_by(10) {
            let a = assess(Some(&h), &n, renew(s), now(s as u64), GRACE);
            assert!(a.update.is_empty());
            h = a.health;
        }
    }

    #[test]
    fn only_conditions_not_yet_unknown_are_written() {
        let t = Instant::now();
        let mut conditions = healthy("2025-01-01T00:00:00Z")
            .status
            .and_then(|s| s.conditions)
            .unwrap_or_default();
        conditions[1].status = "Unknown".into(); // DiskPressure
        conditions.remove(2); // no PIDPressure
        let n = node(conditions);
        let a = assess(None, &n, None, at(t, 0), GRACE);
        let a = assess(Some(&a.health), &n, None, at(t, 60), GRACE);
        let written: Vec<(&str, &str)> = a
            .update
            .iter()
            .map(|c| (c.type_.as_str(), c.reason.as_deref().unwrap_or("")))
            .collect();
        assert_eq!(
            written,
            [
                ("Ready", REASON_UNKNOWN),
                ("MemoryPressure", REASON_UNKNOWN),
                ("PIDPressure", REASON_NEVER_UPDATED)
            ]
        );
    }
}

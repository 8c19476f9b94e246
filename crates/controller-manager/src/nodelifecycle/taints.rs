//! Decide: which taints a node should carry (pure).
//!
//! Two families, both upstream's:
//! - **NoSchedule taints that mirror conditions** (`TaintNodesByCondition`):
//!   `Ready=False` → `node.kubernetes.io/not-ready`, `Ready=Unknown` →
//!   `node.kubernetes.io/unreachable`, `MemoryPressure=True` →
//!   `node.kubernetes.io/memory-pressure`, and so on, plus
//!   `node.kubernetes.io/unschedulable` for a cordoned node. Kept in step
//!   with the node on every change, without delay ([`reconcile_no_schedule`]).
//! - **NoExecute taints for a node that is down**: `not-ready` or
//!   `unreachable` with effect `NoExecute`, which make the taint eviction
//!   controller move pods away. Adding them is rate limited per zone
//!   ([`super::zones`]); [`no_execute_action`] says what one monitor pass
//!   does about a node, [`tainter_swap`] what the rate-limited tainter writes.
//!
//! Both taints of a pair are exclusive: a node is either not-ready or
//! unreachable, like its Ready condition is either `False` or `Unknown`.

use api_types::core::v1::{Node, Taint, Toleration};
use api_types::meta::v1::Time;

pub const TAINT_NOT_READY: &str = "node.kubernetes.io/not-ready";
pub const TAINT_UNREACHABLE: &str = "node.kubernetes.io/unreachable";
pub const TAINT_MEMORY_PRESSURE: &str = "node.kubernetes.io/memory-pressure";
pub const TAINT_DISK_PRESSURE: &str = "node.kubernetes.io/disk-pressure";
pub const TAINT_PID_PRESSURE: &str = "node.kubernetes.io/pid-pressure";
pub const TAINT_NETWORK_UNAVAILABLE: &str = "node.kubernetes.io/network-unavailable";
pub const TAINT_UNSCHEDULABLE: &str = "node.kubernetes.io/unschedulable";

pub const NO_SCHEDULE: &str = "NoSchedule";
pub const NO_EXECUTE: &str = "NoExecute";

/// A taint by key and effect (what makes two taints "the same" upstream:
/// `MatchTaint`).
pub type TaintId = (&'static str, &'static str);

pub const NOT_READY_NO_EXECUTE: TaintId = (TAINT_NOT_READY, NO_EXECUTE);
pub const UNREACHABLE_NO_EXECUTE: TaintId = (TAINT_UNREACHABLE, NO_EXECUTE);

/// (condition type, status, taint key): upstream's
/// `nodeConditionToTaintKeyStatusMap`.
const CONDITION_TAINTS: [(&str, &str, &str); 6] = [
    ("Ready", "False", TAINT_NOT_READY),
    ("Ready", "Unknown", TAINT_UNREACHABLE),
    ("MemoryPressure", "True", TAINT_MEMORY_PRESSURE),
    ("DiskPressure", "True", TAINT_DISK_PRESSURE),
    ("NetworkUnavailable", "True", TAINT_NETWORK_UNAVAILABLE),
    ("PIDPressure", "True", TAINT_PID_PRESSURE),
];

/// Whether `t` is the taint `id`.
pub fn is(t: &Taint, id: TaintId) -> bool {
    t.key == id.0 && t.effect == id.1
}

/// Whether the node has the taint `id`.
pub fn has(node: &Node, id: TaintId) -> bool {
    taints_of(node).iter().any(|t| is(t, id))
}

/// The node's taints.
pub fn taints_of(node: &Node) -> &[Taint] {
    node.spec
        .as_ref()
        .and_then(|s| s.taints.as_deref())
        .unwrap_or(&[])
}

/// The NoSchedule taints the node's conditions and `spec.unschedulable`
/// call for, as keys.
pub fn condition_taint_keys(node: &Node) -> Vec<&'static str> {
    let conditions = node
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_deref())
        .unwrap_or(&[]);
    let mut keys: Vec<&'static str> = conditions
        .iter()
        .filter_map(|c| {
            CONDITION_TAINTS
                .iter()
                .find(|(t, s, _)| c.type_ == *t && c.status == *s)
                .map(|(_, _, key)| *key)
        })
        .collect();
    if node
        .spec
        .as_ref()
        .and_then(|s| s.unschedulable)
        .unwrap_or(false)
    {
        keys.push(TAINT_UNSCHEDULABLE);
    }
    keys.sort_unstable();
    keys.dedup();
    keys
}

/// A NoSchedule taint this controller manages (one of the condition taints
/// or the unschedulable one): the others are someone else's.
fn managed_no_schedule(t: &Taint) -> bool {
    t.effect == NO_SCHEDULE
        && (t.key == TAINT_UNSCHEDULABLE || CONDITION_TAINTS.iter().any(|(_, _, k)| t.key == *k))
}

/// The node's taints with the condition NoSchedule taints made to match
/// its conditions (new ones stamped `now`); `None` when nothing changes.
/// Taints that are not ours stay as they are, in their order.
pub fn reconcile_no_schedule(node: &Node, now: Time) -> Option<Vec<Taint>> {
    let want = condition_taint_keys(node);
    let current = taints_of(node);
    let mut out: Vec<Taint> = current
        .iter()
        .filter(|t| !managed_no_schedule(t) || want.contains(&t.key.as_str()))
        .cloned()
        .collect();
    for key in want {
        if !out.iter().any(|t| t.key == key && t.effect == NO_SCHEDULE) {
            out.push(new_taint((key, NO_SCHEDULE), now));
        }
    }
    (out != current).then_some(out)
}

fn new_taint(id: TaintId, now: Time) -> Taint {
    Taint {
        key: id.0.into(),
        value: None,
        effect: id.1.into(),
        time_added: Some(now),
    }
}

/// `taints` with `add` added (stamped `now`; one already there is left
/// alone, keeping its `timeAdded`) and `remove` removed; `None` when
/// nothing changes (upstream's `SwapNodeControllerTaint`).
pub fn swap(
    taints: &[Taint],
    add: &[TaintId],
    remove: &[TaintId],
    now: Time,
) -> Option<Vec<Taint>> {
    let mut out: Vec<Taint> = taints
        .iter()
        .filter(|t| !remove.iter().any(|id| is(t, *id)))
        .cloned()
        .collect();
    for id in add {
        if !out.iter().any(|t| is(t, *id)) {
            out.push(new_taint(*id, now));
        }
    }
    (out != taints).then_some(out)
}

/// What a monitor pass does about a node's NoExecute taints, given its
/// Ready condition as observed (upstream's `processTaintBaseEviction`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoExecuteAction {
    /// The node carries the other taint of the pair: swap at once (the
    /// node was already counted against the rate limit).
    Swap { add: TaintId, remove: TaintId },
    /// Queue the node for the rate-limited tainter.
    Queue,
    /// Ready again: remove both taints and drop it from the queue.
    MarkReachable,
    /// Tainted as it should be (or an unknown status).
    Nothing,
}

/// The action for a node whose observed Ready status is `ready`.
pub fn no_execute_action(ready: &str, node: &Node) -> NoExecuteAction {
    let (want, other) = match ready {
        "False" => (NOT_READY_NO_EXECUTE, UNREACHABLE_NO_EXECUTE),
        "Unknown" => (UNREACHABLE_NO_EXECUTE, NOT_READY_NO_EXECUTE),
        "True" => return NoExecuteAction::MarkReachable,
        _ => return NoExecuteAction::Nothing,
    };
    if has(node, other) {
        NoExecuteAction::Swap {
            add: want,
            remove: other,
        }
    } else if has(node, want) {
        NoExecuteAction::Nothing
    } else {
        NoExecuteAction::Queue
    }
}

/// What the rate-limited tainter writes for a node whose Ready status is
/// `ready` now: the taint to add and the one to remove; `None` for a node
/// that is Ready again (nothing to do).
pub fn tainter_swap(ready: &str) -> Option<(TaintId, TaintId)> {
    match ready {
        "False" => Some((NOT_READY_NO_EXECUTE, UNREACHABLE_NO_EXECUTE)),
        "Unknown" => Some((UNREACHABLE_NO_EXECUTE, NOT_READY_NO_EXECUTE)),
        _ => None,
    }
}

/// Whether `t` tolerates `taint` (upstream's `Toleration.ToleratesTaint`):
/// effect empty or equal, key empty or equal, and `Exists` or an equal
/// value.
pub fn tolerates(t: &Toleration, taint: &Taint) -> bool {
    let effect = t.effect.as_deref().unwrap_or("");
    if !effect.is_empty() && effect != taint.effect {
        return false;
    }
    let key = t.key.as_deref().unwrap_or("");
    if !key.is_empty() && key != taint.key {
        return false;
    }
    match t.operator.as_deref().unwrap_or("") {
        "" | "Equal" => t.value.as_deref().unwrap_or("") == taint.value.as_deref().unwrap_or(""),
        "Exists" => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use api_types::core::v1::{NodeCondition, NodeSpec, NodeStatus};

    use super::*;

    fn node(conditions: &[(&str, &str)], taints: Vec<Taint>, unschedulable: bool) -> Node {
        Node {
            spec: Some(NodeSpec {
                taints: Some(taints),
                unschedulable: unschedulable.then_some(true),
                ..NodeSpec::default()
            }),
            status: Some(NodeStatus {
                conditions: Some(
                    conditions
                        .iter()
                        .map(|(t, s)| NodeCondition {
                            type_: (*t).into(),
                            status: (*s).into(),
                            ..NodeCondition::default()
                        })
                        .collect(),
                ),
                ..NodeStatus::default()
            }),
            ..Node::default()
        }
    }

    fn taint(key: &str, effect: &str) -> Taint {
        Taint {
            key: key.into(),
            effect: effect.into(),
            ..Taint::default()
        }
    }

    fn t0() -> Time {
        Time::parse("2025-01-01T00:00:00Z").unwrap_or_else(|e| panic!("{e}"))
    }

    fn ids(taints: &[Taint]) -> Vec<(&str, &str)> {
        taints
            .iter()
            .map(|t| (t.key.as_str(), t.effect.as_str()))
            .collect()
    }

    #[test]
    fn conditions_map_to_no_schedule_taints() {
        let healthy = node(
            &[("Ready", "True"), ("MemoryPressure", "False")],
            vec![],
            false,
        );
        assert!(condition_taint_keys(&healthy).is_empty());
        assert_eq!(reconcile_no_schedule(&healthy, t0()), None);

        let sick = node(
            &[
                ("Ready", "Unknown"),
                ("MemoryPressure", "True"),
                ("DiskPressure", "Unknown"),
                ("NetworkUnavailable", "True"),
            ],
            vec![],
            true,
        );
        assert_eq!(
            condition_taint_keys(&sick),
            [
                TAINT_MEMORY_PRESSURE,
                TAINT_NETWORK_UNAVAILABLE,
                TAINT_UNREACHABLE,
                TAINT_UNSCHEDULABLE
            ]
        );
        let not_ready = node(&[("Ready", "False")], vec![], false);
        assert_eq!(condition_taint_keys(&not_ready), [TAINT_NOT_READY]);
    }

    #[test]
    fn no_schedule_taints_follow_the_conditions_and_leave_others_alone() {
        let mine = Taint {
            time_added: Some(t0()),
            ..taint(TAINT_NOT_READY, NO_SCHEDULE)
        };
        let user = taint("dedicated", NO_SCHEDULE);
        let execute = taint(TAINT_UNREACHABLE, NO_EXECUTE);
        // Ready went from False to Unknown: not-ready goes, unreachable
        // comes; the user's taint and the NoExecute one stay.
        let n = node(
            &[("Ready", "Unknown")],
            vec![user.clone(), mine, execute.clone()],
            false,
        );
        let now = Time::parse("2025-01-01T00:01:00Z").unwrap_or_else(|e| panic!("{e}"));
        let out = reconcile_no_schedule(&n, now).unwrap_or_else(|| panic!("a change"));
        assert_eq!(
            ids(&out),
            [
                ("dedicated", NO_SCHEDULE),
                (TAINT_UNREACHABLE, NO_EXECUTE),
                (TAINT_UNREACHABLE, NO_SCHEDULE)
            ]
        );
        assert_eq!(out[2].time_added, Some(now));
        // Once there, nothing more to do.
        let n = node(&[("Ready", "Unknown")], out, false);
        assert_eq!(reconcile_no_schedule(&n, now), None);
        // Ready again: only the condition taint goes.
        let n = node(&[("Ready", "True")], taints_of(&n).to_vec(), false);
        let out = reconcile_no_schedule(&n, now).unwrap_or_else(|| panic!("a change"));
        assert_eq!(out, [user, execute]);
    }

    #[test]
    fn swapping_adds_once_and_removes() {
        let now = t0();
        let out = swap(
            &[taint("a", NO_SCHEDULE), taint(TAINT_NOT_READY, NO_EXECUTE)],
            &[UNREACHABLE_NO_EXECUTE],
            &[NOT_READY_NO_EXECUTE],
            now,
        )
        .unwrap_or_else(|| panic!("a change"));
        assert_eq!(
            ids(&out),
            [("a", NO_SCHEDULE), (TAINT_UNREACHABLE, NO_EXECUTE)]
        );
        assert_eq!(out[1].time_added, Some(now));
        // Already so: no write, and the first timeAdded is kept.
        let later = Time::parse("2025-01-01T00:05:00Z").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            swap(
                &out,
                &[UNREACHABLE_NO_EXECUTE],
                &[NOT_READY_NO_EXECUTE],
                later
            ),
            None
        );
        // The NoSchedule twin is another taint.
        let keep = [taint(TAINT_UNREACHABLE, NO_SCHEDULE)];
        assert_eq!(swap(&keep, &[], &[UNREACHABLE_NO_EXECUTE], now), None);
    }

    #[test]
    fn monitor_pass_actions() {
        let bare = node(&[], vec![], false);
        let unreachable = node(&[], vec![taint(TAINT_UNREACHABLE, NO_EXECUTE)], false);
        let not_ready = node(&[], vec![taint(TAINT_NOT_READY, NO_EXECUTE)], false);
        assert_eq!(no_execute_action("Unknown", &bare), NoExecuteAction::Queue);
        assert_eq!(no_execute_action("False", &bare), NoExecuteAction::Queue);
        assert_eq!(
            no_execute_action("Unknown", &unreachable),
            NoExecuteAction::Nothing
        );
        assert_eq!(
            no_execute_action("Unknown", &not_ready),
            NoExecuteAction::Swap {
                add: UNREACHABLE_NO_EXECUTE,
                remove: NOT_READY_NO_EXECUTE
            }
        );
        assert_eq!(
            no_execute_action("False", &unreachable),
            NoExecuteAction::Swap {
                add: NOT_READY_NO_EXECUTE,
                remove: UNREACHABLE_NO_EXECUTE
            }
        );
        assert_eq!(
            no_execute_action("True", &unreachable),
            NoExecuteAction::MarkReachable
        );
        assert_eq!(no_execute_action("Maybe", &bare), NoExecuteAction::Nothing);
        assert_eq!(
            tainter_swap("Unknown"),
            Some((UNREACHABLE_NO_EXECUTE, NOT_READY_NO_EXECUTE))
        );
        assert_eq!(tainter_swap("True"), None);
    }

    #[test]
    fn tolerations_match_like_upstream() {
        let t = |key: Option<&str>, op: Option<&str>, value: Option<&str>, effect: Option<&str>| {
            Toleration {
                key: key.map(Into::into),
                operator: op.map(Into::into),
                value: value.map(Into::into),
                effect: effect.map(Into::into),
                toleration_seconds: None,
            }
        };
        let unreachable = taint(TAINT_UNREACHABLE, NO_EXECUTE);
        let valued = Taint {
            value: Some("gpu".into()),
            ..taint("dedicated", NO_EXECUTE)
        };
        assert!(tolerates(
            &t(
                Some(TAINT_UNREACHABLE),
                Some("Exists"),
                None,
                Some(NO_EXECUTE)
            ),
            &unreachable
        ));
        assert!(tolerates(
            &t(None, Some("Exists"), None, None),
            &unreachable
        ));
        assert!(!tolerates(
            &t(
                Some(TAINT_UNREACHABLE),
                Some("Exists"),
                None,
                Some(NO_SCHEDULE)
            ),
            &unreachable
        ));
        assert!(!tolerates(
            &t(Some(TAINT_NOT_READY), Some("Exists"), None, None),
            &unreachable
        ));
        assert!(tolerates(
            &t(Some("dedicated"), None, Some("gpu"), None),
            &valued
        ));
        assert!(tolerates(
            &t(Some("dedicated"), Some("Equal"), Some("gpu"), None),
            &valued
        ));
        assert!(!tolerates(
            &t(Some("dedicated"), Some("Equal"), Some("cpu"), None),
            &valued
        ));
        assert!(!tolerates(
            &t(Some("dedicated"), Some("In"), Some("gpu"), None),
            &valued
        ));
    }
}

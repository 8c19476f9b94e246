//! Decide: when must a pod leave a `NoExecute`-tainted node? (pure;
//! upstream's taint eviction controller, once the NoExecuteTaintManager)
//!
//! For each `NoExecute` taint of the pod's node, the first of the pod's
//! tolerations that tolerates it is the one that counts:
//! - a taint no toleration tolerates: the pod is deleted **now**;
//! - tolerations without `tolerationSeconds`: the pod may stay **forever**;
//! - otherwise the pod is deleted once the shortest `tolerationSeconds`
//!   has passed since the taint came.
//!
//! Every pod gets `tolerationSeconds: 300` for `not-ready` and
//! `unreachable` by default (the apiserver's DefaultTolerationSeconds), so
//! pods leave a dead node five minutes after it is tainted.
//!
//! "Since the taint came" is the earlier of the taint's `timeAdded` and
//! when this controller first put the pod on its schedule: the clock
//! survives a controller restart (through `timeAdded`) and does not start
//! again when `not-ready` is swapped for `unreachable` (through the
//! schedule), as upstream's does not. `timeAdded` has whole seconds, so it
//! counts from the end of its second: a pod may stay a little longer than
//! its `tolerationSeconds`, never shorter.

use api_types::core::v1::{Node, Taint, Toleration};
use chrono::{DateTime, Duration, Utc};

use super::taints::{NO_EXECUTE, taints_of, tolerates};

/// What to do about one pod.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// No `NoExecute` taint, or all tolerated forever: nothing scheduled.
    Stay,
    /// Delete it now.
    EvictNow,
    /// Delete it at this time (unless things change).
    EvictAt(DateTime<Utc>),
}

/// The node's `NoExecute` taints.
pub fn no_execute_taints(node: &Node) -> Vec<&Taint> {
    taints_of(node)
        .iter()
        .filter(|t| t.effect == NO_EXECUTE)
        .collect()
}

/// The verdict for a pod with `tolerations` on a node with the
/// `NoExecute` taints `taints`. `scheduled_since` is when the pod was
/// first put on the schedule (or now, for a pod that is not on it).
pub fn verdict(
    taints: &[&Taint],
    tolerations: &[Toleration],
    scheduled_since: DateTime<Utc>,
) -> Verdict {
    let mut deadline: Option<DateTime<Utc>> = None;
    for taint in taints {
        let Some(t) = tolerations.iter().find(|t| tolerates(t, taint)) else {
            return Verdict::EvictNow;
        };
        let Some(secs) = t.toleration_seconds else {
            continue; // forever
        };
        if secs <= 0 {
            return Verdict::EvictNow;
        }
        let since = taint.time_added.map_or(scheduled_since, |added| {
            (added.0 + Duration::seconds(1)).min(scheduled_since)
        });
        // Beyond chrono's range: as good as forever.
        let Some(at) = Duration::try_seconds(secs).and_then(|d| since.checked_add_signed(d)) else {
            continue;
        };
        deadline = Some(deadline.map_or(at, |d| d.min(at)));
    }
    deadline.map_or(Verdict::Stay, Verdict::EvictAt)
}

#[cfg(test)]
mod tests {
    use api_types::meta::v1::Time;

    use super::*;
    use crate::nodelifecycle::taints::{TAINT_NOT_READY, TAINT_UNREACHABLE};

    fn at(s: &str) -> DateTime<Utc> {
        Time::parse(s).unwrap_or_else(|e| panic!("{e}")).0
    }

    fn taint(key: &str, added: Option<&str>) -> Taint {
        Taint {
            key: key.into(),
            value: None,
            effect: NO_EXECUTE.into(),
            time_added: added.map(|s| Time(at(s))),
        }
    }

    fn toleration(key: &str, secs: Option<i64>) -> Toleration {
        Toleration {
            key: Some(key.into()),
            operator: Some("Exists".into()),
            value: None,
            effect: Some(NO_EXECUTE.into()),
            toleration_seconds: secs,
        }
    }

    /// What the apiserver gives every pod.
    fn defaults() -> Vec<Toleration> {
        vec![
            toleration(TAINT_NOT_READY, Some(300)),
            toleration(TAINT_UNREACHABLE, Some(300)),
        ]
    }

    const NOW: &str = "2025-01-01T00:10:00Z";

    #[test]
    fn no_taint_no_eviction() {
        assert_eq!(verdict(&[], &[], at(NOW)), Verdict::Stay);
    }

    #[test]
    fn an_untolerated_taint_evicts_at_once() {
        let t = taint(TAINT_UNREACHABLE, Some("2025-01-01T00:09:59Z"));
        assert_eq!(verdict(&[&t], &[], at(NOW)), Verdict::EvictNow);
        // Tolerating the NoSchedule twin is not tolerating this one.
        let mut no_schedule = toleration(TAINT_UNREACHABLE, None);
        no_schedule.effect = Some("NoSchedule".into());
        assert_eq!(verdict(&[&t], &[no_schedule], at(NOW)), Verdict::EvictNow);
        // One of two taints untolerated is enough.
        let other = taint("dedicated", None);
        assert_eq!(
            verdict(&[&t, &other], &defaults(), at(NOW)),
            Verdict::EvictNow
        );
    }

    #[test]
    fn the_default_tolerations_give_five_minutes_from_the_taint() {
        // Tainted during 00:08:00 (timeAdded has whole seconds): five
        // minutes from the end of that second.
        let t = taint(TAINT_UNREACHABLE, Some("2025-01-01T00:08:00Z"));
        assert_eq!(
            verdict(&[&t], &defaults(), at(NOW)),
            Verdict::EvictAt(at("2025-01-01T00:13:01Z"))
        );
        // Scheduled within that second: from then.
        assert_eq!(
            verdict(&[&t], &defaults(), at("2025-01-01T00:08:00Z")),
            Verdict::EvictAt(at("2025-01-01T00:13:00Z"))
        );
        // A taint without timeAdded: from when the pod was scheduled.
        let t = taint(TAINT_UNREACHABLE, None);
        assert_eq!(
            verdict(&[&t], &defaults(), at(NOW)),
            Verdict::EvictAt(at("2025-01-01T00:15:00Z"))
        );
    }

    #[test]
    fn a_swapped_taint_does_not_restart_the_clock() {
        // not-ready since 00:00, swapped for unreachable at 00:04: the pod
        // was scheduled at 00:00 and still leaves at 00:05.
        let t = taint(TAINT_UNREACHABLE, Some("2025-01-01T00:04:00Z"));
        assert_eq!(
            verdict(&[&t], &defaults(), at("2025-01-01T00:00:00Z")),
            Verdict::EvictAt(at("2025-01-01T00:05:00Z"))
        );
    }

    #[test]
    fn the_shortest_toleration_wins_and_forever_is_forever() {
        let a = taint(TAINT_UNREACHABLE, Some("2025-01-01T00:00:00Z"));
        let b = taint("maintenance", Some("2025-01-01T00:09:00Z"));
        let tolerations = vec![
            toleration(TAINT_UNREACHABLE, Some(600)),
            toleration("maintenance", Some(30)),
        ];
        assert_eq!(
            verdict(&[&a, &b], &tolerations, at(NOW)),
            Verdict::EvictAt(at("2025-01-01T00:09:31Z"))
        );
        let forever = vec![toleration(TAINT_UNREACHABLE, None)];
        assert_eq!(verdict(&[&a], &forever, at(NOW)), Verdict::Stay);
        // The first matching toleration counts (as upstream).
        let first = vec![
            toleration(TAINT_UNREACHABLE, None),
            toleration(TAINT_UNREACHABLE, Some(1)),
        ];
        assert_eq!(verdict(&[&a], &first, at(NOW)), Verdict::Stay);
        // Zero or negative seconds: now.
        let zero = vec![toleration(TAINT_UNREACHABLE, Some(0))];
        assert_eq!(verdict(&[&a], &zero, at(NOW)), Verdict::EvictNow);
    }

    #[test]
    fn a_deadline_in_the_past_is_still_a_deadline() {
        // The caller deletes when the time is not in the future.
        let t = taint(TAINT_UNREACHABLE, Some("2025-01-01T00:00:00Z"));
        assert_eq!(
            verdict(&[&t], &defaults(), at(NOW)),
            Verdict::EvictAt(at("2025-01-01T00:05:01Z"))
        );
    }
}

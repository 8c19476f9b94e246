//! Decide: what to do with one object, given what the apiserver said about
//! each of its owners (upstream: `attemptToDeleteItem`,
//! `processDeletingDependentsItem` and the patches in `patch.go`). Pure.

use api_types::meta::v1::OwnerReference;
use serde_json::{Value, json};

use super::graph::{FINALIZER_FOREGROUND, FINALIZER_ORPHAN};

/// What an owner reference points at, as checked with a live GET.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OwnerState {
    /// The owner exists and is not waiting for its dependents.
    Solid,
    /// Nothing with that name and UID exists.
    Dangling,
    /// The owner is being deleted in the foreground (it has a
    /// `deletionTimestamp` and the `foregroundDeletion` finalizer).
    WaitingForDependentsDeletion,
}

/// `propagationPolicy` of a DELETE.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Policy {
    Background,
    Foreground,
    Orphan,
}

impl Policy {
    pub fn as_str(self) -> &'static str {
        match self {
            Policy::Background => "Background",
            Policy::Foreground => "Foreground",
            Policy::Orphan => "Orphan",
        }
    }
}

/// What to do with an object whose owners were classified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// It has an owner that stays: leave it.
    Keep,
    /// It has an owner that stays, but these references (UIDs) point at
    /// owners that are gone or waiting for it: drop them.
    RemoveReferences(Vec<String>),
    /// Its owners are gone or waiting, and it has dependents of its own:
    /// delete it in the foreground so they go first. `unblock` first makes
    /// its own references non-blocking, to break a possible cycle of
    /// foreground deletions.
    DeleteInForeground { unblock: bool },
    /// Nothing holds it: delete it.
    Delete(Policy),
}

/// Upstream's decision for an object with at least one owner reference.
///
/// - `refs`: each reference and what it points at;
/// - `has_dependents`: the object owns something itself;
/// - `a_dependent_deletes_dependents`: one of those is itself in a
///   foreground deletion;
/// - `finalizers`: the object's own, which choose the policy when it is
///   deleted (an `orphan` or `foregroundDeletion` already there is kept).
pub fn decide(
    refs: &[(OwnerReference, OwnerState)],
    has_dependents: bool,
    a_dependent_deletes_dependents: bool,
    finalizers: &[String],
) -> Action {
    let uids = |state: OwnerState| -> Vec<String> {
        refs.iter()
            .filter(|(_, s)| *s == state)
            .map(|(r, _)| r.uid.clone())
            .collect()
    };
    let solid = refs.iter().any(|(_, s)| *s == OwnerState::Solid);
    let dangling = uids(OwnerState::Dangling);
    let waiting = uids(OwnerState::WaitingForDependentsDeletion);
    if solid {
        if dangling.is_empty() && waiting.is_empty() {
            return Action::Keep;
        }
        // A waiting owner must be dropped too, or it would wait for an
        // object that is not going anywhere.
        return Action::RemoveReferences(dangling.into_iter().chain(waiting).collect());
    }
    if !waiting.is_empty() && has_dependents {
        return Action::DeleteInForeground {
            unblock: a_dependent_deletes_dependents,
        };
    }
    let has = |f: &str| finalizers.iter().any(|x| x == f);
    Action::Delete(if has(FINALIZER_ORPHAN) {
        Policy::Orphan
    } else if has(FINALIZER_FOREGROUND) {
        Policy::Foreground
    } else {
        Policy::Background
    })
}

/// A strategic merge patch that deletes the references to `owners` from
/// the object `uid` (the UID makes it fail on a namesake).
pub fn remove_references_patch(uid: &str, owners: &[String]) -> Value {
    let refs: Vec<Value> = owners
        .iter()
        .map(|o| json!({"$patch": "delete", "uid": o}))
        .collect();
    json!({"metadata": {"ownerReferences": refs, "uid": uid}})
}

/// A strategic merge patch that sets `blockOwnerDeletion: false` on every
/// blocking reference of the object `uid`.
pub fn unblock_patch(uid: &str, owners: &[OwnerReference]) -> Value {
    let refs: Vec<OwnerReference> = owners
        .iter()
        .filter(|r| r.block_owner_deletion == Some(true))
        .map(|r| OwnerReference {
            block_owner_deletion: Some(false),
            ..r.clone()
        })
        .collect();
    json!({"metadata": {"ownerReferences": refs, "uid": uid}})
}

/// A merge patch setting the finalizers to `finalizers` minus `remove`,
/// valid only at `resource_version`; `None` when `remove` is not there.
pub fn remove_finalizer_patch(
    resource_version: &str,
    finalizers: &[String],
    remove: &str,
) -> Option<Value> {
    if !finalizers.iter().any(|f| f == remove) {
        return None;
    }
    let rest: Vec<&String> = finalizers.iter().filter(|f| *f != remove).collect();
    Some(json!({"metadata": {"resourceVersion": resource_version, "finalizers": rest}}))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use OwnerState::*;

    fn r(uid: &str, block: bool) -> OwnerReference {
        OwnerReference {
            api_version: "apps/v1".into(),
            kind: "ReplicaSet".into(),
            name: format!("rs-{uid}"),
            uid: uid.into(),
            controller: None,
            block_owner_deletion: Some(block),
        }
    }

    #[test]
    fn a_solid_owner_keeps_the_object() {
        assert_eq!(
            decide(&[(r("a", true), Solid)], false, false, &[]),
            Action::Keep
        );
    }

    #[test]
    fn a_solid_owner_keeps_it_but_dangling_and_waiting_references_go() {
        let refs = [
            (r("a", true), Solid),
            (r("b", true), Dangling),
            (r("c", true), WaitingForDependentsDeletion),
        ];
        assert_eq!(
            decide(&refs, true, false, &[]),
            Action::RemoveReferences(vec!["b".into(), "c".into()])
        );
    }

    #[test]
    fn with_every_owner_gone_it_is_deleted_in_the_background() {
        let refs = [(r("a", true), Dangling), (r("b", false), Dangling)];
        assert_eq!(
            decide(&refs, true, false, &[]),
            Action::Delete(Policy::Background)
        );
    }

    #[test]
    fn its_own_finalizers_choose_the_policy() {
        let refs = [(r("a", true), Dangling)];
        assert_eq!(
            decide(&refs, false, false, &["orphan".into()]),
            Action::Delete(Policy::Orphan)
        );
        assert_eq!(
            decide(&refs, false, false, &["foregroundDeletion".into()]),
            Action::Delete(Policy::Foreground)
        );
    }

    #[test]
    fn a_waiting_owner_takes_its_dependents_along() {
        let refs = [(r("a", true), WaitingForDependentsDeletion)];
        // Nothing of its own: a plain delete.
        assert_eq!(
            decide(&refs, false, false, &[]),
            Action::Delete(Policy::Background)
        );
        // Dependents of its own: they go first (foreground), and a
        // dependent already waiting means a possible cycle: unblock.
        assert_eq!(
            decide(&refs, true, false, &[]),
            Action::DeleteInForeground { unblock: false }
        );
        assert_eq!(
            decide(&refs, true, true, &[]),
            Action::DeleteInForeground { unblock: true }
        );
    }

    #[test]
    fn patches_have_upstreams_shape() {
        assert_eq!(
            remove_references_patch("me", &["a".into()]),
            json!({"metadata": {"ownerReferences": [{"$patch": "delete", "uid": "a"}], "uid": "me"}})
        );
        let p = unblock_patch("me", &[r("a", true), r("b", false)]);
        assert_eq!(
            p["metadata"]["ownerReferences"].as_array().unwrap().len(),
            1
        );
        assert_eq!(
            p["metadata"]["ownerReferences"][0]["blockOwnerDeletion"],
            false
        );
        assert_eq!(p["metadata"]["ownerReferences"][0]["uid"], "a");
        let f = ["x".to_string(), "orphan".to_string()];
        assert_eq!(
            remove_finalizer_patch("7", &f, "orphan").unwrap(),
            json!({"metadata": {"resourceVersion": "7", "finalizers": ["x"]}})
        );
        assert!(remove_finalizer_patch("7", &f, "foregroundDeletion").is_none());
    }
}

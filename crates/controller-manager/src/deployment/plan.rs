//! Decide: the arithmetic of a rollout, as pure functions of the cached
//! Deployment and its ReplicaSets (upstream: `pkg/controller/deployment`,
//! `rolling.go`, `recreate.go`, `sync.go` and `util/deployment_util.go`).
//!
//! A ReplicaSet is seen through [`Rs`]: its name, `spec.replicas`, status
//! counts, age and the annotations the controller keeps on it. The
//! functions here answer, for one sync:
//! - how far the new ReplicaSet may grow ([`new_rs_replicas`]);
//! - which old ReplicaSets shrink and by how much ([`scale_down_old`]);
//! - how a scale change is shared among ReplicaSets mid-rollout
//!   ([`proportional_scale`]);
//! - the status and the `Progressing`/`Available` conditions
//!   ([`status`]);
//! - which old ReplicaSets are beyond `revisionHistoryLimit`
//!   ([`history_to_delete`]).

use api_types::apps::v1::{Deployment, DeploymentCondition, DeploymentStatus};
use api_types::intstr::IntOrString;
use api_types::meta::v1::Time;
use chrono::{DateTime, Utc};

/// Annotation: the revision of a ReplicaSet (and of its Deployment).
pub const REVISION: &str = "deployment.kubernetes.io/revision";
/// Annotation: older revisions this ReplicaSet has had (after rollbacks).
pub const REVISION_HISTORY: &str = "deployment.kubernetes.io/revision-history";
/// Annotation: the Deployment's `replicas` when the ReplicaSet was last scaled.
pub const DESIRED_REPLICAS: &str = "deployment.kubernetes.io/desired-replicas";
/// Annotation: `replicas + maxSurge` when the ReplicaSet was last scaled.
pub const MAX_REPLICAS: &str = "deployment.kubernetes.io/max-replicas";
/// The label that tells the pods of one template from another's.
pub const POD_TEMPLATE_HASH: &str = "pod-template-hash";

/// Deployment annotations that are not copied onto its ReplicaSets.
pub const NOT_COPIED: &[&str] = &[
    "kubectl.kubernetes.io/last-applied-configuration",
    REVISION,
    REVISION_HISTORY,
    DESIRED_REPLICAS,
    MAX_REPLICAS,
    "deprecated.deployment.rollback.to",
];

/// Event and `Progressing` reason when the new ReplicaSet cannot be created.
pub const CREATE_ERROR: &str = "ReplicaSetCreateError";

/// A ReplicaSet as the rollout arithmetic sees it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Rs {
    pub name: String,
    /// `spec.replicas`.
    pub replicas: i32,
    /// `status.replicas`, `readyReplicas`, `availableReplicas`.
    pub current: i32,
    pub ready: i32,
    pub available: i32,
    pub created: Option<DateTime<Utc>>,
    pub revision: i64,
    /// The `max-replicas` annotation, if any.
    pub max_replicas: Option<i32>,
    /// The `desired-replicas` annotation, if any.
    pub desired_replicas: Option<i32>,
}

/// What a Deployment's spec says, with defaults applied.
#[derive(Clone, Debug, PartialEq)]
pub struct Spec {
    pub replicas: i32,
    pub recreate: bool,
    /// Resolved against `replicas` ([`fenceposts`]).
    pub max_surge: i32,
    pub max_unavailable: i32,
    pub min_ready_seconds: i32,
    pub revision_history_limit: i32,
    pub paused: bool,
    /// `progressDeadlineSeconds` (`None`: never times out).
    pub progress_deadline: Option<i32>,
}

impl Spec {
    /// The spec of `d`, defaulted as the apiserver does.
    pub fn of(d: &Deployment) -> Result<Spec, String> {
        let spec = d.spec.clone().unwrap_or_default();
        let replicas = spec.replicas.unwrap_or(1);
        let strategy = spec.strategy.unwrap_or_default();
        let recreate = strategy.type_.as_deref() == Some("Recreate");
        let (max_surge, max_unavailable) = if recreate {
            (0, 0)
        } else {
            let ru = strategy.rolling_update.unwrap_or_default();
            let pct = IntOrString::String("25%".into());
            fenceposts(
                ru.max_surge.as_ref().unwrap_or(&pct),
                ru.max_unavailable.as_ref().unwrap_or(&pct),
                replicas,
            )?
        };
        Ok(Spec {
            replicas,
            recreate,
            max_surge,
            max_unavailable,
            min_ready_seconds: spec.min_ready_seconds.unwrap_or(0),
            revision_history_limit: spec.revision_history_limit.unwrap_or(10),
            paused: spec.paused.unwrap_or(false),
            progress_deadline: match spec.progress_deadline_seconds {
                // Upstream's "never" is MaxInt32.
                Some(i32::MAX) => None,
                Some(s) => Some(s),
                None => Some(600),
            },
        })
    }
}

/// `maxSurge` and `maxUnavailable` as pod counts for `replicas`: a
/// percentage of surge rounds up, of unavailability down; both zero would
/// deadlock, so unavailability becomes 1 (upstream: `ResolveFenceposts`).
pub fn fenceposts(
    surge: &IntOrString,
    unavailable: &IntOrString,
    replicas: i32,
) -> Result<(i32, i32), String> {
    let surge = scaled(surge, replicas, true)?.max(0);
    let mut unavailable = scaled(unavailable, replicas, false)?.max(0);
    if surge == 0 && unavailable == 0 {
        unavailable = 1;
    }
    Ok((surge, unavailable))
}

fn scaled(v: &IntOrString, total: i32, round_up: bool) -> Result<i32, String> {
    match v {
        IntOrString::Int(n) => Ok(*n),
        IntOrString::String(s) => {
            let pct: i64 = s
                .strip_suffix('%')
                .and_then(|p| p.parse().ok())
                .ok_or_else(|| format!("invalid value for IntOrString: invalid value {s:?}"))?;
            let product = pct
                .checked_mul(i64::from(total))
                .ok_or_else(|| format!("{s} of {total} is out of range"))?;
            let v = if round_up {
                product.saturating_add(99).div_euclid(100)
            } else {
                product.div_euclid(100)
            };
            i32::try_from(v).map_err(|_| format!("{s} of {total} is out of range"))
        }
    }
}

/// A sum of counts, saturating (replica counts are user input).
fn sum(rss: &[Rs], f: impl Fn(&Rs) -> i32) -> i32 {
    let total: i64 = rss.iter().map(|r| i64::from(f(r))).sum();
    i32::try_from(total).unwrap_or(if total < 0 { i32::MIN } else { i32::MAX })
}

/// The size the new ReplicaSet should have now (upstream:
/// `NewRSNewReplicas`): under Recreate, all of it; under RollingUpdate, as
/// much as the surge allows, never more than `replicas`.
pub fn new_rs_replicas(spec: &Spec, all: &[Rs], new: &Rs) -> i32 {
    if spec.recreate {
        return spec.replicas;
    }
    let max_total = spec.replicas.saturating_add(spec.max_surge);
    let current = sum(all, |r| r.replicas);
    if current >= max_total {
        return new.replicas;
    }
    let up = max_total
        .saturating_sub(current)
        .min(spec.replicas.saturating_sub(new.replicas))
        .max(0);
    new.replicas.saturating_add(up)
}

/// New sizes for old ReplicaSets in a rolling update (upstream:
/// `reconcileOldReplicaSets`). First the old pods that are not available
/// anyway go; then available ones, oldest ReplicaSet first, as long as
/// `replicas - maxUnavailable` stay available. Returns `(index in old,
/// new size)` for each one that shrinks.
pub fn scale_down_old(spec: &Spec, old: &[Rs], new: Option<&Rs>) -> Vec<(usize, i32)> {
    if sum(old, |r| r.replicas) == 0 {
        return Vec::new();
    }
    let mut sizes: Vec<i32> = old.iter().map(|r| r.replicas).collect();
    let all_pods = sum(old, |r| r.replicas).saturating_add(new.map_or(0, |n| n.replicas));
    let min_available = spec.replicas.saturating_sub(spec.max_unavailable);
    let new_unavailable = new.map_or(0, |n| n.replicas.saturating_sub(n.available).max(0));
    let max_scaled_down = all_pods
        .saturating_sub(min_available)
        .saturating_sub(new_unavailable);
    if max_scaled_down <= 0 {
        return Vec::new();
    }
    let mut order: Vec<usize> = (0..old.len()).collect();
    order.sort_by(|&a, &b| oldest_first(&old[a], &old[b]));
    // Unhealthy old pods first: they cost no availability.
    let mut cleaned = 0;
    for &i in &order {
        if cleaned >= max_scaled_down {
            break;
        }
        let r = &old[i];
        // More available than wanted is normal just after a scale-down
        // (the status lags): nothing unhealthy there.
        let unhealthy = r.replicas.saturating_sub(r.available).max(0);
        if unhealthy == 0 {
            continue;
        }
        let down = (max_scaled_down - cleaned).min(unhealthy);
        sizes[i] -= down;
        cleaned += down;
    }
    // Then available ones, within maxUnavailable.
    let available = sum(old, |r| r.available).saturating_add(new.map_or(0, |n| n.available));
    if available > min_available {
        let mut left = available.saturating_sub(min_available);
        for &i in &order {
            if left == 0 {
                break;
            }
            if sizes[i] == 0 {
                continue;
            }
            let down = sizes[i].min(left);
            sizes[i] -= down;
            left -= down;
        }
    }
    order
        .into_iter()
        .filter(|&i| sizes[i] != old[i].replicas)
        .map(|i| (i, sizes[i]))
        .collect()
}

fn oldest_first(a: &Rs, b: &Rs) -> std::cmp::Ordering {
    a.created.cmp(&b.created).then_with(|| a.name.cmp(&b.name))
}

/// Is this sync a scale change rather than a rollout step? Yes when an
/// active ReplicaSet was last sized for a different `replicas` (upstream:
/// `isScalingEvent`).
pub fn is_scaling_event(spec: &Spec, all: &[Rs]) -> bool {
    all.iter()
        .filter(|r| r.replicas > 0)
        .any(|r| r.desired_replicas.is_some_and(|d| d != spec.replicas))
}

/// New sizes when `replicas` changed (upstream: `scale`). Returns `(index
/// in all, new size)` for each ReplicaSet that changes; `new` is the index
/// of the new ReplicaSet in `all`, if it exists.
///
/// - One active ReplicaSet (or none): it (or the newest) takes `replicas`.
/// - The new one is complete: old ones go to zero.
/// - Mid rolling update: the change (within `replicas + maxSurge`) is
///   shared in proportion to each ReplicaSet's size, the rounding rest
///   going to the largest, so a rollout at 30 % stays at 30 %.
pub fn proportional_scale(spec: &Spec, all: &[Rs], new: Option<usize>) -> Vec<(usize, i32)> {
    let active: Vec<usize> = (0..all.len()).filter(|&i| all[i].replicas > 0).collect();
    let target = match active.as_slice() {
        [only] => Some(*only),
        [] => new.or_else(|| newest(all)),
        _ => None,
    };
    if let Some(i) = target {
        return if all[i].replicas == spec.replicas {
            Vec::new()
        } else {
            vec![(i, spec.replicas)]
        };
    }
    if let Some(n) = new
        && all[n].replicas == spec.replicas
        && all[n].available == spec.replicas
    {
        return (0..all.len())
            .filter(|&i| i != n && all[i].replicas != 0)
            .map(|i| (i, 0))
            .collect();
    }
    if spec.recreate {
        return Vec::new();
    }
    let current = sum(all, |r| r.replicas);
    let allowed = if spec.replicas > 0 {
        spec.replicas.saturating_add(spec.max_surge)
    } else {
        0
    };
    let to_add = allowed.saturating_sub(current);
    if to_add == 0 {
        return Vec::new();
    }
    // Scaling up: bigger (then newer) first; down: bigger (then older) first.
    let mut order = active;
    order.sort_by(|&a, &b| {
        let (ra, rb) = (&all[a], &all[b]);
        rb.replicas.cmp(&ra.replicas).then_with(|| {
            if to_add > 0 {
                rb.created.cmp(&ra.created)
            } else {
                ra.created.cmp(&rb.created)
            }
        })
    });
    let mut sizes: Vec<i32> = all.iter().map(|r| r.replicas).collect();
    let mut added = 0;
    for &i in &order {
        let share = proportion(&all[i], spec, to_add, added);
        sizes[i] = sizes[i].saturating_add(share);
        added = added.saturating_add(share);
    }
    // The rounding rest goes to the largest.
    if let Some(&first) = order.first() {
        let rest = to_add.saturating_sub(added);
        sizes[first] = sizes[first].saturating_add(rest).max(0);
    }
    (0..all.len())
        .filter(|&i| sizes[i] != all[i].replicas)
        .map(|i| (i, sizes[i]))
        .collect()
}

fn newest(all: &[Rs]) -> Option<usize> {
    (0..all.len()).max_by(|&a, &b| oldest_first(&all[a], &all[b]))
}

/// This ReplicaSet's share of `to_add` (upstream: `getReplicaSetProportion`).
fn proportion(rs: &Rs, spec: &Spec, to_add: i32, added: i32) -> i32 {
    if rs.replicas == 0 || to_add == 0 || to_add == added {
        return 0;
    }
    let fraction = if spec.replicas == 0 {
        -rs.replicas
    } else {
        let deployment_max = f64::from(spec.replicas.saturating_add(spec.max_surge));
        // Sized for what total, last time?
        let annotated = rs.max_replicas.filter(|&m| m > 0);
        match annotated {
            Some(m) => {
                let size = (f64::from(rs.replicas) * deployment_max / f64::from(m)).round();
                // Bounded: a size of at most i32::MAX * 2.
                #[allow(clippy::cast_possible_truncation)]
                let size = size.clamp(f64::from(i32::MIN), f64::from(i32::MAX)) as i32;
                size.saturating_sub(rs.replicas)
            }
            None => 0,
        }
    };
    let allowed = to_add.saturating_sub(added);
    if to_add > 0 {
        fraction.min(allowed)
    } else {
        fraction.max(allowed)
    }
}

/// Old ReplicaSets (indexes in `old`) to delete beyond
/// `revisionHistoryLimit`: empty ones, oldest first.
pub fn history_to_delete(spec: &Spec, old: &[Rs]) -> Vec<usize> {
    let limit = usize::try_from(spec.revision_history_limit.max(0)).unwrap_or(0);
    let mut empty: Vec<usize> = (0..old.len())
        .filter(|&i| old[i].replicas == 0 && old[i].current == 0)
        .collect();
    if empty.len() <= limit {
        return Vec::new();
    }
    empty.sort_by(|&a, &b| {
        old[a]
            .revision
            .cmp(&old[b].revision)
            .then_with(|| oldest_first(&old[a], &old[b]))
    });
    let n = empty.len() - limit;
    empty.truncate(n);
    empty
}

/// The next revision: one more than any ReplicaSet's.
pub fn next_revision(old: &[Rs]) -> i64 {
    old.iter()
        .map(|r| r.revision)
        .max()
        .unwrap_or(0)
        .saturating_add(1)
}

/// What the status should say.
#[derive(Clone, Debug)]
pub struct StatusInput<'a> {
    pub spec: &'a Spec,
    pub generation: i64,
    pub all: &'a [Rs],
    pub new: Option<&'a Rs>,
    /// The status now (for conditions' times and progress).
    pub previous: &'a DeploymentStatus,
    pub now: DateTime<Utc>,
    /// Whether this sync is a rollout (not a scale-only or paused sync):
    /// only then does `Progressing` move.
    pub rollout: bool,
    /// This sync created the new ReplicaSet.
    pub created_new: bool,
}

/// The counts of a status (upstream: `calculateStatus`).
fn counts(input: &StatusInput<'_>) -> DeploymentStatus {
    let all = input.all;
    let available = sum(all, |r| r.available);
    DeploymentStatus {
        observed_generation: Some(input.generation),
        replicas: Some(sum(all, |r| r.current)),
        updated_replicas: Some(input.new.map_or(0, |n| n.current)),
        ready_replicas: Some(sum(all, |r| r.ready)),
        available_replicas: Some(available),
        unavailable_replicas: Some(sum(all, |r| r.replicas).saturating_sub(available).max(0)),
        terminating_replicas: None,
        conditions: input.previous.conditions.clone(),
        collision_count: input.previous.collision_count,
    }
}

/// Sets condition `c` unless one of its type already has the same status
/// and reason; the transition time stays when only the reason changes
/// (upstream: `SetDeploymentCondition`).
fn set_condition(conditions: &mut Vec<DeploymentCondition>, mut c: DeploymentCondition) {
    if let Some(old) = conditions.iter_mut().find(|o| o.type_ == c.type_) {
        if old.status == c.status && old.reason == c.reason {
            return;
        }
        if old.status == c.status {
            c.last_transition_time = old.last_transition_time;
        }
        *old = c;
    } else {
        conditions.push(c);
    }
}

fn condition(
    t: &str,
    status: &str,
    reason: &str,
    message: String,
    now: Time,
) -> DeploymentCondition {
    DeploymentCondition {
        type_: t.into(),
        status: status.into(),
        last_update_time: Some(now),
        last_transition_time: Some(now),
        reason: Some(reason.into()),
        message: Some(message),
    }
}

fn progressing(conditions: &[DeploymentCondition]) -> Option<&DeploymentCondition> {
    conditions.iter().find(|c| c.type_ == "Progressing")
}

/// Replicas, updated, available all at `replicas` and no old pods left
/// (upstream: `DeploymentComplete`).
pub fn is_complete(spec: &Spec, s: &DeploymentStatus) -> bool {
    s.updated_replicas == Some(spec.replicas)
        && s.replicas == Some(spec.replicas)
        && s.available_replicas == Some(spec.replicas)
}

/// Did the rollout move since `old` (upstream: `DeploymentProgressing`)?
fn progressed(old: &DeploymentStatus, new: &DeploymentStatus) -> bool {
    let old_pods = |s: &DeploymentStatus| {
        s.replicas
            .unwrap_or(0)
            .saturating_sub(s.updated_replicas.unwrap_or(0))
    };
    new.updated_replicas.unwrap_or(0) > old.updated_replicas.unwrap_or(0)
        || old_pods(new) < old_pods(old)
        || new.ready_replicas.unwrap_or(0) > old.ready_replicas.unwrap_or(0)
        || new.available_replicas.unwrap_or(0) > old.available_replicas.unwrap_or(0)
}

/// The whole status: counts plus the `Available` and `Progressing`
/// conditions as `kubectl rollout status` reads them (upstream:
/// `calculateStatus`, `checkPausedConditions`, `syncRolloutStatus`).
pub fn status(input: &StatusInput<'_>) -> DeploymentStatus {
    let spec = input.spec;
    let now = Time(input.now);
    let mut s = counts(input);
    let mut conditions = s.conditions.take().unwrap_or_default();
    let available = s.available_replicas.unwrap_or(0);
    let c = if available >= spec.replicas.saturating_sub(spec.max_unavailable) {
        condition(
            "Available",
            "True",
            "MinimumReplicasAvailable",
            "Deployment has minimum availability.".into(),
            now,
        )
    } else {
        condition(
            "Available",
            "False",
            "MinimumReplicasUnavailable",
            "Deployment does not have minimum availability.".into(),
            now,
        )
    };
    set_condition(&mut conditions, c);
    let new_name = input.new.map(|n| n.name.as_str()).unwrap_or_default();
    // Pause and resume.
    let was_paused =
        progressing(&conditions).is_some_and(|c| c.reason.as_deref() == Some("DeploymentPaused"));
    if spec.progress_deadline.is_some() {
        if spec.paused && !was_paused {
            let c = condition(
                "Progressing",
                "Unknown",
                "DeploymentPaused",
                "Deployment is paused".into(),
                now,
            );
            set_condition(&mut conditions, c);
        } else if !spec.paused && was_paused {
            let c = condition(
                "Progressing",
                "Unknown",
                "DeploymentResumed",
                "Deployment is resumed".into(),
                now,
            );
            set_condition(&mut conditions, c);
        }
    }
    // The new ReplicaSet was made or found.
    if input.created_new {
        let c = condition(
            "Progressing",
            "True",
            "NewReplicaSetCreated",
            format!("Created new replica set \"{new_name}\""),
            now,
        );
        set_condition(&mut conditions, c);
    } else if input.new.is_some() && progressing(&conditions).is_none() {
        let c = condition(
            "Progressing",
            "True",
            "FoundNewReplicaSet",
            format!("Found new replica set \"{new_name}\""),
            now,
        );
        set_condition(&mut conditions, c);
    }
    // A rollout step: done, moving, or stuck.
    if spec.progress_deadline.is_none() {
        conditions.retain(|c| c.type_ != "Progressing");
    } else if input.rollout && !spec.paused && !input.created_new {
        let current = progressing(&conditions).cloned();
        let already_complete = s.replicas == s.updated_replicas
            && current
                .as_ref()
                .is_some_and(|c| c.reason.as_deref() == Some("NewReplicaSetAvailable"));
        if !already_complete {
            if input.new.is_some() && is_complete(spec, &s) {
                let c = condition(
                    "Progressing",
                    "True",
                    "NewReplicaSetAvailable",
                    format!("ReplicaSet \"{new_name}\" has successfully progressed."),
                    now,
                );
                set_condition(&mut conditions, c);
            } else if input.new.is_some() && progressed(input.previous, &s) {
                // Progress moves the update time even with the same reason.
                let mut c = condition(
                    "Progressing",
                    "True",
                    "ReplicaSetUpdated",
                    format!("ReplicaSet \"{new_name}\" is progressing."),
                    now,
                );
                if let Some(old) = current.as_ref().filter(|o| o.status == "True") {
                    c.last_transition_time = old.last_transition_time;
                }
                conditions.retain(|c| c.type_ != "Progressing");
                conditions.push(c);
            } else if timed_out(spec, current.as_ref(), input.now) {
                let c = condition(
                    "Progressing",
                    "False",
                    "ProgressDeadlineExceeded",
                    format!("ReplicaSet \"{new_name}\" has timed out progressing."),
                    now,
                );
                set_condition(&mut conditions, c);
            }
        }
    }
    // Available first, then Progressing, as upstream lists them.
    conditions.sort_by_key(|c| match c.type_.as_str() {
        "Available" => 0,
        "Progressing" => 1,
        _ => 2,
    });
    s.conditions = Some(conditions);
    s
}

/// The status after the new ReplicaSet could not be created:
/// `Progressing=False`, reason `ReplicaSetCreateError`.
pub fn create_failed(
    previous: &DeploymentStatus,
    message: String,
    now: DateTime<Utc>,
) -> DeploymentStatus {
    let mut s = previous.clone();
    let mut conditions = s.conditions.take().unwrap_or_default();
    set_condition(
        &mut conditions,
        condition("Progressing", "False", CREATE_ERROR, message, Time(now)),
    );
    s.conditions = Some(conditions);
    s
}

/// Has `Progressing` gone without an update for longer than the deadline?
pub fn timed_out(
    spec: &Spec,
    progressing: Option<&DeploymentCondition>,
    now: DateTime<Utc>,
) -> bool {
    let (Some(deadline), Some(c)) = (spec.progress_deadline, progressing) else {
        return false;
    };
    if c.reason.as_deref() == Some("NewReplicaSetAvailable") {
        return false;
    }
    if c.reason.as_deref() == Some("ProgressDeadlineExceeded") {
        return true;
    }
    c.last_update_time
        .is_some_and(|t| t.0 + chrono::Duration::seconds(i64::from(deadline)) < now)
}

/// How long until a rollout in progress would time out, to check again
/// then (upstream: `requeueStuckDeployment`).
pub fn recheck_in(
    spec: &Spec,
    s: &DeploymentStatus,
    now: DateTime<Utc>,
) -> Option<std::time::Duration> {
    let deadline = spec.progress_deadline?;
    let c = s
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == "Progressing")?;
    if c.status != "True"
        || c.reason.as_deref() == Some("NewReplicaSetAvailable")
        || is_complete(spec, s)
    {
        return None;
    }
    let at = c.last_update_time?.0 + chrono::Duration::seconds(i64::from(deadline));
    let left = (at - now).to_std().unwrap_or_default();
    Some(left + std::time::Duration::from_secs(1))
}

/// The ReplicaSet name suffix for a template: a 32-bit FNV-1a hash of its
/// JSON (with the collision count), spelled with upstream's alphabet of
/// consonants and digits that cannot form words.
pub fn template_hash(template_json: &[u8], collision_count: Option<i32>) -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut h: u32 = 0x811c_9dc5;
    let mut feed = |bytes: &[u8]| {
        for b in bytes {
            h ^= u32::from(*b);
            h = h.wrapping_mul(0x0100_0193);
        }
    };
    feed(template_json);
    if let Some(c) = collision_count {
        feed(&c.to_le_bytes());
    }
    h.to_string()
        .bytes()
        .map(|d| char::from(ALPHABET[usize::from(d) % ALPHABET.len()]))
        .collect()
}

#[cfg(test)]
mod tests;

//! `metadata.managedFields`: which manager owns which fields, kept up to
//! date on every write (upstream's `fieldmanager` over
//! structured-merge-diff's `merge.Updater`).
//!
//! - Every create, update and patch is an **Update** by its manager
//!   (`?fieldManager=`, else derived from the User-Agent, e.g. `kubectl`):
//!   the fields it changed become its own and leave everyone else's.
//! - A server-side **Apply** replaces its manager's set with the fields of
//!   the applied configuration, removes fields the manager applied before
//!   and dropped (if nobody else owns them) and fails with a conflict when
//!   it would change a field another manager owns, unless forced; forcing
//!   takes the field over.
//!
//! The identity of an entry is (manager, operation, subresource, and for
//! updates the apiVersion), as upstream's `BuildManagerIdentifier`.

use api_types::meta::v1::{ManagedFieldsEntry, Time};
use serde_json::Value;

use super::fieldset::{FieldSet, PathElement, display};
use super::typed::{PruneSets, compare, field_set, merge, prune};
use crate::error::{ApiError, quote};
use crate::patch::schema::Schema;

/// The `kubectl.kubernetes.io/last-applied-configuration` annotation of
/// client-side apply.
pub const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// The manager name `kubectl apply --server-side` uses by default; applies
/// under it upgrade objects from client-side apply (see [`Write::last_applied`]).
const KUBECTL: &str = "kubectl";

/// What a write did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    Apply,
    Update,
}

impl Operation {
    fn as_str(self) -> &'static str {
        match self {
            Operation::Apply => "Apply",
            Operation::Update => "Update",
        }
    }
}

/// One manager's entry.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    pub manager: String,
    pub operation: Operation,
    pub api_version: String,
    pub subresource: String,
    pub time: Option<Time>,
    pub fields: FieldSet,
}

impl Entry {
    fn is(
        &self,
        manager: &str,
        operation: Operation,
        api_version: &str,
        subresource: &str,
    ) -> bool {
        self.manager == manager
            && self.operation == operation
            && self.subresource == subresource
            && (operation == Operation::Apply || self.api_version == api_version)
    }

    /// As upstream names a manager in conflict messages:
    /// `"kubectl-edit" using v1`, `"x" with subresource "status" using v1`,
    /// `"my-applier"`.
    pub fn describe(&self) -> String {
        let mut s = quote(&self.manager);
        if !self.subresource.is_empty() {
            s.push_str(" with subresource ");
            s.push_str(&quote(&self.subresource));
        }
        if self.operation == Operation::Update {
            s.push_str(" using ");
            s.push_str(&self.api_version);
        }
        s
    }
}

/// All entries of an object.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Managed {
    pub entries: Vec<Entry>,
}

impl Managed {
    /// Reads `metadata.managedFields`.
    ///
    /// # Errors
    /// A message for entries upstream would not decode either (unknown
    /// operation, no apiVersion, a fieldsType other than `FieldsV1`, bad
    /// `fieldsV1`); callers then fall back as upstream does.
    pub fn decode(entries: &[ManagedFieldsEntry]) -> Result<Managed, String> {
        let mut out = Managed::default();
        for (i, e) in entries.iter().enumerate() {
            let operation = match e.operation.as_str() {
                "Apply" => Operation::Apply,
                "Update" => Operation::Update,
                _ => return Err("operation must be `Apply` or `Update`".into()),
            };
            if e.api_version.is_empty() {
                return Err("apiVersion must not be empty".into());
            }
            match e.fields_type.as_str() {
                "FieldsV1" => {}
                "" => return Err(format!("missing fieldsType in managed fields entry {i}")),
                other => {
                    return Err(format!(
                        "invalid fieldsType {other:?} in managed fields entry {i}"
                    ));
                }
            }
            let fields = match &e.fields_v1 {
                Some(v) => FieldSet::from_fields_v1(v)?,
                None => FieldSet::new(),
            };
            // A later entry with the same identity wins, as in upstream's map.
            out.entries
                .retain(|x| !x.is(&e.manager, operation, &e.api_version, &e.subresource));
            out.entries.push(Entry {
                manager: e.manager.clone(),
                operation,
                api_version: e.api_version.clone(),
                subresource: e.subresource.clone(),
                time: e.time,
                fields,
            });
        }
        Ok(out)
    }

    /// `metadata.managedFields`, ordered as upstream: operation, time,
    /// manager, apiVersion, subresource. Entries owning nothing are dropped.
    pub fn encode(&self) -> Vec<ManagedFieldsEntry> {
        let mut entries: Vec<&Entry> = self
            .entries
            .iter()
            .filter(|e| !e.fields.is_empty())
            .collect();
        entries.sort_by(|a, b| {
            let secs = |e: &Entry| e.time.map(|t| t.0.timestamp()).unwrap_or(0);
            a.operation
                .as_str()
                .cmp(b.operation.as_str())
                .then(secs(a).cmp(&secs(b)))
                .then(a.manager.cmp(&b.manager))
                .then(a.api_version.cmp(&b.api_version))
                .then(a.subresource.cmp(&b.subresource))
        });
        entries
            .into_iter()
            .map(|e| ManagedFieldsEntry {
                manager: e.manager.clone(),
                operation: e.operation.as_str().into(),
                api_version: e.api_version.clone(),
                time: e.time,
                fields_type: "FieldsV1".into(),
                fields_v1: Some(e.fields.to_fields_v1()),
                subresource: e.subresource.clone(),
            })
            .collect()
    }

    fn position(&self, manager: &str, operation: Operation, w: &Write<'_>) -> Option<usize> {
        self.entries
            .iter()
            .position(|e| e.is(manager, operation, w.api_version, w.subresource))
    }

    fn drop_empty(&mut self) {
        self.entries.retain(|e| !e.fields.is_empty());
    }

    /// Keeps at most [`MAX_UPDATE_MANAGERS`] `Update` entries by merging
    /// the oldest into an `ancient-changes` entry, as upstream does so that
    /// objects written by many one-off clients do not grow without bound.
    fn cap_updates(&mut self) {
        loop {
            let updaters: Vec<usize> = (0..self.entries.len())
                .filter(|&i| self.entries[i].operation == Operation::Update)
                .collect();
            if updaters.len() <= MAX_UPDATE_MANAGERS {
                return;
            }
            let secs = |e: &Entry| e.time.map(|t| t.0.timestamp()).unwrap_or(0);
            let Some(&oldest) = updaters
                .iter()
                .filter(|&&i| self.entries[i].manager != ANCIENT_CHANGES)
                .min_by(|&&a, &&b| {
                    let (a, b) = (&self.entries[a], &self.entries[b]);
                    secs(a).cmp(&secs(b)).then(a.manager.cmp(&b.manager))
                })
            else {
                return;
            };
            let old = self.entries.remove(oldest);
            match self
                .entries
                .iter_mut()
                .find(|e| e.is(ANCIENT_CHANGES, Operation::Update, &old.api_version, ""))
            {
                Some(bucket) => {
                    bucket.fields.extend(&old.fields);
                    bucket.time = bucket.time.max(old.time);
                }
                None => self.entries.push(Entry {
                    manager: ANCIENT_CHANGES.into(),
                    subresource: String::new(),
                    ..old
                }),
            }
        }
    }
}

/// At most this many `Update` entries are kept (upstream's cap).
const MAX_UPDATE_MANAGERS: usize = 10;

/// Where the oldest `Update` entries beyond the cap are merged.
const ANCIENT_CHANGES: &str = "ancient-changes";

/// Whether a client sent upstream's "reset" value, `managedFields: [{}]`
/// (every entry empty): it clears the field. An empty list does not,
/// so that clients unaware of the field cannot wipe it by accident.
pub fn is_reset(entries: &[ManagedFieldsEntry]) -> bool {
    !entries.is_empty() && entries.iter().all(|e| *e == ManagedFieldsEntry::default())
}

/// The default manager of a request without `fieldManager`: the
/// User-Agent up to its first `/` (`kubectl/v1.32.0 (linux/amd64) ...` →
/// `kubectl`), printable characters only, at most 128 bytes.
pub fn manager_from_user_agent(user_agent: &str) -> String {
    let name = user_agent.split('/').next().unwrap_or_default();
    let mut out = String::new();
    for c in name.chars().filter(|c| !c.is_control()) {
        if out.len() + c.len_utf8() > 128 {
            break;
        }
        out.push(c);
    }
    out
}

/// Fields no manager owns: the object's identity and server-set metadata
/// (upstream's `stripMeta`). Only a path's first two elements matter.
pub fn is_stripped(path: &[PathElement]) -> bool {
    use PathElement::Field;
    const META: &[&str] = &[
        "name",
        "namespace",
        "creationTimestamp",
        "selfLink",
        "uid",
        "clusterName",
        "generation",
        "managedFields",
        "resourceVersion",
    ];
    match path {
        [Field(f)] => f == "apiVersion" || f == "kind" || f == "metadata",
        [Field(m), Field(f), ..] if m == "metadata" => META.contains(&f.as_ref()),
        _ => false,
    }
}

/// One write as the field manager sees it.
pub struct Write<'a> {
    pub schema: Schema<'a>,
    pub manager: &'a str,
    /// The endpoint's `apiVersion` (`apps/v1`).
    pub api_version: &'a str,
    /// `""`, or the subresource written (`status`, `scale`).
    pub subresource: &'a str,
    pub now: Time,
    /// Fields this endpoint does not manage (the main resource does not
    /// manage `status` where a status subresource exists, and `/status`
    /// manages nothing but `status`): upstream's reset fields. Decided on
    /// a path's first two elements, as [`is_stripped`] is.
    pub ignored: &'a (dyn Fn(&[PathElement]) -> bool + Sync),
    /// For an apply by `kubectl`: the object's client-side-apply annotation,
    /// whose fields (where the live object still has the applied values)
    /// may be taken over without a conflict, as upstream does when an
    /// object moves from client-side to server-side apply.
    pub last_applied: Option<&'a Value>,
}

impl Write<'_> {
    fn tracked(&self, mut set: FieldSet) -> FieldSet {
        set.retain_by_prefix(2, |p| !is_stripped(p) && !(self.ignored)(p));
        set
    }
}

/// Records a create, update or patch: `live` is the object before (an
/// empty object for a create), `new` what will be stored; both without
/// `managedFields`.
pub fn update(managed: &mut Managed, live: &Value, new: &Value, w: &Write<'_>) {
    let (changed, removed) = compare(live, new, w.schema).into_changed();
    update_sets(managed, changed, removed, w);
}

/// [`update`] with what changed already known: for a create, every field
/// of the new object ([`created_fields`](super::serialized::created_fields))
/// and nothing removed.
pub fn update_sets(managed: &mut Managed, changed: FieldSet, removed: FieldSet, w: &Write<'_>) {
    let changed = w.tracked(changed);
    let removed = w.tracked(removed);
    let mine = managed.position(w.manager, Operation::Update, w);
    for (i, e) in managed.entries.iter_mut().enumerate() {
        if Some(i) != mine {
            e.fields.subtract(&changed);
            e.fields.subtract(&removed);
        }
    }
    match mine {
        Some(i) => {
            let e = &mut managed.entries[i];
            e.fields.subtract(&removed);
            e.fields.extend(&changed);
            if !changed.is_empty() {
                e.time = Some(w.now);
            }
        }
        None if !changed.is_empty() => managed.entries.push(Entry {
            manager: w.manager.to_string(),
            operation: Operation::Update,
            api_version: w.api_version.to_string(),
            subresource: w.subresource.to_string(),
            time: Some(w.now),
            fields: changed,
        }),
        None => {}
    }
    managed.drop_empty();
    managed.cap_updates();
}

/// Fields an apply would change that other managers own.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conflicts(pub Vec<Conflict>);

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conflict {
    /// The manager as upstream names it (see [`Entry::describe`]).
    pub manager: String,
    pub path: String,
}

impl Conflicts {
    /// Upstream's message: `Apply failed with 1 conflict: conflict with
    /// "kubectl-edit" using v1: .spec.replicas`, or for several, grouped by
    /// manager: `Apply failed with 2 conflicts: conflicts with "a" using v1:\n- .x\n- .y`.
    pub fn message(&self) -> String {
        if let [one] = self.0.as_slice() {
            return format!(
                "Apply failed with 1 conflict: conflict with {}: {}",
                one.manager, one.path
            );
        }
        let mut managers: Vec<&str> = self.0.iter().map(|c| c.manager.as_str()).collect();
        managers.sort_unstable();
        managers.dedup();
        let mut lines = Vec::new();
        for m in managers {
            lines.push(format!("conflicts with {m}:"));
            for c in self.0.iter().filter(|c| c.manager == m) {
                lines.push(format!("- {}", c.path));
            }
        }
        format!(
            "Apply failed with {} conflicts: {}",
            self.0.len(),
            lines.join("\n")
        )
    }

    /// The 409 with one `FieldManagerConflict` cause per field.
    pub fn into_error(self) -> ApiError {
        ApiError::ApplyConflict {
            message: self.message(),
            causes: self
                .0
                .into_iter()
                .map(|c| (format!("conflict with {}", c.manager), c.path))
                .collect(),
        }
    }
}

/// Server-side apply: merges `config` into `live` (without
/// `managedFields`), updates the managers and returns the new object, to be
/// defaulted and validated like any other write.
///
/// # Errors
/// [`Conflicts`] when `config` changes fields other managers own and
/// `force` is false.
pub fn apply(
    managed: &mut Managed,
    live: &Value,
    config: &Value,
    force: bool,
    w: &Write<'_>,
) -> Result<Value, Conflicts> {
    match apply_once(managed.clone(), live, config, force, w) {
        Ok((obj, m)) => {
            *managed = m;
            Ok(obj)
        }
        Err(conflicts) if w.manager == KUBECTL && !force => {
            // Moving from client-side apply: conflicts on fields the
            // annotation applied (and the live object still has) are not
            // conflicts.
            let allowed = w
                .last_applied
                .map(|la| allowed_by_last_applied(la, live, w))
                .unwrap_or_default();
            let left: Vec<Conflict> = conflicts
                .0
                .into_iter()
                .filter(|c| !allowed.contains(&c.path))
                .collect();
            if !left.is_empty() {
                return Err(Conflicts(left));
            }
            let (obj, m) = apply_once(managed.clone(), live, config, true, w)?;
            *managed = m;
            Ok(obj)
        }
        Err(conflicts) => Err(conflicts),
    }
}

fn apply_once(
    mut managed: Managed,
    live: &Value,
    config: &Value,
    force: bool,
    w: &Write<'_>,
) -> Result<(Value, Managed), Conflicts> {
    let mut merged = merge(live, config, w.schema);
    let new_set = w.tracked(field_set(config, w.schema));
    let mine = managed.position(w.manager, Operation::Apply, w);
    let last = mine
        .map(|i| managed.entries[i].fields.clone())
        .unwrap_or_default();
    let mut keep = new_set.clone();
    for (i, e) in managed.entries.iter().enumerate() {
        if Some(i) != mine {
            keep.extend(&e.fields);
        }
    }
    let protected = |p: &[PathElement]| p.is_empty() || is_stripped(p);
    let sets = PruneSets {
        last: &last,
        applied: &new_set,
        keep: &keep,
    };
    prune(&mut merged, w.schema, &sets, &protected);

    let cmp = compare(live, &merged, w.schema);
    let changed = w.tracked(cmp.changed());
    let removed = w.tracked(cmp.removed.clone());
    let mut conflicts = Vec::new();
    for (i, e) in managed.entries.iter().enumerate() {
        if Some(i) == mine {
            continue;
        }
        for p in e.fields.intersection(&changed).iter() {
            conflicts.push(Conflict {
                manager: e.describe(),
                path: display(&p),
            });
        }
    }
    if !force && !conflicts.is_empty() {
        return Err(Conflicts(conflicts));
    }
    for (i, e) in managed.entries.iter_mut().enumerate() {
        if Some(i) != mine {
            e.fields.subtract(&changed);
            e.fields.subtract(&removed);
        }
    }
    let object_changed = !cmp.is_same();
    match mine {
        Some(i) => {
            let e = &mut managed.entries[i];
            if object_changed || e.fields != new_set {
                e.time = Some(w.now);
            }
            e.fields = new_set;
            e.api_version = w.api_version.to_string();
        }
        None => managed.entries.push(Entry {
            manager: w.manager.to_string(),
            operation: Operation::Apply,
            api_version: w.api_version.to_string(),
            subresource: w.subresource.to_string(),
            time: Some(w.now),
            fields: new_set,
        }),
    }
    managed.drop_empty();
    managed.cap_updates();
    Ok((merged, managed))
}

/// Paths (as printed) of the last-applied configuration whose value the live
/// object still has.
fn allowed_by_last_applied(last_applied: &Value, live: &Value, w: &Write<'_>) -> Vec<String> {
    let set = field_set(last_applied, w.schema);
    let cmp = compare(last_applied, live, w.schema);
    set.difference(&cmp.modified)
        .difference(&cmp.added)
        .difference(&cmp.removed)
        .iter()
        .map(|p| display(&p))
        .collect()
}

/// The annotation `kubectl` server-side apply keeps current on objects that
/// have one: the applied configuration without the annotation itself, as
/// compact JSON with sorted keys and a trailing newline (Go's encoder).
pub fn last_applied_annotation(config: &Value) -> String {
    let mut config = config.clone();
    if let Some(annotations) = config
        .pointer_mut("/metadata/annotations")
        .and_then(Value::as_object_mut)
    {
        annotations.remove(LAST_APPLIED);
        if annotations.is_empty()
            && let Some(meta) = config.get_mut("metadata").and_then(Value::as_object_mut)
        {
            meta.remove("annotations");
        }
    }
    let mut out = super::fieldset::canonical(&config);
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use api_types::meta::v1::FieldsV1;
    use serde_json::json;

    use super::*;
    use crate::patch::schema::tests::mini;

    fn no_status(p: &[PathElement]) -> bool {
        matches!(p.first(), Some(PathElement::Field(f)) if f == "status")
    }

    fn write<'a>(defs: &'a crate::patch::schema::Graph, manager: &'a str) -> Write<'a> {
        Write {
            schema: Schema::named(defs, "Obj"),
            manager,
            api_version: "v1",
            subresource: "",
            now: Time::now(),
            ignored: &no_status,
            last_applied: None,
        }
    }

    fn owned(m: &Managed, manager: &str) -> Vec<String> {
        m.entries
            .iter()
            .filter(|e| e.manager == manager)
            .flat_map(|e| e.fields.iter().map(|p| display(&p)))
            .collect()
    }

    fn base() -> Value {
        json!({"apiVersion": "v1", "kind": "Obj", "metadata": {"name": "x", "uid": "u"}})
    }

    #[test]
    fn updates_take_ownership_of_what_they_change() {
        let defs = mini();
        let mut m = Managed::default();
        let created = json!({"apiVersion": "v1", "kind": "Obj",
            "metadata": {"name": "x", "uid": "u", "labels": {"a": "1"}},
            "spec": {"replicas": 1}, "status": {"phase": "P"}});
        update(
            &mut m,
            &json!({}),
            &created,
            &write(&defs, "kubectl-create"),
        );
        assert_eq!(
            owned(&m, "kubectl-create"),
            [".metadata.labels", ".metadata.labels.a", ".spec.replicas"]
        );
        let mut edited = created.clone();
        edited["spec"]["replicas"] = json!(2);
        update(&mut m, &created, &edited, &write(&defs, "kubectl-edit"));
        assert_eq!(owned(&m, "kubectl-edit"), [".spec.replicas"]);
        assert_eq!(
            owned(&m, "kubectl-create"),
            [".metadata.labels", ".metadata.labels.a"]
        );
        // a write that changes nothing records nothing
        let before = m.clone();
        update(&mut m, &edited, &edited, &write(&defs, "other"));
        assert_eq!(m, before);
        // removal leaves every set
        let mut unlabelled = edited.clone();
        unlabelled["metadata"]
            .as_object_mut()
            .expect("meta")
            .remove("labels");
        update(&mut m, &edited, &unlabelled, &write(&defs, "kubectl-label"));
        assert!(owned(&m, "kubectl-create").is_empty());
        assert!(owned(&m, "kubectl-label").is_empty());
        assert_eq!(m.entries.len(), 1);
    }

    #[test]
    fn encode_decode_round_trip_in_upstream_order() {
        let defs = mini();
        let mut m = Managed::default();
        let obj = json!({"metadata": {"labels": {"a": "1"}}, "spec": {"replicas": 1}});
        update(&mut m, &json!({}), &obj, &write(&defs, "b-updater"));
        let config = json!({"apiVersion": "v1", "kind": "Obj", "metadata": {"name": "x"}, "spec": {"containers": [{"name": "c"}]}});
        let applied =
            apply(&mut m, &obj, &config, false, &write(&defs, "z-applier")).expect("no conflict");
        assert_eq!(applied["spec"]["containers"], json!([{"name": "c"}]));
        let wire = m.encode();
        assert_eq!(wire[0].operation, "Apply");
        assert_eq!(wire[0].manager, "z-applier");
        assert_eq!(wire[1].operation, "Update");
        assert_eq!(
            wire[0].fields_v1,
            Some(FieldsV1::from_value(
                &json!({"f:spec": {"f:containers": {"k:{\"name\":\"c\"}": {".": {}, "f:name": {}}}}})
            ))
        );
        assert_eq!(Managed::decode(&wire).map(|m| m.encode()), Ok(wire));
    }

    #[test]
    fn decode_refuses_what_upstream_refuses() {
        let good = ManagedFieldsEntry {
            manager: "m".into(),
            operation: "Update".into(),
            api_version: "v1".into(),
            fields_type: "FieldsV1".into(),
            fields_v1: Some(FieldsV1::from_value(&json!({"f:spec": {"f:replicas": {}}}))),
            ..Default::default()
        };
        assert!(Managed::decode(std::slice::from_ref(&good)).is_ok());
        for bad in [
            ManagedFieldsEntry {
                operation: "Patch".into(),
                ..good.clone()
            },
            ManagedFieldsEntry {
                api_version: String::new(),
                ..good.clone()
            },
            ManagedFieldsEntry {
                fields_type: "FieldsV2".into(),
                ..good.clone()
            },
            ManagedFieldsEntry {
                fields_v1: Some(FieldsV1::from_value(&json!({"x:y": {}}))),
                ..good.clone()
            },
        ] {
            assert!(Managed::decode(&[bad]).is_err());
        }
        assert!(is_reset(&[ManagedFieldsEntry::default()]));
        assert!(!is_reset(&[]));
        assert!(!is_reset(&[good]));
    }

    #[test]
    fn apply_conflicts_unless_forced_and_shares_equal_values() {
        let defs = mini();
        let mut m = Managed::default();
        let live = {
            let mut o = base();
            o["spec"] = json!({"replicas": 1});
            o
        };
        update(
            &mut m,
            &base(),
            &live,
            &write(&defs, "kubectl-client-side-apply"),
        );
        let config = json!({"apiVersion": "v1", "kind": "Obj", "metadata": {"name": "x"}, "spec": {"replicas": 2}});
        let err = apply(&mut m, &live, &config, false, &write(&defs, "ssa")).expect_err("conflict");
        assert_eq!(
            err.message(),
            "Apply failed with 1 conflict: conflict with \"kubectl-client-side-apply\" using v1: .spec.replicas"
        );
        let status = err.into_error().status();
        assert_eq!(status.code, 409);
        assert_eq!(status.reason, "Conflict");
        let cause = &status.details.expect("details").causes[0];
        assert_eq!(cause.reason, "FieldManagerConflict");
        assert_eq!(cause.field, ".spec.replicas");
        assert_eq!(
            cause.message,
            "conflict with \"kubectl-client-side-apply\" using v1"
        );

        // the same value is shared, not a conflict
        let same = json!({"apiVersion": "v1", "kind": "Obj", "metadata": {"name": "x"}, "spec": {"replicas": 1}});
        let mut shared = m.clone();
        apply(&mut shared, &live, &same, false, &write(&defs, "ssa")).expect("no conflict");
        assert_eq!(owned(&shared, "ssa"), [".spec.replicas"]);
        assert_eq!(
            owned(&shared, "kubectl-client-side-apply"),
            [".spec.replicas"]
        );

        // force moves ownership
        let out = apply(&mut m, &live, &config, true, &write(&defs, "ssa")).expect("forced");
        assert_eq!(out["spec"]["replicas"], 2);
        assert_eq!(owned(&m, "ssa"), [".spec.replicas"]);
        assert!(owned(&m, "kubectl-client-side-apply").is_empty());
    }

    #[test]
    fn several_conflicts_are_grouped_by_manager() {
        let c = Conflicts(vec![
            Conflict {
                manager: "\"b\" using v1".into(),
                path: ".x".into(),
            },
            Conflict {
                manager: "\"a\"".into(),
                path: ".y".into(),
            },
            Conflict {
                manager: "\"b\" using v1".into(),
                path: ".z".into(),
            },
        ]);
        assert_eq!(
            c.message(),
            "Apply failed with 3 conflicts: conflicts with \"a\":\n- .y\nconflicts with \"b\" using v1:\n- .x\n- .z"
        );
    }

    #[test]
    fn apply_removes_fields_it_no_longer_applies() {
        let defs = mini();
        let mut m = Managed::default();
        let w = write(&defs, "ssa");
        let first = json!({"apiVersion": "v1", "kind": "Obj", "metadata": {"name": "x", "labels": {"a": "1", "b": "2"}},
                           "spec": {"replicas": 1, "containers": [{"name": "c", "image": "i"}, {"name": "d", "image": "j"}]}});
        let live = apply(&mut m, &base(), &first, false, &w).expect("create");
        assert_eq!(live["metadata"]["uid"], "u");
        assert_eq!(live["spec"]["replicas"], 1);
        // another manager takes label b
        let mut relabelled = live.clone();
        relabelled["metadata"]["labels"]["b"] = json!("3");
        update(&mut m, &live, &relabelled, &write(&defs, "kubectl-label"));
        let second = json!({"apiVersion": "v1", "kind": "Obj", "metadata": {"name": "x"},
                            "spec": {"containers": [{"name": "d", "image": "j"}]}});
        let out = apply(&mut m, &relabelled, &second, false, &w).expect("no conflict");
        assert_eq!(out["metadata"]["labels"], json!({"b": "3"}));
        assert!(out["spec"].get("replicas").is_none());
        assert_eq!(
            out["spec"]["containers"],
            json!([{"name": "d", "image": "j"}])
        );
        assert_eq!(out["metadata"]["name"], "x");
        assert_eq!(
            owned(&m, "ssa"),
            [
                ".spec.containers[name=\"d\"]",
                ".spec.containers[name=\"d\"].image",
                ".spec.containers[name=\"d\"].name"
            ]
        );
    }

    #[test]
    fn status_is_not_managed_through_the_main_resource() {
        let defs = mini();
        let mut m = Managed::default();
        let config = json!({"apiVersion": "v1", "kind": "Obj", "metadata": {"name": "x"}, "status": {"phase": "Running"}});
        apply(&mut m, &base(), &config, false, &write(&defs, "ssa")).expect("applies");
        assert!(m.entries.is_empty());
    }

    #[test]
    fn kubectl_takes_over_fields_from_client_side_apply() {
        let defs = mini();
        let last_applied = json!({"apiVersion": "v1", "kind": "Obj", "metadata": {"name": "x"}, "spec": {"replicas": 1}});
        let mut live = base();
        live["spec"] = json!({"replicas": 1});
        let mut m = Managed::default();
        update(
            &mut m,
            &base(),
            &live,
            &write(&defs, "kubectl-client-side-apply"),
        );
        let config = json!({"apiVersion": "v1", "kind": "Obj", "metadata": {"name": "x"}, "spec": {"replicas": 3}});
        let mut w = write(&defs, "kubectl");
        w.last_applied = Some(&last_applied);
        let out = apply(&mut m, &live, &config, false, &w).expect("upgrade without conflict");
        assert_eq!(out["spec"]["replicas"], 3);
        // another manager: conflict as usual
        let mut m2 = Managed::default();
        update(
            &mut m2,
            &base(),
            &live,
            &write(&defs, "kubectl-client-side-apply"),
        );
        let mut w = write(&defs, "someone");
        w.last_applied = Some(&last_applied);
        assert!(apply(&mut m2, &live, &config, false, &w).is_err());
        // and a field changed since the last client-side apply is a conflict
        let mut m3 = Managed::default();
        let mut scaled = live.clone();
        scaled["spec"]["replicas"] = json!(5);
        update(&mut m3, &base(), &scaled, &write(&defs, "kubectl-scale"));
        let mut w = write(&defs, "kubectl");
        w.last_applied = Some(&last_applied);
        let err = apply(&mut m3, &scaled, &config, false, &w).expect_err("scaled since");
        assert_eq!(err.0[0].path, ".spec.replicas");
    }

    #[test]
    fn old_updaters_are_merged_beyond_ten() {
        let defs = mini();
        let mut m = Managed::default();
        let mut obj = json!({"metadata": {"labels": {}}});
        for i in 0..12 {
            let mut next = obj.clone();
            next["metadata"]["labels"][format!("l{i}")] = json!("v");
            let manager = format!("m{i:02}");
            let mut w = write(&defs, &manager);
            w.now = Time(chrono::DateTime::from_timestamp(1_000 + i, 0).unwrap_or_default());
            update(&mut m, &obj, &next, &w);
            obj = next;
        }
        let names: Vec<&str> = m.entries.iter().map(|e| e.manager.as_str()).collect();
        assert_eq!(m.entries.len(), 10, "{names:?}");
        assert!(!names.contains(&"m00") && !names.contains(&"m01") && !names.contains(&"m02"));
        let ancient = owned(&m, ANCIENT_CHANGES);
        assert!(
            ancient.contains(&".metadata.labels.l0".to_string()),
            "{ancient:?}"
        );
        assert!(
            ancient.contains(&".metadata.labels.l2".to_string()),
            "{ancient:?}"
        );
    }

    #[test]
    fn last_applied_annotation_and_user_agent() {
        let config = json!({"kind": "Obj", "apiVersion": "v1",
            "metadata": {"name": "x", "annotations": {LAST_APPLIED: "old"}}});
        assert_eq!(
            last_applied_annotation(&config),
            "{\"apiVersion\":\"v1\",\"kind\":\"Obj\",\"metadata\":{\"name\":\"x\"}}\n"
        );
        assert_eq!(
            manager_from_user_agent("kubectl/v1.32.0 (linux/amd64) kubernetes/abc"),
            "kubectl"
        );
        assert_eq!(manager_from_user_agent("curl/8.0"), "curl");
        assert_eq!(manager_from_user_agent(&"x".repeat(300)).len(), 128);
    }
}

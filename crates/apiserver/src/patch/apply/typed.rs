//! Objects seen through their schema (structured-merge-diff's `typed`):
//! which fields a configuration sets, what changed between two versions,
//! merging an applied configuration into a live object, and removing fields.
//!
//! The schema decides the granularity of ownership:
//! - scalars, `atomic` lists and `atomic` maps/structs are single values;
//! - structs and granular maps are owned field by field;
//! - `set` lists item by value, `map` lists item by key (`k:{"name":"c"}`),
//!   and inside each item field by field.
//!
//! An empty or null struct or map counts as a value of its own, so that
//! "I set `resources: {}`" can be owned.

use serde_json::{Map, Value};

use super::fieldset::{FieldSet, Path, PathElement};
use crate::patch::schema::{ListType, Schema, Shape};

/// How a node is handled, given its schema and the values at hand.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Node<'s> {
    /// A single value.
    Leaf,
    /// Field by field (struct or granular map).
    Fields,
    /// Item by item (`set` or `map` list).
    Items(&'s ListType),
}

fn is_empty_object(v: &Value) -> bool {
    v.as_object().is_some_and(Map::is_empty)
}

fn node<'s>(schema: Schema<'s>, a: Option<&Value>, b: Option<&Value>) -> Node<'s> {
    let all = |f: fn(&Value) -> bool| a.is_none_or(f) && b.is_none_or(f);
    match schema.shape() {
        Shape::Scalar => Node::Leaf,
        Shape::Struct | Shape::Map => {
            if schema.is_atomic()
                || !all(|v| v.is_object() || v.is_null())
                || all(|v| v.is_null() || is_empty_object(v))
            {
                Node::Leaf
            } else {
                Node::Fields
            }
        }
        Shape::List => match schema.list_type() {
            ListType::Atomic => Node::Leaf,
            _ if !all(Value::is_array) => Node::Leaf,
            lt => Node::Items(lt),
        },
        Shape::Untyped => {
            if all(Value::is_object) && !all(is_empty_object) {
                Node::Fields
            } else {
                Node::Leaf
            }
        }
    }
}

/// The path element of a list item: by value in a set, by key fields in a
/// map-list (a key the item leaves out takes the schema's default, as
/// upstream does for a port's `protocol`), by position otherwise.
fn item_element(item: &Value, list: &ListType, items: Schema<'_>, index: usize) -> PathElement {
    match list {
        ListType::Set => PathElement::value(item),
        ListType::Map(keys) => match item.as_object() {
            Some(obj) => map_item_element(keys, |k| obj.get(k), items, index),
            None => PathElement::Index(index),
        },
        ListType::Atomic => PathElement::Index(index),
    }
}

/// The path element of a map-list item that is an object: its key fields
/// as `get` reads them from the item (or the schema's default for a key
/// the item leaves out), by position when it has none of them.
pub(super) fn map_item_element<'v>(
    keys: &[String],
    get: impl Fn(&str) -> Option<&'v Value>,
    items: Schema<'v>,
    index: usize,
) -> PathElement {
    let mut fields: Vec<(&str, &Value)> = keys
        .iter()
        .filter_map(|k| {
            get(k)
                .or_else(|| items.key_default(k))
                .map(|v| (k.as_str(), v))
        })
        .collect();
    if fields.is_empty() {
        PathElement::Index(index)
    } else {
        PathElement::key_of(&mut fields)
    }
}

/// Items of a list with their path elements; later duplicates are dropped.
fn index_items<'v>(
    list: &'v [Value],
    lt: &ListType,
    items: Schema<'_>,
) -> Vec<(PathElement, &'v Value)> {
    let mut out: Vec<(PathElement, &Value)> = Vec::with_capacity(list.len());
    for (i, item) in list.iter().enumerate() {
        let pe = item_element(item, lt, items, i);
        if !out.iter().any(|(p, _)| p == &pe) {
            out.push((pe, item));
        }
    }
    out
}

/// The fields a configuration sets (upstream's `ToFieldSet`): every leaf,
/// every list item and map entry, and struct fields only when they are
/// empty or null.
pub fn field_set(value: &Value, schema: Schema<'_>) -> FieldSet {
    walk_set(value, schema, true)
}

/// The set of one node, relative to the node: the tree is built bottom-up,
/// each child's subtree hung under its path element.
fn walk_set(value: &Value, schema: Schema<'_>, root: bool) -> FieldSet {
    let mut out = FieldSet::new();
    match node(schema, Some(value), None) {
        Node::Leaf => {
            if !root {
                out.mark();
            }
        }
        Node::Fields => {
            let Some(obj) = value.as_object() else {
                return out;
            };
            for (k, child) in obj {
                let (child_schema, declared) = schema.lookup(k);
                let mut sub = walk_set(child, child_schema, false);
                if child.is_null() || is_empty_object(child) || !declared {
                    sub.mark();
                }
                out.attach(PathElement::Field(k.clone().into()), sub);
            }
        }
        Node::Items(lt) => {
            let Some(list) = value.as_array() else {
                return out;
            };
            let items = schema.items();
            for (pe, item) in index_items(list, lt, items) {
                let mut sub = walk_set(item, items, false);
                sub.mark();
                out.attach(pe, sub);
            }
        }
    }
    out
}

/// What differs between two versions of an object.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Comparison {
    pub added: FieldSet,
    pub removed: FieldSet,
    pub modified: FieldSet,
}

impl Comparison {
    /// Added or modified: what a writer now sets.
    pub fn changed(&self) -> FieldSet {
        self.added.union(&self.modified)
    }

    /// [`changed`](Self::changed), taking the comparison apart.
    pub fn into_changed(self) -> (FieldSet, FieldSet) {
        let mut changed = self.added;
        changed.extend(&self.modified);
        (changed, self.removed)
    }

    pub fn is_same(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.modified.is_empty()
    }
}

/// Compares `old` with `new`.
///
/// A node that appears or disappears as a whole is recorded itself (its
/// fields too), except where upstream's Go object on the other side would
/// have it anyway: fields [`Schema::always_present`] marks (value structs
/// such as `spec` and `template`, lists such as `containers`), inside a
/// node that side has. Inside a new list item everything is new.
pub fn compare(old: &Value, new: &Value, schema: Schema<'_>) -> Comparison {
    walk_compare(Some(old), Some(new), schema, false, true)
}

/// Whether a node that one side has and the other lacks is still "there"
/// on the other side as upstream sees it: a field Go always carries
/// ([`Schema::always_present`], only ever true of declared fields), of a
/// parent that side has.
pub(super) fn kept(parent_there: bool, schema: Schema<'_>) -> bool {
    parent_there && schema.always_present()
}

/// Whether a leaf is the zero value Go's object has for a field it always
/// carries (an empty value struct, a `null` list): nothing changed.
fn is_go_zero(value: &Value, schema: Schema<'_>) -> bool {
    value.is_null() || (schema.shape() == Shape::Struct && is_empty_object(value))
}

impl Comparison {
    /// Hangs a child's comparison under its path element.
    fn attach(&mut self, pe: &PathElement, sub: Comparison) {
        for (mine, theirs) in [
            (&mut self.added, sub.added),
            (&mut self.removed, sub.removed),
            (&mut self.modified, sub.modified),
        ] {
            if !theirs.is_empty() {
                mine.attach(pe.clone(), theirs);
            }
        }
    }
}

/// The comparison of one node, relative to the node (see [`walk_set`]).
fn walk_compare(
    old: Option<&Value>,
    new: Option<&Value>,
    schema: Schema<'_>,
    there: bool,
    root: bool,
) -> Comparison {
    // A node on one side only: everything in it was added (or removed),
    // and nothing can be modified; one set is built instead of three.
    match (old, new) {
        (None, Some(v)) => {
            return Comparison {
                added: walk_one(v, schema, there, root),
                ..Comparison::default()
            };
        }
        (Some(v), None) => {
            return Comparison {
                removed: walk_one(v, schema, there, root),
                ..Comparison::default()
            };
        }
        _ => {}
    }
    let mut out = Comparison::default();
    let kind = node(schema, old, new);
    if kind == Node::Leaf {
        match (old, new) {
            (None, Some(_)) => out.added.mark(),
            (Some(_), None) => out.removed.mark(),
            (Some(a), Some(b)) if a != b => out.modified.mark(),
            _ => {}
        }
        return out;
    }
    match kind {
        Node::Fields => {
            let empty = Map::new();
            let o = old.and_then(Value::as_object).unwrap_or(&empty);
            let n = new.and_then(Value::as_object).unwrap_or(&empty);
            for (k, nv) in n {
                let child = schema.child(k);
                let there = kept(true, child);
                let sub = walk_compare(o.get(k), Some(nv), child, there, false);
                out.attach(&PathElement::Field(k.clone().into()), sub);
            }
            for (k, ov) in o {
                if !n.contains_key(k) {
                    let child = schema.child(k);
                    let there = kept(true, child);
                    let sub = walk_compare(Some(ov), None, child, there, false);
                    out.attach(&PathElement::Field(k.clone().into()), sub);
                }
            }
        }
        Node::Items(lt) => {
            let items = schema.items();
            let empty = Vec::new();
            let o = index_items(old.and_then(Value::as_array).unwrap_or(&empty), lt, items);
            let n = index_items(new.and_then(Value::as_array).unwrap_or(&empty), lt, items);
            for (pe, nv) in &n {
                let ov = o.iter().find(|(p, _)| p == pe).map(|(_, v)| *v);
                out.attach(pe, walk_compare(ov, Some(nv), items, false, false));
            }
            for (pe, ov) in &o {
                if !n.iter().any(|(p, _)| p == pe) {
                    out.attach(pe, walk_compare(Some(ov), None, items, false, false));
                }
            }
        }
        Node::Leaf => {}
    }
    out
}

/// [`walk_compare`] of a node that only one side has: the paths the other
/// side lacks, the node itself included, except at the root and where
/// the other side has it as upstream sees it (`there`, see [`kept`]).
fn walk_one(value: &Value, schema: Schema<'_>, there: bool, root: bool) -> FieldSet {
    let mut out = FieldSet::new();
    match node(schema, Some(value), None) {
        Node::Leaf => {
            if !(there && is_go_zero(value, schema)) {
                out.mark();
            }
            return out;
        }
        Node::Fields => {
            if let Some(obj) = value.as_object() {
                for (k, child) in obj {
                    let child_schema = schema.child(k);
                    let child_there = kept(there || root, child_schema);
                    let sub = walk_one(child, child_schema, child_there, false);
                    out.attach(PathElement::Field(k.clone().into()), sub);
                }
            }
        }
        Node::Items(lt) => {
            if let Some(list) = value.as_array() {
                if list.is_empty() {
                    // One value: `[]` is not Go's `null`, so even a list the
                    // other side always has changed.
                    out.mark();
                    return out;
                }
                let items = schema.items();
                // Attached in path order, so that each is appended.
                let mut subs: Vec<(PathElement, FieldSet)> = index_items(list, lt, items)
                    .into_iter()
                    .map(|(pe, item)| (pe, walk_one(item, items, false, false)))
                    .collect();
                subs.sort_by(|a, b| a.0.cmp(&b.0));
                for (pe, sub) in subs {
                    out.attach(pe, sub);
                }
            }
        }
    }
    if !root && !there {
        out.mark();
    }
    out
}

/// Merges an applied configuration into the live object (upstream's typed
/// `Merge`): the configuration's values win; fields it does not mention
/// stay; lists merge item by item where the schema says so; a `null` in the
/// configuration removes the field.
pub fn merge(live: &Value, config: &Value, schema: Schema<'_>) -> Value {
    merge_node(Some(live), config, schema).unwrap_or(Value::Null)
}

fn merge_node(live: Option<&Value>, config: &Value, schema: Schema<'_>) -> Option<Value> {
    if config.is_null() {
        return None;
    }
    match node(schema, live, Some(config)) {
        Node::Leaf => Some(strip_nulls(config)),
        Node::Fields => {
            let mut out = live.and_then(Value::as_object).cloned().unwrap_or_default();
            if let Some(cfg) = config.as_object() {
                for (k, cv) in cfg {
                    match merge_node(out.get(k), cv, schema.child(k)) {
                        Some(v) => {
                            out.insert(k.clone(), v);
                        }
                        None => {
                            out.remove(k);
                        }
                    }
                }
            }
            Some(Value::Object(out))
        }
        Node::Items(lt) => {
            let items = schema.items();
            let empty = Vec::new();
            let l = index_items(live.and_then(Value::as_array).unwrap_or(&empty), lt, items);
            let c = index_items(config.as_array().unwrap_or(&empty), lt, items);
            Some(Value::Array(merge_items(&l, &c, items)))
        }
    }
}

/// Item order, as structured-merge-diff orders a merged list: walk both
/// lists; live-only items come out where they stand, items the
/// configuration names come out in the configuration's order.
fn merge_items(
    live: &[(PathElement, &Value)],
    config: &[(PathElement, &Value)],
    items: Schema<'_>,
) -> Vec<Value> {
    let in_config = |pe: &PathElement| config.iter().any(|(p, _)| p == pe);
    let live_item = |pe: &PathElement| live.iter().find(|(p, _)| p == pe).map(|(_, v)| *v);
    // The shared items, in the configuration's order: the next one due.
    let mut shared = config
        .iter()
        .map(|(p, _)| p)
        .filter(|p| live_item(p).is_some())
        .peekable();
    let mut done: Vec<&PathElement> = Vec::new();
    let mut out = Vec::with_capacity(live.len() + config.len());
    let (mut li, mut ci) = (0, 0);
    while li < live.len() || ci < config.len() {
        if li < live.len() && ci < config.len() {
            let (lp, lv) = &live[li];
            let (cp, cv) = &config[ci];
            if lp == cp {
                out.extend(merge_node(Some(lv), cv, items));
                done.push(cp);
                if shared.peek() == Some(&cp) {
                    shared.next();
                }
                li += 1;
                ci += 1;
                continue;
            }
            if in_config(lp) && shared.peek().is_some_and(|s| *s != lp) {
                // Shared, but due later in the configuration's order.
                li += 1;
                continue;
            }
        }
        if li < live.len() {
            let (lp, lv) = &live[li];
            if !in_config(lp) {
                out.push((*lv).clone());
                li += 1;
                continue;
            }
            if done.contains(&lp) {
                li += 1;
                continue;
            }
        }
        if ci < config.len() {
            let (cp, cv) = &config[ci];
            out.extend(merge_node(live_item(cp), cv, items));
            done.push(cp);
            if shared.peek() == Some(&cp) {
                shared.next();
            }
            ci += 1;
        } else {
            // Only shared live items already merged can remain.
            li += 1;
        }
    }
    out
}

fn strip_nulls(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), strip_nulls(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(strip_nulls).collect()),
        other => other.clone(),
    }
}

/// Removes what an applier owned last time and no longer applies, unless
/// someone still owns it (`keep`: the applier's new set `applied` and every
/// other manager's):
/// - a path in `last` and not in `keep` goes with everything under it,
///   unless something under it is still owned: for struct fields by
///   anyone (an applier that owned `labels` as a whole and now applies
///   only `labels.app`, or leaves `annotations.x` to another manager, keeps
///   the map), for list items and map entries by the applier itself (an
///   item it dropped goes even if another manager set a field in it), as
///   upstream's pruning does;
/// - a struct field above such paths goes too when nothing under it is in
///   `keep` (so dropping `strategy.rollingUpdate.maxSurge` from a
///   configuration that no longer mentions `strategy` removes the whole
///   strategy, which defaulting then restores);
/// - `protected` paths (`metadata` ...) are never removed themselves.
pub fn prune(
    value: &mut Value,
    schema: Schema<'_>,
    sets: &PruneSets<'_>,
    protected: &dyn Fn(&[PathElement]) -> bool,
) {
    prune_node(value, schema, &mut Vec::new(), sets, protected);
}

/// The field sets pruning decides by.
pub struct PruneSets<'a> {
    /// What the applier owned before this apply.
    pub last: &'a FieldSet,
    /// What the applier's new configuration sets.
    pub applied: &'a FieldSet,
    /// What anyone owns after this apply (`applied` and every other manager's).
    pub keep: &'a FieldSet,
}

fn prune_node(
    value: &mut Value,
    schema: Schema<'_>,
    path: &mut Path,
    sets: &PruneSets<'_>,
    protected: &dyn Fn(&[PathElement]) -> bool,
) {
    if !sets.last.has_descendant(path) {
        return;
    }
    let gone = |p: &[PathElement], named: bool| {
        if protected(p) {
            return false;
        }
        // A struct field stays while anyone owns something inside it; a
        // list item or map entry only while the applier still sets
        // something inside it (others' fields inside it go with it).
        let inside = if named { sets.keep } else { sets.applied };
        let explicit = sets.last.contains(p) && !sets.keep.contains(p) && !inside.has_descendant(p);
        let implicit = named && sets.last.has_prefix(p) && !sets.keep.has_prefix(p);
        explicit || implicit
    };
    match node(schema, Some(&*value), None) {
        Node::Leaf => {}
        Node::Fields => {
            let Some(obj) = value.as_object_mut() else {
                return;
            };
            let keys: Vec<String> = obj.keys().cloned().collect();
            for k in keys {
                path.push(PathElement::Field(k.clone().into()));
                if gone(path, schema.has_field(&k)) {
                    obj.remove(&k);
                } else if let Some(child) = obj.get_mut(&k) {
                    prune_node(child, schema.child(&k), path, sets, protected);
                }
                path.pop();
            }
        }
        Node::Items(lt) => {
            let Some(list) = value.as_array_mut() else {
                return;
            };
            let items = schema.items();
            let mut kept = Vec::with_capacity(list.len());
            for (i, mut item) in std::mem::take(list).into_iter().enumerate() {
                path.push(item_element(&item, lt, items, i));
                if !gone(path, false) {
                    prune_node(&mut item, items, path, sets, protected);
                    kept.push(item);
                }
                path.pop();
            }
            *list = kept;
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::fieldset::tests::{f, k};
    use super::*;
    use crate::patch::schema::tests::mini;

    fn paths(set: &FieldSet) -> Vec<String> {
        set.iter()
            .map(|p| super::super::fieldset::display(&p))
            .collect()
    }

    #[test]
    fn field_set_of_a_configuration() {
        let defs = mini();
        let schema = Schema::named(&defs, "Obj");
        let config = json!({
            "apiVersion": "v1",
            "metadata": {"name": "x", "labels": {"app": "a"}, "finalizers": ["f1"]},
            "spec": {
                "replicas": 2,
                "containers": [{"name": "c", "image": "i", "args": ["a"], "resources": {},
                                "ports": [{"containerPort": 80}]}],
                "tolerations": [{"key": "k"}],
                "selector": {"matchLabels": {"a": "b"}},
                "extra": {"free": {"x": 1}}
            }
        });
        let set = field_set(&config, schema);
        assert_eq!(
            paths(&set),
            [
                ".apiVersion",
                ".metadata.finalizers[=\"f1\"]",
                ".metadata.labels.app",
                ".metadata.name",
                ".spec.containers[name=\"c\"]",
                ".spec.containers[name=\"c\"].args",
                ".spec.containers[name=\"c\"].image",
                ".spec.containers[name=\"c\"].name",
                ".spec.containers[name=\"c\"].ports[containerPort=80,protocol=\"TCP\"]",
                ".spec.containers[name=\"c\"].ports[containerPort=80,protocol=\"TCP\"].containerPort",
                ".spec.containers[name=\"c\"].resources",
                ".spec.extra.free",
                ".spec.extra.free.x",
                ".spec.replicas",
                ".spec.selector",
                ".spec.tolerations",
            ]
        );
    }

    #[test]
    fn comparison_records_leaves_and_whole_new_nodes() {
        let defs = mini();
        let schema = Schema::named(&defs, "Obj");
        let old = json!({"metadata": {"name": "x"}, "spec": {"replicas": 1, "containers": [{"name": "a", "image": "1"}]}});
        let new = json!({"metadata": {"name": "x", "labels": {"l": "v"}},
                         "spec": {"replicas": 2, "containers": [{"name": "b", "image": "2"}]}});
        let c = compare(&old, &new, schema);
        assert_eq!(
            paths(&c.added),
            [
                ".metadata.labels",
                ".metadata.labels.l",
                ".spec.containers[name=\"b\"]",
                ".spec.containers[name=\"b\"].image",
                ".spec.containers[name=\"b\"].name",
            ]
        );
        assert_eq!(paths(&c.modified), [".spec.replicas"]);
        assert_eq!(
            paths(&c.removed),
            [
                ".spec.containers[name=\"a\"]",
                ".spec.containers[name=\"a\"].image",
                ".spec.containers[name=\"a\"].name",
            ]
        );
        assert!(compare(&old, &old, schema).is_same());
        // a new struct is not recorded itself, only its fields
        let c = compare(&json!({}), &json!({"spec": {"replicas": 1}}), schema);
        assert_eq!(paths(&c.added), [".spec.replicas"]);
    }

    #[test]
    fn only_nodes_go_objects_lack_are_recorded_themselves() {
        let defs = mini();
        let schema = Schema::named(&defs, "Obj");
        // A create compares with the zero object. It has `spec`,
        // `spec.containers` (a list without omitempty) and
        // `spec.strategy` (a value struct), but not the pointer struct
        // `rollingUpdate`, the map `labels`, nor anything in a new item,
        // where even the value struct `resources` is new.
        let new = json!({
            "metadata": {"name": "x", "labels": {"l": "v"}},
            "spec": {
                "containers": [{"name": "c", "resources": {"limits": {"cpu": "1"}}}],
                "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}},
            }
        });
        let created = [
            ".metadata.labels",
            ".metadata.labels.l",
            ".metadata.name",
            ".spec.containers[name=\"c\"]",
            ".spec.containers[name=\"c\"].name",
            ".spec.containers[name=\"c\"].resources",
            ".spec.containers[name=\"c\"].resources.limits",
            ".spec.containers[name=\"c\"].resources.limits.cpu",
            ".spec.strategy.rollingUpdate",
            ".spec.strategy.rollingUpdate.maxSurge",
            ".spec.strategy.type",
        ];
        assert_eq!(paths(&compare(&json!({}), &new, schema).added), created);
        assert_eq!(paths(&walk_one(&new, schema, false, true)), created);
        // An item that exists already always had its value structs.
        let old = json!({"spec": {"containers": [{"name": "c"}]}});
        let new =
            json!({"spec": {"containers": [{"name": "c", "resources": {"limits": {"cpu": "1"}}}]}});
        assert_eq!(
            paths(&compare(&old, &new, schema).added),
            [
                ".spec.containers[name=\"c\"].resources.limits",
                ".spec.containers[name=\"c\"].resources.limits.cpu",
            ]
        );
        // The zero value of one (an empty struct) is no change; an empty
        // list is not Go's `null`.
        let c = compare(
            &json!({}),
            &json!({"spec": {"strategy": {}, "containers": []}}),
            schema,
        );
        assert_eq!(paths(&c.added), [".spec.containers"]);
    }

    #[test]
    fn merge_by_list_type() {
        let defs = mini();
        let schema = Schema::named(&defs, "Obj");
        let live = json!({
            "metadata": {"labels": {"a": "1"}, "finalizers": ["x"]},
            "spec": {
                "replicas": 1,
                "containers": [{"name": "a", "image": "a:1", "args": ["1", "2"]}, {"name": "b", "image": "b:1"}],
                "tolerations": [{"key": "t1"}],
                "selector": {"matchLabels": {"a": "b", "c": "d"}}
            }
        });
        let config = json!({
            "metadata": {"labels": {"b": "2"}, "finalizers": ["y"]},
            "spec": {
                "containers": [{"name": "b", "image": "b:2"}, {"name": "a", "args": ["3"]}],
                "tolerations": [{"key": "t2"}],
                "selector": {"matchLabels": {"e": "f"}},
                "replicas": null
            }
        });
        let out = merge(&live, &config, schema);
        assert_eq!(out["metadata"]["labels"], json!({"a": "1", "b": "2"}));
        assert_eq!(out["metadata"]["finalizers"], json!(["x", "y"]));
        // map-list: merged per item, in the configuration's order
        assert_eq!(
            out["spec"]["containers"],
            json!([{"name": "b", "image": "b:2"}, {"name": "a", "image": "a:1", "args": ["3"]}])
        );
        // atomic list and atomic struct: replaced
        assert_eq!(out["spec"]["tolerations"], json!([{"key": "t2"}]));
        assert_eq!(out["spec"]["selector"], json!({"matchLabels": {"e": "f"}}));
        assert!(out["spec"].get("replicas").is_none());
    }

    #[test]
    fn merge_keeps_live_only_items_near_their_neighbours() {
        let defs = mini();
        let schema = Schema::named(&defs, "Spec");
        let live = json!({"containers": [{"name": "a"}, {"name": "x"}, {"name": "b"}]});
        let config = json!({"containers": [{"name": "b"}, {"name": "c"}]});
        let out = merge(&live, &config, schema);
        let names: Vec<&str> = out["containers"]
            .as_array()
            .expect("list")
            .iter()
            .map(|c| c["name"].as_str().unwrap_or_default())
            .collect();
        assert_eq!(names, ["a", "x", "b", "c"]);
    }

    #[test]
    fn ports_without_protocol_match_defaulted_live_ports() {
        let defs = mini();
        let schema = Schema::named(&defs, "Container");
        let live = json!({"ports": [{"containerPort": 80, "protocol": "TCP"}]});
        let config = json!({"ports": [{"containerPort": 80, "name": "http"}]});
        let out = merge(&live, &config, schema);
        assert_eq!(
            out["ports"],
            json!([{"containerPort": 80, "protocol": "TCP", "name": "http"}])
        );
    }

    #[test]
    fn prune_removes_what_nobody_owns_any_more() {
        let defs = mini();
        let schema = Schema::named(&defs, "Obj");
        let mut obj = json!({
            "metadata": {"name": "x", "labels": {"a": "1", "b": "2"}},
            "spec": {
                "replicas": 3,
                "containers": [{"name": "c", "image": "i", "terminationMessagePath": "/dev"}, {"name": "d", "image": "j"}],
                "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}
            }
        });
        let last: FieldSet = [
            vec![f("metadata"), f("labels"), f("a")],
            vec![f("metadata"), f("labels"), f("b")],
            vec![f("spec"), f("replicas")],
            vec![f("spec"), f("containers"), k("name", "c")],
            vec![f("spec"), f("containers"), k("name", "c"), f("image")],
            vec![f("spec"), f("containers"), k("name", "d")],
            vec![f("spec"), f("strategy"), f("rollingUpdate"), f("maxSurge")],
        ]
        .into_iter()
        .collect();
        // the applier keeps label a and container d; another manager owns replicas
        let keep: FieldSet = [
            vec![f("metadata"), f("labels"), f("a")],
            vec![f("spec"), f("containers"), k("name", "d")],
            vec![f("spec"), f("replicas")],
        ]
        .into_iter()
        .collect();
        let sets = PruneSets {
            last: &last,
            applied: &keep,
            keep: &keep,
        };
        prune(&mut obj, schema, &sets, &|p| p == [f("metadata")]);
        assert_eq!(
            obj,
            json!({
                "metadata": {"name": "x", "labels": {"a": "1"}},
                "spec": {"replicas": 3, "containers": [{"name": "d", "image": "j"}]}
            })
        );
        // protected paths stay even when nothing under them is kept
        let mut obj = json!({"metadata": {"name": "x", "labels": {"a": "1"}}});
        let last: FieldSet = [vec![f("metadata"), f("labels"), f("a")]]
            .into_iter()
            .collect();
        let none = FieldSet::new();
        let sets = PruneSets {
            last: &last,
            applied: &none,
            keep: &none,
        };
        prune(&mut obj, schema, &sets, &|p| p == [f("metadata")]);
        assert_eq!(obj, json!({"metadata": {"name": "x"}}));
    }

    #[test]
    fn prune_keeps_struct_fields_others_own_inside_but_not_items() {
        let defs = mini();
        let schema = Schema::named(&defs, "Obj");
        let mut obj = json!({
            "metadata": {"annotations": {"mine": "1", "theirs": "2"}},
            "spec": {"containers": [{"name": "c", "image": "i"}, {"name": "d"}]}
        });
        let last: FieldSet = [
            vec![f("metadata"), f("annotations")],
            vec![f("metadata"), f("annotations"), f("mine")],
            vec![f("spec"), f("containers"), k("name", "c")],
            vec![f("spec"), f("containers"), k("name", "c"), f("name")],
        ]
        .into_iter()
        .collect();
        let applied: FieldSet = [vec![f("spec"), f("containers"), k("name", "d")]]
            .into_iter()
            .collect();
        let keep = applied.union(
            &[
                vec![f("metadata"), f("annotations"), f("theirs")],
                vec![f("spec"), f("containers"), k("name", "c"), f("image")],
            ]
            .into_iter()
            .collect(),
        );
        let sets = PruneSets {
            last: &last,
            applied: &applied,
            keep: &keep,
        };
        prune(&mut obj, schema, &sets, &|p| p == [f("metadata")]);
        assert_eq!(
            obj,
            json!({
                "metadata": {"annotations": {"theirs": "2"}},
                "spec": {"containers": [{"name": "d"}]}
            })
        );
    }

    #[test]
    fn prune_keeps_a_node_the_configuration_still_sets_inside() {
        let defs = mini();
        let schema = Schema::named(&defs, "Obj");
        // owned as a whole before (an update recorded the map and the list
        // themselves), now applied key by key
        let mut obj = json!({
            "metadata": {"labels": {"app": "web", "old": "x"}},
            "spec": {"containers": [{"name": "c", "image": "i"}]}
        });
        let last: FieldSet = [
            vec![f("metadata"), f("labels")],
            vec![f("metadata"), f("labels"), f("app")],
            vec![f("metadata"), f("labels"), f("old")],
            vec![f("spec"), f("containers")],
            vec![f("spec"), f("containers"), k("name", "c")],
            vec![f("spec"), f("containers"), k("name", "c"), f("image")],
        ]
        .into_iter()
        .collect();
        let applied: FieldSet = [
            vec![f("metadata"), f("labels"), f("app")],
            vec![f("spec"), f("containers"), k("name", "c")],
            vec![f("spec"), f("containers"), k("name", "c"), f("image")],
        ]
        .into_iter()
        .collect();
        let sets = PruneSets {
            last: &last,
            applied: &applied,
            keep: &applied,
        };
        prune(&mut obj, schema, &sets, &|p| p == [f("metadata")]);
        assert_eq!(
            obj,
            json!({
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "c", "image": "i"}]}
            })
        );
    }
}

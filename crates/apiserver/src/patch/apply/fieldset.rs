//! Field paths and sets of them, and their wire form `FieldsV1`
//! (structured-merge-diff's `fieldpath`).
//!
//! A path names one node of an object: `.spec.containers[name="c"].image`.
//! Its elements are struct fields or map keys (`f:image`), items of a
//! map-list by their keys (`k:{"name":"c"}`), items of a set by value
//! (`v:"finalizer"`) and, where nothing better exists, positions (`i:0`).
//!
//! `FieldsV1` is the set as a tree of JSON objects: each key is an element,
//! each value the subtree below it; `".": {}` marks that the node itself is
//! in the set as well as some of its children, and `{}` a node in the set
//! without children:
//!
//! ```json
//! {"f:metadata":{"f:labels":{".":{},"f:app":{}}},
//!  "f:spec":{"f:containers":{"k:{\"name\":\"c\"}":{".":{},"f:image":{}}}}}
//! ```

use std::borrow::Cow;
use std::fmt;

use api_types::meta::v1::FieldsV1;
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Map, Value};

/// One step of a path.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PathElement {
    /// A struct field or a map key. Borrowed where the name is a Rust
    /// struct's field name (a new object's fields, read as it serializes),
    /// so most paths of a create allocate nothing for their names.
    Field(Cow<'static, str>),
    /// A map-list item by its key fields, as canonical JSON (`{"name":"c"}`).
    Key(String),
    /// A set item by value, as canonical JSON (`"x"`, `80`).
    Value(String),
    /// A list item by position (lists without keys).
    Index(usize),
}

impl PathElement {
    /// A map-list key from its (name, value) pairs.
    pub fn key(fields: &[(String, Value)]) -> PathElement {
        let mut refs: Vec<(&str, &Value)> = fields.iter().map(|(k, v)| (k.as_str(), v)).collect();
        PathElement::key_of(&mut refs)
    }

    /// [`key`](Self::key) from borrowed pairs (sorted here by name; a later
    /// pair with the same name wins, as in a JSON object).
    pub fn key_of(fields: &mut [(&str, &Value)]) -> PathElement {
        fields.sort_by(|a, b| a.0.cmp(b.0));
        PathElement::Key(json_text(&KeyFields(fields)))
    }

    /// A set item.
    pub fn value(v: &Value) -> PathElement {
        PathElement::Value(canonical(v))
    }

    /// The `FieldsV1` key: `f:name`, `k:{...}`, `v:...`, `i:N`.
    pub fn wire(&self) -> String {
        Wire(self).to_string()
    }

    /// Parses a `FieldsV1` key.
    ///
    /// # Errors
    /// A message for keys of no known form.
    pub fn parse(s: &str) -> Result<PathElement, String> {
        let bad = || format!("invalid path element {s:?}");
        let (kind, rest) = s.split_once(':').ok_or_else(bad)?;
        match kind {
            "f" => Ok(PathElement::Field(rest.to_string().into())),
            "k" => match serde_json::from_str::<Value>(rest) {
                Ok(Value::Object(m)) => {
                    let fields: Vec<(String, Value)> = m.into_iter().collect();
                    Ok(PathElement::key(&fields))
                }
                _ => Err(bad()),
            },
            "v" => serde_json::from_str::<Value>(rest)
                .map(|v| PathElement::value(&v))
                .map_err(|_| bad()),
            "i" => rest.parse().map(PathElement::Index).map_err(|_| bad()),
            _ => Err(bad()),
        }
    }
}

impl fmt::Display for PathElement {
    /// As structured-merge-diff prints paths in conflict messages:
    /// `.image`, `[name="c"]`, `[="x"]`, `[0]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PathElement::Field(name) => write!(f, ".{name}"),
            PathElement::Key(k) => {
                let pairs: Vec<String> = match serde_json::from_str::<Value>(k) {
                    Ok(Value::Object(m)) => m
                        .iter()
                        .map(|(name, v)| format!("{name}={}", display_value(v)))
                        .collect(),
                    _ => vec![k.clone()],
                };
                write!(f, "[{}]", pairs.join(","))
            }
            PathElement::Value(v) => {
                let shown = serde_json::from_str::<Value>(v)
                    .map(|v| display_value(&v))
                    .unwrap_or_else(|_| v.clone());
                write!(f, "[={shown}]")
            }
            PathElement::Index(i) => write!(f, "[{i}]"),
        }
    }
}

/// structured-merge-diff's `value.ToString`: strings quoted, the rest plain.
fn display_value(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::String(s) => crate::error::quote(s),
        other => canonical(other),
    }
}

/// Compact JSON with object keys sorted, whatever serde_json's map order.
pub fn canonical(v: &Value) -> String {
    json_text(&Canonical(v))
}

/// A value that serializes with its object keys sorted.
struct Canonical<'a>(&'a Value);

impl Serialize for Canonical<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Value::Object(m) => {
                let mut sorted: Vec<(&String, &Value)> = m.iter().collect();
                sorted.sort_by(|a, b| a.0.cmp(b.0));
                let mut map = serializer.serialize_map(Some(sorted.len()))?;
                for (k, v) in sorted {
                    map.serialize_entry(k, &Canonical(v))?;
                }
                map.end()
            }
            Value::Array(items) => serializer.collect_seq(items.iter().map(Canonical)),
            other => other.serialize(serializer),
        }
    }
}

/// A map-list key's fields, sorted by name, as a JSON object (of equal
/// names the last).
struct KeyFields<'a, 'v>(&'a [(&'v str, &'v Value)]);

impl Serialize for KeyFields<'_, '_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let fields = self.0;
        let mut map = serializer.serialize_map(None)?;
        for (i, (k, v)) in fields.iter().enumerate() {
            if fields.get(i + 1).is_some_and(|(next, _)| next == k) {
                continue;
            }
            map.serialize_entry(k, &Canonical(v))?;
        }
        map.end()
    }
}

/// Compact JSON of one of the above; they always serialize (string keys).
fn json_text<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

/// A path from the object's root; the empty path is the root itself.
pub type Path = Vec<PathElement>;

/// Renders a path as in conflict messages: `.spec.containers[name="c"].image`.
pub fn display(path: &[PathElement]) -> String {
    path.iter().map(ToString::to_string).collect()
}

/// A set of paths, kept as a tree like its wire form: one node per path
/// element, marked where a path of the set ends. Sharing prefixes keeps the
/// sets a write builds cheap (an object's paths share most of their
/// elements), and prefix queries are a walk down the tree. Paths iterate in
/// order, a node's descendants directly after it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldSet {
    root: Node,
}

/// One node of a [`FieldSet`]. Invariant: no node below the root is empty
/// (neither a member nor with children), so equal sets are equal trees.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Node {
    member: bool,
    children: Children,
}

/// A node's children, sorted by path element. A sorted vector rather than
/// a `BTreeMap`: most nodes have a handful of children or none, and a map
/// allocates room for eleven per node (a pod's set has ~100 nodes, built
/// on every write). Children of an object arrive in key order and are
/// appended; bulk operations merge.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Children(Vec<(PathElement, Node)>);

impl Children {
    fn find(&self, pe: &PathElement) -> Result<usize, usize> {
        // Appending in order is the common case: check the end first.
        match self.0.last() {
            Some((last, _)) if last < pe => Err(self.0.len()),
            None => Err(0),
            _ => self.0.binary_search_by(|(p, _)| p.cmp(pe)),
        }
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn iter(&self) -> impl Iterator<Item = (&PathElement, &Node)> {
        self.0.iter().map(|(pe, n)| (pe, n))
    }

    fn values(&self) -> impl Iterator<Item = &Node> {
        self.0.iter().map(|(_, n)| n)
    }

    fn get(&self, pe: &PathElement) -> Option<&Node> {
        self.find(pe).ok().map(|i| &self.0[i].1)
    }

    fn get_mut(&mut self, pe: &PathElement) -> Option<&mut Node> {
        self.find(pe).ok().map(|i| &mut self.0[i].1)
    }

    /// The child under `pe`, created empty if missing.
    fn entry(&mut self, pe: &PathElement) -> &mut Node {
        let i = match self.find(pe) {
            Ok(i) => i,
            Err(i) => {
                self.0.insert(i, (pe.clone(), Node::default()));
                i
            }
        };
        &mut self.0[i].1
    }

    fn insert(&mut self, pe: PathElement, node: Node) {
        match self.find(&pe) {
            Ok(i) => self.0[i].1 = node,
            Err(i) => self.0.insert(i, (pe, node)),
        }
    }
}

impl Node {
    fn is_empty(&self) -> bool {
        !self.member && self.children.is_empty()
    }

    fn len(&self) -> usize {
        usize::from(self.member) + self.children.values().map(Node::len).sum::<usize>()
    }

    fn at(&self, path: &[PathElement]) -> Option<&Node> {
        path.iter().try_fold(self, |node, pe| node.children.get(pe))
    }

    fn union_with(&mut self, other: &Node) {
        self.member |= other.member;
        if other.children.is_empty() {
            return;
        }
        if self.children.is_empty() {
            self.children = other.children.clone();
            return;
        }
        // Merge the two sorted lists.
        let mine = std::mem::take(&mut self.children.0);
        let mut out = Vec::with_capacity(mine.len() + other.children.0.len());
        let mut theirs = other.children.0.iter().peekable();
        for (pe, mut node) in mine {
            while let Some((tpe, tnode)) = theirs.next_if(|(tpe, _)| *tpe < pe) {
                out.push((tpe.clone(), tnode.clone()));
            }
            if let Some((_, tnode)) = theirs.next_if(|(tpe, _)| *tpe == pe) {
                node.union_with(tnode);
            }
            out.push((pe, node));
        }
        out.extend(theirs.cloned());
        self.children.0 = out;
    }

    fn subtract(&mut self, other: &Node) {
        if other.member {
            self.member = false;
        }
        if other.children.is_empty() {
            return;
        }
        for (pe, theirs) in other.children.iter() {
            if let Some(mine) = self.children.get_mut(pe) {
                mine.subtract(theirs);
            }
        }
        self.children.0.retain(|(_, child)| !child.is_empty());
    }

    fn intersect(&self, other: &Node) -> Node {
        let mut out = Node {
            member: self.member && other.member,
            children: Children::default(),
        };
        for (pe, mine) in self.children.iter() {
            if let Some(theirs) = other.children.get(pe) {
                let both = mine.intersect(theirs);
                if !both.is_empty() {
                    out.children.0.push((pe.clone(), both));
                }
            }
        }
        out
    }

    /// Keeps the paths `keep` accepts. Below `depth` elements `keep` is
    /// not asked again: a subtree goes or stays with its root there.
    fn retain(&mut self, path: &mut Path, depth: usize, keep: &dyn Fn(&[PathElement]) -> bool) {
        if path.len() >= depth {
            if !keep(path) {
                self.member = false;
                self.children.0.clear();
            }
            return;
        }
        if self.member && !keep(path) {
            self.member = false;
        }
        self.children.0.retain_mut(|(pe, child)| {
            path.push(pe.clone());
            child.retain(path, depth, keep);
            path.pop();
            !child.is_empty()
        });
    }

    fn collect(&self, path: &mut Path, out: &mut Vec<Path>) {
        if self.member {
            out.push(path.clone());
        }
        for (pe, child) in self.children.iter() {
            path.push(pe.clone());
            child.collect(path, out);
            path.pop();
        }
    }

    /// The children in the order of their `FieldsV1` keys as text (`f:`,
    /// `i:`, `k:`, `v:`), as upstream's and a JSON object's sorted keys
    /// come out. Children are sorted Field < Key < Value < Index; indices
    /// sort as text there (`i:10` before `i:2`).
    fn wire_order(&self) -> impl Iterator<Item = &(PathElement, Node)> {
        let all = &self.children.0;
        let split = all.partition_point(|(pe, _)| matches!(pe, PathElement::Field(_)));
        let (fields, rest) = all.split_at(split);
        let keyed = rest.partition_point(|(pe, _)| !matches!(pe, PathElement::Index(_)));
        let (keyed, indexed) = rest.split_at(keyed);
        let mut indexed: Vec<&(PathElement, Node)> = indexed.iter().collect();
        if indexed.len() > 1 {
            indexed.sort_by_cached_key(|(pe, _)| pe.wire());
        }
        fields.iter().chain(indexed).chain(keyed)
    }
}

/// A node as `FieldsV1` JSON, written by serde_json (which escapes keys).
struct Rendered<'a>(&'a Node);

impl Serialize for Rendered<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let node = self.0;
        let mut map = serializer.serialize_map(None)?;
        if node.member && !node.children.is_empty() {
            map.serialize_entry(".", &Rendered(&Node::default()))?;
        }
        for (pe, child) in node.wire_order() {
            map.serialize_entry(&Wire(pe), &Rendered(child))?;
        }
        map.end()
    }
}

/// A path element as its `FieldsV1` key, written without building it.
struct Wire<'a>(&'a PathElement);

impl fmt::Display for Wire<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            PathElement::Field(name) => write!(f, "f:{name}"),
            PathElement::Key(k) => write!(f, "k:{k}"),
            PathElement::Value(v) => write!(f, "v:{v}"),
            PathElement::Index(i) => write!(f, "i:{i}"),
        }
    }
}

impl Serialize for Wire<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl FieldSet {
    pub fn new() -> Self {
        FieldSet::default()
    }

    pub fn insert(&mut self, path: &[PathElement]) {
        let mut node = &mut self.root;
        for pe in path {
            node = node.children.entry(pe);
        }
        node.member = true;
    }

    /// Adds the empty path: the node this set is relative to.
    pub fn mark(&mut self) {
        self.root.member = true;
    }

    /// A set from its parts: the node itself (`member`) and each child's
    /// set (relative to the child), in any order; children under the same
    /// element are merged.
    pub fn from_parts(member: bool, mut children: Vec<(PathElement, FieldSet)>) -> FieldSet {
        children.sort_by(|a, b| a.0.cmp(&b.0));
        let mut out: Vec<(PathElement, Node)> = Vec::with_capacity(children.len());
        for (pe, sub) in children {
            if sub.is_empty() {
                continue;
            }
            match out.last_mut() {
                Some((last, node)) if *last == pe => node.union_with(&sub.root),
                _ => out.push((pe, sub.root)),
            }
        }
        FieldSet {
            root: Node {
                member,
                children: Children(out),
            },
        }
    }

    /// Adds `sub`'s paths below `pe` (`sub` relative to that child).
    pub fn attach(&mut self, pe: PathElement, sub: FieldSet) {
        if sub.is_empty() {
            return;
        }
        match self.root.children.get_mut(&pe) {
            Some(mine) => mine.union_with(&sub.root),
            None => {
                self.root.children.insert(pe, sub.root);
            }
        }
    }

    pub fn contains(&self, path: &[PathElement]) -> bool {
        self.root.at(path).is_some_and(|n| n.member)
    }

    pub fn is_empty(&self) -> bool {
        self.root.is_empty()
    }

    pub fn len(&self) -> usize {
        self.root.len()
    }

    /// The paths, in order.
    pub fn iter(&self) -> impl Iterator<Item = Path> {
        let mut out = Vec::with_capacity(self.len());
        self.root.collect(&mut Vec::new(), &mut out);
        out.into_iter()
    }

    /// Whether `prefix` or anything under it is in the set.
    pub fn has_prefix(&self, prefix: &[PathElement]) -> bool {
        self.root.at(prefix).is_some_and(|n| !n.is_empty())
    }

    /// Whether anything strictly under `prefix` is in the set.
    pub fn has_descendant(&self, prefix: &[PathElement]) -> bool {
        self.root
            .at(prefix)
            .is_some_and(|n| n.children.values().any(|c| !c.is_empty()))
    }

    pub fn union(&self, other: &FieldSet) -> FieldSet {
        let mut out = self.clone();
        out.extend(other);
        out
    }

    pub fn difference(&self, other: &FieldSet) -> FieldSet {
        let mut out = self.clone();
        out.subtract(other);
        out
    }

    pub fn intersection(&self, other: &FieldSet) -> FieldSet {
        FieldSet {
            root: self.root.intersect(&other.root),
        }
    }

    /// Adds every path of `other` (in place [`union`](Self::union)).
    pub fn extend(&mut self, other: &FieldSet) {
        self.root.union_with(&other.root);
    }

    /// Removes every path of `other` (in place [`difference`](Self::difference)).
    pub fn subtract(&mut self, other: &FieldSet) {
        self.root.subtract(&other.root);
    }

    /// Keeps the paths `keep` accepts.
    pub fn retain(&mut self, keep: impl Fn(&[PathElement]) -> bool) {
        self.root.retain(&mut Vec::new(), usize::MAX, &keep);
    }

    /// [`retain`](Self::retain) for a `keep` that only looks at the first
    /// `depth` elements of a path: a longer path is kept exactly when its
    /// first `depth` elements are, so the walk stops there.
    pub fn retain_by_prefix(&mut self, depth: usize, keep: impl Fn(&[PathElement]) -> bool) {
        self.root.retain(&mut Vec::new(), depth, &keep);
    }

    /// The `FieldsV1` form, written straight as JSON text.
    pub fn to_fields_v1(&self) -> FieldsV1 {
        serde_json::value::to_raw_value(&Rendered(&self.root))
            .map(FieldsV1::from_raw)
            // Not reached: the keys are strings.
            .unwrap_or_else(|_| FieldsV1::from_value(&Value::Object(Map::new())))
    }

    /// Parses `FieldsV1`.
    ///
    /// # Errors
    /// A message when the value is not a tree of objects with valid keys.
    pub fn from_fields_v1(v: &FieldsV1) -> Result<FieldSet, String> {
        let value = v.to_value().map_err(|e| format!("invalid fieldsV1: {e}"))?;
        FieldSet::from_fields_v1_value(&value)
    }

    /// [`from_fields_v1`](Self::from_fields_v1) of a parsed value.
    ///
    /// # Errors
    /// As there.
    pub fn from_fields_v1_value(v: &Value) -> Result<FieldSet, String> {
        fn walk(v: &Value, path: &mut Path, out: &mut FieldSet) -> Result<(), String> {
            let Value::Object(m) = v else {
                return Err(format!("expected an object at {}", display(path)));
            };
            if m.is_empty() && !path.is_empty() {
                out.insert(path);
            }
            for (k, child) in m {
                if k == "." {
                    if !path.is_empty() {
                        out.insert(path);
                    }
                    continue;
                }
                path.push(PathElement::parse(k)?);
                walk(child, path, out)?;
                path.pop();
            }
            Ok(())
        }
        let mut out = FieldSet::new();
        walk(v, &mut Vec::new(), &mut out)?;
        Ok(out)
    }
}

impl FromIterator<Path> for FieldSet {
    fn from_iter<I: IntoIterator<Item = Path>>(iter: I) -> Self {
        let mut out = FieldSet::new();
        for path in iter {
            out.insert(&path);
        }
        out
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use serde_json::json;

    use super::*;

    pub fn f(name: &str) -> PathElement {
        PathElement::Field(name.to_string().into())
    }

    pub fn k(name: &str, v: &str) -> PathElement {
        PathElement::key(&[(name.into(), Value::String(v.into()))])
    }

    #[test]
    fn fields_v1_round_trip() {
        let wire = json!({
            "f:metadata": {"f:labels": {".": {}, "f:app": {}}},
            "f:spec": {
                "f:containers": {"k:{\"name\":\"c\"}": {".": {}, "f:image": {}, "f:name": {}}},
                "f:ports": {"k:{\"containerPort\":80,\"protocol\":\"TCP\"}": {}},
                "f:finalizers": {"v:\"a\"": {}},
                "f:args": {"i:0": {}},
                "f:replicas": {}
            }
        });
        let set = FieldSet::from_fields_v1(&FieldsV1::from_value(&wire)).expect("parses");
        assert!(set.contains(&[f("metadata"), f("labels")]));
        assert!(set.contains(&[f("metadata"), f("labels"), f("app")]));
        assert!(!set.contains(&[f("metadata")]));
        assert!(set.contains(&[f("spec"), f("containers"), k("name", "c"), f("image")]));
        assert!(set.contains(&[f("spec"), f("containers"), k("name", "c")]));
        assert!(set.contains(&[f("spec"), f("finalizers"), PathElement::value(&json!("a"))]));
        assert!(set.contains(&[f("spec"), f("args"), PathElement::Index(0)]));
        // The text is what serde_json writes for the same tree.
        assert_eq!(set.to_fields_v1().as_str(), wire.to_string());
        assert_eq!(set.len(), 9);
    }

    #[test]
    fn fields_v1_text_is_the_sorted_json_object() {
        // Indices sort as text before keys; quotes and newlines are escaped.
        let wire = json!({
            "f:items": {
                "i:10": {}, "i:2": {".": {}, "f:x": {}},
                "k:{\"name\":\"a\\\"b\"}": {},
                "v:\"x\\ny\"": {}
            },
            "f:ü": {}
        });
        let set = FieldSet::from_fields_v1_value(&wire).expect("parses");
        assert_eq!(set.len(), 6);
        assert_eq!(set.to_fields_v1().as_str(), wire.to_string());
        let key = PathElement::key_of(&mut [
            ("b", &json!({"z": 1, "a": [true, null]})),
            ("a", &json!("q\"")),
            ("b", &json!(2)),
        ]);
        assert_eq!(key, PathElement::Key(r#"{"a":"q\"","b":2}"#.into()));
        assert_eq!(
            canonical(&json!({"z": 1, "a": [true, null, "é"]})),
            r#"{"a":[true,null,"é"],"z":1}"#
        );
    }

    #[test]
    fn keys_are_canonical_and_print_like_upstream() {
        let key = PathElement::key(&[
            ("protocol".into(), json!("TCP")),
            ("containerPort".into(), json!(80)),
        ]);
        assert_eq!(key.wire(), r#"k:{"containerPort":80,"protocol":"TCP"}"#);
        assert_eq!(
            PathElement::parse(r#"k:{"protocol":"TCP","containerPort":80}"#),
            Ok(key.clone())
        );
        let path = vec![f("spec"), f("ports"), key, f("name")];
        assert_eq!(
            display(&path),
            r#".spec.ports[containerPort=80,protocol="TCP"].name"#
        );
        assert_eq!(
            display(&[
                f("f"),
                PathElement::value(&json!("x")),
                PathElement::Index(2)
            ]),
            r#".f[="x"][2]"#
        );
        assert!(PathElement::parse("x:y").is_err());
        assert!(PathElement::parse("k:[1]").is_err());
        assert!(FieldSet::from_fields_v1_value(&json!({"f:a": 1})).is_err());
    }

    #[test]
    fn from_parts_is_attaching_in_any_order() {
        let sub =
            |paths: &[&[PathElement]]| -> FieldSet { paths.iter().map(|p| p.to_vec()).collect() };
        let parts = vec![
            (f("z"), sub(&[&[]])),
            (f("a"), sub(&[&[f("x")]])),
            (f("m"), FieldSet::new()),
            (f("a"), sub(&[&[f("y")], &[]])),
        ];
        let mut attached = FieldSet::new();
        attached.mark();
        for (pe, s) in parts.clone() {
            attached.attach(pe, s);
        }
        assert_eq!(FieldSet::from_parts(true, parts), attached);
        assert_eq!(attached.len(), 5);
    }

    #[test]
    fn retain_by_prefix_decides_subtrees_at_their_root() {
        let set: FieldSet = [
            vec![f("a")],
            vec![f("a"), f("b")],
            vec![f("a"), f("b"), f("c")],
            vec![f("a"), f("x"), f("y")],
            vec![f("d"), f("e")],
        ]
        .into_iter()
        .collect();
        let keep = |p: &[PathElement]| !matches!(p, [_, PathElement::Field(x), ..] if x == "b");
        let mut shallow = set.clone();
        shallow.retain_by_prefix(2, keep);
        let mut full = set.clone();
        full.retain(keep);
        assert_eq!(shallow, full);
        assert_eq!(shallow.len(), 3);
    }

    #[test]
    fn set_operations_and_prefix_queries() {
        let a: FieldSet = [vec![f("a")], vec![f("a"), f("b")], vec![f("c")]]
            .into_iter()
            .collect();
        let b: FieldSet = [vec![f("a"), f("b")], vec![f("d")]].into_iter().collect();
        assert_eq!(a.union(&b).len(), 4);
        assert_eq!(
            a.intersection(&b),
            [vec![f("a"), f("b")]].into_iter().collect()
        );
        assert_eq!(
            a.difference(&b),
            [vec![f("a")], vec![f("c")]].into_iter().collect()
        );
        assert!(a.has_prefix(&[f("a")]));
        assert!(a.has_descendant(&[f("a")]));
        assert!(!a.has_descendant(&[f("c")]));
        assert!(a.has_prefix(&[f("c")]));
        assert!(!a.has_prefix(&[f("b")]));
        assert!(!b.has_prefix(&[f("a"), f("b"), f("x")]));
    }
}

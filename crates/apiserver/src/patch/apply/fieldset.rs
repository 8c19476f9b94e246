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

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde_json::{Map, Value};

/// One step of a path.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PathElement {
    /// A struct field or a map key.
    Field(String),
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
        let map: BTreeMap<&str, &Value> = fields.iter().map(|(k, v)| (k.as_str(), v)).collect();
        let mut out = String::from("{");
        for (i, (k, v)) in map.into_iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(&canonical(&Value::String(k.to_string())));
            out.push(':');
            out.push_str(&canonical(v));
        }
        out.push('}');
        PathElement::Key(out)
    }

    /// A set item.
    pub fn value(v: &Value) -> PathElement {
        PathElement::Value(canonical(v))
    }

    /// The `FieldsV1` key: `f:name`, `k:{...}`, `v:...`, `i:N`.
    pub fn wire(&self) -> String {
        match self {
            PathElement::Field(f) => format!("f:{f}"),
            PathElement::Key(k) => format!("k:{k}"),
            PathElement::Value(v) => format!("v:{v}"),
            PathElement::Index(i) => format!("i:{i}"),
        }
    }

    /// Parses a `FieldsV1` key.
    ///
    /// # Errors
    /// A message for keys of no known form.
    pub fn parse(s: &str) -> Result<PathElement, String> {
        let bad = || format!("invalid path element {s:?}");
        let (kind, rest) = s.split_once(':').ok_or_else(bad)?;
        match kind {
            "f" => Ok(PathElement::Field(rest.to_string())),
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
    match v {
        Value::Object(m) => {
            let sorted: BTreeMap<&String, &Value> = m.iter().collect();
            let parts: Vec<String> = sorted
                .into_iter()
                .map(|(k, v)| format!("{}:{}", canonical(&Value::String(k.clone())), canonical(v)))
                .collect();
            format!("{{{}}}", parts.join(","))
        }
        Value::Array(items) => {
            let parts: Vec<String> = items.iter().map(canonical).collect();
            format!("[{}]", parts.join(","))
        }
        other => other.to_string(),
    }
}

/// A path from the object's root; the empty path is the root itself.
pub type Path = Vec<PathElement>;

/// Renders a path as in conflict messages: `.spec.containers[name="c"].image`.
pub fn display(path: &[PathElement]) -> String {
    path.iter().map(ToString::to_string).collect()
}

/// A set of paths. Paths sort so that a node's descendants follow it
/// directly, which makes "anything under this node?" a range query.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldSet(BTreeSet<Path>);

impl FieldSet {
    pub fn new() -> Self {
        FieldSet::default()
    }

    pub fn insert(&mut self, path: Path) {
        self.0.insert(path);
    }

    pub fn contains(&self, path: &[PathElement]) -> bool {
        self.0.contains(path)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Path> {
        self.0.iter()
    }

    /// Whether `prefix` or anything under it is in the set.
    pub fn has_prefix(&self, prefix: &[PathElement]) -> bool {
        self.0
            .range(prefix.to_vec()..)
            .next()
            .is_some_and(|p| p.starts_with(prefix))
    }

    /// Whether anything strictly under `prefix` is in the set.
    pub fn has_descendant(&self, prefix: &[PathElement]) -> bool {
        self.0
            .range(prefix.to_vec()..)
            .find(|p| p.as_slice() != prefix)
            .is_some_and(|p| p.starts_with(prefix))
    }

    pub fn union(&self, other: &FieldSet) -> FieldSet {
        FieldSet(self.0.union(&other.0).cloned().collect())
    }

    pub fn difference(&self, other: &FieldSet) -> FieldSet {
        FieldSet(self.0.difference(&other.0).cloned().collect())
    }

    pub fn intersection(&self, other: &FieldSet) -> FieldSet {
        FieldSet(self.0.intersection(&other.0).cloned().collect())
    }

    /// Keeps the paths `keep` accepts.
    pub fn retain(&mut self, keep: impl Fn(&[PathElement]) -> bool) {
        self.0.retain(|p| keep(p));
    }

    /// The `FieldsV1` form.
    pub fn to_fields_v1(&self) -> Value {
        #[derive(Default)]
        struct Node {
            member: bool,
            children: BTreeMap<String, Node>,
        }
        let mut root = Node::default();
        for path in &self.0 {
            let mut node = &mut root;
            for pe in path {
                node = node.children.entry(pe.wire()).or_default();
            }
            node.member = true;
        }
        fn render(node: &Node) -> Value {
            let mut m = Map::new();
            if node.member && !node.children.is_empty() {
                m.insert(".".into(), Value::Object(Map::new()));
            }
            for (k, child) in &node.children {
                m.insert(k.clone(), render(child));
            }
            Value::Object(m)
        }
        render(&root)
    }

    /// Parses `FieldsV1`.
    ///
    /// # Errors
    /// A message when the value is not a tree of objects with valid keys.
    pub fn from_fields_v1(v: &Value) -> Result<FieldSet, String> {
        fn walk(v: &Value, path: &mut Path, out: &mut FieldSet) -> Result<(), String> {
            let Value::Object(m) = v else {
                return Err(format!("expected an object at {}", display(path)));
            };
            if m.is_empty() && !path.is_empty() {
                out.insert(path.clone());
            }
            for (k, child) in m {
                if k == "." {
                    if !path.is_empty() {
                        out.insert(path.clone());
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
        FieldSet(iter.into_iter().collect())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use serde_json::json;

    use super::*;

    pub fn f(name: &str) -> PathElement {
        PathElement::Field(name.into())
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
        let set = FieldSet::from_fields_v1(&wire).expect("parses");
        assert!(set.contains(&[f("metadata"), f("labels")]));
        assert!(set.contains(&[f("metadata"), f("labels"), f("app")]));
        assert!(!set.contains(&[f("metadata")]));
        assert!(set.contains(&[f("spec"), f("containers"), k("name", "c"), f("image")]));
        assert!(set.contains(&[f("spec"), f("containers"), k("name", "c")]));
        assert!(set.contains(&[f("spec"), f("finalizers"), PathElement::value(&json!("a"))]));
        assert!(set.contains(&[f("spec"), f("args"), PathElement::Index(0)]));
        assert_eq!(set.to_fields_v1(), wire);
        assert_eq!(set.len(), 9);
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
        assert!(FieldSet::from_fields_v1(&json!({"f:a": 1})).is_err());
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

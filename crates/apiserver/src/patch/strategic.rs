//! Strategic merge patch (`application/strategic-merge-patch+json`), the
//! server half of `k8s.io/apimachinery/pkg/util/strategicpatch`.
//!
//! A strategic merge patch is a JSON merge patch that knows the schema:
//! - maps merge key by key, `null` deletes a key;
//! - lists whose field has patch strategy `merge` merge: lists of objects by
//!   their merge key (`containers` by `name`, a container's `ports` by
//!   `containerPort`, a Service's `ports` by `port` ...), lists of scalars as
//!   a set; every other list is replaced;
//! - directives say what a plain merge cannot:
//!   - `$patch: replace` in a map (replace it) or as a list item (replace
//!     the list); `$patch: delete` in a map (empty it) or as a list item with
//!     a merge key (delete that item). `$patch: merge` is upstream's default and
//!     not accepted as a directive;
//!   - `$setElementOrder/<list>`: the order of the merged list;
//!   - `$retainKeys`: keys of the original to keep, for unions such as a
//!     volume's source or a deployment's strategy (others are cleared);
//!   - `$deleteFromPrimitiveList/<list>`: scalars to remove from a merge list.
//!
//! `kubectl apply` (client side) computes such a patch from the
//! `last-applied-configuration` annotation, the new file and the live object,
//! and this is where the server applies it.
//!
//! Errors keep upstream's texts and classes: malformed directives are 400,
//! lists of lists and retainKeys mismatches 422, everything else (a missing
//! merge key ...) the 500 with no reason that upstream returns, which kubectl
//! prints as `Error from server: map: map[...] does not contain declared merge key: name`.

use serde_json::{Map, Value};

use super::gostr::go_value;
use super::schema::Schema;

const DIRECTIVE: &str = "$patch";
const RETAIN_KEYS: &str = "$retainKeys";
const SET_ELEMENT_ORDER: &str = "$setElementOrder/";
const DELETE_FROM_PRIMITIVE_LIST: &str = "$deleteFromPrimitiveList/";

/// Why a strategic merge patch could not be applied, in upstream's classes.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SmpError {
    /// A malformed patch (upstream answers 400).
    #[error("{0}")]
    BadRequest(String),
    /// A patch the schema cannot take (upstream answers 422).
    #[error("{0}")]
    Unprocessable(String),
    /// Everything else (upstream answers 500 with no reason).
    #[error("{0}")]
    Other(String),
}

impl SmpError {
    fn bad_json() -> Self {
        SmpError::BadRequest("invalid JSON document".into())
    }
    fn primitive_list() -> Self {
        SmpError::BadRequest("invalid patch format of primitive list".into())
    }
    fn retain_keys() -> Self {
        SmpError::BadRequest("invalid patch format of retainKeys".into())
    }
    fn set_element_order() -> Self {
        SmpError::BadRequest("invalid patch format of setElementOrder list".into())
    }
    fn list_of_lists() -> Self {
        SmpError::Unprocessable("lists of lists are not supported".into())
    }
    fn no_merge_key(item: &Map<String, Value>, key: &str) -> Self {
        SmpError::Other(format!(
            "map: {} does not contain declared merge key: {key}",
            go_value(&Value::Object(item.clone()))
        ))
    }
    fn bad_patch_type(directive: &Value, map: &Map<String, Value>) -> Self {
        SmpError::Other(format!(
            "unknown patch type: {} in map: {}",
            go_value(directive),
            go_value(&Value::Object(map.clone()))
        ))
    }
    fn bad_arg_type(expected: &str, actual: &Value) -> Self {
        SmpError::Other(format!(
            "expected a {expected}, but received a {}",
            go_kind(actual)
        ))
    }
}

/// Go's `reflect.Kind` name of a decoded JSON value.
fn go_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "invalid",
        Value::Bool(_) => "bool",
        Value::Number(_) => "float64",
        Value::String(_) => "string",
        Value::Array(_) => "slice",
        Value::Object(_) => "map",
    }
}

/// Applies `patch` to `original` (both JSON objects) under `schema`.
///
/// # Errors
/// [`SmpError`] when the patch is malformed or cannot be applied.
pub fn apply(original: Value, patch: Value, schema: Schema<'_>) -> Result<Value, SmpError> {
    let (Value::Object(original), Value::Object(patch)) = (original, patch) else {
        return Err(SmpError::bad_json());
    };
    merge_map(original, patch, schema).map(Value::Object)
}

/// Which JSON type a value is, for "same type?" checks (Go compares the
/// decoded types: map, slice, string, float64, bool).
fn same_type(a: &Value, b: &Value) -> bool {
    std::mem::discriminant(a) == std::mem::discriminant(b)
}

fn merge_map(
    mut original: Map<String, Value>,
    mut patch: Map<String, Value>,
    schema: Schema<'_>,
) -> Result<Map<String, Value>, SmpError> {
    if let Some(directive) = patch.get(DIRECTIVE) {
        return match directive.as_str() {
            Some("replace") => {
                patch.remove(DIRECTIVE);
                // The map replaces the original; directives inside it still
                // mean what they say.
                merge_map(Map::new(), patch, schema)
            }
            Some("delete") => Ok(Map::new()),
            _ => Err(SmpError::bad_patch_type(directive, &patch)),
        };
    }
    apply_retain_keys(&mut original, &mut patch)?;
    apply_set_element_order(&mut original, &mut patch, schema)?;

    for (key, value) in patch {
        if key.starts_with(SET_ELEMENT_ORDER) {
            continue;
        }
        let (field, delete_list) = match key.strip_prefix(DELETE_FROM_PRIMITIVE_LIST) {
            Some("") => return Err(SmpError::primitive_list()),
            Some(field) => (field.to_string(), true),
            None => (key, false),
        };
        let child = schema.child(&field);
        if value.is_null() {
            original.remove(&field);
            continue;
        }
        let Some(current) = original.get_mut(&field) else {
            if !delete_list {
                let added = merge_value_into_nothing(value, child)?;
                original.insert(field, added);
            }
            continue;
        };
        if !same_type(current, &value) {
            if !delete_list {
                *current = merge_value_into_nothing(value, child)?;
            }
            continue;
        }
        let strategy = child.patch_strategy();
        match (current, value) {
            (Value::Object(cur), Value::Object(p)) => {
                let cur = std::mem::take(cur);
                let merged = if strategy.replace {
                    merge_map(Map::new(), p, child)?
                } else {
                    merge_map(cur, p, child)?
                };
                original.insert(field, Value::Object(merged));
            }
            (Value::Array(cur), Value::Array(p)) => {
                let cur = std::mem::take(cur);
                let merged = if strategy.merge || delete_list {
                    merge_list(cur, p, child, delete_list)?
                } else {
                    discard_nulls_in_list(p)
                };
                original.insert(field, Value::Array(merged));
            }
            (slot, value) => *slot = value,
        }
    }
    Ok(original)
}

/// A patch value for a key the original lacks: taken as it is, minus what
/// only makes sense as a change (nulls, directives).
fn merge_value_into_nothing(value: Value, schema: Schema<'_>) -> Result<Value, SmpError> {
    Ok(match value {
        Value::Object(p) => Value::Object(merge_map(Map::new(), p, schema)?),
        Value::Array(p) if schema.patch_strategy().merge => {
            Value::Array(merge_list(Vec::new(), p, schema, false)?)
        }
        Value::Array(p) => Value::Array(discard_nulls_in_list(p)),
        other => other,
    })
}

/// An atomic list from a patch: kept as sent, without null map values.
fn discard_nulls_in_list(items: Vec<Value>) -> Vec<Value> {
    items.into_iter().map(discard_nulls).collect()
}

fn discard_nulls(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, discard_nulls(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(discard_nulls_in_list(items)),
        other => other,
    }
}

/// `$retainKeys: [a, b]`: the original keeps only these keys, and the
/// patch may only set these keys.
fn apply_retain_keys(
    original: &mut Map<String, Value>,
    patch: &mut Map<String, Value>,
) -> Result<(), SmpError> {
    let Some(retain) = patch.remove(RETAIN_KEYS) else {
        return Ok(());
    };
    let Value::Array(retain) = retain else {
        return Err(SmpError::retain_keys());
    };
    let keep: Vec<&str> = retain
        .iter()
        .map(|v| v.as_str().ok_or_else(SmpError::retain_keys))
        .collect::<Result<_, _>>()?;
    for (k, v) in patch.iter() {
        if v.is_null()
            || k.starts_with(DELETE_FROM_PRIMITIVE_LIST)
            || k.starts_with(SET_ELEMENT_ORDER)
        {
            continue;
        }
        if !keep.contains(&k.as_str()) {
            return Err(SmpError::retain_keys());
        }
    }
    original.retain(|k, _| keep.contains(&k.as_str()));
    Ok(())
}

/// Processes every `$setElementOrder/<field>`: merges the field's list
/// (removing it from the patch) and orders the result by the directive, then
/// by the patch, then by the original.
fn apply_set_element_order(
    original: &mut Map<String, Value>,
    patch: &mut Map<String, Value>,
    schema: Schema<'_>,
) -> Result<(), SmpError> {
    let fields: Vec<String> = patch
        .keys()
        .filter_map(|k| k.strip_prefix(SET_ELEMENT_ORDER))
        .map(str::to_string)
        .collect();
    for field in fields {
        let order = match patch.get(&format!("{SET_ELEMENT_ORDER}{field}")) {
            Some(Value::Array(order)) => order.clone(),
            Some(other) => return Err(SmpError::bad_arg_type("slice", other)),
            None => continue,
        };
        if field.is_empty() {
            return Err(SmpError::set_element_order());
        }
        let original_list = match original.get(&field) {
            None => None,
            Some(Value::Array(items)) => Some(items.clone()),
            Some(other) => return Err(SmpError::bad_arg_type("slice", other)),
        };
        let patch_list = match patch.get(&field) {
            None => None,
            Some(Value::Array(items)) => Some(items.clone()),
            Some(other) => return Err(SmpError::bad_arg_type("slice", other)),
        };
        let child = schema.child(&field);
        let merge_key = child.merge_key().unwrap_or_default();
        validate_order(patch_list.as_deref().unwrap_or_default(), &order, merge_key)?;
        let merged = match (&original_list, patch_list) {
            (None, None) => continue,
            (Some(o), None) => o.clone(),
            (None, Some(p)) => match merge_value_into_nothing(Value::Array(p), child)? {
                Value::Array(items) => items,
                _ => Vec::new(),
            },
            (Some(o), Some(p)) => {
                if child.patch_strategy().merge {
                    merge_list(o.clone(), p, child, false)?
                } else {
                    discard_nulls_in_list(p)
                }
            }
        };
        let by_map = merged.iter().chain(order.iter()).any(Value::is_object);
        let key = if by_map { merge_key } else { "" };
        let (in_order, server_only): (Vec<Value>, Vec<Value>) = merged
            .into_iter()
            .partition(|item| index_of(&order, item, key).is_some());
        let ordered = normalize_order(
            in_order,
            server_only,
            &order,
            original_list.as_deref().unwrap_or_default(),
            key,
        );
        original.insert(field.clone(), Value::Array(ordered));
        patch.remove(&field);
    }
    Ok(())
}

/// Upstream's `validatePatchWithSetOrderList`: the items the patch sets
/// must appear in the directive's list, in the same relative order.
fn validate_order(patch_list: &[Value], order: &[Value], merge_key: &str) -> Result<(), SmpError> {
    if order.is_empty() || patch_list.is_empty() {
        return Ok(());
    }
    let items: Vec<&Value> = patch_list
        .iter()
        .filter(|item| item.get(DIRECTIVE).is_none())
        .collect();
    let (mut p, mut o) = (0, 0);
    while p < items.len() && o < order.len() {
        let same = if merge_key.is_empty() {
            items[p] == &order[o]
        } else {
            match (items[p].get(merge_key), order[o].get(merge_key)) {
                (Some(a), Some(b)) => a == b,
                _ => return Err(SmpError::set_element_order()),
            }
        };
        if same {
            p += 1;
        }
        o += 1;
    }
    if p < items.len() {
        return Err(SmpError::Other(format!(
            "The order in patch list:\n{}\n doesn't match {SET_ELEMENT_ORDER} list:\n{}\n",
            go_value(&Value::Array(patch_list.to_vec())),
            go_value(&Value::Array(order.to_vec()))
        )));
    }
    Ok(())
}

/// Merges two lists of a `merge` field.
fn merge_list(
    original: Vec<Value>,
    patch: Vec<Value>,
    schema: Schema<'_>,
    delete_list: bool,
) -> Result<Vec<Value>, SmpError> {
    if original.is_empty() && patch.is_empty() {
        return Ok(original);
    }
    check_element_types(&original, &patch)?;
    let of_maps = original.iter().chain(patch.iter()).any(Value::is_object);
    if !of_maps {
        if delete_list {
            return Ok(original
                .into_iter()
                .filter(|v| !patch.contains(v))
                .collect());
        }
        let mut merged = original.clone();
        for v in &patch {
            if !merged.contains(v) {
                merged.push(v.clone());
            }
        }
        let (in_patch, server_only): (Vec<Value>, Vec<Value>) =
            merged.into_iter().partition(|v| patch.contains(v));
        return Ok(normalize_order(
            in_patch,
            server_only,
            &patch,
            &original,
            "",
        ));
    }
    let Some(key) = schema.merge_key() else {
        return Err(SmpError::Other(
            "cannot merge lists without merge key for map".into(),
        ));
    };
    let items = schema.items();
    let order_of_original = original.clone();
    let (mut merged, plain) = apply_list_directives(original, patch, key, items)?;
    for item in &plain {
        let Value::Object(item) = item else {
            return Err(SmpError::bad_arg_type("map", item));
        };
        let Some(wanted) = item.get(key) else {
            return Err(SmpError::no_merge_key(item, key));
        };
        let found = merged
            .iter()
            .position(|m| m.get(key).is_some_and(|v| v == wanted));
        match found {
            Some(i) => {
                let current = match std::mem::take(&mut merged[i]) {
                    Value::Object(m) => m,
                    other => return Err(SmpError::bad_arg_type("map", &other)),
                };
                merged[i] = Value::Object(merge_map(current, item.clone(), items)?);
            }
            None => merged.push(Value::Object(merge_map(Map::new(), item.clone(), items)?)),
        }
    }
    let (in_patch, server_only): (Vec<Value>, Vec<Value>) = merged
        .into_iter()
        .partition(|m| index_of(&plain, m, key).is_some());
    Ok(normalize_order(
        in_patch,
        server_only,
        &plain,
        &order_of_original,
        key,
    ))
}

/// Every item of both lists must have the same JSON type, and none may be
/// a list.
fn check_element_types(original: &[Value], patch: &[Value]) -> Result<(), SmpError> {
    let mut first: Option<&Value> = None;
    for v in original.iter().chain(patch.iter()) {
        match first {
            None => {
                if v.is_array() {
                    return Err(SmpError::list_of_lists());
                }
                first = Some(v);
            }
            Some(f) if !same_type(f, v) => {
                return Err(SmpError::Other(format!(
                    "list element types are not identical: {}",
                    go_value(&Value::Array(
                        original.iter().chain(patch.iter()).cloned().collect()
                    ))
                )));
            }
            Some(_) => {}
        }
    }
    Ok(())
}

/// Handles the `$patch` items of a list of maps: `delete` removes the
/// original items with that merge key, `replace` makes the patch's other
/// items the whole list. Returns the (possibly reduced) original and the
/// patch items left to merge.
fn apply_list_directives(
    mut original: Vec<Value>,
    patch: Vec<Value>,
    key: &str,
    items: Schema<'_>,
) -> Result<(Vec<Value>, Vec<Value>), SmpError> {
    let mut plain = Vec::new();
    let mut replace = false;
    for item in patch {
        let Value::Object(map) = &item else {
            return Err(SmpError::bad_arg_type("map", &item));
        };
        match map.get(DIRECTIVE) {
            None => plain.push(item),
            Some(d) => match d.as_str() {
                Some("delete") => {
                    let Some(wanted) = map.get(key) else {
                        return Err(SmpError::Other(
                            "delete patch type with no merge key defined".into(),
                        ));
                    };
                    original.retain(|o| o.get(key) != Some(wanted));
                }
                Some("replace") => replace = true,
                Some("merge") => {
                    return Err(SmpError::Other(
                        "merging lists cannot yet be specified in the patch".into(),
                    ));
                }
                _ => return Err(SmpError::bad_patch_type(d, map)),
            },
        }
    }
    if replace {
        // Cleaned as new items: the replacement list is taken as sent.
        let replaced = plain
            .into_iter()
            .map(|v| match v {
                Value::Object(m) => merge_map(Map::new(), m, items).map(Value::Object),
                other => Ok(other),
            })
            .collect::<Result<Vec<_>, _>>()?;
        return Ok((replaced, Vec::new()));
    }
    Ok((original, plain))
}

/// Position of `item` in `list`: by merge key for maps, by value otherwise.
fn index_of(list: &[Value], item: &Value, key: &str) -> Option<usize> {
    if key.is_empty() {
        return list.iter().position(|v| v == item);
    }
    let wanted = item.get(key)?;
    list.iter().position(|v| v.get(key) == Some(wanted))
}

/// Upstream's `normalizeElementOrder`: `patch_items` sorted by
/// `patch_order`, `server_only` by `server_order`, then interleaved so that
/// each keeps its relative order and server-only items stay near their
/// neighbours in the live list.
fn normalize_order(
    mut patch_items: Vec<Value>,
    mut server_only: Vec<Value>,
    patch_order: &[Value],
    server_order: &[Value],
    key: &str,
) -> Vec<Value> {
    sort_by_order(&mut patch_items, patch_order, key);
    sort_by_order(&mut server_only, server_order, key);
    let mut out = Vec::with_capacity(patch_items.len() + server_only.len());
    let mut left = server_only.into_iter().peekable();
    let mut right = patch_items.into_iter().peekable();
    loop {
        match (left.peek(), right.peek()) {
            (None, None) => break,
            (Some(_), None) => out.extend(left.next()),
            (None, Some(_)) => out.extend(right.next()),
            (Some(l), Some(r)) => {
                let li = index_of(server_order, l, key);
                let ri = index_of(server_order, r, key);
                match (li, ri) {
                    (Some(li), Some(ri)) if li < ri => out.extend(left.next()),
                    _ => out.extend(right.next()),
                }
            }
        }
    }
    out
}

/// Stable sort by position in `order`; items not in it go last.
fn sort_by_order(items: &mut [Value], order: &[Value], key: &str) {
    items.sort_by_key(|item| index_of(order, item, key).unwrap_or(usize::MAX));
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::patch::schema::tests::mini;

    fn smp(original: Value, patch: Value) -> Result<Value, SmpError> {
        let defs = mini();
        apply(original, patch, Schema::named(&defs, "Obj"))
    }

    fn ok(original: Value, patch: Value) -> Value {
        smp(original, patch).expect("patch applies")
    }

    fn pod() -> Value {
        json!({
            "metadata": {"name": "p", "labels": {"a": "1", "b": "2"}, "finalizers": ["x", "y"]},
            "spec": {
                "replicas": 1,
                "containers": [
                    {"name": "a", "image": "a:1", "args": ["1", "2"], "env": [{"name": "E", "value": "1"}]},
                    {"name": "b", "image": "b:1"}
                ],
                "tags": ["t1", "t2"]
            }
        })
    }

    #[test]
    fn maps_merge_and_null_deletes() {
        let out = ok(
            pod(),
            json!({"metadata": {"labels": {"a": null, "c": "3"}}, "spec": {"replicas": 3}}),
        );
        assert_eq!(out["metadata"]["labels"], json!({"b": "2", "c": "3"}));
        assert_eq!(out["spec"]["replicas"], 3);
        // null on a missing key is ignored, and nulls inside new maps are dropped
        let out = ok(
            pod(),
            json!({"spec": {"nope": null, "extra": {"x": 1, "y": null}}}),
        );
        assert_eq!(out["spec"]["extra"], json!({"x": 1}));
        assert!(out["spec"].get("nope").is_none());
    }

    #[test]
    fn lists_merge_by_key_and_others_are_replaced() {
        let out = ok(
            pod(),
            json!({"spec": {"containers": [{"name": "b", "image": "b:2"}, {"name": "c", "image": "c:1"}]}}),
        );
        let names: Vec<&str> = out["spec"]["containers"]
            .as_array()
            .expect("list")
            .iter()
            .map(|c| c["name"].as_str().unwrap_or_default())
            .collect();
        assert_eq!(names, ["a", "b", "c"]);
        assert_eq!(out["spec"]["containers"][1]["image"], "b:2");
        assert_eq!(out["spec"]["containers"][0]["image"], "a:1");
        // atomic list inside an item: replaced
        let out = ok(
            pod(),
            json!({"spec": {"containers": [{"name": "a", "args": ["3"], "env": [{"name": "F", "value": "2"}]}]}}),
        );
        let a = &out["spec"]["containers"][0];
        assert_eq!(a["args"], json!(["3"]));
        // upstream's ordering: a new item the live list cannot place goes
        // before the server-only ones
        assert_eq!(
            a["env"],
            json!([{"name": "F", "value": "2"}, {"name": "E", "value": "1"}])
        );
    }

    #[test]
    fn primitive_merge_lists_are_sets() {
        let out = ok(
            pod(),
            json!({"metadata": {"finalizers": ["y", "z"]}, "spec": {"tags": ["t3"]}}),
        );
        // patch items keep the patch's order; server-only items are placed
        // before patch items they precede in the live list
        assert_eq!(out["metadata"]["finalizers"], json!(["x", "y", "z"]));
        assert_eq!(out["spec"]["tags"], json!(["t3", "t1", "t2"]));
    }

    #[test]
    fn delete_from_primitive_list() {
        let out = ok(
            pod(),
            json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["x", "nope"]}}),
        );
        assert_eq!(out["metadata"]["finalizers"], json!(["y"]));
        // on a missing list it does nothing
        let out = ok(
            json!({"metadata": {}}),
            json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["x"]}}),
        );
        assert!(out["metadata"].get("finalizers").is_none());
        let err = smp(
            pod(),
            json!({"metadata": {"$deleteFromPrimitiveList/": ["x"]}}),
        )
        .expect_err("no field name");
        assert_eq!(
            err,
            SmpError::BadRequest("invalid patch format of primitive list".into())
        );
    }

    #[test]
    fn patch_delete_directive() {
        // in a list: delete by merge key
        let out = ok(
            pod(),
            json!({"spec": {"containers": [{"name": "a", "$patch": "delete"}]}}),
        );
        assert_eq!(
            out["spec"]["containers"],
            json!([{"name": "b", "image": "b:1"}])
        );
        // in a map: empty it
        let out = ok(pod(), json!({"metadata": {"labels": {"$patch": "delete"}}}));
        assert_eq!(out["metadata"]["labels"], json!({}));
        // without the merge key
        let err = smp(
            pod(),
            json!({"spec": {"containers": [{"$patch": "delete"}]}}),
        )
        .expect_err("needs a key");
        assert_eq!(
            err,
            SmpError::Other("delete patch type with no merge key defined".into())
        );
    }

    #[test]
    fn patch_replace_directive() {
        let out = ok(
            pod(),
            json!({"spec": {"containers": [{"name": "z", "image": "z:1"}, {"$patch": "replace"}]}}),
        );
        assert_eq!(
            out["spec"]["containers"],
            json!([{"name": "z", "image": "z:1"}])
        );
        let out = ok(
            pod(),
            json!({"metadata": {"labels": {"$patch": "replace", "only": "me"}}}),
        );
        assert_eq!(out["metadata"]["labels"], json!({"only": "me"}));
    }

    #[test]
    fn patch_merge_directive_is_refused_like_upstream() {
        let err = smp(
            pod(),
            json!({"spec": {"containers": [{"$patch": "merge"}]}}),
        )
        .expect_err("not supported");
        assert_eq!(
            err,
            SmpError::Other("merging lists cannot yet be specified in the patch".into())
        );
        let err = smp(pod(), json!({"metadata": {"labels": {"$patch": "merge"}}}))
            .expect_err("not a map directive");
        assert_eq!(
            err,
            SmpError::Other("unknown patch type: merge in map: map[$patch:merge]".into())
        );
    }

    #[test]
    fn set_element_order() {
        let out = ok(
            pod(),
            json!({"spec": {
                "$setElementOrder/containers": [{"name": "c"}, {"name": "b"}, {"name": "a"}],
                "containers": [{"name": "c", "image": "c:1"}]
            }}),
        );
        let names: Vec<&str> = out["spec"]["containers"]
            .as_array()
            .expect("list")
            .iter()
            .map(|c| c["name"].as_str().unwrap_or_default())
            .collect();
        assert_eq!(names, ["c", "b", "a"]);
        assert!(out["spec"].get("$setElementOrder/containers").is_none());
        // primitives
        let out = ok(
            pod(),
            json!({"metadata": {"$setElementOrder/finalizers": ["y", "x"]}}),
        );
        assert_eq!(out["metadata"]["finalizers"], json!(["y", "x"]));
        // the patch's items must follow the directive's order
        let err = smp(
            pod(),
            json!({"spec": {
                "$setElementOrder/containers": [{"name": "a"}, {"name": "b"}],
                "containers": [{"name": "b", "image": "x"}, {"name": "a", "image": "y"}]
            }}),
        )
        .expect_err("order mismatch");
        assert!(matches!(err, SmpError::Other(m) if m.starts_with("The order in patch list")));
        // malformed
        let err = smp(pod(), json!({"spec": {"$setElementOrder/containers": "x"}}))
            .expect_err("not a list");
        assert_eq!(
            err,
            SmpError::Other("expected a slice, but received a string".into())
        );
    }

    #[test]
    fn retain_keys() {
        let original = json!({"spec": {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}}});
        let out = ok(
            original.clone(),
            json!({"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}}),
        );
        assert_eq!(out["spec"]["strategy"], json!({"type": "Recreate"}));
        // a key the patch sets must be retained
        let err = smp(
            original.clone(),
            json!({"spec": {"strategy": {"$retainKeys": ["type"], "rollingUpdate": {}}}}),
        )
        .expect_err("not retained");
        assert_eq!(
            err,
            SmpError::BadRequest("invalid patch format of retainKeys".into())
        );
        let err = smp(
            original,
            json!({"spec": {"strategy": {"$retainKeys": "type"}}}),
        )
        .expect_err("not a list");
        assert_eq!(
            err,
            SmpError::BadRequest("invalid patch format of retainKeys".into())
        );
        // in list items (volumes are merge,retainKeys)
        let out = ok(
            json!({"spec": {"volumes": [{"name": "v", "emptyDir": {}}]}}),
            json!({"spec": {"volumes": [{"name": "v", "$retainKeys": ["hostPath", "name"], "hostPath": {"path": "/x"}}]}}),
        );
        assert_eq!(
            out["spec"]["volumes"],
            json!([{"name": "v", "hostPath": {"path": "/x"}}])
        );
    }

    #[test]
    fn missing_merge_key_quotes_the_map_like_upstream() {
        let err = smp(
            pod(),
            json!({"spec": {"containers": [{"image": "nginx:1.25"}]}}),
        )
        .expect_err("no name");
        assert_eq!(
            err,
            SmpError::Other(
                "map: map[image:nginx:1.25] does not contain declared merge key: name".into()
            )
        );
    }

    #[test]
    fn type_changes_replace_and_lists_of_lists_fail() {
        let out = ok(pod(), json!({"spec": {"replicas": "two"}}));
        assert_eq!(out["spec"]["replicas"], "two");
        let err = smp(
            json!({"spec": {"tags": [["a"]]}}),
            json!({"spec": {"tags": [["b"]]}}),
        )
        .expect_err("lists of lists");
        assert_eq!(
            err,
            SmpError::Unprocessable("lists of lists are not supported".into())
        );
        assert_eq!(
            smp(json!({}), json!([1])).expect_err("not an object"),
            SmpError::BadRequest("invalid JSON document".into())
        );
    }

    #[test]
    fn new_lists_and_maps_are_cleaned_of_directives() {
        let out = ok(
            json!({"spec": {}}),
            json!({"spec": {
                "$setElementOrder/containers": [{"name": "a"}],
                "containers": [{"name": "a", "image": "a:1", "env": null}]
            }}),
        );
        assert_eq!(
            out["spec"],
            json!({"containers": [{"name": "a", "image": "a:1"}]})
        );
    }

    #[test]
    fn port_lists_merge_by_container_port() {
        let original = json!({"spec": {"containers": [{"name": "a", "ports": [
            {"containerPort": 80, "protocol": "TCP"}, {"containerPort": 443, "protocol": "TCP"}
        ]}]}});
        let out = ok(
            original,
            json!({"spec": {"containers": [{"name": "a", "ports": [{"containerPort": 80, "name": "http"}]}]}}),
        );
        assert_eq!(
            out["spec"]["containers"][0]["ports"],
            json!([
                {"containerPort": 80, "protocol": "TCP", "name": "http"},
                {"containerPort": 443, "protocol": "TCP"}
            ])
        );
    }
}

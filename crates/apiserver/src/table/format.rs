//! Small formatting helpers shared by the printers: reading fields out of
//! an object's JSON, ages, label sets and selectors, container lists. They
//! reproduce the strings upstream's printers produce (`duration`,
//! `labels.FormatLabels`, `metav1.FormatLabelSelector` ...), because users
//! and scripts read them.

use chrono::{DateTime, Utc};
use serde_json::Value;

/// The value at `path` (object keys), if every step exists.
pub fn at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(v, |cur, key| cur.get(key))
}

/// The string at `path`, or `""`.
pub fn text<'a>(v: &'a Value, path: &[&str]) -> &'a str {
    at(v, path).and_then(Value::as_str).unwrap_or("")
}

/// The integer at `path`, or 0.
pub fn int(v: &Value, path: &[&str]) -> i64 {
    at(v, path).and_then(Value::as_i64).unwrap_or(0)
}

/// The array at `path`, or an empty slice.
pub fn list<'a>(v: &'a Value, path: &[&str]) -> &'a [Value] {
    at(v, path)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// The number of entries of the object (map) at `path`.
pub fn map_len(v: &Value, path: &[&str]) -> i64 {
    at(v, path)
        .and_then(Value::as_object)
        .map_or(0, |m| m.len() as i64)
}

/// `metadata.name`
pub fn name(obj: &Value) -> &str {
    text(obj, &["metadata", "name"])
}

/// An RFC 3339 timestamp (`metav1.Time` or `MicroTime`), if present and valid.
pub fn time(v: &Value, path: &[&str]) -> Option<DateTime<Utc>> {
    let s = at(v, path).and_then(Value::as_str)?;
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// `duration.HumanDuration`: a short, 2-3 significant figure rendering of
/// how long ago something was (`45s`, `3m12s`, `5h`, `12d`, `2y30d`).
pub fn human_duration(d: chrono::TimeDelta) -> String {
    let seconds = d.num_seconds();
    // Up to two seconds in the future is clock skew, "now".
    if seconds < -1 {
        return "<invalid>".into();
    }
    if seconds < 0 {
        return "0s".into();
    }
    if seconds < 60 * 2 {
        return format!("{seconds}s");
    }
    let minutes = seconds / 60;
    if minutes < 10 {
        let s = seconds % 60;
        return if s == 0 {
            format!("{minutes}m")
        } else {
            format!("{minutes}m{s}s")
        };
    }
    if minutes < 60 * 3 {
        return format!("{minutes}m");
    }
    let hours = minutes / 60;
    if hours < 8 {
        let m = minutes % 60;
        return if m == 0 {
            format!("{hours}h")
        } else {
            format!("{hours}h{m}m")
        };
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    if hours < 24 * 8 {
        let h = hours % 24;
        return if h == 0 {
            format!("{}d", hours / 24)
        } else {
            format!("{}d{h}h", hours / 24)
        };
    }
    if hours < 24 * 365 * 2 {
        return format!("{}d", hours / 24);
    }
    if hours < 24 * 365 * 8 {
        let dy = (hours / 24) % 365;
        return if dy == 0 {
            format!("{}y", hours / 24 / 365)
        } else {
            format!("{}y{dy}d", hours / 24 / 365)
        };
    }
    format!("{}y", hours / 24 / 365)
}

/// `translateTimestampSince`: the age of a timestamp, `<unknown>` without one.
pub fn since(t: Option<DateTime<Utc>>, now: DateTime<Utc>) -> String {
    match t {
        Some(t) => human_duration(now - t),
        None => "<unknown>".into(),
    }
}

/// The AGE cell: how long ago `metadata.creationTimestamp` was.
pub fn age(obj: &Value, now: DateTime<Utc>) -> Value {
    Value::String(since(time(obj, &["metadata", "creationTimestamp"]), now))
}

/// `labels.FormatLabels`: `k1=v1,k2=v2` sorted by key, `<none>` when empty.
pub fn labels(v: Option<&Value>) -> String {
    let Some(map) = v.and_then(Value::as_object).filter(|m| !m.is_empty()) else {
        return "<none>".into();
    };
    let mut pairs: Vec<String> = map
        .iter()
        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
        .collect();
    pairs.sort();
    pairs.join(",")
}

/// The string form of a `metav1.LabelSelector` (`LabelSelectorAsSelector`
/// then `String()`): requirements sorted by key, `""` for an empty or
/// absent selector, `<error>` for one that does not parse.
pub fn label_selector(sel: Option<&Value>) -> String {
    let Some(sel) = sel.filter(|s| !s.is_null()) else {
        return String::new();
    };
    let mut reqs: Vec<(String, String)> = Vec::new();
    if let Some(m) = sel.get("matchLabels").and_then(Value::as_object) {
        for (k, v) in m {
            reqs.push((k.clone(), format!("{k}={}", v.as_str().unwrap_or(""))));
        }
    }
    for e in list(sel, &["matchExpressions"]) {
        let key = text(e, &["key"]);
        let mut values: Vec<&str> = list(e, &["values"])
            .iter()
            .filter_map(Value::as_str)
            .collect();
        values.sort_unstable();
        values.dedup();
        let rendered = match text(e, &["operator"]) {
            "In" => format!("{key} in ({})", values.join(",")),
            "NotIn" => format!("{key} notin ({})", values.join(",")),
            "Exists" => key.to_string(),
            "DoesNotExist" => format!("!{key}"),
            _ => return "<error>".into(),
        };
        reqs.push((key.to_string(), rendered));
    }
    // Stable: several requirements on one key keep their order.
    reqs.sort_by(|a, b| a.0.cmp(&b.0));
    reqs.into_iter()
        .map(|(_, r)| r)
        .collect::<Vec<_>>()
        .join(",")
}

/// `metav1.FormatLabelSelector`: [`label_selector`] with `<none>` for empty.
pub fn label_selector_or_none(sel: Option<&Value>) -> String {
    let s = label_selector(sel);
    if s.is_empty() { "<none>".into() } else { s }
}

/// `layoutContainerCells`: container names and images, comma separated.
pub fn containers(pod_spec: Option<&Value>) -> (Value, Value) {
    let cs = pod_spec.map_or(&[][..], |s| list(s, &["containers"]));
    let names: Vec<&str> = cs.iter().map(|c| text(c, &["name"])).collect();
    let images: Vec<&str> = cs.iter().map(|c| text(c, &["image"])).collect();
    (names.join(",").into(), images.join(",").into())
}

/// `listWithMoreString`: at most `max` entries, then `+ N more...`.
pub fn list_with_more(items: &[String], max: usize, empty: &str) -> String {
    let shown = items
        .iter()
        .take(max)
        .cloned()
        .collect::<Vec<_>>()
        .join(",");
    if items.len() > max {
        format!("{shown} + {} more...", items.len() - max)
    } else if shown.is_empty() {
        empty.to_string()
    } else {
        shown
    }
}

/// `net.JoinHostPort`: brackets around IPv6 addresses.
pub fn host_port(host: &str, port: i64) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;
    use serde_json::json;

    use super::*;

    #[test]
    fn human_durations_like_upstream() {
        let d = |s: i64| human_duration(TimeDelta::seconds(s));
        assert_eq!(d(-5), "<invalid>");
        assert_eq!(d(-1), "0s");
        assert_eq!(d(0), "0s");
        assert_eq!(d(119), "119s");
        assert_eq!(d(120), "2m");
        assert_eq!(d(192), "3m12s");
        assert_eq!(d(10 * 60 + 30), "10m");
        assert_eq!(d(179 * 60), "179m");
        assert_eq!(d(3 * 3600), "3h");
        assert_eq!(d(5 * 3600 + 17 * 60), "5h17m");
        assert_eq!(d(30 * 3600), "30h");
        assert_eq!(d(3 * 86400), "3d");
        assert_eq!(d(3 * 86400 + 5 * 3600), "3d5h");
        assert_eq!(d(100 * 86400), "100d");
        assert_eq!(d(3 * 365 * 86400 + 20 * 86400), "3y20d");
        assert_eq!(d(9 * 365 * 86400), "9y");
    }

    #[test]
    fn ages_from_creation_timestamps() {
        let now = DateTime::parse_from_rfc3339("2024-05-01T12:00:00Z")
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default();
        let obj = json!({"metadata": {"creationTimestamp": "2024-05-01T11:55:00Z"}});
        assert_eq!(age(&obj, now), "5m");
        assert_eq!(age(&json!({"metadata": {}}), now), "<unknown>");
        assert_eq!(
            age(&json!({"metadata": {"creationTimestamp": "junk"}}), now),
            "<unknown>"
        );
    }

    #[test]
    fn label_sets_and_selectors() {
        assert_eq!(labels(Some(&json!({"b": "2", "a": "1"}))), "a=1,b=2");
        assert_eq!(labels(Some(&json!({}))), "<none>");
        assert_eq!(labels(None), "<none>");
        let sel = json!({
            "matchLabels": {"app": "web"},
            "matchExpressions": [
                {"key": "tier", "operator": "In", "values": ["b", "a"]},
                {"key": "env", "operator": "DoesNotExist"},
                {"key": "zone", "operator": "Exists"},
                {"key": "x", "operator": "NotIn", "values": ["1"]}
            ]
        });
        assert_eq!(
            label_selector(Some(&sel)),
            "app=web,!env,tier in (a,b),x notin (1),zone"
        );
        assert_eq!(label_selector(Some(&json!({}))), "");
        assert_eq!(label_selector_or_none(None), "<none>");
        assert_eq!(
            label_selector(Some(
                &json!({"matchExpressions": [{"key": "k", "operator": "Bad"}]})
            )),
            "<error>"
        );
    }

    #[test]
    fn lists_and_addresses() {
        let items: Vec<String> = ["a", "b", "c", "d", "e"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(list_with_more(&items, 3, "<unset>"), "a,b,c + 2 more...");
        assert_eq!(list_with_more(&items[..2], 3, "<unset>"), "a,b");
        assert_eq!(list_with_more(&[], 3, "<unset>"), "<unset>");
        assert_eq!(host_port("10.0.0.1", 80), "10.0.0.1:80");
        assert_eq!(host_port("fd00::1", 80), "[fd00::1]:80");
        let spec =
            json!({"containers": [{"name": "a", "image": "x:1"}, {"name": "b", "image": "y"}]});
        assert_eq!(containers(Some(&spec)), (json!("a,b"), json!("x:1,y")));
    }
}

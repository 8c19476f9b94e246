//! Go's `%v` of decoded JSON, for error messages that quote a value the way
//! upstream does (`map: map[image:nginx] does not contain declared merge key: name`).

use serde_json::Value;

/// `%v` of a `map[string]interface{}` / `[]interface{}` tree: maps as
/// `map[k:v ...]` with sorted keys, lists as `[a b]`, null as `<nil>`.
pub fn go_value(v: &Value) -> String {
    let mut out = String::new();
    write(v, &mut out);
    out
}

fn write(v: &Value, out: &mut String) {
    match v {
        Value::Null => out.push_str("<nil>"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&number(n)),
        Value::String(s) => out.push_str(s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                write(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push_str("map[");
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                out.push_str(k);
                out.push(':');
                if let Some(v) = map.get(k) {
                    write(v, out);
                }
            }
            out.push(']');
        }
    }
}

/// Go decodes JSON numbers as float64 and prints them with `%v` (`%g`
/// with the shortest representation): integers print plainly.
fn number(n: &serde_json::Number) -> String {
    if n.is_i64() || n.is_u64() {
        return n.to_string();
    }
    match n.as_f64() {
        Some(f) if f.fract() == 0.0 && f.abs() < 1e21 => format!("{f:.0}"),
        Some(f) => f.to_string(),
        None => n.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn prints_like_go() {
        assert_eq!(
            go_value(&json!({"image": "nginx:1.25", "ports": [80, 1.5], "x": null, "b": true})),
            "map[b:true image:nginx:1.25 ports:[80 1.5] x:<nil>]"
        );
        assert_eq!(go_value(&json!({})), "map[]");
    }
}

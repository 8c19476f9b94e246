//! How upstream prints Go values inside field errors.
//!
//! `field.Invalid(path, value, msg)` renders `value` with Go's `%#v` when it
//! is not a string or a number, so `kubectl` users see messages such as
//! `spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{"app":"web"}, ...}: field is immutable`.
//! Clients and scripts match on these texts, so the few shapes our
//! strategies report are reproduced here byte for byte.

use std::collections::BTreeMap;

use api_types::intstr::IntOrString;
use api_types::meta::v1::LabelSelector;

use crate::error::quote;

/// `map[string]string{"a":"b", "c":"d"}` (keys sorted, as Go prints maps);
/// `map[string]string(nil)` for a missing map.
pub fn string_map(map: Option<&BTreeMap<String, String>>) -> String {
    match map {
        None => "map[string]string(nil)".into(),
        Some(m) => {
            let pairs: Vec<String> = m
                .iter()
                .map(|(k, v)| format!("{}:{}", quote(k), quote(v)))
                .collect();
            format!("map[string]string{{{}}}", pairs.join(", "))
        }
    }
}

/// Labels as Go holds them after decoding: an absent or empty map is `nil`.
pub fn labels(map: &BTreeMap<String, String>) -> String {
    string_map((!map.is_empty()).then_some(map))
}

/// `[]<ty>{"a", "b"}`, or `[]<ty>(nil)` for a missing slice.
pub fn string_slice(ty: &str, items: Option<&[String]>) -> String {
    match items {
        None => format!("[]{ty}(nil)"),
        Some(items) => {
            let quoted: Vec<String> = items.iter().map(|s| quote(s)).collect();
            format!("[]{ty}{{{}}}", quoted.join(", "))
        }
    }
}

/// A `metav1.LabelSelector` as `%#v` prints it.
pub fn label_selector(sel: &LabelSelector) -> String {
    let exprs = match &sel.match_expressions {
        None => "[]v1.LabelSelectorRequirement(nil)".to_string(),
        Some(list) => {
            let items: Vec<String> = list
                .iter()
                .map(|r| {
                    format!(
                        "v1.LabelSelectorRequirement{{Key:{}, Operator:{}, Values:{}}}",
                        quote(&r.key),
                        quote(&r.operator),
                        string_slice("string", r.values.as_deref())
                    )
                })
                .collect();
            format!("[]v1.LabelSelectorRequirement{{{}}}", items.join(", "))
        }
    };
    format!(
        "v1.LabelSelector{{MatchLabels:{}, MatchExpressions:{}}}",
        string_map(sel.match_labels.as_ref()),
        exprs
    )
}

/// An `intstr.IntOrString` as `%#v` prints it (type 0 = int, 1 = string).
pub fn int_or_string(v: &IntOrString) -> String {
    match v {
        IntOrString::Int(i) => format!("intstr.IntOrString{{Type:0, IntVal:{i}, StrVal:\"\"}}"),
        IntOrString::String(s) => {
            format!(
                "intstr.IntOrString{{Type:1, IntVal:0, StrVal:{}}}",
                quote(s)
            )
        }
    }
}

/// An optional string behind a Go pointer: the pointee, or `null`.
pub fn opt_string(v: Option<&str>) -> String {
    v.map_or_else(|| "null".to_string(), quote)
}

#[cfg(test)]
mod tests {
    use api_types::meta::v1::LabelSelectorRequirement;

    use super::*;

    #[test]
    fn maps_and_slices_print_like_go() {
        let m = BTreeMap::from([("b".to_string(), "2".to_string()), ("a".into(), "1".into())]);
        assert_eq!(
            string_map(Some(&m)),
            r#"map[string]string{"a":"1", "b":"2"}"#
        );
        assert_eq!(labels(&BTreeMap::new()), "map[string]string(nil)");
        assert_eq!(
            string_slice("string", Some(&["10.0.0.1".to_string()])),
            r#"[]string{"10.0.0.1"}"#
        );
        assert_eq!(string_slice("core.IPFamily", None), "[]core.IPFamily(nil)");
    }

    #[test]
    fn selectors_print_like_go() {
        assert_eq!(
            label_selector(&LabelSelector::default()),
            "v1.LabelSelector{MatchLabels:map[string]string(nil), MatchExpressions:[]v1.LabelSelectorRequirement(nil)}"
        );
        let sel = LabelSelector {
            match_labels: Some(BTreeMap::from([("app".into(), "web".into())])),
            match_expressions: Some(vec![LabelSelectorRequirement {
                key: "tier".into(),
                operator: "In".into(),
                values: Some(vec!["a".into()]),
            }]),
        };
        assert_eq!(
            label_selector(&sel),
            r#"v1.LabelSelector{MatchLabels:map[string]string{"app":"web"}, MatchExpressions:[]v1.LabelSelectorRequirement{v1.LabelSelectorRequirement{Key:"tier", Operator:"In", Values:[]string{"a"}}}}"#
        );
    }

    #[test]
    fn int_or_string_prints_like_go() {
        assert_eq!(
            int_or_string(&IntOrString::Int(0)),
            r#"intstr.IntOrString{Type:0, IntVal:0, StrVal:""}"#
        );
        assert_eq!(
            int_or_string(&IntOrString::String("125%".into())),
            r#"intstr.IntOrString{Type:1, IntVal:0, StrVal:"125%"}"#
        );
        assert_eq!(opt_string(None), "null");
    }
}

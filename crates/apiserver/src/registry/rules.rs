//! Field rules shared by several kinds (`k8s.io/apimachinery/pkg/util/validation`
//! and helpers of `pkg/apis/core/validation` upstream): port numbers, IP
//! addresses, label maps and label selectors, with upstream's messages.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

use api_types::labels::{is_qualified_name, is_valid_label_value};
use api_types::meta::v1::LabelSelector;

use super::validation::dns1123_label;
use crate::error::{FieldError, FieldErrorKind};

/// Upstream's `supportedPortProtocols`, sorted as `sets.List` returns them.
pub const PROTOCOLS: [&str; 3] = ["SCTP", "TCP", "UDP"];

/// `validation.IsNegativeErrorMsg`.
pub const NEGATIVE: &str = "must be greater than or equal to 0";
/// `apimachineryvalidation.FieldImmutableErrorMsg`.
pub const IMMUTABLE: &str = "field is immutable";

/// `IsValidPortNum`: 1–65535.
pub fn port_number(path: impl Into<String>, port: i32) -> Option<FieldError> {
    (!(1..=65535).contains(&port))
        .then(|| FieldError::invalid_raw(path, port, "must be between 1 and 65535, inclusive"))
}

/// `ValidateNonnegativeField`.
pub fn nonnegative(path: impl Into<String>, value: impl Into<i64>) -> Option<FieldError> {
    let value = value.into();
    (value < 0).then(|| FieldError::invalid_raw(path, value, NEGATIVE))
}

/// `ValidateDNS1123Label`: one error per problem.
pub fn dns_label(path: &str, value: &str) -> Vec<FieldError> {
    dns1123_label(value)
        .into_iter()
        .map(|msg| FieldError::invalid(path, value, msg))
        .collect()
}

/// `ValidateQualifiedName` (label keys, `appProtocol` ...).
pub fn qualified_name(path: &str, value: &str) -> Vec<FieldError> {
    is_qualified_name(value)
        .into_iter()
        .map(|msg| FieldError::invalid(path, value, msg))
        .collect()
}

/// `field.Duplicate` for a value that is not a string (printed bare).
pub fn duplicate_raw(path: impl Into<String>, value: impl std::fmt::Display) -> FieldError {
    FieldError {
        field: path.into(),
        kind: FieldErrorKind::Duplicate,
        value: Some(value.to_string()),
        detail: String::new(),
    }
}

/// `field.NotSupported` for a value that is not a string (a struct printed
/// with `%#v`).
pub fn not_supported_raw(path: impl Into<String>, value: String, supported: &[&str]) -> FieldError {
    let mut e = FieldError::not_supported(path, "", supported);
    e.value = Some(value);
    e
}

/// `metav1validation.ValidateLabels`: every key a qualified name, every
/// value a label value; errors name the map's path, not the key.
pub fn labels(path: &str, map: &BTreeMap<String, String>) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for (k, v) in map {
        errs.extend(qualified_name(path, k));
        for msg in is_valid_label_value(v) {
            errs.push(FieldError::invalid(path, v, msg));
        }
    }
    errs
}

/// `ValidateLabelSelector` (strict: values must be label values).
pub fn label_selector(path: &str, sel: &LabelSelector) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if let Some(m) = &sel.match_labels {
        errs.extend(labels(&format!("{path}.matchLabels"), m));
    }
    for (i, r) in sel.match_expressions.iter().flatten().enumerate() {
        let rp = format!("{path}.matchExpressions[{i}]");
        let values = r.values.as_deref().unwrap_or_default();
        match r.operator.as_str() {
            "In" | "NotIn" if values.is_empty() => errs.push(FieldError::required(
                format!("{rp}.values"),
                "must be specified when `operator` is 'In' or 'NotIn'",
            )),
            "Exists" | "DoesNotExist" if !values.is_empty() => errs.push(FieldError::forbidden(
                format!("{rp}.values"),
                "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
            )),
            "In" | "NotIn" | "Exists" | "DoesNotExist" => {}
            other => errs.push(FieldError::invalid(
                format!("{rp}.operator"),
                other,
                "not a valid selector operator",
            )),
        }
        errs.extend(qualified_name(&format!("{rp}.key"), &r.key));
        for (j, v) in values.iter().enumerate() {
            for msg in is_valid_label_value(v) {
                errs.push(FieldError::invalid(format!("{rp}.values[{j}]"), v, msg));
            }
        }
    }
    errs
}

/// Go's `net.ParseIP` (what upstream calls `ParseIPSloppy`): like Rust's
/// parser, but IPv4 octets may carry leading zeros (`010.0.0.1` is 10.0.0.1).
pub fn parse_ip_sloppy(s: &str) -> Option<IpAddr> {
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Some(ip);
    }
    let parts: Vec<&str> = s.split('.').collect();
    if parts.len() != 4 {
        return None;
    }
    let mut octets = [0u8; 4];
    for (o, p) in octets.iter_mut().zip(parts) {
        if p.is_empty() || p.len() > 3 || !p.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        *o = p.parse().ok()?;
    }
    Some(IpAddr::V4(Ipv4Addr::from(octets)))
}

/// `validation.IsValidIP`.
pub fn valid_ip(path: &str, value: &str) -> Option<FieldError> {
    parse_ip_sloppy(value).is_none().then(|| {
        FieldError::invalid(
            path,
            value,
            "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
        )
    })
}

/// `ValidateNonSpecialIP`: endpoints and external IPs may not be
/// unspecified, loopback or link-local (those mean "this node").
pub fn non_special_ip(path: &str, value: &str) -> Vec<FieldError> {
    let Some(ip) = parse_ip_sloppy(value) else {
        return vec![FieldError::invalid(
            path,
            value,
            "must be a valid IP address",
        )];
    };
    // Go looks at an IPv4-mapped IPv6 address as the IPv4 address it holds.
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    };
    let (unspecified, loopback, link_local, link_local_multicast) = match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            (
                v4.is_unspecified(),
                v4.is_loopback(),
                o[0] == 169 && o[1] == 254,
                o[0] == 224 && o[1] == 0 && o[2] == 0,
            )
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            (
                v6.is_unspecified(),
                v6.is_loopback(),
                s[0] & 0xffc0 == 0xfe80,
                s[0] & 0xff0f == 0xff02,
            )
        }
    };
    let mut errs = Vec::new();
    let mut err = |msg: String| errs.push(FieldError::invalid(path, value, msg));
    if unspecified {
        err(format!("may not be unspecified ({value})"));
    }
    if loopback {
        err("may not be in the loopback range (127.0.0.0/8, ::1/128)".into());
    }
    if link_local {
        err("may not be in the link-local range (169.254.0.0/16, fe80::/10)".into());
    }
    if link_local_multicast {
        err("may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)".into());
    }
    errs
}

/// `validation.IsValidCIDR`.
pub fn valid_cidr(path: &str, value: &str) -> Option<FieldError> {
    let ok = value.split_once('/').is_some_and(|(ip, bits)| {
        match (parse_ip_sloppy(ip), bits.parse::<u8>()) {
            (Some(IpAddr::V4(_)), Ok(b)) => b <= 32 && !bits.starts_with('+'),
            (Some(IpAddr::V6(_)), Ok(b)) => b <= 128 && !bits.starts_with('+'),
            _ => false,
        }
    });
    (!ok).then(|| {
        FieldError::invalid(
            path,
            value,
            "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)",
        )
    })
}

#[cfg(test)]
mod tests {
    use api_types::meta::v1::LabelSelectorRequirement;

    use super::*;

    fn texts(errs: &[FieldError]) -> Vec<String> {
        errs.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn ports_and_counts() {
        assert!(port_number("p", 80).is_none());
        assert_eq!(
            port_number("spec.ports[0].port", 0).map(|e| e.to_string()),
            Some(
                "spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive"
                    .into()
            )
        );
        assert_eq!(
            nonnegative("spec.replicas", -1).map(|e| e.to_string()),
            Some("spec.replicas: Invalid value: -1: must be greater than or equal to 0".into())
        );
        assert_eq!(
            duplicate_raw("p", 30080).to_string(),
            "p: Duplicate value: 30080"
        );
    }

    #[test]
    fn ips_parse_sloppily_and_reject_special_ranges() {
        assert_eq!(
            parse_ip_sloppy("010.001.0.1"),
            Some(IpAddr::V4(Ipv4Addr::new(10, 1, 0, 1)))
        );
        assert!(parse_ip_sloppy("1.2.3").is_none());
        assert!(parse_ip_sloppy("1.2.3.256").is_none());
        assert!(non_special_ip("ip", "10.0.0.1").is_empty());
        assert_eq!(
            texts(&non_special_ip("ip", "127.0.0.1")),
            [
                r#"ip: Invalid value: "127.0.0.1": may not be in the loopback range (127.0.0.0/8, ::1/128)"#
            ]
        );
        assert_eq!(
            texts(&non_special_ip("ip", "0.0.0.0")),
            [r#"ip: Invalid value: "0.0.0.0": may not be unspecified (0.0.0.0)"#]
        );
        assert_eq!(non_special_ip("ip", "fe80::1").len(), 1);
        assert_eq!(non_special_ip("ip", "224.0.0.5").len(), 1);
        assert_eq!(non_special_ip("ip", "::ffff:169.254.1.1").len(), 1);
        assert_eq!(
            valid_ip("ip", "nope").map(|e| e.to_string()),
            Some(r#"ip: Invalid value: "nope": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"#.into())
        );
        assert!(valid_cidr("c", "10.0.0.0/8").is_none());
        assert!(valid_cidr("c", "10.0.0.0/33").is_some());
        assert!(valid_cidr("c", "10.0.0.0").is_some());
    }

    #[test]
    fn selectors_are_checked_strictly() {
        let sel = LabelSelector {
            match_labels: Some(BTreeMap::from([("app".into(), "bad value".into())])),
            match_expressions: Some(vec![
                LabelSelectorRequirement {
                    key: "tier".into(),
                    operator: "In".into(),
                    values: None,
                },
                LabelSelectorRequirement {
                    key: "x".into(),
                    operator: "Near".into(),
                    values: None,
                },
            ]),
        };
        let errs = texts(&label_selector("spec.selector", &sel));
        assert_eq!(errs.len(), 3, "{errs:?}");
        assert!(errs[0].starts_with(
            r#"spec.selector.matchLabels: Invalid value: "bad value": a valid label must be"#
        ));
        assert_eq!(
            errs[1],
            "spec.selector.matchExpressions[0].values: Required value: must be specified when `operator` is 'In' or 'NotIn'"
        );
        assert_eq!(
            errs[2],
            r#"spec.selector.matchExpressions[1].operator: Invalid value: "Near": not a valid selector operator"#
        );
    }
}

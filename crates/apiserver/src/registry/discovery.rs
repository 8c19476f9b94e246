//! Strategies for the `discovery.k8s.io` group: EndpointSlices, the
//! scalable successor of Endpoints (`pkg/registry/discovery/endpointslice`
//! and `pkg/apis/discovery/validation` upstream).
//!
//! A slice holds endpoints of one address type (`IPv4`, `IPv6` or `FQDN`),
//! fixed for its lifetime; the `kubernetes.io/service-name` label ties it
//! to its Service and is an ordinary label here.

use std::collections::BTreeSet;
use std::net::IpAddr;

use api_types::discovery::v1::{Endpoint, EndpointPort, EndpointSlice};

use super::rules::{
    IMMUTABLE, PROTOCOLS, dns_label, labels, non_special_ip, parse_ip_sloppy, port_number,
    qualified_name, valid_ip,
};
use super::strategy::Strategy;
use super::validation::{dns1123_label, dns1123_subdomain};
use crate::error::FieldError;

pub struct EndpointSliceStrategy;

/// Sorted, as upstream lists them.
const ADDRESS_TYPES: [&str; 3] = ["FQDN", "IPv4", "IPv6"];
/// Also accepted on update: the deprecated `IP` type of old slices.
const ADDRESS_TYPES_ON_UPDATE: [&str; 4] = ["FQDN", "IP", "IPv4", "IPv6"];
const MAX_TOPOLOGY_LABELS: usize = 16;
const MAX_ADDRESSES: usize = 100;
const MAX_PORTS: usize = 100;
const MAX_ENDPOINTS: usize = 1000;

/// Upstream's `field.TooMany`; our error kinds have no "Too many", so this
/// reads `Invalid value: 101: must have at most 100 items`.
fn too_many(path: impl Into<String>, n: usize, max: usize) -> FieldError {
    FieldError::invalid_raw(path, n, format!("must have at most {max} items"))
}

/// IPv4 or IPv6 as Go sees it: an IPv4-mapped IPv6 address is IPv4.
fn is_v4(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(_) => true,
        IpAddr::V6(v6) => v6.to_ipv4_mapped().is_some(),
    }
}

/// `validation.IsFullyQualifiedDomainName`.
fn fqdn(path: &str, name: &str) -> Option<FieldError> {
    if name.is_empty() {
        return Some(FieldError::required(path, ""));
    }
    let name = name.strip_suffix('.').unwrap_or(name);
    let errs = dns1123_subdomain(name);
    if !errs.is_empty() {
        return Some(FieldError::invalid(path, name, errs.join(",")));
    }
    if !name.contains('.') {
        return Some(FieldError::invalid(
            path,
            name,
            "should be a domain with at least two segments separated by dots",
        ));
    }
    name.split('.').find_map(|label| {
        let errs = dns1123_label(label);
        (!errs.is_empty()).then(|| FieldError::invalid(path, label, errs.join(",")))
    })
}

fn validate_address(path: &str, type_: &str, address: &str, errs: &mut Vec<FieldError>) {
    let family = |want_v4: bool, msg: &str| {
        let ok = parse_ip_sloppy(address).is_some_and(|ip| is_v4(ip) == want_v4);
        (!ok).then(|| FieldError::invalid(path, address, msg))
    };
    match type_ {
        "IPv4" => {
            errs.extend(family(true, "must be a valid IPv4 address"));
            errs.extend(non_special_ip(path, address));
        }
        "IPv6" => {
            errs.extend(family(false, "must be a valid IPv6 address"));
            errs.extend(non_special_ip(path, address));
        }
        "FQDN" => errs.extend(fqdn(path, address)),
        "IP" => errs.extend(valid_ip(path, address)),
        // Unknown types were reported already; their addresses are not checked.
        _ => {}
    }
}

fn validate_endpoint(path: &str, type_: &str, ep: &Endpoint, errs: &mut Vec<FieldError>) {
    let addresses = format!("{path}.addresses");
    if ep.addresses.is_empty() {
        errs.push(FieldError::required(
            addresses.clone(),
            "must contain at least 1 address",
        ));
    } else if ep.addresses.len() > MAX_ADDRESSES {
        errs.push(too_many(
            addresses.clone(),
            ep.addresses.len(),
            MAX_ADDRESSES,
        ));
    }
    for (i, a) in ep.addresses.iter().enumerate() {
        validate_address(&format!("{addresses}[{i}]"), type_, a, errs);
    }
    if let Some(node) = &ep.node_name {
        for msg in dns1123_subdomain(node) {
            errs.push(FieldError::invalid(format!("{path}.nodeName"), node, msg));
        }
    }
    if let Some(topology) = &ep.deprecated_topology {
        let tp = format!("{path}.deprecatedTopology");
        if topology.len() > MAX_TOPOLOGY_LABELS {
            errs.push(too_many(tp.clone(), topology.len(), MAX_TOPOLOGY_LABELS));
        }
        errs.extend(labels(&tp, topology));
    }
    if let Some(h) = &ep.hostname {
        errs.extend(dns_label(&format!("{path}.hostname"), h));
    }
}

fn validate_ports(ports: &[EndpointPort], errs: &mut Vec<FieldError>) {
    if ports.len() > MAX_PORTS {
        errs.push(too_many("ports", ports.len(), MAX_PORTS));
        return;
    }
    let mut names = BTreeSet::new();
    for (i, p) in ports.iter().enumerate() {
        let path = format!("ports[{i}]");
        let name = p.name.as_deref().unwrap_or_default();
        if !name.is_empty() {
            errs.extend(dns_label(&format!("{path}.name"), name));
        }
        // Unnamed ports collide with each other too.
        if !names.insert(name) {
            errs.push(FieldError::duplicate(format!("{path}.name"), name));
        }
        match p.protocol.as_deref() {
            None => errs.push(FieldError::required(format!("{path}.protocol"), "")),
            Some(proto) if !PROTOCOLS.contains(&proto) => errs.push(FieldError::not_supported(
                format!("{path}.protocol"),
                proto,
                &PROTOCOLS,
            )),
            Some(_) => {}
        }
        if let Some(app) = &p.app_protocol {
            errs.extend(qualified_name(&format!("{path}.appProtocol"), app));
        }
        // A nil port means "all ports"; a set one must be a real port.
        if let Some(port) = p.port {
            errs.extend(port_number(format!("{path}.port"), port));
        }
    }
}

fn validate_slice(slice: &EndpointSlice, valid_types: &[&str]) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let type_ = slice.address_type.as_str();
    if type_.is_empty() {
        errs.push(FieldError::required("addressType", ""));
    } else if !valid_types.contains(&type_) {
        errs.push(FieldError::not_supported("addressType", type_, valid_types));
    }
    let endpoints = slice.endpoints.as_deref().unwrap_or_default();
    if endpoints.len() > MAX_ENDPOINTS {
        errs.push(too_many("endpoints", endpoints.len(), MAX_ENDPOINTS));
    } else {
        for (i, ep) in endpoints.iter().enumerate() {
            validate_endpoint(&format!("endpoints[{i}]"), type_, ep, &mut errs);
        }
    }
    validate_ports(slice.ports.as_deref().unwrap_or_default(), &mut errs);
    errs
}

impl Strategy<EndpointSlice> for EndpointSliceStrategy {
    fn default(&self, slice: &mut EndpointSlice) {
        for p in slice.ports.iter_mut().flatten() {
            p.name.get_or_insert_with(String::new);
            p.protocol.get_or_insert_with(|| "TCP".into());
        }
    }

    fn validate(&self, slice: &EndpointSlice) -> Vec<FieldError> {
        validate_slice(slice, &ADDRESS_TYPES)
    }

    fn validate_update(&self, new: &EndpointSlice, old: &EndpointSlice) -> Vec<FieldError> {
        let mut errs = validate_slice(new, &ADDRESS_TYPES_ON_UPDATE);
        if new.address_type != old.address_type {
            errs.push(FieldError::invalid(
                "addressType",
                &new.address_type,
                IMMUTABLE,
            ));
        }
        errs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slice(type_: &str, addresses: &[&str]) -> EndpointSlice {
        let mut s = EndpointSlice {
            address_type: type_.into(),
            endpoints: Some(vec![Endpoint {
                addresses: addresses.iter().map(|a| a.to_string()).collect(),
                ..Default::default()
            }]),
            ports: Some(vec![EndpointPort {
                name: Some("http".into()),
                port: Some(8080),
                ..Default::default()
            }]),
            ..Default::default()
        };
        EndpointSliceStrategy.default(&mut s);
        s
    }

    fn texts(errs: &[FieldError]) -> Vec<String> {
        errs.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn defaults_and_valid_slices() {
        let s = slice("IPv4", &["10.244.0.5"]);
        let p = &s.ports.as_deref().expect("ports")[0];
        assert_eq!(p.protocol.as_deref(), Some("TCP"));
        assert!(EndpointSliceStrategy.validate(&s).is_empty());
        assert!(
            EndpointSliceStrategy
                .validate(&slice("IPv6", &["fd00::5"]))
                .is_empty()
        );
        assert!(
            EndpointSliceStrategy
                .validate(&slice("FQDN", &["db.example.com"]))
                .is_empty()
        );
    }

    #[test]
    fn address_type_is_required_known_and_immutable() {
        assert_eq!(
            texts(&EndpointSliceStrategy.validate(&slice("", &[]))),
            [
                "addressType: Required value",
                "endpoints[0].addresses: Required value: must contain at least 1 address",
            ]
        );
        assert_eq!(
            texts(&EndpointSliceStrategy.validate(&slice("IPv5", &["x"]))),
            [r#"addressType: Unsupported value: "IPv5": supported values: "FQDN", "IPv4", "IPv6""#]
        );
        let old = slice("IPv4", &["10.0.0.1"]);
        let new = slice("FQDN", &["a.example.com"]);
        assert_eq!(
            texts(&EndpointSliceStrategy.validate_update(&new, &old)),
            [r#"addressType: Invalid value: "FQDN": field is immutable"#]
        );
    }

    #[test]
    fn addresses_match_the_type() {
        assert_eq!(
            texts(&EndpointSliceStrategy.validate(&slice("IPv4", &["fd00::1", "127.0.0.1"]))),
            [
                r#"endpoints[0].addresses[0]: Invalid value: "fd00::1": must be a valid IPv4 address"#,
                r#"endpoints[0].addresses[1]: Invalid value: "127.0.0.1": may not be in the loopback range (127.0.0.0/8, ::1/128)"#,
            ]
        );
        assert_eq!(
            texts(&EndpointSliceStrategy.validate(&slice("FQDN", &["localhost"]))),
            [
                r#"endpoints[0].addresses[0]: Invalid value: "localhost": should be a domain with at least two segments separated by dots"#
            ]
        );
        let many: Vec<String> = (0..101)
            .map(|i| format!("10.0.{}.{}", i / 200, i % 200 + 1))
            .collect();
        let refs: Vec<&str> = many.iter().map(String::as_str).collect();
        assert_eq!(
            texts(&EndpointSliceStrategy.validate(&slice("IPv4", &refs))),
            ["endpoints[0].addresses: Invalid value: 101: must have at most 100 items"]
        );
    }

    #[test]
    fn ports() {
        let mut s = slice("IPv4", &["10.0.0.1"]);
        s.ports = Some(vec![
            EndpointPort {
                port: Some(0),
                ..Default::default()
            },
            EndpointPort {
                protocol: Some("ICMP".into()),
                ..Default::default()
            },
        ]);
        EndpointSliceStrategy.default(&mut s);
        assert_eq!(
            texts(&EndpointSliceStrategy.validate(&s)),
            [
                "ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive",
                r#"ports[1].name: Duplicate value: """#,
                r#"ports[1].protocol: Unsupported value: "ICMP": supported values: "SCTP", "TCP", "UDP""#,
            ]
        );
    }
}

//! Endpoints: the addresses behind a Service, written by the endpoints
//! controller (`pkg/registry/core/endpoint` and `ValidateEndpoints`
//! upstream). Newer clients read EndpointSlices instead; kube-proxy and
//! older tools still read these.

use api_types::core::v1::{EndpointAddress, EndpointPort, Endpoints};

use crate::error::FieldError;
use crate::registry::rules::{
    PROTOCOLS, dns_label, non_special_ip, port_number, qualified_name, valid_ip,
};
use crate::registry::strategy::Strategy;
use crate::registry::validation::dns1123_subdomain;

pub struct EndpointsStrategy;

fn validate_address(path: &str, a: &EndpointAddress, errs: &mut Vec<FieldError>) {
    let ip_path = format!("{path}.ip");
    errs.extend(valid_ip(&ip_path, &a.ip));
    if let Some(h) = a.hostname.as_deref().filter(|h| !h.is_empty()) {
        errs.extend(dns_label(&format!("{path}.hostname"), h));
    }
    if let Some(node) = &a.node_name {
        for msg in dns1123_subdomain(node) {
            errs.push(FieldError::invalid(format!("{path}.nodeName"), node, msg));
        }
    }
    // Upstream reports a malformed address twice: once as "not an IP" and
    // once from the special-range check.
    errs.extend(non_special_ip(&ip_path, &a.ip));
}

fn validate_port(path: &str, p: &EndpointPort, require_name: bool, errs: &mut Vec<FieldError>) {
    let name = p.name.as_deref().unwrap_or_default();
    if require_name && name.is_empty() {
        errs.push(FieldError::required(format!("{path}.name"), ""));
    } else if !name.is_empty() {
        errs.extend(dns_label(&format!("{path}.name"), name));
    }
    errs.extend(port_number(format!("{path}.port"), p.port));
    match p.protocol.as_deref().unwrap_or_default() {
        "" => errs.push(FieldError::required(format!("{path}.protocol"), "")),
        proto if !PROTOCOLS.contains(&proto) => errs.push(FieldError::not_supported(
            format!("{path}.protocol"),
            proto,
            &PROTOCOLS,
        )),
        _ => {}
    }
    if let Some(app) = &p.app_protocol {
        errs.extend(qualified_name(&format!("{path}.appProtocol"), app));
    }
}

impl Strategy<Endpoints> for EndpointsStrategy {
    fn default(&self, ep: &mut Endpoints) {
        for p in ep
            .subsets
            .iter_mut()
            .flatten()
            .flat_map(|s| s.ports.iter_mut().flatten())
        {
            if p.protocol.as_deref().unwrap_or_default().is_empty() {
                p.protocol = Some("TCP".into());
            }
        }
    }

    fn validate(&self, ep: &Endpoints) -> Vec<FieldError> {
        let mut errs = Vec::new();
        for (i, ss) in ep.subsets.iter().flatten().enumerate() {
            let path = format!("subsets[{i}]");
            let ready = ss.addresses.as_deref().unwrap_or_default();
            let not_ready = ss.not_ready_addresses.as_deref().unwrap_or_default();
            // A headless service's endpoints may have no ports, but every
            // subset needs an address.
            if ready.is_empty() && not_ready.is_empty() {
                errs.push(FieldError::required(
                    path.clone(),
                    "must specify `addresses` or `notReadyAddresses`",
                ));
            }
            for (j, a) in ready.iter().enumerate() {
                validate_address(&format!("{path}.addresses[{j}]"), a, &mut errs);
            }
            for (j, a) in not_ready.iter().enumerate() {
                validate_address(&format!("{path}.notReadyAddresses[{j}]"), a, &mut errs);
            }
            let ports = ss.ports.as_deref().unwrap_or_default();
            for (j, p) in ports.iter().enumerate() {
                validate_port(&format!("{path}.ports[{j}]"), p, ports.len() > 1, &mut errs);
            }
        }
        errs
    }
}

#[cfg(test)]
mod tests {
    use api_types::core::v1::EndpointSubset;

    use super::*;

    fn endpoints(ips: &[&str], ports: Vec<EndpointPort>) -> Endpoints {
        Endpoints {
            subsets: Some(vec![EndpointSubset {
                addresses: Some(
                    ips.iter()
                        .map(|ip| EndpointAddress {
                            ip: ip.to_string(),
                            ..Default::default()
                        })
                        .collect(),
                ),
                ports: Some(ports),
                ..Default::default()
            }]),
            ..Default::default()
        }
    }

    fn port(name: Option<&str>, port: i32) -> EndpointPort {
        EndpointPort {
            name: name.map(str::to_string),
            port,
            ..Default::default()
        }
    }

    fn texts(ep: &Endpoints) -> Vec<String> {
        EndpointsStrategy
            .validate(ep)
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn protocol_defaults_to_tcp_and_valid_endpoints_pass() {
        let mut ep = endpoints(&["10.244.1.5", "fd00::5"], vec![port(Some("http"), 8080)]);
        EndpointsStrategy.default(&mut ep);
        let subsets = ep.subsets.as_deref().expect("subsets");
        let p = &subsets[0].ports.as_deref().expect("ports")[0];
        assert_eq!(p.protocol.as_deref(), Some("TCP"));
        assert!(texts(&ep).is_empty(), "{:?}", texts(&ep));
    }

    #[test]
    fn addresses_must_be_usable_ips() {
        let mut ep = endpoints(&["10.0.0.300", "127.0.0.1"], vec![port(None, 80)]);
        EndpointsStrategy.default(&mut ep);
        assert_eq!(
            texts(&ep),
            [
                r#"subsets[0].addresses[0].ip: Invalid value: "10.0.0.300": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"#,
                r#"subsets[0].addresses[0].ip: Invalid value: "10.0.0.300": must be a valid IP address"#,
                r#"subsets[0].addresses[1].ip: Invalid value: "127.0.0.1": may not be in the loopback range (127.0.0.0/8, ::1/128)"#,
            ]
        );
    }

    #[test]
    fn ports_need_names_when_several_and_valid_numbers() {
        let mut ep = endpoints(&["10.0.0.1"], vec![port(None, 0), port(Some("b"), 81)]);
        EndpointsStrategy.default(&mut ep);
        if let Some(p) = ep.subsets.as_mut().and_then(|s| s[0].ports.as_mut()) {
            p[1].protocol = Some("ICMP".into());
        }
        assert_eq!(
            texts(&ep),
            [
                "subsets[0].ports[0].name: Required value",
                "subsets[0].ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive",
                r#"subsets[0].ports[1].protocol: Unsupported value: "ICMP": supported values: "SCTP", "TCP", "UDP""#,
            ]
        );
    }

    #[test]
    fn a_subset_needs_an_address() {
        let ep = endpoints(&[], vec![]);
        assert_eq!(
            texts(&ep),
            ["subsets[0]: Required value: must specify `addresses` or `notReadyAddresses`"]
        );
    }
}

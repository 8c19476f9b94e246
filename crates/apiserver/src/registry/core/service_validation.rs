//! The field rules of a Service (`ValidateService` upstream), with
//! upstream's messages. The cluster IP rules are in [`super::service_ips`].

use std::collections::BTreeSet;

use api_types::core::v1::{ServicePort, ServiceSpec};
use api_types::intstr::IntOrString;

use super::pod_spec::port_name_errors;
use super::service_ips::validate_cluster_ips;
use super::services::{
    CLUSTER_IP, CLUSTER_IP_NONE, EXTERNAL_NAME, LOAD_BALANCER, NODE_PORT, externally_accessible,
    is_headless, needs_node_port, type_of,
};
use crate::error::FieldError;
use crate::registry::rules::{
    PROTOCOLS, dns_label, duplicate_raw, labels, non_special_ip, port_number, qualified_name,
    valid_cidr, valid_ip,
};
use crate::registry::validation::dns1123_subdomain;

/// Sorted, as upstream's `sets.List` prints them.
const TYPES: [&str; 4] = [CLUSTER_IP, EXTERNAL_NAME, LOAD_BALANCER, NODE_PORT];
const AFFINITIES: [&str; 2] = ["ClientIP", "None"];
const TRAFFIC_POLICIES: [&str; 2] = ["Cluster", "Local"];
/// The apiserver's default `--service-node-port-range`.
const NODE_PORT_RANGE: std::ops::RangeInclusive<i32> = 30000..=32767;
const MAX_AFFINITY_SECONDS: i32 = 86400;

fn s(v: &Option<String>) -> &str {
    v.as_deref().unwrap_or_default()
}

/// `validateServicePort`: names are DNS labels (upstream uses
/// `ValidateDNS1123Label` here, not the IANA rule of container ports), and
/// required once there is more than one port.
fn validate_port(
    path: &str,
    p: &ServicePort,
    require_name: bool,
    names: &mut BTreeSet<String>,
    errs: &mut Vec<FieldError>,
) {
    let name = s(&p.name);
    if require_name && name.is_empty() {
        errs.push(FieldError::required(format!("{path}.name"), ""));
    } else if !name.is_empty() {
        errs.extend(dns_label(&format!("{path}.name"), name));
        if !names.insert(name.to_string()) {
            errs.push(FieldError::duplicate(format!("{path}.name"), name));
        }
    }
    errs.extend(port_number(format!("{path}.port"), p.port));
    match s(&p.protocol) {
        "" => errs.push(FieldError::required(format!("{path}.protocol"), "")),
        proto if !PROTOCOLS.contains(&proto) => errs.push(FieldError::not_supported(
            format!("{path}.protocol"),
            proto,
            &PROTOCOLS,
        )),
        _ => {}
    }
    match &p.target_port {
        Some(IntOrString::Int(t)) => errs.extend(port_number(format!("{path}.targetPort"), *t)),
        Some(IntOrString::String(t)) => {
            for msg in port_name_errors(t) {
                errs.push(FieldError::invalid(format!("{path}.targetPort"), t, msg));
            }
        }
        None => {}
    }
    if let Some(app) = &p.app_protocol {
        errs.extend(qualified_name(&format!("{path}.appProtocol"), app));
    }
}

/// `ValidateService` minus metadata (the store checks that).
pub fn validate_service(spec: &ServiceSpec) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let type_ = type_of(spec);
    let ports = spec.ports.as_deref().unwrap_or_default();
    if ports.is_empty() && !is_headless(spec) && type_ != EXTERNAL_NAME {
        errs.push(FieldError::required("spec.ports", ""));
    }
    let ips = spec.cluster_ips.as_deref().unwrap_or_default();
    match type_ {
        LOAD_BALANCER | NODE_PORT if is_headless(spec) => errs.push(FieldError::invalid(
            "spec.clusterIPs[0]",
            ips.first().map_or(CLUSTER_IP_NONE, String::as_str),
            format!("may not be set to 'None' for {type_} services"),
        )),
        EXTERNAL_NAME => {
            let forbid = |field: &str| {
                FieldError::forbidden(field, "may not be set for ExternalName services")
            };
            if !ips.is_empty() {
                errs.push(forbid("spec.clusterIPs"));
            }
            if spec.ip_families.as_ref().is_some_and(|f| !f.is_empty()) {
                errs.push(forbid("spec.ipFamilies"));
            }
            if spec.ip_family_policy.is_some() {
                errs.push(forbid("spec.ipFamilyPolicy"));
            }
            // The CNAME may end in a dot to mark it fully qualified.
            let cname = s(&spec.external_name).trim_end_matches('.');
            if cname.is_empty() {
                errs.push(FieldError::required("spec.externalName", ""));
            } else {
                for msg in dns1123_subdomain(cname) {
                    errs.push(FieldError::invalid("spec.externalName", cname, msg));
                }
            }
        }
        _ => {}
    }
    let mut names = BTreeSet::new();
    for (i, p) in ports.iter().enumerate() {
        validate_port(
            &format!("spec.ports[{i}]"),
            p,
            ports.len() > 1,
            &mut names,
            &mut errs,
        );
    }
    if let Some(sel) = &spec.selector {
        errs.extend(labels("spec.selector", sel));
    }
    match s(&spec.session_affinity) {
        "" => errs.push(FieldError::required("spec.sessionAffinity", "")),
        a if !AFFINITIES.contains(&a) => errs.push(FieldError::not_supported(
            "spec.sessionAffinity",
            a,
            &AFFINITIES,
        )),
        "ClientIP" => {
            let timeout = spec
                .session_affinity_config
                .as_ref()
                .and_then(|c| c.client_ip.as_ref())
                .and_then(|c| c.timeout_seconds);
            match timeout {
                None => errs.push(FieldError::required(
                    "spec.sessionAffinityConfig",
                    "when session affinity type is ClientIP",
                )),
                Some(t) if t <= 0 || t > MAX_AFFINITY_SECONDS => {
                    errs.push(FieldError::invalid_raw(
                        "spec.sessionAffinityConfig.clientIP.timeoutSeconds",
                        t,
                        format!("must be greater than 0 and less than {MAX_AFFINITY_SECONDS}"),
                    ))
                }
                Some(_) => {}
            }
        }
        _ if spec.session_affinity_config.is_some() => errs.push(FieldError::forbidden(
            "spec.sessionAffinityConfig",
            "must not be set when session affinity is None",
        )),
        _ => {}
    }
    errs.extend(validate_cluster_ips(spec));
    for (i, ip) in spec.external_ips.iter().flatten().enumerate() {
        let path = format!("spec.externalIPs[{i}]");
        match valid_ip(&path, ip) {
            Some(e) => errs.push(e),
            None => errs.extend(non_special_ip(&path, ip)),
        }
    }
    match type_ {
        "" => errs.push(FieldError::required("spec.type", "")),
        t if !TYPES.contains(&t) => errs.push(FieldError::not_supported("spec.type", t, &TYPES)),
        _ => {}
    }
    validate_node_ports(spec, ports, &mut errs);
    let mut seen_ports = BTreeSet::new();
    for (i, p) in ports.iter().enumerate() {
        if !seen_ports.insert((s(&p.protocol), p.port)) {
            // Upstream prints the (protocol, port) key as a Go struct.
            errs.push(duplicate_raw(
                format!("spec.ports[{i}]"),
                format!(
                    "core.ServicePort{{Name:\"\", Protocol:{}, AppProtocol:(*string)(nil), Port:{}, \
                     TargetPort:intstr.IntOrString{{Type:0, IntVal:0, StrVal:\"\"}}, NodePort:0}}",
                    crate::error::quote(s(&p.protocol)),
                    p.port
                ),
            ));
        }
    }
    validate_load_balancer_fields(spec, &mut errs);
    validate_traffic_policies(spec, &mut errs);
    errs
}

/// Node ports: only for NodePort and LoadBalancer services, inside the
/// node port range (upstream's allocator reports that), unique per protocol.
fn validate_node_ports(spec: &ServiceSpec, ports: &[ServicePort], errs: &mut Vec<FieldError>) {
    let type_ = type_of(spec);
    let mut seen = BTreeSet::new();
    for (i, p) in ports.iter().enumerate() {
        let Some(np) = p.node_port.filter(|np| *np != 0) else {
            continue;
        };
        let path = format!("spec.ports[{i}].nodePort");
        if matches!(type_, CLUSTER_IP | EXTERNAL_NAME) {
            errs.push(FieldError::forbidden(
                path.clone(),
                format!("may not be used when `type` is '{type_}'"),
            ));
        } else if needs_node_port(spec) && !NODE_PORT_RANGE.contains(&np) {
            errs.push(FieldError::invalid_raw(
                path.clone(),
                np,
                "provided port is not in the valid range. The range of valid ports is 30000-32767",
            ));
        }
        if !seen.insert((s(&p.protocol), np)) {
            errs.push(duplicate_raw(path, np));
        }
    }
}

fn validate_load_balancer_fields(spec: &ServiceSpec, errs: &mut Vec<FieldError>) {
    let lb = type_of(spec) == LOAD_BALANCER;
    let only_lb = "may only be used when `type` is 'LoadBalancer'";
    if let Some(ranges) = spec
        .load_balancer_source_ranges
        .as_ref()
        .filter(|r| !r.is_empty())
    {
        // Upstream's path really is capitalised here.
        let path = "spec.LoadBalancerSourceRanges";
        if !lb {
            errs.push(FieldError::forbidden(path, only_lb));
        }
        for (i, r) in ranges.iter().enumerate() {
            errs.extend(valid_cidr(&format!("{path}[{i}]"), r.trim()));
        }
    }
    if spec.allocate_load_balancer_node_ports.is_some() && !lb {
        errs.push(FieldError::forbidden(
            "spec.allocateLoadBalancerNodePorts",
            only_lb,
        ));
    }
    if lb && spec.allocate_load_balancer_node_ports.is_none() {
        errs.push(FieldError::required("allocateLoadBalancerNodePorts", ""));
    }
    if let Some(class) = &spec.load_balancer_class {
        if lb {
            errs.extend(qualified_name("spec.loadBalancerClass", class));
        } else {
            errs.push(FieldError::forbidden("spec.loadBalancerClass", only_lb));
        }
    }
}

fn validate_traffic_policies(spec: &ServiceSpec, errs: &mut Vec<FieldError>) {
    let etp = s(&spec.external_traffic_policy);
    if !externally_accessible(spec) {
        if !etp.is_empty() {
            errs.push(FieldError::invalid(
                "spec.externalTrafficPolicy",
                etp,
                "may only be set for externally-accessible services",
            ));
        }
    } else if etp.is_empty() {
        errs.push(FieldError::required("spec.externalTrafficPolicy", ""));
    } else if !TRAFFIC_POLICIES.contains(&etp) {
        errs.push(FieldError::not_supported(
            "spec.externalTrafficPolicy",
            etp,
            &TRAFFIC_POLICIES,
        ));
    }
    // The health check node port is allocated upstream; here it may only
    // appear where it means something.
    let needs_health_check = type_of(spec) == LOAD_BALANCER && etp == "Local";
    if let Some(hc) = spec.health_check_node_port.filter(|hc| *hc != 0) {
        if !needs_health_check {
            errs.push(FieldError::invalid_raw(
                "spec.healthCheckNodePort",
                hc,
                "may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'",
            ));
        } else {
            errs.extend(port_number("spec.healthCheckNodePort", hc));
        }
    }
    match &spec.internal_traffic_policy {
        None if matches!(type_of(spec), CLUSTER_IP | NODE_PORT | LOAD_BALANCER) => {
            errs.push(FieldError::required("spec.internalTrafficPolicy", ""))
        }
        Some(p) if !TRAFFIC_POLICIES.contains(&p.as_str()) => errs.push(FieldError::not_supported(
            "spec.internalTrafficPolicy",
            p,
            &TRAFFIC_POLICIES,
        )),
        _ => {}
    }
    if let Some(td) = spec.traffic_distribution.as_deref()
        && td != "PreferClose"
    {
        errs.push(FieldError::not_supported(
            "spec.trafficDistribution",
            td,
            &["PreferClose"],
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn port(name: Option<&str>, port: i32) -> ServicePort {
        ServicePort {
            name: name.map(str::to_string),
            port,
            protocol: Some("TCP".into()),
            target_port: Some(IntOrString::Int(port)),
            ..Default::default()
        }
    }

    fn spec(type_: &str, ports: Vec<ServicePort>) -> ServiceSpec {
        let ip = type_ != EXTERNAL_NAME;
        ServiceSpec {
            type_: Some(type_.into()),
            ports: Some(ports),
            session_affinity: Some("None".into()),
            internal_traffic_policy: ip.then(|| "Cluster".into()),
            external_traffic_policy: needs_node_port_type(type_).then(|| "Cluster".into()),
            allocate_load_balancer_node_ports: (type_ == LOAD_BALANCER).then_some(true),
            ip_family_policy: ip.then(|| "SingleStack".into()),
            ip_families: ip.then(|| vec!["IPv4".into()]),
            ..Default::default()
        }
    }

    fn needs_node_port_type(t: &str) -> bool {
        matches!(t, NODE_PORT | LOAD_BALANCER)
    }

    fn texts(spec: &ServiceSpec) -> Vec<String> {
        validate_service(spec)
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn ports_are_required_unless_headless_or_external_name() {
        assert_eq!(
            texts(&spec(CLUSTER_IP, vec![])),
            ["spec.ports: Required value"]
        );
        let mut headless = spec(CLUSTER_IP, vec![]);
        headless.cluster_ip = Some("None".into());
        headless.cluster_ips = Some(vec!["None".into()]);
        assert!(texts(&headless).is_empty(), "{:?}", texts(&headless));
        let mut np = headless.clone();
        np.type_ = Some(NODE_PORT.into());
        np.external_traffic_policy = Some("Cluster".into());
        assert_eq!(
            texts(&np),
            [
                r#"spec.clusterIPs[0]: Invalid value: "None": may not be set to 'None' for NodePort services"#
            ]
        );
    }

    #[test]
    fn port_rules() {
        let mut unnamed = port(None, 0);
        unnamed.target_port = Some(IntOrString::Int(8080));
        let errs = texts(&spec(
            CLUSTER_IP,
            vec![unnamed, port(Some("web"), 80), port(Some("web"), 81)],
        ));
        assert_eq!(
            errs,
            [
                "spec.ports[0].name: Required value",
                "spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive",
                r#"spec.ports[2].name: Duplicate value: "web""#,
            ]
        );
        let mut bad = port(Some("Web_1"), 70000);
        bad.protocol = Some("ICMP".into());
        bad.target_port = Some(IntOrString::String("ht_tp".into()));
        let errs = texts(&spec(CLUSTER_IP, vec![bad]));
        assert!(errs[0].starts_with(
            r#"spec.ports[0].name: Invalid value: "Web_1": a lowercase RFC 1123 label"#
        ));
        assert_eq!(
            errs[1..],
            [
                "spec.ports[0].port: Invalid value: 70000: must be between 1 and 65535, inclusive",
                r#"spec.ports[0].protocol: Unsupported value: "ICMP": supported values: "SCTP", "TCP", "UDP""#,
                r#"spec.ports[0].targetPort: Invalid value: "ht_tp": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)"#,
            ]
        );
    }

    #[test]
    fn duplicate_ports_print_the_go_key() {
        let errs = texts(&spec(
            CLUSTER_IP,
            vec![port(Some("a"), 80), port(Some("b"), 80)],
        ));
        assert_eq!(
            errs,
            [
                r#"spec.ports[1]: Duplicate value: core.ServicePort{Name:"", Protocol:"TCP", AppProtocol:(*string)(nil), Port:80, TargetPort:intstr.IntOrString{Type:0, IntVal:0, StrVal:""}, NodePort:0}"#
            ]
        );
    }

    #[test]
    fn type_and_selector() {
        let mut sp = spec("Magic", vec![port(None, 80)]);
        sp.selector = Some([("app".to_string(), "no good".to_string())].into());
        let errs = texts(&sp);
        assert!(
            errs[0]
                .starts_with(r#"spec.selector: Invalid value: "no good": a valid label must be"#),
            "{errs:?}"
        );
        assert_eq!(
            errs[1],
            r#"spec.type: Unsupported value: "Magic": supported values: "ClusterIP", "ExternalName", "LoadBalancer", "NodePort""#
        );
        sp.type_ = None;
        assert!(texts(&sp).contains(&"spec.type: Required value".to_string()));
    }

    #[test]
    fn node_ports() {
        let mut p = port(None, 80);
        p.node_port = Some(30080);
        assert_eq!(
            texts(&spec(CLUSTER_IP, vec![p.clone()])),
            ["spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'"]
        );
        assert!(texts(&spec(NODE_PORT, vec![p.clone()])).is_empty());
        p.node_port = Some(80);
        assert_eq!(
            texts(&spec(LOAD_BALANCER, vec![p.clone()])),
            [
                "spec.ports[0].nodePort: Invalid value: 80: provided port is not in the valid range. The range of valid ports is 30000-32767"
            ]
        );
        let mut a = port(Some("a"), 80);
        a.node_port = Some(30001);
        let mut b = port(Some("b"), 81);
        b.node_port = Some(30001);
        assert_eq!(
            texts(&spec(NODE_PORT, vec![a, b])),
            ["spec.ports[1].nodePort: Duplicate value: 30001"]
        );
    }

    #[test]
    fn external_names() {
        let mut sp = spec(EXTERNAL_NAME, vec![]);
        assert_eq!(texts(&sp), ["spec.externalName: Required value"]);
        sp.external_name = Some("db.example.com.".into());
        assert!(texts(&sp).is_empty());
        sp.external_name = Some("Not_A_Name".into());
        sp.ip_families = Some(vec!["IPv4".into()]);
        let errs = texts(&sp);
        assert_eq!(
            errs[0],
            "spec.ipFamilies: Forbidden: may not be set for ExternalName services"
        );
        assert!(errs[1].starts_with(
            r#"spec.externalName: Invalid value: "Not_A_Name": a lowercase RFC 1123 subdomain"#
        ));
    }

    #[test]
    fn affinity_and_traffic_policies() {
        let mut sp = spec(CLUSTER_IP, vec![port(None, 80)]);
        sp.session_affinity = Some("Sticky".into());
        sp.external_traffic_policy = Some("Local".into());
        sp.internal_traffic_policy = Some("Nearby".into());
        assert_eq!(
            texts(&sp),
            [
                r#"spec.sessionAffinity: Unsupported value: "Sticky": supported values: "ClientIP", "None""#,
                r#"spec.externalTrafficPolicy: Invalid value: "Local": may only be set for externally-accessible services"#,
                r#"spec.internalTrafficPolicy: Unsupported value: "Nearby": supported values: "Cluster", "Local""#,
            ]
        );
    }

    #[test]
    fn external_ips_must_be_usable() {
        let mut sp = spec(CLUSTER_IP, vec![port(None, 80)]);
        sp.external_ips = Some(vec!["127.0.0.1".into()]);
        sp.external_traffic_policy = Some("Cluster".into());
        assert_eq!(
            texts(&sp),
            [
                r#"spec.externalIPs[0]: Invalid value: "127.0.0.1": may not be in the loopback range (127.0.0.0/8, ::1/128)"#
            ]
        );
    }
}

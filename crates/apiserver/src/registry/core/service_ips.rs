//! The cluster IP rules of a Service (`ValidateServiceClusterIPsRelatedFields`
//! and the update rules of `ValidateServiceUpdate` upstream): `clusterIP`
//! and `clusterIPs` agree, and an assigned address never changes, because
//! clients and kube-proxy rules already use it.
//!
//! Only single-stack IPv4 clusters are supported, but the dual-stack shape
//! of the fields is checked as upstream does.

use std::collections::BTreeSet;
use std::net::IpAddr;

use api_types::core::v1::ServiceSpec;

use super::services::{CLUSTER_IP_NONE, EXTERNAL_NAME, LOAD_BALANCER, is_headless, type_of};
use crate::error::FieldError;
use crate::registry::gofmt;
use crate::registry::rules::{parse_ip_sloppy, valid_ip};

const IP_FAMILIES: [&str; 2] = ["IPv4", "IPv6"];
const IP_FAMILY_POLICIES: [&str; 3] = ["PreferDualStack", "RequireDualStack", "SingleStack"];

fn s(v: &Option<String>) -> &str {
    v.as_deref().unwrap_or_default()
}

/// `ValidateServiceClusterIPsRelatedFields`, the single-stack subset:
/// `clusterIP` and `clusterIPs[0]` agree, addresses parse, families match.
pub fn validate_cluster_ips(spec: &ServiceSpec) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let ips = spec.cluster_ips.as_deref().unwrap_or_default();
    let ips_value = || gofmt::string_slice("string", spec.cluster_ips.as_deref());
    if !s(&spec.cluster_ip).is_empty() {
        match ips.first() {
            None => errs.push(FieldError::required("spec.clusterIPs", "")),
            Some(first) if first != s(&spec.cluster_ip) => errs.push(FieldError::invalid_raw(
                "spec.clusterIPs",
                ips_value(),
                "first value must match `clusterIP`",
            )),
            Some(_) => {}
        }
    } else if !ips.is_empty() {
        errs.push(FieldError::invalid_raw(
            "spec.clusterIPs",
            ips_value(),
            "must be empty when `clusterIP` is not specified",
        ));
    }
    let mut seen = BTreeSet::new();
    for (i, fam) in spec.ip_families.iter().flatten().enumerate() {
        if !IP_FAMILIES.contains(&fam.as_str()) {
            errs.push(FieldError::not_supported(
                format!("spec.ipFamilies[{i}]"),
                fam,
                &IP_FAMILIES,
            ));
        }
        if !seen.insert(fam) {
            errs.push(FieldError::duplicate(format!("spec.ipFamilies[{i}]"), fam));
        }
    }
    if let Some(p) = &spec.ip_family_policy
        && !IP_FAMILY_POLICIES.contains(&p.as_str())
    {
        errs.push(FieldError::not_supported(
            "spec.ipFamilyPolicy",
            p,
            &IP_FAMILY_POLICIES,
        ));
    }
    let mut bad_ip = false;
    for (i, ip) in ips.iter().enumerate() {
        if i == 0 && ip == CLUSTER_IP_NONE {
            if ips.len() > 1 {
                bad_ip = true;
                errs.push(FieldError::invalid_raw(
                    "spec.clusterIPs",
                    ips_value(),
                    "'None' must be the first and only value",
                ));
            }
            continue;
        }
        if let Some(e) = valid_ip(&format!("spec.clusterIPs[{i}]"), ip) {
            bad_ip = true;
            errs.push(e);
        }
    }
    if ips.len() > 2 {
        errs.push(FieldError::invalid_raw(
            "spec.clusterIPs",
            ips_value(),
            "may only hold up to 2 values",
        ));
    }
    if bad_ip {
        return errs;
    }
    let parsed: Vec<Option<IpAddr>> = ips.iter().map(|ip| parse_ip_sloppy(ip)).collect();
    if let [Some(a), Some(b)] = parsed.as_slice()
        && a.is_ipv4() == b.is_ipv4()
    {
        errs.push(FieldError::invalid_raw(
            "spec.clusterIPs",
            ips_value(),
            "may specify no more than one IP for each IP family",
        ));
    }
    if !is_headless(spec) {
        let families = spec.ip_families.as_deref().unwrap_or_default();
        for (i, (ip, fam)) in ips.iter().zip(families).enumerate() {
            let v6 = parse_ip_sloppy(ip).is_some_and(|a| a.is_ipv6());
            let want = match (fam.as_str(), v6) {
                ("IPv4", true) => "IPv4",
                ("IPv6", false) => "IPv6",
                _ => continue,
            };
            errs.push(FieldError::invalid(
                format!("spec.clusterIPs[{i}]"),
                ip,
                format!("expected an {want} value as indicated by `ipFamilies[{i}]`"),
            ));
        }
    }
    errs
}

/// `ValidateServiceUpdate`'s own rules: an assigned cluster IP, the IP
/// families and the load balancer class stay (unless the service is or
/// becomes an ExternalName, which has none).
pub fn validate_service_update(new: &ServiceSpec, old: &ServiceSpec) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if type_of(new) == EXTERNAL_NAME || type_of(old) == EXTERNAL_NAME {
        return errs;
    }
    let (n, o) = (
        new.cluster_ips.as_deref().unwrap_or_default(),
        old.cluster_ips.as_deref().unwrap_or_default(),
    );
    let value = || gofmt::string_slice("string", new.cluster_ips.as_deref());
    let changed = |i: usize| {
        FieldError::invalid_raw(
            format!("spec.clusterIPs[{i}]"),
            value(),
            "may not change once set",
        )
    };
    if !(is_headless(new) && is_headless(old)) {
        if n.len() == o.len() {
            for (i, (a, b)) in n.iter().zip(o).enumerate() {
                if a != b {
                    errs.push(changed(i));
                }
            }
        } else if n.len() < o.len() {
            if n.is_empty() {
                errs.push(FieldError::invalid_raw(
                    "spec.clusterIPs[0]",
                    value(),
                    "primary clusterIP can not be unset",
                ));
            } else if n[0] != o[0] {
                errs.push(changed(0));
            }
            if n.len() == 1 && new.ip_family_policy.as_deref() != Some("SingleStack") {
                errs.push(FieldError::invalid_raw(
                    "spec.ipFamilyPolicy",
                    gofmt::opt_string(new.ip_family_policy.as_deref()),
                    "must be set to 'SingleStack' when releasing the secondary clusterIP",
                ));
            }
        } else if !o.is_empty() && n[0] != o[0] {
            errs.push(changed(0));
        }
    }
    let (nf, of) = (
        new.ip_families.as_deref().unwrap_or_default(),
        old.ip_families.as_deref().unwrap_or_default(),
    );
    if is_headless(new) == is_headless(old) && !is_headless(new) && nf.len() == of.len() {
        for (a, b) in nf.iter().zip(of) {
            if a != b {
                errs.push(FieldError::invalid_raw(
                    "spec.ipFamilies[0]",
                    gofmt::string_slice("core.IPFamily", new.ip_families.as_deref()),
                    "may not change once set",
                ));
            }
        }
    }
    if type_of(new) == LOAD_BALANCER
        && type_of(old) == LOAD_BALANCER
        && new.load_balancer_class != old.load_balancer_class
    {
        errs.push(FieldError::invalid_raw(
            "spec.loadBalancerClass",
            gofmt::opt_string(new.load_balancer_class.as_deref()),
            "may not change once set",
        ));
    }
    let needs_hc = |sp: &ServiceSpec| {
        type_of(sp) == LOAD_BALANCER && s(&sp.external_traffic_policy) == "Local"
    };
    if needs_hc(new) && needs_hc(old) && new.health_check_node_port != old.health_check_node_port {
        errs.push(FieldError::forbidden(
            "spec.healthCheckNodePort",
            "field is immutable",
        ));
    }
    errs
}

#[cfg(test)]
mod tests {
    use api_types::core::v1::ServicePort;
    use api_types::intstr::IntOrString;

    use super::*;
    use crate::registry::core::service_validation::validate_service;

    fn spec(type_: &str) -> ServiceSpec {
        ServiceSpec {
            type_: Some(type_.into()),
            ports: Some(vec![ServicePort {
                port: 80,
                protocol: Some("TCP".into()),
                target_port: Some(IntOrString::Int(80)),
                ..Default::default()
            }]),
            session_affinity: Some("None".into()),
            internal_traffic_policy: Some("Cluster".into()),
            external_traffic_policy: (type_ == LOAD_BALANCER).then(|| "Cluster".into()),
            allocate_load_balancer_node_ports: (type_ == LOAD_BALANCER).then_some(true),
            ip_family_policy: Some("SingleStack".into()),
            ip_families: Some(vec!["IPv4".into()]),
            ..Default::default()
        }
    }

    fn texts(spec: &ServiceSpec) -> Vec<String> {
        validate_service(spec)
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn cluster_ip_fields_agree() {
        let mut sp = spec("ClusterIP");
        sp.cluster_ip = Some("10.0.0.1".into());
        assert_eq!(texts(&sp), ["spec.clusterIPs: Required value"]);
        sp.cluster_ips = Some(vec!["10.0.0.2".into()]);
        assert_eq!(
            texts(&sp),
            [
                r#"spec.clusterIPs: Invalid value: []string{"10.0.0.2"}: first value must match `clusterIP`"#
            ]
        );
        sp.cluster_ip = Some("fd00::1".into());
        sp.cluster_ips = Some(vec!["fd00::1".into()]);
        assert_eq!(
            texts(&sp),
            [
                r#"spec.clusterIPs[0]: Invalid value: "fd00::1": expected an IPv4 value as indicated by `ipFamilies[0]`"#
            ]
        );
        sp.cluster_ip = Some("nope".into());
        sp.cluster_ips = Some(vec!["nope".into()]);
        assert_eq!(
            texts(&sp),
            [
                r#"spec.clusterIPs[0]: Invalid value: "nope": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"#
            ]
        );
    }

    #[test]
    fn updates_keep_assigned_ips_families_and_class() {
        let mut old = spec("ClusterIP");
        old.cluster_ip = Some("10.0.0.1".into());
        old.cluster_ips = Some(vec!["10.0.0.1".into()]);
        let mut new = old.clone();
        new.cluster_ips = None;
        new.cluster_ip = None;
        let errs: Vec<String> = validate_service_update(&new, &old)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            errs,
            [
                "spec.clusterIPs[0]: Invalid value: []string(nil): primary clusterIP can not be unset"
            ]
        );
        let mut new = old.clone();
        new.ip_families = Some(vec!["IPv6".into()]);
        let errs: Vec<String> = validate_service_update(&new, &old)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            errs,
            [
                r#"spec.ipFamilies[0]: Invalid value: []core.IPFamily{"IPv6"}: may not change once set"#
            ]
        );
        let mut old_lb = spec(LOAD_BALANCER);
        old_lb.load_balancer_class = Some("example.com/lb".into());
        let mut new_lb = old_lb.clone();
        new_lb.load_balancer_class = None;
        let errs: Vec<String> = validate_service_update(&new_lb, &old_lb)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            errs,
            ["spec.loadBalancerClass: Invalid value: null: may not change once set"]
        );
        let mut ext = old.clone();
        ext.type_ = Some(EXTERNAL_NAME.into());
        ext.cluster_ips = None;
        assert!(validate_service_update(&ext, &old).is_empty());
    }
}

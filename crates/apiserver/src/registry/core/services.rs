//! Services: a stable name (and a virtual IP, once allocation exists) in
//! front of the pods a label selector picks (`pkg/registry/core/service`
//! upstream). Defaults and update rules live here; the field rules are in
//! [`super::service_validation`] and [`super::service_ips`].
//!
//! Cluster IP and node port *allocation* is not done yet: a Service keeps
//! whatever `clusterIP`/`nodePort` it was created with.

use api_types::core::v1::{ClientIPConfig, Service, ServiceSpec, SessionAffinityConfig};
use api_types::intstr::IntOrString;

use super::service_ips::validate_service_update;
use super::service_validation::validate_service;
use crate::error::FieldError;
use crate::registry::strategy::{Strategy, keep_spec, keep_status};
use crate::registry::validation::NameRule;

pub struct ServiceStrategy;

pub const CLUSTER_IP: &str = "ClusterIP";
pub const NODE_PORT: &str = "NodePort";
pub const LOAD_BALANCER: &str = "LoadBalancer";
pub const EXTERNAL_NAME: &str = "ExternalName";
/// `clusterIP: None`: a headless service (DNS names the pods directly).
pub const CLUSTER_IP_NONE: &str = "None";
/// How long ClientIP affinity sticks by default: three hours.
const DEFAULT_AFFINITY_SECONDS: i32 = 10800;

/// The spec's type, `""` when unset.
pub fn type_of(spec: &ServiceSpec) -> &str {
    spec.type_.as_deref().unwrap_or_default()
}

/// Headless: the one cluster IP is `None`.
pub fn is_headless(spec: &ServiceSpec) -> bool {
    match spec.cluster_ips.as_deref() {
        Some([one]) => one == CLUSTER_IP_NONE,
        Some(_) => false,
        None => spec.cluster_ip.as_deref() == Some(CLUSTER_IP_NONE),
    }
}

/// Reachable from outside the cluster (`apiservice.ExternallyAccessible`).
pub fn externally_accessible(spec: &ServiceSpec) -> bool {
    match type_of(spec) {
        NODE_PORT | LOAD_BALANCER => true,
        CLUSTER_IP => spec
            .external_ips
            .as_ref()
            .is_some_and(|ips| !ips.is_empty()),
        _ => false,
    }
}

/// Whether the type gets node ports (NodePort, LoadBalancer).
pub fn needs_node_port(spec: &ServiceSpec) -> bool {
    matches!(type_of(spec), NODE_PORT | LOAD_BALANCER)
}

/// `SetDefaults_Service` plus the IP family choice the allocator makes on a
/// single-stack IPv4 cluster.
fn default_spec(spec: &mut ServiceSpec) {
    if type_of(spec).is_empty() {
        spec.type_ = Some(CLUSTER_IP.into());
    }
    if spec
        .session_affinity
        .as_deref()
        .unwrap_or_default()
        .is_empty()
    {
        spec.session_affinity = Some("None".into());
    }
    if spec.session_affinity.as_deref() == Some("ClientIP")
        && spec
            .session_affinity_config
            .as_ref()
            .and_then(|c| c.client_ip.as_ref())
            .and_then(|c| c.timeout_seconds)
            .is_none()
    {
        spec.session_affinity_config = Some(SessionAffinityConfig {
            client_ip: Some(ClientIPConfig {
                timeout_seconds: Some(DEFAULT_AFFINITY_SECONDS),
            }),
        });
    }
    for p in spec.ports.iter_mut().flatten() {
        if p.protocol.as_deref().unwrap_or_default().is_empty() {
            p.protocol = Some("TCP".into());
        }
        // An unset targetPort means "the same number as port".
        if matches!(&p.target_port, None | Some(IntOrString::Int(0)))
            || matches!(&p.target_port, Some(IntOrString::String(s)) if s.is_empty())
        {
            p.target_port = Some(IntOrString::Int(p.port));
        }
    }
    if externally_accessible(spec) && spec.external_traffic_policy.is_none() {
        spec.external_traffic_policy = Some("Cluster".into());
    }
    if spec.internal_traffic_policy.is_none()
        && matches!(type_of(spec), CLUSTER_IP | NODE_PORT | LOAD_BALANCER)
    {
        spec.internal_traffic_policy = Some("Cluster".into());
    }
    if type_of(spec) == LOAD_BALANCER && spec.allocate_load_balancer_node_ports.is_none() {
        spec.allocate_load_balancer_node_ports = Some(true);
    }
    if type_of(spec) != EXTERNAL_NAME {
        spec.ip_family_policy
            .get_or_insert_with(|| "SingleStack".into());
        if spec.ip_families.as_ref().is_none_or(Vec::is_empty) {
            spec.ip_families = Some(vec!["IPv4".into()]);
        }
    }
}

/// A create that names only `clusterIP` (an old client) gets `clusterIPs`
/// to match (`normalizeClusterIPs` upstream).
fn normalize_cluster_ips_on_create(spec: &mut ServiceSpec) {
    if let Some(ip) = spec.cluster_ip.clone().filter(|ip| !ip.is_empty())
        && spec.cluster_ips.as_ref().is_none_or(Vec::is_empty)
    {
        spec.cluster_ips = Some(vec![ip]);
    }
}

/// What an update may leave out or change implicitly, as upstream's service
/// REST storage does before validating:
/// - leaving out `clusterIP`/`clusterIPs` or `nodePort` keeps the assigned
///   values (`kubectl replace` of a manifest without them must work);
/// - changing only the singular `clusterIP` updates `clusterIPs`;
/// - moving to a type that does not use a field drops the field, if the
///   client did not change it (`dropTypeDependentFields`).
fn prepare_spec_update(new: &mut ServiceSpec, old: &ServiceSpec) {
    let empty = |s: &Option<String>| s.as_deref().unwrap_or_default().is_empty();
    let uses_cluster_ip = |s: &ServiceSpec| type_of(s) != EXTERNAL_NAME;
    if uses_cluster_ip(new) && uses_cluster_ip(old) {
        if empty(&new.cluster_ip) {
            new.cluster_ip = old.cluster_ip.clone();
        }
        if new.cluster_ips.as_ref().is_none_or(Vec::is_empty) {
            new.cluster_ips = old.cluster_ips.clone();
        }
    }
    if needs_node_port(new) && needs_node_port(old) {
        // Old node ports by port name, unless the new spec uses them already.
        let node_ports = |s: &ServiceSpec| -> Vec<i32> {
            s.ports
                .iter()
                .flatten()
                .filter_map(|p| p.node_port)
                .collect()
        };
        let used = node_ports(new);
        let old_ports = old.ports.as_deref().unwrap_or_default();
        for p in new.ports.iter_mut().flatten() {
            if p.node_port.unwrap_or(0) == 0
                && let Some(np) = old_ports
                    .iter()
                    .find(|o| o.name == p.name)
                    .and_then(|o| o.node_port)
                    .filter(|np| !used.contains(np))
            {
                p.node_port = Some(np);
            }
        }
    }
    let same_ips = new.cluster_ips == old.cluster_ips;
    if new.cluster_ip != old.cluster_ip && same_ips {
        new.cluster_ips =
            (!empty(&new.cluster_ip)).then(|| vec![new.cluster_ip.clone().unwrap_or_default()]);
    }
    if type_of(new) == EXTERNAL_NAME && type_of(old) != EXTERNAL_NAME {
        if new.cluster_ip == old.cluster_ip && new.cluster_ips == old.cluster_ips {
            new.cluster_ip = None;
            new.cluster_ips = None;
        }
        if new.ip_families == old.ip_families {
            new.ip_families = None;
        }
        if new.ip_family_policy == old.ip_family_policy {
            new.ip_family_policy = None;
        }
    }
    if !needs_node_port(new) && needs_node_port(old) {
        let old_ports = old.ports.as_deref().unwrap_or_default();
        for p in new.ports.iter_mut().flatten() {
            if p.node_port.is_some() && old_ports.iter().any(|o| o.node_port == p.node_port) {
                p.node_port = None;
            }
        }
    }
    if !externally_accessible(new)
        && externally_accessible(old)
        && new.external_traffic_policy == old.external_traffic_policy
    {
        new.external_traffic_policy = None;
    }
    if type_of(new) != LOAD_BALANCER && type_of(old) == LOAD_BALANCER {
        if new.allocate_load_balancer_node_ports == old.allocate_load_balancer_node_ports {
            new.allocate_load_balancer_node_ports = None;
        }
        if new.load_balancer_class == old.load_balancer_class {
            new.load_balancer_class = None;
        }
        if new.health_check_node_port == old.health_check_node_port {
            new.health_check_node_port = None;
        }
    }
}

impl Strategy<Service> for ServiceStrategy {
    fn name_rule(&self) -> NameRule {
        NameRule::Dns1035Label
    }

    fn returns_deleted_object(&self) -> bool {
        true
    }

    fn default(&self, svc: &mut Service) {
        default_spec(svc.spec.get_or_insert_with(Default::default));
    }

    fn prepare_for_create(&self, svc: &mut Service) {
        svc.status = None;
        normalize_cluster_ips_on_create(svc.spec.get_or_insert_with(Default::default));
    }

    fn validate(&self, svc: &Service) -> Vec<FieldError> {
        validate_service(svc.spec.as_ref().unwrap_or(&ServiceSpec::default()))
    }

    fn prepare_for_update(&self, new: &mut Service, old: &Service) {
        keep_status(new, old);
        if let Some(old_spec) = &old.spec {
            prepare_spec_update(new.spec.get_or_insert_with(Default::default), old_spec);
        }
    }

    fn validate_update(&self, new: &Service, old: &Service) -> Vec<FieldError> {
        let empty = ServiceSpec::default();
        let (n, o) = (
            new.spec.as_ref().unwrap_or(&empty),
            old.spec.as_ref().unwrap_or(&empty),
        );
        let mut errs = validate_service_update(n, o);
        errs.extend(validate_service(n));
        errs
    }

    fn has_status(&self) -> bool {
        true
    }

    fn prepare_for_status_update(&self, new: &mut Service, old: &Service) {
        keep_spec(new, old);
    }
}

#[cfg(test)]
mod tests {
    use api_types::core::v1::ServicePort;

    use super::*;

    fn svc(type_: Option<&str>, ports: &[i32]) -> Service {
        Service {
            spec: Some(ServiceSpec {
                type_: type_.map(str::to_string),
                selector: Some([("app".to_string(), "web".to_string())].into()),
                ports: Some(
                    ports
                        .iter()
                        .map(|p| ServicePort {
                            name: (ports.len() > 1).then(|| format!("p{p}")),
                            port: *p,
                            ..Default::default()
                        })
                        .collect(),
                ),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn created(mut s: Service) -> Service {
        ServiceStrategy.default(&mut s);
        ServiceStrategy.prepare_for_create(&mut s);
        s
    }

    fn spec(s: &Service) -> &ServiceSpec {
        s.spec.as_ref().expect("spec")
    }

    #[test]
    fn cluster_ip_defaults() {
        let s = created(svc(None, &[80]));
        let sp = spec(&s);
        assert_eq!(sp.type_.as_deref(), Some("ClusterIP"));
        assert_eq!(sp.session_affinity.as_deref(), Some("None"));
        assert_eq!(sp.internal_traffic_policy.as_deref(), Some("Cluster"));
        assert_eq!(sp.ip_family_policy.as_deref(), Some("SingleStack"));
        assert_eq!(sp.ip_families, Some(vec!["IPv4".to_string()]));
        assert_eq!(sp.external_traffic_policy, None);
        let port = &sp.ports.as_deref().expect("ports")[0];
        assert_eq!(port.protocol.as_deref(), Some("TCP"));
        assert_eq!(port.target_port, Some(IntOrString::Int(80)));
        assert!(
            ServiceStrategy.validate(&s).is_empty(),
            "{:?}",
            ServiceStrategy.validate(&s)
        );
    }

    #[test]
    fn node_port_and_external_name_defaults() {
        let s = created(svc(Some("LoadBalancer"), &[80]));
        assert_eq!(spec(&s).external_traffic_policy.as_deref(), Some("Cluster"));
        assert_eq!(spec(&s).allocate_load_balancer_node_ports, Some(true));
        assert!(ServiceStrategy.validate(&s).is_empty());

        let mut ext = svc(Some("ExternalName"), &[]);
        if let Some(sp) = ext.spec.as_mut() {
            sp.external_name = Some("db.example.com".into());
        }
        let ext = created(ext);
        assert_eq!(spec(&ext).ip_families, None);
        assert_eq!(spec(&ext).ip_family_policy, None);
        assert_eq!(spec(&ext).internal_traffic_policy, None);
        assert!(ServiceStrategy.validate(&ext).is_empty());
    }

    #[test]
    fn named_target_ports_and_client_ip_affinity_are_kept_or_defaulted() {
        let mut s = svc(None, &[80]);
        if let Some(sp) = s.spec.as_mut() {
            sp.session_affinity = Some("ClientIP".into());
            if let Some(p) = sp.ports.as_mut() {
                p[0].target_port = Some(IntOrString::String("http".into()));
            }
        }
        let s = created(s);
        let sp = spec(&s);
        assert_eq!(
            sp.ports.as_deref().expect("ports")[0].target_port,
            Some(IntOrString::String("http".into()))
        );
        assert_eq!(
            sp.session_affinity_config
                .as_ref()
                .and_then(|c| c.client_ip.as_ref())
                .and_then(|c| c.timeout_seconds),
            Some(10800)
        );
    }

    #[test]
    fn cluster_ip_is_kept_when_an_update_leaves_it_out() {
        let mut old = svc(None, &[80]);
        if let Some(sp) = old.spec.as_mut() {
            sp.cluster_ip = Some("10.96.0.10".into());
        }
        let old = created(old);
        assert_eq!(spec(&old).cluster_ips, Some(vec!["10.96.0.10".to_string()]));
        let mut new = svc(None, &[80]);
        ServiceStrategy.default(&mut new);
        ServiceStrategy.prepare_for_update(&mut new, &old);
        assert_eq!(spec(&new).cluster_ip.as_deref(), Some("10.96.0.10"));
        assert!(ServiceStrategy.validate_update(&new, &old).is_empty());
    }

    #[test]
    fn cluster_ip_may_not_change() {
        let mut old = svc(None, &[80]);
        if let Some(sp) = old.spec.as_mut() {
            sp.cluster_ip = Some("10.96.0.10".into());
        }
        let old = created(old);
        let mut new = old.clone();
        if let Some(sp) = new.spec.as_mut() {
            sp.cluster_ip = Some("10.96.0.11".into());
        }
        ServiceStrategy.default(&mut new);
        ServiceStrategy.prepare_for_update(&mut new, &old);
        let errs: Vec<String> = ServiceStrategy
            .validate_update(&new, &old)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            errs,
            [
                r#"spec.clusterIPs[0]: Invalid value: []string{"10.96.0.11"}: may not change once set"#
            ]
        );
    }

    #[test]
    fn unset_cluster_ip_may_be_set() {
        let old = created(svc(None, &[80]));
        let mut new = old.clone();
        if let Some(sp) = new.spec.as_mut() {
            sp.cluster_ip = Some("10.96.0.12".into());
        }
        ServiceStrategy.prepare_for_update(&mut new, &old);
        assert_eq!(spec(&new).cluster_ips, Some(vec!["10.96.0.12".to_string()]));
        assert!(ServiceStrategy.validate_update(&new, &old).is_empty());
    }

    #[test]
    fn node_ports_are_kept_when_an_update_leaves_them_out() {
        let mut old = svc(Some("NodePort"), &[80]);
        if let Some(p) = old.spec.as_mut().and_then(|s| s.ports.as_mut()) {
            p[0].node_port = Some(30080);
        }
        let old = created(old);
        let mut new = svc(Some("NodePort"), &[80]);
        ServiceStrategy.default(&mut new);
        ServiceStrategy.prepare_for_update(&mut new, &old);
        assert_eq!(
            spec(&new).ports.as_deref().expect("ports")[0].node_port,
            Some(30080)
        );
        assert!(ServiceStrategy.validate_update(&new, &old).is_empty());
    }

    #[test]
    fn switching_to_external_name_drops_ip_fields_and_node_ports() {
        let mut old = svc(Some("NodePort"), &[80]);
        if let Some(sp) = old.spec.as_mut() {
            sp.cluster_ip = Some("10.96.0.10".into());
            if let Some(p) = sp.ports.as_mut() {
                p[0].node_port = Some(30080);
            }
        }
        let old = created(old);
        let mut new = old.clone();
        if let Some(sp) = new.spec.as_mut() {
            sp.type_ = Some("ExternalName".into());
            sp.external_name = Some("example.com".into());
        }
        ServiceStrategy.default(&mut new);
        ServiceStrategy.prepare_for_update(&mut new, &old);
        let sp = spec(&new);
        assert_eq!(
            (sp.cluster_ip.as_deref(), sp.cluster_ips.as_ref()),
            (None, None)
        );
        assert_eq!(sp.ip_families, None);
        assert_eq!(sp.ports.as_deref().expect("ports")[0].node_port, None);
        assert_eq!(sp.external_traffic_policy, None);
        assert!(
            ServiceStrategy.validate_update(&new, &old).is_empty(),
            "{:?}",
            ServiceStrategy.validate_update(&new, &old)
        );
    }

    #[test]
    fn status_and_spec_are_written_separately() {
        let old = created(svc(None, &[80]));
        let mut new = created(svc(None, &[81]));
        new.status = Some(Default::default());
        ServiceStrategy.prepare_for_status_update(&mut new, &old);
        assert_eq!(new.spec, old.spec);
        let mut new = created(svc(None, &[81]));
        new.status = Some(Default::default());
        ServiceStrategy.prepare_for_update(&mut new, &old);
        assert_eq!(new.status, None);
        assert!(ServiceStrategy.returns_deleted_object());
        assert_eq!(ServiceStrategy.name_rule(), NameRule::Dns1035Label);
    }
}

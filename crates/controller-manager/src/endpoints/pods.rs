//! What the Endpoints and EndpointSlice controllers both need to know about
//! pods and services (upstream: `k8s.io/endpointslice/util` and
//! `podutil.FindPort`):
//! - which services **select** a pod, and which of them a pod change
//!   touches ([`services_to_update`], [`PodEvents`]);
//! - whether a pod belongs in a service's endpoints at all
//!   ([`should_be_in_endpoints`]), whether it is ready, its IPs;
//! - the container port a service port's `targetPort` names
//!   ([`find_port`]).

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::sync::Arc;

use api_types::core::v1::{Pod, Service, ServicePort};
use api_types::intstr::IntOrString;
use runtime::cache::{BY_NAMESPACE, Store, key_of};
use runtime::informer::EventHandler;
use runtime::workqueue::WorkQueue;

/// The label on Endpoints and EndpointSlices of a service without a
/// cluster IP (`v1.IsHeadlessService`).
pub const HEADLESS_LABEL: &str = "service.kubernetes.io/headless";

/// The selector of a service the controllers manage endpoints for: `None`
/// for a service without one (its endpoints are the user's). The apiserver
/// drops an empty map, so empty counts as none.
pub fn selector(svc: &Service) -> Option<&BTreeMap<String, String>> {
    svc.spec
        .as_ref()?
        .selector
        .as_ref()
        .filter(|s| !s.is_empty())
}

/// Whether the controllers write endpoints for `svc`: it has a selector
/// and is not an `ExternalName` service (a DNS alias has no backends).
pub fn managed(svc: &Service) -> bool {
    let external = svc.spec.as_ref().and_then(|s| s.type_.as_deref()) == Some("ExternalName");
    !external && selector(svc).is_some()
}

/// Whether `labels` carry every `key=value` of a map selector.
pub fn matches(selector: &BTreeMap<String, String>, labels: &BTreeMap<String, String>) -> bool {
    selector.iter().all(|(k, v)| labels.get(k) == Some(v))
}

/// No cluster IP: `clusterIP` unset or `None` (upstream's `IsServiceIPSet`
/// negated).
pub fn is_headless(svc: &Service) -> bool {
    let ip = svc
        .spec
        .as_ref()
        .and_then(|s| s.cluster_ip.as_deref())
        .unwrap_or_default();
    ip.is_empty() || ip == "None"
}

/// The pod's Ready condition is `True`.
pub fn is_ready(pod: &Pod) -> bool {
    pod.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

/// `Succeeded` or `Failed`: its containers will never run again.
pub fn is_terminal(pod: &Pod) -> bool {
    matches!(
        pod.status.as_ref().and_then(|s| s.phase.as_deref()),
        Some("Succeeded" | "Failed")
    )
}

/// Being deleted (graceful termination has begun).
pub fn is_terminating(pod: &Pod) -> bool {
    pod.metadata.deletion_timestamp.is_some()
}

/// The pod's IPs: `status.podIPs`, or `status.podIP` for a writer that set
/// only that one.
pub fn pod_ips(pod: &Pod) -> Vec<&str> {
    let Some(status) = pod.status.as_ref() else {
        return Vec::new();
    };
    let ips: Vec<&str> = status
        .pod_ips
        .iter()
        .flatten()
        .map(|p| p.ip.as_str())
        .filter(|ip| !ip.is_empty())
        .collect();
    if !ips.is_empty() {
        return ips;
    }
    status
        .pod_ip
        .as_deref()
        .filter(|ip| !ip.is_empty())
        .into_iter()
        .collect()
}

/// Parses an IP as Go's `ParseIPSloppy` would for the addresses a pod
/// reports; `None` for something that is not an IP.
pub fn parse_ip(ip: &str) -> Option<IpAddr> {
    ip.parse().ok()
}

/// Upstream's `ShouldPodBeInEndpoints`: not terminal, has an IP, and (unless
/// `include_terminating`) not being deleted.
pub fn should_be_in_endpoints(pod: &Pod, include_terminating: bool) -> bool {
    !is_terminal(pod) && !pod_ips(pod).is_empty() && (include_terminating || !is_terminating(pod))
}

/// The pod's `hostname` goes into its address when its `subdomain` names the
/// service (how a StatefulSet's pods get DNS names).
pub fn hostname_for<'a>(pod: &'a Pod, svc: &Service) -> Option<&'a str> {
    let spec = pod.spec.as_ref()?;
    let host = spec.hostname.as_deref().filter(|h| !h.is_empty())?;
    (spec.subdomain.as_deref() == Some(svc.metadata.name.as_str())
        && pod.metadata.namespace == svc.metadata.namespace)
        .then_some(host)
}

/// The protocol of a port, `TCP` when unset (the apiserver's default).
pub fn protocol(p: Option<&str>) -> &str {
    p.filter(|p| !p.is_empty()).unwrap_or("TCP")
}

/// The pod port a service port sends traffic to: a number as it is; a name
/// looked up among the ports of the pod's containers (and of sidecars:
/// init containers with `restartPolicy: Always`) with the same protocol.
/// `None` when the pod has no port of that name.
pub fn find_port(pod: &Pod, port: &ServicePort) -> Option<i32> {
    let name = match &port.target_port {
        // The apiserver defaults an unset targetPort to the port itself.
        None => return Some(port.port),
        Some(IntOrString::Int(0)) => return Some(port.port),
        Some(IntOrString::Int(n)) => return Some(*n),
        Some(IntOrString::String(name)) => name,
    };
    let spec = pod.spec.as_ref()?;
    let want = protocol(port.protocol.as_deref());
    let sidecars = spec
        .init_containers
        .iter()
        .flatten()
        .filter(|c| c.restart_policy.as_deref() == Some("Always"));
    spec.containers
        .iter()
        .chain(sidecars)
        .flat_map(|c| c.ports.iter().flatten())
        .find(|p| {
            p.name.as_deref() == Some(name.as_str()) && protocol(p.protocol.as_deref()) == want
        })
        .map(|p| p.container_port)
}

/// The keys of the services in `namespace` whose selector matches `labels`.
pub fn services_for(
    services: &Store<Service>,
    namespace: &str,
    labels: &BTreeMap<String, String>,
) -> BTreeSet<String> {
    services
        .by_index(BY_NAMESPACE, namespace)
        .iter()
        .filter(|s| selector(s).is_some_and(|sel| matches(sel, labels)))
        .map(|s| key_of(s.as_ref()))
        .collect()
}

/// What changed between two versions of a pod, for its endpoints: whether
/// its address may have changed (`pod`), and whether the services selecting
/// it may have (`membership`: labels, or hostname/subdomain).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PodChange {
    pub pod: bool,
    pub membership: bool,
}

/// Upstream's `podEndpointsChanged`, which also counts a pod turning
/// `Succeeded`/`Failed` (it leaves the endpoints even if its readiness was
/// already false).
pub fn pod_change(old: &Pod, new: &Pod) -> PodChange {
    let host = |p: &Pod| {
        p.spec
            .as_ref()
            .map(|s| (s.hostname.clone(), s.subdomain.clone()))
    };
    PodChange {
        membership: old.metadata.labels != new.metadata.labels || host(old) != host(new),
        pod: old.metadata.deletion_timestamp != new.metadata.deletion_timestamp
            || is_ready(old) != is_ready(new)
            || pod_ips(old) != pod_ips(new)
            || is_terminal(old) != is_terminal(new),
    }
}

/// The services to sync after a pod changed from `old` to `new`: none for
/// a resync or a change that cannot matter; the services selecting it; and
/// when its labels changed, those that selected it before too (all of them
/// if its address changed as well, else only those that gained or lost it).
pub fn services_to_update(services: &Store<Service>, old: &Pod, new: &Pod) -> BTreeSet<String> {
    if old.metadata.resource_version == new.metadata.resource_version {
        return BTreeSet::new(); // a resync: services resync themselves
    }
    let change = pod_change(old, new);
    if !change.pod && !change.membership {
        return BTreeSet::new();
    }
    let ns = &new.metadata.namespace;
    let now = services_for(services, ns, &new.metadata.labels);
    if !change.membership {
        return now;
    }
    let before = services_for(services, ns, &old.metadata.labels);
    if change.pod {
        now.union(&before).cloned().collect()
    } else {
        now.symmetric_difference(&before).cloned().collect()
    }
}

/// Pod events → the keys of the services they touch, on `queue`.
pub struct PodEvents {
    pub services: Store<Service>,
    pub queue: WorkQueue<String>,
}

impl PodEvents {
    fn add_all(&self, keys: BTreeSet<String>) {
        for k in keys {
            self.queue.add(k);
        }
    }
}

impl EventHandler<Pod> for PodEvents {
    fn on_add(&self, pod: &Arc<Pod>) {
        self.add_all(services_for(
            &self.services,
            &pod.metadata.namespace,
            &pod.metadata.labels,
        ));
    }
    fn on_update(&self, old: &Arc<Pod>, new: &Arc<Pod>) {
        self.add_all(services_to_update(&self.services, old, new));
    }
    fn on_delete(&self, pod: &Arc<Pod>) {
        self.on_add(pod);
    }
}

/// Service events → the service's key, on `queue` (a deleted service's
/// key too: its endpoints must go).
pub struct ServiceEvents(pub WorkQueue<String>);

impl EventHandler<Service> for ServiceEvents {
    fn on_add(&self, svc: &Arc<Service>) {
        self.0.add(key_of(svc.as_ref()));
    }
    fn on_update(&self, _: &Arc<Service>, svc: &Arc<Service>) {
        self.0.add(key_of(svc.as_ref()));
    }
    fn on_delete(&self, svc: &Arc<Service>) {
        self.0.add(key_of(svc.as_ref()));
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use serde_json::json;

    fn pod(v: serde_json::Value) -> Pod {
        serde_json::from_value(v).unwrap()
    }

    fn port(v: serde_json::Value) -> ServicePort {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn named_target_ports_resolve_per_pod_and_protocol() {
        let p = pod(json!({
            "spec": {
                "containers": [{"name": "a", "image": "i", "ports": [
                    {"name": "http", "containerPort": 8080},
                    {"name": "dns", "containerPort": 53, "protocol": "UDP"}
                ]}],
                "initContainers": [
                    {"name": "side", "image": "i", "restartPolicy": "Always", "ports": [{"name": "metrics", "containerPort": 9090}]},
                    {"name": "init", "image": "i", "ports": [{"name": "setup", "containerPort": 7000}]}
                ]
            }
        }));
        let find = |v| find_port(&p, &port(v));
        assert_eq!(find(json!({"port": 80, "targetPort": "http"})), Some(8080));
        assert_eq!(
            find(json!({"port": 80, "targetPort": "http", "protocol": "UDP"})),
            None
        );
        assert_eq!(
            find(json!({"port": 53, "targetPort": "dns", "protocol": "UDP"})),
            Some(53)
        );
        assert_eq!(
            find(json!({"port": 9, "targetPort": "metrics"})),
            Some(9090),
            "a sidecar's port"
        );
        assert_eq!(
            find(json!({"port": 9, "targetPort": "setup"})),
            None,
            "a plain init container has no serving ports"
        );
        assert_eq!(find(json!({"port": 80, "targetPort": 9376})), Some(9376));
        assert_eq!(find(json!({"port": 80})), Some(80));
    }

    #[test]
    fn which_pods_belong_in_endpoints() {
        let with = |status: serde_json::Value, deleting: bool| {
            let mut v = json!({"metadata": {"name": "p"}, "status": status});
            if deleting {
                v["metadata"]["deletionTimestamp"] = json!("2026-01-01T00:00:00Z");
            }
            pod(v)
        };
        let running = json!({"phase": "Running", "podIP": "10.0.0.1"});
        assert!(should_be_in_endpoints(&with(running.clone(), false), false));
        assert!(!should_be_in_endpoints(&with(running.clone(), true), false));
        assert!(should_be_in_endpoints(&with(running, true), true));
        assert!(!should_be_in_endpoints(
            &with(json!({"phase": "Pending"}), false),
            true
        ));
        for phase in ["Succeeded", "Failed"] {
            assert!(!should_be_in_endpoints(
                &with(json!({"phase": phase, "podIP": "10.0.0.1"}), false),
                true
            ));
        }
        let both = with(
            json!({"podIP": "10.0.0.1", "podIPs": [{"ip": "10.0.0.1"}, {"ip": "fd00::1"}]}),
            false,
        );
        assert_eq!(pod_ips(&both), ["10.0.0.1", "fd00::1"]);
    }

    #[test]
    fn pod_changes_that_matter() {
        let base = json!({
            "metadata": {"name": "p", "labels": {"app": "web"}, "resourceVersion": "1"},
            "spec": {"containers": []},
            "status": {"podIP": "10.0.0.1", "conditions": [{"type": "Ready", "status": "False"}]}
        });
        let old = pod(base.clone());
        let changed = |f: &dyn Fn(&mut serde_json::Value)| {
            let mut v = base.clone();
            f(&mut v);
            pod_change(&old, &pod(v))
        };
        assert_eq!(
            changed(&|v| v["metadata"]["annotations"] = json!({"a": "b"})),
            PodChange::default()
        );
        assert!(changed(&|v| v["status"]["conditions"][0]["status"] = json!("True")).pod);
        assert!(changed(&|v| v["status"]["podIP"] = json!("10.0.0.2")).pod);
        assert!(changed(&|v| v["status"]["phase"] = json!("Failed")).pod);
        assert!(
            changed(&|v| v["metadata"]["deletionTimestamp"] = json!("2026-01-01T00:00:00Z")).pod
        );
        assert_eq!(
            changed(&|v| v["metadata"]["labels"]["app"] = json!("db")),
            PodChange {
                pod: false,
                membership: true
            }
        );
        assert!(changed(&|v| v["spec"]["hostname"] = json!("h")).membership);
    }

    #[test]
    fn a_relabelled_pod_touches_the_services_it_left_and_joined() {
        let services: Store<Service> = Store::new();
        services.add_index(BY_NAMESPACE, runtime::cache::namespace_index());
        for (name, sel) in [
            ("web", json!({"app": "web"})),
            ("db", json!({"app": "db"})),
            ("all", json!({"tier": "x"})),
            ("none", json!(null)),
        ] {
            let s: Service = serde_json::from_value(json!({
                "metadata": {"name": name, "namespace": "ns"},
                "spec": {"selector": sel}
            }))
            .unwrap();
            services.upsert(Arc::new(s));
        }
        let p = |rv: &str, app: &str, ready: &str| {
            pod(json!({
                "metadata": {"name": "p", "namespace": "ns", "resourceVersion": rv,
                             "labels": {"app": app, "tier": "x"}},
                "status": {"podIP": "10.0.0.1", "conditions": [{"type": "Ready", "status": ready}]}
            }))
        };
        let keys = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
        // Only the labels: the services it left and joined, not "all".
        assert_eq!(
            services_to_update(&services, &p("1", "web", "True"), &p("2", "db", "True")),
            keys(&["ns/db", "ns/web"])
        );
        // Labels and readiness: every service involved.
        assert_eq!(
            services_to_update(&services, &p("1", "web", "True"), &p("2", "db", "False")),
            keys(&["ns/all", "ns/db", "ns/web"])
        );
        // A resync, and an irrelevant change: nothing.
        assert!(
            services_to_update(&services, &p("1", "web", "True"), &p("1", "db", "False"))
                .is_empty()
        );
        assert!(
            services_to_update(&services, &p("1", "web", "True"), &p("2", "web", "True"))
                .is_empty()
        );
    }
}

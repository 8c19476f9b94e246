//! Decide: which EndpointSlices to create, update and delete for a
//! service, as a pure function of the cached objects (upstream: the
//! reconciler of `k8s.io/endpointslice`).
//!
//! The desired endpoints are grouped by their **ports**: a named
//! `targetPort` may resolve to different numbers in different pods, and a
//! slice has one list of ports for all its endpoints. For each group
//! ([`plan`] → `plan_ports`), in this order, so that a change touches as
//! few slices as possible:
//! 1. walk the existing slices: keep the endpoints still wanted (replaced
//!    by their new version), drop the others; a slice left empty is
//!    deleted, a changed one updated, an untouched one left alone;
//! 2. put new endpoints into the slices being updated anyway, fullest
//!    first, up to `--max-endpoints-per-slice`;
//! 3. put what is left into the one untouched slice it fits best, or into
//!    new slices.
//!
//! A service with no endpoints at all keeps one empty **placeholder**
//! slice, and a creation paired with a deletion becomes an update of the
//! slice that would have been deleted.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use api_types::Resource;
use api_types::core::v1::{ObjectReference, Pod, Service};
use api_types::discovery::v1::{Endpoint, EndpointConditions, EndpointPort, EndpointSlice};

use crate::endpoints::pods::{
    HEADLESS_LABEL, find_port, hostname_for, is_headless, is_ready, is_terminating, managed,
    matches, parse_ip, pod_ips, protocol, selector, should_be_in_endpoints,
};
use crate::replicaset::controller_ref;

/// Names the service a slice belongs to.
pub const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";
/// Names the controller that manages a slice.
pub const MANAGED_BY_LABEL: &str = "endpointslice.kubernetes.io/managed-by";
/// This controller's value of [`MANAGED_BY_LABEL`].
pub const CONTROLLER_NAME: &str = "endpointslice-controller.k8s.io";
/// `--max-endpoints-per-slice`.
pub const DEFAULT_MAX_ENDPOINTS_PER_SLICE: usize = 100;
/// The node label an endpoint's `zone` comes from.
pub const ZONE_LABEL: &str = "topology.kubernetes.io/zone";

/// What the plan reads.
#[derive(Clone, Copy, Debug)]
pub struct Input<'a> {
    pub service: &'a Service,
    /// The pods of the service's namespace (the plan applies the selector).
    pub pods: &'a [Arc<Pod>],
    /// The nodes that exist, each with its zone, if labelled.
    pub nodes: &'a BTreeMap<String, Option<String>>,
    /// The slices labelled with the service's name and managed by this
    /// controller, not being deleted.
    pub slices: &'a [Arc<EndpointSlice>],
    pub max_per_slice: usize,
}

/// What one sync should do.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Plan {
    /// New slices (`generateName`).
    pub create: Vec<EndpointSlice>,
    /// Existing slices to replace (name and `resourceVersion` set).
    pub update: Vec<EndpointSlice>,
    /// Names of slices to delete.
    pub delete: Vec<String>,
    /// `(pod, node)` for pods left out because their node is unknown; the
    /// sync is retried until it appears.
    pub missing_nodes: Vec<(String, String)>,
}

/// The address types a service's slices have: from `ipFamilies`; else the
/// family of its cluster IP; else (headless) both.
pub fn address_types(svc: &Service) -> BTreeSet<&'static str> {
    let spec = svc.spec.as_ref();
    let mut out: BTreeSet<&'static str> = spec
        .and_then(|s| s.ip_families.as_ref())
        .into_iter()
        .flatten()
        .filter_map(|f| match f.as_str() {
            "IPv4" => Some("IPv4"),
            "IPv6" => Some("IPv6"),
            _ => None,
        })
        .collect();
    if out.is_empty() {
        if is_headless(svc) {
            out.extend(["IPv4", "IPv6"]);
        } else {
            let ip = spec.and_then(|s| s.cluster_ip.as_deref()).unwrap_or("");
            out.insert(if parse_ip(ip).is_some_and(|a| a.is_ipv6()) {
                "IPv6"
            } else {
                "IPv4"
            });
        }
    }
    out
}

/// The slice ports of `pod` for `svc`: each service port whose
/// `targetPort` the pod has, resolved (none for a headless service
/// without ports).
pub fn endpoint_ports(svc: &Service, pod: &Pod) -> Vec<EndpointPort> {
    let ports = svc
        .spec
        .as_ref()
        .and_then(|s| s.ports.as_deref())
        .unwrap_or_default();
    ports
        .iter()
        .filter_map(|p| {
            Some(EndpointPort {
                name: Some(p.name.clone().unwrap_or_default()),
                protocol: Some(protocol(p.protocol.as_deref()).to_string()),
                port: Some(find_port(pod, p)?),
                app_protocol: p.app_protocol.clone(),
            })
        })
        .collect()
}

/// A list of ports, comparable whatever its order.
type PortsKey = Vec<(String, Option<i32>, String, Option<String>)>;

fn ports_key(ports: &[EndpointPort]) -> PortsKey {
    let mut key: PortsKey = ports
        .iter()
        .map(|p| {
            (
                p.name.clone().unwrap_or_default(),
                p.port,
                protocol(p.protocol.as_deref()).to_string(),
                p.app_protocol.clone(),
            )
        })
        .collect();
    key.sort();
    key
}

/// Which endpoint this is, across versions: its addresses, hostname and
/// the pod behind it (upstream hashes the same fields).
type EndpointKey = (Vec<String>, String, String, String);

fn endpoint_key(ep: &Endpoint) -> EndpointKey {
    let mut addresses = ep.addresses.clone();
    addresses.sort();
    let target = ep.target_ref.as_ref();
    let field = |f: Option<&Option<String>>| f.and_then(Option::clone).unwrap_or_default();
    (
        addresses,
        ep.hostname.clone().unwrap_or_default(),
        field(target.map(|t| &t.namespace)),
        field(target.map(|t| &t.name)),
    )
}

/// Equal but for the pod's `resourceVersion` in `targetRef`.
fn same_endpoint(a: &Endpoint, b: &Endpoint) -> bool {
    let strip = |e: &Endpoint| {
        let mut e = e.clone();
        if let Some(t) = e.target_ref.as_mut() {
            t.resource_version = None;
        }
        e
    };
    strip(a) == strip(b)
}

/// The endpoint of `pod` in a slice of `address_type`; no addresses when
/// the pod has no IP of that type.
fn endpoint(pod: &Pod, zone: Option<String>, svc: &Service, address_type: &str) -> Endpoint {
    let serving = is_ready(pod);
    let terminating = is_terminating(pod);
    let publish = svc
        .spec
        .as_ref()
        .and_then(|s| s.publish_not_ready_addresses)
        .unwrap_or(false);
    let want_v6 = address_type == "IPv6";
    Endpoint {
        // Re-printed, so that an oddly written IP compares equal.
        addresses: pod_ips(pod)
            .into_iter()
            .filter_map(parse_ip)
            .filter(|ip| ip.is_ipv6() == want_v6)
            .map(|ip| ip.to_string())
            .collect(),
        conditions: Some(EndpointConditions {
            // A terminating pod is never ready, unless the service publishes
            // not-ready addresses.
            ready: Some(publish || (serving && !terminating)),
            serving: Some(serving),
            terminating: Some(terminating),
        }),
        hostname: hostname_for(pod, svc).map(str::to_string),
        target_ref: Some(ObjectReference {
            kind: Some("Pod".into()),
            namespace: Some(pod.metadata.namespace.clone()),
            name: Some(pod.metadata.name.clone()),
            uid: Some(pod.metadata.uid.clone()).filter(|u| !u.is_empty()),
            ..Default::default()
        }),
        node_name: pod
            .spec
            .as_ref()
            .and_then(|s| s.node_name.clone())
            .filter(|n| !n.is_empty()),
        zone,
        hints: None,
        deprecated_topology: None,
    }
}

fn reserved(label: &str) -> bool {
    label == SERVICE_NAME_LABEL || label == MANAGED_BY_LABEL || label == HEADLESS_LABEL
}

/// The labels a slice of `svc` should have: the service's, plus the
/// service name, the manager and (headless) the headless label; and whether
/// the slice's own labels, beyond those three, differ from the service's.
pub fn slice_labels(
    current: &BTreeMap<String, String>,
    svc: &Service,
) -> (BTreeMap<String, String>, bool) {
    let own: BTreeMap<&String, &String> = current.iter().filter(|(k, _)| !reserved(k)).collect();
    let mut want: BTreeMap<String, String> = svc
        .metadata
        .labels
        .iter()
        .filter(|(k, _)| !reserved(k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let changed = own.len() != want.len() || own.iter().any(|(k, v)| want.get(*k) != Some(*v));
    if is_headless(svc) {
        want.insert(HEADLESS_LABEL.into(), String::new());
    }
    want.insert(SERVICE_NAME_LABEL.into(), svc.metadata.name.clone());
    want.insert(MANAGED_BY_LABEL.into(), CONTROLLER_NAME.into());
    (want, changed)
}

/// An empty slice of `svc` for `ports` and `address_type`, named
/// `<service>-<random>` by the apiserver, owned by the service.
pub fn new_slice(svc: &Service, ports: Vec<EndpointPort>, address_type: &str) -> EndpointSlice {
    let mut slice = EndpointSlice {
        address_type: address_type.into(),
        endpoints: Some(Vec::new()),
        ports: Some(ports),
        ..Default::default()
    };
    slice.metadata.generate_name = format!("{}-", svc.metadata.name);
    slice.metadata.namespace = svc.metadata.namespace.clone();
    slice.metadata.owner_references = vec![controller_ref(svc)];
    slice.metadata.labels = slice_labels(&BTreeMap::new(), svc).0;
    slice.set_type_meta();
    slice
}

/// The slice names `svc` (by uid) as its owner.
pub fn owned_by(slice: &EndpointSlice, svc: &Service) -> bool {
    slice
        .metadata
        .owner_references
        .iter()
        .any(|o| o.uid == svc.metadata.uid && o.kind == "Service" && o.api_version == "v1")
}

fn len(slice: &EndpointSlice) -> usize {
    slice.endpoints.as_ref().map_or(0, Vec::len)
}

/// The placeholder `existing` already is what `fresh` would be.
fn same_placeholder(existing: &EndpointSlice, fresh: &EndpointSlice) -> bool {
    existing.metadata.namespace == fresh.metadata.namespace
        && existing.metadata.labels == fresh.metadata.labels
        && existing.address_type == fresh.address_type
        && len(existing) == 0
        && existing.ports.as_ref().is_none_or(Vec::is_empty)
}

/// The plan for one service (nothing for one without a selector: its
/// slices, if any, are someone else's).
pub fn plan(input: &Input) -> Plan {
    let mut out = Plan::default();
    let svc = input.service;
    if !managed(svc) {
        return out;
    }
    let types = address_types(svc);
    let mut by_type: BTreeMap<&str, Vec<&EndpointSlice>> = BTreeMap::new();
    for s in input.slices {
        if types.contains(s.address_type.as_str()) {
            by_type.entry(&s.address_type).or_default().push(s);
        } else {
            out.delete.push(s.metadata.name.clone());
        }
    }
    for t in types {
        plan_address_type(input, t, by_type.remove(t).unwrap_or_default(), &mut out);
    }
    if svc.metadata.deletion_timestamp.is_some() {
        // Nothing new for a service on its way out.
        out.create.clear();
    }
    out
}

/// The endpoints wanted for one address type, grouped by their ports.
type Desired = BTreeMap<PortsKey, (Vec<EndpointPort>, BTreeMap<EndpointKey, Endpoint>)>;

fn desired(input: &Input, address_type: &str, missing: &mut Vec<(String, String)>) -> Desired {
    let svc = input.service;
    let mut out = Desired::new();
    let Some(sel) = selector(svc) else {
        return out;
    };
    let publish = svc
        .spec
        .as_ref()
        .and_then(|s| s.publish_not_ready_addresses)
        .unwrap_or(false);
    for pod in input.pods {
        // Terminating pods stay, marked terminating: consumers may keep
        // using them while they drain.
        if !matches(sel, &pod.metadata.labels) || !should_be_in_endpoints(pod, true) {
            continue;
        }
        let ports = endpoint_ports(svc, pod);
        let group = out
            .entry(ports_key(&ports))
            .or_insert_with(|| (ports, BTreeMap::new()));
        let node = pod
            .spec
            .as_ref()
            .and_then(|s| s.node_name.clone())
            .unwrap_or_default();
        let zone = match input.nodes.get(&node) {
            Some(zone) => zone.clone(),
            // A pod on a node that does not exist (yet) is left out until it
            // does, unless the user asked for every address to be published.
            None if !publish => {
                let entry = (pod.metadata.name.clone(), node);
                if !missing.contains(&entry) {
                    missing.push(entry);
                }
                continue;
            }
            None => None,
        };
        let ep = endpoint(pod, zone, svc, address_type);
        if !ep.addresses.is_empty() {
            group.1.insert(endpoint_key(&ep), ep);
        }
    }
    out
}

fn plan_address_type(input: &Input, t: &str, existing: Vec<&EndpointSlice>, out: &mut Plan) {
    let svc = input.service;
    let mut create: Vec<EndpointSlice> = Vec::new();
    let mut update: Vec<EndpointSlice> = Vec::new();
    let mut delete: Vec<&EndpointSlice> = Vec::new();
    let mut by_ports: BTreeMap<PortsKey, Vec<&EndpointSlice>> = BTreeMap::new();
    for s in &existing {
        if owned_by(s, svc) {
            let key = ports_key(s.ports.as_deref().unwrap_or_default());
            by_ports.entry(key).or_default().push(s);
        } else {
            // A slice of an earlier service of the same name.
            delete.push(s);
        }
    }
    for (key, (ports, endpoints)) in desired(input, t, &mut out.missing_nodes) {
        let slices = by_ports.remove(&key).unwrap_or_default();
        let (c, u, d) = plan_ports(input, t, slices, ports, endpoints);
        create.extend(c);
        update.extend(u);
        delete.extend(d);
    }
    // Ports no pod has any more.
    delete.extend(by_ports.into_values().flatten());

    if existing.len() == delete.len() && create.is_empty() {
        // Nothing would be left: keep (or make) an empty placeholder, so
        // that consumers can tell "no endpoints" from "not processed yet".
        // Unlike upstream, only one this service owns is kept: one owned
        // by an older service of the same name is replaced at once rather
        // than left to the garbage collector.
        let placeholder = new_slice(svc, Vec::new(), t);
        if let [only] = delete.as_slice()
            && owned_by(only, svc)
            && same_placeholder(only, &placeholder)
        {
            delete.clear();
        } else {
            create.push(placeholder);
        }
    }

    // A creation and a deletion make one update of the slice to delete.
    while !create.is_empty() {
        let Some(i) = delete
            .iter()
            .position(|d| d.address_type == t && owned_by(d, svc))
        else {
            break;
        };
        let old = delete.remove(i);
        let Some(mut fresh) = create.pop() else {
            break;
        };
        let mut meta = old.metadata.clone();
        meta.labels = std::mem::take(&mut fresh.metadata.labels);
        meta.owner_references = std::mem::take(&mut fresh.metadata.owner_references);
        fresh.metadata = meta;
        update.push(fresh);
    }
    out.create.extend(create);
    out.update.extend(update);
    out.delete
        .extend(delete.into_iter().map(|s| s.metadata.name.clone()));
}

/// Steps 1–3 of the module docs for the slices of one set of ports:
/// `(create, update, delete)`.
fn plan_ports<'a>(
    input: &Input,
    t: &str,
    mut existing: Vec<&'a EndpointSlice>,
    ports: Vec<EndpointPort>,
    mut wanted: BTreeMap<EndpointKey, Endpoint>,
) -> (
    Vec<EndpointSlice>,
    Vec<EndpointSlice>,
    Vec<&'a EndpointSlice>,
) {
    let svc = input.service;
    let max = input.max_per_slice.max(1);
    let mut update: BTreeMap<String, EndpointSlice> = BTreeMap::new();
    let mut unchanged: BTreeMap<String, &EndpointSlice> = BTreeMap::new();
    let mut delete = Vec::new();
    existing.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));

    // 1. Keep what is still wanted, in its new version; drop the rest.
    for s in existing {
        let old = s.endpoints.as_deref().unwrap_or_default();
        let mut kept = Vec::with_capacity(old.len());
        let mut changed = false;
        for ep in old {
            // Taken out of `wanted`: a duplicate is dropped.
            if let Some(new) = wanted.remove(&endpoint_key(ep)) {
                changed |= !same_endpoint(&new, ep);
                kept.push(new);
            }
        }
        let (labels, labels_changed) = slice_labels(&s.metadata.labels, svc);
        if changed || kept.len() != old.len() {
            if kept.is_empty() {
                delete.push(s);
                continue;
            }
            let mut next = s.clone();
            next.endpoints = Some(kept);
            next.metadata.labels = labels;
            update.insert(next.metadata.name.clone(), next);
        } else if labels_changed {
            let mut next = s.clone();
            next.metadata.labels = labels;
            update.insert(next.metadata.name.clone(), next);
        } else {
            unchanged.insert(s.metadata.name.clone(), s);
        }
    }

    // 2. Fill the slices that are written anyway, fullest first.
    let mut order: Vec<(usize, String)> = update
        .values()
        .map(|s| (len(s), s.metadata.name.clone()))
        .collect();
    order.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    for (_, name) in order {
        if let Some(s) = update.get_mut(&name) {
            fill(s, &mut wanted, max);
        }
    }

    // 3. The rest: into the untouched slice it fills best if it all fits
    //    in one, else into new slices.
    let mut create = Vec::new();
    while !wanted.is_empty() {
        let best = unchanged
            .values()
            .filter(|s| len(s) + wanted.len() <= max)
            .min_by_key(|s| max - (len(s) + wanted.len()))
            .map(|s| s.metadata.name.clone());
        let mut slice = match best.and_then(|name| unchanged.remove(&name)) {
            Some(s) => s.clone(),
            None => new_slice(svc, ports.clone(), t),
        };
        fill(&mut slice, &mut wanted, max);
        if slice.metadata.name.is_empty() {
            create.push(slice);
        } else {
            update.insert(slice.metadata.name.clone(), slice);
        }
    }
    (create, update.into_values().collect(), delete)
}

/// Moves endpoints from `wanted` into `slice` until it holds `max`.
fn fill(slice: &mut EndpointSlice, wanted: &mut BTreeMap<EndpointKey, Endpoint>, max: usize) {
    let eps = slice.endpoints.get_or_insert_with(Vec::new);
    while eps.len() < max {
        let Some((_, ep)) = wanted.pop_first() else {
            break;
        };
        eps.push(ep);
    }
}

#[cfg(test)]
mod tests;

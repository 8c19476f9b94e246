//! Decide: the Endpoints object a service should have, as a pure function
//! of the service, the pods of its namespace and the Endpoints now cached
//! (upstream: `syncService` in `pkg/controller/endpoint` and
//! `RepackSubsets` in `pkg/api/v1/endpoints`).
//!
//! Every selected pod with an IP becomes one address: in `addresses` when
//! it is ready (or the service has `publishNotReadyAddresses`), else in
//! `notReadyAddresses`. Its ports are the service's ports with `targetPort`
//! resolved against the pod, so two pods that name the same port `http`
//! but number it differently cannot share a subset. [`repack`] then groups
//! the (address, port) pairs into subsets: one subset per distinct set of
//! addresses, carrying every port that exactly that set serves.

use std::collections::BTreeMap;
use std::sync::Arc;

use api_types::Resource;
use api_types::core::v1::{
    EndpointAddress, EndpointPort, EndpointSubset, Endpoints, ObjectReference, Pod, Service,
};

use super::pods::{
    HEADLESS_LABEL, find_port, hostname_for, is_headless, is_ready, managed, matches, parse_ip,
    pod_ips, protocol, selector, should_be_in_endpoints,
};

/// At most this many addresses in one Endpoints object; the rest are
/// dropped and the object annotated [`OVER_CAPACITY`].
pub const MAX_CAPACITY: usize = 1000;
/// Set to `truncated` on an Endpoints object that hit [`MAX_CAPACITY`].
pub const OVER_CAPACITY: &str = "endpoints.kubernetes.io/over-capacity";

/// The IP of `pod` to publish for `svc`: the first of the pod's IPs in the
/// service's family (`ipFamilies[0]`; else the family of its cluster IP;
/// else, headless, of the pod's first IP).
fn pod_address_ip(svc: &Service, pod: &Pod) -> Option<String> {
    let spec = svc.spec.as_ref();
    let ips = pod_ips(pod);
    let want_v6 = match spec
        .and_then(|s| s.ip_families.as_ref())
        .and_then(|f| f.first())
    {
        Some(family) => family == "IPv6",
        None => {
            let cluster = spec.and_then(|s| s.cluster_ip.as_deref()).unwrap_or("");
            let probe = if cluster.is_empty() || cluster == "None" {
                ips.first().copied().unwrap_or("")
            } else {
                cluster
            };
            parse_ip(probe).is_some_and(|ip| ip.is_ipv6())
        }
    };
    ips.into_iter()
        .find(|ip| parse_ip(ip).is_some_and(|a| a.is_ipv6() == want_v6))
        .map(str::to_string)
}

/// The address of `pod` for `svc`, if it has an IP of the service's family.
fn address(svc: &Service, pod: &Pod) -> Option<EndpointAddress> {
    let node = pod
        .spec
        .as_ref()
        .and_then(|s| s.node_name.clone())
        .filter(|n| !n.is_empty());
    Some(EndpointAddress {
        ip: pod_address_ip(svc, pod)?,
        hostname: hostname_for(pod, svc).map(str::to_string),
        node_name: node,
        target_ref: Some(ObjectReference {
            kind: Some("Pod".into()),
            namespace: Some(pod.metadata.namespace.clone()),
            name: Some(pod.metadata.name.clone()),
            uid: Some(pod.metadata.uid.clone()).filter(|u| !u.is_empty()),
            ..Default::default()
        }),
    })
}

/// One subset per (pod, port): the raw material [`repack`] groups.
fn raw_subsets(svc: &Service, pods: &[Arc<Pod>]) -> Vec<EndpointSubset> {
    let Some(sel) = selector(svc) else {
        return Vec::new();
    };
    let spec = svc.spec.clone().unwrap_or_default();
    let publish_not_ready = spec.publish_not_ready_addresses.unwrap_or(false);
    let ports = spec.ports.unwrap_or_default();
    let mut out = Vec::new();
    for pod in pods {
        if !matches(sel, &pod.metadata.labels) || !should_be_in_endpoints(pod, publish_not_ready) {
            continue;
        }
        let Some(addr) = address(svc, pod) else {
            continue;
        };
        let ready = publish_not_ready || is_ready(pod);
        let subset = |port: Option<EndpointPort>| {
            let addrs = Some(vec![addr.clone()]);
            EndpointSubset {
                addresses: if ready { addrs.clone() } else { None },
                not_ready_addresses: if ready { None } else { addrs },
                ports: port.map(|p| vec![p]),
            }
        };
        if ports.is_empty() {
            // Only a headless service may have no ports: its addresses are
            // published bare (DNS needs no port).
            if spec.cluster_ip.as_deref() == Some("None") {
                out.push(subset(None));
            }
            continue;
        }
        for p in &ports {
            // A pod without the named port is not a backend for that port.
            let Some(number) = find_port(pod, p) else {
                continue;
            };
            out.push(subset(Some(EndpointPort {
                name: p.name.clone().filter(|n| !n.is_empty()),
                port: number,
                protocol: Some(protocol(p.protocol.as_deref()).to_string()),
                app_protocol: p.app_protocol.clone(),
            })));
        }
    }
    out
}

/// A port, comparable and ordered: name, number, protocol, appProtocol.
type PortKey = (String, i32, String, Option<String>);
/// An address: IP and the uid of the pod behind it.
type AddressKey = (String, String);

fn port_key(p: &EndpointPort) -> PortKey {
    (
        p.name.clone().unwrap_or_default(),
        p.port,
        protocol(p.protocol.as_deref()).to_string(),
        p.app_protocol.clone(),
    )
}

fn port_from_key((name, port, protocol, app_protocol): PortKey) -> EndpointPort {
    EndpointPort {
        name: Some(name).filter(|n| !n.is_empty()),
        port,
        protocol: Some(protocol),
        app_protocol,
    }
}

fn address_key(a: &EndpointAddress) -> AddressKey {
    let uid = a.target_ref.as_ref().and_then(|r| r.uid.clone());
    (a.ip.clone(), uid.unwrap_or_default())
}

/// Regroups subsets into their canonical form: for each distinct set of
/// (address, ready) pairs one subset with all the ports that set serves;
/// addresses sorted by IP then pod uid, ports by name then number, subsets
/// by their addresses. An address that is not ready for some port is not
/// ready for it whatever other subsets say. The same input in any order
/// gives the same output, and `repack(repack(x)) == repack(x)`, so a
/// rewritten object compares equal to what is stored.
pub fn repack(subsets: &[EndpointSubset]) -> Vec<EndpointSubset> {
    // `None` stands for "no ports" (a headless service's bare addresses).
    let mut by_port: BTreeMap<Option<PortKey>, BTreeMap<AddressKey, bool>> = BTreeMap::new();
    let mut addresses: BTreeMap<AddressKey, EndpointAddress> = BTreeMap::new();
    for ss in subsets {
        let ports: Vec<Option<PortKey>> = match ss.ports.as_deref() {
            None | Some([]) => vec![None],
            Some(ports) => ports.iter().map(|p| Some(port_key(p))).collect(),
        };
        let ready = ss.addresses.iter().flatten().map(|a| (a, true));
        let not_ready = ss.not_ready_addresses.iter().flatten().map(|a| (a, false));
        for (a, is_ready) in ready.chain(not_ready) {
            let key = address_key(a);
            addresses.entry(key.clone()).or_insert_with(|| a.clone());
            for port in &ports {
                by_port
                    .entry(port.clone())
                    .or_default()
                    .entry(key.clone())
                    .and_modify(|r| *r = *r && is_ready)
                    .or_insert(is_ready);
            }
        }
    }
    // Ports served by exactly the same (address, ready) set share a subset.
    let mut groups: BTreeMap<Vec<(AddressKey, bool)>, Vec<PortKey>> = BTreeMap::new();
    for (port, set) in by_port {
        let ports = groups.entry(set.into_iter().collect()).or_default();
        ports.extend(port);
    }
    let list = |v: Vec<EndpointAddress>| (!v.is_empty()).then_some(v);
    groups
        .into_iter()
        .map(|(set, ports)| {
            let (mut ready, mut not_ready) = (Vec::new(), Vec::new());
            for (key, is_ready) in set {
                if let Some(a) = addresses.get(&key) {
                    if is_ready {
                        ready.push(a.clone());
                    } else {
                        not_ready.push(a.clone());
                    }
                }
            }
            EndpointSubset {
                addresses: list(ready),
                not_ready_addresses: list(not_ready),
                ports: (!ports.is_empty()).then(|| ports.into_iter().map(port_from_key).collect()),
            }
        })
        .collect()
}

fn count(v: &Option<Vec<EndpointAddress>>) -> usize {
    v.as_ref().map_or(0, Vec::len)
}

/// Cuts the subsets down to [`MAX_CAPACITY`] addresses, keeping ready ones
/// first: not-ready addresses fill only the room the ready ones leave, and
/// when even the ready ones do not fit, each subset keeps its proportional
/// share of them (rounded up, within the room left) and no not-ready ones.
/// Returns whether anything was cut.
pub fn truncate(subsets: &mut Vec<EndpointSubset>) -> bool {
    let ready: usize = subsets.iter().map(|s| count(&s.addresses)).sum();
    let not_ready: usize = subsets.iter().map(|s| count(&s.not_ready_addresses)).sum();
    if ready + not_ready <= MAX_CAPACITY {
        return false;
    }
    let cut_ready = ready > MAX_CAPACITY;
    let (budget, total) = if cut_ready {
        (MAX_CAPACITY, ready)
    } else {
        (MAX_CAPACITY - ready, not_ready)
    };
    let mut room = budget;
    for ss in subsets.iter_mut() {
        if cut_ready {
            ss.not_ready_addresses = None;
        }
        let list = if cut_ready {
            &mut ss.addresses
        } else {
            &mut ss.not_ready_addresses
        };
        let n = count(list);
        // `total` > 0: more addresses than the capacity means some of the
        // kind being cut exist.
        let share = (n * budget).div_ceil(total.max(1)).min(room);
        if let Some(v) = list.as_mut() {
            v.truncate(share);
        }
        room -= n.min(share);
        if list.as_ref().is_some_and(Vec::is_empty) {
            *list = None;
        }
    }
    subsets.retain(|s| count(&s.addresses) + count(&s.not_ready_addresses) > 0);
    true
}

/// The labels of a service's Endpoints: the service's, plus
/// `service.kubernetes.io/headless` for a service without a cluster IP.
pub fn labels(svc: &Service) -> BTreeMap<String, String> {
    let mut labels = svc.metadata.labels.clone();
    if is_headless(svc) {
        labels.insert(HEADLESS_LABEL.into(), String::new());
    } else {
        labels.remove(HEADLESS_LABEL);
    }
    labels
}

/// What one sync should do about the Endpoints of a service.
#[derive(Clone, Debug, PartialEq)]
pub enum Plan {
    /// The service has no selector (or is `ExternalName`): its Endpoints,
    /// if any, belong to the user.
    Unmanaged,
    /// The Endpoints already say what they should.
    UpToDate,
    /// Create this object (nothing is cached).
    Create(Endpoints),
    /// Replace the cached object with this one (same `resourceVersion`).
    Update(Endpoints),
}

/// The plan for `svc` given the pods of its namespace and the Endpoints of
/// the same name now cached.
pub fn plan(svc: &Service, pods: &[Arc<Pod>], current: Option<&Endpoints>) -> Plan {
    if !managed(svc) {
        return Plan::Unmanaged;
    }
    let mut subsets = repack(&raw_subsets(svc, pods));
    let truncated = truncate(&mut subsets);
    if truncated {
        // Cutting may leave two subsets with the same addresses.
        subsets = repack(&subsets);
    }
    let labels = labels(svc);
    if let Some(cur) = current {
        let same = repack(cur.subsets.as_deref().unwrap_or_default()) == subsets
            && cur.metadata.labels == labels
            && cur.metadata.annotations.contains_key(OVER_CAPACITY) == truncated;
        if same {
            return Plan::UpToDate;
        }
    }
    let mut ep = current.cloned().unwrap_or_else(|| {
        let mut ep = Endpoints::default();
        ep.metadata.name = svc.metadata.name.clone();
        ep.metadata.namespace = svc.metadata.namespace.clone();
        ep
    });
    ep.subsets = (!subsets.is_empty()).then_some(subsets);
    ep.metadata.labels = labels;
    if truncated {
        ep.metadata
            .annotations
            .insert(OVER_CAPACITY.into(), "truncated".into());
    } else {
        ep.metadata.annotations.remove(OVER_CAPACITY);
    }
    ep.set_type_meta();
    if current.is_some() {
        Plan::Update(ep)
    } else {
        Plan::Create(ep)
    }
}

#[cfg(test)]
mod tests;

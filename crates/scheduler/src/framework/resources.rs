//! Resource arithmetic: what a pod requests and what a node offers.
//!
//! The scheduler never looks at limits or usage, only at *requests*: a node
//! fits a pod when the requests of the pods already on it plus the new pod's
//! requests stay within the node's `status.allocatable`. Quantities are
//! turned into integers once (CPU in millicores, everything else in whole
//! units, rounded up as upstream's `MilliValue`/`Value` do), so that the hot
//! path only adds and compares `i64`s.
//!
//! # A pod's requests (upstream's `resourcehelper.PodRequests`)
//! ```text
//! requests = max( sum(containers) + sum(sidecars),
//!                 max over init containers i of (init[i] + sum(sidecars before i)) )
//!            + spec.overhead
//! ```
//! Init containers run one at a time before the app containers, so only the
//! largest one counts. Sidecars (init containers with `restartPolicy: Always`)
//! keep running, so they add to everything that starts after them. Pod-level
//! requests (`spec.resources.requests`), when set, replace the container sum
//! for `cpu` and `memory`.
//!
//! The *non-zero* requests feed scoring only: a container that does not
//! mention `cpu` (or `memory`) counts as 100m (or 200 MiB), so that a node
//! full of best-effort pods does not look empty to the spreading scores.

use std::collections::BTreeMap;

use api_types::core::v1::{Container, PodSpec};
use api_types::labels::is_qualified_name;
use api_types::quantity::Quantity;

/// `cpu`, measured in millicores.
pub const CPU: &str = "cpu";
/// `memory`, in bytes.
pub const MEMORY: &str = "memory";
/// `ephemeral-storage`, in bytes.
pub const EPHEMERAL_STORAGE: &str = "ephemeral-storage";
/// `pods`: how many pods a node accepts (allocatable only).
pub const PODS: &str = "pods";

/// CPU counted for a container that requests none (upstream's `DefaultMilliCPURequest`).
pub const DEFAULT_MILLI_CPU_REQUEST: i64 = 100;
/// Memory counted for a container that requests none (upstream's `DefaultMemoryRequest`, 200 MiB).
pub const DEFAULT_MEMORY_REQUEST: i64 = 200 * 1024 * 1024;

/// A set of resource amounts (upstream's `framework.Resource`).
///
/// Used both for what a node offers (allocatable, where `pods` is the pod
/// limit) and for what pods request (where `pods` stays 0).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Resources {
    /// Millicores.
    pub milli_cpu: i64,
    /// Bytes.
    pub memory: i64,
    /// Bytes.
    pub ephemeral_storage: i64,
    /// Allowed pod count (allocatable only).
    pub pods: i64,
    /// Extended, hugepages and other scalar resources by name, in whole units.
    pub scalar: BTreeMap<String, i64>,
}

impl Resources {
    /// Converts a resource list (`requests`, `allocatable`, `overhead`).
    /// Unparsable quantities count as zero and names that are neither
    /// native nor scalar resources are ignored, as upstream does.
    pub fn from_list(list: &BTreeMap<String, Quantity>) -> Self {
        let mut r = Resources::default();
        for (name, quantity) in list {
            r.add_quantity(name, quantity);
        }
        r
    }

    fn add_quantity(&mut self, name: &str, quantity: &Quantity) {
        match name {
            CPU => self.milli_cpu = self.milli_cpu.saturating_add(milli_value(quantity)),
            MEMORY => self.memory = self.memory.saturating_add(value(quantity)),
            EPHEMERAL_STORAGE => {
                self.ephemeral_storage = self.ephemeral_storage.saturating_add(value(quantity));
            }
            PODS => self.pods = self.pods.saturating_add(value(quantity)),
            other if is_scalar_resource_name(other) => {
                let slot = self.scalar.entry(other.to_owned()).or_default();
                *slot = slot.saturating_add(value(quantity));
            }
            _ => {}
        }
    }

    /// `self += other`, saturating.
    pub fn add(&mut self, other: &Resources) {
        self.milli_cpu = self.milli_cpu.saturating_add(other.milli_cpu);
        self.memory = self.memory.saturating_add(other.memory);
        self.ephemeral_storage = self
            .ephemeral_storage
            .saturating_add(other.ephemeral_storage);
        self.pods = self.pods.saturating_add(other.pods);
        for (name, v) in &other.scalar {
            let slot = self.scalar.entry(name.clone()).or_default();
            *slot = slot.saturating_add(*v);
        }
    }

    /// `self -= other`, saturating; scalar entries that reach zero are
    /// dropped so that a node's aggregate does not grow with every resource
    /// name it has ever seen.
    pub fn sub(&mut self, other: &Resources) {
        self.milli_cpu = self.milli_cpu.saturating_sub(other.milli_cpu);
        self.memory = self.memory.saturating_sub(other.memory);
        self.ephemeral_storage = self
            .ephemeral_storage
            .saturating_sub(other.ephemeral_storage);
        self.pods = self.pods.saturating_sub(other.pods);
        for (name, v) in &other.scalar {
            if let Some(slot) = self.scalar.get_mut(name) {
                *slot = slot.saturating_sub(*v);
                if *slot == 0 {
                    self.scalar.remove(name);
                }
            }
        }
    }

    /// Each amount becomes the larger of `self` and `other` (upstream's `SetMaxResource`).
    pub fn set_max(&mut self, other: &Resources) {
        self.milli_cpu = self.milli_cpu.max(other.milli_cpu);
        self.memory = self.memory.max(other.memory);
        self.ephemeral_storage = self.ephemeral_storage.max(other.ephemeral_storage);
        self.pods = self.pods.max(other.pods);
        for (name, v) in &other.scalar {
            let slot = self.scalar.entry(name.clone()).or_default();
            *slot = (*slot).max(*v);
        }
    }

    /// A scalar amount, zero when absent.
    pub fn scalar(&self, name: &str) -> i64 {
        self.scalar.get(name).copied().unwrap_or(0)
    }
}

/// What one pod asks of a node, computed once when the pod enters the cache
/// or the scheduling cycle.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PodRequests {
    /// The requests as `NodeResourcesFit` checks them.
    pub requests: Resources,
    /// CPU with the 100m default for containers that do not mention `cpu`.
    pub non_zero_milli_cpu: i64,
    /// Memory with the 200 MiB default for containers that do not mention `memory`.
    pub non_zero_memory: i64,
}

impl PodRequests {
    /// The requests of a pod with this spec (see the module docs for the rules).
    pub fn of(spec: &PodSpec) -> Self {
        let mut requests = aggregate(spec, |c| Resources::from_list(container_requests(c)));
        let mut non_zero = aggregate(spec, non_zero_container_requests);

        // Pod-level requests (`spec.resources`, KEP-2837) replace the
        // container sum for the resources they name.
        if let Some(pod_level) = spec.resources.as_ref().and_then(|r| r.requests.as_ref()) {
            if let Some(q) = pod_level.get(CPU) {
                requests.milli_cpu = milli_value(q);
                non_zero.milli_cpu = milli_value(q);
            }
            if let Some(q) = pod_level.get(MEMORY) {
                requests.memory = value(q);
                non_zero.memory = value(q);
            }
        }
        if let Some(overhead) = &spec.overhead {
            let overhead = Resources::from_list(overhead);
            requests.add(&overhead);
            non_zero.add(&overhead);
        }
        requests.pods = 0;
        PodRequests {
            requests,
            non_zero_milli_cpu: non_zero.milli_cpu,
            non_zero_memory: non_zero.memory,
        }
    }
}

/// `max(sum(containers) + sum(sidecars), each init container + the sidecars started before it)`.
fn aggregate(spec: &PodSpec, per_container: impl Fn(&Container) -> Resources) -> Resources {
    let mut sum = Resources::default();
    for c in &spec.containers {
        sum.add(&per_container(c));
    }
    let mut sidecars = Resources::default();
    let mut init_peak = Resources::default();
    for c in spec.init_containers.iter().flatten() {
        let mut r = per_container(c);
        if is_sidecar(c) {
            // A sidecar keeps running next to the app containers and next to
            // every init container that starts after it.
            sum.add(&r);
            sidecars.add(&r);
            init_peak.set_max(&sidecars);
        } else {
            r.add(&sidecars);
            init_peak.set_max(&r);
        }
    }
    sum.set_max(&init_peak);
    sum
}

fn is_sidecar(c: &Container) -> bool {
    c.restart_policy.as_deref() == Some("Always")
}

fn container_requests(c: &Container) -> &BTreeMap<String, Quantity> {
    static EMPTY: BTreeMap<String, Quantity> = BTreeMap::new();
    c.resources
        .as_ref()
        .and_then(|r| r.requests.as_ref())
        .unwrap_or(&EMPTY)
}

/// A container's requests with the scoring defaults for a *missing*
/// `cpu`/`memory` entry (an explicit `0` stays zero, as upstream).
fn non_zero_container_requests(c: &Container) -> Resources {
    let list = container_requests(c);
    let mut r = Resources::from_list(list);
    if !list.contains_key(CPU) {
        r.milli_cpu = DEFAULT_MILLI_CPU_REQUEST;
    }
    if !list.contains_key(MEMORY) {
        r.memory = DEFAULT_MEMORY_REQUEST;
    }
    r
}

/// Whether the scheduler accounts for `name` as a scalar resource
/// (upstream's `IsScalarResourceName`): extended resources
/// (`example.com/gpu`), hugepages (`hugepages-2Mi`), attachable volumes and
/// `kubernetes.io/`-prefixed native resources. Plain unknown names such as
/// `storage` are not.
pub fn is_scalar_resource_name(name: &str) -> bool {
    name.starts_with("hugepages-")
        || name.starts_with("attachable-volumes-")
        || name.contains("kubernetes.io/")
        || is_extended_resource_name(name)
}

/// An extended resource: has a domain prefix outside `kubernetes.io/`, is
/// not a quota `requests.` name, and `requests.<name>` is a qualified name.
fn is_extended_resource_name(name: &str) -> bool {
    name.contains('/')
        && !name.contains("kubernetes.io/")
        && !name.starts_with("requests.")
        && is_qualified_name(&format!("requests.{name}")).is_empty()
}

fn milli_value(q: &Quantity) -> i64 {
    q.parse().map(|p| p.milli_value()).unwrap_or(0)
}

fn value(q: &Quantity) -> i64 {
    q.parse().map(|p| p.value()).unwrap_or(0)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::framework::testing::{container, init_container, sidecar};

    fn spec(containers: Vec<Container>, init: Vec<Container>) -> PodSpec {
        PodSpec {
            containers,
            init_containers: (!init.is_empty()).then_some(init),
            ..Default::default()
        }
    }

    #[test]
    fn sums_regular_containers() {
        let r = PodRequests::of(&spec(
            vec![container("250m", "64Mi"), container("0.5", "1Gi")],
            vec![],
        ));
        assert_eq!(r.requests.milli_cpu, 750);
        assert_eq!(r.requests.memory, (64 << 20) + (1 << 30));
        assert_eq!(r.non_zero_milli_cpu, 750);
    }

    #[test]
    fn init_containers_count_by_their_maximum() {
        // Containers sum to 300m/300Mi; the big init container needs 1 CPU
        // but little memory: each resource takes its own maximum.
        let r = PodRequests::of(&spec(
            vec![container("100m", "100Mi"), container("200m", "200Mi")],
            vec![init_container("1", "50Mi"), init_container("500m", "10Mi")],
        ));
        assert_eq!(r.requests.milli_cpu, 1000);
        assert_eq!(r.requests.memory, 300 << 20);
    }

    #[test]
    fn sidecars_add_to_the_sum_and_to_later_init_containers() {
        // sidecar 100m, then an init container of 1 CPU that runs next to
        // it (1.1 CPU), then the app container 500m next to the sidecar (600m).
        let r = PodRequests::of(&spec(
            vec![container("500m", "100Mi")],
            vec![sidecar("100m", "10Mi"), init_container("1", "10Mi")],
        ));
        assert_eq!(r.requests.milli_cpu, 1100);
        assert_eq!(r.requests.memory, 110 << 20);

        // An init container *before* the sidecar does not run next to it.
        let r = PodRequests::of(&spec(
            vec![container("500m", "100Mi")],
            vec![init_container("550m", "10Mi"), sidecar("100m", "10Mi")],
        ));
        assert_eq!(r.requests.milli_cpu, 600);
    }

    #[test]
    fn overhead_is_added_on_top() {
        let mut s = spec(vec![container("100m", "100Mi")], vec![]);
        s.overhead = Some(BTreeMap::from([
            (CPU.to_owned(), Quantity::from("250m")),
            (MEMORY.to_owned(), Quantity::from("120Mi")),
        ]));
        let r = PodRequests::of(&s);
        assert_eq!(r.requests.milli_cpu, 350);
        assert_eq!(r.requests.memory, 220 << 20);
        assert_eq!(r.non_zero_milli_cpu, 350);
    }

    #[test]
    fn non_zero_defaults_apply_only_to_missing_entries() {
        let mut best_effort = container("0", "0");
        best_effort.resources = None;
        let r = PodRequests::of(&spec(vec![best_effort, container("0", "1Gi")], vec![]));
        assert_eq!(r.requests.milli_cpu, 0);
        assert_eq!(r.requests.memory, 1 << 30);
        // 100m for the container without requests, 0 for the explicit "0".
        assert_eq!(r.non_zero_milli_cpu, DEFAULT_MILLI_CPU_REQUEST);
        assert_eq!(r.non_zero_memory, DEFAULT_MEMORY_REQUEST + (1 << 30));
    }

    #[test]
    fn pod_level_requests_replace_the_container_sum() {
        let mut s = spec(vec![container("100m", "100Mi")], vec![]);
        s.resources = Some(api_types::core::v1::ResourceRequirements {
            requests: Some(BTreeMap::from([(CPU.to_owned(), Quantity::from("2"))])),
            ..Default::default()
        });
        let r = PodRequests::of(&s);
        assert_eq!(r.requests.milli_cpu, 2000);
        assert_eq!(r.requests.memory, 100 << 20);
    }

    #[test]
    fn scalar_resource_names() {
        assert!(is_scalar_resource_name("example.com/gpu"));
        assert!(is_scalar_resource_name("nvidia.com/gpu"));
        assert!(is_scalar_resource_name("hugepages-2Mi"));
        assert!(is_scalar_resource_name("kubernetes.io/batch-cpu"));
        assert!(is_scalar_resource_name("attachable-volumes-csi-x"));
        assert!(!is_scalar_resource_name("storage"));
        assert!(!is_scalar_resource_name("requests.example.com/gpu"));
        assert!(!is_scalar_resource_name("example.com/bad key"));

        let r = Resources::from_list(&BTreeMap::from([
            ("example.com/gpu".to_owned(), Quantity::from("2")),
            ("storage".to_owned(), Quantity::from("10Gi")),
            (PODS.to_owned(), Quantity::from("110")),
            (CPU.to_owned(), Quantity::from("not-a-quantity")),
        ]));
        assert_eq!(r.scalar("example.com/gpu"), 2);
        assert_eq!(r.scalar.len(), 1);
        assert_eq!(r.pods, 110);
        assert_eq!(r.milli_cpu, 0);
    }

    #[test]
    fn sub_drops_scalars_that_reach_zero() {
        let mut a = Resources::from_list(&BTreeMap::from([(
            "example.com/gpu".to_owned(),
            Quantity::from("1"),
        )]));
        let b = a.clone();
        a.sub(&b);
        assert!(a.scalar.is_empty());
        assert_eq!(a, Resources::default());
    }
}

//! A container's requests and limits turned into Linux cgroup settings, and
//! the cgroup a pod lives in.
//!
//! This mirrors upstream's `generateLinuxContainerResources`
//! (`pkg/kubelet/kuberuntime/kuberuntime_container_linux.go`), the share and
//! quota helpers of `pkg/kubelet/cm`, and `GetContainerOOMScoreAdjust`
//! (`pkg/kubelet/qos/policy.go`).
//!
//! # How requests and limits become cgroup knobs
//! - **CPU request → `cpu.shares`** (cgroup v1; runtimes convert to
//!   `cpu.weight` on v2): a *relative* weight used only when CPUs are
//!   contended. 1 CPU = 1024 shares.
//! - **CPU limit → CFS quota**: at most `quota` µs of CPU time per `period`
//!   (100 ms) — a hard cap that throttles the container.
//! - **Memory limit → `memory.limit_in_bytes`** (`memory.max`): above it the
//!   kernel OOM-kills inside the container.
//! - **Memory request → `oom_score_adj`**: which processes the kernel kills
//!   first when the whole *node* runs out of memory, ordered by QoS class.
//!
//! Quantities the apiserver validated are assumed to parse; one that does
//! not counts as unset.

use api_types::core::v1::qos::{BEST_EFFORT, BURSTABLE, GUARANTEED, qos_class};
use api_types::core::v1::{Container, Pod};
use api_types::quantity::ParsedQuantity;
use cri::v1::LinuxContainerResources;

/// The fewest shares a cgroup may have (the kernel's minimum).
pub const MIN_SHARES: i64 = 2;
/// The most shares a cgroup may have (the kernel's maximum).
pub const MAX_SHARES: i64 = 262_144;
/// Shares that stand for one whole CPU.
pub const SHARES_PER_CPU: i64 = 1024;
/// The CFS period, in µs, the kubelet uses by default (100 ms).
pub const QUOTA_PERIOD: i64 = 100_000;
/// The smallest CFS quota, in µs, the kernel accepts (1 ms).
pub const MIN_QUOTA_PERIOD: i64 = 1000;

/// `oom_score_adj` of Guaranteed containers and node-critical pods: just
/// above the kubelet's and kube-proxy's own -999.
pub const GUARANTEED_OOM_SCORE_ADJ: i64 = -997;
/// `oom_score_adj` of BestEffort containers: the kernel's first victims.
pub const BEST_EFFORT_OOM_SCORE_ADJ: i64 = 1000;

/// Priority class name of pods that must be the last to go.
const SYSTEM_NODE_CRITICAL: &str = "system-node-critical";
/// Priorities from here up are `system-*-critical` (upstream's `SystemCriticalPriority`).
const SYSTEM_CRITICAL_PRIORITY: i32 = 2_000_000_000;

/// `cpu.shares` for a CPU request in millicores: `milli * 1024 / 1000`,
/// kept within the kernel's [`MIN_SHARES`]..=[`MAX_SHARES`]. No request (0)
/// gets the minimum, so a BestEffort container only runs on idle CPU.
pub fn milli_cpu_to_shares(milli_cpu: i64) -> i64 {
    if milli_cpu <= 0 {
        return MIN_SHARES;
    }
    let shares = i128::from(milli_cpu) * i128::from(SHARES_PER_CPU) / 1000;
    shares.clamp(i128::from(MIN_SHARES), i128::from(MAX_SHARES)) as i64
}

/// CFS quota for a CPU limit in millicores over `period` µs:
/// `milli * period / 1000`, at least [`MIN_QUOTA_PERIOD`]. No limit (0)
/// gives 0, which runtimes read as "unlimited".
pub fn milli_cpu_to_quota(milli_cpu: i64, period: i64) -> i64 {
    if milli_cpu == 0 {
        return 0;
    }
    let quota = i128::from(milli_cpu) * i128::from(period) / 1000;
    quota.clamp(i128::from(MIN_QUOTA_PERIOD), i128::from(i64::MAX)) as i64
}

/// One quantity of a resource map, parsed; `None` when absent or invalid.
fn quantity(
    map: Option<&std::collections::BTreeMap<String, api_types::quantity::Quantity>>,
    name: &str,
) -> Option<ParsedQuantity> {
    map?.get(name)?.parse().ok()
}

/// The container's memory request in bytes, defaulted to its limit as the
/// apiserver does; 0 when neither is set.
fn memory_request(container: &Container) -> i64 {
    let res = container.resources.as_ref();
    quantity(res.and_then(|r| r.requests.as_ref()), "memory")
        .or_else(|| quantity(res.and_then(|r| r.limits.as_ref()), "memory"))
        .map_or(0, |q| q.value())
}

/// The cgroup settings of `container` in a pod of QoS class `qos`
/// (`Guaranteed`, `Burstable` or `BestEffort`, see
/// [`qos_class`]) on a node with `node_memory_capacity` bytes of memory.
///
/// - `cpu_shares` from the CPU request; with no request but a limit, from
///   the limit (API defaulting, repeated here for pods created before it);
///   with neither, [`MIN_SHARES`].
/// - `cpu_period` is always [`QUOTA_PERIOD`], as upstream sets it whenever
///   CFS quota is enabled (the default); `cpu_quota` is 0 (unlimited)
///   without a CPU limit.
/// - `memory_limit_in_bytes` from the memory limit, 0 (unlimited) without.
/// - `oom_score_adj` from the QoS class, see [`oom_score_adj`].
///
/// # Caveats
/// `oom_score_adj` here knows only the QoS class; for node-critical pods and
/// sidecars upstream adjusts it further. Callers holding the pod should
/// overwrite it with [`container_oom_score_adj`]. Hugepage limits and the
/// cgroup v2 `memory.oom.group` knob depend on the host and are left to the
/// caller.
pub fn linux_resources(
    container: &Container,
    qos: &str,
    node_memory_capacity: i64,
) -> LinuxContainerResources {
    let res = container.resources.as_ref();
    let requests = res.and_then(|r| r.requests.as_ref());
    let limits = res.and_then(|r| r.limits.as_ref());
    let cpu_limit = quantity(limits, "cpu").map_or(0, |q| q.milli_value());
    // Upstream looks at whether the request is *present*: an explicit "0"
    // request gets the minimum even with a limit.
    let cpu_request = match requests.and_then(|m| m.get("cpu")) {
        Some(q) => q.parse().map_or(0, |p| p.milli_value()),
        None => cpu_limit,
    };
    LinuxContainerResources {
        cpu_period: QUOTA_PERIOD,
        cpu_quota: milli_cpu_to_quota(cpu_limit, QUOTA_PERIOD),
        cpu_shares: milli_cpu_to_shares(cpu_request),
        memory_limit_in_bytes: quantity(limits, "memory").map_or(0, |q| q.value().max(0)),
        oom_score_adj: oom_score_adj(qos, memory_request(container), node_memory_capacity),
        ..Default::default()
    }
}

/// `oom_score_adj` for a container of a pod in QoS class `qos` that requests
/// `memory_request` bytes on a node with `memory_capacity` bytes.
///
/// Guaranteed → -997 (after the kubelet itself), BestEffort → 1000 (first
/// to go). Burstable sits in between: `1000 - 1000 * request / capacity`,
/// so a container requesting 10% of the node gets 900 and is only a prime
/// victim once it uses more than it asked for. The result is kept within
/// 3..=999 so that Burstable never ties with either neighbour class.
pub fn oom_score_adj(qos: &str, memory_request: i64, memory_capacity: i64) -> i64 {
    match qos {
        GUARANTEED => GUARANTEED_OOM_SCORE_ADJ,
        BEST_EFFORT => BEST_EFFORT_OOM_SCORE_ADJ,
        _ => clamp_burstable(burstable_score(memory_request, memory_capacity)),
    }
}

/// The raw Burstable formula. A zero capacity (unknown) counts the request
/// as nothing, where upstream would divide by zero.
fn burstable_score(memory_request: i64, memory_capacity: i64) -> i64 {
    if memory_capacity <= 0 {
        return BEST_EFFORT_OOM_SCORE_ADJ;
    }
    let used = i128::from(memory_request) * 1000 / i128::from(memory_capacity);
    (1000 - used).clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
}

fn clamp_burstable(score: i64) -> i64 {
    // A Guaranteed pod using all the node's memory scores about 10 - 997;
    // keep Burstable above that, and just below BestEffort.
    let floor = 1000 + GUARANTEED_OOM_SCORE_ADJ;
    if score < floor {
        floor
    } else if score == BEST_EFFORT_OOM_SCORE_ADJ {
        score - 1
    } else {
        score
    }
}

/// Whether `pod` is node-critical: priority class `system-node-critical`
/// and either a static or mirror pod or of critical priority.
fn is_node_critical(pod: &Pod) -> bool {
    let Some(spec) = &pod.spec else {
        return false;
    };
    if spec.priority_class_name.as_deref() != Some(SYSTEM_NODE_CRITICAL) {
        return false;
    }
    let annotations = &pod.metadata.annotations;
    // Static pods carry `kubernetes.io/config.source` other than `api`;
    // their mirror pods on the apiserver carry `kubernetes.io/config.mirror`.
    let is_static = annotations
        .get("kubernetes.io/config.source")
        .is_some_and(|s| s != "api");
    let is_mirror = annotations.contains_key("kubernetes.io/config.mirror");
    let critical_priority = spec.priority.is_some_and(|p| p >= SYSTEM_CRITICAL_PRIORITY);
    is_static || is_mirror || critical_priority
}

/// `oom_score_adj` of `container` with everything upstream considers:
/// node-critical pods score like Guaranteed ones, and a sidecar (an init
/// container with `restartPolicy: Always`) never scores above the regular
/// container with the smallest memory request, so that it outlives the
/// containers it serves.
///
/// # Caveats
/// Pod-level resources (`spec.resources`) are not taken into account.
pub fn container_oom_score_adj(pod: &Pod, container: &Container, memory_capacity: i64) -> i64 {
    let Some(spec) = &pod.spec else {
        return oom_score_adj(BEST_EFFORT, 0, memory_capacity);
    };
    if is_node_critical(pod) {
        return GUARANTEED_OOM_SCORE_ADJ;
    }
    let qos = qos_class(spec);
    if qos != BURSTABLE {
        return oom_score_adj(qos, 0, memory_capacity);
    }
    let mut score = burstable_score(memory_request(container), memory_capacity);
    let is_sidecar = container.restart_policy.as_deref() == Some("Always")
        && spec
            .init_containers
            .iter()
            .flatten()
            .any(|c| c.name == container.name);
    if is_sidecar {
        if let Some(min) = spec.containers.iter().map(memory_request).min() {
            score = score.min(burstable_score(min, memory_capacity));
        }
    }
    clamp_burstable(score)
}

/// The cgroup (cgroupfs driver notation) of a pod's sandbox and containers,
/// with upstream's default `--cgroups-per-qos` layout under `cgroup_root`:
///
/// ```text
/// <root>/kubepods/pod<uid>              Guaranteed
/// <root>/kubepods/burstable/pod<uid>    Burstable
/// <root>/kubepods/besteffort/pod<uid>   BestEffort
/// ```
///
/// Guaranteed pods sit directly under `kubepods`, so their limits are the
/// only ones that bind them; the two QoS cgroups let the kubelet squeeze
/// Burstable and BestEffort pods as a group. An unknown class is treated as
/// Burstable.
pub fn pod_cgroup_parent(cgroup_root: &str, qos: &str, pod_uid: &str) -> String {
    let root = cgroup_root.trim_end_matches('/');
    let qos_dir = match qos {
        GUARANTEED => "",
        BEST_EFFORT => "/besteffort",
        _ => "/burstable",
    };
    format!("{root}/kubepods{qos_dir}/pod{pod_uid}")
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    const GIB: i64 = 1 << 30;

    fn container(resources: Value) -> Container {
        serde_json::from_value(json!({"name": "c", "resources": resources})).expect("container")
    }

    fn pod(spec: Value) -> Pod {
        serde_json::from_value(json!({"metadata": {"name": "p", "namespace": "ns"}, "spec": spec}))
            .expect("pod")
    }

    #[test]
    fn shares_follow_the_cpu_request() {
        assert_eq!(milli_cpu_to_shares(0), MIN_SHARES);
        assert_eq!(milli_cpu_to_shares(1), MIN_SHARES, "1m is 1.024 shares");
        assert_eq!(milli_cpu_to_shares(2), MIN_SHARES);
        assert_eq!(milli_cpu_to_shares(3), 3);
        assert_eq!(milli_cpu_to_shares(100), 102);
        assert_eq!(milli_cpu_to_shares(250), 256);
        assert_eq!(milli_cpu_to_shares(1000), 1024);
        assert_eq!(milli_cpu_to_shares(1500), 1536);
        assert_eq!(milli_cpu_to_shares(256_000), MAX_SHARES);
        assert_eq!(milli_cpu_to_shares(1_000_000), MAX_SHARES);
        assert_eq!(milli_cpu_to_shares(i64::MAX), MAX_SHARES);
        assert_eq!(milli_cpu_to_shares(-5), MIN_SHARES);
    }

    #[test]
    fn quota_follows_the_cpu_limit() {
        assert_eq!(milli_cpu_to_quota(0, QUOTA_PERIOD), 0);
        assert_eq!(milli_cpu_to_quota(1, QUOTA_PERIOD), MIN_QUOTA_PERIOD);
        assert_eq!(milli_cpu_to_quota(10, QUOTA_PERIOD), MIN_QUOTA_PERIOD);
        assert_eq!(milli_cpu_to_quota(11, QUOTA_PERIOD), 1100);
        assert_eq!(milli_cpu_to_quota(250, QUOTA_PERIOD), 25_000);
        assert_eq!(milli_cpu_to_quota(1000, QUOTA_PERIOD), 100_000);
        assert_eq!(milli_cpu_to_quota(2500, QUOTA_PERIOD), 250_000);
        assert_eq!(milli_cpu_to_quota(500, 50_000), 25_000);
    }

    #[test]
    fn cpu_and_memory_settings() {
        let c = container(json!({
            "requests": {"cpu": "250m", "memory": "64Mi"},
            "limits": {"cpu": "1500m", "memory": "128Mi"}
        }));
        let r = linux_resources(&c, BURSTABLE, 8 * GIB);
        assert_eq!(r.cpu_shares, 256);
        assert_eq!(r.cpu_period, 100_000);
        assert_eq!(r.cpu_quota, 150_000);
        assert_eq!(r.memory_limit_in_bytes, 128 << 20);
        assert_eq!(r.oom_score_adj, 1000 - (1000 * (64 << 20)) / (8 * GIB));
        assert!(r.cpuset_cpus.is_empty() && r.hugepage_limits.is_empty());
    }

    #[test]
    fn a_missing_cpu_request_defaults_to_the_limit() {
        let c = container(json!({"limits": {"cpu": "2", "memory": "1Gi"}}));
        let r = linux_resources(&c, GUARANTEED, 8 * GIB);
        assert_eq!(r.cpu_shares, 2048);
        assert_eq!(r.cpu_quota, 200_000);
        assert_eq!(r.memory_limit_in_bytes, GIB);
        assert_eq!(r.oom_score_adj, GUARANTEED_OOM_SCORE_ADJ);

        // An explicit zero request is a request: the minimum, limit or not.
        let c = container(json!({"requests": {"cpu": "0"}, "limits": {"cpu": "2"}}));
        assert_eq!(
            linux_resources(&c, BURSTABLE, 8 * GIB).cpu_shares,
            MIN_SHARES
        );
    }

    #[test]
    fn no_resources_at_all() {
        let c: Container = serde_json::from_value(json!({"name": "c"})).expect("container");
        let r = linux_resources(&c, BEST_EFFORT, 8 * GIB);
        assert_eq!(r.cpu_shares, MIN_SHARES);
        assert_eq!(
            r.cpu_period, QUOTA_PERIOD,
            "set even without a limit, as upstream"
        );
        assert_eq!(r.cpu_quota, 0);
        assert_eq!(r.memory_limit_in_bytes, 0);
        assert_eq!(r.oom_score_adj, BEST_EFFORT_OOM_SCORE_ADJ);
    }

    #[test]
    fn a_request_without_a_limit_sets_no_quota() {
        let c = container(json!({"requests": {"cpu": "100m"}}));
        let r = linux_resources(&c, BURSTABLE, 8 * GIB);
        assert_eq!(r.cpu_shares, 102);
        assert_eq!(r.cpu_quota, 0);
        assert_eq!(r.memory_limit_in_bytes, 0);
        assert_eq!(
            r.oom_score_adj, 999,
            "no memory request: just below BestEffort"
        );
    }

    #[test]
    fn invalid_quantities_count_as_unset() {
        let c = container(json!({"requests": {"cpu": "lots"}, "limits": {"memory": "much"}}));
        let r = linux_resources(&c, BURSTABLE, 8 * GIB);
        assert_eq!(r.cpu_shares, MIN_SHARES);
        assert_eq!(r.memory_limit_in_bytes, 0);
    }

    #[test]
    fn oom_score_adj_by_qos() {
        let cap = 10 * GIB;
        assert_eq!(oom_score_adj(GUARANTEED, GIB, cap), -997);
        assert_eq!(oom_score_adj(BEST_EFFORT, 0, cap), 1000);
        // Burstable: 1000 - 1000 * request / capacity ...
        assert_eq!(oom_score_adj(BURSTABLE, GIB, cap), 900);
        assert_eq!(oom_score_adj(BURSTABLE, 5 * GIB, cap), 500);
        assert_eq!(oom_score_adj(BURSTABLE, GIB / 2, cap), 950);
        // ... never as low as Guaranteed ...
        let dec = 10_000_000_000;
        assert_eq!(oom_score_adj(BURSTABLE, dec, dec), 3);
        assert_eq!(oom_score_adj(BURSTABLE, 998 * dec / 1000, dec), 3);
        assert_eq!(oom_score_adj(BURSTABLE, 997 * dec / 1000, dec), 3);
        assert_eq!(oom_score_adj(BURSTABLE, 996 * dec / 1000, dec), 4);
        assert_eq!(oom_score_adj(BURSTABLE, 2 * dec, dec), 3);
        // ... nor as high as BestEffort.
        assert_eq!(oom_score_adj(BURSTABLE, 0, cap), 999);
        assert_eq!(oom_score_adj(BURSTABLE, 1, cap), 999);
        assert_eq!(oom_score_adj(BURSTABLE, dec / 1000, dec), 999);
        assert_eq!(oom_score_adj(BURSTABLE, 2 * dec / 1000, dec), 998);
        // Unknown capacity does not panic.
        assert_eq!(oom_score_adj(BURSTABLE, GIB, 0), 999);
        // Huge requests do not overflow.
        assert_eq!(oom_score_adj(BURSTABLE, i64::MAX, cap), 3);
    }

    #[test]
    fn the_burstable_memory_request_defaults_to_the_limit() {
        let c = container(json!({"requests": {"cpu": "1"}, "limits": {"memory": "2Gi"}}));
        assert_eq!(linux_resources(&c, BURSTABLE, 8 * GIB).oom_score_adj, 750);
    }

    #[test]
    fn container_oom_score_adj_uses_the_pod() {
        let cap = 8 * GIB;
        let guaranteed = pod(json!({"containers": [
            {"name": "c", "resources": {"limits": {"cpu": "1", "memory": "1Gi"}}}
        ]}));
        let c = &guaranteed.spec.as_ref().expect("spec").containers[0];
        assert_eq!(container_oom_score_adj(&guaranteed, c, cap), -997);

        let best_effort = pod(json!({"containers": [{"name": "c"}]}));
        let c = &best_effort.spec.as_ref().expect("spec").containers[0];
        assert_eq!(container_oom_score_adj(&best_effort, c, cap), 1000);

        let burstable = pod(json!({"containers": [
            {"name": "c", "resources": {"requests": {"memory": "2Gi"}}}
        ]}));
        let c = &burstable.spec.as_ref().expect("spec").containers[0];
        assert_eq!(container_oom_score_adj(&burstable, c, cap), 750);
        assert_eq!(
            container_oom_score_adj(&burstable, c, cap),
            linux_resources(c, BURSTABLE, cap).oom_score_adj
        );
    }

    #[test]
    fn node_critical_pods_score_like_guaranteed() {
        let cap = 8 * GIB;
        let mut p = pod(json!({
            "priorityClassName": "system-node-critical",
            "priority": 2_000_001_000,
            "containers": [{"name": "c", "resources": {"requests": {"memory": "100Mi"}}}]
        }));
        let c = p.spec.as_ref().expect("spec").containers[0].clone();
        assert_eq!(container_oom_score_adj(&p, &c, cap), -997);

        // The class name alone is not enough ...
        p.spec.as_mut().expect("spec").priority = None;
        assert_ne!(container_oom_score_adj(&p, &c, cap), -997);
        // ... but static and mirror pods are critical whatever their priority.
        p.metadata
            .annotations
            .insert("kubernetes.io/config.source".into(), "file".into());
        assert_eq!(container_oom_score_adj(&p, &c, cap), -997);
        p.metadata.annotations.clear();
        p.metadata
            .annotations
            .insert("kubernetes.io/config.mirror".into(), "hash".into());
        assert_eq!(container_oom_score_adj(&p, &c, cap), -997);
        p.metadata.annotations.clear();
        p.metadata
            .annotations
            .insert("kubernetes.io/config.source".into(), "api".into());
        assert_ne!(container_oom_score_adj(&p, &c, cap), -997);

        // A critical priority under another class name is not node-critical.
        let other = pod(json!({
            "priorityClassName": "system-cluster-critical",
            "priority": 2_000_000_000,
            "containers": [{"name": "c", "resources": {"requests": {"memory": "100Mi"}}}]
        }));
        assert_ne!(container_oom_score_adj(&other, &c, cap), -997);
    }

    #[test]
    fn sidecars_score_no_higher_than_the_smallest_app_container() {
        let cap = 10 * GIB;
        let p = pod(json!({
            "initContainers": [
                {"name": "proxy", "restartPolicy": "Always",
                 "resources": {"requests": {"memory": "100Mi"}}},
                {"name": "setup", "resources": {"requests": {"memory": "100Mi"}}}
            ],
            "containers": [
                {"name": "big", "resources": {"requests": {"memory": "4Gi"}}},
                {"name": "small", "resources": {"requests": {"memory": "1Gi"}}}
            ]
        }));
        let spec = p.spec.as_ref().expect("spec");
        let proxy = &spec.init_containers.as_ref().expect("init")[0];
        let setup = &spec.init_containers.as_ref().expect("init")[1];
        assert_eq!(container_oom_score_adj(&p, &spec.containers[0], cap), 600);
        assert_eq!(container_oom_score_adj(&p, &spec.containers[1], cap), 900);
        // 100Mi alone would give 991; the sidecar follows "small" down to 900.
        assert_eq!(container_oom_score_adj(&p, proxy, cap), 900);
        // A plain init container keeps its own score.
        assert_eq!(container_oom_score_adj(&p, setup, cap), 991);
    }

    #[test]
    fn cgroup_parents_per_qos() {
        let uid = "8d3f-11";
        assert_eq!(
            pod_cgroup_parent("/", GUARANTEED, uid),
            "/kubepods/pod8d3f-11"
        );
        assert_eq!(
            pod_cgroup_parent("/", BURSTABLE, uid),
            "/kubepods/burstable/pod8d3f-11"
        );
        assert_eq!(
            pod_cgroup_parent("/", BEST_EFFORT, uid),
            "/kubepods/besteffort/pod8d3f-11"
        );
        assert_eq!(
            pod_cgroup_parent("", GUARANTEED, uid),
            "/kubepods/pod8d3f-11"
        );
        assert_eq!(
            pod_cgroup_parent("/custom", BEST_EFFORT, uid),
            "/custom/kubepods/besteffort/pod8d3f-11"
        );
        assert_eq!(
            pod_cgroup_parent("/custom/", BURSTABLE, uid),
            "/custom/kubepods/burstable/pod8d3f-11"
        );
        assert_eq!(
            pod_cgroup_parent("/", "Unknown", uid),
            "/kubepods/burstable/pod8d3f-11"
        );
    }
}

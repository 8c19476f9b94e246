//! Unit tests of the pure Node builder ([`super`]).

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

use api_types::core::v1::{NodeCondition, NodeStatus};
use api_types::meta::v1::Time;
use api_types::quantity::Quantity;
use serde_json::json;

use super::*;
use crate::node::eviction::EvictionThresholds;
use crate::node::host::HostFacts;

fn host() -> HostFacts {
    HostFacts {
        cpus: 4,
        memory_total_bytes: 8 << 30,
        memory_available_bytes: 6 << 30,
        hugepages: BTreeMap::new(),
        fs_capacity_bytes: 100 << 30,
        fs_available_bytes: 60 << 30,
        fs_inodes: 1_000_000,
        fs_inodes_free: 900_000,
        pid_max: 4_194_304,
        pids_in_use: 300,
        kernel_version: "6.1.0-test".into(),
        os_image: "Debian GNU/Linux 12 (bookworm)".into(),
        architecture: "arm64".into(),
        machine_id: "m1".into(),
        system_uuid: "u1".into(),
        boot_id: "b1".into(),
        hostname: "host-1".into(),
        default_ip: Some(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 7))),
    }
}

fn ready() -> RuntimeFacts {
    RuntimeFacts {
        runtime_version: "containerd://1.7.20".into(),
        runtime_ready: true,
        network_ready: true,
        not_ready_message: String::new(),
    }
}

fn t(s: &str) -> Time {
    Time::parse(s).unwrap()
}

fn cond<'a>(conds: &'a [NodeCondition], type_: &str) -> &'a NodeCondition {
    conds.iter().find(|c| c.type_ == type_).unwrap()
}

fn q(s: &str) -> Quantity {
    Quantity(s.into())
}

#[test]
fn a_node_registers_like_a_kubelet() {
    let mut cfg = NodeConfig::new("node-1");
    cfg.labels.insert("team".into(), "a".into());
    cfg.pod_cidr = Some("10.244.1.0/24".into());
    let node = node_object(&cfg, &host(), &ready(), t("2025-01-01T00:00:00Z"));
    let v = serde_json::to_value(&node).unwrap();
    assert_eq!(v["metadata"]["name"], "node-1");
    let labels = &v["metadata"]["labels"];
    assert_eq!(labels["kubernetes.io/hostname"], "node-1");
    assert_eq!(labels["kubernetes.io/os"], "linux");
    assert_eq!(labels["kubernetes.io/arch"], "arm64");
    assert_eq!(labels["beta.kubernetes.io/os"], "linux");
    assert_eq!(labels["beta.kubernetes.io/arch"], "arm64");
    assert_eq!(labels["team"], "a");
    assert_eq!(
        v["metadata"]["annotations"][CONTROLLER_ATTACH_DETACH_ANNOTATION],
        "true"
    );
    assert_eq!(v["spec"]["podCIDR"], "10.244.1.0/24");
    assert_eq!(v["spec"]["podCIDRs"], json!(["10.244.1.0/24"]));
    assert!(v["spec"].get("taints").is_none());
    assert!(v["spec"].get("unschedulable").is_none());

    let st = &v["status"];
    assert_eq!(
        st["addresses"],
        json!([
            {"type": "InternalIP", "address": "10.0.0.7"},
            {"type": "Hostname", "address": "node-1"},
        ])
    );
    assert_eq!(st["daemonEndpoints"]["kubeletEndpoint"]["Port"], 10250);
    let info = &st["nodeInfo"];
    assert_eq!(info["machineID"], "m1");
    assert_eq!(info["systemUUID"], "u1");
    assert_eq!(info["bootID"], "b1");
    assert_eq!(info["kernelVersion"], "6.1.0-test");
    assert_eq!(info["osImage"], "Debian GNU/Linux 12 (bookworm)");
    assert_eq!(info["containerRuntimeVersion"], "containerd://1.7.20");
    assert_eq!(info["kubeletVersion"], KUBELET_VERSION);
    assert_eq!(info["kubeProxyVersion"], "");
    assert_eq!(info["operatingSystem"], "linux");
    assert_eq!(info["architecture"], "arm64");

    let types: Vec<&str> = node
        .status
        .as_ref()
        .unwrap()
        .conditions
        .as_ref()
        .unwrap()
        .iter()
        .map(|c| c.type_.as_str())
        .collect();
    assert_eq!(
        types,
        ["MemoryPressure", "DiskPressure", "PIDPressure", "Ready"]
    );
}

#[test]
fn extra_labels_override_and_taints_register() {
    let mut cfg = NodeConfig::new("n");
    cfg.labels
        .insert("kubernetes.io/arch".into(), "custom".into());
    cfg.unschedulable = true;
    cfg.register_with_taints = vec![api_types::core::v1::Taint {
        key: "dedicated".into(),
        value: Some("gpu".into()),
        effect: "NoExecute".into(),
        time_added: None,
    }];
    let node = node_object(&cfg, &host(), &ready(), Time::now());
    assert_eq!(node.metadata.labels["kubernetes.io/arch"], "custom");
    let spec = node.spec.unwrap();
    assert_eq!(spec.unschedulable, Some(true));
    let keys: Vec<&str> = spec
        .taints
        .iter()
        .flatten()
        .map(|t| t.key.as_str())
        .collect();
    assert_eq!(keys, ["dedicated", TAINT_UNSCHEDULABLE]);
}

#[test]
fn the_node_ip_is_configured_or_the_name_or_detected() {
    let mut cfg = NodeConfig::new("n");
    let h = host();
    assert_eq!(node_addresses(&cfg, &h)[0].address, "10.0.0.7");
    cfg.node_ip = Some("192.168.1.5".parse().unwrap());
    assert_eq!(node_addresses(&cfg, &h)[0].address, "192.168.1.5");
    let cfg = NodeConfig::new("172.16.0.9");
    assert_eq!(node_addresses(&cfg, &h)[0].address, "172.16.0.9");
    let cfg = NodeConfig::new("n");
    let none = HostFacts {
        default_ip: None,
        ..host()
    };
    let a = node_addresses(&cfg, &none);
    assert_eq!(a.len(), 1);
    assert_eq!(a[0].type_, "Hostname");
}

#[test]
fn capacity_is_the_machine() {
    let cap = capacity(&NodeConfig::new("n"), &host());
    assert_eq!(cap["cpu"], q("4"));
    assert_eq!(cap["memory"], q("8Gi"));
    assert_eq!(cap["ephemeral-storage"], q("100Gi"));
    assert_eq!(cap["pods"], q("110"));
    assert_eq!(cap["hugepages-2Mi"], q("0"));
    let h = HostFacts {
        hugepages: BTreeMap::from([(2 << 20, 512 << 20), (1 << 30, 0)]),
        memory_total_bytes: 16_318_156 * 1024,
        ..host()
    };
    let cap = capacity(&NodeConfig::new("n"), &h);
    assert_eq!(cap["hugepages-2Mi"], q("512Mi"));
    assert_eq!(cap["hugepages-1Gi"], q("0"));
    assert_eq!(cap["memory"], q("16318156Ki"));
}

#[test]
fn allocatable_subtracts_reservations_and_eviction_thresholds() {
    let mut cfg = NodeConfig::new("n");
    cfg.system_reserved =
        BTreeMap::from([("cpu".into(), q("500m")), ("memory".into(), q("512Mi"))]);
    cfg.kube_reserved = BTreeMap::from([
        ("cpu".into(), q("100m")),
        ("memory".into(), q("256Mi")),
        ("ephemeral-storage".into(), q("1Gi")),
        ("pid".into(), q("1000")), // not a capacity: ignored
    ]);
    let alloc = allocatable(&cfg, &capacity(&cfg, &host()));
    assert_eq!(alloc["cpu"], q("3400m"));
    // 8Gi - 512Mi - 256Mi - 100Mi (memory.available<100Mi)
    assert_eq!(alloc["memory"], q("7324Mi"));
    // 100Gi - 1Gi - 10% of 100Gi (nodefs.available<10%, f32 like upstream)
    let storage: i128 =
        (100_i128 << 30) - (1 << 30) - ((100_i128 << 30) as f64 * f64::from(0.1_f32)) as i128;
    assert_eq!(
        alloc["ephemeral-storage"].parse().unwrap().value() as i128,
        storage
    );
    assert_eq!(alloc["pods"], q("110"));
    assert!(!alloc.contains_key("pid"));

    // no thresholds: only the reservations count
    cfg.eviction_hard = EvictionThresholds::none();
    let alloc = allocatable(&cfg, &capacity(&cfg, &host()));
    assert_eq!(alloc["memory"], q("7424Mi"));
    assert_eq!(alloc["ephemeral-storage"], q("99Gi"));
}

#[test]
fn allocatable_never_goes_negative_and_loses_hugepages() {
    let mut cfg = NodeConfig::new("n");
    cfg.system_reserved = BTreeMap::from([("cpu".into(), q("16"))]);
    cfg.eviction_hard = EvictionThresholds::none();
    let h = HostFacts {
        hugepages: BTreeMap::from([(2 << 20, 1 << 30)]),
        ..host()
    };
    let alloc = allocatable(&cfg, &capacity(&cfg, &h));
    assert_eq!(alloc["cpu"], q("0"));
    assert_eq!(alloc["memory"], q("7Gi"));
    assert_eq!(alloc["hugepages-2Mi"], q("1Gi"));
}

#[test]
fn a_healthy_node_has_no_pressure_and_is_ready() {
    let now = t("2025-01-01T00:00:00Z");
    let c = conditions(&NodeConfig::new("n"), &host(), &ready(), &[], now);
    let expect = [
        (
            "MemoryPressure",
            "False",
            "KubeletHasSufficientMemory",
            "kubelet has sufficient memory available",
        ),
        (
            "DiskPressure",
            "False",
            "KubeletHasNoDiskPressure",
            "kubelet has no disk pressure",
        ),
        (
            "PIDPressure",
            "False",
            "KubeletHasSufficientPID",
            "kubelet has sufficient PID available",
        ),
        (
            "Ready",
            "True",
            "KubeletReady",
            "kubelet is posting ready status",
        ),
    ];
    for (got, (type_, status, reason, message)) in c.iter().zip(expect) {
        assert_eq!(got.type_, type_);
        assert_eq!(got.status, status, "{type_}");
        assert_eq!(got.reason.as_deref(), Some(reason));
        assert_eq!(got.message.as_deref(), Some(message));
        assert_eq!(got.last_heartbeat_time, Some(now));
        assert_eq!(got.last_transition_time, Some(now));
    }
}

#[test]
fn memory_pressure_follows_memory_available() {
    let cfg = NodeConfig::new("n");
    let low = HostFacts {
        memory_available_bytes: 99 << 20,
        ..host()
    };
    let c = conditions(&cfg, &low, &ready(), &[], Time::now());
    let m = cond(&c, "MemoryPressure");
    assert_eq!(m.status, "True");
    assert_eq!(m.reason.as_deref(), Some("KubeletHasInsufficientMemory"));
    assert_eq!(
        m.message.as_deref(),
        Some("kubelet has insufficient memory available")
    );
    assert_eq!(cond(&c, "DiskPressure").status, "False");
    assert_eq!(cond(&c, "Ready").status, "True");
}

#[test]
fn disk_pressure_follows_nodefs_imagefs_and_inodes() {
    let cfg = NodeConfig::new("n");
    for h in [
        HostFacts {
            fs_available_bytes: 14 << 30,
            ..host()
        }, // imagefs.available<15%
        HostFacts {
            fs_available_bytes: 5 << 30,
            ..host()
        }, // nodefs.available<10%
        HostFacts {
            fs_inodes_free: 10_000,
            ..host()
        }, // inodesFree<5%
    ] {
        let c = conditions(&cfg, &h, &ready(), &[], Time::now());
        let d = cond(&c, "DiskPressure");
        assert_eq!(d.status, "True");
        assert_eq!(d.reason.as_deref(), Some("KubeletHasDiskPressure"));
        assert_eq!(d.message.as_deref(), Some("kubelet has disk pressure"));
        assert_eq!(cond(&c, "MemoryPressure").status, "False");
    }
}

#[test]
fn pid_pressure_needs_a_pid_threshold() {
    let mut cfg = NodeConfig::new("n");
    let h = HostFacts {
        pid_max: 1000,
        pids_in_use: 990,
        ..host()
    };
    // upstream's defaults have no pid.available threshold
    let c = conditions(&cfg, &h, &ready(), &[], Time::now());
    assert_eq!(cond(&c, "PIDPressure").status, "False");
    cfg.eviction_hard = "pid.available<5%".parse().unwrap();
    let c = conditions(&cfg, &h, &ready(), &[], Time::now());
    let p = cond(&c, "PIDPressure");
    assert_eq!(p.status, "True");
    assert_eq!(p.reason.as_deref(), Some("KubeletHasInsufficientPID"));
    assert_eq!(
        p.message.as_deref(),
        Some("kubelet has insufficient PID available")
    );
}

#[test]
fn not_ready_says_why() {
    let cfg = NodeConfig::new("n");
    let net = "container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized";
    let rt = RuntimeFacts {
        network_ready: false,
        not_ready_message: net.into(),
        ..ready()
    };
    let c = conditions(&cfg, &host(), &rt, &[], Time::now());
    let r = cond(&c, "Ready");
    assert_eq!(r.status, "False");
    assert_eq!(r.reason.as_deref(), Some("KubeletNotReady"));
    assert_eq!(r.message.as_deref(), Some(net));

    // without details, a generic message in upstream's aggregate form
    let rt = RuntimeFacts {
        runtime_ready: false,
        network_ready: false,
        ..RuntimeFacts::default()
    };
    let c = conditions(&cfg, &host(), &rt, &[], Time::now());
    assert_eq!(
        cond(&c, "Ready").message.as_deref(),
        Some("[container runtime not ready, container runtime network not ready]")
    );
}

#[test]
fn transition_times_move_only_with_the_status() {
    let cfg = NodeConfig::new("n");
    let (t0, t1, t2) = (
        t("2025-01-01T00:00:00Z"),
        t("2025-01-01T00:00:10Z"),
        t("2025-01-01T00:00:20Z"),
    );
    let first = node_status(&cfg, &host(), &ready(), None, t0);
    let second = node_status(&cfg, &host(), &ready(), Some(&first), t1);
    for c in second.conditions.as_ref().unwrap() {
        assert_eq!(c.last_heartbeat_time, Some(t1));
        assert_eq!(c.last_transition_time, Some(t0), "{}", c.type_);
    }
    assert!(!status_changed(&first, &second), "only heartbeats moved");

    let down = RuntimeFacts {
        network_ready: false,
        ..ready()
    };
    let third = node_status(&cfg, &host(), &down, Some(&second), t2);
    let c = third.conditions.as_ref().unwrap();
    assert_eq!(cond(c, "Ready").last_transition_time, Some(t2));
    assert_eq!(cond(c, "MemoryPressure").last_transition_time, Some(t0));
    assert!(status_changed(&second, &third));
}

#[test]
fn status_changes_that_count() {
    let cfg = NodeConfig::new("n");
    let now = Time::now();
    let base = node_status(&cfg, &host(), &ready(), None, now);

    // a new boot, a new runtime version, new capacity: all worth a write
    let rebooted = HostFacts {
        boot_id: "b2".into(),
        ..host()
    };
    assert!(status_changed(
        &base,
        &node_status(&cfg, &rebooted, &ready(), Some(&base), now)
    ));
    let bigger = HostFacts { cpus: 8, ..host() };
    assert!(status_changed(
        &base,
        &node_status(&cfg, &bigger, &ready(), Some(&base), now)
    ));

    // memory available moving without crossing a threshold is not
    let busier = HostFacts {
        memory_available_bytes: 1 << 30,
        ..host()
    };
    assert!(!status_changed(
        &base,
        &node_status(&cfg, &busier, &ready(), Some(&base), now)
    ));

    // what others add is not ours to compare
    let mut stored = base.clone();
    stored.conditions.as_mut().unwrap().insert(
        0,
        NodeCondition {
            type_: "NetworkUnavailable".into(),
            status: "False".into(),
            ..NodeCondition::default()
        },
    );
    stored
        .capacity
        .as_mut()
        .unwrap()
        .insert("example.com/dongle".into(), q("2"));
    stored
        .capacity
        .as_mut()
        .unwrap()
        .insert("memory".into(), q("8192Mi"));
    assert!(!status_changed(&stored, &base));
    assert!(status_changed(&NodeStatus::default(), &base));
}

#[test]
fn the_status_patch_carries_only_our_fields() {
    let s = node_status(&NodeConfig::new("n"), &host(), &ready(), None, Time::now());
    let p = status_patch(&s);
    let mut keys: Vec<&String> = p["status"].as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "addresses",
            "allocatable",
            "capacity",
            "conditions",
            "daemonEndpoints",
            "nodeInfo"
        ]
    );
    assert_eq!(p["status"]["conditions"].as_array().unwrap().len(), 4);
}

#[test]
fn reserved_quantities_are_validated() {
    let mut cfg = NodeConfig::new("n");
    assert!(cfg.validate().is_ok());
    cfg.kube_reserved.insert("memory".into(), q("lots"));
    let err = cfg.validate().unwrap_err().to_string();
    assert_eq!(err, "invalid kube-reserved quantity memory=\"lots\"");
}

#[test]
fn aggregate_is_upstreams() {
    assert_eq!(aggregate(&["a".into()]), "a");
    assert_eq!(aggregate(&["a".into(), "b".into(), "a".into()]), "[a, b]");
}

//! The pod sandbox: the CRI `PodSandboxConfig` for a pod (hostname, DNS,
//! host ports, namespaces, cgroup parent, log directory, labels), and the
//! per-pod files the kubelet mounts into every container (`/etc/hosts`,
//! the termination-message file).

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use api_types::core::v1::{Container, Pod};
use api_types::quantity::Quantity;
use cri::v1;

use crate::container::{resources, security};
use crate::pod::labels;
use crate::volume::VolumeManager;

/// Node-wide settings and facts a sync reads.
#[derive(Clone, Debug, Default)]
pub struct NodeContext {
    pub node_name: String,
    pub host_ip: String,
    /// The node's hostname (for hostNetwork pods).
    pub hostname: String,
    pub memory_capacity: i64,
    pub allocatable: BTreeMap<String, Quantity>,
    /// `--cgroup-root` (default `/`).
    pub cgroup_root: String,
    /// Where pod log directories go (`/var/log/pods`).
    pub pod_logs_dir: PathBuf,
    /// `--cluster-dns` and `--cluster-domain`.
    pub cluster_dns: Vec<String>,
    pub cluster_domain: String,
    /// `--resolv-conf`: the host resolver config for `dnsPolicy: Default`.
    pub resolv_conf: PathBuf,
    /// The runtime's name from CRI `Version` (`containerd`).
    pub runtime_name: String,
}

/// The CRI labels that tie a sandbox or container to its pod.
pub fn pod_labels(pod: &Pod) -> HashMap<String, String> {
    [
        (labels::POD_NAME.to_string(), pod.metadata.name.clone()),
        (
            labels::POD_NAMESPACE.to_string(),
            pod.metadata.namespace.clone(),
        ),
        (labels::POD_UID.to_string(), pod.metadata.uid.clone()),
    ]
    .into()
}

/// `/var/log/pods/<namespace>_<name>_<uid>`.
pub fn log_dir(node: &NodeContext, pod: &Pod) -> PathBuf {
    node.pod_logs_dir.join(format!(
        "{}_{}_{}",
        pod.metadata.namespace, pod.metadata.name, pod.metadata.uid
    ))
}

/// Creates the pod's log directory and one per container (the runtime
/// writes `<container>/<restartCount>.log` files there).
pub fn prepare_log_dir(node: &NodeContext, pod: &Pod) {
    let dir = log_dir(node, pod);
    let spec = pod.spec.clone().unwrap_or_default();
    for c in spec
        .init_containers
        .iter()
        .flatten()
        .chain(spec.containers.iter())
    {
        if let Err(e) = std::fs::create_dir_all(dir.join(&c.name)) {
            tracing::warn!(dir = %dir.display(), error = %e, "creating the pod log directory failed");
        }
    }
}

/// The pod's hostname: `spec.hostname` or its name, cut to 63 characters
/// (a DNS label), without a trailing `-` or `.`.
pub fn hostname(pod: &Pod) -> String {
    let h = pod
        .spec
        .as_ref()
        .and_then(|s| s.hostname.clone())
        .unwrap_or_else(|| pod.metadata.name.clone());
    let h: String = h.chars().take(63).collect();
    h.trim_end_matches(['-', '.']).to_string()
}

fn host_resolv(node: &NodeContext) -> (Vec<String>, Vec<String>, Vec<String>) {
    let text = std::fs::read_to_string(&node.resolv_conf).unwrap_or_default();
    let (mut servers, mut searches, mut options) = (vec![], vec![], vec![]);
    for line in text.lines() {
        let mut f = line.split_whitespace();
        match f.next() {
            Some("nameserver") => servers.extend(f.next().map(str::to_string)),
            Some("search" | "domain") => searches = f.map(str::to_string).collect(),
            Some("options") => options.extend(f.map(str::to_string)),
            _ => {}
        }
    }
    (servers, searches, options)
}

/// The pod's resolver config by `dnsPolicy` (upstream `GetPodDNS`).
pub fn dns_config(pod: &Pod, node: &NodeContext) -> Option<v1::DnsConfig> {
    let spec = pod.spec.as_ref()?;
    let host_network = spec.host_network.unwrap_or(false);
    let mut policy = spec
        .dns_policy
        .clone()
        .unwrap_or_else(|| "ClusterFirst".into());
    if policy == "ClusterFirst" && host_network {
        policy = "Default".into();
    }
    if policy.starts_with("ClusterFirst") && node.cluster_dns.is_empty() {
        // No cluster DNS configured: upstream falls back to the host's.
        policy = "Default".into();
    }
    let (mut servers, mut searches, mut options) = match policy.as_str() {
        "None" => (vec![], vec![], vec![]),
        "Default" => host_resolv(node),
        _ => {
            let ns = &pod.metadata.namespace;
            let d = &node.cluster_domain;
            let (_, host_searches, _) = host_resolv(node);
            let mut s = vec![format!("{ns}.svc.{d}"), format!("svc.{d}"), d.clone()];
            s.extend(host_searches);
            (node.cluster_dns.clone(), s, vec!["ndots:5".to_string()])
        }
    };
    if let Some(c) = &spec.dns_config {
        servers.extend(c.nameservers.iter().flatten().cloned());
        searches.extend(c.searches.iter().flatten().cloned());
        for o in c.options.iter().flatten() {
            let name = o.name.clone().unwrap_or_default();
            options.retain(|x| x.split(':').next() != Some(name.as_str()));
            options.push(match &o.value {
                Some(v) => format!("{name}:{v}"),
                None => name,
            });
        }
    }
    servers.dedup();
    searches.dedup();
    Some(v1::DnsConfig {
        servers,
        searches,
        options,
    })
}

/// The sandbox config for `pod` (attempt = how many sandboxes it had).
pub fn sandbox_config(pod: &Pod, attempt: u32, node: &NodeContext) -> v1::PodSandboxConfig {
    let spec = pod.spec.clone().unwrap_or_default();
    let host_network = spec.host_network.unwrap_or(false);
    let port_mappings = spec
        .containers
        .iter()
        .flat_map(|c| c.ports.iter().flatten())
        .filter(|p| p.host_port.is_some_and(|h| h > 0))
        .map(|p| v1::PortMapping {
            protocol: match p.protocol.as_deref() {
                Some("UDP") => v1::Protocol::Udp as i32,
                Some("SCTP") => v1::Protocol::Sctp as i32,
                _ => v1::Protocol::Tcp as i32,
            },
            container_port: p.container_port,
            host_port: p.host_port.unwrap_or_default(),
            host_ip: p.host_ip.clone().unwrap_or_default(),
        })
        .collect();
    let mut annotations: HashMap<String, String> = pod
        .metadata
        .annotations
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    annotations.insert(
        labels::TERMINATION_GRACE.into(),
        spec.termination_grace_period_seconds
            .unwrap_or(30)
            .to_string(),
    );
    let mut sandbox_labels: HashMap<String, String> = pod
        .metadata
        .labels
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    sandbox_labels.extend(pod_labels(pod));
    let qos = api_types::core::v1::qos::qos_class(&spec);
    let sysctls = spec
        .security_context
        .as_ref()
        .and_then(|s| s.sysctls.clone())
        .unwrap_or_default()
        .into_iter()
        .map(|s| (s.name, s.value))
        .collect();
    v1::PodSandboxConfig {
        metadata: Some(v1::PodSandboxMetadata {
            name: pod.metadata.name.clone(),
            uid: pod.metadata.uid.clone(),
            namespace: pod.metadata.namespace.clone(),
            attempt,
        }),
        hostname: if host_network {
            String::new()
        } else {
            hostname(pod)
        },
        log_directory: log_dir(node, pod).display().to_string(),
        dns_config: dns_config(pod, node),
        port_mappings,
        labels: sandbox_labels,
        annotations,
        linux: Some(v1::LinuxPodSandboxConfig {
            cgroup_parent: resources::pod_cgroup_parent(&node.cgroup_root, qos, &pod.metadata.uid),
            security_context: Some(security::sandbox_security(pod)),
            sysctls,
            ..Default::default()
        }),
    }
}

/// The `/etc/hosts` the kubelet writes for a pod that has its own network:
/// localhost, the pod's own IP and hostname, then `hostAliases`.
pub fn etc_hosts(pod: &Pod, pod_ip: &str) -> String {
    let mut s = String::from(
        "# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nfe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n",
    );
    let spec = pod.spec.clone().unwrap_or_default();
    if !pod_ip.is_empty() {
        let h = hostname(pod);
        match &spec.subdomain {
            Some(sub) if !sub.is_empty() => {
                s.push_str(&format!(
                    "{pod_ip}\t{h}.{sub}.{}.svc.cluster.local\t{h}\n",
                    pod.metadata.namespace
                ));
            }
            _ => s.push_str(&format!("{pod_ip}\t{h}\n")),
        }
    }
    let aliases = spec.host_aliases.unwrap_or_default();
    if !aliases.is_empty() {
        s.push_str("\n# Entries added by HostAliases.\n");
        for a in aliases {
            s.push_str(&format!(
                "{}\t{}\n",
                a.ip,
                a.hostnames.unwrap_or_default().join("\t")
            ));
        }
    }
    s
}

/// Mounts every container gets besides its volumes: `/etc/hosts` (pods
/// with their own network) and the termination-message file.
pub fn extra_mounts(
    volumes: &VolumeManager,
    pod: &Pod,
    c: &Container,
) -> Result<Vec<v1::Mount>, String> {
    let dir = volumes.pod_dir(&pod.metadata.uid);
    let mut out = vec![];
    let host_network = pod
        .spec
        .as_ref()
        .and_then(|s| s.host_network)
        .unwrap_or(false);
    let mounts_hosts = c
        .volume_mounts
        .iter()
        .flatten()
        .any(|m| m.mount_path == "/etc/hosts");
    if !host_network && !mounts_hosts {
        let path = dir.join("etc-hosts");
        if !path.exists() {
            return Err("the pod's hosts file is missing".into());
        }
        out.push(v1::Mount {
            container_path: "/etc/hosts".into(),
            host_path: path.display().to_string(),
            ..Default::default()
        });
    }
    let term_path = c
        .termination_message_path
        .clone()
        .unwrap_or_else(|| "/dev/termination-log".into());
    if !term_path.is_empty() {
        let cdir = dir.join("containers").join(&c.name);
        std::fs::create_dir_all(&cdir).map_err(|e| format!("creating {}: {e}", cdir.display()))?;
        let f = cdir.join("termination-log");
        if !f.exists() {
            std::fs::write(&f, b"").map_err(|e| format!("creating {}: {e}", f.display()))?;
        }
        out.push(v1::Mount {
            container_path: term_path,
            host_path: f.display().to_string(),
            ..Default::default()
        });
    }
    Ok(out)
}

/// Writes the pod's `/etc/hosts` (after the sandbox has its IP).
pub fn write_etc_hosts(volumes: &VolumeManager, pod: &Pod, pod_ip: &str) -> std::io::Result<()> {
    let dir = volumes.pod_dir(&pod.metadata.uid);
    std::fs::create_dir_all(&dir)?;
    let tmp = dir.join(".etc-hosts.tmp");
    std::fs::write(&tmp, etc_hosts(pod, pod_ip))?;
    std::fs::rename(tmp, dir.join("etc-hosts"))
}

/// Removes the pod's cgroup directories (runc removes the containers'
/// own; the pod level is the kubelet's), in every hierarchy.
pub fn remove_pod_cgroups(node: &NodeContext, uid: &str) {
    for qos in ["Guaranteed", "Burstable", "BestEffort"] {
        let parent = resources::pod_cgroup_parent(&node.cgroup_root, qos, uid);
        if let Ok(hs) = std::fs::read_dir("/sys/fs/cgroup") {
            for h in hs.flatten() {
                let p = h.path().join(parent.trim_start_matches('/'));
                let _ = std::fs::remove_dir(&p);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(v: serde_json::Value) -> Pod {
        serde_json::from_value(v).unwrap_or_default()
    }

    #[test]
    fn hosts_file_has_pod_ip_and_aliases() {
        let p = pod(serde_json::json!({
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {"containers": [], "hostAliases": [{"ip": "10.1.2.3", "hostnames": ["foo.local", "bar.local"]}]},
        }));
        let h = etc_hosts(&p, "10.244.1.5");
        assert!(h.contains("10.244.1.5\tweb\n"));
        assert!(h.contains("10.1.2.3\tfoo.local\tbar.local\n"));
    }

    #[test]
    fn dns_policies() {
        let node = NodeContext {
            cluster_dns: vec!["10.96.0.10".into()],
            cluster_domain: "cluster.local".into(),
            resolv_conf: "/nonexistent".into(),
            ..Default::default()
        };
        let p = pod(
            serde_json::json!({"metadata": {"name": "a", "namespace": "team"}, "spec": {"containers": []}}),
        );
        let d = dns_config(&p, &node).unwrap_or_default();
        assert_eq!(d.servers, ["10.96.0.10"]);
        assert_eq!(
            d.searches[..3],
            [
                "team.svc.cluster.local",
                "svc.cluster.local",
                "cluster.local"
            ]
        );
        assert_eq!(d.options, ["ndots:5"]);
        let p = pod(
            serde_json::json!({"metadata": {"name": "a", "namespace": "team"}, "spec": {"containers": [],
            "dnsPolicy": "None", "dnsConfig": {"nameservers": ["1.1.1.1"], "options": [{"name": "ndots", "value": "2"}]}}}),
        );
        let d = dns_config(&p, &node).unwrap_or_default();
        assert_eq!(
            (d.servers.as_slice(), d.options.as_slice()),
            (
                ["1.1.1.1".to_string()].as_slice(),
                ["ndots:2".to_string()].as_slice()
            )
        );
    }

    #[test]
    fn sandbox_config_carries_pod_identity_and_ports() {
        let p = pod(serde_json::json!({
            "metadata": {"name": "web", "namespace": "default", "uid": "u1", "labels": {"app": "web"}},
            "spec": {"containers": [{"name": "c", "ports": [{"containerPort": 80, "hostPort": 8080}]}]},
        }));
        let node = NodeContext {
            cgroup_root: "/".into(),
            pod_logs_dir: "/var/log/pods".into(),
            ..Default::default()
        };
        let c = sandbox_config(&p, 2, &node);
        let m = c.metadata.unwrap_or_default();
        assert_eq!(
            (m.name.as_str(), m.uid.as_str(), m.attempt),
            ("web", "u1", 2)
        );
        assert_eq!(
            c.labels.get(labels::POD_UID).map(String::as_str),
            Some("u1")
        );
        assert_eq!(c.labels.get("app").map(String::as_str), Some("web"));
        assert_eq!(c.port_mappings.len(), 1);
        assert_eq!(c.log_directory, "/var/log/pods/default_web_u1");
        assert_eq!(c.hostname, "web");
    }
}

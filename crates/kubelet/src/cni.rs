//! The node's CNI network config: what gives each pod its IP.
//!
//! containerd calls the CNI plugins named in the first config file of its
//! `conf_dir` when it creates a pod sandbox. The kubelet writes that file
//! for its node's `spec.podCIDR` (as kindnet or flannel would on a real
//! cluster): a Linux bridge with `host-local` IP allocation from the pod
//! CIDR, `portmap` for `hostPort`s, and `firewall`, which lets forwarded
//! pod traffic through when the FORWARD policy is DROP (see
//! `CRI-OFFLINE.md`). Until the file exists the runtime reports
//! `NetworkReady=false` and the node stays `NotReady`.

use std::path::{Path, PathBuf};

/// The network settings of one node.
#[derive(Clone, Debug)]
pub struct CniConfig {
    /// The node's pod range (`spec.podCIDR`), e.g. `10.244.1.0/24`.
    pub pod_cidr: String,
    /// The bridge's name (`cni0`).
    pub bridge: String,
    /// Where host-local keeps its allocations.
    pub ipam_dir: PathBuf,
    /// Masquerade traffic leaving the pod range (off when nodes route pod
    /// ranges to each other, as in multi-node clusters).
    pub ip_masq: bool,
}

/// The conflist JSON for `cfg`.
pub fn render(cfg: &CniConfig) -> String {
    let v = serde_json::json!({
        "cniVersion": "1.0.0",
        "name": "oxkube",
        "plugins": [
            {
                "type": "bridge",
                "bridge": cfg.bridge,
                "isGateway": true,
                "ipMasq": cfg.ip_masq,
                "hairpinMode": true,
                "ipam": {
                    "type": "host-local",
                    "dataDir": cfg.ipam_dir,
                    "ranges": [[{"subnet": cfg.pod_cidr}]],
                    "routes": [{"dst": "0.0.0.0/0"}],
                },
            },
            {"type": "portmap", "capabilities": {"portMappings": true}},
            {"type": "firewall", "backend": "iptables"},
        ],
    });
    serde_json::to_string_pretty(&v).unwrap_or_default()
}

/// The file name the config is written to (first in lexical order).
pub const FILE_NAME: &str = "10-oxkube.conflist";

/// Writes the config into `dir` atomically (containerd watches the
/// directory and must never read half a file); no-op when unchanged.
pub fn write(dir: &Path, cfg: &CniConfig) -> std::io::Result<bool> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join(FILE_NAME);
    let text = render(cfg);
    if std::fs::read_to_string(&path).is_ok_and(|old| old == text) {
        return Ok(false);
    }
    let tmp = dir.join(format!(".{FILE_NAME}.tmp"));
    std::fs::write(&tmp, &text)?;
    std::fs::rename(&tmp, &path)?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_bridge_portmap_firewall() {
        let cfg = CniConfig {
            pod_cidr: "10.244.1.0/24".into(),
            bridge: "cni0".into(),
            ipam_dir: "/var/lib/cni/networks".into(),
            ip_masq: true,
        };
        let v: serde_json::Value = serde_json::from_str(&render(&cfg)).unwrap_or_default();
        let types: Vec<_> = v["plugins"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| p["type"].clone())
            .collect();
        assert_eq!(types, ["bridge", "portmap", "firewall"]);
        assert_eq!(
            v["plugins"][0]["ipam"]["ranges"][0][0]["subnet"],
            "10.244.1.0/24"
        );
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        assert!(write(dir.path(), &cfg).unwrap_or(false));
        assert!(
            !write(dir.path(), &cfg).unwrap_or(true),
            "unchanged config is not rewritten"
        );
    }
}

//! The labels and annotations the kubelet puts on CRI sandboxes and
//! containers, with upstream's names, so that the runtime itself remembers
//! which pod and container each one belongs to. After a kubelet restart
//! these are all it needs to adopt what is running (and `crictl` users see
//! familiar names).

/// Sandbox and container label: the pod's name.
pub const POD_NAME: &str = "io.kubernetes.pod.name";
/// Sandbox and container label: the pod's namespace.
pub const POD_NAMESPACE: &str = "io.kubernetes.pod.namespace";
/// Sandbox and container label: the pod's UID (the key for everything).
pub const POD_UID: &str = "io.kubernetes.pod.uid";
/// Container label: the container's name in the pod spec.
pub const CONTAINER_NAME: &str = "io.kubernetes.container.name";
/// Container annotation: hash of the container spec it was created from;
/// a different hash means the spec changed and the container is replaced.
pub const CONTAINER_HASH: &str = "io.kubernetes.container.hash";
/// Container annotation: how many times this container had restarted when
/// this instance was created.
pub const RESTART_COUNT: &str = "io.kubernetes.container.restartCount";
/// Container annotation: where the container writes its termination message.
pub const TERMINATION_MESSAGE_PATH: &str = "io.kubernetes.container.terminationMessagePath";
/// Sandbox annotation: the pod's grace period, for a kubelet that must
/// stop a pod whose object it no longer has.
pub const TERMINATION_GRACE: &str = "io.kubernetes.pod.terminationGracePeriod";
/// Annotation on the pod object carrying where it came from (`api`,
/// `file`), as upstream's `kubernetes.io/config.source`.
pub const CONFIG_SOURCE: &str = "kubernetes.io/config.source";
/// Annotation on static pods and their mirrors: the static pod's hash.
pub const CONFIG_HASH: &str = "kubernetes.io/config.hash";
/// Annotation marking a mirror pod (the apiserver's read-only copy of a
/// static pod).
pub const CONFIG_MIRROR: &str = "kubernetes.io/config.mirror";
/// Annotation on static pods: when the kubelet first saw the manifest.
pub const CONFIG_SEEN: &str = "kubernetes.io/config.seen";

/// A stable 64-bit FNV-1a hash, so a container's hash survives kubelet
/// upgrades (std's `DefaultHasher` makes no such promise).
pub fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// The hash of a container spec, as hex (the `io.kubernetes.container.hash`
/// annotation).
pub fn container_hash(c: &api_types::core::v1::Container) -> String {
    let json = serde_json::to_vec(c).unwrap_or_default();
    format!("{:x}", fnv1a(&json))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv_is_stable() {
        // Known FNV-1a 64 test vectors.
        assert_eq!(fnv1a(b""), 0xcbf29ce484222325);
        assert_eq!(fnv1a(b"a"), 0xaf63dc4c8601ec8c);
    }
}

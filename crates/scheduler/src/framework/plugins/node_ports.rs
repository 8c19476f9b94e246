//! NodePorts: a `hostPort` can be bound once per node (per IP and
//! protocol; `0.0.0.0`, the default, collides with every IP). Reason:
//! `node(s) didn't have free ports for the requested pod ports`.

use crate::framework::fit_error::Reasons;
use crate::framework::node_info::NodeInfo;
use crate::framework::pod_info::HostPort;

/// The filter's failure reason.
pub const ERR_REASON: &str = "node(s) didn't have free ports for the requested pod ports";

/// The filter.
pub(crate) fn filter(wanted: &[HostPort], node: &NodeInfo) -> Result<(), Reasons> {
    let conflict = wanted
        .iter()
        .any(|want| node.used_ports().any(|used| want.conflicts_with(used)));
    if conflict {
        Err(vec![ERR_REASON.into()])
    } else {
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::framework::pod_info::PodInfo;
    use crate::framework::testing::{PodBuild, node, pod};

    fn ports(p: &api_types::core::v1::Pod) -> Vec<HostPort> {
        HostPort::of(p.spec.as_ref().unwrap())
    }

    #[test]
    fn host_port_conflicts() {
        let mut ni = NodeInfo::new("a".into());
        ni.set_node(Arc::new(node("a", "1", "1Gi")));
        let existing = pod("web").with_host_port("10.0.0.1", "TCP", 80);
        ni.add_pod(
            "default/web".into(),
            PodInfo::new(Arc::new(existing), 0, false),
        );

        let same = pod("p").with_host_port("10.0.0.1", "", 80);
        assert_eq!(filter(&ports(&same), &ni), Err(vec![ERR_REASON.into()]));
        let wildcard = pod("p").with_host_port("", "", 80);
        assert!(filter(&ports(&wildcard), &ni).is_err());
        let other_ip = pod("p").with_host_port("10.0.0.2", "TCP", 80);
        assert!(filter(&ports(&other_ip), &ni).is_ok());
        let udp = pod("p").with_host_port("10.0.0.1", "UDP", 80);
        assert!(filter(&ports(&udp), &ni).is_ok());
        let no_host_port = pod("p");
        assert!(filter(&ports(&no_host_port), &ni).is_ok());
    }
}

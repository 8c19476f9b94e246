//! Quality of Service classes (`status.qosClass`), computed from a pod's
//! resource requests and limits.
//!
//! - **Guaranteed**: every container sets CPU and memory limits, and its
//!   requests equal its limits. Evicted last.
//! - **BestEffort**: no container requests or limits CPU or memory. Evicted
//!   first under node pressure.
//! - **Burstable**: everything in between.
//!
//! Only CPU and memory count; zero quantities count as unset. Init
//! containers count like regular ones.

use super::{Container, PodSpec};
use crate::quantity::{ParsedQuantity, Quantity};

pub const GUARANTEED: &str = "Guaranteed";
pub const BURSTABLE: &str = "Burstable";
pub const BEST_EFFORT: &str = "BestEffort";

const COMPUTE: [&str; 2] = ["cpu", "memory"];

fn nonzero(q: Option<&Quantity>) -> Option<ParsedQuantity> {
    q.and_then(|q| q.parse().ok()).filter(|p| !p.is_zero())
}

/// The QoS class of a pod with this spec.
pub fn qos_class(spec: &PodSpec) -> &'static str {
    let containers: Vec<&Container> = spec
        .init_containers
        .iter()
        .flatten()
        .chain(spec.containers.iter())
        .collect();
    let mut any_set = false;
    let mut guaranteed = !containers.is_empty();
    for c in &containers {
        let res = c.resources.as_ref();
        let requests = res.and_then(|r| r.requests.as_ref());
        let limits = res.and_then(|r| r.limits.as_ref());
        for name in COMPUTE {
            let req = nonzero(requests.and_then(|m| m.get(name)));
            // An unset request defaults to the limit.
            let lim = nonzero(limits.and_then(|m| m.get(name)));
            if req.is_some() || lim.is_some() {
                any_set = true;
            }
            match (req, lim) {
                (Some(r), Some(l)) if r == l => {}
                (None, Some(_)) => {}
                _ => guaranteed = false,
            }
        }
    }
    if !any_set {
        BEST_EFFORT
    } else if guaranteed {
        GUARANTEED
    } else {
        BURSTABLE
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::core::v1::ResourceRequirements;

    fn container(requests: &[(&str, &str)], limits: &[(&str, &str)]) -> Container {
        let map = |kv: &[(&str, &str)]| {
            (!kv.is_empty()).then(|| {
                kv.iter()
                    .map(|(k, v)| (k.to_string(), Quantity((*v).into())))
                    .collect::<BTreeMap<_, _>>()
            })
        };
        Container {
            name: "c".into(),
            resources: Some(ResourceRequirements {
                requests: map(requests),
                limits: map(limits),
                claims: None,
            }),
            ..Default::default()
        }
    }

    fn spec(cs: Vec<Container>) -> PodSpec {
        PodSpec {
            containers: cs,
            ..Default::default()
        }
    }

    #[test]
    fn classes() {
        assert_eq!(qos_class(&spec(vec![container(&[], &[])])), BEST_EFFORT);
        assert_eq!(
            qos_class(&spec(vec![container(
                &[],
                &[("cpu", "500m"), ("memory", "128Mi")]
            )])),
            GUARANTEED
        );
        assert_eq!(
            qos_class(&spec(vec![container(
                &[("cpu", "0.5"), ("memory", "128Mi")],
                &[("cpu", "500m"), ("memory", "128Mi")]
            )])),
            GUARANTEED,
            "0.5 and 500m are the same quantity"
        );
        assert_eq!(
            qos_class(&spec(vec![container(&[("cpu", "100m")], &[])])),
            BURSTABLE
        );
        assert_eq!(
            qos_class(&spec(vec![container(
                &[("cpu", "100m")],
                &[("cpu", "200m"), ("memory", "1Gi")]
            )])),
            BURSTABLE
        );
        // one best-effort container among guaranteed ones makes the pod burstable
        assert_eq!(
            qos_class(&spec(vec![
                container(&[], &[("cpu", "1"), ("memory", "1Gi")]),
                container(&[], &[])
            ])),
            BURSTABLE
        );
        // zero counts as unset
        assert_eq!(
            qos_class(&spec(vec![container(&[("cpu", "0")], &[])])),
            BEST_EFFORT
        );
    }
}

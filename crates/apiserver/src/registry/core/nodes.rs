//! Nodes: cluster-scoped, registered by kubelets with their status.

use api_types::core::v1::Node;

use crate::error::FieldError;
use crate::registry::strategy::{FieldSet, Strategy, keep_spec, keep_status};

pub struct NodeStrategy;

const TAINT_EFFECTS: [&str; 3] = ["NoSchedule", "PreferNoSchedule", "NoExecute"];

fn valid_cidr(s: &str) -> bool {
    match s.split_once('/') {
        Some((ip, bits)) => match (ip.parse::<std::net::IpAddr>(), bits.parse::<u8>()) {
            (Ok(std::net::IpAddr::V4(_)), Ok(b)) => b <= 32,
            (Ok(std::net::IpAddr::V6(_)), Ok(b)) => b <= 128,
            _ => false,
        },
        None => false,
    }
}

impl Strategy<Node> for NodeStrategy {
    fn validate(&self, node: &Node) -> Vec<FieldError> {
        let mut errs = Vec::new();
        let Some(spec) = &node.spec else { return errs };
        for (i, cidr) in spec.pod_cidrs.iter().flatten().enumerate() {
            if !valid_cidr(cidr) {
                errs.push(FieldError::invalid(
                    format!("spec.podCIDRs[{i}]"),
                    cidr,
                    "must be a valid CIDR",
                ));
            }
        }
        if let Some(cidr) = spec.pod_cidr.as_deref().filter(|c| !c.is_empty())
            && !valid_cidr(cidr)
        {
            errs.push(FieldError::invalid(
                "spec.podCIDR",
                cidr,
                "must be a valid CIDR",
            ));
        }
        for (i, t) in spec.taints.iter().flatten().enumerate() {
            if t.key.is_empty() {
                errs.push(FieldError::required(format!("spec.taints[{i}].key"), ""));
            }
            if !TAINT_EFFECTS.contains(&t.effect.as_str()) {
                errs.push(FieldError::not_supported(
                    format!("spec.taints[{i}].effect"),
                    &t.effect,
                    &TAINT_EFFECTS,
                ));
            }
        }
        errs
    }

    fn validate_update(&self, new: &Node, old: &Node) -> Vec<FieldError> {
        let mut errs = self.validate(new);
        // Once set, the pod CIDR stays (pods already have addresses from it).
        let old_cidr = old
            .spec
            .as_ref()
            .and_then(|s| s.pod_cidr.as_deref())
            .unwrap_or_default();
        let new_cidr = new
            .spec
            .as_ref()
            .and_then(|s| s.pod_cidr.as_deref())
            .unwrap_or_default();
        if !old_cidr.is_empty() && old_cidr != new_cidr {
            errs.push(FieldError::forbidden(
                "spec.podCIDR",
                "node updates may not change podCIDR except from \"\" to valid",
            ));
        }
        errs
    }

    fn prepare_for_update(&self, new: &mut Node, old: &Node) {
        keep_status(new, old);
    }

    fn has_status(&self) -> bool {
        true
    }

    fn prepare_for_status_update(&self, new: &mut Node, old: &Node) {
        keep_spec(new, old);
    }

    fn fields(&self, node: &Node) -> FieldSet {
        vec![(
            "spec.unschedulable",
            node.spec
                .as_ref()
                .and_then(|s| s.unschedulable)
                .unwrap_or(false)
                .to_string(),
        )]
    }

    fn selectable_fields(&self) -> &'static [&'static str] {
        &["spec.unschedulable"]
    }
}

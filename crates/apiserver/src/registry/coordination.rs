//! Strategies for the `coordination.k8s.io` group: Leases, the lock objects
//! behind leader election and node heartbeats
//! (`pkg/registry/coordination/lease` and `ValidateLeaseSpec` upstream).

use api_types::coordination::v1::{Lease, LeaseSpec};

use super::rules::NEGATIVE;
use super::strategy::Strategy;
use crate::error::FieldError;

pub struct LeaseStrategy;

/// The coordinated leader election strategies Kubernetes defines; others
/// must be qualified names (`example.com/my-strategy`).
const STRATEGIES: [&str; 1] = ["OldestEmulationVersion"];

/// `ValidateLeaseSpec`.
fn validate_spec(spec: &LeaseSpec) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if let Some(d) = spec.lease_duration_seconds.filter(|d| *d <= 0) {
        errs.push(FieldError::invalid_raw(
            "spec.leaseDurationSeconds",
            d,
            "must be greater than 0",
        ));
    }
    if let Some(t) = spec.lease_transitions.filter(|t| *t < 0) {
        errs.push(FieldError::invalid_raw(
            "spec.leaseTransitions",
            t,
            NEGATIVE,
        ));
    }
    if let Some(strategy) = &spec.strategy {
        // Upstream's path repeats `strategy`.
        let path = "spec.strategy.strategy";
        if !strategy.contains('/') {
            if !STRATEGIES.contains(&strategy.as_str()) {
                errs.push(FieldError::not_supported(path, strategy, &STRATEGIES));
            }
        } else {
            errs.extend(super::rules::qualified_name(path, strategy));
        }
    }
    let has_strategy = spec.strategy.as_deref().is_some_and(|s| !s.is_empty());
    if spec
        .preferred_holder
        .as_deref()
        .is_some_and(|p| !p.is_empty())
        && !has_strategy
    {
        errs.push(FieldError::forbidden(
            "spec.preferredHolder",
            "may only be specified if `strategy` is defined",
        ));
    }
    errs
}

impl Strategy<Lease> for LeaseStrategy {
    fn validate(&self, lease: &Lease) -> Vec<FieldError> {
        lease.spec.as_ref().map(validate_spec).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lease(spec: LeaseSpec) -> Lease {
        Lease {
            spec: Some(spec),
            ..Default::default()
        }
    }

    fn texts(l: &Lease) -> Vec<String> {
        LeaseStrategy
            .validate(l)
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn heartbeat_leases_pass() {
        let l = lease(LeaseSpec {
            holder_identity: Some("node-1".into()),
            lease_duration_seconds: Some(40),
            lease_transitions: Some(0),
            ..Default::default()
        });
        assert!(texts(&l).is_empty());
        assert!(texts(&Lease::default()).is_empty());
    }

    #[test]
    fn durations_and_transitions() {
        let l = lease(LeaseSpec {
            lease_duration_seconds: Some(0),
            lease_transitions: Some(-1),
            ..Default::default()
        });
        assert_eq!(
            texts(&l),
            [
                "spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0",
                "spec.leaseTransitions: Invalid value: -1: must be greater than or equal to 0",
            ]
        );
    }

    #[test]
    fn strategies_and_preferred_holders() {
        let l = lease(LeaseSpec {
            strategy: Some("Youngest".into()),
            ..Default::default()
        });
        assert_eq!(
            texts(&l),
            [
                r#"spec.strategy.strategy: Unsupported value: "Youngest": supported values: "OldestEmulationVersion""#
            ]
        );
        let l = lease(LeaseSpec {
            strategy: Some("example.com/custom".into()),
            preferred_holder: Some("a".into()),
            ..Default::default()
        });
        assert!(texts(&l).is_empty());
        let l = lease(LeaseSpec {
            preferred_holder: Some("a".into()),
            ..Default::default()
        });
        assert_eq!(
            texts(&l),
            ["spec.preferredHolder: Forbidden: may only be specified if `strategy` is defined"]
        );
    }
}

//! Pods: defaults, validation, graceful deletion, binding and field
//! selectors (`pkg/registry/core/pod` upstream).

use api_types::core::v1::qos::qos_class;
use api_types::core::v1::{Binding, Pod, PodCondition, PodSpec, PodStatus};
use api_types::meta::v1::Time;

use super::pod_spec::{admit_pod_spec, default_pod_spec, validate_pod_spec};
use crate::error::{ApiError, FieldError, GroupResource};
use crate::registry::strategy::{FieldSet, Strategy, keep_spec, keep_status};

pub struct PodStrategy;

const SELECTABLE: &[&str] = &[
    "spec.nodeName",
    "spec.restartPolicy",
    "spec.schedulerName",
    "spec.serviceAccountName",
    "spec.hostNetwork",
    "status.phase",
    "status.podIP",
    "status.podIPs",
    "status.nominatedNodeName",
];

/// The spec with every field a pod update may change reset to `old`'s:
/// what remains must be equal for the update to be allowed.
fn immutable_part(spec: &PodSpec, old: &PodSpec) -> PodSpec {
    let mut s = spec.clone();
    for (c, o) in s.containers.iter_mut().zip(&old.containers) {
        c.image = o.image.clone();
    }
    if let (Some(cs), Some(os)) = (s.init_containers.as_mut(), old.init_containers.as_ref()) {
        for (c, o) in cs.iter_mut().zip(os) {
            c.image = o.image.clone();
        }
    }
    s.active_deadline_seconds = old.active_deadline_seconds;
    s.termination_grace_period_seconds = old.termination_grace_period_seconds;
    // Tolerations may only grow: compare the old ones as a prefix.
    if let (Some(new_t), Some(old_t)) = (s.tolerations.as_ref(), old.tolerations.as_ref())
        && new_t.len() >= old_t.len()
        && old_t.iter().all(|t| new_t.contains(t))
    {
        s.tolerations = old.tolerations.clone();
    }
    s
}

impl Strategy<Pod> for PodStrategy {
    fn tracks_generation(&self) -> bool {
        true
    }

    fn returns_deleted_object(&self) -> bool {
        true
    }

    fn default(&self, pod: &mut Pod) {
        if let Some(spec) = pod.spec.as_mut() {
            default_pod_spec(spec);
        }
    }

    fn prepare_for_create(&self, pod: &mut Pod) {
        let spec = pod.spec.get_or_insert_with(Default::default);
        admit_pod_spec(spec);
        let qos = qos_class(spec);
        pod.status = Some(PodStatus {
            phase: Some("Pending".into()),
            qos_class: Some(qos.into()),
            ..Default::default()
        });
    }

    fn validate(&self, pod: &Pod) -> Vec<FieldError> {
        match &pod.spec {
            Some(spec) => validate_pod_spec("spec", spec),
            None => vec![FieldError::required("spec.containers", "")],
        }
    }

    fn prepare_for_update(&self, new: &mut Pod, old: &Pod) {
        keep_status(new, old);
    }

    fn validate_update(&self, new: &Pod, old: &Pod) -> Vec<FieldError> {
        let mut errs = self.validate(new);
        if let (Some(n), Some(o)) = (&new.spec, &old.spec) {
            let tolerations_shrunk = match (&n.tolerations, &o.tolerations) {
                (Some(nt), Some(ot)) => !ot.iter().all(|t| nt.contains(t)),
                (None, Some(ot)) => !ot.is_empty(),
                _ => false,
            };
            if n.containers.len() != o.containers.len()
                || immutable_part(n, o) != *o
                || tolerations_shrunk
            {
                errs.push(FieldError::forbidden(
                    "spec",
                    "pod updates may not change fields other than `spec.containers[*].image`,\
                     `spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` \
                     (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` \
                     (allow it to be set to 1 if it was previously negative)",
                ));
            }
        }
        errs
    }

    fn spec_changed(&self, new: &Pod, old: &Pod) -> bool {
        new.spec != old.spec
    }

    fn has_status(&self) -> bool {
        true
    }

    fn prepare_for_status_update(&self, new: &mut Pod, old: &Pod) {
        keep_spec(new, old);
        // Old kubelets are known to corrupt these; only the main resource may change them.
        new.metadata.owner_references = old.metadata.owner_references.clone();
    }

    fn grace_period(&self, pod: &Pod, requested: Option<i64>) -> i64 {
        let spec = pod.spec.as_ref();
        let unscheduled = spec
            .and_then(|s| s.node_name.as_deref())
            .unwrap_or_default()
            .is_empty();
        let finished = matches!(
            pod.status.as_ref().and_then(|s| s.phase.as_deref()),
            Some("Succeeded" | "Failed")
        );
        if unscheduled || finished {
            // Nothing runs it: nothing to wait for.
            return 0;
        }
        let grace = requested.unwrap_or_else(|| {
            spec.and_then(|s| s.termination_grace_period_seconds)
                .unwrap_or(30)
        });
        // A negative grace period means "as soon as possible", which the
        // kubelet still has to carry out.
        if grace < 0 { 1 } else { grace }
    }

    fn fields(&self, pod: &Pod) -> FieldSet {
        let spec = pod.spec.as_ref();
        let status = pod.status.as_ref();
        let s = |v: Option<&String>| v.cloned().unwrap_or_default();
        vec![
            ("spec.nodeName", s(spec.and_then(|s| s.node_name.as_ref()))),
            (
                "spec.restartPolicy",
                s(spec.and_then(|s| s.restart_policy.as_ref())),
            ),
            (
                "spec.schedulerName",
                s(spec.and_then(|s| s.scheduler_name.as_ref())),
            ),
            (
                "spec.serviceAccountName",
                s(spec.and_then(|s| s.service_account_name.as_ref())),
            ),
            (
                "spec.hostNetwork",
                spec.and_then(|s| s.host_network)
                    .unwrap_or(false)
                    .to_string(),
            ),
            ("status.phase", s(status.and_then(|s| s.phase.as_ref()))),
            ("status.podIP", s(status.and_then(|s| s.pod_ip.as_ref()))),
            (
                "status.podIPs",
                status
                    .and_then(|s| s.pod_ips.as_ref())
                    .map(|ips| {
                        ips.iter()
                            .map(|i| i.ip.clone())
                            .collect::<Vec<_>>()
                            .join(",")
                    })
                    .unwrap_or_default(),
            ),
            (
                "status.nominatedNodeName",
                s(status.and_then(|s| s.nominated_node_name.as_ref())),
            ),
        ]
    }

    fn selectable_fields(&self) -> &'static [&'static str] {
        SELECTABLE
    }

    fn watch_index(&self) -> Option<&'static str> {
        Some("spec.nodeName")
    }

    fn bind(&self, pod: &mut Pod, binding: &Binding) -> Result<(), ApiError> {
        let name = pod.metadata.name.clone();
        let conflict = |detail: String| ApiError::Conflict {
            resource: GroupResource::new("", "pods/binding"),
            name: name.clone(),
            detail,
        };
        if pod.metadata.deletion_timestamp.is_some() {
            return Err(conflict(format!(
                "pod {name} is being deleted, cannot be assigned to a host"
            )));
        }
        let target = &binding.target;
        let node_name = target.name.clone().unwrap_or_default();
        if node_name.is_empty() {
            return Err(ApiError::Invalid {
                group: String::new(),
                kind: "Binding".into(),
                name: name.clone(),
                causes: vec![FieldError::required("target.name", "")],
            });
        }
        if let Some(kind) = target
            .kind
            .as_deref()
            .filter(|k| !k.is_empty() && *k != "Node")
        {
            return Err(ApiError::BadRequest(format!(
                "binding target kind must be Node, not {kind}"
            )));
        }
        let spec = pod.spec.get_or_insert_with(Default::default);
        if let Some(node) = spec.node_name.as_deref().filter(|n| !n.is_empty()) {
            return Err(conflict(format!(
                "pod {name} is already assigned to node \"{node}\""
            )));
        }
        spec.node_name = Some(node_name);
        for (k, v) in &binding.metadata.annotations {
            pod.metadata.annotations.insert(k.clone(), v.clone());
        }
        set_condition(
            pod.status.get_or_insert_with(Default::default),
            PodCondition {
                type_: "PodScheduled".into(),
                status: "True".into(),
                last_transition_time: Some(Time::now()),
                ..Default::default()
            },
        );
        Ok(())
    }
}

/// Replaces the condition of the same type (keeping its transition time if
/// the status did not change), or appends it.
pub fn set_condition(status: &mut PodStatus, cond: PodCondition) {
    let conditions = status.conditions.get_or_insert_with(Vec::new);
    match conditions.iter_mut().find(|c| c.type_ == cond.type_) {
        Some(existing) if existing.status == cond.status => {
            existing.reason = cond.reason;
            existing.message = cond.message;
        }
        Some(existing) => *existing = cond,
        None => conditions.push(cond),
    }
}

#[cfg(test)]
mod tests {
    use api_types::core::v1::{Container, ObjectReference};

    use super::*;

    fn pod(node: Option<&str>) -> Pod {
        Pod {
            metadata: api_types::meta::v1::ObjectMeta {
                name: "web".into(),
                namespace: "default".into(),
                ..Default::default()
            },
            spec: Some(PodSpec {
                node_name: node.map(str::to_string),
                containers: vec![Container {
                    name: "c".into(),
                    image: Some("nginx:1.25".into()),
                    ..Default::default()
                }],
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn defaults_and_create_status() {
        let mut p = pod(None);
        PodStrategy.default(&mut p);
        PodStrategy.prepare_for_create(&mut p);
        let spec = p.spec.as_ref().expect("spec");
        assert_eq!(spec.restart_policy.as_deref(), Some("Always"));
        assert_eq!(spec.termination_grace_period_seconds, Some(30));
        assert_eq!(
            spec.containers[0].image_pull_policy.as_deref(),
            Some("IfNotPresent")
        );
        assert_eq!(spec.service_account_name.as_deref(), Some("default"));
        assert_eq!(spec.tolerations.as_ref().map(Vec::len), Some(2));
        let status = p.status.as_ref().expect("status");
        assert_eq!(status.phase.as_deref(), Some("Pending"));
        assert_eq!(status.qos_class.as_deref(), Some("BestEffort"));
        assert!(PodStrategy.validate(&p).is_empty());
    }

    #[test]
    fn grace_period_rules() {
        assert_eq!(
            PodStrategy.grace_period(&pod(None), None),
            0,
            "unscheduled pods go at once"
        );
        let mut running = pod(Some("node-1"));
        PodStrategy.default(&mut running);
        assert_eq!(PodStrategy.grace_period(&running, None), 30);
        assert_eq!(PodStrategy.grace_period(&running, Some(0)), 0);
        assert_eq!(PodStrategy.grace_period(&running, Some(-5)), 1);
        running.status = Some(PodStatus {
            phase: Some("Succeeded".into()),
            ..Default::default()
        });
        assert_eq!(PodStrategy.grace_period(&running, None), 0);
    }

    #[test]
    fn binding_sets_node_once() {
        let mut p = pod(None);
        let b = Binding {
            target: ObjectReference {
                kind: Some("Node".into()),
                name: Some("node-1".into()),
                ..Default::default()
            },
            ..Default::default()
        };
        PodStrategy.bind(&mut p, &b).expect("binds");
        assert_eq!(
            p.spec.as_ref().and_then(|s| s.node_name.as_deref()),
            Some("node-1")
        );
        let cond = &p
            .status
            .as_ref()
            .and_then(|s| s.conditions.clone())
            .expect("conditions")[0];
        assert_eq!(
            (cond.type_.as_str(), cond.status.as_str()),
            ("PodScheduled", "True")
        );
        let err = PodStrategy.bind(&mut p, &b).expect_err("already bound");
        assert_eq!(err.code(), http::StatusCode::CONFLICT);
        assert!(
            err.to_string()
                .contains(r#"pod web is already assigned to node "node-1""#),
            "{err}"
        );
    }

    #[test]
    fn only_images_may_change() {
        let mut old = pod(Some("n"));
        PodStrategy.default(&mut old);
        let mut new = old.clone();
        if let Some(s) = new.spec.as_mut() {
            s.containers[0].image = Some("nginx:1.26".into());
        }
        assert!(PodStrategy.validate_update(&new, &old).is_empty());
        if let Some(s) = new.spec.as_mut() {
            s.containers[0].name = "renamed".into();
        }
        let errs = PodStrategy.validate_update(&new, &old);
        assert_eq!(errs.len(), 1);
        assert!(
            errs[0]
                .to_string()
                .starts_with("spec: Forbidden: pod updates may not change fields")
        );
    }

    #[test]
    fn invalid_pods_report_every_problem() {
        let mut p = pod(None);
        if let Some(s) = p.spec.as_mut() {
            s.containers.push(Container {
                name: "c".into(),
                ..Default::default()
            });
            s.restart_policy = Some("Sometimes".into());
        }
        let errs: Vec<String> = PodStrategy
            .validate(&p)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            errs,
            [
                "spec.containers[1].image: Required value",
                r#"spec.containers[1].name: Duplicate value: "c""#,
                r#"spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never""#,
            ]
        );
    }
}

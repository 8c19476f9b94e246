//! ReplicationControllers: the original "keep N pods running" object,
//! superseded by ReplicaSets (`pkg/registry/core/replicationcontroller`
//! and `ValidateReplicationController` upstream).
//!
//! The selector is a plain label map; when it is left out it defaults to
//! the template's labels (as do the controller's own labels), so
//! `kubectl create` of a minimal RC just works.

use api_types::core::v1::{ReplicationController, ReplicationControllerStatus};
use api_types::labels::Selector;

use super::pod_template::{default_template, validate_controller_template};
use crate::error::FieldError;
use crate::registry::rules::nonnegative;
use crate::registry::strategy::{
    FieldSet, ScaleAccess, Strategy, keep_spec, keep_status, spec_differs,
};

pub struct ReplicationControllerStrategy;

/// `ValidateReplicationControllerStatus` (also used by ReplicaSets, whose
/// status has the same shape).
pub fn validate_replica_status(
    replicas: i32,
    fully_labeled: Option<i32>,
    ready: Option<i32>,
    available: Option<i32>,
    observed_generation: Option<i64>,
) -> Vec<FieldError> {
    let (fully_labeled, ready, available) = (
        fully_labeled.unwrap_or(0),
        ready.unwrap_or(0),
        available.unwrap_or(0),
    );
    let mut errs: Vec<FieldError> = [
        nonnegative("status.replicas", replicas),
        nonnegative("status.fullyLabeledReplicas", fully_labeled),
        nonnegative("status.readyReplicas", ready),
        nonnegative("status.availableReplicas", available),
        nonnegative(
            "status.observedGeneration",
            observed_generation.unwrap_or(0),
        ),
    ]
    .into_iter()
    .flatten()
    .collect();
    let msg = "cannot be greater than status.replicas";
    for (field, v) in [
        ("status.fullyLabeledReplicas", fully_labeled),
        ("status.readyReplicas", ready),
        ("status.availableReplicas", available),
    ] {
        if v > replicas {
            errs.push(FieldError::invalid_raw(field, v, msg));
        }
    }
    if available > ready {
        errs.push(FieldError::invalid_raw(
            "status.availableReplicas",
            available,
            "cannot be greater than readyReplicas",
        ));
    }
    errs
}

fn status_errors(rc: &ReplicationController) -> Vec<FieldError> {
    let Some(s) = &rc.status else {
        return Vec::new();
    };
    validate_replica_status(
        s.replicas,
        s.fully_labeled_replicas,
        s.ready_replicas,
        s.available_replicas,
        s.observed_generation,
    )
}

fn scale_get(rc: &ReplicationController) -> (i32, i32, String) {
    let spec = rc.spec.as_ref();
    (
        spec.and_then(|s| s.replicas).unwrap_or(1),
        rc.status.as_ref().map_or(0, |s| s.replicas),
        Selector::from_map(&spec.and_then(|s| s.selector.clone()).unwrap_or_default()).to_string(),
    )
}

fn scale_set(rc: &mut ReplicationController, replicas: i32) {
    rc.spec.get_or_insert_with(Default::default).replicas = Some(replicas);
}

impl Strategy<ReplicationController> for ReplicationControllerStrategy {
    fn tracks_generation(&self) -> bool {
        true
    }

    fn default(&self, rc: &mut ReplicationController) {
        let spec = rc.spec.get_or_insert_with(Default::default);
        if let Some(template) = spec.template.as_mut() {
            let labels = template
                .metadata
                .as_ref()
                .map(|m| m.labels.clone())
                .unwrap_or_default();
            if !labels.is_empty() {
                if spec.selector.as_ref().is_none_or(|s| s.is_empty()) {
                    spec.selector = Some(labels.clone());
                }
                if rc.metadata.labels.is_empty() {
                    rc.metadata.labels = labels;
                }
            }
            default_template(template);
        }
        spec.replicas.get_or_insert(1);
    }

    fn prepare_for_create(&self, rc: &mut ReplicationController) {
        rc.status = Some(ReplicationControllerStatus::default());
    }

    fn validate(&self, rc: &ReplicationController) -> Vec<FieldError> {
        let empty = Default::default();
        let spec = rc.spec.as_ref().unwrap_or(&empty);
        let mut errs = Vec::new();
        errs.extend(nonnegative(
            "spec.minReadySeconds",
            spec.min_ready_seconds.unwrap_or(0),
        ));
        let selector = spec.selector.clone().unwrap_or_default();
        if selector.is_empty() {
            errs.push(FieldError::required("spec.selector", ""));
        }
        errs.extend(nonnegative("spec.replicas", spec.replicas.unwrap_or(0)));
        errs.extend(validate_controller_template(
            "spec.template",
            spec.template.as_ref(),
            &Selector::from_map(&selector),
            "ReplicationController",
        ));
        errs
    }

    fn prepare_for_update(&self, new: &mut ReplicationController, old: &ReplicationController) {
        keep_status(new, old);
    }

    fn validate_update(
        &self,
        new: &ReplicationController,
        _old: &ReplicationController,
    ) -> Vec<FieldError> {
        // Also reached by `/status` writes, whose spec is the old one.
        let mut errs = self.validate(new);
        errs.extend(status_errors(new));
        errs
    }

    fn spec_changed(&self, new: &ReplicationController, old: &ReplicationController) -> bool {
        spec_differs(new, old)
    }

    fn has_status(&self) -> bool {
        true
    }

    fn prepare_for_status_update(
        &self,
        new: &mut ReplicationController,
        old: &ReplicationController,
    ) {
        keep_spec(new, old);
    }

    fn fields(&self, rc: &ReplicationController) -> FieldSet {
        vec![(
            "status.replicas",
            rc.status.as_ref().map_or(0, |s| s.replicas).to_string(),
        )]
    }

    fn selectable_fields(&self) -> &'static [&'static str] {
        &["status.replicas"]
    }

    fn scale(&self) -> Option<ScaleAccess<ReplicationController>> {
        Some(ScaleAccess {
            get: scale_get,
            set: scale_set,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use api_types::core::v1::{Container, PodSpec, PodTemplateSpec, ReplicationControllerSpec};
    use api_types::meta::v1::ObjectMeta;

    use super::*;

    fn rc(selector: Option<&[(&str, &str)]>, template_app: &str) -> ReplicationController {
        ReplicationController {
            spec: Some(ReplicationControllerSpec {
                selector: selector.map(|s| {
                    s.iter()
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .collect()
                }),
                template: Some(PodTemplateSpec {
                    metadata: Some(ObjectMeta {
                        labels: BTreeMap::from([("app".into(), template_app.into())]),
                        ..Default::default()
                    }),
                    spec: Some(PodSpec {
                        containers: vec![Container {
                            name: "c".into(),
                            image: Some("nginx:1.25".into()),
                            ..Default::default()
                        }],
                        ..Default::default()
                    }),
                }),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn texts(errs: &[FieldError]) -> Vec<String> {
        errs.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn selector_labels_and_replicas_default_from_the_template() {
        let mut r = rc(None, "web");
        ReplicationControllerStrategy.default(&mut r);
        ReplicationControllerStrategy.prepare_for_create(&mut r);
        let spec = r.spec.as_ref().expect("spec");
        let web = BTreeMap::from([("app".to_string(), "web".to_string())]);
        assert_eq!(spec.selector.as_ref(), Some(&web));
        assert_eq!(r.metadata.labels, web);
        assert_eq!(spec.replicas, Some(1));
        assert_eq!(
            spec.template
                .as_ref()
                .and_then(|t| t.spec.as_ref())
                .and_then(|s| s.dns_policy.as_deref()),
            Some("ClusterFirst")
        );
        assert_eq!(r.status.as_ref().map(|s| s.replicas), Some(0));
        assert!(ReplicationControllerStrategy.validate(&r).is_empty());
        assert_eq!(
            (ReplicationControllerStrategy.scale().expect("scale").get)(&r),
            (1, 0, "app=web".to_string())
        );
    }

    #[test]
    fn selector_must_match_the_template() {
        let mut r = rc(Some(&[("app", "web")]), "db");
        ReplicationControllerStrategy.default(&mut r);
        assert_eq!(
            texts(&ReplicationControllerStrategy.validate(&r)),
            [
                r#"spec.template.metadata.labels: Invalid value: map[string]string{"app":"db"}: `selector` does not match template `labels`"#
            ]
        );
        let mut empty = rc(None, "web");
        if let Some(t) = empty.spec.as_mut().and_then(|s| s.template.as_mut()) {
            t.metadata = None;
        }
        ReplicationControllerStrategy.default(&mut empty);
        assert_eq!(
            texts(&ReplicationControllerStrategy.validate(&empty)),
            ["spec.selector: Required value"]
        );
    }

    #[test]
    fn replicas_and_template_are_checked() {
        let mut r = rc(None, "web");
        ReplicationControllerStrategy.default(&mut r);
        if let Some(s) = r.spec.as_mut() {
            s.replicas = Some(-1);
            s.template = None;
        }
        assert_eq!(
            texts(&ReplicationControllerStrategy.validate(&r)),
            [
                "spec.replicas: Invalid value: -1: must be greater than or equal to 0",
                "spec.template: Required value",
            ]
        );
    }

    #[test]
    fn generation_follows_the_spec_and_scale_sets_replicas() {
        let mut old = rc(None, "web");
        ReplicationControllerStrategy.default(&mut old);
        let mut new = old.clone();
        new.metadata.labels.insert("extra".into(), "x".into());
        assert!(!ReplicationControllerStrategy.spec_changed(&new, &old));
        (ReplicationControllerStrategy.scale().expect("scale").set)(&mut new, 5);
        assert!(ReplicationControllerStrategy.spec_changed(&new, &old));
        assert!(ReplicationControllerStrategy.tracks_generation());
        assert!(!ReplicationControllerStrategy.returns_deleted_object());
    }

    #[test]
    fn status_updates_keep_the_spec_and_are_checked() {
        let mut old = rc(None, "web");
        ReplicationControllerStrategy.default(&mut old);
        ReplicationControllerStrategy.prepare_for_create(&mut old);
        let mut new = old.clone();
        if let Some(s) = new.spec.as_mut() {
            s.replicas = Some(9);
        }
        new.status = Some(ReplicationControllerStatus {
            replicas: 2,
            ready_replicas: Some(3),
            ..Default::default()
        });
        ReplicationControllerStrategy.prepare_for_status_update(&mut new, &old);
        assert_eq!(new.spec, old.spec);
        assert_eq!(
            texts(&ReplicationControllerStrategy.validate_update(&new, &old)),
            ["status.readyReplicas: Invalid value: 3: cannot be greater than status.replicas"]
        );
        assert_eq!(
            ReplicationControllerStrategy.fields(&new),
            [("status.replicas", "2".to_string())]
        );
    }
}

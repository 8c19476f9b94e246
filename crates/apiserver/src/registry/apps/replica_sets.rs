//! ReplicaSets: keep N identical pods running (`pkg/registry/apps/replicaset`
//! upstream). Usually created and scaled by a Deployment, one per revision
//! of its pod template.

use api_types::apps::v1::{ReplicaSet, ReplicaSetSpec, ReplicaSetStatus};

use super::{selector_string, selector_unchanged, validate_selector_and_template};
use crate::error::FieldError;
use crate::registry::core::pod_template::default_template;
use crate::registry::core::replication_controllers::validate_replica_status;
use crate::registry::rules::nonnegative;
use crate::registry::strategy::{
    FieldSet, ScaleAccess, Strategy, keep_spec, keep_status, spec_differs,
};

pub struct ReplicaSetStrategy;

fn scale_get(rs: &ReplicaSet) -> (i32, i32, String) {
    let spec = rs.spec.as_ref();
    (
        spec.and_then(|s| s.replicas).unwrap_or(1),
        rs.status.as_ref().map_or(0, |s| s.replicas),
        spec.map(|s| selector_string(&s.selector))
            .unwrap_or_default(),
    )
}

fn scale_set(rs: &mut ReplicaSet, replicas: i32) {
    rs.spec.get_or_insert_with(Default::default).replicas = Some(replicas);
}

impl Strategy<ReplicaSet> for ReplicaSetStrategy {
    fn tracks_generation(&self) -> bool {
        true
    }

    fn default(&self, rs: &mut ReplicaSet) {
        let spec = rs.spec.get_or_insert_with(Default::default);
        spec.replicas.get_or_insert(1);
        if let Some(t) = spec.template.as_mut() {
            default_template(t);
        }
    }

    fn prepare_for_create(&self, rs: &mut ReplicaSet) {
        rs.status = Some(ReplicaSetStatus::default());
    }

    fn validate(&self, rs: &ReplicaSet) -> Vec<FieldError> {
        let empty = ReplicaSetSpec::default();
        let spec = rs.spec.as_ref().unwrap_or(&empty);
        let mut errs: Vec<FieldError> = [
            nonnegative("spec.replicas", spec.replicas.unwrap_or(0)),
            nonnegative("spec.minReadySeconds", spec.min_ready_seconds.unwrap_or(0)),
        ]
        .into_iter()
        .flatten()
        .collect();
        errs.extend(validate_selector_and_template(
            &spec.selector,
            spec.template.as_ref(),
        ));
        errs
    }

    fn prepare_for_update(&self, new: &mut ReplicaSet, old: &ReplicaSet) {
        keep_status(new, old);
    }

    fn validate_update(&self, new: &ReplicaSet, old: &ReplicaSet) -> Vec<FieldError> {
        let mut errs = self.validate(new);
        if let (Some(n), Some(o)) = (&new.spec, &old.spec) {
            errs.extend(selector_unchanged(&n.selector, &o.selector));
        }
        // Also reached by `/status` writes, whose spec is the old one.
        if let Some(s) = &new.status {
            errs.extend(validate_replica_status(
                s.replicas,
                s.fully_labeled_replicas,
                s.ready_replicas,
                s.available_replicas,
                s.observed_generation,
            ));
        }
        errs
    }

    fn spec_changed(&self, new: &ReplicaSet, old: &ReplicaSet) -> bool {
        spec_differs(new, old)
    }

    fn has_status(&self) -> bool {
        true
    }

    fn prepare_for_status_update(&self, new: &mut ReplicaSet, old: &ReplicaSet) {
        keep_spec(new, old);
    }

    fn fields(&self, rs: &ReplicaSet) -> FieldSet {
        vec![(
            "status.replicas",
            rs.status.as_ref().map_or(0, |s| s.replicas).to_string(),
        )]
    }

    fn selectable_fields(&self) -> &'static [&'static str] {
        &["status.replicas"]
    }

    fn scale(&self) -> Option<ScaleAccess<ReplicaSet>> {
        Some(ScaleAccess {
            get: scale_get,
            set: scale_set,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use api_types::core::v1::{Container, PodSpec, PodTemplateSpec};
    use api_types::meta::v1::{LabelSelector, ObjectMeta};

    use super::*;

    fn rs(selector_app: &str, template_app: &str) -> ReplicaSet {
        let mut rs = ReplicaSet {
            spec: Some(ReplicaSetSpec {
                selector: LabelSelector {
                    match_labels: Some(BTreeMap::from([("app".into(), selector_app.into())])),
                    match_expressions: None,
                },
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
        };
        ReplicaSetStrategy.default(&mut rs);
        rs
    }

    fn texts(errs: &[FieldError]) -> Vec<String> {
        errs.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn defaults_status_and_scale() {
        let mut r = rs("web", "web");
        ReplicaSetStrategy.prepare_for_create(&mut r);
        assert_eq!(r.spec.as_ref().and_then(|s| s.replicas), Some(1));
        assert_eq!(r.status, Some(ReplicaSetStatus::default()));
        assert!(ReplicaSetStrategy.validate(&r).is_empty());
        let scale = ReplicaSetStrategy.scale().expect("scale");
        assert_eq!((scale.get)(&r), (1, 0, "app=web".to_string()));
        (scale.set)(&mut r, 3);
        assert_eq!((scale.get)(&r).0, 3);
        assert_eq!(
            ReplicaSetStrategy.fields(&r),
            [("status.replicas", "0".to_string())]
        );
    }

    #[test]
    fn template_must_match_and_counts_must_not_be_negative() {
        let mut r = rs("web", "db");
        if let Some(s) = r.spec.as_mut() {
            s.min_ready_seconds = Some(-5);
        }
        assert_eq!(
            texts(&ReplicaSetStrategy.validate(&r)),
            [
                "spec.minReadySeconds: Invalid value: -5: must be greater than or equal to 0",
                r#"spec.template.metadata.labels: Invalid value: map[string]string{"app":"db"}: `selector` does not match template `labels`"#,
            ]
        );
    }

    #[test]
    fn selector_is_immutable_and_generation_follows_the_spec() {
        let old = rs("web", "web");
        let mut new = rs("web2", "web2");
        ReplicaSetStrategy.prepare_for_update(&mut new, &old);
        assert_eq!(
            texts(&ReplicaSetStrategy.validate_update(&new, &old)),
            [
                r#"spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{"app":"web2"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable"#
            ]
        );
        assert!(ReplicaSetStrategy.spec_changed(&new, &old));
        let mut relabelled = old.clone();
        relabelled
            .metadata
            .annotations
            .insert("note".into(), "x".into());
        assert!(!ReplicaSetStrategy.spec_changed(&relabelled, &old));
    }

    #[test]
    fn status_writes_are_checked() {
        let old = rs("web", "web");
        let mut new = old.clone();
        new.status = Some(ReplicaSetStatus {
            replicas: 1,
            ready_replicas: Some(2),
            observed_generation: Some(-1),
            ..Default::default()
        });
        ReplicaSetStrategy.prepare_for_status_update(&mut new, &old);
        assert_eq!(
            texts(&ReplicaSetStrategy.validate_update(&new, &old)),
            [
                "status.observedGeneration: Invalid value: -1: must be greater than or equal to 0",
                "status.readyReplicas: Invalid value: 2: cannot be greater than status.replicas",
            ]
        );
    }
}

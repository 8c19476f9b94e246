//! The pod template inside a controller (ReplicationController, ReplicaSet,
//! Deployment): defaulted like a pod's spec, validated like one, and tied
//! to the controller's selector (`ValidatePodTemplateSpecForRC` and
//! `ValidatePodTemplateSpecForReplicaSet` upstream).

use api_types::core::v1::{PodSpec, PodTemplateSpec};
use api_types::labels::{Selector, is_qualified_name};

use super::pod_spec::{default_pod_spec, validate_pod_spec};
use crate::error::FieldError;
use crate::registry::gofmt;
use crate::registry::rules::labels;

/// Fills in the template's pod spec defaults (a missing spec is an empty one).
pub fn default_template(t: &mut PodTemplateSpec) {
    default_pod_spec(t.spec.get_or_insert_with(Default::default));
}

/// Validates a controller's template at `path` (`spec.template`).
///
/// The pods it stamps out must be selected by the controller (else it
/// would create pods forever), must restart forever (`Always`), and may not
/// have a deadline. `owner` names the kind in upstream's message about
/// `activeDeadlineSeconds`.
pub fn validate_controller_template(
    path: &str,
    template: Option<&PodTemplateSpec>,
    selector: &Selector,
    owner: &str,
) -> Vec<FieldError> {
    let Some(t) = template else {
        return vec![FieldError::required(path, "")];
    };
    let mut errs = Vec::new();
    let meta = t.metadata.clone().unwrap_or_default();
    if !selector.is_empty() && !selector.matches(&meta.labels) {
        errs.push(FieldError::invalid_raw(
            format!("{path}.metadata.labels"),
            gofmt::labels(&meta.labels),
            "`selector` does not match template `labels`",
        ));
    }
    // Upstream reports template labels and annotations without `metadata.`.
    errs.extend(labels(&format!("{path}.labels"), &meta.labels));
    for k in meta.annotations.keys() {
        for msg in is_qualified_name(&k.to_ascii_lowercase()) {
            errs.push(FieldError::invalid(format!("{path}.annotations"), k, msg));
        }
    }
    let empty = PodSpec::default();
    let spec = t.spec.as_ref().unwrap_or(&empty);
    errs.extend(validate_pod_spec(&format!("{path}.spec"), spec));
    let restart = spec.restart_policy.as_deref().unwrap_or_default();
    if restart != "Always" {
        errs.push(FieldError::not_supported(
            format!("{path}.spec.restartPolicy"),
            restart,
            &["Always"],
        ));
    }
    if spec.active_deadline_seconds.is_some() {
        errs.push(FieldError::forbidden(
            format!("{path}.spec.activeDeadlineSeconds"),
            format!("activeDeadlineSeconds in {owner} is not Supported"),
        ));
    }
    errs
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use api_types::core::v1::Container;
    use api_types::meta::v1::ObjectMeta;

    use super::*;

    fn template(app: &str) -> PodTemplateSpec {
        let mut t = PodTemplateSpec {
            metadata: Some(ObjectMeta {
                labels: BTreeMap::from([("app".into(), app.into())]),
                ..Default::default()
            }),
            spec: Some(PodSpec {
                containers: vec![Container {
                    name: "c".into(),
                    image: Some("nginx".into()),
                    ..Default::default()
                }],
                ..Default::default()
            }),
        };
        default_template(&mut t);
        t
    }

    fn texts(errs: &[FieldError]) -> Vec<String> {
        errs.iter().map(ToString::to_string).collect()
    }

    fn selector(app: &str) -> Selector {
        Selector::from_map(&BTreeMap::from([("app".into(), app.into())]))
    }

    #[test]
    fn defaults_and_a_matching_template_pass() {
        let t = template("web");
        assert_eq!(
            t.spec.as_ref().and_then(|s| s.restart_policy.as_deref()),
            Some("Always")
        );
        assert!(
            validate_controller_template("spec.template", Some(&t), &selector("web"), "ReplicaSet")
                .is_empty()
        );
    }

    #[test]
    fn template_rules() {
        assert_eq!(
            texts(&validate_controller_template(
                "spec.template",
                None,
                &selector("web"),
                "ReplicaSet"
            )),
            ["spec.template: Required value"]
        );
        let mut t = template("db");
        if let Some(s) = t.spec.as_mut() {
            s.restart_policy = Some("OnFailure".into());
            s.active_deadline_seconds = Some(10);
        }
        assert_eq!(
            texts(&validate_controller_template(
                "spec.template",
                Some(&t),
                &selector("web"),
                "ReplicationController"
            )),
            [
                r#"spec.template.metadata.labels: Invalid value: map[string]string{"app":"db"}: `selector` does not match template `labels`"#,
                r#"spec.template.spec.restartPolicy: Unsupported value: "OnFailure": supported values: "Always""#,
                "spec.template.spec.activeDeadlineSeconds: Forbidden: activeDeadlineSeconds in ReplicationController is not Supported",
            ]
        );
        let mut t = template("web");
        t.spec = None;
        assert_eq!(
            texts(&validate_controller_template(
                "spec.template",
                Some(&t),
                &selector("web"),
                "ReplicaSet"
            )),
            [
                "spec.template.spec.containers: Required value",
                r#"spec.template.spec.restartPolicy: Unsupported value: "": supported values: "Always""#,
            ]
        );
    }
}

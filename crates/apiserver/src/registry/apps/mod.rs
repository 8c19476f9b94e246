//! Strategies for the `apps` group: ReplicaSets and Deployments
//! (`pkg/registry/apps` and `pkg/apis/apps/validation` upstream).
//!
//! Both own pods through a structured `spec.selector` that must match their
//! pod template's labels and, in `apps/v1`, can never change: a controller
//! whose selector moved would orphan its pods and adopt strangers.

pub mod deployments;
pub mod replica_sets;

use api_types::core::v1::PodTemplateSpec;
use api_types::labels::Selector;
use api_types::meta::v1::LabelSelector;

use super::core::pod_template::validate_controller_template;
use super::gofmt;
use super::rules::{IMMUTABLE, label_selector};
use crate::error::FieldError;

/// A selector left out of the request: serde cannot tell it from `{}`, so
/// both count as missing (upstream answers `{}` with "empty selector is
/// invalid" instead of "Required").
fn is_missing(sel: &LabelSelector) -> bool {
    sel.match_labels.is_none() && sel.match_expressions.is_none()
}

/// The selector as a string for `/scale` (`status.selector`), `""` if invalid.
pub fn selector_string(sel: &LabelSelector) -> String {
    Selector::from_label_selector(sel)
        .map(|s| s.to_string())
        .unwrap_or_default()
}

/// The selector and template rules of `ValidateReplicaSetSpec` and
/// `ValidateDeploymentSpec`.
pub fn validate_selector_and_template(
    sel: &LabelSelector,
    template: Option<&PodTemplateSpec>,
) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let selector = if is_missing(sel) {
        errs.push(FieldError::required("spec.selector", ""));
        // A nil selector selects nothing, so no template can match it.
        Ok(Selector::nothing())
    } else {
        errs.extend(label_selector("spec.selector", sel));
        let n = sel.match_labels.as_ref().map_or(0, |m| m.len())
            + sel.match_expressions.as_ref().map_or(0, |e| e.len());
        if n == 0 {
            // Upstream says "deployment" for ReplicaSets too.
            errs.push(FieldError::invalid_raw(
                "spec.selector",
                gofmt::label_selector(sel),
                "empty selector is invalid for deployment",
            ));
        }
        Selector::from_label_selector(sel)
    };
    match selector {
        Ok(s) => errs.extend(validate_controller_template(
            "spec.template",
            template,
            &s,
            "ReplicaSet",
        )),
        Err(_) => errs.push(FieldError::invalid_raw(
            "spec.selector",
            gofmt::label_selector(sel),
            "invalid label selector",
        )),
    }
    errs
}

/// `apps/v1` selectors are immutable.
pub fn selector_unchanged(new: &LabelSelector, old: &LabelSelector) -> Option<FieldError> {
    (new != old)
        .then(|| FieldError::invalid_raw("spec.selector", gofmt::label_selector(new), IMMUTABLE))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn texts(errs: &[FieldError]) -> Vec<String> {
        errs.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn selectors_are_required_non_empty_and_immutable() {
        assert_eq!(
            texts(&validate_selector_and_template(
                &LabelSelector::default(),
                None
            )),
            [
                "spec.selector: Required value",
                "spec.template: Required value"
            ]
        );
        let empty = LabelSelector {
            match_labels: Some(BTreeMap::new()),
            match_expressions: None,
        };
        assert_eq!(
            texts(&validate_selector_and_template(&empty, None)),
            [
                "spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector is invalid for deployment",
                "spec.template: Required value",
            ]
        );
        let web = LabelSelector {
            match_labels: Some(BTreeMap::from([("app".into(), "web".into())])),
            match_expressions: None,
        };
        let mut web2 = web.clone();
        web2.match_labels = Some(BTreeMap::from([("app".into(), "web2".into())]));
        assert!(selector_unchanged(&web, &web).is_none());
        assert_eq!(
            selector_unchanged(&web2, &web).map(|e| e.to_string()),
            Some(
                r#"spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{"app":"web2"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable"#
                    .into()
            )
        );
        assert_eq!(selector_string(&web), "app=web");
    }
}

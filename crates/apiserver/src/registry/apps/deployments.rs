//! Deployments: declarative rollouts of a pod template through ReplicaSets
//! (`pkg/registry/apps/deployment` upstream).
//!
//! Defaults describe a cautious rollout: replace 25% of the pods at a time
//! (`maxSurge`/`maxUnavailable`), keep 10 old ReplicaSets for rollbacks, and
//! report a rollout stuck after 600 s.

use api_types::apps::v1::{
    Deployment, DeploymentSpec, DeploymentStatus, DeploymentStrategy as RolloutStrategy,
    RollingUpdateDeployment,
};
use api_types::intstr::IntOrString;

use super::{selector_string, selector_unchanged, validate_selector_and_template};
use crate::error::FieldError;
use crate::registry::core::pod_template::default_template;
use crate::registry::gofmt;
use crate::registry::rules::{nonnegative, not_supported_raw};
use crate::registry::strategy::{ScaleAccess, Strategy, keep_spec, keep_status};

pub struct DeploymentStrategy;

const ROLLING_UPDATE: &str = "RollingUpdate";
const RECREATE: &str = "Recreate";
const PERCENT_ERROR: &str = "a valid percent string must be a numeric string followed by an ending '%' \
     (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')";

/// `SetDefaults_Deployment`.
fn default_spec(spec: &mut DeploymentSpec) {
    spec.replicas.get_or_insert(1);
    let strategy = spec.strategy.get_or_insert_with(Default::default);
    if strategy.type_.as_deref().unwrap_or_default().is_empty() {
        strategy.type_ = Some(ROLLING_UPDATE.into());
    }
    if strategy.type_.as_deref() == Some(ROLLING_UPDATE) {
        let ru = strategy.rolling_update.get_or_insert_with(Default::default);
        ru.max_unavailable
            .get_or_insert_with(|| IntOrString::String("25%".into()));
        ru.max_surge
            .get_or_insert_with(|| IntOrString::String("25%".into()));
    }
    spec.revision_history_limit.get_or_insert(10);
    spec.progress_deadline_seconds.get_or_insert(600);
    default_template(&mut spec.template);
}

/// `25%` → 25, for a well-formed percentage.
fn percent(v: &IntOrString) -> Option<i32> {
    match v {
        IntOrString::String(s) => s
            .strip_suffix('%')
            .filter(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|d| d.parse().ok()),
        IntOrString::Int(_) => None,
    }
}

/// `getIntOrPercentValue`.
fn int_or_percent_value(v: &IntOrString) -> i32 {
    percent(v).unwrap_or_else(|| v.int_value())
}

/// `ValidatePositiveIntOrPercent`.
fn positive_int_or_percent(path: &str, v: &IntOrString) -> Option<FieldError> {
    match v {
        IntOrString::String(_) if percent(v).is_none() => Some(FieldError::invalid_raw(
            path,
            gofmt::int_or_string(v),
            PERCENT_ERROR,
        )),
        IntOrString::String(_) => None,
        IntOrString::Int(i) => nonnegative(path, *i),
    }
}

fn validate_rolling_update(ru: &RollingUpdateDeployment, errs: &mut Vec<FieldError>) {
    let path = "spec.strategy.rollingUpdate";
    // Internally these are plain values: unset means 0.
    let zero = IntOrString::Int(0);
    let unavailable = ru.max_unavailable.as_ref().unwrap_or(&zero);
    let surge = ru.max_surge.as_ref().unwrap_or(&zero);
    let unavailable_path = format!("{path}.maxUnavailable");
    errs.extend(positive_int_or_percent(&unavailable_path, unavailable));
    errs.extend(positive_int_or_percent(&format!("{path}.maxSurge"), surge));
    // A rollout that may neither add nor remove a pod cannot progress.
    if int_or_percent_value(unavailable) == 0 && int_or_percent_value(surge) == 0 {
        errs.push(FieldError::invalid_raw(
            unavailable_path.clone(),
            gofmt::int_or_string(unavailable),
            "may not be 0 when `maxSurge` is 0",
        ));
    }
    if percent(unavailable).is_some_and(|p| p > 100) {
        errs.push(FieldError::invalid_raw(
            unavailable_path,
            gofmt::int_or_string(unavailable),
            "must not be greater than 100%",
        ));
    }
}

/// `ValidateDeploymentStrategy`.
fn validate_strategy(strategy: &RolloutStrategy, errs: &mut Vec<FieldError>) {
    match strategy.type_.as_deref().unwrap_or_default() {
        RECREATE => {
            if strategy.rolling_update.is_some() {
                errs.push(FieldError::forbidden(
                    "spec.strategy.rollingUpdate",
                    "may not be specified when strategy `type` is 'Recreate'",
                ));
            }
        }
        ROLLING_UPDATE => match &strategy.rolling_update {
            None => errs.push(FieldError::required(
                "spec.strategy.rollingUpdate",
                "this should be defaulted and never be nil",
            )),
            Some(ru) => validate_rolling_update(ru, errs),
        },
        other => {
            // Upstream prints the whole strategy struct (with a pointer
            // address for a set rollingUpdate; we print its contents).
            let ru = match &strategy.rolling_update {
                None => "(*apps.RollingUpdateDeployment)(nil)".to_string(),
                Some(ru) => {
                    let zero = IntOrString::Int(0);
                    format!(
                        "&apps.RollingUpdateDeployment{{MaxUnavailable:{}, MaxSurge:{}}}",
                        gofmt::int_or_string(ru.max_unavailable.as_ref().unwrap_or(&zero)),
                        gofmt::int_or_string(ru.max_surge.as_ref().unwrap_or(&zero))
                    )
                }
            };
            errs.push(not_supported_raw(
                "spec.strategy",
                format!(
                    "apps.DeploymentStrategy{{Type:{}, RollingUpdate:{ru}}}",
                    crate::error::quote(other)
                ),
                &[RECREATE, ROLLING_UPDATE],
            ));
        }
    }
}

/// `ValidateDeploymentSpec`.
fn validate_spec(spec: &DeploymentSpec) -> Vec<FieldError> {
    let mut errs = Vec::new();
    errs.extend(nonnegative("spec.replicas", spec.replicas.unwrap_or(0)));
    errs.extend(validate_selector_and_template(
        &spec.selector,
        Some(&spec.template),
    ));
    validate_strategy(&spec.strategy.clone().unwrap_or_default(), &mut errs);
    let min_ready = spec.min_ready_seconds.unwrap_or(0);
    errs.extend(nonnegative("spec.minReadySeconds", min_ready));
    if let Some(limit) = spec.revision_history_limit {
        errs.extend(nonnegative("spec.revisionHistoryLimit", limit));
    }
    if let Some(deadline) = spec.progress_deadline_seconds {
        errs.extend(nonnegative("spec.progressDeadlineSeconds", deadline));
        if deadline <= min_ready {
            errs.push(FieldError::invalid_raw(
                "spec.progressDeadlineSeconds",
                deadline,
                "must be greater than minReadySeconds",
            ));
        }
    }
    errs
}

/// `ValidateDeploymentStatus` plus the collision count rule of a status
/// update (it only grows: it salts ReplicaSet names after hash collisions).
fn validate_status(new: &DeploymentStatus, old: Option<&DeploymentStatus>) -> Vec<FieldError> {
    let v = |x: Option<i32>| x.unwrap_or(0);
    let (replicas, updated, ready, available) = (
        v(new.replicas),
        v(new.updated_replicas),
        v(new.ready_replicas),
        v(new.available_replicas),
    );
    let mut errs: Vec<FieldError> = [
        nonnegative(
            "status.observedGeneration",
            new.observed_generation.unwrap_or(0),
        ),
        nonnegative("status.replicas", replicas),
        nonnegative("status.updatedReplicas", updated),
        nonnegative("status.readyReplicas", ready),
        nonnegative("status.availableReplicas", available),
        nonnegative("status.unavailableReplicas", v(new.unavailable_replicas)),
        new.collision_count
            .and_then(|c| nonnegative("status.collisionCount", c)),
    ]
    .into_iter()
    .flatten()
    .collect();
    let msg = "cannot be greater than status.replicas";
    for (field, n) in [
        ("status.updatedReplicas", updated),
        ("status.readyReplicas", ready),
        ("status.availableReplicas", available),
    ] {
        if n > replicas {
            errs.push(FieldError::invalid_raw(field, n, msg));
        }
    }
    if available > ready {
        errs.push(FieldError::invalid_raw(
            "status.availableReplicas",
            available,
            "cannot be greater than readyReplicas",
        ));
    }
    let old_count = old.and_then(|o| o.collision_count);
    let decremented = match (new.collision_count, old_count) {
        (None, Some(_)) => true,
        (Some(n), Some(o)) => n < o,
        _ => false,
    };
    if decremented {
        errs.push(FieldError::invalid_raw(
            "status.collisionCount",
            new.collision_count.unwrap_or(0),
            "cannot be decremented",
        ));
    }
    errs
}

fn scale_get(d: &Deployment) -> (i32, i32, String) {
    let spec = d.spec.as_ref();
    (
        spec.and_then(|s| s.replicas).unwrap_or(1),
        d.status.as_ref().and_then(|s| s.replicas).unwrap_or(0),
        spec.map(|s| selector_string(&s.selector))
            .unwrap_or_default(),
    )
}

fn scale_set(d: &mut Deployment, replicas: i32) {
    d.spec.get_or_insert_with(Default::default).replicas = Some(replicas);
}

impl Strategy<Deployment> for DeploymentStrategy {
    fn tracks_generation(&self) -> bool {
        true
    }

    fn default(&self, d: &mut Deployment) {
        default_spec(d.spec.get_or_insert_with(Default::default));
    }

    fn prepare_for_create(&self, d: &mut Deployment) {
        d.status = Some(DeploymentStatus::default());
    }

    fn validate(&self, d: &Deployment) -> Vec<FieldError> {
        validate_spec(d.spec.as_ref().unwrap_or(&DeploymentSpec::default()))
    }

    fn prepare_for_update(&self, new: &mut Deployment, old: &Deployment) {
        keep_status(new, old);
    }

    fn validate_update(&self, new: &Deployment, old: &Deployment) -> Vec<FieldError> {
        let mut errs = self.validate(new);
        if let (Some(n), Some(o)) = (&new.spec, &old.spec) {
            errs.extend(selector_unchanged(&n.selector, &o.selector));
        }
        // Also reached by `/status` writes, whose spec is the old one.
        if let Some(s) = &new.status {
            errs.extend(validate_status(s, old.status.as_ref()));
        }
        errs
    }

    /// Annotations count too: the deployment controller copies them onto
    /// its ReplicaSets, so a change must be observed like a spec change.
    fn spec_changed(&self, new: &Deployment, old: &Deployment) -> bool {
        new.spec != old.spec || new.metadata.annotations != old.metadata.annotations
    }

    fn has_status(&self) -> bool {
        true
    }

    fn prepare_for_status_update(&self, new: &mut Deployment, old: &Deployment) {
        keep_spec(new, old);
    }

    fn scale(&self) -> Option<ScaleAccess<Deployment>> {
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

    fn deployment() -> Deployment {
        let labels = BTreeMap::from([("app".to_string(), "web".to_string())]);
        let mut d = Deployment {
            spec: Some(DeploymentSpec {
                selector: LabelSelector {
                    match_labels: Some(labels.clone()),
                    match_expressions: None,
                },
                template: PodTemplateSpec {
                    metadata: Some(ObjectMeta {
                        labels,
                        ..Default::default()
                    }),
                    spec: Some(PodSpec {
                        containers: vec![Container {
                            name: "web".into(),
                            image: Some("nginx:1.25".into()),
                            ..Default::default()
                        }],
                        ..Default::default()
                    }),
                },
                ..Default::default()
            }),
            ..Default::default()
        };
        DeploymentStrategy.default(&mut d);
        d
    }

    fn with_strategy(f: impl FnOnce(&mut RolloutStrategy)) -> Deployment {
        let mut d = deployment();
        if let Some(s) = d.spec.as_mut().and_then(|s| s.strategy.as_mut()) {
            f(s);
        }
        d
    }

    fn texts(d: &Deployment) -> Vec<String> {
        DeploymentStrategy
            .validate(d)
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn defaults() {
        let mut d = deployment();
        DeploymentStrategy.prepare_for_create(&mut d);
        let spec = d.spec.as_ref().expect("spec");
        assert_eq!(spec.replicas, Some(1));
        assert_eq!(spec.revision_history_limit, Some(10));
        assert_eq!(spec.progress_deadline_seconds, Some(600));
        let strategy = spec.strategy.as_ref().expect("strategy");
        assert_eq!(strategy.type_.as_deref(), Some("RollingUpdate"));
        let ru = strategy.rolling_update.as_ref().expect("rollingUpdate");
        assert_eq!(ru.max_surge, Some(IntOrString::String("25%".into())));
        assert_eq!(ru.max_unavailable, Some(IntOrString::String("25%".into())));
        assert_eq!(
            serde_json::to_value(&d.status).expect("json"),
            serde_json::json!({})
        );
        assert!(texts(&d).is_empty(), "{:?}", texts(&d));
        let scale = DeploymentStrategy.scale().expect("scale");
        assert_eq!((scale.get)(&d), (1, 0, "app=web".to_string()));
    }

    #[test]
    fn recreate_gets_no_rolling_update_defaults() {
        let mut d = deployment();
        if let Some(s) = d.spec.as_mut() {
            s.strategy = Some(RolloutStrategy {
                type_: Some("Recreate".into()),
                rolling_update: None,
            });
        }
        DeploymentStrategy.default(&mut d);
        assert!(texts(&d).is_empty());
        let d = with_strategy(|s| s.type_ = Some("Recreate".into()));
        assert_eq!(
            texts(&d),
            [
                "spec.strategy.rollingUpdate: Forbidden: may not be specified when strategy `type` is 'Recreate'"
            ]
        );
    }

    #[test]
    fn strategy_type_must_be_known() {
        let d = with_strategy(|s| {
            s.type_ = Some("BlueGreen".into());
            s.rolling_update = None;
        });
        assert_eq!(
            texts(&d),
            [
                r#"spec.strategy: Unsupported value: apps.DeploymentStrategy{Type:"BlueGreen", RollingUpdate:(*apps.RollingUpdateDeployment)(nil)}: supported values: "Recreate", "RollingUpdate""#
            ]
        );
    }

    #[test]
    fn rolling_update_bounds() {
        let d = with_strategy(|s| {
            s.rolling_update = Some(RollingUpdateDeployment {
                max_unavailable: Some(IntOrString::Int(0)),
                max_surge: Some(IntOrString::String("0%".into())),
            })
        });
        assert_eq!(
            texts(&d),
            [
                r#"spec.strategy.rollingUpdate.maxUnavailable: Invalid value: intstr.IntOrString{Type:0, IntVal:0, StrVal:""}: may not be 0 when `maxSurge` is 0"#
            ]
        );
        let d = with_strategy(|s| {
            s.rolling_update = Some(RollingUpdateDeployment {
                max_unavailable: Some(IntOrString::String("125%".into())),
                max_surge: Some(IntOrString::Int(-1)),
            })
        });
        assert_eq!(
            texts(&d),
            [
                "spec.strategy.rollingUpdate.maxSurge: Invalid value: -1: must be greater than or equal to 0",
                r#"spec.strategy.rollingUpdate.maxUnavailable: Invalid value: intstr.IntOrString{Type:1, IntVal:0, StrVal:"125%"}: must not be greater than 100%"#,
            ]
        );
        let d = with_strategy(|s| {
            if let Some(ru) = s.rolling_update.as_mut() {
                ru.max_surge = Some(IntOrString::String("lots".into()));
            }
        });
        assert_eq!(
            texts(&d),
            [
                r#"spec.strategy.rollingUpdate.maxSurge: Invalid value: intstr.IntOrString{Type:1, IntVal:0, StrVal:"lots"}: a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')"#
            ]
        );
    }

    #[test]
    fn progress_deadline_exceeds_min_ready() {
        let mut d = deployment();
        if let Some(s) = d.spec.as_mut() {
            s.min_ready_seconds = Some(600);
        }
        assert_eq!(
            texts(&d),
            [
                "spec.progressDeadlineSeconds: Invalid value: 600: must be greater than minReadySeconds"
            ]
        );
    }

    #[test]
    fn selector_immutable_and_generation_on_spec_or_annotation_change() {
        let old = deployment();
        let mut new = old.clone();
        if let Some(s) = new.spec.as_mut() {
            s.selector.match_labels = Some(BTreeMap::from([
                ("app".into(), "web".into()),
                ("v".into(), "2".into()),
            ]));
        }
        let errs: Vec<String> = DeploymentStrategy
            .validate_update(&new, &old)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(errs.len(), 2, "{errs:?}");
        assert!(errs[0].starts_with("spec.template.metadata.labels: Invalid value"));
        assert!(errs[1].ends_with("field is immutable"));
        let mut annotated = old.clone();
        annotated
            .metadata
            .annotations
            .insert("kubernetes.io/change-cause".into(), "v2".into());
        assert!(DeploymentStrategy.spec_changed(&annotated, &old));
        let mut labelled = old.clone();
        labelled.metadata.labels.insert("team".into(), "a".into());
        assert!(!DeploymentStrategy.spec_changed(&labelled, &old));
    }

    #[test]
    fn status_rules() {
        let mut old = deployment();
        old.status = Some(DeploymentStatus {
            collision_count: Some(2),
            ..Default::default()
        });
        let mut new = old.clone();
        new.status = Some(DeploymentStatus {
            replicas: Some(1),
            available_replicas: Some(2),
            ready_replicas: Some(2),
            collision_count: Some(1),
            ..Default::default()
        });
        DeploymentStrategy.prepare_for_status_update(&mut new, &old);
        let errs: Vec<String> = DeploymentStrategy
            .validate_update(&new, &old)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            errs,
            [
                "status.readyReplicas: Invalid value: 2: cannot be greater than status.replicas",
                "status.availableReplicas: Invalid value: 2: cannot be greater than status.replicas",
                "status.collisionCount: Invalid value: 1: cannot be decremented",
            ]
        );
    }
}

//! Defaulting and validation of a `PodSpec`, shared by pods and by the pod
//! templates inside ReplicationControllers, ReplicaSets and Deployments.
//!
//! Defaults are what `kubectl get pod -o yaml` shows that you never wrote:
//! `restartPolicy: Always`, `dnsPolicy: ClusterFirst`, an `imagePullPolicy`
//! derived from the image tag, `terminationMessagePath`, and so on.

use std::collections::{BTreeMap, BTreeSet};

use api_types::core::v1::{Container, PodSpec, Probe, Toleration};
use api_types::intstr::IntOrString;
use api_types::quantity::Quantity;

use crate::error::FieldError;
use crate::registry::validation::dns1123_label;

pub const RESTART_POLICIES: [&str; 3] = ["Always", "OnFailure", "Never"];
const PULL_POLICIES: [&str; 3] = ["Always", "IfNotPresent", "Never"];
const DNS_POLICIES: [&str; 4] = ["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"];
const PROTOCOLS: [&str; 3] = ["TCP", "UDP", "SCTP"];
const TOLERATION_OPERATORS: [&str; 2] = ["Equal", "Exists"];
const TAINT_EFFECTS: [&str; 3] = ["NoSchedule", "PreferNoSchedule", "NoExecute"];

/// `Always` for `:latest` or untagged images, else `IfNotPresent`.
pub fn default_pull_policy(image: &str) -> &'static str {
    // Strip a digest, then look for a tag after the last path component.
    let without_digest = image.split('@').next().unwrap_or(image);
    let last = without_digest.rsplit('/').next().unwrap_or(without_digest);
    match last.split_once(':') {
        _ if image.contains('@') => "IfNotPresent",
        Some((_, "latest")) | None => "Always",
        Some(_) => "IfNotPresent",
    }
}

fn default_probe(p: &mut Probe) {
    p.timeout_seconds.get_or_insert(1);
    p.period_seconds.get_or_insert(10);
    p.success_threshold.get_or_insert(1);
    p.failure_threshold.get_or_insert(3);
    if let Some(h) = p.http_get.as_mut() {
        h.path.get_or_insert_with(|| "/".into());
        h.scheme.get_or_insert_with(|| "HTTP".into());
    }
}

fn default_container(c: &mut Container) {
    if c.image_pull_policy.is_none() {
        let image = c.image.as_deref().unwrap_or_default();
        c.image_pull_policy = Some(default_pull_policy(image).into());
    }
    c.termination_message_path
        .get_or_insert_with(|| "/dev/termination-log".into());
    c.termination_message_policy
        .get_or_insert_with(|| "File".into());
    for p in c.ports.iter_mut().flatten() {
        p.protocol.get_or_insert_with(|| "TCP".into());
    }
    for p in [
        &mut c.liveness_probe,
        &mut c.readiness_probe,
        &mut c.startup_probe,
    ]
    .into_iter()
    .flatten()
    {
        default_probe(p);
    }
    for e in c.env.iter_mut().flatten() {
        if let Some(f) = e.value_from.as_mut().and_then(|v| v.field_ref.as_mut()) {
            f.api_version.get_or_insert_with(|| "v1".into());
        }
    }
    // Requests default to limits.
    if let Some(res) = c.resources.as_mut()
        && let Some(limits) = res.limits.clone()
    {
        let requests = res.requests.get_or_insert_with(BTreeMap::new);
        for (k, v) in limits {
            requests.entry(k).or_insert(v);
        }
    }
}

/// Fills in a pod spec's defaults.
pub fn default_pod_spec(spec: &mut PodSpec) {
    spec.restart_policy.get_or_insert_with(|| "Always".into());
    spec.termination_grace_period_seconds.get_or_insert(30);
    spec.dns_policy.get_or_insert_with(|| "ClusterFirst".into());
    spec.security_context.get_or_insert_with(Default::default);
    spec.scheduler_name
        .get_or_insert_with(|| "default-scheduler".into());
    spec.enable_service_links.get_or_insert(true);
    for c in spec
        .init_containers
        .iter_mut()
        .flatten()
        .chain(spec.containers.iter_mut())
    {
        default_container(c);
    }
    for v in spec.volumes.iter_mut().flatten() {
        if let Some(cm) = v.config_map.as_mut() {
            cm.default_mode.get_or_insert(0o644);
        }
        if let Some(s) = v.secret.as_mut() {
            s.default_mode.get_or_insert(0o644);
        }
        if let Some(p) = v.projected.as_mut() {
            p.default_mode.get_or_insert(0o644);
        }
        if let Some(d) = v.downward_api.as_mut() {
            d.default_mode.get_or_insert(0o644);
        }
    }
}

/// Pod-level defaults that upstream applies at admission: the service
/// account, priority, and tolerating `not-ready`/`unreachable` nodes for
/// 300 s (so a brief node outage does not evict everything at once).
pub fn admit_pod_spec(spec: &mut PodSpec) {
    if spec
        .service_account_name
        .as_deref()
        .unwrap_or_default()
        .is_empty()
    {
        spec.service_account_name = Some(
            spec.service_account
                .clone()
                .unwrap_or_else(|| "default".into()),
        );
    }
    spec.service_account = spec.service_account_name.clone();
    spec.priority.get_or_insert(0);
    spec.preemption_policy
        .get_or_insert_with(|| "PreemptLowerPriority".into());
    let tolerations = spec.tolerations.get_or_insert_with(Vec::new);
    for key in [
        "node.kubernetes.io/not-ready",
        "node.kubernetes.io/unreachable",
    ] {
        let tolerated = tolerations.iter().any(|t| {
            (t.key.as_deref() == Some(key)
                || t.key.as_deref().unwrap_or_default().is_empty()
                    && t.operator.as_deref() == Some("Exists"))
                && matches!(t.effect.as_deref(), None | Some("" | "NoExecute"))
        });
        if !tolerated {
            tolerations.push(Toleration {
                key: Some(key.into()),
                operator: Some("Exists".into()),
                effect: Some("NoExecute".into()),
                toleration_seconds: Some(300),
                ..Default::default()
            });
        }
    }
}

fn check_quantity(
    field: &str,
    q: &Quantity,
    errs: &mut Vec<FieldError>,
) -> Option<api_types::quantity::ParsedQuantity> {
    match q.parse() {
        Ok(p) if p.nanos() < 0 => {
            errs.push(FieldError::invalid(
                field,
                &q.0,
                "must be greater than or equal to 0",
            ));
            None
        }
        Ok(p) => Some(p),
        Err(_) => {
            errs.push(FieldError::invalid(
                field,
                &q.0,
                "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
            ));
            None
        }
    }
}

fn check_port(field: String, port: i32, errs: &mut Vec<FieldError>) {
    if !(1..=65535).contains(&port) {
        errs.push(FieldError::invalid_raw(
            field,
            port,
            "must be between 1 and 65535, inclusive",
        ));
    }
}

/// IANA service names: what a port name may be (`http`, `metrics-1`).
pub fn port_name_errors(name: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if name.len() > 15 {
        errs.push("must be no more than 15 characters".into());
    }
    if !name
        .bytes()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
    {
        errs.push("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)".into());
    }
    if name.contains("--") {
        errs.push("must not contain consecutive hyphens".into());
    }
    if !name.bytes().any(|c| c.is_ascii_lowercase()) {
        errs.push("must contain at least one letter (a-z)".into());
    }
    if name.starts_with('-') || name.ends_with('-') {
        errs.push("must not begin or end with a hyphen".into());
    }
    errs
}

fn validate_probe(path: &str, p: &Probe, must_succeed_once: bool, errs: &mut Vec<FieldError>) {
    let handlers = [
        p.exec.is_some(),
        p.http_get.is_some(),
        p.tcp_socket.is_some(),
        p.grpc.is_some(),
    ];
    match handlers.iter().filter(|h| **h).count() {
        0 => errs.push(FieldError::required(path, "must specify a handler type")),
        1 => {}
        _ => errs.push(FieldError::forbidden(
            path,
            "may not specify more than 1 handler type",
        )),
    }
    for (name, v, min) in [
        ("initialDelaySeconds", p.initial_delay_seconds, 0),
        ("timeoutSeconds", p.timeout_seconds, 0),
        ("periodSeconds", p.period_seconds, 0),
        ("successThreshold", p.success_threshold, 0),
        ("failureThreshold", p.failure_threshold, 0),
    ] {
        if let Some(v) = v
            && v < min
        {
            errs.push(FieldError::invalid_raw(
                format!("{path}.{name}"),
                v,
                "must be greater than or equal to 0",
            ));
        }
    }
    if must_succeed_once && p.success_threshold.is_some_and(|s| s != 1) {
        errs.push(FieldError::invalid_raw(
            format!("{path}.successThreshold"),
            p.success_threshold.unwrap_or_default(),
            "must be 1",
        ));
    }
    if let Some(h) = &p.http_get
        && let IntOrString::Int(port) = h.port
    {
        check_port(format!("{path}.httpGet.port"), port, errs);
    }
}

fn validate_container(
    path: &str,
    c: &Container,
    volumes: &BTreeSet<&str>,
    init: bool,
    errs: &mut Vec<FieldError>,
) {
    if c.name.is_empty() {
        errs.push(FieldError::required(format!("{path}.name"), ""));
    } else {
        for msg in dns1123_label(&c.name) {
            errs.push(FieldError::invalid(format!("{path}.name"), &c.name, msg));
        }
    }
    if c.image.as_deref().unwrap_or_default().trim().is_empty() {
        errs.push(FieldError::required(format!("{path}.image"), ""));
    }
    if let Some(p) = c.image_pull_policy.as_deref()
        && !PULL_POLICIES.contains(&p)
    {
        errs.push(FieldError::not_supported(
            format!("{path}.imagePullPolicy"),
            p,
            &PULL_POLICIES,
        ));
    }
    if let Some(rp) = c.restart_policy.as_deref() {
        if !init {
            errs.push(FieldError::forbidden(
                format!("{path}.restartPolicy"),
                "may not be set for non-init containers",
            ));
        } else if rp != "Always" {
            errs.push(FieldError::not_supported(
                format!("{path}.restartPolicy"),
                rp,
                &["Always"],
            ));
        }
    }
    let mut port_names = BTreeSet::new();
    for (i, p) in c.ports.iter().flatten().enumerate() {
        let pp = format!("{path}.ports[{i}]");
        check_port(format!("{pp}.containerPort"), p.container_port, errs);
        if let Some(hp) = p.host_port.filter(|hp| *hp != 0) {
            check_port(format!("{pp}.hostPort"), hp, errs);
        }
        if let Some(proto) = p.protocol.as_deref()
            && !PROTOCOLS.contains(&proto)
        {
            errs.push(FieldError::not_supported(
                format!("{pp}.protocol"),
                proto,
                &PROTOCOLS,
            ));
        }
        if let Some(name) = p.name.as_deref().filter(|n| !n.is_empty()) {
            for msg in port_name_errors(name) {
                errs.push(FieldError::invalid(format!("{pp}.name"), name, msg));
            }
            if !port_names.insert(name) {
                errs.push(FieldError::duplicate(format!("{pp}.name"), name));
            }
        }
    }
    for (i, e) in c.env.iter().flatten().enumerate() {
        if e.name.is_empty() {
            errs.push(FieldError::required(format!("{path}.env[{i}].name"), ""));
        } else if e.name.contains('=') || !e.name.bytes().all(|b| (0x20..0x7f).contains(&b)) {
            errs.push(FieldError::invalid(
                format!("{path}.env[{i}].name"),
                &e.name,
                "a valid environment variable name must consist only of printable ASCII characters other than '='",
            ));
        }
        if e.value.as_deref().is_some_and(|v| !v.is_empty()) && e.value_from.is_some() {
            errs.push(FieldError::invalid(
                format!("{path}.env[{i}].valueFrom"),
                "",
                "may not be specified when `value` is not empty",
            ));
        }
    }
    for (i, m) in c.volume_mounts.iter().flatten().enumerate() {
        let mp = format!("{path}.volumeMounts[{i}]");
        if m.name.is_empty() {
            errs.push(FieldError::required(format!("{mp}.name"), ""));
        } else if !volumes.contains(m.name.as_str()) {
            errs.push(FieldError::not_found(format!("{mp}.name"), &m.name));
        }
        if m.mount_path.is_empty() {
            errs.push(FieldError::required(format!("{mp}.mountPath"), ""));
        }
        if m.sub_path
            .as_deref()
            .is_some_and(|s| s.starts_with('/') || s.split('/').any(|p| p == ".."))
        {
            errs.push(FieldError::invalid(
                format!("{mp}.subPath"),
                m.sub_path.as_deref().unwrap_or_default(),
                "must be a relative path without '..'",
            ));
        }
    }
    if let Some(res) = &c.resources {
        let mut limits = BTreeMap::new();
        for (k, q) in res.limits.iter().flatten() {
            if let Some(p) = check_quantity(&format!("{path}.resources.limits[{k}]"), q, errs) {
                limits.insert(k.as_str(), p);
            }
        }
        for (k, q) in res.requests.iter().flatten() {
            if let Some(req) = check_quantity(&format!("{path}.resources.requests[{k}]"), q, errs)
                && let Some(lim) = limits.get(k.as_str())
                && req > *lim
            {
                errs.push(FieldError::invalid(
                    format!("{path}.resources.requests"),
                    &q.0,
                    format!(
                        "must be less than or equal to {k} limit of {}",
                        res.limits
                            .as_ref()
                            .and_then(|l| l.get(k))
                            .map(|q| q.0.as_str())
                            .unwrap_or_default()
                    ),
                ));
            }
        }
    }
    if let Some(p) = &c.liveness_probe {
        validate_probe(&format!("{path}.livenessProbe"), p, true, errs);
    }
    if let Some(p) = &c.readiness_probe {
        validate_probe(&format!("{path}.readinessProbe"), p, false, errs);
    }
    if let Some(p) = &c.startup_probe {
        validate_probe(&format!("{path}.startupProbe"), p, true, errs);
    }
}

/// Validates a pod spec found at `path` (`spec` or `spec.template.spec`).
pub fn validate_pod_spec(path: &str, spec: &PodSpec) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let mut volumes = BTreeSet::new();
    for (i, v) in spec.volumes.iter().flatten().enumerate() {
        let vp = format!("{path}.volumes[{i}].name");
        if v.name.is_empty() {
            errs.push(FieldError::required(vp, ""));
            continue;
        }
        for msg in dns1123_label(&v.name) {
            errs.push(FieldError::invalid(vp.clone(), &v.name, msg));
        }
        if !volumes.insert(v.name.as_str()) {
            errs.push(FieldError::duplicate(vp, &v.name));
        }
    }
    if spec.containers.is_empty() {
        errs.push(FieldError::required(format!("{path}.containers"), ""));
    }
    let mut names = BTreeSet::new();
    let all = spec
        .init_containers
        .iter()
        .flatten()
        .enumerate()
        .map(|(i, c)| (format!("{path}.initContainers[{i}]"), c, true))
        .chain(
            spec.containers
                .iter()
                .enumerate()
                .map(|(i, c)| (format!("{path}.containers[{i}]"), c, false)),
        );
    for (cp, c, init) in all {
        validate_container(&cp, c, &volumes, init, &mut errs);
        if !c.name.is_empty() && !names.insert(c.name.as_str()) {
            errs.push(FieldError::duplicate(format!("{cp}.name"), &c.name));
        }
    }
    if let Some(rp) = spec.restart_policy.as_deref()
        && !RESTART_POLICIES.contains(&rp)
    {
        errs.push(FieldError::not_supported(
            format!("{path}.restartPolicy"),
            rp,
            &RESTART_POLICIES,
        ));
    }
    if let Some(dp) = spec.dns_policy.as_deref()
        && !DNS_POLICIES.contains(&dp)
    {
        errs.push(FieldError::not_supported(
            format!("{path}.dnsPolicy"),
            dp,
            &DNS_POLICIES,
        ));
    }
    if let Some(g) = spec.termination_grace_period_seconds
        && g < 0
    {
        errs.push(FieldError::invalid_raw(
            format!("{path}.terminationGracePeriodSeconds"),
            g,
            "must be greater than or equal to 0",
        ));
    }
    if let Some(d) = spec.active_deadline_seconds
        && d < 1
    {
        errs.push(FieldError::invalid_raw(
            format!("{path}.activeDeadlineSeconds"),
            d,
            "must be between 1 and 2147483647, inclusive",
        ));
    }
    if let Some(node) = spec.node_name.as_deref().filter(|n| !n.is_empty()) {
        for msg in crate::registry::validation::dns1123_subdomain(node) {
            errs.push(FieldError::invalid(format!("{path}.nodeName"), node, msg));
        }
    }
    for (i, t) in spec.tolerations.iter().flatten().enumerate() {
        let tp = format!("{path}.tolerations[{i}]");
        if let Some(op) = t.operator.as_deref().filter(|o| !o.is_empty()) {
            if !TOLERATION_OPERATORS.contains(&op) {
                errs.push(FieldError::not_supported(
                    format!("{tp}.operator"),
                    op,
                    &TOLERATION_OPERATORS,
                ));
            } else if op == "Exists" && t.value.as_deref().is_some_and(|v| !v.is_empty()) {
                errs.push(FieldError::invalid(
                    format!("{tp}.operator"),
                    op,
                    "value must be empty when `operator` is 'Exists'",
                ));
            }
        }
        if let Some(e) = t.effect.as_deref().filter(|e| !e.is_empty())
            && !TAINT_EFFECTS.contains(&e)
        {
            errs.push(FieldError::not_supported(
                format!("{tp}.effect"),
                e,
                &TAINT_EFFECTS,
            ));
        }
        if t.toleration_seconds.is_some() && t.effect.as_deref() != Some("NoExecute") {
            errs.push(FieldError::invalid(
                format!("{tp}.effect"),
                t.effect.as_deref().unwrap_or_default(),
                "effect must be 'NoExecute' when `tolerationSeconds` is set",
            ));
        }
    }
    errs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pull_policy_follows_the_tag() {
        assert_eq!(default_pull_policy("nginx"), "Always");
        assert_eq!(default_pull_policy("nginx:latest"), "Always");
        assert_eq!(default_pull_policy("nginx:1.25"), "IfNotPresent");
        assert_eq!(default_pull_policy("localhost:5000/nginx"), "Always");
        assert_eq!(
            default_pull_policy("localhost:5000/nginx:1"),
            "IfNotPresent"
        );
        assert_eq!(default_pull_policy("nginx@sha256:abc"), "IfNotPresent");
    }

    #[test]
    fn port_names_follow_iana_rules() {
        assert!(port_name_errors("http").is_empty());
        assert!(port_name_errors("web-8080").is_empty());
        assert!(!port_name_errors("8080").is_empty());
        assert!(!port_name_errors("Http").is_empty());
        assert!(!port_name_errors("a-very-long-port-name").is_empty());
    }
}

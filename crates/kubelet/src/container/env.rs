//! A container's environment variables, and `$(VAR)` expansion in its
//! command and arguments.
//!
//! This mirrors upstream's `makeEnvironmentVariables`
//! (`pkg/kubelet/kubelet_pods.go`), `envvars.FromServices`
//! (`pkg/kubelet/envvars`) and the `$(VAR)` expansion of
//! `third_party/forked/golang/expansion`. Everything here is pure: the caller
//! fetches the ConfigMaps, Secrets and Services first (see
//! [`referenced_objects`]) and hands them over in an [`EnvContext`].
//!
//! # Where variables come from, in order
//! 1. **Service links**: for every Service of the pod's namespace (unless
//!    `enableServiceLinks: false`), plus the `kubernetes` Service of the
//!    `default` namespace always, Docker-links-style variables such as
//!    `REDIS_SERVICE_HOST` and `REDIS_PORT_6379_TCP_ADDR`. They predate
//!    cluster DNS and are still what many images expect.
//! 2. **`envFrom`**: every key of a ConfigMap or Secret, with an optional
//!    prefix.
//! 3. **`env`**: one variable each, either a literal `value` (in which
//!    `$(OTHER)` refers to anything defined before it) or a `valueFrom`
//!    source: a pod field (the "downward API"), a container's request or
//!    limit, or one key of a ConfigMap or Secret.
//!
//! A later definition of a name overrides an earlier one. The result lists
//! each name once, at the position of its first definition, with its last
//! value. (Upstream builds a Go map, so its order is random; ours is stable,
//! which keeps container configs comparable between syncs.)

use crate::volume::downward_api::format_map;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use api_types::core::v1::{
    ConfigMap, Container, EnvVarSource, ObjectFieldSelector, Pod, ResourceFieldSelector,
    ResourceRequirements, Secret, Service,
};
use api_types::labels::is_qualified_name;
use api_types::quantity::{Quantity, QuantityError};

/// Everything outside the pod that its environment may draw on.
///
/// `config_maps` and `secrets` hold the objects of the pod's namespace by
/// name; a name missing from the map means the object does not exist.
#[derive(Clone, Copy, Debug)]
pub struct EnvContext<'a> {
    /// This node's name; `spec.nodeName` of pods bound here.
    pub node_name: &'a str,
    /// The node's primary IP (`status.hostIP`).
    pub host_ip: &'a str,
    /// All node IPs, primary first (`status.hostIPs`).
    pub host_ips: &'a [String],
    /// The pod's primary IP (`status.podIP`); empty with host networking
    /// before the IP is known.
    pub pod_ip: &'a str,
    /// All pod IPs, primary first (`status.podIPs`).
    pub pod_ips: &'a [String],
    pub config_maps: &'a BTreeMap<String, ConfigMap>,
    pub secrets: &'a BTreeMap<String, Secret>,
    /// Services the node knows about; filtered here by namespace.
    pub services: &'a [Service],
    /// The node's allocatable resources: the value of an unset limit in
    /// `resourceFieldRef`.
    pub node_allocatable: &'a BTreeMap<String, Quantity>,
}

/// Why a container's environment could not be built. The kubelet then
/// reports `CreateContainerConfigError` with this message, so the messages
/// are upstream's, word for word.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvError {
    /// A non-optional reference to a ConfigMap that does not exist.
    #[error("configmap \"{0}\" not found")]
    ConfigMapNotFound(String),
    /// A non-optional reference to a Secret that does not exist.
    #[error("secret \"{0}\" not found")]
    SecretNotFound(String),
    /// A non-optional `configMapKeyRef` to a key the ConfigMap lacks.
    #[error("couldn't find key {key} in ConfigMap {namespace}/{name}")]
    ConfigMapKeyNotFound {
        key: String,
        namespace: String,
        name: String,
    },
    /// A non-optional `secretKeyRef` to a key the Secret lacks.
    #[error("couldn't find key {key} in Secret {namespace}/{name}")]
    SecretKeyNotFound {
        key: String,
        namespace: String,
        name: String,
    },
    /// `fieldRef.apiVersion` other than `v1`.
    #[error("unsupported pod version: {0}")]
    UnsupportedPodVersion(String),
    /// A `['key']` subscript on a field other than labels or annotations.
    #[error("field label does not support subscript: {0}")]
    SubscriptNotSupported(String),
    /// A `fieldRef.fieldPath` the downward API does not know.
    #[error("field label not supported: {0}")]
    FieldLabelNotSupported(String),
    /// A known field path that env vars cannot expose (e.g. `status.phase`).
    #[error("unsupported fieldPath: {0}")]
    UnsupportedFieldPath(String),
    /// A label or annotation subscript that is not a valid key.
    #[error("invalid key subscript in {path}: {reason}")]
    InvalidSubscript { path: String, reason: String },
    /// A `resourceFieldRef.resource` that is not a known request or limit.
    #[error("unsupported container resource : {0}")]
    UnsupportedResource(String),
    /// `resourceFieldRef.containerName` names no container of the pod.
    #[error("container {0} not found")]
    ContainerNotFound(String),
    /// A quantity that does not parse (the apiserver should have refused it).
    #[error("invalid quantity {value:?} for {field}: {source}")]
    InvalidQuantity {
        field: String,
        value: String,
        #[source]
        source: QuantityError,
    },
}

/// The environment of `container` in `pod`, as `(name, value)` pairs.
///
/// # Errors
/// A missing non-optional ConfigMap, Secret or key, or an invalid
/// `fieldRef` / `resourceFieldRef`; see [`EnvError`]. Upstream refuses to
/// create the container in that case and retries on the next sync.
pub fn container_env(
    pod: &Pod,
    container: &Container,
    ctx: &EnvContext,
) -> Result<Vec<(String, String)>, EnvError> {
    let namespace = pod.metadata.namespace.as_str();
    let links = pod
        .spec
        .as_ref()
        .and_then(|s| s.enable_service_links)
        .unwrap_or(true);
    let mut env = OrderedEnv::default();

    for (name, value) in service_env(namespace, links, ctx.services) {
        env.set(name, value);
    }

    for from in container.env_from.iter().flatten() {
        let prefix = from.prefix.as_deref().unwrap_or("");
        // Like upstream, a ConfigMap reference wins when both are set.
        let pairs: Vec<(&String, String)> = if let Some(r) = &from.config_map_ref {
            match ctx.config_maps.get(&r.name) {
                Some(cm) => cm
                    .data
                    .iter()
                    .flatten()
                    .map(|(k, v)| (k, v.clone()))
                    .collect(),
                None if r.optional == Some(true) => continue,
                None => return Err(EnvError::ConfigMapNotFound(r.name.clone())),
            }
        } else if let Some(r) = &from.secret_ref {
            match ctx.secrets.get(&r.name) {
                Some(s) => s
                    .data
                    .iter()
                    .flatten()
                    .map(|(k, v)| (k, String::from_utf8_lossy(&v.0).into_owned()))
                    .collect(),
                None if r.optional == Some(true) => continue,
                None => return Err(EnvError::SecretNotFound(r.name.clone())),
            }
        } else {
            continue;
        };
        for (key, value) in pairs {
            let name = format!("{prefix}{key}");
            if is_env_var_name(&name) {
                env.set(name, value);
            } else {
                tracing::warn!(container = %container.name, key = %name,
                    "skipping envFrom key that is not a valid environment variable name");
            }
        }
    }

    for var in container.env.iter().flatten() {
        let literal = var.value.as_deref().unwrap_or("");
        let value = if !literal.is_empty() {
            // Only a literal value is expanded; a `valueFrom` result is used as is.
            Some(expand(literal, |name| env.get(name).map(str::to_owned)))
        } else if let Some(source) = &var.value_from {
            resolve_source(pod, container, source, ctx)?
        } else {
            Some(String::new())
        };
        // `None`: an optional reference to something missing defines nothing.
        if let Some(value) = value {
            env.set(var.name.clone(), value);
        }
    }
    Ok(env.vars)
}

/// Name → value with each name once, at its first position.
#[derive(Default)]
struct OrderedEnv {
    vars: Vec<(String, String)>,
    index: HashMap<String, usize>,
}

impl OrderedEnv {
    fn set(&mut self, name: String, value: String) {
        match self.index.get(&name) {
            Some(&i) => self.vars[i].1 = value,
            None => {
                self.index.insert(name.clone(), self.vars.len());
                self.vars.push((name, value));
            }
        }
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.index.get(name).map(|&i| self.vars[i].1.as_str())
    }
}

/// Whether `name` may be an environment variable name. Upstream used to
/// demand a C-identifier-like name here; since `RelaxedEnvironmentVariableValidation`
/// went GA any non-empty run of printable ASCII other than `=` is accepted.
fn is_env_var_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| (b' '..=b'~').contains(&b) && b != b'=')
}

/// The value of one `valueFrom`; `None` when an optional source is missing.
fn resolve_source(
    pod: &Pod,
    container: &Container,
    source: &EnvVarSource,
    ctx: &EnvContext,
) -> Result<Option<String>, EnvError> {
    let namespace = &pod.metadata.namespace;
    if let Some(field) = &source.field_ref {
        return field_value(pod, field, ctx).map(Some);
    }
    if let Some(res) = &source.resource_field_ref {
        return resource_value(pod, container, res, ctx.node_allocatable).map(Some);
    }
    if let Some(sel) = &source.config_map_key_ref {
        let optional = sel.optional == Some(true);
        let Some(cm) = ctx.config_maps.get(&sel.name) else {
            return if optional {
                Ok(None)
            } else {
                Err(EnvError::ConfigMapNotFound(sel.name.clone()))
            };
        };
        // `binaryData` keys are not visible to env vars, as upstream.
        return match cm.data.as_ref().and_then(|d| d.get(&sel.key)) {
            Some(v) => Ok(Some(v.clone())),
            None if optional => Ok(None),
            None => Err(EnvError::ConfigMapKeyNotFound {
                key: sel.key.clone(),
                namespace: namespace.clone(),
                name: sel.name.clone(),
            }),
        };
    }
    if let Some(sel) = &source.secret_key_ref {
        let optional = sel.optional == Some(true);
        let Some(secret) = ctx.secrets.get(&sel.name) else {
            return if optional {
                Ok(None)
            } else {
                Err(EnvError::SecretNotFound(sel.name.clone()))
            };
        };
        return match secret.data.as_ref().and_then(|d| d.get(&sel.key)) {
            Some(v) => Ok(Some(String::from_utf8_lossy(&v.0).into_owned())),
            None if optional => Ok(None),
            None => Err(EnvError::SecretKeyNotFound {
                key: sel.key.clone(),
                namespace: namespace.clone(),
                name: sel.name.clone(),
            }),
        };
    }
    Ok(Some(String::new()))
}

// ---------------------------------------------------------------- services

/// The service-link variables of a pod in `namespace`, services sorted by name.
fn service_env(namespace: &str, links: bool, services: &[Service]) -> Vec<(String, String)> {
    // Keyed by name like upstream: the `kubernetes` Service of `default` is
    // always there, but a same-named Service of the pod's own namespace wins.
    let mut chosen: BTreeMap<&str, &Service> = BTreeMap::new();
    for svc in services.iter().filter(|s| cluster_ip(s).is_some()) {
        if svc.metadata.namespace == "default" && svc.metadata.name == "kubernetes" {
            chosen.entry(svc.metadata.name.as_str()).or_insert(svc);
        }
    }
    if links {
        for svc in services.iter().filter(|s| cluster_ip(s).is_some()) {
            if svc.metadata.namespace == namespace {
                chosen.insert(svc.metadata.name.as_str(), svc);
            }
        }
    }
    chosen.values().flat_map(|s| one_service_env(s)).collect()
}

/// The cluster IP of a Service that has one (not headless, not ExternalName).
fn cluster_ip(svc: &Service) -> Option<&str> {
    let ip = svc.spec.as_ref()?.cluster_ip.as_deref()?;
    (!ip.is_empty() && ip != "None").then_some(ip)
}

/// `my-svc` → `MY_SVC`.
fn env_name(s: &str) -> String {
    s.replace('-', "_").to_uppercase()
}

fn one_service_env(svc: &Service) -> Vec<(String, String)> {
    let Some(ip) = cluster_ip(svc) else {
        return Vec::new();
    };
    let ports = svc
        .spec
        .as_ref()
        .and_then(|s| s.ports.as_deref())
        .unwrap_or_default();
    let prefix = env_name(&svc.metadata.name);
    let mut out = vec![(format!("{prefix}_SERVICE_HOST"), ip.to_owned())];
    // Upstream assumes at least one port (validation demands it for a
    // Service with a cluster IP); without one there is nothing more to say.
    let Some(first) = ports.first() else {
        return out;
    };
    out.push((format!("{prefix}_SERVICE_PORT"), first.port.to_string()));
    for p in ports {
        if let Some(name) = p.name.as_deref().filter(|n| !n.is_empty()) {
            out.push((
                format!("{prefix}_SERVICE_PORT_{}", env_name(name)),
                p.port.to_string(),
            ));
        }
    }
    // Docker links: `<NAME>_PORT=tcp://ip:port` for the first port, then
    // `<NAME>_PORT_<port>_<PROTO>{,_PROTO,_PORT,_ADDR}` for every port.
    let host = if ip.contains(':') {
        format!("[{ip}]")
    } else {
        ip.to_owned()
    };
    for (i, p) in ports.iter().enumerate() {
        let proto = p.protocol.as_deref().unwrap_or("TCP");
        let lower = proto.to_lowercase();
        let url = format!("{lower}://{host}:{}", p.port);
        if i == 0 {
            out.push((format!("{prefix}_PORT"), url.clone()));
        }
        let pp = format!("{prefix}_PORT_{}_{}", p.port, proto.to_uppercase());
        out.push((pp.clone(), url));
        out.push((format!("{pp}_PROTO"), lower));
        out.push((format!("{pp}_PORT"), p.port.to_string()));
        out.push((format!("{pp}_ADDR"), ip.to_owned()));
    }
    out
}

// ------------------------------------------------------------ downward API

/// `metadata.labels['app']` → `("metadata.labels", "app")`.
fn split_subscript(path: &str) -> Option<(&str, &str)> {
    let inner = path.strip_suffix("']")?;
    let (base, key) = inner.split_once("['")?;
    (!base.is_empty()).then_some((base, key))
}

/// A `fieldRef`: one field of the pod, as a string.
fn field_value(pod: &Pod, sel: &ObjectFieldSelector, ctx: &EnvContext) -> Result<String, EnvError> {
    let version = sel.api_version.as_deref().unwrap_or("");
    // The apiserver defaults an empty apiVersion to v1.
    if !version.is_empty() && version != "v1" {
        return Err(EnvError::UnsupportedPodVersion(version.to_owned()));
    }
    let path = sel.field_path.as_str();
    let meta = &pod.metadata;
    if let Some((base, key)) = split_subscript(path) {
        let (map, check) = match base {
            "metadata.labels" => (&meta.labels, key.to_owned()),
            // Annotation keys may be mixed-case; upstream checks them lower-cased.
            "metadata.annotations" => (&meta.annotations, key.to_lowercase()),
            _ => return Err(EnvError::SubscriptNotSupported(path.to_owned())),
        };
        let errs = is_qualified_name(&check);
        if !errs.is_empty() {
            return Err(EnvError::InvalidSubscript {
                path: path.to_owned(),
                reason: errs.join(";"),
            });
        }
        return Ok(map.get(key).cloned().unwrap_or_default());
    }
    let spec = pod.spec.as_ref();
    let first_or = |all: &[String], one: &str| all.first().cloned().unwrap_or_else(|| one.into());
    let joined_or = |all: &[String], one: &str| {
        if all.is_empty() {
            one.to_owned()
        } else {
            all.join(",")
        }
    };
    Ok(match path {
        "metadata.name" => meta.name.clone(),
        "metadata.namespace" => meta.namespace.clone(),
        "metadata.uid" => meta.uid.clone(),
        "metadata.labels" => format_map(&meta.labels),
        "metadata.annotations" => format_map(&meta.annotations),
        // `spec.host` is the pre-v1 name of `spec.nodeName`.
        "spec.nodeName" | "spec.host" => spec
            .and_then(|s| s.node_name.clone())
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| ctx.node_name.to_owned()),
        "spec.serviceAccountName" => spec
            .and_then(|s| s.service_account_name.clone().or(s.service_account.clone()))
            .unwrap_or_default(),
        "status.hostIP" if !ctx.host_ip.is_empty() => ctx.host_ip.to_owned(),
        "status.hostIP" => first_or(ctx.host_ips, ctx.host_ip),
        "status.hostIPs" => joined_or(ctx.host_ips, ctx.host_ip),
        "status.podIP" => first_or(ctx.pod_ips, ctx.pod_ip),
        "status.podIPs" => joined_or(ctx.pod_ips, ctx.pod_ip),
        // Valid field labels (volumes' downward API knows some), but not here.
        "spec.restartPolicy" | "spec.schedulerName" | "status.phase" => {
            return Err(EnvError::UnsupportedFieldPath(path.to_owned()));
        }
        _ => return Err(EnvError::FieldLabelNotSupported(path.to_owned())),
    })
}

/// The resources of one container as the downward API sees them.
fn resource_view(
    res: Option<&ResourceRequirements>,
    allocatable: Option<&BTreeMap<String, Quantity>>,
) -> (BTreeMap<String, Quantity>, BTreeMap<String, Quantity>) {
    let mut limits = res.and_then(|r| r.limits.clone()).unwrap_or_default();
    let mut requests = res.and_then(|r| r.requests.clone()).unwrap_or_default();
    // API defaulting: a request left out defaults to the limit. Pods from the
    // apiserver already have this; doing it again keeps static pods alike.
    for (k, v) in &limits {
        requests.entry(k.clone()).or_insert_with(|| v.clone());
    }
    // An unset (or zero) limit means "as much as the node has".
    if let Some(alloc) = allocatable {
        for name in ["cpu", "memory", "ephemeral-storage"] {
            let unset = limits
                .get(name)
                .is_none_or(|q| q.parse().is_ok_and(|p| p.is_zero()));
            if let (true, Some(cap)) = (unset, alloc.get(name)) {
                limits.insert(name.to_owned(), cap.clone());
            }
        }
    }
    (limits, requests)
}

/// A `resourceFieldRef`: a request or limit, in units of the divisor,
/// rounded up.
fn resource_value(
    pod: &Pod,
    container: &Container,
    sel: &ResourceFieldSelector,
    allocatable: &BTreeMap<String, Quantity>,
) -> Result<String, EnvError> {
    let spec = pod.spec.as_ref();
    // Upstream fills unset limits from the node's allocatable for this
    // container and the pod's app containers, but not for init containers
    // named through `containerName`.
    let (limits, requests) = match sel.container_name.as_deref().filter(|n| !n.is_empty()) {
        None => resource_view(container.resources.as_ref(), Some(allocatable)),
        Some(name) => {
            let find = |cs: Option<&Vec<Container>>| {
                cs.into_iter().flatten().find(|c| c.name == name).cloned()
            };
            if let Some(c) = find(spec.map(|s| &s.containers)) {
                resource_view(c.resources.as_ref(), Some(allocatable))
            } else if let Some(c) = find(spec.and_then(|s| s.init_containers.as_ref())) {
                resource_view(c.resources.as_ref(), None)
            } else {
                return Err(EnvError::ContainerNotFound(name.to_owned()));
            }
        }
    };
    let parse = |field: &str, q: &Quantity| {
        q.parse().map_err(|source| EnvError::InvalidQuantity {
            field: field.to_owned(),
            value: q.0.clone(),
            source,
        })
    };
    let divisor = match &sel.divisor {
        Some(d) => Some(parse("divisor", d)?).filter(|p| !p.is_zero()),
        None => None,
    };
    let (map, name) = match sel.resource.split_once('.') {
        Some(("limits", name)) => (&limits, name),
        Some(("requests", name)) => (&requests, name),
        _ => return Err(EnvError::UnsupportedResource(sel.resource.clone())),
    };
    let known = matches!(name, "cpu" | "memory" | "ephemeral-storage");
    if !known && !name.starts_with("hugepages-") {
        return Err(EnvError::UnsupportedResource(sel.resource.clone()));
    }
    let amount = match map.get(name) {
        Some(q) => Some(parse(&sel.resource, q)?),
        None => None,
    };
    // CPU counts in thousandths, everything else in whole units (bytes).
    let (value, unit) = if name == "cpu" {
        (
            amount.map_or(0, |a| a.milli_value()),
            divisor.map_or(1000, |d| d.milli_value()),
        )
    } else {
        (
            amount.map_or(0, |a| a.value()),
            divisor.map_or(1, |d| d.value()),
        )
    };
    Ok(ceil_div(value, unit).to_string())
}

/// `ceil(a / b)`, with 0 for a zero divisor rather than a panic.
fn ceil_div(a: i64, b: i64) -> i64 {
    if b == 0 {
        return 0;
    }
    let (a, b) = (i128::from(a), i128::from(b));
    let q = a / b;
    let up = a % b != 0 && ((a > 0) == (b > 0));
    i64::try_from(if up { q + 1 } else { q }).unwrap_or(i64::MAX)
}

// --------------------------------------------------------------- expansion

/// Kubernetes' `$(VAR)` expansion, used for `env` values, `command`, `args`
/// and `subPathExpr`.
///
/// - `$(NAME)` becomes `lookup(NAME)`, or stays `$(NAME)` when undefined;
/// - `$$` becomes `$`, so `$$(NAME)` is the literal text `$(NAME)`;
/// - any other `$`, and an unterminated `$(`, stay as they are.
///
/// There is no recursion: a value that itself contains `$(X)` is not
/// expanded again.
pub fn expand(input: &str, lookup: impl Fn(&str) -> Option<String>) -> String {
    let bytes = input.as_bytes();
    let mut out = String::with_capacity(input.len());
    // Everything before `copied` is in `out` already.
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'$' || i + 1 == bytes.len() {
            i += 1;
            continue;
        }
        out.push_str(&input[copied..i]);
        match bytes[i + 1] {
            b'$' => {
                out.push('$');
                i += 2;
            }
            b'(' => match input[i + 2..].find(')') {
                Some(len) => {
                    let name = &input[i + 2..i + 2 + len];
                    match lookup(name) {
                        Some(value) => out.push_str(&value),
                        None => {
                            out.push_str("$(");
                            out.push_str(name);
                            out.push(')');
                        }
                    }
                    i += 2 + len + 1;
                }
                None => {
                    out.push_str("$(");
                    i += 2;
                }
            },
            _ => {
                // Not an expression: keep the `$`; what follows is copied as text.
                out.push('$');
                i += 1;
            }
        }
        copied = i;
    }
    out.push_str(&input[copied..]);
    out
}

/// The container's `command` and `args` with `$(VAR)` expanded against its
/// environment (as computed by [`container_env`]).
pub fn expand_command(
    container: &Container,
    env: &[(String, String)],
) -> (Vec<String>, Vec<String>) {
    // Later entries win, like upstream's `EnvVarsToMap`.
    let map: HashMap<&str, &str> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let lookup = |name: &str| map.get(name).map(|v| (*v).to_owned());
    let all = |v: &Option<Vec<String>>| {
        v.iter()
            .flatten()
            .map(|s| expand(s, lookup))
            .collect::<Vec<_>>()
    };
    (all(&container.command), all(&container.args))
}

// -------------------------------------------------------------- references

/// The names of the ConfigMaps and the Secrets `pod` refers to: in `env`
/// and `envFrom` of every container and init container, in `configMap`,
/// `secret` and `projected` volumes, in volume plugins' secret references,
/// and (Secrets) in `imagePullSecrets`.
///
/// Upstream's ConfigMap and Secret managers register exactly these names
/// (`VisitPodConfigmapNames` / `VisitPodSecretNames`) so that a pod's sync
/// finds them in the kubelet's cache.
pub fn referenced_objects(pod: &Pod) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut config_maps = BTreeSet::new();
    let mut secrets = BTreeSet::new();
    let add = |set: &mut BTreeSet<String>, name: &str| {
        if !name.is_empty() {
            set.insert(name.to_owned());
        }
    };
    let Some(spec) = &pod.spec else {
        return (config_maps, secrets);
    };
    for r in spec.image_pull_secrets.iter().flatten() {
        add(&mut secrets, &r.name);
    }
    let containers = spec
        .init_containers
        .iter()
        .flatten()
        .chain(&spec.containers);
    for c in containers {
        for from in c.env_from.iter().flatten() {
            if let Some(r) = &from.config_map_ref {
                add(&mut config_maps, &r.name);
            }
            if let Some(r) = &from.secret_ref {
                add(&mut secrets, &r.name);
            }
        }
        for var in c.env.iter().flatten() {
            if let Some(src) = &var.value_from {
                if let Some(r) = &src.config_map_key_ref {
                    add(&mut config_maps, &r.name);
                }
                if let Some(r) = &src.secret_key_ref {
                    add(&mut secrets, &r.name);
                }
            }
        }
    }
    for vol in spec.volumes.iter().flatten() {
        if let Some(cm) = &vol.config_map {
            add(&mut config_maps, &cm.name);
        }
        if let Some(name) = vol.secret.as_ref().and_then(|s| s.secret_name.as_deref()) {
            add(&mut secrets, name);
        }
        let sources = vol.projected.as_ref().and_then(|p| p.sources.as_ref());
        for src in sources.into_iter().flatten() {
            if let Some(cm) = &src.config_map {
                add(&mut config_maps, &cm.name);
            }
            if let Some(s) = &src.secret {
                add(&mut secrets, &s.name);
            }
        }
        if let Some(r) = vol.rbd.as_ref().and_then(|r| r.secret_ref.as_ref()) {
            add(&mut secrets, &r.name);
        }
        if let Some(r) = vol
            .csi
            .as_ref()
            .and_then(|c| c.node_publish_secret_ref.as_ref())
        {
            add(&mut secrets, &r.name);
        }
    }
    (config_maps, secrets)
}

#[cfg(test)]
mod tests {
    use crate::volume::downward_api::go_quote;
    use serde_json::{Value, json};

    use super::*;

    fn from<T: serde::de::DeserializeOwned>(v: Value) -> T {
        serde_json::from_value(v).expect("test object")
    }

    /// A pod `p` in namespace `ns` with one container `c` built from `c`.
    fn pod_with(c: Value) -> Pod {
        let mut c = c;
        c["name"] = json!("c");
        from(json!({
            "metadata": {"name": "p", "namespace": "ns", "uid": "u-1"},
            "spec": {"containers": [c], "nodeName": "node-1"}
        }))
    }

    /// The objects around a pod, owned, lent to an `EnvContext`.
    #[derive(Default)]
    struct World {
        config_maps: BTreeMap<String, ConfigMap>,
        secrets: BTreeMap<String, Secret>,
        services: Vec<Service>,
        allocatable: BTreeMap<String, Quantity>,
        host_ips: Vec<String>,
        pod_ips: Vec<String>,
    }

    impl World {
        fn new() -> Self {
            let mut w = World {
                host_ips: vec!["192.168.1.10".into(), "fd00::10".into()],
                pod_ips: vec!["10.244.1.5".into(), "fd00:244::5".into()],
                ..Default::default()
            };
            w.config_map("cfg", json!({"LOG_LEVEL": "debug", "MODE": "fast"}));
            w.secret("creds", json!({"password": "czNjcjN0", "user": "YWRtaW4="}));
            w.allocatable = [
                ("cpu", "4"),
                ("memory", "8Gi"),
                ("ephemeral-storage", "100Gi"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), Quantity(v.into())))
            .collect();
            w
        }

        fn config_map(&mut self, name: &str, data: Value) {
            let cm = from(json!({"metadata": {"name": name, "namespace": "ns"}, "data": data}));
            self.config_maps.insert(name.into(), cm);
        }

        fn secret(&mut self, name: &str, data: Value) {
            let s = from(json!({"metadata": {"name": name, "namespace": "ns"}, "data": data}));
            self.secrets.insert(name.into(), s);
        }

        fn service(&mut self, ns: &str, name: &str, cluster_ip: &str, ports: Value) {
            self.services.push(from(json!({
                "metadata": {"name": name, "namespace": ns},
                "spec": {"clusterIP": cluster_ip, "ports": ports}
            })));
        }

        fn ctx(&self) -> EnvContext<'_> {
            EnvContext {
                node_name: "node-1",
                host_ip: "192.168.1.10",
                host_ips: &self.host_ips,
                pod_ip: "10.244.1.5",
                pod_ips: &self.pod_ips,
                config_maps: &self.config_maps,
                secrets: &self.secrets,
                services: &self.services,
                node_allocatable: &self.allocatable,
            }
        }

        fn env(&self, pod: &Pod) -> Result<Vec<(String, String)>, EnvError> {
            let spec = pod.spec.as_ref().expect("spec");
            container_env(pod, &spec.containers[0], &self.ctx())
        }

        /// The environment of a pod whose container has `env`.
        fn env_of(&self, env: Value) -> Result<Vec<(String, String)>, EnvError> {
            self.env(&pod_with(json!({"env": env})))
        }

        /// The value of the single variable `X` defined by `value_from`.
        fn value_from(&self, value_from: Value) -> Result<Option<String>, EnvError> {
            let vars = self.env_of(json!([{"name": "X", "valueFrom": value_from}]))?;
            Ok(vars.into_iter().find(|(k, _)| k == "X").map(|(_, v)| v))
        }

        fn field(&self, path: &str) -> Result<String, EnvError> {
            self.field_of(&pod_with(json!({})), path)
        }

        fn field_of(&self, pod: &Pod, path: &str) -> Result<String, EnvError> {
            let sel: ObjectFieldSelector = from(json!({"fieldPath": path}));
            field_value(pod, &sel, &self.ctx())
        }
    }

    fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect()
    }

    // ------------------------------------------------------------ expand

    #[test]
    fn expand_follows_the_kubernetes_rules() {
        let vars: HashMap<&str, &str> = [
            ("VAR_A", "A"),
            ("VAR_B", "B"),
            ("VAR_C", "C"),
            ("VAR_REF", "$(VAR_A)"),
            ("VAR_EMPTY", ""),
        ]
        .into();
        let lookup = |n: &str| vars.get(n).map(|v| (*v).to_owned());
        let cases = [
            ("$(VAR_A)", "A"),
            ("___$(VAR_B)___", "___B___"),
            ("$(VAR_A)-$(VAR_A)", "A-A"),
            ("$(VAR_A)_$(VAR_B)_$(VAR_C)", "A_B_C"),
            ("$(VAR_A)$(VAR_B)", "AB"),
            ("$(VAR_EMPTY)", ""),
            ("foo\\$(VAR_C)bar", "foo\\Cbar"),
            // No recursion: a value is inserted as is.
            ("$(VAR_REF)", "$(VAR_A)"),
            // Undefined references stay.
            ("$(VAR_DNE)", "$(VAR_DNE)"),
            ("$(VAR_A)-$(VAR_DNE)", "A-$(VAR_DNE)"),
            ("$()", "$()"),
            // `$$` escapes.
            ("$$", "$"),
            ("$$$", "$$"),
            ("f000-$$VAR_A", "f000-$VAR_A"),
            ("$$(VAR_A)", "$(VAR_A)"),
            ("$$$(VAR_A)", "$A"),
            ("$$$$(VAR_A)", "$$(VAR_A)"),
            ("$$$$$$(VAR_A)", "$$$(VAR_A)"),
            // Lone and trailing `$`, incomplete references.
            ("$", "$"),
            ("$VAR_A", "$VAR_A"),
            ("$(VAR_A)$", "A$"),
            ("$(VAR_A", "$(VAR_A"),
            ("$(", "$("),
            ("$($(VAR_A)", "$($(VAR_A)"),
            ("$(VAR_A$(VAR_B))", "$(VAR_A$(VAR_B))"),
            ("a $ b", "a $ b"),
            ("", ""),
            ("no refs", "no refs"),
            // Multi-byte text around and after `$`.
            ("héllo $(VAR_A) wörld", "héllo A wörld"),
            ("$é$(VAR_B)", "$éB"),
            ("€$", "€$"),
        ];
        for (input, want) in cases {
            assert_eq!(expand(input, lookup), want, "expanding {input:?}");
        }
    }

    #[test]
    fn expand_command_uses_the_environment() {
        let c: Container = from(json!({
            "name": "c",
            "command": ["/bin/$(SHELL_NAME)", "-c"],
            "args": ["echo $(GREETING) $(UNKNOWN) $$(GREETING)"]
        }));
        let env = pairs(&[
            ("SHELL_NAME", "sh"),
            ("GREETING", "old"),
            ("GREETING", "hi"),
        ]);
        let (command, args) = expand_command(&c, &env);
        assert_eq!(command, ["/bin/sh", "-c"]);
        assert_eq!(args, ["echo hi $(UNKNOWN) $(GREETING)"]);

        let bare: Container = from(json!({"name": "c"}));
        assert_eq!(expand_command(&bare, &env), (vec![], vec![]));
    }

    // ------------------------------------------------------------ services

    #[test]
    fn service_links_follow_docker_naming() {
        let mut w = World::new();
        w.service(
            "ns",
            "redis-master",
            "10.0.0.11",
            json!([{"name": "redis", "port": 6379}, {"name": "metrics-port", "port": 9121, "protocol": "UDP"}]),
        );
        let env = w.env_of(json!([])).expect("env");
        assert_eq!(
            env,
            pairs(&[
                ("REDIS_MASTER_SERVICE_HOST", "10.0.0.11"),
                ("REDIS_MASTER_SERVICE_PORT", "6379"),
                ("REDIS_MASTER_SERVICE_PORT_REDIS", "6379"),
                ("REDIS_MASTER_SERVICE_PORT_METRICS_PORT", "9121"),
                ("REDIS_MASTER_PORT", "tcp://10.0.0.11:6379"),
                ("REDIS_MASTER_PORT_6379_TCP", "tcp://10.0.0.11:6379"),
                ("REDIS_MASTER_PORT_6379_TCP_PROTO", "tcp"),
                ("REDIS_MASTER_PORT_6379_TCP_PORT", "6379"),
                ("REDIS_MASTER_PORT_6379_TCP_ADDR", "10.0.0.11"),
                ("REDIS_MASTER_PORT_9121_UDP", "udp://10.0.0.11:9121"),
                ("REDIS_MASTER_PORT_9121_UDP_PROTO", "udp"),
                ("REDIS_MASTER_PORT_9121_UDP_PORT", "9121"),
                ("REDIS_MASTER_PORT_9121_UDP_ADDR", "10.0.0.11"),
            ])
        );
    }

    #[test]
    fn service_links_skip_other_namespaces_and_services_without_an_ip() {
        let mut w = World::new();
        let port = json!([{"port": 80}]);
        w.service("ns", "web", "10.0.0.2", port.clone());
        w.service("ns", "headless", "None", port.clone());
        w.service("ns", "pending", "", port.clone());
        w.service("other", "elsewhere", "10.0.0.3", port.clone());
        w.service(
            "default",
            "kubernetes",
            "10.0.0.1",
            json!([{"name": "https", "port": 443}]),
        );
        w.service("default", "not-kubernetes", "10.0.0.4", port);
        let env = w.env_of(json!([])).expect("env");
        let names: Vec<&str> = env.iter().map(|(k, _)| k.as_str()).collect();
        assert!(names.contains(&"WEB_SERVICE_HOST"));
        assert!(names.contains(&"KUBERNETES_SERVICE_HOST"));
        assert!(names.contains(&"KUBERNETES_SERVICE_PORT_HTTPS"));
        for absent in ["HEADLESS", "PENDING", "ELSEWHERE", "NOT_KUBERNETES"] {
            assert!(
                !names.iter().any(|n| n.starts_with(absent)),
                "{absent} leaked into {names:?}"
            );
        }
        // Services are sorted by name: kubernetes before web.
        let k = names.iter().position(|n| *n == "KUBERNETES_SERVICE_HOST");
        let w_ = names.iter().position(|n| *n == "WEB_SERVICE_HOST");
        assert!(k < w_);
    }

    #[test]
    fn disabled_service_links_keep_only_the_kubernetes_service() {
        let mut w = World::new();
        w.service("ns", "web", "10.0.0.2", json!([{"port": 80}]));
        w.service(
            "default",
            "kubernetes",
            "10.0.0.1",
            json!([{"name": "https", "port": 443}]),
        );
        let mut pod = pod_with(json!({}));
        pod.spec.as_mut().expect("spec").enable_service_links = Some(false);
        let env = w.env(&pod).expect("env");
        assert_eq!(
            env,
            pairs(&[
                ("KUBERNETES_SERVICE_HOST", "10.0.0.1"),
                ("KUBERNETES_SERVICE_PORT", "443"),
                ("KUBERNETES_SERVICE_PORT_HTTPS", "443"),
                ("KUBERNETES_PORT", "tcp://10.0.0.1:443"),
                ("KUBERNETES_PORT_443_TCP", "tcp://10.0.0.1:443"),
                ("KUBERNETES_PORT_443_TCP_PROTO", "tcp"),
                ("KUBERNETES_PORT_443_TCP_PORT", "443"),
                ("KUBERNETES_PORT_443_TCP_ADDR", "10.0.0.1"),
            ])
        );
    }

    #[test]
    fn a_local_kubernetes_service_shadows_the_default_one() {
        let mut w = World::new();
        w.service("default", "kubernetes", "10.0.0.1", json!([{"port": 443}]));
        w.service("ns", "kubernetes", "10.0.0.99", json!([{"port": 8443}]));
        let env = w.env_of(json!([])).expect("env");
        let host: Vec<_> = env
            .iter()
            .filter(|(k, _)| k == "KUBERNETES_SERVICE_HOST")
            .collect();
        assert_eq!(
            host,
            [&("KUBERNETES_SERVICE_HOST".to_owned(), "10.0.0.99".to_owned())]
        );
    }

    #[test]
    fn ipv6_cluster_ips_are_bracketed_in_urls_only() {
        let mut w = World::new();
        w.service("ns", "v6", "fd00::1", json!([{"port": 80}]));
        let env = w.env_of(json!([])).expect("env");
        let get = |name: &str| env.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
        assert_eq!(get("V6_SERVICE_HOST"), Some("fd00::1"));
        assert_eq!(get("V6_PORT"), Some("tcp://[fd00::1]:80"));
        assert_eq!(get("V6_PORT_80_TCP_ADDR"), Some("fd00::1"));
    }

    // ------------------------------------------------------- envFrom, env

    #[test]
    fn env_from_imports_every_key_with_the_prefix() {
        let w = World::new();
        let pod = pod_with(json!({"envFrom": [
            {"configMapRef": {"name": "cfg"}, "prefix": "APP_"},
            {"secretRef": {"name": "creds"}}
        ]}));
        assert_eq!(
            w.env(&pod).expect("env"),
            pairs(&[
                ("APP_LOG_LEVEL", "debug"),
                ("APP_MODE", "fast"),
                ("password", "s3cr3t"),
                ("user", "admin"),
            ])
        );
    }

    #[test]
    fn env_from_skips_keys_that_cannot_be_names() {
        let mut w = World::new();
        w.config_map(
            "odd",
            json!({"1st-key.ok": "a", "has=equals": "b", "tab\tkey": "c"}),
        );
        let pod = pod_with(json!({"envFrom": [{"configMapRef": {"name": "odd"}}]}));
        assert_eq!(w.env(&pod).expect("env"), pairs(&[("1st-key.ok", "a")]));
    }

    #[test]
    fn env_from_missing_objects() {
        let w = World::new();
        let optional = pod_with(json!({"envFrom": [
            {"configMapRef": {"name": "nope", "optional": true}},
            {"secretRef": {"name": "nope", "optional": true}},
            {"configMapRef": {"name": "cfg"}}
        ]}));
        assert_eq!(w.env(&optional).expect("env").len(), 2);

        let cm = pod_with(json!({"envFrom": [{"configMapRef": {"name": "nope"}}]}));
        let err = w.env(&cm).expect_err("missing configmap");
        assert_eq!(err.to_string(), "configmap \"nope\" not found");
        let secret =
            pod_with(json!({"envFrom": [{"secretRef": {"name": "nope", "optional": false}}]}));
        let err = w.env(&secret).expect_err("missing secret");
        assert_eq!(err.to_string(), "secret \"nope\" not found");
    }

    #[test]
    fn order_sources_and_overrides() {
        let mut w = World::new();
        w.service("ns", "db", "10.0.0.7", json!([{"port": 5432}]));
        let pod = pod_with(json!({
            "envFrom": [{"configMapRef": {"name": "cfg"}}],
            "env": [
                {"name": "FIRST", "value": "1"},
                {"name": "MODE", "value": "slow-after-$(MODE)"},
                {"name": "DB_SERVICE_HOST", "value": "override"},
                {"name": "FIRST", "value": "$(FIRST)-again"}
            ]
        }));
        let env = w.env(&pod).expect("env");
        let names: Vec<&str> = env.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            names,
            [
                "DB_SERVICE_HOST",
                "DB_SERVICE_PORT",
                "DB_PORT",
                "DB_PORT_5432_TCP",
                "DB_PORT_5432_TCP_PROTO",
                "DB_PORT_5432_TCP_PORT",
                "DB_PORT_5432_TCP_ADDR",
                "LOG_LEVEL",
                "MODE",
                "FIRST",
            ]
        );
        let get = |name: &str| env.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
        assert_eq!(get("DB_SERVICE_HOST"), Some("override"));
        assert_eq!(get("MODE"), Some("slow-after-fast"));
        assert_eq!(get("FIRST"), Some("1-again"));
    }

    #[test]
    fn references_see_only_what_is_defined_before() {
        let mut w = World::new();
        w.service("ns", "db", "10.0.0.7", json!([{"port": 5432}]));
        let env = w
            .env_of(json!([
                {"name": "URL", "value": "postgres://$(DB_SERVICE_HOST):$(DB_SERVICE_PORT)/$(NAME)"},
                {"name": "NAME", "value": "app"},
                {"name": "ESCAPED", "value": "$$(NAME)"},
                {"name": "EMPTY"},
                {"name": "SECRET", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "password"}}},
                {"name": "NOT_EXPANDED", "valueFrom": {"configMapKeyRef": {"name": "refs", "key": "v"}}}
            ]))
            .expect_err("refs configmap is missing");
        assert_eq!(err_text(&env), "configmap \"refs\" not found");

        w.config_map("refs", json!({"v": "$(NAME)"}));
        let env = w
            .env_of(json!([
                {"name": "URL", "value": "postgres://$(DB_SERVICE_HOST):$(DB_SERVICE_PORT)/$(NAME)"},
                {"name": "NAME", "value": "app"},
                {"name": "ESCAPED", "value": "$$(NAME)"},
                {"name": "EMPTY"},
                {"name": "FROM_CM", "valueFrom": {"configMapKeyRef": {"name": "refs", "key": "v"}}},
                {"name": "USES_SECRET", "value": "$(SECRET)"},
                {"name": "SECRET", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "password"}}},
                {"name": "AFTER", "value": "pw=$(SECRET)"}
            ]))
            .expect("env");
        let get = |name: &str| env.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
        assert_eq!(get("URL"), Some("postgres://10.0.0.7:5432/$(NAME)"));
        assert_eq!(get("ESCAPED"), Some("$(NAME)"));
        assert_eq!(get("EMPTY"), Some(""));
        assert_eq!(get("FROM_CM"), Some("$(NAME)"), "valueFrom is not expanded");
        assert_eq!(get("USES_SECRET"), Some("$(SECRET)"));
        assert_eq!(get("AFTER"), Some("pw=s3cr3t"));
    }

    fn err_text(e: &EnvError) -> String {
        e.to_string()
    }

    #[test]
    fn config_map_key_refs() {
        let w = World::new();
        let sel = |name: &str, key: &str, optional: Option<bool>| json!({"configMapKeyRef": {"name": name, "key": key, "optional": optional}});
        assert_eq!(
            w.value_from(sel("cfg", "MODE", None)),
            Ok(Some("fast".into()))
        );
        assert_eq!(w.value_from(sel("cfg", "NOPE", Some(true))), Ok(None));
        assert_eq!(w.value_from(sel("gone", "MODE", Some(true))), Ok(None));
        assert_eq!(
            w.value_from(sel("cfg", "NOPE", Some(false)))
                .expect_err("missing key")
                .to_string(),
            "couldn't find key NOPE in ConfigMap ns/cfg"
        );
        assert_eq!(
            w.value_from(sel("gone", "MODE", None))
                .expect_err("missing configmap")
                .to_string(),
            "configmap \"gone\" not found"
        );
    }

    #[test]
    fn binary_data_is_not_visible_to_key_refs() {
        let mut w = World::new();
        let cm: ConfigMap = from(json!({
            "metadata": {"name": "bin", "namespace": "ns"},
            "binaryData": {"blob": "AAEC"}
        }));
        w.config_maps.insert("bin".into(), cm);
        let err = w
            .value_from(json!({"configMapKeyRef": {"name": "bin", "key": "blob"}}))
            .expect_err("binaryData key");
        assert_eq!(
            err.to_string(),
            "couldn't find key blob in ConfigMap ns/bin"
        );
    }

    #[test]
    fn secret_key_refs() {
        let mut w = World::new();
        w.secret("raw", json!({"bytes": "/2E="}));
        let sel = |name: &str, key: &str, optional: Option<bool>| json!({"secretKeyRef": {"name": name, "key": key, "optional": optional}});
        assert_eq!(
            w.value_from(sel("creds", "user", None)),
            Ok(Some("admin".into()))
        );
        assert_eq!(
            w.value_from(sel("raw", "bytes", None)),
            Ok(Some("\u{fffd}a".into())),
            "invalid UTF-8 is replaced, not an error"
        );
        assert_eq!(w.value_from(sel("creds", "nope", Some(true))), Ok(None));
        assert_eq!(w.value_from(sel("gone", "user", Some(true))), Ok(None));
        assert_eq!(
            w.value_from(sel("creds", "nope", None))
                .expect_err("missing key")
                .to_string(),
            "couldn't find key nope in Secret ns/creds"
        );
        assert_eq!(
            w.value_from(sel("gone", "user", None))
                .expect_err("missing secret")
                .to_string(),
            "secret \"gone\" not found"
        );
    }

    #[test]
    fn an_optional_miss_keeps_an_earlier_definition() {
        let w = World::new();
        let env = w
            .env_of(json!([
                {"name": "X", "value": "kept"},
                {"name": "X", "valueFrom": {"configMapKeyRef": {"name": "gone", "key": "k", "optional": true}}}
            ]))
            .expect("env");
        assert_eq!(env, pairs(&[("X", "kept")]));
    }

    // ------------------------------------------------------- downward API

    #[test]
    fn field_refs_expose_pod_fields() {
        let w = World::new();
        let mut pod = pod_with(json!({}));
        pod.metadata.labels = [("app", "web"), ("tier", "front")]
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        pod.metadata.annotations = [("note", "say \"hi\"\nbye"), ("Example.com/Key", "v")]
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        pod.spec.as_mut().expect("spec").service_account_name = Some("builder".into());
        let cases = [
            ("metadata.name", "p"),
            ("metadata.namespace", "ns"),
            ("metadata.uid", "u-1"),
            ("metadata.labels['app']", "web"),
            ("metadata.labels['missing']", ""),
            ("metadata.labels", "app=\"web\"\ntier=\"front\""),
            ("metadata.annotations['Example.com/Key']", "v"),
            (
                "metadata.annotations",
                "Example.com/Key=\"v\"\nnote=\"say \\\"hi\\\"\\nbye\"",
            ),
            ("spec.nodeName", "node-1"),
            ("spec.host", "node-1"),
            ("spec.serviceAccountName", "builder"),
            ("status.hostIP", "192.168.1.10"),
            ("status.hostIPs", "192.168.1.10,fd00::10"),
            ("status.podIP", "10.244.1.5"),
            ("status.podIPs", "10.244.1.5,fd00:244::5"),
        ];
        for (path, want) in cases {
            assert_eq!(w.field_of(&pod, path).as_deref(), Ok(want), "{path}");
        }
    }

    #[test]
    fn field_refs_fall_back_to_single_ips_and_the_node_name() {
        let mut w = World::new();
        w.pod_ips.clear();
        w.host_ips.clear();
        let mut pod = pod_with(json!({}));
        pod.spec.as_mut().expect("spec").node_name = None;
        assert_eq!(
            w.field_of(&pod, "status.podIPs").as_deref(),
            Ok("10.244.1.5")
        );
        assert_eq!(
            w.field_of(&pod, "status.hostIPs").as_deref(),
            Ok("192.168.1.10")
        );
        assert_eq!(w.field_of(&pod, "spec.nodeName").as_deref(), Ok("node-1"));
        assert_eq!(
            w.field_of(&pod, "spec.serviceAccountName").as_deref(),
            Ok("")
        );
    }

    #[test]
    fn field_ref_errors_match_upstream() {
        let w = World::new();
        let cases = [
            ("status.phase", "unsupported fieldPath: status.phase"),
            (
                "spec.restartPolicy",
                "unsupported fieldPath: spec.restartPolicy",
            ),
            (
                "spec.containers",
                "field label not supported: spec.containers",
            ),
            (
                "spec.nodeSelector['x']",
                "field label does not support subscript: spec.nodeSelector['x']",
            ),
        ];
        for (path, want) in cases {
            let err = w.field(path).expect_err(path);
            assert_eq!(err.to_string(), want);
        }
        let err = w.field("metadata.labels['bad key!']").expect_err("bad key");
        assert!(matches!(err, EnvError::InvalidSubscript { .. }), "{err:?}");
        assert!(
            err.to_string()
                .starts_with("invalid key subscript in metadata.labels['bad key!']: "),
            "{err}"
        );

        let sel: ObjectFieldSelector =
            from(json!({"apiVersion": "v2", "fieldPath": "metadata.name"}));
        let err = field_value(&pod_with(json!({})), &sel, &w.ctx()).expect_err("v2");
        assert_eq!(err.to_string(), "unsupported pod version: v2");
        let sel: ObjectFieldSelector =
            from(json!({"apiVersion": "v1", "fieldPath": "metadata.name"}));
        assert_eq!(
            field_value(&pod_with(json!({})), &sel, &w.ctx()).as_deref(),
            Ok("p")
        );
    }

    #[test]
    fn go_quote_escapes_like_strconv_quote() {
        assert_eq!(go_quote("plain"), "\"plain\"");
        assert_eq!(go_quote("a\"b\\c"), "\"a\\\"b\\\\c\"");
        assert_eq!(
            go_quote("\t\r\n\u{7}\u{0}\u{7f}"),
            "\"\\t\\r\\n\\a\\x00\\x7f\""
        );
        assert_eq!(go_quote("héllo ☃"), "\"héllo ☃\"");
        assert_eq!(go_quote("\u{85}"), "\"\\u0085\"");
    }

    fn resource_pod(resources: Value) -> Pod {
        from(json!({
            "metadata": {"name": "p", "namespace": "ns"},
            "spec": {
                "containers": [
                    {"name": "c", "resources": resources},
                    {"name": "other", "resources": {"limits": {"memory": "256Mi"}}}
                ],
                "initContainers": [{"name": "init", "resources": {"requests": {"cpu": "100m"}}}]
            }
        }))
    }

    fn resource(w: &World, pod: &Pod, sel: Value) -> Result<String, EnvError> {
        let spec = pod.spec.as_ref().expect("spec");
        let sel: ResourceFieldSelector = from(sel);
        resource_value(pod, &spec.containers[0], &sel, &w.allocatable)
    }

    #[test]
    fn resource_field_refs_with_divisors() {
        let w = World::new();
        let pod = resource_pod(json!({
            "requests": {"cpu": "250m", "memory": "64Mi", "ephemeral-storage": "1Gi"},
            "limits": {"cpu": "1500m", "memory": "128Mi", "hugepages-2Mi": "4Mi"}
        }));
        let cases = [
            (json!({"resource": "requests.cpu"}), "1"),
            (json!({"resource": "requests.cpu", "divisor": "1m"}), "250"),
            (json!({"resource": "limits.cpu"}), "2"),
            (json!({"resource": "limits.cpu", "divisor": "1m"}), "1500"),
            (json!({"resource": "limits.cpu", "divisor": "100m"}), "15"),
            (json!({"resource": "limits.cpu", "divisor": "0"}), "2"),
            (json!({"resource": "requests.memory"}), "67108864"),
            (
                json!({"resource": "requests.memory", "divisor": "1Mi"}),
                "64",
            ),
            (json!({"resource": "limits.memory", "divisor": "1M"}), "135"),
            (json!({"resource": "limits.memory", "divisor": "1Gi"}), "1"),
            (
                json!({"resource": "requests.ephemeral-storage", "divisor": "1Mi"}),
                "1024",
            ),
            (
                json!({"resource": "limits.hugepages-2Mi", "divisor": "1Mi"}),
                "4",
            ),
            (json!({"resource": "requests.hugepages-2Mi"}), "4194304"),
        ];
        for (sel, want) in cases {
            assert_eq!(
                resource(&w, &pod, sel.clone()).as_deref(),
                Ok(want),
                "{sel}"
            );
        }
    }

    #[test]
    fn unset_limits_are_the_node_allocatable() {
        let w = World::new();
        let pod = resource_pod(json!({"requests": {"cpu": "100m"}, "limits": {"memory": "0"}}));
        let cases = [
            (json!({"resource": "limits.cpu"}), "4"),
            (json!({"resource": "limits.memory", "divisor": "1Gi"}), "8"),
            (
                json!({"resource": "limits.ephemeral-storage", "divisor": "1Gi"}),
                "100",
            ),
            // No request and no user limit: zero, not the allocatable.
            (json!({"resource": "requests.memory"}), "0"),
            (json!({"resource": "requests.ephemeral-storage"}), "0"),
            (json!({"resource": "limits.hugepages-1Gi"}), "0"),
        ];
        for (sel, want) in cases {
            assert_eq!(
                resource(&w, &pod, sel.clone()).as_deref(),
                Ok(want),
                "{sel}"
            );
        }
    }

    #[test]
    fn a_request_defaults_to_the_limit() {
        let w = World::new();
        let pod = resource_pod(json!({"limits": {"cpu": "2", "memory": "1Gi"}}));
        let got = resource(
            &w,
            &pod,
            json!({"resource": "requests.cpu", "divisor": "1m"}),
        );
        assert_eq!(got.as_deref(), Ok("2000"));
        let got = resource(
            &w,
            &pod,
            json!({"resource": "requests.memory", "divisor": "1Mi"}),
        );
        assert_eq!(got.as_deref(), Ok("1024"));
    }

    #[test]
    fn resource_refs_to_other_containers() {
        let w = World::new();
        let pod = resource_pod(json!({}));
        let sel = |c: &str, r: &str| json!({"containerName": c, "resource": r, "divisor": "1Mi"});
        assert_eq!(
            resource(&w, &pod, sel("other", "limits.memory")).as_deref(),
            Ok("256")
        );
        assert_eq!(
            resource(&w, &pod, sel("other", "requests.memory")).as_deref(),
            Ok("256")
        );
        // App containers fall back to the allocatable, init containers do not.
        let other_cpu = json!({"containerName": "other", "resource": "limits.cpu"});
        assert_eq!(resource(&w, &pod, other_cpu).as_deref(), Ok("4"));
        let init_cpu = json!({"containerName": "init", "resource": "limits.cpu"});
        assert_eq!(resource(&w, &pod, init_cpu).as_deref(), Ok("0"));
        let init_req =
            json!({"containerName": "init", "resource": "requests.cpu", "divisor": "1m"});
        assert_eq!(resource(&w, &pod, init_req).as_deref(), Ok("100"));
        let err = resource(&w, &pod, sel("ghost", "limits.cpu")).expect_err("ghost");
        assert_eq!(err.to_string(), "container ghost not found");
    }

    #[test]
    fn resource_ref_errors() {
        let w = World::new();
        let pod = resource_pod(json!({"limits": {"cpu": "lots"}}));
        for bad in [
            "limits.gpu",
            "limits",
            "cpu",
            "status.cpu",
            "requests.nvidia.com/gpu",
        ] {
            let err = resource(&w, &pod, json!({"resource": bad})).expect_err(bad);
            assert_eq!(
                err.to_string(),
                format!("unsupported container resource : {bad}")
            );
        }
        let err = resource(&w, &pod, json!({"resource": "limits.cpu"})).expect_err("lots");
        assert!(matches!(err, EnvError::InvalidQuantity { .. }), "{err:?}");
        let err = resource(
            &w,
            &pod,
            json!({"resource": "limits.memory", "divisor": "x"}),
        )
        .expect_err("divisor");
        assert!(matches!(err, EnvError::InvalidQuantity { .. }), "{err:?}");
    }

    #[test]
    fn resource_refs_through_container_env() {
        let w = World::new();
        let pod = pod_with(json!({
            "resources": {"limits": {"memory": "512Mi"}},
            "env": [
                {"name": "MEM_MB", "valueFrom": {"resourceFieldRef": {"resource": "limits.memory", "divisor": "1Mi"}}},
                {"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
                {"name": "BOTH", "value": "$(NODE):$(MEM_MB)"}
            ]
        }));
        assert_eq!(
            w.env(&pod).expect("env"),
            pairs(&[
                ("MEM_MB", "512"),
                ("NODE", "node-1"),
                ("BOTH", "node-1:512")
            ])
        );
    }

    #[test]
    fn ceil_div_rounds_up() {
        assert_eq!(ceil_div(0, 1000), 0);
        assert_eq!(ceil_div(1, 1000), 1);
        assert_eq!(ceil_div(1000, 1000), 1);
        assert_eq!(ceil_div(1001, 1000), 2);
        assert_eq!(ceil_div(-1001, 1000), -1);
        assert_eq!(ceil_div(5, 0), 0);
    }

    // --------------------------------------------------------- references

    #[test]
    fn referenced_objects_cover_env_volumes_and_pull_secrets() {
        let pod: Pod = from(json!({
            "metadata": {"name": "p", "namespace": "ns"},
            "spec": {
                "imagePullSecrets": [{"name": "regcred"}, {"name": ""}],
                "initContainers": [{
                    "name": "init",
                    "envFrom": [{"configMapRef": {"name": "init-cm"}}, {"secretRef": {"name": "init-s"}}]
                }],
                "containers": [{
                    "name": "c",
                    "env": [
                        {"name": "A", "valueFrom": {"configMapKeyRef": {"name": "env-cm", "key": "k"}}},
                        {"name": "B", "valueFrom": {"secretKeyRef": {"name": "env-s", "key": "k"}}},
                        {"name": "C", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                        {"name": "D", "value": "x"}
                    ]
                }],
                "volumes": [
                    {"name": "v1", "configMap": {"name": "vol-cm"}},
                    {"name": "v2", "secret": {"secretName": "vol-s"}},
                    {"name": "v3", "projected": {"sources": [
                        {"configMap": {"name": "proj-cm"}},
                        {"secret": {"name": "proj-s"}},
                        {"serviceAccountToken": {"path": "token"}}
                    ]}},
                    {"name": "v4", "emptyDir": {}},
                    {"name": "v5", "csi": {"driver": "d", "nodePublishSecretRef": {"name": "csi-s"}}}
                ]
            }
        }));
        let (cms, secrets) = referenced_objects(&pod);
        let cms: Vec<&str> = cms.iter().map(String::as_str).collect();
        let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
        assert_eq!(cms, ["env-cm", "init-cm", "proj-cm", "vol-cm"]);
        assert_eq!(
            secrets,
            ["csi-s", "env-s", "init-s", "proj-s", "regcred", "vol-s"]
        );

        let bare: Pod = from(json!({"metadata": {"name": "p"}}));
        assert_eq!(
            referenced_objects(&bare),
            (BTreeSet::new(), BTreeSet::new())
        );
    }
}

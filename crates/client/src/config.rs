//! Where the apiserver is and who we are: kubeconfig files and in-cluster
//! defaults (client-go's `clientcmd` and `rest.InClusterConfig`).
//!
//! A kubeconfig names clusters (server, CA), users (token, client
//! certificate) and contexts pairing them; `current-context` picks one.
//! Paths inside the file are relative to the file's own directory.

use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine;
use serde::Deserialize;

use crate::error::{Error, Result};

/// Where the service-account token, CA and namespace are mounted in a pod.
pub const SERVICE_ACCOUNT_DIR: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

/// Everything needed to talk to one apiserver.
#[derive(Clone)]
pub struct Config {
    /// `http://127.0.0.1:6443`
    pub server: String,
    /// PEM of the CA that signed the server's certificate.
    pub ca_data: Option<Vec<u8>>,
    pub insecure_skip_tls_verify: bool,
    /// Bearer token.
    pub token: Option<String>,
    /// PEM client certificate and key.
    pub client_cert: Option<Vec<u8>>,
    pub client_key: Option<Vec<u8>>,
    /// The context's namespace (`default` when unset).
    pub namespace: String,
    /// Sustained requests per second (`--kube-api-qps`); 0 or less: no limit.
    pub qps: f32,
    /// Requests allowed in a burst above `qps` (`--kube-api-burst`).
    pub burst: u32,
    /// Sent as `User-Agent`; the apiserver names field managers after it.
    pub user_agent: String,
    /// Timeout of one non-watch request.
    pub timeout: Duration,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print credentials.
        f.debug_struct("Config")
            .field("server", &self.server)
            .field("namespace", &self.namespace)
            .field("has_token", &self.token.is_some())
            .field("has_client_cert", &self.client_cert.is_some())
            .field("qps", &self.qps)
            .field("burst", &self.burst)
            .field("user_agent", &self.user_agent)
            .finish_non_exhaustive()
    }
}

impl Config {
    /// A config for `server` with client-go's defaults (5 QPS, burst 10).
    pub fn new(server: impl Into<String>) -> Config {
        Config {
            server: server.into().trim_end_matches('/').to_string(),
            ca_data: None,
            insecure_skip_tls_verify: false,
            token: None,
            client_cert: None,
            client_key: None,
            namespace: "default".into(),
            qps: 5.0,
            burst: 10,
            user_agent: "oxkube".into(),
            timeout: Duration::from_secs(60),
        }
    }

    /// Reads a kubeconfig file; `context` overrides `current-context`.
    ///
    /// # Errors
    /// When the file cannot be read or parsed, or names a context, cluster
    /// or user it does not define.
    pub fn from_kubeconfig(path: &Path, context: Option<&str>) -> Result<Config> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::Config(format!("cannot read kubeconfig {}: {e}", path.display()))
        })?;
        let base = path.parent().unwrap_or_else(|| Path::new("."));
        Config::from_kubeconfig_str(&text, base, context)
            .map_err(|e| Error::Config(format!("kubeconfig {}: {e}", path.display())))
    }

    /// Parses kubeconfig YAML; relative paths resolve against `base`.
    ///
    /// # Errors
    /// As [`Config::from_kubeconfig`], with a message naming what is wrong.
    pub fn from_kubeconfig_str(text: &str, base: &Path, context: Option<&str>) -> Result<Config> {
        let kc: Kubeconfig = serde_yaml_ng::from_str(text)
            .map_err(|e| Error::Config(format!("not a valid kubeconfig: {e}")))?;
        let ctx_name = context
            .map(str::to_string)
            .or(kc.current_context.clone().filter(|c| !c.is_empty()))
            .ok_or_else(|| Error::Config("no current-context set and none given".into()))?;
        let ctx = kc
            .contexts
            .iter()
            .find(|c| c.name == ctx_name)
            .map(|c| &c.context)
            .ok_or_else(|| Error::Config(format!("context {ctx_name:?} not found")))?;
        let cluster = kc
            .clusters
            .iter()
            .find(|c| c.name == ctx.cluster)
            .map(|c| &c.cluster)
            .ok_or_else(|| Error::Config(format!("cluster {:?} not found", ctx.cluster)))?;
        let user = match &ctx.user {
            Some(name) if !name.is_empty() => Some(
                kc.users
                    .iter()
                    .find(|u| &u.name == name)
                    .map(|u| &u.user)
                    .ok_or_else(|| Error::Config(format!("user {name:?} not found")))?,
            ),
            _ => None,
        };
        if cluster.server.is_empty() {
            return Err(Error::Config(format!(
                "cluster {:?} has no server",
                ctx.cluster
            )));
        }
        let mut config = Config::new(cluster.server.clone());
        config.insecure_skip_tls_verify = cluster.insecure_skip_tls_verify;
        config.ca_data = data_or_file(
            cluster.certificate_authority_data.as_deref(),
            cluster.certificate_authority.as_deref(),
            base,
            "certificate-authority",
        )?;
        if let Some(ns) = ctx.namespace.as_ref().filter(|n| !n.is_empty()) {
            config.namespace.clone_from(ns);
        }
        if let Some(user) = user {
            config.token = match (&user.token, &user.token_file) {
                (Some(t), _) if !t.is_empty() => Some(t.clone()),
                (_, Some(file)) => Some(read_trimmed(&resolve(base, file))?),
                _ => None,
            };
            config.client_cert = data_or_file(
                user.client_certificate_data.as_deref(),
                user.client_certificate.as_deref(),
                base,
                "client-certificate",
            )?;
            config.client_key = data_or_file(
                user.client_key_data.as_deref(),
                user.client_key.as_deref(),
                base,
                "client-key",
            )?;
        }
        Ok(config)
    }

    /// The in-cluster config of a pod: `KUBERNETES_SERVICE_HOST`/`PORT` and
    /// the mounted service-account token, CA and namespace.
    ///
    /// # Errors
    /// When not running in a pod (variables or token missing).
    pub fn in_cluster() -> Result<Config> {
        Config::in_cluster_from(
            std::env::var("KUBERNETES_SERVICE_HOST").ok(),
            std::env::var("KUBERNETES_SERVICE_PORT").ok(),
            Path::new(SERVICE_ACCOUNT_DIR),
        )
    }

    fn in_cluster_from(host: Option<String>, port: Option<String>, dir: &Path) -> Result<Config> {
        let (Some(host), Some(port)) = (host, port) else {
            return Err(Error::Config(
                "not in a cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be set"
                    .into(),
            ));
        };
        let host = if host.contains(':') {
            format!("[{host}]")
        } else {
            host
        };
        let mut config = Config::new(format!("https://{host}:{port}"));
        config.token = Some(read_trimmed(&dir.join("token"))?);
        config.ca_data = std::fs::read(dir.join("ca.crt")).ok();
        if let Ok(ns) = std::fs::read_to_string(dir.join("namespace")) {
            let ns = ns.trim();
            if !ns.is_empty() {
                config.namespace = ns.to_string();
            }
        }
        Ok(config)
    }

    /// What a component uses when started: `--kubeconfig` if given, else
    /// `$KUBECONFIG`, else in-cluster, else `~/.kube/config`.
    ///
    /// # Errors
    /// When none of them works; the message lists what was tried.
    pub fn infer(kubeconfig: Option<&Path>) -> Result<Config> {
        if let Some(path) = kubeconfig {
            return Config::from_kubeconfig(path, None);
        }
        if let Some(path) = std::env::var_os("KUBECONFIG").filter(|p| !p.is_empty()) {
            // Several files may be listed; the first is used.
            if let Some(first) = std::env::split_paths(&path).next() {
                return Config::from_kubeconfig(&first, None);
            }
        }
        match Config::in_cluster() {
            Ok(c) => Ok(c),
            Err(in_cluster) => {
                let home = std::env::var_os("HOME").map(PathBuf::from);
                match home.map(|h| h.join(".kube/config")).filter(|p| p.exists()) {
                    Some(path) => Config::from_kubeconfig(&path, None),
                    None => Err(Error::Config(format!(
                        "no kubeconfig: pass --kubeconfig, set KUBECONFIG, or run in a pod ({in_cluster})"
                    ))),
                }
            }
        }
    }
}

fn resolve(base: &Path, file: &str) -> PathBuf {
    let p = Path::new(file);
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        base.join(p)
    }
}

fn read_trimmed(path: &Path) -> Result<String> {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_string())
        .map_err(|e| Error::Config(format!("cannot read {}: {e}", path.display())))
}

/// `*-data` (base64) wins over the file path, as in kubectl.
fn data_or_file(
    data: Option<&str>,
    file: Option<&str>,
    base: &Path,
    what: &str,
) -> Result<Option<Vec<u8>>> {
    if let Some(d) = data.filter(|d| !d.is_empty()) {
        return base64::engine::general_purpose::STANDARD
            .decode(d.trim())
            .map(Some)
            .map_err(|e| Error::Config(format!("{what}-data is not valid base64: {e}")));
    }
    match file.filter(|f| !f.is_empty()) {
        Some(f) => {
            let path = resolve(base, f);
            std::fs::read(&path)
                .map(Some)
                .map_err(|e| Error::Config(format!("cannot read {what} {}: {e}", path.display())))
        }
        None => Ok(None),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct Kubeconfig {
    #[serde(default)]
    clusters: Vec<NamedCluster>,
    #[serde(default)]
    users: Vec<NamedUser>,
    #[serde(default)]
    contexts: Vec<NamedContext>,
    #[serde(default)]
    current_context: Option<String>,
}

#[derive(Deserialize)]
struct NamedCluster {
    name: String,
    cluster: Cluster,
}

#[derive(Deserialize)]
struct NamedUser {
    name: String,
    #[serde(default)]
    user: User,
}

#[derive(Deserialize)]
struct NamedContext {
    name: String,
    context: Context,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
struct Cluster {
    #[serde(default)]
    server: String,
    certificate_authority: Option<String>,
    certificate_authority_data: Option<String>,
    #[serde(default)]
    insecure_skip_tls_verify: bool,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
struct User {
    token: Option<String>,
    #[serde(rename = "tokenFile")]
    token_file: Option<String>,
    client_certificate: Option<String>,
    client_certificate_data: Option<String>,
    client_key: Option<String>,
    client_key_data: Option<String>,
}

#[derive(Deserialize)]
struct Context {
    cluster: String,
    user: Option<String>,
    namespace: Option<String>,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    const KC: &str = r"
apiVersion: v1
kind: Config
current-context: dev
clusters:
- name: local
  cluster:
    server: http://127.0.0.1:6443/
    certificate-authority: ca.pem
- name: other
  cluster:
    server: https://10.0.0.1:6443
    certificate-authority-data: aGVsbG8=
contexts:
- name: dev
  context: {cluster: local, user: admin, namespace: team-a}
- name: prod
  context: {cluster: other, user: robot}
users:
- name: admin
  user:
    client-certificate-data: Y2VydA==
    client-key: keys/admin.key
- name: robot
  user:
    tokenFile: token
";

    #[test]
    fn reads_contexts_clusters_users_and_relative_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("ca.pem"), "CA").unwrap();
        std::fs::create_dir(dir.path().join("keys")).unwrap();
        std::fs::write(dir.path().join("keys/admin.key"), "KEY").unwrap();
        std::fs::write(dir.path().join("token"), "s3cret\n").unwrap();
        let c = Config::from_kubeconfig_str(KC, dir.path(), None).unwrap();
        assert_eq!(c.server, "http://127.0.0.1:6443");
        assert_eq!(c.namespace, "team-a");
        assert_eq!(c.ca_data.as_deref(), Some(&b"CA"[..]));
        assert_eq!(c.client_cert.as_deref(), Some(&b"cert"[..]));
        assert_eq!(c.client_key.as_deref(), Some(&b"KEY"[..]));
        assert_eq!(c.token, None);
        let p = Config::from_kubeconfig_str(KC, dir.path(), Some("prod")).unwrap();
        assert_eq!(p.server, "https://10.0.0.1:6443");
        assert_eq!(p.namespace, "default");
        assert_eq!(p.token.as_deref(), Some("s3cret"));
        assert_eq!(p.ca_data.as_deref(), Some(&b"hello"[..]));
        // Credentials never show in Debug output.
        assert!(!format!("{p:?}").contains("s3cret"));
    }

    #[test]
    fn errors_say_what_is_wrong() {
        let dir = tempfile::tempdir().unwrap();
        let err = |text: &str, ctx: Option<&str>| {
            Config::from_kubeconfig_str(text, dir.path(), ctx)
                .unwrap_err()
                .to_string()
        };
        assert!(err(KC, Some("nope")).contains("context \"nope\" not found"));
        assert!(err(": : :", None).contains("not a valid kubeconfig"));
        assert!(err("clusters: []", None).contains("no current-context"));
        // dev's CA file does not exist here
        assert!(err(KC, None).contains("cannot read certificate-authority"));
        let missing = Config::from_kubeconfig(Path::new("/nonexistent/kc"), None).unwrap_err();
        assert!(missing.to_string().contains("/nonexistent/kc"));
    }

    #[test]
    fn in_cluster_uses_the_service_account_mount() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("token"), "tok").unwrap();
        std::fs::write(dir.path().join("namespace"), "kube-system").unwrap();
        let c = Config::in_cluster_from(Some("10.96.0.1".into()), Some("443".into()), dir.path())
            .unwrap();
        assert_eq!(c.server, "https://10.96.0.1:443");
        assert_eq!(c.token.as_deref(), Some("tok"));
        assert_eq!(c.namespace, "kube-system");
        let v6 = Config::in_cluster_from(Some("fd00::1".into()), Some("443".into()), dir.path())
            .unwrap();
        assert_eq!(v6.server, "https://[fd00::1]:443");
        assert!(Config::in_cluster_from(None, None, dir.path()).is_err());
    }
}

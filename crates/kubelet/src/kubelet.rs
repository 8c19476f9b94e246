//! [`Kubelet::run`]: wiring the parts together (upstream: `kubelet.Run`).
//!
//! Start-up, in order: dial the runtime (CRI `Version`), read the host,
//! register the `Node` and start its status loop and `Lease`, write the CNI
//! config once the node has a pod CIDR, then start the pod machinery: the
//! apiserver pod source (`fieldSelector=spec.nodeName=<node>`), one worker
//! per pod, and the PLEG that wakes workers when containers change.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use api_types::coordination::v1::Lease;
use api_types::core::v1::{EventSource, Node, Pod, Taint};
use api_types::meta::v1::Time;
use api_types::quantity::Quantity;
use client::{Api, Client, ListParams};
use cri::{ImageService, RuntimeService};
use runtime::events::Recorder;
use runtime::informer::{EventHandler, Informer, strip_managed_fields};
use runtime::reflector::ReflectorConfig;
use tokio::sync::watch;
use tracing::{info, warn};

use crate::cni::{self, CniConfig};
use crate::node::{
    self, CriRuntimeProbe, HostInfo, LinuxHost, NodeConfig, NodeLease, NodeStatusReporter,
};
use crate::pod::sandbox::NodeContext;
use crate::pod::sync::Syncer;
use crate::pod::worker::PodWorkers;
use crate::pod::{pleg, static_pods};
use crate::server;
use crate::volume::VolumeManager;

/// Everything the kubelet is configured with (from the flags, or built by
/// tests).
#[derive(Clone, Debug)]
pub struct KubeletConfig {
    pub node: NodeConfig,
    pub root_dir: PathBuf,
    pub pod_logs_dir: PathBuf,
    pub pod_manifest_path: Option<PathBuf>,
    pub cgroup_root: String,
    pub cluster_dns: Vec<String>,
    pub cluster_domain: String,
    pub resolv_conf: PathBuf,
    pub cni_conf_dir: PathBuf,
    pub cni_bridge: String,
    /// Whether the kubelet writes the CNI config (not for a hollow node,
    /// whose fake runtime has no network to configure).
    pub write_cni_config: bool,
    pub register_node: bool,
    pub node_status_update_frequency: Duration,
    pub sync_frequency: Duration,
    /// Where the kubelet server listens (`--address`, `--port`; port 0:
    /// any free port, which the Node then advertises). `None`: no server.
    pub server: Option<std::net::SocketAddr>,
    /// Where `/healthz` alone is served (`--healthz-bind-address`,
    /// `--healthz-port`); `None`: not served.
    pub healthz: Option<std::net::SocketAddr>,
}

impl KubeletConfig {
    /// Upstream's defaults for a node called `name`.
    pub fn new(name: &str) -> Self {
        KubeletConfig {
            node: NodeConfig::new(name),
            root_dir: "/var/lib/kubelet".into(),
            pod_logs_dir: "/var/log/pods".into(),
            pod_manifest_path: None,
            cgroup_root: "/".into(),
            cluster_dns: vec![],
            cluster_domain: "cluster.local".into(),
            resolv_conf: "/etc/resolv.conf".into(),
            cni_conf_dir: "/etc/cni/net.d".into(),
            cni_bridge: "cni0".into(),
            write_cni_config: true,
            register_node: true,
            node_status_update_frequency: node::DEFAULT_UPDATE_FREQUENCY,
            sync_frequency: Duration::from_secs(60),
            server: Some(([0, 0, 0, 0], 10250).into()),
            healthz: Some(([127, 0, 0, 1], 10248).into()),
        }
    }

    /// From the command line.
    pub fn from_options(o: &crate::options::Options) -> anyhow::Result<Self> {
        let name = match &o.hostname_override {
            Some(n) => n.clone(),
            None => nix::unistd::gethostname()
                .map_err(|e| anyhow::anyhow!("reading the hostname: {e}"))?
                .to_string_lossy()
                .to_lowercase(),
        };
        let mut c = KubeletConfig::new(&name);
        c.node.node_ip = o.node_ip;
        c.node.labels = crate::options::pairs(&o.node_labels);
        c.node.pod_cidr = o.pod_cidr.clone();
        c.node.max_pods = o.max_pods;
        c.node.system_reserved = quantities(&o.system_reserved, "--system-reserved")?;
        c.node.kube_reserved = quantities(&o.kube_reserved, "--kube-reserved")?;
        if !o.eviction_hard.is_empty() {
            c.node.eviction_hard = o
                .eviction_hard
                .join(",")
                .parse()
                .map_err(|e| anyhow::anyhow!("--eviction-hard: {e}"))?;
        }
        c.node.register_with_taints = o
            .register_with_taints
            .iter()
            .map(|t| parse_taint(t))
            .collect::<Result<_, _>>()?;
        c.root_dir = o.root_dir.clone();
        c.pod_logs_dir = o.pod_logs_dir.clone();
        c.pod_manifest_path = Some(o.pod_manifest_path.clone());
        c.cgroup_root = o.cgroup_root.clone();
        c.cluster_dns = o.cluster_dns.clone();
        c.cluster_domain = o.cluster_domain.clone();
        c.resolv_conf = o.resolv_conf.clone();
        c.cni_conf_dir = o.cni_conf_dir.clone();
        c.cni_bridge = o.cni_bridge.clone();
        c.register_node = o.register_node;
        c.node_status_update_frequency = o.node_status_update_frequency;
        c.sync_frequency = o.sync_frequency;
        c.server = Some((o.address, o.port).into());
        c.healthz = (o.healthz_port != 0).then(|| (o.healthz_bind_address, o.healthz_port).into());
        c.node.validate().map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok(c)
    }
}

fn quantities(v: &[(String, String)], flag: &str) -> anyhow::Result<BTreeMap<String, Quantity>> {
    v.iter()
        .map(|(k, q)| {
            let quantity = Quantity(q.clone());
            quantity
                .parse()
                .map_err(|e| anyhow::anyhow!("{flag}: {k}={q}: {e}"))?;
            Ok((k.clone(), quantity))
        })
        .collect()
}

/// `key=value:Effect` or `key:Effect`.
fn parse_taint(s: &str) -> anyhow::Result<Taint> {
    let (kv, effect) = s
        .rsplit_once(':')
        .ok_or_else(|| anyhow::anyhow!("--register-with-taints: {s:?} is not key=value:Effect"))?;
    if !matches!(effect, "NoSchedule" | "PreferNoSchedule" | "NoExecute") {
        anyhow::bail!(
            "--register-with-taints: unknown effect {effect:?} (NoSchedule, PreferNoSchedule, NoExecute)"
        );
    }
    let (key, value) = match kv.split_once('=') {
        Some((k, v)) => (k.to_string(), Some(v.to_string())),
        None => (kv.to_string(), None),
    };
    Ok(Taint {
        key,
        value,
        effect: effect.into(),
        ..Default::default()
    })
}

/// The runtime the kubelet drives (CRI in production, a fake in tests).
pub struct Runtime {
    pub runtime: Arc<dyn RuntimeService>,
    pub images: Arc<dyn ImageService>,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Runtime")
    }
}

/// A running kubelet.
#[derive(Debug)]
pub struct Kubelet;

impl Kubelet {
    /// Runs until `shutdown` resolves. Pods keep running after the kubelet
    /// stops (as upstream): a restarted kubelet adopts them.
    pub async fn run(
        mut cfg: KubeletConfig,
        rt: Runtime,
        client: Option<Client>,
        shutdown: impl std::future::Future<Output = ()> + Send,
    ) -> anyhow::Result<()> {
        let (stop_tx, stop_rx) = watch::channel(false);
        let stopped = |mut rx: watch::Receiver<bool>| async move {
            let _ = rx.wait_for(|s| *s).await;
        };
        std::fs::create_dir_all(&cfg.root_dir)?;
        std::fs::create_dir_all(&cfg.pod_logs_dir)?;

        // 1. The runtime: wait until it answers.
        let version = loop {
            match rt.runtime.version().await {
                Ok(v) => break v,
                Err(e) => {
                    warn!(error = %e, "container runtime not answering yet");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        };
        info!(runtime = %version.runtime_name, version = %version.runtime_version, "container runtime is up");

        // The server's port goes into the Node, so bind it first.
        let server_listener = match cfg.server {
            Some(addr) => {
                let l = server::bind(addr)
                    .await
                    .map_err(|e| anyhow::anyhow!("kubelet server on {addr}: {e}"))?;
                cfg.node.kubelet_port = i32::from(l.local_addr()?.port());
                Some(l)
            }
            None => None,
        };
        if let Some(addr) = cfg.healthz {
            let l = server::bind(addr)
                .await
                .map_err(|e| anyhow::anyhow!("healthz on {addr}: {e}"))?;
            tokio::spawn(server::serve_healthz(l, stopped(stop_rx.clone())));
        }

        // 2. The host and the Node.
        let host: Arc<dyn HostInfo> = Arc::new(LinuxHost::new(&cfg.root_dir));
        let facts = host.facts()?;
        let host_ip = cfg
            .node
            .node_ip
            .or(facts.default_ip)
            .map(|ip| ip.to_string())
            .unwrap_or_else(|| "127.0.0.1".into());
        let probe = Arc::new(CriRuntimeProbe::new(rt.runtime.clone()));
        let (cidr_tx, mut cidr_rx) = watch::channel(cfg.node.pod_cidr.clone());
        let mut allocatable = BTreeMap::new();
        let recorder = client.as_ref().map(|c| {
            Recorder::new(
                c.clone(),
                EventSource {
                    component: Some("kubelet".into()),
                    host: Some(cfg.node.name.clone()),
                },
            )
        });
        if let (Some(client), true) = (&client, cfg.register_node) {
            let nodes: Api<Node> = Api::all(client.clone());
            let facts_rt = node::RuntimeFacts::from_cri(
                Some(&version),
                rt.runtime.status().await.ok().as_ref(),
            );
            let object = node::node_object(&cfg.node, &facts, &facts_rt, Time(chrono::Utc::now()));
            let registered = node::register(&nodes, &cfg.node, &object).await?;
            info!(node = %cfg.node.name, "node registered");
            allocatable = registered
                .status
                .as_ref()
                .and_then(|s| s.allocatable.clone())
                .unwrap_or_default();
            if let Some(cidr) = registered.spec.as_ref().and_then(|s| s.pod_cidr.clone()) {
                cidr_tx.send_replace(Some(cidr));
            }
            let reporter =
                NodeStatusReporter::new(nodes, cfg.node.clone(), host.clone(), probe.clone())
                    .update_frequency(cfg.node_status_update_frequency);
            let mut reporter_cidr = reporter.pod_cidr();
            tokio::spawn(reporter.run(stopped(stop_rx.clone())));
            let tx = cidr_tx.clone();
            tokio::spawn(async move {
                while reporter_cidr.changed().await.is_ok() {
                    let c = reporter_cidr.borrow_and_update().clone();
                    if c.is_some() {
                        tx.send_if_modified(|old| {
                            if *old != c {
                                *old = c.clone();
                                true
                            } else {
                                false
                            }
                        });
                    }
                }
            });
            // Its own rate limiter (upstream's heartbeat client): pod status
            // writes must not delay the Lease.
            let leases: Api<Lease> =
                Api::namespaced(client.with_own_limiter(), node::NODE_LEASE_NAMESPACE);
            let lease = NodeLease::new(
                leases,
                cfg.node.name.clone(),
                registered.metadata.uid.clone(),
            );
            tokio::spawn(lease.run(stopped(stop_rx.clone())));
        }

        // 3. The pod network, once there is a pod CIDR.
        {
            let cfg = cfg.clone();
            let runtime = rt.runtime.clone();
            tokio::spawn(async move {
                loop {
                    let cidr = cidr_rx.borrow_and_update().clone();
                    if let Some(cidr) = cidr {
                        let c = CniConfig {
                            pod_cidr: cidr.clone(),
                            bridge: cfg.cni_bridge.clone(),
                            ipam_dir: cfg.root_dir.join("cni-ipam"),
                            ip_masq: true,
                        };
                        if cfg.write_cni_config {
                            match cni::write(&cfg.cni_conf_dir, &c) {
                                Ok(true) => {
                                    info!(pod_cidr = %cidr, dir = %cfg.cni_conf_dir.display(), "wrote the CNI config")
                                }
                                Ok(false) => {}
                                Err(e) => warn!(error = %e, "writing the CNI config failed"),
                            }
                        }
                        if let Err(e) = runtime.update_runtime_config(&cidr).await {
                            warn!(error = %e, "telling the runtime the pod CIDR failed");
                        }
                    }
                    if cidr_rx.changed().await.is_err() {
                        return;
                    }
                }
            });
        }

        // 4. Pods.
        let memory_capacity = i64::try_from(facts.memory_total_bytes).unwrap_or(i64::MAX);
        let node_ctx = NodeContext {
            node_name: cfg.node.name.clone(),
            host_ip,
            hostname: facts.hostname.clone(),
            memory_capacity,
            allocatable,
            cgroup_root: cfg.cgroup_root.clone(),
            pod_logs_dir: cfg.pod_logs_dir.clone(),
            cluster_dns: cfg.cluster_dns.clone(),
            cluster_domain: cfg.cluster_domain.clone(),
            resolv_conf: cfg.resolv_conf.clone(),
            runtime_name: version.runtime_name.clone(),
        };
        let metrics = Arc::new(crate::metrics::Metrics::new());
        let syncer = Syncer {
            runtime: rt.runtime.clone(),
            images: rt.images.clone(),
            client: client.clone(),
            recorder,
            volumes: Arc::new(VolumeManager::new(cfg.root_dir.clone())),
            objects: client.as_ref().map(crate::pod::objects::Objects::new),
            node: Arc::new(node_ctx),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::limited(10))
                .build()?,
            metrics: metrics.clone(),
        };
        let workers = PodWorkers::new(syncer.clone(), cfg.sync_frequency);
        if let Some(l) = server_listener {
            let state = server::ServerState {
                workers: workers.clone(),
                runtime: rt.runtime.clone(),
                node: syncer.node.clone(),
                metrics,
            };
            tokio::spawn(server::serve(l, state, stopped(stop_rx.clone())));
        }
        let api_synced = Arc::new(AtomicBool::new(client.is_none()));
        let static_synced = Arc::new(AtomicBool::new(cfg.pod_manifest_path.is_none()));
        if let Some(client) = &client {
            let lp = ListParams::default().fields(&format!("spec.nodeName={}", cfg.node.name));
            let mut informer = Informer::new(
                Api::<Pod>::all(client.clone()),
                ReflectorConfig {
                    list_params: lp,
                    ..Default::default()
                },
            )
            .with_transform(strip_managed_fields());
            informer.add_handler(Arc::new(ApiSource {
                workers: workers.clone(),
            }));
            let mut synced = informer.synced();
            tokio::spawn(informer.run());
            let flag = api_synced.clone();
            tokio::spawn(async move {
                synced.wait().await;
                flag.store(true, Ordering::Release);
            });
        }
        if let Some(dir) = cfg.pod_manifest_path.clone() {
            let source = static_pods::StaticPods::new(
                dir,
                cfg.node.name.clone(),
                workers.clone(),
                client.clone(),
            );
            let flag = static_synced.clone();
            let stop = stopped(stop_rx.clone());
            tokio::spawn(async move { source.run(flag, stop).await });
        }
        let ready = {
            let (a, s) = (api_synced.clone(), static_synced.clone());
            move || a.load(Ordering::Acquire) && s.load(Ordering::Acquire)
        };
        tokio::spawn(pleg::run(
            rt.runtime.clone(),
            workers.clone(),
            syncer.clone(),
            ready,
            stopped(stop_rx.clone()),
        ));

        shutdown.await;
        info!("kubelet stopping; pods keep running");
        let _ = stop_tx.send(true);
        Ok(())
    }
}

/// Pods from the apiserver (the informer's events) to the workers.
struct ApiSource {
    workers: PodWorkers,
}

// Mirror pods are the apiserver's copies of our static pods: the file
// source runs those, never the mirror.
impl EventHandler<Pod> for ApiSource {
    fn on_add(&self, pod: &Arc<Pod>) {
        if !static_pods::is_mirror(pod) {
            self.workers.update(pod.clone());
        }
    }
    fn on_update(&self, _old: &Arc<Pod>, new: &Arc<Pod>) {
        if !static_pods::is_mirror(new) {
            self.workers.update(new.clone());
        }
    }
    fn on_delete(&self, pod: &Arc<Pod>) {
        // Gone from the apiserver: either we confirmed the deletion (the
        // worker has finished) or it was force-deleted (stop it now).
        self.workers.deleted(pod);
    }
}

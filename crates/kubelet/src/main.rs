//! `kubelet`: the node agent. Flags follow upstream's (`--kubeconfig`,
//! `--container-runtime-endpoint`, `--pod-manifest-path`, ...); see
//! [`kubelet::options::Options`].

use std::sync::Arc;

use anyhow::Context;
use clap::Parser;
use kubelet::kubelet::{Kubelet, KubeletConfig, Runtime};
use kubelet::options::Options;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let opts = Options::parse();
    let mut cfg = KubeletConfig::from_options(&opts)?;
    let client = match &opts.kubeconfig {
        Some(path) => {
            let mut config = client::Config::from_kubeconfig(path, None)
                .with_context(|| format!("--kubeconfig {}", path.display()))?;
            config.qps = opts.kube_api_qps;
            config.burst = opts.kube_api_burst;
            Some(client::Client::new(config).context("creating the apiserver client")?)
        }
        None => None,
    };
    // `fake://`: a hollow node (as kubemark's): the real kubelet against
    // an in-memory runtime, for clusters larger than the machine.
    let rt = if opts.container_runtime_endpoint == "fake://" {
        cfg.write_cni_config = false;
        let fake = cri::FakeRuntime::hollow();
        Runtime {
            runtime: Arc::new(fake.clone()),
            images: Arc::new(fake),
        }
    } else {
        let remote = cri::RemoteRuntime::new(
            &opts.container_runtime_endpoint,
            opts.runtime_request_timeout,
        )
        .context("--container-runtime-endpoint")?;
        Runtime {
            runtime: Arc::new(remote.clone()),
            images: Arc::new(remote),
        }
    };
    let shutdown = async {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => return std::future::pending().await,
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    };
    Kubelet::run(cfg, rt, client, shutdown).await
}

//! `oxkube-sim`: parses flags, connects, and runs [`sim::Simulator`] until
//! SIGINT or SIGTERM.

use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use sim::cli::Options;

/// mimalloc: the simulator decodes and drops a pod-sized JSON document per
/// watch event and per write; glibc's allocator was a third of its CPU.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let opts = Options::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            std::env::var("RUST_LOG")
                .ok()
                .filter(|_| opts.verbose == 0)
                .and_then(|f| tracing_subscriber::EnvFilter::try_new(f).ok())
                .unwrap_or_else(|| tracing_subscriber::EnvFilter::new(opts.log_filter())),
        )
        .init();

    let mut config =
        client::Config::infer(opts.kubeconfig.as_deref()).context("cannot find the cluster")?;
    config.qps = opts.kube_api_qps;
    config.burst = opts.kube_api_burst;
    config.user_agent = format!("oxkube-sim/{}", env!("CARGO_PKG_VERSION"));
    let server = config.server.clone();
    let client = client::Client::new(config).context("cannot set up the API client")?;

    let sim_config = opts.sim_config();
    let nodes = sim_config.nodes;
    tracing::info!(%server, nodes, "registering simulated nodes");
    let started = tokio::select! {
        r = sim::Simulator::start(client, sim_config) => r?,
        () = shutdown_signal() => {
            tracing::info!("interrupted while registering");
            return Ok(());
        }
    };
    tracing::info!(nodes, "simulated nodes are up; SIGINT or SIGTERM to stop");

    let mut report = tokio::time::interval(Duration::from_secs(60));
    report.tick().await;
    let signal = shutdown_signal();
    tokio::pin!(signal);
    loop {
        tokio::select! {
            () = &mut signal => break,
            _ = report.tick() => tracing::info!(stats = ?started.stats(), "progress"),
        }
    }
    tracing::info!(stats = ?started.stats(), "stopping");
    if opts.delete_nodes_on_exit {
        started
            .stop_and_delete_nodes()
            .await
            .context("cannot delete the simulated nodes")?;
    } else {
        started.stop().await;
    }
    Ok(())
}

/// SIGINT (Ctrl-C) or SIGTERM (`kill`, a container runtime stopping us).
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM; only SIGINT stops");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

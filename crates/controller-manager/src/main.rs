//! `kube-controller-manager`: runs the controllers (see the library docs)
//! behind a leader-election Lease, so only one of several replicas acts.

use std::process::ExitCode;

use clap::Parser;
use controller_manager::options::Options;
use controller_manager::{ControllerConfig, run};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let opts = Options::parse();
    runtime::process::init_logging(opts.verbosity);
    match serve(opts).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("kube-controller-manager: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(opts: Options) -> anyhow::Result<ExitCode> {
    let mut config = client::Config::infer(opts.kubeconfig.as_deref())?;
    config.qps = opts.kube_api_qps;
    config.burst = opts.kube_api_burst;
    config.user_agent = format!(
        "kube-controller-manager/{} oxkube",
        env!("CARGO_PKG_VERSION")
    );
    let client = client::Client::new(config)?;
    let node_cidrs = if opts.allocate_node_cidrs {
        let cidr: controller_manager::nodeipam::Cidr = opts
            .cluster_cidr
            .parse()
            .map_err(|e| anyhow::anyhow!("--cluster-cidr: {e}"))?;
        controller_manager::nodeipam::Allocator::new(cidr, opts.node_cidr_mask_size)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        Some((cidr, opts.node_cidr_mask_size))
    } else {
        None
    };
    let controllers = ControllerConfig {
        replicaset_workers: opts.concurrent_replicaset_syncs,
        rc_workers: opts.concurrent_rc_syncs,
        deployment_workers: opts.concurrent_deployment_syncs,
        node_cidrs,
        endpoint_workers: opts.concurrent_endpoint_syncs,
        endpointslice_workers: opts.concurrent_service_endpoint_syncs,
        max_endpoints_per_slice: usize::from(opts.max_endpoints_per_slice),
        node_lifecycle: opts.node_lifecycle(),
        garbage_collector: opts.enable_garbage_collector,
        gc_workers: opts.concurrent_gc_syncs,
        namespace_workers: opts.concurrent_namespace_syncs,
        namespace_sync_period: opts.namespace_sync_period,
    };
    let code = runtime::process::run_elected(
        &client,
        &opts.leader_election,
        "kube-controller-manager",
        |_| {},
        |stop| run(client.clone(), controllers, stop),
    )
    .await?;
    Ok(code)
}

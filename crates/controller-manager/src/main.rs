//! `kube-controller-manager`: runs the controllers (see the library docs)
//! behind a leader-election Lease, so only one of several replicas acts.

use std::process::ExitCode;

use clap::Parser;
use controller_manager::options::Options;
use controller_manager::{ControllerConfig, run};
use runtime::leader::{Ended, LeaderElectionConfig, LeaderElector, unique_identity};
use runtime::process::shutdown_signal;

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
    if !opts.leader_elect {
        run(client, controllers, shutdown_signal()).await;
        return Ok(ExitCode::SUCCESS);
    }
    let le = LeaderElectionConfig {
        namespace: opts.leader_elect_resource_namespace.clone(),
        name: opts.leader_elect_resource_name.clone(),
        identity: unique_identity(),
        lease_duration: opts.leader_elect_lease_duration,
        renew_deadline: opts.leader_elect_renew_deadline,
        retry_period: opts.leader_elect_retry_period,
        ..LeaderElectionConfig::default()
    };
    let identity = le.identity.clone();
    let elector = LeaderElector::new(client.with_own_limiter(), le)?;
    tracing::info!(identity, "attempting to acquire the leader lease");
    let ended = elector
        .run(shutdown_signal(), |stop| async move {
            tracing::info!("became leader; starting controllers");
            run(client, controllers, async move { stop.stopped().await }).await;
        })
        .await;
    Ok(match ended {
        Ended::Lost => {
            tracing::error!("leaderelection lost");
            ExitCode::FAILURE
        }
        Ended::Shutdown | Ended::LeadReturned => ExitCode::SUCCESS,
    })
}

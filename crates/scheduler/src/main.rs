//! `kube-scheduler`: watches pods without a node and binds each to the
//! best node, through the apiserver.

use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use runtime::leader::LeaderElector;
use scheduler::metrics::{Metrics, NameLabels};
use scheduler::options::Options;
use scheduler::scheduler::{SchedulerConfig, run};

/// mimalloc: the scheduler allocates many small objects per decoded pod.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let opts = Options::parse();
    runtime::process::init_logging(opts.verbosity);
    match serve(opts).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("kube-scheduler: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(opts: Options) -> anyhow::Result<ExitCode> {
    let mut config = client::Config::infer(opts.kubeconfig.as_deref())?;
    config.qps = opts.kube_api_qps;
    config.burst = opts.kube_api_burst;
    config.user_agent = format!("kube-scheduler/{} oxkube", env!("CARGO_PKG_VERSION"));
    let client = client::Client::new(config)?;
    let metrics = Arc::new(Metrics::new());

    let addr = std::net::SocketAddr::new(opts.bind_address, opts.secure_port);
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| {
        anyhow::anyhow!("cannot listen on {addr} (--bind-address/--secure-port): {e}")
    })?;
    tracing::info!(addr = %listener.local_addr()?, "serving /healthz and /metrics");
    let router = scheduler::server::router(metrics.clone());
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router).await {
            tracing::error!(error = %e, "health server failed");
        }
    });

    let sched = SchedulerConfig {
        scheduler_name: opts.scheduler_name.clone(),
        percentage_of_nodes_to_score: opts.percentage_of_nodes_to_score,
        ..SchedulerConfig::default()
    };
    let gauge = metrics
        .leader
        .get_or_create(&NameLabels {
            name: opts
                .leader_election
                .resource_name("kube-scheduler")
                .to_string(),
        })
        .clone();
    let watch_leading = move |elector: &LeaderElector| {
        let mut leading = elector.leading();
        tokio::spawn(async move {
            while leading.changed().await.is_ok() {
                let is = *leading.borrow();
                gauge.set(i64::from(is));
            }
        });
    };
    let code = runtime::process::run_elected(
        &client,
        &opts.leader_election,
        "kube-scheduler",
        watch_leading,
        |stop| run(client.clone(), sched, metrics, stop),
    )
    .await?;
    Ok(code)
}

//! What every component binary needs: upstream's boolean flag values,
//! logging by `-v` level, a shutdown signal, and (for the control-plane
//! components) the leader-election flags and loop.

use std::future::Future;
use std::pin::Pin;
use std::process::ExitCode;
use std::time::Duration;

use client::Client;

use crate::leader::{ConfigError, Ended, LeaderElectionConfig, LeaderElector, unique_identity};

/// Parses a boolean flag as Go's `strconv.ParseBool` (`--leader-elect=false`).
///
/// # Errors
/// Anything else, with what to write instead.
pub fn parse_bool(s: &str) -> Result<bool, String> {
    match s {
        "true" | "1" | "t" | "T" | "TRUE" | "True" => Ok(true),
        "false" | "0" | "f" | "F" | "FALSE" | "False" => Ok(false),
        other => Err(format!("invalid boolean {other:?} (use true or false)")),
    }
}

/// Logs to stderr at the level `-v` asks for (0–1 info, 2–3 debug, more:
/// trace); `RUST_LOG`, when set, wins.
pub fn init_logging(verbosity: u8) {
    let level = match verbosity {
        0 | 1 => "info",
        2 | 3 => "debug",
        _ => "trace",
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level)),
        )
        .init();
}

/// Completes on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = term => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn booleans_as_go_reads_them() {
        assert_eq!(parse_bool("T"), Ok(true));
        assert_eq!(parse_bool("0"), Ok(false));
        assert!(parse_bool("yes").is_err());
    }
}

/// The leader-election flags of `kube-scheduler` and
/// `kube-controller-manager`, with upstream's names and defaults.
#[derive(clap::Args, Clone, Debug, PartialEq)]
pub struct LeaderElectFlags {
    /// Run with leader election, so that only one of several replicas
    /// works (`--leader-elect=false` to disable).
    #[arg(long, default_value = "true", num_args = 0..=1, default_missing_value = "true", value_parser = parse_bool)]
    pub leader_elect: bool,

    /// How long followers wait after the leader's last renewal before
    /// taking over.
    #[arg(long, default_value = "15s", value_parser = humantime::parse_duration)]
    pub leader_elect_lease_duration: Duration,

    /// How long the leader tries to renew before it stops leading.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    pub leader_elect_renew_deadline: Duration,

    /// Pause between tries to acquire or renew the Lease.
    #[arg(long, default_value = "2s", value_parser = humantime::parse_duration)]
    pub leader_elect_retry_period: Duration,

    /// The Lease used for leader election (default: the component's name).
    #[arg(long)]
    pub leader_elect_resource_name: Option<String>,

    /// The namespace of that Lease.
    #[arg(long, default_value = "kube-system")]
    pub leader_elect_resource_namespace: String,
}

impl LeaderElectFlags {
    /// The Lease's name: the flag, or `component`.
    pub fn resource_name<'a>(&'a self, component: &'a str) -> &'a str {
        self.leader_elect_resource_name
            .as_deref()
            .unwrap_or(component)
    }

    /// The election these flags describe, for `component`.
    pub fn config(&self, component: &str) -> LeaderElectionConfig {
        LeaderElectionConfig {
            namespace: self.leader_elect_resource_namespace.clone(),
            name: self.resource_name(component).to_string(),
            identity: unique_identity(),
            lease_duration: self.leader_elect_lease_duration,
            renew_deadline: self.leader_elect_renew_deadline,
            retry_period: self.leader_elect_retry_period,
            ..LeaderElectionConfig::default()
        }
    }
}

/// Resolves when the work handed to [`run_elected`] must stop.
pub type Stop = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Runs `work` until SIGINT or SIGTERM: at once without `--leader-elect`;
/// otherwise only while this process holds the Lease. The election has a
/// rate limiter of its own, so busy work cannot delay the renewals. Losing
/// the Lease ends with a failure code, as upstream: a restart rejoins the
/// election cleanly. `on_elector` sees the elector before it campaigns
/// (e.g. to export whether this replica leads).
///
/// # Errors
/// The election flags are inconsistent (e.g. a renew deadline longer than
/// the lease).
pub async fn run_elected<W, Fut>(
    client: &Client,
    flags: &LeaderElectFlags,
    component: &str,
    on_elector: impl FnOnce(&LeaderElector),
    work: W,
) -> Result<ExitCode, ConfigError>
where
    W: FnOnce(Stop) -> Fut,
    Fut: Future<Output = ()>,
{
    if !flags.leader_elect {
        work(Box::pin(shutdown_signal())).await;
        return Ok(ExitCode::SUCCESS);
    }
    let config = flags.config(component);
    let identity = config.identity.clone();
    let elector = LeaderElector::new(client.with_own_limiter(), config)?;
    on_elector(&elector);
    tracing::info!(identity, "attempting to acquire the leader lease");
    let ended = elector
        .run(shutdown_signal(), |stop| async move {
            tracing::info!("became leader; starting");
            work(Box::pin(async move { stop.stopped().await })).await;
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

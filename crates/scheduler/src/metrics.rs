//! The scheduler's Prometheus metrics, named as upstream's:
//! - `scheduler_schedule_attempts_total{result="scheduled"|"unschedulable"|"error",profile}`
//! - `scheduler_scheduling_attempt_duration_seconds{result,profile}` (histogram)
//! - `scheduler_pod_scheduling_sli_duration_seconds{attempts}`: from the pod
//!   entering the queue to its binding (histogram)
//! - `scheduler_pending_pods{queue="active"|"backoff"|"unschedulable"}`
//! - `leader_election_master_status{name}`: 1 while this instance leads

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::queue::QueueLengths;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResultLabels {
    pub result: String,
    pub profile: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct QueueLabels {
    pub queue: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct AttemptsLabels {
    pub attempts: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct NameLabels {
    pub name: String,
}

fn latency() -> Histogram {
    Histogram::new([
        0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
        5.0, 10.0,
    ])
}

fn sli() -> Histogram {
    Histogram::new([
        0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 60.0, 120.0, 300.0,
    ])
}

/// The metrics of one scheduler instance.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    pub attempts: Family<ResultLabels, Counter>,
    pub attempt_duration: Family<ResultLabels, Histogram, fn() -> Histogram>,
    pub sli_duration: Family<AttemptsLabels, Histogram, fn() -> Histogram>,
    pub pending: Family<QueueLabels, Gauge>,
    pub leader: Family<NameLabels, Gauge>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let attempts = Family::<ResultLabels, Counter>::default();
        let attempt_duration =
            Family::<ResultLabels, Histogram, fn() -> Histogram>::new_with_constructor(latency);
        let sli_duration =
            Family::<AttemptsLabels, Histogram, fn() -> Histogram>::new_with_constructor(sli);
        let pending = Family::<QueueLabels, Gauge>::default();
        let leader = Family::<NameLabels, Gauge>::default();
        registry.register(
            "scheduler_schedule_attempts",
            "Number of attempts to schedule pods, by the result",
            attempts.clone(),
        );
        registry.register(
            "scheduler_scheduling_attempt_duration_seconds",
            "Scheduling attempt latency in seconds (scheduling algorithm + binding)",
            attempt_duration.clone(),
        );
        registry.register(
            "scheduler_pod_scheduling_sli_duration_seconds",
            "E2e latency for a pod being scheduled, from the time the pod enters the scheduling queue",
            sli_duration.clone(),
        );
        registry.register(
            "scheduler_pending_pods",
            "Number of pending pods, by the queue type",
            pending.clone(),
        );
        registry.register(
            "leader_election_master_status",
            "Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, 1 indicates master",
            leader.clone(),
        );
        Metrics {
            registry,
            attempts,
            attempt_duration,
            sli_duration,
            pending,
            leader,
        }
    }

    /// Counts one attempt and its latency.
    pub fn attempt(&self, result: &str, profile: &str, seconds: f64) {
        let labels = ResultLabels {
            result: result.into(),
            profile: profile.into(),
        };
        self.attempts.get_or_create(&labels).inc();
        self.attempt_duration
            .get_or_create(&labels)
            .observe(seconds);
    }

    pub fn set_pending(&self, q: QueueLengths) {
        for (name, n) in [
            ("active", q.active),
            ("backoff", q.backoff),
            ("unschedulable", q.unschedulable),
        ] {
            self.pending
                .get_or_create(&QueueLabels { queue: name.into() })
                .set(i64::try_from(n).unwrap_or(i64::MAX));
        }
    }

    /// The text exposition format.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposes_upstream_names() {
        let m = Metrics::new();
        m.attempt("scheduled", "default-scheduler", 0.002);
        m.set_pending(QueueLengths {
            active: 1,
            backoff: 2,
            unschedulable: 3,
        });
        let text = m.encode();
        assert!(text.contains(
            "scheduler_schedule_attempts_total{result=\"scheduled\",profile=\"default-scheduler\"} 1"
        ));
        assert!(text.contains("scheduler_pending_pods{queue=\"unschedulable\"} 3"));
        assert!(text.contains("scheduler_scheduling_attempt_duration_seconds_bucket"));
    }
}

//! Probes: liveness, readiness and startup checks of running containers
//! (upstream: `pkg/kubelet/prober`).
//!
//! Each running container with a probe gets a [`ProbeState`] in its pod's
//! worker. A probe first runs `initialDelaySeconds` after the container
//! started, then every `periodSeconds`, each run limited to
//! `timeoutSeconds`. `failureThreshold` failures in a row (default 3) or
//! `successThreshold` successes (default 1) flip the result:
//! - **readiness** drives the container's `ready` and the pod's `Ready`
//!   condition (and so whether a Service sends it traffic);
//! - **liveness** failing marks the container unhealthy: the next sync
//!   kills it and restarts it per `restartPolicy`;
//! - **startup** holds the other two back until it succeeds once; failing
//!   it is handled like liveness.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use api_types::core::v1::{Container, Pod, Probe};
use runtime::events::{EventType, object_reference};
use tokio::time::Instant;

use crate::pod::handlers::{self, Outcome};
use crate::pod::runtime_state::State;
use crate::pod::sync::{PodState, Syncer, find_container, now_nanos};

/// Which probe.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    Liveness,
    Readiness,
    Startup,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Liveness => "Liveness",
            Kind::Readiness => "Readiness",
            Kind::Startup => "Startup",
        }
    }

    fn of(self, c: &Container) -> Option<&Probe> {
        match self {
            Kind::Liveness => c.liveness_probe.as_ref(),
            Kind::Readiness => c.readiness_probe.as_ref(),
            Kind::Startup => c.startup_probe.as_ref(),
        }
    }
}

/// One probe of one container instance.
#[derive(Clone, Debug)]
pub struct ProbeState {
    next: Instant,
    successes: i32,
    failures: i32,
    /// The current result (`None` until the thresholds decide one).
    result: Option<bool>,
}

/// The probes of one pod.
#[derive(Debug, Default)]
pub struct Prober {
    states: HashMap<(String, Kind), ProbeState>,
}

fn secs(v: Option<i32>, default: i32) -> Duration {
    Duration::from_secs(v.filter(|v| *v > 0).unwrap_or(default) as u64)
}

/// The spec of the running container instance `id`.
fn container_of<'a>(pod: &'a Pod, st: &PodState, id: &str) -> Option<&'a Container> {
    let info = st.runtime.containers.iter().find(|c| c.id == id)?;
    find_container(pod, &info.name)
}

/// Whether probes of `kind` may run (startup has passed, if there is one).
fn active(kind: Kind, c: &Container, st: &PodState, id: &str) -> bool {
    kind == Kind::Startup
        || c.startup_probe.is_none()
        || st.started.get(id).copied().unwrap_or(false)
}

impl Prober {
    /// Brings the probe set in line with the running containers and returns
    /// when the next probe is due.
    pub fn next_due(&mut self, pod: &Pod, st: &PodState) -> Option<Instant> {
        let now = Instant::now();
        let now_ns = now_nanos();
        let mut live = HashSet::new();
        for info in st
            .runtime
            .containers
            .iter()
            .filter(|c| c.state == State::Running)
        {
            let Some(c) = find_container(pod, &info.name) else {
                continue;
            };
            for kind in [Kind::Startup, Kind::Liveness, Kind::Readiness] {
                let Some(p) = kind.of(c) else { continue };
                let key = (info.id.clone(), kind);
                live.insert(key.clone());
                self.states.entry(key).or_insert_with(|| {
                    let delay = secs(p.initial_delay_seconds, 0).as_nanos() as i64;
                    let wait = (info.started_at + delay - now_ns).max(0);
                    ProbeState {
                        next: now + Duration::from_nanos(wait as u64),
                        successes: 0,
                        failures: 0,
                        result: None,
                    }
                });
            }
        }
        self.states.retain(|k, _| live.contains(k));
        self.states
            .iter()
            .filter(|((id, kind), _)| {
                container_of(pod, st, id).is_some_and(|c| active(*kind, c, st, id))
            })
            .map(|(_, s)| s.next)
            .min()
    }

    /// Runs every probe that is due; `true` when a result changed (the pod
    /// should sync).
    pub async fn run_due(&mut self, pod: &Pod, st: &mut PodState, syncer: &Syncer) -> bool {
        let now = Instant::now();
        let pod_ip = st.runtime.pod_ip().unwrap_or_default().to_string();
        let due: Vec<(String, Kind)> = self
            .states
            .iter()
            .filter(|(_, s)| s.next <= now)
            .map(|(k, _)| k.clone())
            .collect();
        let mut changed = false;
        for (id, kind) in due {
            let Some(c) = container_of(pod, st, &id) else {
                continue;
            };
            if !active(kind, c, st, &id) {
                continue;
            }
            let Some(p) = kind.of(c) else { continue };
            let timeout = secs(p.timeout_seconds, 1);
            let outcome = if let Some(e) = &p.exec {
                handlers::exec(
                    syncer.runtime.as_ref(),
                    &id,
                    e.command.as_deref().unwrap_or_default(),
                    timeout,
                )
                .await
            } else if let Some(g) = &p.http_get {
                handlers::http_get(&syncer.http, g, c, &pod_ip, timeout).await
            } else if let Some(t) = &p.tcp_socket {
                handlers::tcp(t, c, &pod_ip, timeout).await
            } else if let Some(g) = &p.grpc {
                handlers::grpc(g, &pod_ip, timeout).await
            } else {
                Outcome::Failure("probe has no handler".into())
            };
            let Some(s) = self.states.get_mut(&(id.clone(), kind)) else {
                continue;
            };
            s.next = Instant::now() + secs(p.period_seconds, 10);
            let before = s.result;
            match &outcome {
                Outcome::Success => {
                    s.successes += 1;
                    s.failures = 0;
                    if s.successes >= p.success_threshold.filter(|v| *v > 0).unwrap_or(1) {
                        s.result = Some(true);
                    }
                }
                Outcome::Failure(msg) => {
                    s.failures += 1;
                    s.successes = 0;
                    if let Some(r) = &syncer.recorder {
                        let mut reference = object_reference(pod);
                        reference.field_path = Some(format!("spec.containers{{{}}}", c.name));
                        r.event(
                            &reference,
                            EventType::Warning,
                            "Unhealthy",
                            &format!("{} probe failed: {msg}", kind.name()),
                        );
                    }
                    if s.failures >= p.failure_threshold.filter(|v| *v > 0).unwrap_or(3) {
                        s.result = Some(false);
                    }
                }
            }
            if s.result == before {
                continue;
            }
            let ok = s.result == Some(true);
            match kind {
                Kind::Readiness => {
                    st.readiness.insert(id.clone(), ok);
                }
                Kind::Startup if ok => {
                    st.started.insert(id.clone(), true);
                }
                Kind::Startup | Kind::Liveness if !ok => {
                    if let Some(r) = &syncer.recorder {
                        let mut reference = object_reference(pod);
                        reference.field_path = Some(format!("spec.containers{{{}}}", c.name));
                        r.event(
                            &reference,
                            EventType::Normal,
                            "Killing",
                            &format!(
                                "Container {} failed {} probe, will be restarted",
                                c.name,
                                kind.name().to_lowercase()
                            ),
                        );
                    }
                    st.unhealthy.insert(id.clone());
                }
                _ => continue,
            }
            changed = true;
        }
        changed
    }
}

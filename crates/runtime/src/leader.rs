//! Leader election on a `coordination.k8s.io/v1` Lease: client-go's
//! `tools/leaderelection` with its `LeaseLock`.
//!
//! Several replicas of a component (the scheduler, the controller-manager)
//! run at once; only the one holding the Lease acts. The holder renews the
//! Lease every `retry_period`; the others read it every `retry_period`
//! (jittered) and take it over once it has not changed for
//! `lease_duration`.
//!
//! # Guarantees
//! - Every write is optimistic (a `PUT` carrying the `resourceVersion` that
//!   was read, or a create): of two candidates racing for a free Lease,
//!   one gets a 409 Conflict and stays a follower.
//! - Expiry is judged by the **local monotonic clock**: a candidate counts
//!   `lease_duration` from the moment *it* last saw the Lease record
//!   change, never from the holder's `renewTime`, so clock skew between
//!   machines cannot make it take over early.
//! - A leader that cannot renew for `renew_deadline` stops leading; since
//!   `renew_deadline < lease_duration`, it has stopped before anyone else
//!   may take over.
//!
//! # Caveats
//! Like upstream, this is not a fencing mechanism: a leader paused (GC,
//! stopped VM) past `lease_duration` may act once more after waking up,
//! before it notices. Writes the leader makes must still be optimistic.

use std::future::Future;
use std::pin::pin;
use std::time::Duration;

use api_types::coordination::v1::{Lease, LeaseSpec};
use api_types::meta::v1::{MicroTime, ObjectMeta};
use client::{Api, Client, PostParams};
use tokio::sync::watch;
use tokio::time::Instant;
use tracing::{debug, error, info, warn};

/// How much longer than `retry_period` a candidate may wait between tries
/// (`wait.Jitter(retryPeriod, 1.2)`): random waits keep candidates that
/// started together from hitting the apiserver in lock step.
pub const JITTER_FACTOR: f64 = 1.2;

/// Where the lock is, who we are, and the timings
/// (`--leader-elect-*` flags of kube-scheduler and kube-controller-manager).
#[derive(Clone, Debug, PartialEq)]
pub struct LeaderElectionConfig {
    /// `--leader-elect-resource-namespace` (`kube-system`).
    pub namespace: String,
    /// `--leader-elect-resource-name`, e.g. `kube-scheduler`.
    pub name: String,
    /// This replica's name in `holderIdentity`; unique per process (see
    /// [`unique_identity`]).
    pub identity: String,
    /// `--leader-elect-lease-duration` (15 s): how long followers wait after
    /// the last change they saw before taking over.
    pub lease_duration: Duration,
    /// `--leader-elect-renew-deadline` (10 s): how long the leader keeps
    /// trying to renew before it gives up leading.
    pub renew_deadline: Duration,
    /// `--leader-elect-retry-period` (2 s): the pause between tries.
    pub retry_period: Duration,
    /// Clear `holderIdentity` when leading ends gracefully (the shutdown
    /// future of [`LeaderElector::run`] fired, or the leading future
    /// returned), so a follower takes over after one retry period instead
    /// of a whole lease duration (upstream's `ReleaseOnCancel`). On by
    /// default here: there is no reason to keep a stopping replica's Lease.
    pub release_on_cancel: bool,
}

impl Default for LeaderElectionConfig {
    /// Upstream's timings in `kube-system`; `name` and `identity` still
    /// need to be set.
    fn default() -> Self {
        LeaderElectionConfig {
            namespace: "kube-system".into(),
            name: String::new(),
            identity: String::new(),
            lease_duration: Duration::from_secs(15),
            renew_deadline: Duration::from_secs(10),
            retry_period: Duration::from_secs(2),
            release_on_cancel: true,
        }
    }
}

/// A wrong [`LeaderElectionConfig`], named by the flags that set it.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ConfigError {
    #[error("{flag} must be set")]
    Missing { flag: &'static str },
    #[error("the leader election identity must be set")]
    MissingIdentity,
    #[error("{flag} must be greater than zero")]
    NotPositive { flag: &'static str },
    #[error(
        "--leader-elect-lease-duration ({lease:?}) must be greater than --leader-elect-renew-deadline ({renew:?})"
    )]
    LeaseNotLongerThanRenew { lease: Duration, renew: Duration },
    #[error(
        "--leader-elect-renew-deadline ({renew:?}) must be greater than --leader-elect-retry-period ({retry:?}) times {JITTER_FACTOR}"
    )]
    RenewNotLongerThanRetry { renew: Duration, retry: Duration },
}

impl LeaderElectionConfig {
    /// The lock `namespace/name` held as `identity`, with upstream timings.
    pub fn new(namespace: &str, name: &str, identity: &str) -> Self {
        LeaderElectionConfig {
            namespace: namespace.into(),
            name: name.into(),
            identity: identity.into(),
            ..LeaderElectionConfig::default()
        }
    }

    /// Checks the timings as upstream does: every one positive, and
    /// `lease_duration > renew_deadline > retry_period * 1.2`, so that a
    /// leader gives up before followers may take over, and gets at least
    /// one (jittered) retry before giving up.
    ///
    /// # Errors
    /// The first rule broken.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.namespace.is_empty() {
            return Err(ConfigError::Missing {
                flag: "--leader-elect-resource-namespace",
            });
        }
        if self.name.is_empty() {
            return Err(ConfigError::Missing {
                flag: "--leader-elect-resource-name",
            });
        }
        if self.identity.is_empty() {
            return Err(ConfigError::MissingIdentity);
        }
        for (flag, d) in [
            ("--leader-elect-lease-duration", self.lease_duration),
            ("--leader-elect-renew-deadline", self.renew_deadline),
            ("--leader-elect-retry-period", self.retry_period),
        ] {
            if d.is_zero() {
                return Err(ConfigError::NotPositive { flag });
            }
        }
        if self.lease_duration <= self.renew_deadline {
            return Err(ConfigError::LeaseNotLongerThanRenew {
                lease: self.lease_duration,
                renew: self.renew_deadline,
            });
        }
        if self.renew_deadline.as_secs_f64() <= self.retry_period.as_secs_f64() * JITTER_FACTOR {
            return Err(ConfigError::RenewNotLongerThanRetry {
                renew: self.renew_deadline,
                retry: self.retry_period,
            });
        }
        Ok(())
    }

    /// `leaseDurationSeconds`: whole seconds, rounded up, at least 1.
    fn lease_seconds(&self) -> i32 {
        let d = self.lease_duration;
        let secs = d.as_secs() + u64::from(d.subsec_nanos() > 0);
        i32::try_from(secs.max(1)).unwrap_or(i32::MAX)
    }
}

/// `<hostname>_<random>`, as upstream components name themselves: two
/// processes on one host (or a restarted one) never share an identity.
pub fn unique_identity() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into());
    format!("{host}_{:016x}", rand::random::<u64>())
}

/// Handed to the leading future: fires when this replica must stop acting
/// as leader (leadership lost, shutdown, or [`LeaderElector::run`] dropped).
/// Clone it into every task the leader spawns.
#[derive(Clone, Debug)]
pub struct StopLeading(watch::Receiver<bool>);

impl StopLeading {
    /// Whether leading has ended.
    pub fn is_stopped(&self) -> bool {
        *self.0.borrow() || self.0.has_changed().is_err()
    }

    /// Resolves when leading ends (at once if it has).
    pub async fn stopped(&self) {
        let mut rx = self.0.clone();
        // An error means the elector is gone: stopped as well.
        let _ = rx.wait_for(|stop| *stop).await;
    }
}

/// Why [`LeaderElector::run`] returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ended {
    /// The Lease could not be renewed within `renew_deadline` (or someone
    /// else holds it now). Upstream components exit at this point, and so
    /// should callers: a restart rejoins the election cleanly.
    Lost,
    /// The shutdown future fired (before or while leading).
    Shutdown,
    /// The leading future returned on its own.
    LeadReturned,
}

/// What one try decides to write, given the Lease as read.
#[derive(Debug, PartialEq)]
enum Decision {
    /// Someone else holds an unexpired Lease: wait.
    Follow { holder: String },
    /// Write this spec (renewal, or takeover when the holder changes).
    Write(LeaseSpec),
}

/// "Decide, then act": the record to write on a try
/// (`tryAcquireOrRenew`'s middle part).
///
/// - held by someone else and not `expired` → follow;
/// - held by us → renew: keep `acquireTime` and `leaseTransitions`;
/// - free (released, expired, never held) → take over: `acquireTime` now,
///   one more `leaseTransitions`.
fn decide(
    current: &LeaseSpec,
    identity: &str,
    lease_seconds: i32,
    expired: bool,
    now: MicroTime,
) -> Decision {
    let holder = current.holder_identity.as_deref().unwrap_or_default();
    let ours = holder == identity;
    if !holder.is_empty() && !ours && !expired {
        return Decision::Follow {
            holder: holder.to_string(),
        };
    }
    let mut next = current.clone();
    next.holder_identity = Some(identity.to_string());
    next.lease_duration_seconds = Some(lease_seconds);
    next.renew_time = Some(now);
    if !ours || next.acquire_time.is_none() {
        next.acquire_time = Some(now);
    }
    if !ours {
        next.lease_transitions = Some(current.lease_transitions.unwrap_or(0).saturating_add(1));
    }
    Decision::Write(next)
}

/// One candidate in an election. Build it with [`LeaderElector::new`],
/// keep a [`leading`](LeaderElector::leading) receiver for health and
/// metrics if wanted, then [`run`](LeaderElector::run) it.
pub struct LeaderElector {
    config: LeaderElectionConfig,
    leases: Api<Lease>,
    /// The Lease as last read or written.
    observed: Option<Lease>,
    /// When `observed`'s record last changed, by our clock.
    observed_at: Instant,
    leading: watch::Sender<bool>,
}

impl std::fmt::Debug for LeaderElector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LeaderElector")
            .field("config", &self.config)
            .field("leading", &*self.leading.borrow())
            .finish_non_exhaustive()
    }
}

impl LeaderElector {
    /// A candidate for the Lease `config.namespace/config.name`.
    ///
    /// # Errors
    /// When the config is invalid (see [`LeaderElectionConfig::validate`]).
    pub fn new(client: Client, config: LeaderElectionConfig) -> Result<Self, ConfigError> {
        config.validate()?;
        Ok(LeaderElector {
            leases: Api::namespaced(client, &config.namespace),
            config,
            observed: None,
            observed_at: Instant::now(),
            leading: watch::channel(false).0,
        })
    }

    /// `true` while this replica leads (for `/healthz`, metrics, tests);
    /// `false` again once `run` returns or is dropped.
    pub fn leading(&self) -> watch::Receiver<bool> {
        self.leading.subscribe()
    }

    pub fn config(&self) -> &LeaderElectionConfig {
        &self.config
    }

    /// Campaigns until this replica holds the Lease, then runs `lead` while
    /// renewing it.
    ///
    /// Returns when leading ends: the Lease was lost ([`Ended::Lost`]),
    /// `shutdown` resolved ([`Ended::Shutdown`]), or the leading future
    /// returned ([`Ended::LeadReturned`]). Either way, by then the leading
    /// future has been dropped and its [`StopLeading`] has fired; in the
    /// last two cases the Lease is then released if
    /// [`release_on_cancel`](LeaderElectionConfig::release_on_cancel).
    ///
    /// API errors are logged and retried: the election never gives up on
    /// its own before leading. A shutdown while campaigning may cut off a
    /// write that was about to win; such a Lease is not released and simply
    /// expires.
    pub async fn run<S, F, Fut>(mut self, shutdown: S, lead: F) -> Ended
    where
        S: Future<Output = ()>,
        F: FnOnce(StopLeading) -> Fut,
        Fut: Future<Output = ()>,
    {
        let mut shutdown = pin!(shutdown);
        tokio::select! {
            () = &mut shutdown => return Ended::Shutdown,
            () = self.acquire() => {}
        }
        let (stop_tx, stop_rx) = watch::channel(false);
        let ended = {
            let mut lead = pin!(lead(StopLeading(stop_rx)));
            tokio::select! {
                () = self.renew() => Ended::Lost,
                () = &mut shutdown => Ended::Shutdown,
                () = &mut lead => Ended::LeadReturned,
            }
            // The leading future is dropped here, before any release: a
            // successor must not overlap with it.
        };
        let _ = stop_tx.send(true);
        self.leading.send_replace(false);
        match ended {
            Ended::Lost => error!(
                lease = %self.lease_key(),
                identity = %self.config.identity,
                "leader election lost"
            ),
            _ => {
                info!(lease = %self.lease_key(), "stopped leading");
                if self.config.release_on_cancel {
                    self.release().await;
                }
            }
        }
        ended
    }

    fn lease_key(&self) -> String {
        format!("{}/{}", self.config.namespace, self.config.name)
    }

    /// Tries every `retry_period` (jittered) until the Lease is ours.
    async fn acquire(&mut self) {
        info!(lease = %self.lease_key(), identity = %self.config.identity, "attempting to acquire leader lease");
        loop {
            if self
                .try_bounded(Instant::now() + self.config.renew_deadline)
                .await
            {
                info!(lease = %self.lease_key(), identity = %self.config.identity, "successfully acquired lease");
                self.leading.send_replace(true);
                return;
            }
            tokio::time::sleep(jittered(self.config.retry_period)).await;
        }
    }

    /// Renews every `retry_period`; returns when a renewal round could not
    /// succeed within `renew_deadline` (retrying every `retry_period`).
    async fn renew(&mut self) {
        loop {
            let deadline = Instant::now() + self.config.renew_deadline;
            loop {
                if self.try_bounded(deadline).await {
                    break;
                }
                let next = Instant::now() + self.config.retry_period;
                if next >= deadline {
                    tokio::time::sleep_until(deadline).await;
                    warn!(lease = %self.lease_key(), "failed to renew lease within the renew deadline");
                    return;
                }
                tokio::time::sleep_until(next).await;
            }
            tokio::time::sleep(self.config.retry_period).await;
        }
    }

    /// One try, abandoned (as failed) at `deadline`: a hung request must not
    /// keep a leader believing it leads.
    async fn try_bounded(&mut self, deadline: Instant) -> bool {
        tokio::time::timeout_at(deadline, self.try_acquire_or_renew())
            .await
            .unwrap_or(false)
    }

    fn is_leader(&self) -> bool {
        self.observed
            .as_ref()
            .and_then(|l| l.spec.as_ref())
            .and_then(|s| s.holder_identity.as_deref())
            == Some(self.config.identity.as_str())
    }

    /// Whether the observed record has gone unchanged for its
    /// `leaseDurationSeconds`.
    fn observed_expired(&self, spec: &LeaseSpec) -> bool {
        let secs = spec.lease_duration_seconds.unwrap_or(0).max(0);
        let secs = u64::try_from(secs).unwrap_or(0);
        self.observed_at + Duration::from_secs(secs) <= Instant::now()
    }

    /// Records the Lease as read or written; restarts the expiry clock when
    /// its record changed.
    fn observe(&mut self, lease: Lease) {
        let old = self.observed.as_ref().and_then(|l| l.spec.as_ref());
        if old != lease.spec.as_ref() || self.observed.is_none() {
            self.observed_at = Instant::now();
            let holder = |s: Option<&LeaseSpec>| {
                s.and_then(|s| s.holder_identity.clone())
                    .unwrap_or_default()
            };
            let new_holder = holder(lease.spec.as_ref());
            if holder(old) != new_holder && !new_holder.is_empty() {
                info!(lease = %self.lease_key(), holder = %new_holder, "new leader elected");
            }
        }
        self.observed = Some(lease);
    }

    /// `tryAcquireOrRenew`: one optimistic attempt to hold the Lease.
    async fn try_acquire_or_renew(&mut self) -> bool {
        let now = MicroTime::now();
        let name = self.config.name.clone();
        let pp = PostParams::default();

        // Fast path: a leader renews the Lease it wrote last, without
        // reading it first; a conflict sends it down the slow path.
        if self.is_leader() {
            if let Some(mut lease) = self.observed.clone() {
                let spec = lease.spec.get_or_insert_with(LeaseSpec::default);
                spec.renew_time = Some(now);
                spec.lease_duration_seconds = Some(self.config.lease_seconds());
                match self.leases.replace(&name, &pp, &lease).await {
                    Ok(written) => {
                        self.observe(written);
                        return true;
                    }
                    Err(e) => debug!(error = %e, "optimistic renewal failed, reading the lease"),
                }
            }
        }

        let current = match self.leases.get_opt(&name).await {
            Ok(Some(lease)) => lease,
            Ok(None) => return self.create(now).await,
            Err(e) => {
                warn!(lease = %self.lease_key(), error = %e, "cannot read the lease");
                return false;
            }
        };
        self.observe(current.clone());
        let spec = current.spec.clone().unwrap_or_default();
        let expired = self.observed_expired(&spec);
        let next = match decide(
            &spec,
            &self.config.identity,
            self.config.lease_seconds(),
            expired,
            now,
        ) {
            Decision::Follow { holder } => {
                debug!(lease = %self.lease_key(), %holder, "lease is held by another candidate");
                return false;
            }
            Decision::Write(next) => next,
        };
        let mut lease = current;
        lease.spec = Some(next);
        match self.leases.replace(&name, &pp, &lease).await {
            Ok(written) => {
                self.observe(written);
                true
            }
            Err(e) if e.is_conflict() => {
                debug!(lease = %self.lease_key(), "another candidate wrote the lease first");
                false
            }
            Err(e) => {
                warn!(lease = %self.lease_key(), error = %e, "cannot update the lease");
                false
            }
        }
    }

    /// Creates the Lease held by us (nobody has ever held it).
    async fn create(&mut self, now: MicroTime) -> bool {
        let lease = Lease {
            metadata: ObjectMeta {
                name: self.config.name.clone(),
                namespace: self.config.namespace.clone(),
                ..ObjectMeta::default()
            },
            spec: Some(LeaseSpec {
                holder_identity: Some(self.config.identity.clone()),
                lease_duration_seconds: Some(self.config.lease_seconds()),
                acquire_time: Some(now),
                renew_time: Some(now),
                lease_transitions: Some(0),
                ..LeaseSpec::default()
            }),
            ..Lease::default()
        };
        match self.leases.create(&PostParams::default(), &lease).await {
            Ok(created) => {
                self.observe(created);
                true
            }
            Err(e) if e.is_already_exists() => {
                debug!(lease = %self.lease_key(), "another candidate created the lease first");
                false
            }
            Err(e) => {
                warn!(lease = %self.lease_key(), error = %e, "cannot create the lease");
                false
            }
        }
    }

    /// Hands the Lease back: no holder, a one-second duration, so that
    /// followers take it at their next try.
    async fn release(&mut self) {
        let release = async {
            let Some(mut lease) = self.leases.get_opt(&self.config.name).await? else {
                return Ok(false);
            };
            let spec = lease.spec.get_or_insert_with(LeaseSpec::default);
            if spec.holder_identity.as_deref() != Some(self.config.identity.as_str()) {
                return Ok(false);
            }
            let now = MicroTime::now();
            spec.holder_identity = Some(String::new());
            spec.lease_duration_seconds = Some(1);
            spec.acquire_time = Some(now);
            spec.renew_time = Some(now);
            self.leases
                .replace(&self.config.name, &PostParams::default(), &lease)
                .await
                .map(|_| true)
        };
        match tokio::time::timeout(self.config.renew_deadline, release).await {
            Ok(Ok(true)) => info!(lease = %self.lease_key(), "released the lease"),
            Ok(Ok(false)) => debug!(lease = %self.lease_key(), "the lease was not ours to release"),
            Ok(Err(e)) => warn!(lease = %self.lease_key(), error = %e, "cannot release the lease"),
            Err(_) => warn!(lease = %self.lease_key(), "releasing the lease timed out"),
        }
    }
}

impl Drop for LeaderElector {
    /// A dropped (aborted) `run` leads no more: `leading` readers see it.
    fn drop(&mut self) {
        self.leading.send_replace(false);
    }
}

/// `d` plus up to `JITTER_FACTOR * d` at random.
fn jittered(d: Duration) -> Duration {
    d.mul_f64(1.0 + JITTER_FACTOR * rand::random::<f64>())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> LeaderElectionConfig {
        LeaderElectionConfig::new("kube-system", "kube-scheduler", "a")
    }

    fn secs(s: f64) -> Duration {
        Duration::from_secs_f64(s)
    }

    #[test]
    fn upstream_defaults_are_valid() {
        let c = config();
        assert_eq!(c.lease_duration, secs(15.0));
        assert_eq!(c.renew_deadline, secs(10.0));
        assert_eq!(c.retry_period, secs(2.0));
        assert_eq!(c.validate(), Ok(()));
        assert_eq!(c.lease_seconds(), 15);
    }

    #[test]
    fn timings_must_nest() {
        let c = LeaderElectionConfig {
            renew_deadline: secs(15.0),
            ..config()
        };
        assert_eq!(
            c.validate().map_err(|e| e.to_string()),
            Err("--leader-elect-lease-duration (15s) must be greater than --leader-elect-renew-deadline (15s)".into())
        );
        // 2 s * 1.2 = 2.4 s
        let c = LeaderElectionConfig {
            renew_deadline: secs(2.4),
            ..config()
        };
        assert_eq!(
            c.validate().map_err(|e| e.to_string()),
            Err("--leader-elect-renew-deadline (2.4s) must be greater than --leader-elect-retry-period (2s) times 1.2".into())
        );
        let c = LeaderElectionConfig {
            renew_deadline: secs(2.5),
            ..config()
        };
        assert_eq!(c.validate(), Ok(()));
        let c = LeaderElectionConfig {
            retry_period: Duration::ZERO,
            ..config()
        };
        assert_eq!(
            c.validate().map_err(|e| e.to_string()),
            Err("--leader-elect-retry-period must be greater than zero".into())
        );
    }

    #[test]
    fn names_are_required() {
        let c = LeaderElectionConfig {
            name: String::new(),
            ..config()
        };
        assert_eq!(
            c.validate().map_err(|e| e.to_string()),
            Err("--leader-elect-resource-name must be set".into())
        );
        let c = LeaderElectionConfig::default();
        assert!(c.validate().is_err(), "the default has no name");
        let c = LeaderElectionConfig {
            identity: String::new(),
            ..config()
        };
        assert_eq!(c.validate(), Err(ConfigError::MissingIdentity));
    }

    #[test]
    fn lease_seconds_round_up() {
        let c = LeaderElectionConfig {
            lease_duration: secs(1.5),
            ..config()
        };
        assert_eq!(c.lease_seconds(), 2);
        let c = LeaderElectionConfig {
            lease_duration: secs(0.2),
            ..config()
        };
        assert_eq!(c.lease_seconds(), 1);
    }

    fn at(s: &str) -> MicroTime {
        MicroTime::parse(s).expect("time")
    }

    fn held_by(holder: &str, transitions: i32) -> LeaseSpec {
        LeaseSpec {
            holder_identity: Some(holder.into()),
            lease_duration_seconds: Some(15),
            acquire_time: Some(at("2024-05-01T10:00:00Z")),
            renew_time: Some(at("2024-05-01T10:00:10Z")),
            lease_transitions: Some(transitions),
            ..LeaseSpec::default()
        }
    }

    #[test]
    fn a_live_lease_of_another_is_followed() {
        let now = at("2024-05-01T10:00:20Z");
        assert_eq!(
            decide(&held_by("b", 3), "a", 15, false, now),
            Decision::Follow { holder: "b".into() }
        );
    }

    #[test]
    fn an_expired_lease_is_taken_over() {
        let now = at("2024-05-01T10:00:30Z");
        let Decision::Write(next) = decide(&held_by("b", 3), "a", 15, true, now) else {
            panic!("should take over");
        };
        assert_eq!(next.holder_identity.as_deref(), Some("a"));
        assert_eq!(next.lease_transitions, Some(4));
        assert_eq!(next.acquire_time, Some(now));
        assert_eq!(next.renew_time, Some(now));
        assert_eq!(next.lease_duration_seconds, Some(15));
    }

    #[test]
    fn our_own_lease_is_renewed_keeping_acquire_time_and_transitions() {
        let now = at("2024-05-01T10:00:12Z");
        let Decision::Write(next) = decide(&held_by("a", 3), "a", 15, false, now) else {
            panic!("should renew");
        };
        assert_eq!(next.lease_transitions, Some(3));
        assert_eq!(next.acquire_time, Some(at("2024-05-01T10:00:00Z")));
        assert_eq!(next.renew_time, Some(now));
    }

    #[test]
    fn a_released_lease_is_taken_at_once() {
        let mut released = held_by("", 3);
        released.lease_duration_seconds = Some(1);
        let now = at("2024-05-01T10:00:12Z");
        let Decision::Write(next) = decide(&released, "a", 15, false, now) else {
            panic!("should take over");
        };
        assert_eq!(next.holder_identity.as_deref(), Some("a"));
        assert_eq!(next.lease_transitions, Some(4));
        assert_eq!(next.lease_duration_seconds, Some(15));
    }

    #[test]
    fn jitter_stays_in_range() {
        for _ in 0..100 {
            let d = jittered(secs(2.0));
            assert!(d >= secs(2.0) && d <= secs(4.4), "{d:?}");
        }
    }

    #[tokio::test]
    async fn stop_leading_fires_when_the_elector_goes_away() {
        let (tx, rx) = watch::channel(false);
        let stop = StopLeading(rx);
        assert!(!stop.is_stopped());
        drop(tx);
        assert!(stop.is_stopped());
        stop.stopped().await;
    }

    #[test]
    fn identities_are_unique() {
        let (a, b) = (unique_identity(), unique_identity());
        assert_ne!(a, b);
        assert!(a.contains('_'));
    }
}

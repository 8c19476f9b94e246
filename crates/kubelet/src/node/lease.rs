//! The node's heartbeat: a `Lease` in `kube-node-lease`, renewed every
//! 10 s (upstream's `pkg/kubelet/nodelease`, NodeLease GA since 1.17).
//!
//! The Node object is big and only rewritten when its status changes (see
//! [`super::reporter`]); the Lease is tiny, so writing it often is cheap.
//! The node lifecycle controller reads `spec.renewTime`: a node whose Lease
//! is older than its grace period (40 s) is marked `Unknown`.
//!
//! The Lease is owned by the Node (an `ownerReference` with the Node's
//! uid): deleting the Node lets the garbage collector delete its Lease.
//!
//! # Renewal, as upstream's lease controller does it
//! - first round: GET the Lease; create it if missing;
//! - then: PUT the copy we hold with a new `renewTime` (no GET needed);
//! - a conflict (someone else wrote it) or a 404 drops our copy: GET (or
//!   create) again and retry, up to 5 times in a round;
//! - a failed round is retried after 200 ms, 400 ms ... up to 7 s; after a
//!   success the 10 s period resumes.

use std::future::Future;
use std::time::Duration;

use api_types::coordination::v1::{Lease, LeaseSpec};
use api_types::meta::v1::{MicroTime, ObjectMeta, OwnerReference};
use client::{Api, PostParams};

use super::error::{Error, Result};

/// Where node Leases live.
pub const NODE_LEASE_NAMESPACE: &str = "kube-node-lease";
/// Upstream's `nodeLeaseDurationSeconds`.
pub const DEFAULT_LEASE_DURATION_SECONDS: i32 = 40;
/// Upstream renews every quarter of the duration.
pub const DEFAULT_RENEW_INTERVAL: Duration = Duration::from_secs(10);
/// Upstream's lease controller: first retry delay, and its cap.
const FIRST_BACKOFF: Duration = Duration::from_millis(200);
const MAX_BACKOFF: Duration = Duration::from_secs(7);
/// Updates tried in one round before giving up until the next.
const MAX_UPDATE_TRIES: u32 = 5;

/// The owner reference a node's Lease carries.
pub fn node_owner(node_name: &str, node_uid: &str) -> OwnerReference {
    OwnerReference {
        api_version: "v1".into(),
        kind: "Node".into(),
        name: node_name.to_string(),
        uid: node_uid.to_string(),
        controller: None,
        block_owner_deletion: None,
    }
}

/// A new Lease for node `node_name`, renewed `now`.
pub fn lease_object(
    node_name: &str,
    node_uid: &str,
    duration_seconds: i32,
    now: MicroTime,
) -> Lease {
    let mut lease = Lease {
        metadata: ObjectMeta {
            name: node_name.to_string(),
            namespace: NODE_LEASE_NAMESPACE.into(),
            ..ObjectMeta::default()
        },
        ..Lease::default()
    };
    renewed(&mut lease, node_name, node_uid, duration_seconds, now);
    lease
}

/// Writes our holder, duration, `renewTime` and owner into `lease`.
fn renewed(
    lease: &mut Lease,
    node_name: &str,
    node_uid: &str,
    duration_seconds: i32,
    now: MicroTime,
) {
    let spec = lease.spec.get_or_insert_with(LeaseSpec::default);
    spec.holder_identity = Some(node_name.to_string());
    spec.lease_duration_seconds = Some(duration_seconds);
    spec.renew_time = Some(now);
    // The uid may be unknown (a kubelet that could not register yet):
    // upstream then leaves the owner out and adds it on a later renewal.
    let owners = &mut lease.metadata.owner_references;
    if !node_uid.is_empty() && !owners.iter().any(|o| o.kind == "Node" && o.uid == node_uid) {
        owners.retain(|o| o.kind != "Node");
        owners.push(node_owner(node_name, node_uid));
    }
}

/// The heartbeat of one node.
pub struct NodeLease {
    leases: Api<Lease>,
    node_name: String,
    node_uid: String,
    duration_seconds: i32,
    renew_interval: Duration,
    /// The Lease as last written: renewals PUT it without a GET.
    latest: Option<Lease>,
}

impl NodeLease {
    /// The Lease of node `node_name` (uid `node_uid`, from registration)
    /// through `leases` (an `Api<Lease>` of [`NODE_LEASE_NAMESPACE`]),
    /// with upstream's 40 s duration and 10 s renewals.
    pub fn new(
        leases: Api<Lease>,
        node_name: impl Into<String>,
        node_uid: impl Into<String>,
    ) -> Self {
        NodeLease {
            leases,
            node_name: node_name.into(),
            node_uid: node_uid.into(),
            duration_seconds: DEFAULT_LEASE_DURATION_SECONDS,
            renew_interval: DEFAULT_RENEW_INTERVAL,
            latest: None,
        }
    }

    /// `leaseDurationSeconds` (`--node-lease-duration-seconds`).
    #[must_use]
    pub fn duration_seconds(mut self, seconds: i32) -> Self {
        self.duration_seconds = seconds;
        self
    }

    /// How often to renew (tests use milliseconds).
    #[must_use]
    pub fn renew_interval(mut self, every: Duration) -> Self {
        self.renew_interval = every;
        self
    }

    fn fail(&self, source: client::Error) -> Error {
        Error::Lease {
            node: self.node_name.clone(),
            source,
        }
    }

    /// One renewal round: creates or updates the Lease; returns it as
    /// stored.
    ///
    /// # Errors
    /// The apiserver's error, or [`Error::LeaseConflicts`] when every
    /// update of the round conflicted.
    pub async fn renew(&mut self) -> Result<Lease> {
        for _ in 0..MAX_UPDATE_TRIES {
            let now = MicroTime::now();
            let mut lease = match self.latest.take() {
                Some(lease) => lease,
                None => match self.leases.get_opt(&self.node_name).await {
                    Ok(Some(lease)) => lease,
                    Ok(None) => {
                        let new = lease_object(
                            &self.node_name,
                            &self.node_uid,
                            self.duration_seconds,
                            now,
                        );
                        match self.leases.create(&PostParams::default(), &new).await {
                            Ok(created) => {
                                tracing::info!(node = %self.node_name, "created the node lease");
                                self.latest = Some(created.clone());
                                return Ok(created);
                            }
                            // created by someone else between our GET and POST
                            Err(e) if e.is_already_exists() => continue,
                            Err(e) => return Err(self.fail(e)),
                        }
                    }
                    Err(e) => return Err(self.fail(e)),
                },
            };
            renewed(
                &mut lease,
                &self.node_name,
                &self.node_uid,
                self.duration_seconds,
                now,
            );
            match self
                .leases
                .replace(&self.node_name, &PostParams::default(), &lease)
                .await
            {
                Ok(stored) => {
                    self.latest = Some(stored.clone());
                    return Ok(stored);
                }
                Err(e) if e.is_conflict() || e.is_not_found() => {
                    tracing::debug!(node = %self.node_name, error = %e, "node lease changed; reading it again");
                }
                Err(e) => return Err(self.fail(e)),
            }
        }
        Err(Error::LeaseConflicts {
            node: self.node_name.clone(),
            tries: MAX_UPDATE_TRIES,
        })
    }

    /// Renews until `shutdown` completes. Never fails: errors are logged
    /// and retried with backoff.
    pub async fn run(mut self, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        let mut backoff = FIRST_BACKOFF;
        loop {
            let wait = match self.renew().await {
                Ok(_) => {
                    backoff = FIRST_BACKOFF;
                    self.renew_interval
                }
                Err(e) => {
                    let wait = backoff;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                    tracing::warn!(
                        node = %self.node_name,
                        error = %e,
                        cause = ?std::error::Error::source(&e).map(ToString::to_string),
                        retry_in = ?wait,
                        "cannot renew the node lease"
                    );
                    wait
                }
            };
            tokio::select! {
                () = &mut shutdown => return,
                () = tokio::time::sleep(wait) => {}
            }
        }
    }
}

/// Runs the heartbeat of node `node_name` until `shutdown`: a shorthand for
/// [`NodeLease::new`] with the given duration and renew interval.
pub async fn run_lease(
    leases: Api<Lease>,
    node_name: &str,
    node_uid: &str,
    duration_seconds: i32,
    renew_interval: Duration,
    shutdown: impl Future<Output = ()>,
) {
    NodeLease::new(leases, node_name, node_uid)
        .duration_seconds(duration_seconds)
        .renew_interval(renew_interval)
        .run(shutdown)
        .await;
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_lease_is_held_and_owned_by_its_node() {
        let now = MicroTime::now();
        let l = lease_object("n1", "uid-1", 40, now);
        let v = serde_json::to_value(&l).unwrap();
        assert_eq!(v["metadata"]["name"], "n1");
        assert_eq!(v["metadata"]["namespace"], "kube-node-lease");
        let owner = &v["metadata"]["ownerReferences"][0];
        assert_eq!(owner["apiVersion"], "v1");
        assert_eq!(owner["kind"], "Node");
        assert_eq!(owner["name"], "n1");
        assert_eq!(owner["uid"], "uid-1");
        assert!(owner.get("controller").is_none());
        assert_eq!(v["spec"]["holderIdentity"], "n1");
        assert_eq!(v["spec"]["leaseDurationSeconds"], 40);
        assert_eq!(v["spec"]["renewTime"], serde_json::json!(now));
    }

    #[test]
    fn renewing_takes_over_an_old_lease() {
        let t0 = MicroTime::parse("2025-01-01T00:00:00Z").unwrap();
        let t1 = MicroTime::parse("2025-01-01T00:00:10Z").unwrap();
        // a Lease of a previous Node object, and one without an owner
        let mut old = lease_object("n1", "old-uid", 40, t0);
        renewed(&mut old, "n1", "new-uid", 40, t1);
        assert_eq!(old.metadata.owner_references.len(), 1);
        assert_eq!(old.metadata.owner_references[0].uid, "new-uid");
        assert_eq!(old.spec.as_ref().unwrap().renew_time, Some(t1));
        let mut bare = lease_object("n1", "", 40, t0);
        assert!(bare.metadata.owner_references.is_empty());
        renewed(&mut bare, "n1", "u", 40, t1);
        assert_eq!(bare.metadata.owner_references[0].uid, "u");
    }
}

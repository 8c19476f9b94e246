//! Leader election against a real apiserver (in-process, embedded store):
//! two candidates on one Lease, a crashed leader, a graceful hand-over, a
//! stolen Lease.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use api_types::coordination::v1::Lease;
use client::{Api, Client, PostParams};
use runtime::leader::{Ended, LeaderElectionConfig, LeaderElector};
use testenv::TestApiserver;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

const LEASE: Duration = Duration::from_secs(2);
const RETRY: Duration = Duration::from_millis(300);

fn config(lock: &str, identity: &str) -> LeaderElectionConfig {
    LeaderElectionConfig {
        lease_duration: LEASE,
        renew_deadline: Duration::from_millis(1500),
        retry_period: RETRY,
        ..LeaderElectionConfig::new("kube-system", lock, identity)
    }
}

/// A running candidate: whether it leads, how its run ended, and a way to
/// stop it gracefully.
struct Candidate {
    identity: String,
    leading: watch::Receiver<bool>,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<Ended>,
}

impl Candidate {
    fn start(client: &Client, config: LeaderElectionConfig) -> Candidate {
        let identity = config.identity.clone();
        let elector = LeaderElector::new(client.clone(), config).unwrap();
        let leading = elector.leading();
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(elector.run(
            async move {
                let _ = rx.await;
            },
            // A controller would start its workers here and stop them on
            // `stop`; this one just waits.
            |stop| async move { stop.stopped().await },
        ));
        Candidate {
            identity,
            leading,
            shutdown: Some(tx),
            task,
        }
    }

    fn leads(&self) -> bool {
        *self.leading.borrow()
    }
}

async fn wait_until(what: &str, limit: Duration, mut cond: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < limit, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    start.elapsed()
}

/// Waits for exactly one of the two to lead and checks for a while that
/// they never both do; returns (leader, follower).
async fn one_leader(a: Candidate, b: Candidate) -> (Candidate, Candidate) {
    wait_until("a leader", Duration::from_secs(5), || {
        a.leads() || b.leads()
    })
    .await;
    let until = Instant::now() + Duration::from_secs(2);
    while Instant::now() < until {
        assert!(a.leads() != b.leads(), "exactly one leads");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    if a.leads() { (a, b) } else { (b, a) }
}

async fn lease(client: &Client, name: &str) -> Lease {
    Api::<Lease>::namespaced(client.clone(), "kube-system")
        .get(name)
        .await
        .unwrap()
}

fn holder(l: &Lease) -> (String, i32) {
    let spec = l.spec.clone().unwrap_or_default();
    (
        spec.holder_identity.unwrap_or_default(),
        spec.lease_transitions.unwrap_or(-1),
    )
}

#[tokio::test]
async fn a_crashed_leader_is_replaced_after_the_lease_expires() {
    let server = TestApiserver::start().await;
    let client = server.client();
    let a = Candidate::start(&client, config("crash", "a"));
    let b = Candidate::start(&client, config("crash", "b"));
    let (leader, follower) = one_leader(a, b).await;

    let l = lease(&client, "crash").await;
    assert_eq!(
        holder(&l),
        (leader.identity.clone(), 0),
        "created by the leader"
    );
    assert_eq!(l.spec.as_ref().unwrap().lease_duration_seconds, Some(2));
    assert!(l.spec.as_ref().unwrap().acquire_time.is_some());
    assert!(l.spec.as_ref().unwrap().renew_time.is_some());

    // A crash: renewals stop, nothing is released.
    leader.task.abort();
    let _ = leader.task.await;
    assert!(
        !*leader.leading.borrow(),
        "an aborted elector leads no more"
    );
    let took = wait_until(
        "the follower takes over",
        LEASE + RETRY.mul_f64(2.2) + Duration::from_secs(2),
        || follower.leads(),
    )
    .await;
    // The follower counts the lease duration from the last change it saw,
    // at most one (jittered) renewal period before the crash.
    assert!(
        took >= LEASE - RETRY.mul_f64(2.2) - RETRY,
        "took over too early: {took:?}"
    );
    let l = lease(&client, "crash").await;
    assert_eq!(holder(&l), (follower.identity.clone(), 1));
}

#[tokio::test]
async fn a_graceful_leader_hands_over_at_once() {
    let server = TestApiserver::start().await;
    let client = server.client();
    let a = Candidate::start(&client, config("graceful", "a"));
    let b = Candidate::start(&client, config("graceful", "b"));
    let (mut leader, follower) = one_leader(a, b).await;

    let _ = leader.shutdown.take().unwrap().send(());
    assert_eq!(leader.task.await.unwrap(), Ended::Shutdown);
    assert!(!*leader.leading.borrow());
    let took = wait_until(
        "the follower takes over",
        RETRY.mul_f64(2.2) + Duration::from_millis(1500),
        || follower.leads(),
    )
    .await;
    assert!(
        took < LEASE,
        "released, so no lease duration wait: {took:?}"
    );
    let l = lease(&client, "graceful").await;
    assert_eq!(holder(&l), (follower.identity.clone(), 1));
    assert_eq!(l.spec.as_ref().unwrap().lease_duration_seconds, Some(2));
}

#[tokio::test]
async fn a_leader_that_cannot_renew_stops_leading() {
    let server = TestApiserver::start().await;
    let client = server.client();
    let elector = LeaderElector::new(client.clone(), config("stolen", "a")).unwrap();
    let leading = elector.leading();
    let (token_tx, token_rx) = oneshot::channel();
    let run = tokio::spawn(elector.run(std::future::pending(), |stop| async move {
        // Hand the signal to "workers" (here: the test), then lead forever.
        let _ = token_tx.send(stop);
        std::future::pending::<()>().await;
    }));
    let stop = token_rx.await.unwrap();
    wait_until("leading", Duration::from_secs(5), || *leading.borrow()).await;

    // Someone overwrites the Lease with a long one of their own (as an
    // operator or a partitioned replica might): renewals now fail.
    let leases = Api::<Lease>::namespaced(client.clone(), "kube-system");
    // (The leader renews meanwhile: retry on conflicts.)
    loop {
        let mut l = leases.get("stolen").await.unwrap();
        let spec = l.spec.as_mut().unwrap();
        spec.holder_identity = Some("intruder".into());
        spec.lease_duration_seconds = Some(60);
        match leases.replace("stolen", &PostParams::default(), &l).await {
            Ok(_) => break,
            Err(e) if e.is_conflict() => continue,
            Err(e) => panic!("{e}"),
        }
    }
    let start = Instant::now();
    let ended = tokio::time::timeout(Duration::from_secs(5), run)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ended, Ended::Lost);
    let took = start.elapsed();
    assert!(
        took <= Duration::from_millis(1500) + RETRY * 2 + Duration::from_millis(500),
        "gave up within the renew deadline: {took:?}"
    );
    assert!(!*leading.borrow());
    // Whatever the leader handed the signal to is told to stop.
    assert!(stop.is_stopped());
    tokio::time::timeout(Duration::from_secs(1), stop.stopped())
        .await
        .unwrap();
    let l = leases.get("stolen").await.unwrap();
    assert_eq!(holder(&l).0, "intruder", "a lost lease is not released");
}

#[tokio::test]
async fn shutdown_before_leading_returns_at_once() {
    let server = TestApiserver::start().await;
    let client = server.client();
    let a = Candidate::start(&client, config("early", "a"));
    wait_until("a leads", Duration::from_secs(5), || a.leads()).await;

    let mut b = Candidate::start(&client, config("early", "b"));
    tokio::time::sleep(RETRY).await;
    assert!(!b.leads());
    let _ = b.shutdown.take().unwrap().send(());
    assert_eq!(b.task.await.unwrap(), Ended::Shutdown);
    let l = lease(&client, "early").await;
    assert_eq!(holder(&l), ("a".into(), 0), "the follower touched nothing");
}

//! The `kube-controller-manager` binary: with its default flags it takes
//! the Lease `kube-system/kube-controller-manager` and runs the
//! controllers; a second replica waits; when the first stops, the second
//! takes over.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use api_types::coordination::v1::Lease;
use api_types::core::v1::ServiceAccount;
use client::Api;
use test_support::eventually;
use testenv::TestApiserver;

struct Replica(Child);

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(kubeconfig: &std::path::Path) -> Replica {
    Replica(
        Command::new(env!("CARGO_BIN_EXE_kube-controller-manager"))
            .arg("--kubeconfig")
            .arg(kubeconfig)
            // Short, so the take-over below is quick.
            .args([
                "--leader-elect-lease-duration=2s",
                "--leader-elect-renew-deadline=1s",
                "--leader-elect-retry-period=200ms",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start kube-controller-manager"),
    )
}

async fn holder(leases: &Api<Lease>) -> Option<String> {
    leases
        .get_opt("kube-controller-manager")
        .await
        .ok()??
        .spec?
        .holder_identity
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_elect_one_leader_and_fail_over() {
    test_support::init_tracing();
    let api = TestApiserver::start().await;
    let client = api.client();
    let kubeconfig = api.write_kubeconfig();
    let leases: Api<Lease> = Api::namespaced(client.clone(), "kube-system");

    let first = start(&kubeconfig);
    let leader = eventually("a leader", Duration::from_secs(30), || async {
        holder(&leases).await
    })
    .await;
    // It leads: its controllers run (the ServiceAccount controller makes
    // `default` accounts).
    let sas: Api<ServiceAccount> = Api::namespaced(client.clone(), "default");
    eventually(
        "the default ServiceAccount",
        Duration::from_secs(30),
        || async { sas.get_opt("default").await.ok()? },
    )
    .await;

    let second = start(&kubeconfig);
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(holder(&leases).await.as_deref(), Some(leader.as_str()));

    drop(first);
    let next = eventually(
        "the second replica to take over",
        Duration::from_secs(30),
        || async { holder(&leases).await.filter(|h| *h != leader) },
    )
    .await;
    assert_ne!(next, leader);
    drop(second);
}

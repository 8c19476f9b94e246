//! What the controller-manager integration tests share: running the
//! controllers in-process, and running the real kubectl.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use client::Client;
use controller_manager::{ControllerConfig, run};

/// The controllers, running until [`Controllers::stop`] or drop.
pub struct Controllers {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Controllers {
    pub fn start(client: &Client, config: ControllerConfig) -> Controllers {
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(run(client.clone(), config, async move {
            let _ = stopped.await;
        }));
        Controllers {
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// Stops them and waits until every controller has returned.
    pub async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.task.take() {
            t.await.expect("the controllers stopped cleanly");
        }
    }
}

impl Drop for Controllers {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

/// Every controller with the default configuration.
pub fn controllers(client: &Client) -> Controllers {
    Controllers::start(client, ControllerConfig::default())
}

/// kubectl 1.33 with `kubeconfig`: whether it succeeded, and its stdout
/// followed by its stderr.
pub fn kubectl_output(kubeconfig: &Path, args: &[&str]) -> (bool, String) {
    let out = testenv::kubectl_run("1.33", kubeconfig, args);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// kubectl 1.33 with `kubeconfig`, which must succeed: its stdout.
pub fn kubectl(kubeconfig: &Path, args: &[&str]) -> String {
    testenv::kubectl("1.33", kubeconfig, args)
}

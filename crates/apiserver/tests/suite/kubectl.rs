//! Running the real kubectl binaries against a test apiserver.
//!
//! The machine has kubectl 1.27 ... 1.33 as `kubectl.1.NN` next to the
//! default `kubectl` (`ls $(dirname $(readlink -f $(which kubectl)))`). Each
//! [`Kubectl`] gets its own kubeconfig and a fresh `--cache-dir`, so cached
//! discovery from another test never leaks in.

#![allow(clippy::unwrap_used, dead_code)]

use std::path::{Path, PathBuf};
use std::process::Output;

/// Every installed kubectl version, oldest first (e.g. `["1.27", ..., "1.33"]`).
///
/// # Panics
/// When no versioned kubectl is installed: these tests must not pass without one.
pub fn versions() -> Vec<String> {
    let dir = kubectl_dir();
    let mut vs: Vec<(u32, String)> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            e.file_name()
                .to_str()
                .and_then(|n| n.strip_prefix("kubectl.").map(str::to_string))
        })
        .filter_map(|v| {
            v.strip_prefix("1.")
                .and_then(|m| m.parse().ok())
                .map(|m| (m, v.clone()))
        })
        .collect();
    vs.sort();
    assert!(
        !vs.is_empty(),
        "no kubectl.1.NN binaries in {}",
        dir.display()
    );
    vs.into_iter().map(|(_, v)| v).collect()
}

/// The directory holding `kubectl` and `kubectl.1.NN`.
pub fn kubectl_dir() -> PathBuf {
    let out = std::process::Command::new("sh")
        .args(["-c", "dirname \"$(readlink -f \"$(command -v kubectl)\")\""])
        .output()
        .expect("sh");
    let dir = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(!dir.is_empty(), "kubectl is not installed");
    PathBuf::from(dir)
}

/// One kubectl binary pointed at one apiserver.
pub struct Kubectl {
    pub binary: PathBuf,
    pub version: String,
    dir: tempfile::TempDir,
}

/// The result of one kubectl run.
#[derive(Debug)]
pub struct Run {
    pub status: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Asserts success and returns stdout.
    #[track_caller]
    pub fn ok(&self) -> &str {
        assert_eq!(
            self.status, 0,
            "kubectl failed:\nstdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        &self.stdout
    }

    /// Asserts failure and returns stderr.
    #[track_caller]
    pub fn err(&self) -> &str {
        assert_ne!(
            self.status, 0,
            "kubectl unexpectedly succeeded:\nstdout: {}",
            self.stdout
        );
        &self.stderr
    }
}

impl Kubectl {
    /// kubectl `version` (`"1.32"`, or `""` for the machine's default `kubectl`).
    pub fn new(server_url: &str, version: &str) -> Kubectl {
        let dir = tempfile::tempdir().unwrap();
        let kubeconfig = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: test\n  cluster:\n    server: {server_url}\nusers:\n- name: test\n  user: {{}}\ncontexts:\n- name: test\n  context:\n    cluster: test\n    user: test\n    namespace: default\ncurrent-context: test\n"
        );
        std::fs::write(dir.path().join("kubeconfig"), kubeconfig).unwrap();
        let name = if version.is_empty() {
            "kubectl".to_string()
        } else {
            format!("kubectl.{version}")
        };
        Kubectl {
            binary: kubectl_dir().join(name),
            version: version.to_string(),
            dir,
        }
    }

    pub fn kubeconfig(&self) -> PathBuf {
        self.dir.path().join("kubeconfig")
    }

    /// A scratch directory for manifests.
    pub fn scratch(&self) -> &Path {
        self.dir.path()
    }

    /// Writes `content` to a file in the scratch directory and returns its path.
    pub fn file(&self, name: &str, content: &str) -> PathBuf {
        let p = self.dir.path().join(name);
        std::fs::write(&p, content).unwrap();
        p
    }

    /// Runs kubectl with `args` (async: the test's runtime keeps serving).
    pub async fn run(&self, args: &[&str]) -> Run {
        self.run_env(args, &[]).await
    }

    pub async fn run_env(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut cmd = tokio::process::Command::new(&self.binary);
        cmd.arg(format!("--kubeconfig={}", self.kubeconfig().display()))
            .arg(format!(
                "--cache-dir={}",
                self.dir.path().join("cache").display()
            ))
            .args(args)
            .env("HOME", self.dir.path())
            .kill_on_drop(true);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out: Output = tokio::time::timeout(std::time::Duration::from_secs(60), cmd.output())
            .await
            .unwrap_or_else(|_| panic!("kubectl {args:?} hung"))
            .unwrap();
        Run {
            status: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

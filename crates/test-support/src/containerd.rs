//! [`Containerd`]: a real containerd with the CRI plugin, private to one test.
//!
//! Each instance gets its own root, state, runc root, CNI config directory,
//! bridge name, pod subnet and cgroup root, so tests can run side by side on
//! one machine, and leaves nothing behind when dropped: containers are
//! killed through runc, shims stopped, mounts undone, the bridge, cgroups
//! and the iptables rules CNI made for its pods removed. The settings are
//! those of `CRI-OFFLINE.md` (`restrict_oom_score_adj`, cgroupfs, a locally
//! imported pause image).
//!
//! Needs root and the Debian packages `containerd runc
//! containernetworking-plugins iptables busybox-static` plus `gcc` (the test
//! command installs them). Without them it panics with what to install:
//! such tests never pass silently.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

static NEXT: AtomicU32 = AtomicU32::new(0);

/// The sandbox image every test containerd is configured with.
pub const PAUSE_IMAGE: &str = "localhost/oxkube/pause:1.0";
/// The busybox test image (also tagged `docker.io/library/busybox:latest`).
pub const BUSYBOX_IMAGE: &str = "localhost/oxkube/busybox:1.0";

/// A running containerd, torn down with everything it started on drop.
pub struct Containerd {
    child: Option<Child>,
    dir: Option<tempfile::TempDir>,
    name: String,
    index: u32,
}

impl std::fmt::Debug for Containerd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Containerd")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|e| e == "0"))
        })
        .unwrap_or(false)
}

fn need(path: &str, package: &str) {
    let found = if path.starts_with('/') {
        Path::new(path).exists()
    } else {
        Command::new("sh")
            .arg("-c")
            .arg(format!("command -v {path}"))
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    assert!(
        found,
        "`{path}` is missing: install the Debian package {package} (e2e/test.sh does)"
    );
}

fn run(cmd: &mut Command) -> Result<String, String> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{cmd:?}: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!("{cmd:?}: {}", String::from_utf8_lossy(&out.stderr)))
    }
}

/// The repository root (for `deploy/images/build.sh`).
fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

impl Containerd {
    /// Starts containerd, waits until it answers, and imports the test
    /// images (pause and busybox, built by `deploy/images/build.sh`).
    ///
    /// # Panics
    /// When not root, when a package is missing, or when containerd does not
    /// come up within 30 s.
    pub fn start() -> Containerd {
        assert!(
            is_root(),
            "tests with a real containerd run as root (as CI does)"
        );
        for (bin, pkg) in [
            ("containerd", "containerd"),
            ("ctr", "containerd"),
            ("runc", "runc"),
            ("/usr/lib/cni/bridge", "containernetworking-plugins"),
            ("iptables", "iptables"),
            ("/bin/busybox", "busybox-static"),
            ("gcc", "gcc"),
            ("ip", "iproute2"),
        ] {
            need(bin, pkg);
        }
        let index = NEXT.fetch_add(1, Ordering::Relaxed);
        let name = format!("oxt{}x{index}", std::process::id());
        let dir = tempfile::Builder::new()
            .prefix("oxcd")
            .tempdir()
            .expect("tempdir");
        let d = dir.path();
        for sub in ["root", "run", "runc", "cni", "certs.d", "images"] {
            std::fs::create_dir_all(d.join(sub)).expect("mkdir");
        }
        let config = format!(
            r#"version = 2
root = "{d}/root"
state = "{d}/run"
[grpc]
  address = "{d}/run/containerd.sock"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{PAUSE_IMAGE}"
  netns_mounts_under_state_dir = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_selinux = false
  disable_apparmor = true
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "{d}/runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "{d}/cni"
    max_conf_num = 1
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "{d}/certs.d"
"#,
            d = d.display()
        );
        std::fs::write(d.join("config.toml"), config).expect("write config");
        let log = std::fs::File::create(d.join("containerd.log")).expect("log file");
        let child = Command::new("containerd")
            .arg("--config")
            .arg(d.join("config.toml"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log file"))
            .stderr(log)
            .spawn()
            .expect("cannot start containerd");
        let cd = Containerd {
            child: Some(child),
            dir: Some(dir),
            name,
            index,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while run(Command::new("ctr")
            .arg("--address")
            .arg(cd.socket())
            .arg("version"))
        .is_err()
        {
            assert!(
                Instant::now() < deadline,
                "containerd did not answer; see {}",
                cd.log_path().display()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let images = cd.dir().join("images");
        let built = run(Command::new(repo_root().join("deploy/images/build.sh"))
            .arg(&images)
            .arg("--import")
            .arg(cd.socket()));
        if let Err(e) = built {
            panic!("building the test images failed: {e}");
        }
        cd
    }

    fn dir(&self) -> &Path {
        self.dir.as_ref().map(|d| d.path()).expect("containerd dir")
    }

    /// Where the test images were built (`pause.tar`, `busybox.tar`: OCI
    /// archives).
    pub fn images_dir(&self) -> PathBuf {
        self.dir().join("images")
    }

    /// containerd's registry host configuration directory (`config_path`):
    /// `certs.d/<registry>/hosts.toml` picks mirrors for `<registry>`.
    pub fn certs_d(&self) -> PathBuf {
        self.dir().join("certs.d")
    }

    /// The socket path.
    pub fn socket(&self) -> PathBuf {
        self.dir().join("run/containerd.sock")
    }

    /// `unix:///…/containerd.sock`, for `--container-runtime-endpoint`.
    pub fn endpoint(&self) -> String {
        format!("unix://{}", self.socket().display())
    }

    /// The directory containerd reads its CNI config from.
    pub fn cni_conf_dir(&self) -> PathBuf {
        self.dir().join("cni")
    }

    /// A scratch directory for the test (kubelet root dir, logs, ...),
    /// removed on drop.
    pub fn scratch(&self, name: &str) -> PathBuf {
        let p = self.dir().join("scratch").join(name);
        std::fs::create_dir_all(&p).expect("mkdir scratch");
        p
    }

    /// A bridge name nobody else uses; deleted on drop.
    pub fn bridge(&self) -> String {
        // Interface names are at most 15 bytes.
        format!(
            "oxb{}",
            &self.name[3..].chars().rev().take(11).collect::<String>()
        )
    }

    /// A pod subnet nobody else uses (10.250–254.x.0/24 by instance).
    pub fn pod_cidr(&self) -> String {
        let n = (std::process::id() % 5) * 256 + self.index % 256;
        format!("10.{}.{}.0/24", 250 + n / 256, n % 256)
    }

    /// A cgroup root (for the kubelet's `--cgroup-root`), removed on drop.
    pub fn cgroup_root(&self) -> String {
        format!("/{}", self.name)
    }

    /// containerd's own log.
    pub fn log_path(&self) -> PathBuf {
        self.dir().join("containerd.log")
    }

    fn teardown(&mut self) {
        let Some(dir) = self.dir.as_ref().map(|d| d.path().to_path_buf()) else {
            return;
        };
        let runc_root = dir.join("runc");
        // 1. Every container and sandbox still there, killed and deleted.
        let ids: Vec<String> = run(Command::new("runc")
            .arg("--root")
            .arg(&runc_root)
            .args(["list", "-q"]))
        .map(|out| {
            out.lines()
                .filter(|l| !l.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
        for id in &ids {
            let _ = run(Command::new("runc")
                .arg("--root")
                .arg(&runc_root)
                .args(["delete", "--force", id]));
        }
        // 2. containerd, then its shims (they outlive it by design).
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let sock = self.socket().display().to_string();
        if let Ok(procs) = std::fs::read_dir("/proc") {
            for p in procs.flatten() {
                let cmdline = std::fs::read(p.path().join("cmdline")).unwrap_or_default();
                let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
                if cmdline.contains("containerd-shim") && cmdline.contains(&sock) {
                    let _ = run(Command::new("kill").arg("-9").arg(p.file_name()));
                }
            }
        }
        // 3. Mounts under our directory (rootfs overlays, netns, shm), deepest first.
        let prefix = dir.display().to_string();
        let mut mounts: Vec<String> = std::fs::read_to_string("/proc/self/mountinfo")
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.split(' ').nth(4).map(str::to_string))
            .filter(|m| m.starts_with(&prefix))
            .collect();
        mounts.sort_by_key(|m| std::cmp::Reverse(m.len()));
        for m in mounts {
            let _ = run(Command::new("umount").arg("-l").arg(&m));
        }
        // 4. Anything still alive in our cgroups (containers whose runc
        //    state was lost), then the bridge and the cgroups.
        if let Ok(hierarchies) = std::fs::read_dir("/sys/fs/cgroup") {
            for h in hierarchies.flatten() {
                kill_cgroup_tree(&h.path().join(&self.name));
            }
        }
        std::thread::sleep(Duration::from_millis(100));
        let _ = run(Command::new("ip").args(["link", "del", &self.bridge()]));
        // 5. The iptables rules CNI added for sandboxes that were never torn
        //    down through CRI (pods still running when the test ended): the
        //    plugins remove them only on a CNI DEL, which a killed containerd
        //    never sends, and they pile up on the machine run after run.
        remove_cni_rules(&self.pod_cidr(), &ids);
        if let Ok(hierarchies) = std::fs::read_dir("/sys/fs/cgroup") {
            for h in hierarchies.flatten() {
                remove_cgroup_tree(&h.path().join(&self.name));
            }
        }
    }
}

/// Deletes the iptables rules (and per-sandbox chains) the CNI plugins made
/// for addresses in `pod_cidr` or for the sandboxes `ids`. Rule by rule
/// with `iptables-restore --noflush`, so rules of other tests running at the
/// same time stay untouched.
fn remove_cni_rules(pod_cidr: &str, ids: &[String]) {
    for table in ["nat", "filter"] {
        let Ok(saved) = run(Command::new("iptables-save").args(["-t", table])) else {
            continue;
        };
        let Some(script) = cni_cleanup_script(table, &saved, pod_cidr, ids) else {
            continue;
        };
        let restore = Command::new("iptables-restore")
            .args(["-w", "5", "--noflush"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn();
        if let Ok(mut child) = restore {
            if let Some(mut stdin) = child.stdin.take() {
                use std::io::Write;
                let _ = stdin.write_all(script.as_bytes());
            }
            let _ = child.wait();
        }
    }
}

/// The `iptables-restore --noflush` input that removes, from one table's
/// `iptables-save` output, every rule matching an address in `pod_cidr`
/// (a `/24` as [`Containerd::pod_cidr`] makes) or naming one of the
/// sandboxes `ids` in its comment, then the chains only those rules jumped
/// to. `None` when there is nothing to remove.
fn cni_cleanup_script(table: &str, saved: &str, pod_cidr: &str, ids: &[String]) -> Option<String> {
    let net = pod_cidr.strip_suffix("0/24")?;
    let addr_marks = [
        format!(" -s {net}"),
        format!(" -d {net}"),
        format!("--to-destination {net}"),
    ];
    let id_marks: Vec<String> = ids.iter().map(|id| format!("id: \\\"{id}\\\"")).collect();
    let rules: Vec<&str> = saved.lines().filter(|l| l.starts_with("-A ")).collect();
    let ours = |rule: &str| {
        addr_marks.iter().any(|m| rule.contains(m.as_str()))
            || id_marks.iter().any(|m| rule.contains(m.as_str()))
    };
    let target = |rule: &str| {
        let mut words = rule.split_whitespace();
        words.find(|w| *w == "-j")?;
        words.next().map(str::to_string)
    };
    let chain = |rule: &str| rule.split_whitespace().nth(1).map(str::to_string);
    // A chain goes when every rule jumping to it goes.
    let mut doomed: Vec<String> = rules
        .iter()
        .filter(|r| ours(r))
        .filter_map(|r| target(r))
        .filter(|t| t.starts_with("CNI-"))
        .collect();
    doomed.sort();
    doomed.dedup();
    doomed.retain(|c| {
        rules
            .iter()
            .filter(|r| target(r).as_deref() == Some(c.as_str()))
            .all(|r| ours(r))
    });
    let deletes: Vec<String> = rules
        .iter()
        .filter(|r| ours(r))
        .filter(|r| !chain(r).is_some_and(|c| doomed.contains(&c)))
        .map(|r| format!("-D {}", &r[3..]))
        .collect();
    if deletes.is_empty() && doomed.is_empty() {
        return None;
    }
    let mut script = format!("*{table}\n");
    for d in deletes {
        script.push_str(&d);
        script.push('\n');
    }
    for c in &doomed {
        script.push_str(&format!("-F {c}\n-X {c}\n"));
    }
    script.push_str("COMMIT\n");
    Some(script)
}

/// Kills every process in a cgroup directory and its children.
fn kill_cgroup_tree(dir: &Path) {
    if let Ok(procs) = std::fs::read_to_string(dir.join("cgroup.procs")) {
        for pid in procs.lines().filter(|l| !l.is_empty()) {
            let _ = run(Command::new("kill").arg("-9").arg(pid));
        }
    }
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                kill_cgroup_tree(&e.path());
            }
        }
    }
}

/// Removes a cgroup directory and its children (cgroup dirs go with rmdir,
/// innermost first; files inside are virtual).
fn remove_cgroup_tree(dir: &Path) {
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                remove_cgroup_tree(&e.path());
            }
        }
        let _ = std::fs::remove_dir(dir);
    }
}

impl Drop for Containerd {
    fn drop(&mut self) {
        self.teardown();
        self.dir.take();
    }
}

#[cfg(test)]
mod tests {
    use super::cni_cleanup_script;

    // Shapes as `iptables-save` prints what the bridge (ipMasq), portmap
    // and firewall plugins add for a sandbox.
    const NAT: &str = r#"*nat
:POSTROUTING ACCEPT [0:0]
:CNI-3bf33c0079688697f55a2bf5 - [0:0]
:CNI-4a3657e9470540b8f7ded48b - [0:0]
:CNI-HOSTPORT-DNAT - [0:0]
:CNI-DN-aaaaaaaaaaaaaaaaaaaaa - [0:0]
-A POSTROUTING -s 10.250.0.2/32 -m comment --comment "name: \"oxkube\" id: \"9e4f\"" -j CNI-3bf33c0079688697f55a2bf5
-A POSTROUTING -s 10.251.3.5/32 -m comment --comment "name: \"oxkube\" id: \"0aae\"" -j CNI-4a3657e9470540b8f7ded48b
-A CNI-3bf33c0079688697f55a2bf5 -d 10.250.0.0/24 -m comment --comment "name: \"oxkube\" id: \"9e4f\"" -j ACCEPT
-A CNI-3bf33c0079688697f55a2bf5 ! -d 224.0.0.0/4 -m comment --comment "name: \"oxkube\" id: \"9e4f\"" -j MASQUERADE
-A CNI-4a3657e9470540b8f7ded48b -d 10.251.3.0/24 -m comment --comment "name: \"oxkube\" id: \"0aae\"" -j ACCEPT
-A CNI-HOSTPORT-DNAT -p tcp -m comment --comment "dnat name: \"oxkube\" id: \"9e4f\"" -m multiport --dports 8080 -j CNI-DN-aaaaaaaaaaaaaaaaaaaaa
-A CNI-DN-aaaaaaaaaaaaaaaaaaaaa -p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.250.0.2:80
COMMIT
"#;

    const FILTER: &str = r#"*filter
:CNI-FORWARD - [0:0]
-A CNI-FORWARD -m comment --comment "CNI firewall plugin admin overrides" -j CNI-ADMIN
-A CNI-FORWARD -d 10.250.0.2/32 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A CNI-FORWARD -s 10.250.0.2/32 -j ACCEPT
-A CNI-FORWARD -d 10.250.0.21/32 -j ACCEPT
-A CNI-FORWARD -d 10.251.3.5/32 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
COMMIT
"#;

    #[test]
    fn removes_only_this_instances_rules_and_chains() {
        let script = cni_cleanup_script("nat", NAT, "10.250.0.0/24", &["9e4f".into()])
            .expect("rules to remove");
        assert_eq!(
            script,
            "*nat\n\
             -D POSTROUTING -s 10.250.0.2/32 -m comment --comment \"name: \\\"oxkube\\\" id: \\\"9e4f\\\"\" -j CNI-3bf33c0079688697f55a2bf5\n\
             -D CNI-HOSTPORT-DNAT -p tcp -m comment --comment \"dnat name: \\\"oxkube\\\" id: \\\"9e4f\\\"\" -m multiport --dports 8080 -j CNI-DN-aaaaaaaaaaaaaaaaaaaaa\n\
             -F CNI-3bf33c0079688697f55a2bf5\n-X CNI-3bf33c0079688697f55a2bf5\n\
             -F CNI-DN-aaaaaaaaaaaaaaaaaaaaa\n-X CNI-DN-aaaaaaaaaaaaaaaaaaaaa\n\
             COMMIT\n"
        );
        let script = cni_cleanup_script("filter", FILTER, "10.250.0.0/24", &[]).expect("rules");
        assert_eq!(
            script,
            "*filter\n\
             -D CNI-FORWARD -d 10.250.0.2/32 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n\
             -D CNI-FORWARD -s 10.250.0.2/32 -j ACCEPT\n\
             -D CNI-FORWARD -d 10.250.0.21/32 -j ACCEPT\n\
             COMMIT\n"
        );
    }

    #[test]
    fn nothing_to_remove_is_none() {
        assert_eq!(cni_cleanup_script("nat", NAT, "10.252.9.0/24", &[]), None);
        assert_eq!(cni_cleanup_script("nat", NAT, "not-a-cidr", &[]), None);
    }
}

//! What the machine is: CPUs, memory, disk, PIDs, kernel, OS, IDs.
//!
//! Upstream's kubelet asks cAdvisor (`MachineInfo`, `VersionInfo`) and the
//! eviction manager's summary provider for these; here they come straight
//! from the kernel's files, which is where cAdvisor reads them too:
//!
//! | fact                     | source                                          |
//! |--------------------------|-------------------------------------------------|
//! | CPUs                     | `processor` lines of `/proc/cpuinfo`            |
//! | memory total / available | `MemTotal` / `MemAvailable` of `/proc/meminfo`   |
//! | huge pages               | `/sys/kernel/mm/hugepages/hugepages-<N>kB/`     |
//! | disk, inodes             | `statvfs(2)` of the kubelet's root directory    |
//! | PIDs                     | `/proc/sys/kernel/pid_max`, `/proc/loadavg`     |
//! | kernel, hostname         | `uname(2)`                                      |
//! | OS image                 | `PRETTY_NAME` of `/etc/os-release`              |
//! | machine ID, boot ID      | `/etc/machine-id`, `/proc/sys/kernel/random/boot_id` |
//! | system UUID              | `/sys/class/dmi/id/product_uuid` (root only)    |
//! | node IP                  | the source address of the default route         |
//!
//! Reading the host is a side effect, so it sits behind the [`HostInfo`]
//! trait: the pure builder in [`super::status`] takes the resulting
//! [`HostFacts`], and tests pass a [`StaticHost`] with made-up numbers.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use super::error::{Error, Result};

/// A snapshot of the machine, as the node status needs it. Plain data:
/// build one by hand in tests.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HostFacts {
    /// Logical CPUs (hyper-threads count), as `status.capacity.cpu`.
    pub cpus: u32,
    /// `MemTotal`, bytes.
    pub memory_total_bytes: u64,
    /// `MemAvailable`, bytes: the `memory.available` eviction signal.
    /// (Upstream derives it from the root cgroup's working set; the
    /// kernel's own estimate is close and needs no cgroup walk.)
    pub memory_available_bytes: u64,
    /// Huge pages reserved, by page size in bytes: total bytes.
    pub hugepages: BTreeMap<u64, u64>,
    /// Size of the filesystem holding the kubelet's root dir, bytes
    /// (`ephemeral-storage` capacity, the `nodefs` of eviction).
    pub fs_capacity_bytes: u64,
    /// Bytes available to unprivileged users on it (`nodefs.available`).
    pub fs_available_bytes: u64,
    /// Inodes of that filesystem.
    pub fs_inodes: u64,
    /// Free inodes (`nodefs.inodesFree`).
    pub fs_inodes_free: u64,
    /// `/proc/sys/kernel/pid_max`: the most PIDs (and thread IDs) at once.
    pub pid_max: u64,
    /// PIDs in use now (threads included: they take IDs from the same pool).
    pub pids_in_use: u64,
    /// `uname -r`.
    pub kernel_version: String,
    /// `PRETTY_NAME` of os-release, e.g. `Debian GNU/Linux 12 (bookworm)`.
    pub os_image: String,
    /// Go's name of the architecture (`amd64`, `arm64`), as Kubernetes
    /// labels and `nodeInfo` spell it.
    pub architecture: String,
    /// `/etc/machine-id`, empty if absent.
    pub machine_id: String,
    /// The firmware's product UUID, or the machine ID when unreadable.
    pub system_uuid: String,
    /// Changes at every boot: how upstream notices reboots.
    pub boot_id: String,
    /// The kernel's hostname (`uname -n`), lower-cased as upstream does.
    pub hostname: String,
    /// The address of the interface the default route leaves through:
    /// the node IP when `--node-ip` is not given.
    pub default_ip: Option<IpAddr>,
}

/// Reads the host. Called by the status loop every update period, so it
/// must be cheap (a few small file reads) and must not block for long.
pub trait HostInfo: Send + Sync {
    /// The facts as of now.
    ///
    /// # Errors
    /// When an essential source (`/proc/meminfo`, `statvfs`) cannot be read;
    /// missing optional ones (machine ID, os-release) give empty strings.
    fn facts(&self) -> Result<HostFacts>;
}

/// The real host, as seen from a Linux kubelet.
#[derive(Clone, Debug)]
pub struct LinuxHost {
    root_dir: PathBuf,
    host_root: PathBuf,
}

impl LinuxHost {
    /// Reads this machine; disk facts are those of the filesystem holding
    /// `root_dir` (`--root-dir`, `/var/lib/kubelet`), where pods' volumes
    /// and logs go.
    pub fn new(root_dir: impl Into<PathBuf>) -> Self {
        LinuxHost {
            root_dir: root_dir.into(),
            host_root: PathBuf::from("/"),
        }
    }

    /// Reads `/proc`, `/sys` and `/etc` under `host_root` instead of `/`:
    /// for a kubelet in a container with the host mounted at `/host`, and
    /// for tests with a fake tree. `uname` and the default route still
    /// describe the kernel and network namespace the kubelet runs in.
    #[must_use]
    pub fn with_host_root(mut self, host_root: impl Into<PathBuf>) -> Self {
        self.host_root = host_root.into();
        self
    }

    fn path(&self, abs: &str) -> PathBuf {
        self.host_root.join(abs.trim_start_matches('/'))
    }

    fn read(&self, abs: &str) -> Result<String> {
        let path = self.path(abs);
        std::fs::read_to_string(&path).map_err(|source| Error::Read { path, source })
    }

    /// The first of `paths` that reads, trimmed; empty if none does.
    fn read_optional(&self, paths: &[&str]) -> String {
        paths
            .iter()
            .find_map(|p| self.read(p).ok())
            .map(|s| s.trim().to_string())
            .unwrap_or_default()
    }

    fn hugepages(&self) -> BTreeMap<u64, u64> {
        let dir = self.path("/sys/kernel/mm/hugepages");
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return BTreeMap::new();
        };
        entries
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().into_string().ok()?;
                let page_kib: u64 = name
                    .strip_prefix("hugepages-")?
                    .strip_suffix("kB")?
                    .parse()
                    .ok()?;
                let count: u64 = std::fs::read_to_string(e.path().join("nr_hugepages"))
                    .ok()?
                    .trim()
                    .parse()
                    .ok()?;
                Some((page_kib * 1024, count * page_kib * 1024))
            })
            .collect()
    }

    fn pids_in_use(&self) -> u64 {
        // The 4th field of loadavg is "running/total scheduling entities":
        // every thread, which is what exhausts pid_max. Counting /proc's
        // numeric directories (processes only) is the fallback.
        if let Some(n) = self
            .read("/proc/loadavg")
            .ok()
            .and_then(|s| parse_loadavg_tasks(&s))
        {
            return n;
        }
        std::fs::read_dir(self.path("/proc"))
            .map(|d| {
                d.flatten()
                    .filter(|e| {
                        e.file_name()
                            .to_string_lossy()
                            .bytes()
                            .all(|b| b.is_ascii_digit())
                    })
                    .count() as u64
            })
            .unwrap_or(0)
    }

    /// The nearest existing ancestor of the root dir: before the kubelet
    /// creates `/var/lib/kubelet`, its future filesystem is the parent's.
    fn existing_root(&self) -> &Path {
        let mut p = self.root_dir.as_path();
        while !p.exists() {
            match p.parent() {
                Some(parent) => p = parent,
                None => break,
            }
        }
        p
    }
}

impl HostInfo for LinuxHost {
    fn facts(&self) -> Result<HostFacts> {
        let meminfo_path = self.path("/proc/meminfo");
        let meminfo = self.read("/proc/meminfo")?;
        let mem = parse_meminfo(&meminfo).ok_or(Error::Parse {
            path: meminfo_path,
            what: "MemTotal",
        })?;

        let cpus = self
            .read("/proc/cpuinfo")
            .ok()
            .map(|s| count_cpus(&s))
            .filter(|n| *n > 0)
            .or_else(|| {
                std::thread::available_parallelism()
                    .ok()
                    .and_then(|n| u32::try_from(n.get()).ok())
            })
            .unwrap_or(1);

        let root = self.existing_root();
        let fs = nix::sys::statvfs::statvfs(root).map_err(|source| Error::Statvfs {
            path: root.to_path_buf(),
            source,
        })?;
        let frag = widen(fs.fragment_size());

        let uts = nix::sys::utsname::uname().map_err(Error::Uname)?;
        let machine_id = self.read_optional(&["/etc/machine-id", "/var/lib/dbus/machine-id"]);
        let mut system_uuid = self.read_optional(&["/sys/class/dmi/id/product_uuid"]);
        if system_uuid.is_empty() {
            system_uuid.clone_from(&machine_id);
        }
        let os_image = ["/etc/os-release", "/usr/lib/os-release"]
            .iter()
            .find_map(|p| self.read(p).ok().and_then(|s| parse_os_release(&s)))
            .unwrap_or_else(|| "Linux".to_string());

        Ok(HostFacts {
            cpus,
            memory_total_bytes: mem.total,
            memory_available_bytes: mem.available,
            hugepages: self.hugepages(),
            fs_capacity_bytes: widen(fs.blocks()) * frag,
            fs_available_bytes: widen(fs.blocks_available()) * frag,
            fs_inodes: widen(fs.files()),
            fs_inodes_free: widen(fs.files_free()),
            pid_max: self
                .read("/proc/sys/kernel/pid_max")
                .ok()
                .and_then(|s| s.trim().parse().ok())
                .unwrap_or(32_768),
            pids_in_use: self.pids_in_use(),
            kernel_version: uts.release().to_string_lossy().into_owned(),
            os_image,
            architecture: go_arch(std::env::consts::ARCH).to_string(),
            machine_id,
            system_uuid,
            boot_id: self.read_optional(&["/proc/sys/kernel/random/boot_id"]),
            hostname: uts.nodename().to_string_lossy().trim().to_lowercase(),
            default_ip: default_route_ip(),
        })
    }
}

/// `statvfs` counts are `c_ulong`/`fsblkcnt_t`: 64 bits on 64-bit Linux,
/// 32 or 64 elsewhere; this widens without a cast that is useless on one
/// platform and lossy-looking on another.
fn widen<T: Into<u64>>(n: T) -> u64 {
    n.into()
}

/// Fixed facts, changeable at any time: the test double of [`HostInfo`],
/// also usable for a node whose facts come from elsewhere.
#[derive(Debug, Default)]
pub struct StaticHost(Mutex<HostFacts>);

impl StaticHost {
    pub fn new(facts: HostFacts) -> Self {
        StaticHost(Mutex::new(facts))
    }

    /// Changes the facts later reads return (memory runs low, disk fills).
    pub fn update(&self, f: impl FnOnce(&mut HostFacts)) {
        f(&mut self.0.lock().unwrap_or_else(PoisonError::into_inner));
    }
}

impl HostInfo for StaticHost {
    fn facts(&self) -> Result<HostFacts> {
        Ok(self
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone())
    }
}

/// Go's `GOARCH` for a Rust `target_arch`: Kubernetes' labels, image
/// manifests and `nodeInfo.architecture` all use Go's names.
pub fn go_arch(rust_arch: &str) -> &str {
    match rust_arch {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" if cfg!(target_endian = "little") => "ppc64le",
        "powerpc64" => "ppc64",
        "loongarch64" => "loong64",
        "mips64" if cfg!(target_endian = "little") => "mips64le",
        // arm, s390x, riscv64, mips64 are spelled alike
        other => other,
    }
}

/// Memory figures of `/proc/meminfo`, in bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct MemInfo {
    pub(crate) total: u64,
    pub(crate) available: u64,
}

/// `MemTotal` and `MemAvailable` (lines like `MemTotal:  16318156 kB`).
/// Kernels before 3.14 have no `MemAvailable`: `MemFree` stands in.
pub(crate) fn parse_meminfo(text: &str) -> Option<MemInfo> {
    let field = |name: &str| {
        text.lines().find_map(|l| {
            let rest = l.strip_prefix(name)?.strip_prefix(':')?;
            let mut parts = rest.split_whitespace();
            let n: u64 = parts.next()?.parse().ok()?;
            Some(match parts.next() {
                Some("kB") => n * 1024,
                _ => n,
            })
        })
    };
    let total = field("MemTotal")?;
    let available = field("MemAvailable").or_else(|| field("MemFree"))?;
    Some(MemInfo { total, available })
}

/// The number of `processor : N` entries.
pub(crate) fn count_cpus(cpuinfo: &str) -> u32 {
    let n = cpuinfo
        .lines()
        .filter(|l| l.split(':').next().is_some_and(|k| k.trim() == "processor"))
        .count();
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// `PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"` without the quotes.
pub(crate) fn parse_os_release(text: &str) -> Option<String> {
    text.lines().find_map(|l| {
        let v = l.trim().strip_prefix("PRETTY_NAME=")?;
        let v = v.trim_matches(|c| c == '"' || c == '\'');
        (!v.is_empty()).then(|| v.to_string())
    })
}

/// The task total of `/proc/loadavg` (`0.52 0.58 0.59 3/1210 48213`).
pub(crate) fn parse_loadavg_tasks(text: &str) -> Option<u64> {
    text.split_whitespace()
        .nth(3)?
        .split_once('/')?
        .1
        .parse()
        .ok()
}

/// The source address the kernel would pick for a packet to the
/// internet: that of the default route's interface (upstream's
/// `ChooseHostInterface`). Connecting a UDP socket sends nothing; it only
/// runs the route lookup. IPv4 first, as upstream prefers it.
pub(crate) fn default_route_ip() -> Option<IpAddr> {
    let probes: [(IpAddr, IpAddr); 2] = [
        (
            Ipv4Addr::UNSPECIFIED.into(),
            Ipv4Addr::new(192, 0, 2, 1).into(), // TEST-NET-1: never answered
        ),
        (
            Ipv6Addr::UNSPECIFIED.into(),
            Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1).into(), // documentation range
        ),
    ];
    probes.into_iter().find_map(|(local, remote)| {
        let socket = UdpSocket::bind(SocketAddr::new(local, 0)).ok()?;
        socket.connect(SocketAddr::new(remote, 9)).ok()?;
        let ip = socket.local_addr().ok()?.ip();
        (!ip.is_unspecified() && !ip.is_loopback()).then_some(ip)
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn meminfo_is_read_in_bytes() {
        let text = "MemTotal:       16318156 kB\nMemFree:          512000 kB\nMemAvailable:    8000000 kB\n";
        let m = parse_meminfo(text).unwrap();
        assert_eq!(m.total, 16_318_156 * 1024);
        assert_eq!(m.available, 8_000_000 * 1024);
        let old_kernel = "MemTotal: 1000 kB\nMemFree: 10 kB\n";
        assert_eq!(parse_meminfo(old_kernel).unwrap().available, 10 * 1024);
        assert!(parse_meminfo("garbage").is_none());
    }

    #[test]
    fn small_parsers() {
        assert_eq!(
            count_cpus("processor\t: 0\nmodel name\t: x\n\nprocessor\t: 1\n"),
            2
        );
        assert_eq!(
            parse_os_release("NAME=\"Debian\"\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n")
                .unwrap(),
            "Debian GNU/Linux 12 (bookworm)"
        );
        assert_eq!(parse_os_release("NAME=x\n"), None);
        assert_eq!(
            parse_loadavg_tasks("0.52 0.58 0.59 3/1210 48213\n"),
            Some(1210)
        );
        assert_eq!(go_arch("x86_64"), "amd64");
        assert_eq!(go_arch("aarch64"), "arm64");
        assert_eq!(go_arch("s390x"), "s390x");
    }

    #[test]
    fn a_fake_host_tree_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let put = |p: &str, s: &str| {
            let path = dir.path().join(p);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, s).unwrap();
        };
        put("proc/meminfo", "MemTotal: 2048 kB\nMemAvailable: 1024 kB\n");
        put(
            "proc/cpuinfo",
            "processor : 0\nprocessor : 1\nprocessor : 2\n",
        );
        put("proc/sys/kernel/pid_max", "4194304\n");
        put("proc/loadavg", "0.00 0.01 0.05 1/77 4242\n");
        put("proc/sys/kernel/random/boot_id", "b00t\n");
        put("etc/machine-id", "abc123\n");
        put("etc/os-release", "PRETTY_NAME=\"Test OS 1\"\n");
        put(
            "sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages",
            "4\n",
        );
        let host = LinuxHost::new(dir.path().join("var/lib/kubelet")).with_host_root(dir.path());
        let f = host.facts().unwrap();
        assert_eq!(f.cpus, 3);
        assert_eq!(f.memory_total_bytes, 2 * 1024 * 1024);
        assert_eq!(f.memory_available_bytes, 1024 * 1024);
        assert_eq!(f.pid_max, 4_194_304);
        assert_eq!(f.pids_in_use, 77);
        assert_eq!(f.boot_id, "b00t");
        assert_eq!(f.machine_id, "abc123");
        assert_eq!(f.system_uuid, "abc123"); // no product_uuid in the fake tree
        assert_eq!(f.os_image, "Test OS 1");
        assert_eq!(f.hugepages, BTreeMap::from([(2 << 20, 8 << 20)]));
        // the root dir does not exist yet: its parent's filesystem counts
        assert!(f.fs_capacity_bytes > 0);
    }

    #[test]
    fn this_machine_is_read() {
        let f = LinuxHost::new("/var/lib/kubelet").facts().unwrap();
        assert!(f.cpus > 0);
        assert!(f.memory_total_bytes > 0);
        assert!(f.memory_available_bytes > 0);
        assert!(f.memory_available_bytes <= f.memory_total_bytes);
        assert!(f.fs_capacity_bytes > 0);
        assert!(f.fs_available_bytes <= f.fs_capacity_bytes);
        assert!(f.pid_max > 0);
        assert!(f.pids_in_use > 0);
        assert!(!f.kernel_version.is_empty());
        assert!(!f.os_image.is_empty());
        assert!(!f.hostname.is_empty());
        assert!(!f.boot_id.is_empty());
        assert_eq!(f.architecture, go_arch(std::env::consts::ARCH));
    }
}

//! Addresses: IPv4 CIDRs, carving per-node pod ranges out of a cluster
//! range, and handing out pod IPs inside one node's range.
//!
//! In a real cluster two parts play these roles: the node IPAM controller
//! of kube-controller-manager gives each Node a `spec.podCIDR` slice of
//! `--cluster-cidr`, and the CNI plugin's IPAM (`host-local`) gives each
//! pod on the node an address from that slice. The simulator does both for
//! its own nodes, with the same rules: per-node ranges never overlap, an
//! address is used by one pod at a time, and freed addresses are not
//! handed out again at once (`host-local` rotates through the range too,
//! so a stale endpoint does not point at a new pod).
//!
//! Everything here is pure and synchronous.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

/// An IPv4 network: address and prefix length (`10.128.0.0/9`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Ipv4Cidr {
    network: u32,
    prefix: u8,
}

impl Ipv4Cidr {
    /// The network of `addr/prefix` (host bits cleared).
    ///
    /// # Errors
    /// When `prefix > 32`.
    pub fn new(addr: Ipv4Addr, prefix: u8) -> Result<Ipv4Cidr, String> {
        if prefix > 32 {
            return Err(format!("prefix length {prefix} is more than 32"));
        }
        Ok(Ipv4Cidr {
            network: u32::from(addr) & mask(prefix),
            prefix,
        })
    }

    pub fn network(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.network)
    }

    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    /// How many addresses the network spans.
    pub fn size(&self) -> u64 {
        1u64 << (32 - u32::from(self.prefix))
    }

    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        u32::from(ip) & mask(self.prefix) == self.network
    }

    /// The `index`-th address of the network (0 is the network address).
    pub fn nth(&self, index: u64) -> Option<Ipv4Addr> {
        if index >= self.size() {
            return None;
        }
        let offset = u32::try_from(index).ok()?;
        Some(Ipv4Addr::from(self.network + offset))
    }

    /// How many `/prefix` subnets fit in this network.
    pub fn subnet_count(&self, prefix: u8) -> u64 {
        if prefix < self.prefix || prefix > 32 {
            return 0;
        }
        1u64 << (prefix - self.prefix)
    }

    /// The `index`-th `/prefix` subnet of this network.
    pub fn subnet(&self, prefix: u8, index: u64) -> Option<Ipv4Cidr> {
        if index >= self.subnet_count(prefix) {
            return None;
        }
        let step = 1u64 << (32 - u32::from(prefix));
        let offset = u32::try_from(index * step).ok()?;
        Some(Ipv4Cidr {
            network: self.network + offset,
            prefix,
        })
    }
}

fn mask(prefix: u8) -> u32 {
    if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(prefix))
    }
}

impl FromStr for Ipv4Cidr {
    type Err = String;

    /// Parses `a.b.c.d/n`; host bits must be zero, as upstream's flags
    /// insist (`10.0.0.1/8` is almost always a typo).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (ip, bits) = s
            .split_once('/')
            .ok_or_else(|| format!("{s:?} is not a CIDR like 10.128.0.0/9"))?;
        let ip: Ipv4Addr = ip
            .parse()
            .map_err(|_| format!("{ip:?} in {s:?} is not an IPv4 address"))?;
        let prefix: u8 = bits
            .parse()
            .map_err(|_| format!("{bits:?} in {s:?} is not a prefix length"))?;
        let cidr = Ipv4Cidr::new(ip, prefix)?;
        if cidr.network() != ip {
            return Err(format!("{s:?} has host bits set; did you mean {}?", cidr));
        }
        Ok(cidr)
    }
}

impl fmt::Display for Ipv4Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network(), self.prefix)
    }
}

/// The longest prefix (smallest range, but never smaller than a /24, the
/// usual per-node size) whose usable addresses hold `pods` pods. Returns
/// `None` when even a /1 would not.
pub fn node_prefix_for(pods: u64) -> Option<u8> {
    (1..=24u8).rev().find(|&p| usable_addresses(p) >= pods)
}

/// Addresses of a per-node range that pods can get: not the network
/// address, not the gateway (`.1`, the bridge's), not the broadcast.
fn usable_addresses(prefix: u8) -> u64 {
    (1u64 << (32 - u32::from(prefix))).saturating_sub(3)
}

/// One node's pod addresses: which are taken, by which pod (uid).
#[derive(Clone, Debug)]
pub struct PodIpam {
    cidr: Ipv4Cidr,
    by_uid: HashMap<String, Ipv4Addr>,
    used: BTreeSet<Ipv4Addr>,
    /// Offset of the address tried next: allocation rotates through the
    /// range instead of reusing the lowest free address.
    cursor: u64,
}

impl PodIpam {
    pub fn new(cidr: Ipv4Cidr) -> Self {
        PodIpam {
            cidr,
            by_uid: HashMap::new(),
            used: BTreeSet::new(),
            cursor: FIRST_POD_OFFSET,
        }
    }

    pub fn cidr(&self) -> Ipv4Cidr {
        self.cidr
    }

    /// Addresses in use.
    pub fn len(&self) -> usize {
        self.used.len()
    }

    pub fn is_empty(&self) -> bool {
        self.used.is_empty()
    }

    /// The address of pod `uid`, if it has one.
    pub fn get(&self, uid: &str) -> Option<Ipv4Addr> {
        self.by_uid.get(uid).copied()
    }

    /// The address of pod `uid`: the one it has, else `wanted` if that is in
    /// range and free (a pod already running when the simulator started),
    /// else the next free one. `None` when the range is full.
    pub fn assign(&mut self, uid: &str, wanted: Option<Ipv4Addr>) -> Option<Ipv4Addr> {
        if let Some(ip) = self.get(uid) {
            return Some(ip);
        }
        if let Some(ip) = wanted.filter(|ip| self.usable(*ip) && !self.used.contains(ip)) {
            self.take(uid, ip);
            return Some(ip);
        }
        let size = self.cidr.size();
        let first = FIRST_POD_OFFSET;
        let last = size.checked_sub(2)?; // before the broadcast address
        if last < first {
            return None;
        }
        let span = last - first + 1;
        for step in 0..span {
            let offset = first + (self.cursor - first + step) % span;
            let ip = self.cidr.nth(offset)?;
            if !self.used.contains(&ip) {
                self.cursor = if offset == last { first } else { offset + 1 };
                self.take(uid, ip);
                return Some(ip);
            }
        }
        None
    }

    /// Frees the address of pod `uid`; returns it.
    pub fn release(&mut self, uid: &str) -> Option<Ipv4Addr> {
        let ip = self.by_uid.remove(uid)?;
        self.used.remove(&ip);
        Some(ip)
    }

    fn take(&mut self, uid: &str, ip: Ipv4Addr) {
        self.used.insert(ip);
        self.by_uid.insert(uid.to_string(), ip);
    }

    /// Whether `ip` may be a pod's: in range, not network/gateway/broadcast.
    fn usable(&self, ip: Ipv4Addr) -> bool {
        if !self.cidr.contains(ip) {
            return false;
        }
        let offset = u64::from(u32::from(ip) - u32::from(self.cidr.network()));
        offset >= FIRST_POD_OFFSET && offset + 1 < self.cidr.size()
    }
}

/// `.0` is the network, `.1` the node's bridge (the gateway of its pods).
const FIRST_POD_OFFSET: u64 = 2;

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn cidr(s: &str) -> Ipv4Cidr {
        s.parse().unwrap()
    }

    #[test]
    fn parses_and_prints_cidrs() {
        assert_eq!(cidr("10.128.0.0/9").to_string(), "10.128.0.0/9");
        assert_eq!(cidr("0.0.0.0/0").size(), 1 << 32);
        let e = "10.0.0.1/8".parse::<Ipv4Cidr>().unwrap_err();
        assert!(e.contains("did you mean 10.0.0.0/8"), "{e}");
        assert!("10.0.0.0".parse::<Ipv4Cidr>().is_err());
        assert!("10.0.0.0/33".parse::<Ipv4Cidr>().is_err());
        assert!("fd00::/8".parse::<Ipv4Cidr>().is_err());
    }

    #[test]
    fn subnets_tile_the_network_without_overlap() {
        let pool = cidr("10.128.0.0/9");
        assert_eq!(pool.subnet_count(24), 32_768);
        assert_eq!(pool.subnet(24, 0).unwrap().to_string(), "10.128.0.0/24");
        assert_eq!(pool.subnet(24, 1).unwrap().to_string(), "10.128.1.0/24");
        // past 255 nodes the third octet carries into the second
        assert_eq!(pool.subnet(24, 256).unwrap().to_string(), "10.129.0.0/24");
        assert_eq!(
            pool.subnet(24, 32_767).unwrap().to_string(),
            "10.255.255.0/24"
        );
        assert!(pool.subnet(24, 32_768).is_none());
        assert!(pool.subnet(8, 0).is_none(), "bigger than the pool");
        let a = pool.subnet(23, 5).unwrap();
        assert!(a.contains("10.128.10.7".parse().unwrap()));
        assert!(a.contains("10.128.11.255".parse().unwrap()));
        assert!(!a.contains("10.128.12.0".parse().unwrap()));
    }

    #[test]
    fn node_ranges_grow_with_max_pods() {
        assert_eq!(node_prefix_for(110), Some(24));
        assert_eq!(node_prefix_for(253), Some(24));
        assert_eq!(node_prefix_for(254), Some(23));
        assert_eq!(node_prefix_for(1000), Some(22));
        assert_eq!(node_prefix_for(u64::MAX), None);
    }

    #[test]
    fn pods_get_distinct_addresses_and_rotation_delays_reuse() {
        let mut ipam = PodIpam::new(cidr("10.128.3.0/24"));
        let a = ipam.assign("a", None).unwrap();
        let b = ipam.assign("b", None).unwrap();
        assert_eq!(a.to_string(), "10.128.3.2");
        assert_eq!(b.to_string(), "10.128.3.3");
        assert_eq!(ipam.assign("a", None), Some(a), "idempotent");
        assert_eq!(ipam.release("a"), Some(a));
        assert_eq!(ipam.release("a"), None);
        let c = ipam.assign("c", None).unwrap();
        assert_eq!(c.to_string(), "10.128.3.4", "not a's old address");
        assert_eq!(ipam.len(), 2);
    }

    #[test]
    fn a_full_range_says_so_and_frees_up() {
        let mut ipam = PodIpam::new(cidr("10.0.0.0/29")); // 8 addresses, 5 usable
        let ips: Vec<_> = (0..5)
            .map(|i| ipam.assign(&i.to_string(), None).unwrap())
            .collect();
        assert_eq!(ips.first().unwrap().to_string(), "10.0.0.2");
        assert_eq!(ips.last().unwrap().to_string(), "10.0.0.6");
        assert_eq!(ipam.assign("x", None), None);
        ipam.release("3");
        assert_eq!(ipam.assign("x", None), Some(ips[3]), "wraps around");
    }

    #[test]
    fn adopts_the_address_a_running_pod_already_has() {
        let mut ipam = PodIpam::new(cidr("10.0.1.0/24"));
        let want: Ipv4Addr = "10.0.1.77".parse().unwrap();
        assert_eq!(ipam.assign("a", Some(want)), Some(want));
        // taken, out of range, or the gateway: a fresh one instead
        assert_ne!(ipam.assign("b", Some(want)), Some(want));
        let out = "10.9.9.9".parse().unwrap();
        assert_ne!(ipam.assign("c", Some(out)), Some(out));
        let gw = "10.0.1.1".parse().unwrap();
        assert_ne!(ipam.assign("d", Some(gw)), Some(gw));
    }
}

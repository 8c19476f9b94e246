//! Node IPAM (upstream: the range allocator in `pkg/controller/nodeipam`):
//! gives each Node a `spec.podCIDR` carved out of `--cluster-cidr`, one
//! `/--node-cidr-mask-size` block per node (default `/24` of
//! `10.244.0.0/16`: 256 nodes of 254 pods). The kubelet writes its CNI
//! config for that block, so every pod IP in the cluster is unique.
//!
//! On start the controller marks the blocks that nodes already have as
//! used; a node without one gets the lowest free block (a `PATCH` of
//! `spec.podCIDR` and `spec.podCIDRs`); a deleted node's block is free
//! again. When the range is full the node gets a `CIDRNotAvailable` event.
//! IPv4 only.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex};

use api_types::core::v1::Node;
use client::{Api, Client, Patch, PatchParams};
use runtime::cache::Store;
use runtime::events::{EventType, Recorder, object_reference};
use runtime::informer::{EventHandler, Synced};
use runtime::workqueue::WorkQueue;
use tracing::{info, warn};

/// An IPv4 CIDR, `a.b.c.d/len`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Cidr {
    pub base: u32,
    pub len: u8,
}

impl std::str::FromStr for Cidr {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (ip, len) = s
            .split_once('/')
            .ok_or_else(|| format!("invalid CIDR address: {s}"))?;
        let ip: Ipv4Addr = ip
            .parse()
            .map_err(|_| format!("invalid CIDR address: {s} (IPv4 only)"))?;
        let len: u8 = len
            .parse()
            .ok()
            .filter(|l| *l <= 32)
            .ok_or_else(|| format!("invalid CIDR address: {s}"))?;
        let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
        Ok(Cidr {
            base: u32::from(ip) & mask,
            len,
        })
    }
}

impl std::fmt::Display for Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", Ipv4Addr::from(self.base), self.len)
    }
}

/// The blocks of one cluster range.
#[derive(Debug)]
pub struct Allocator {
    cluster: Cidr,
    mask: u8,
    used: BTreeSet<u32>,
}

impl Allocator {
    /// Blocks of `/mask` in `cluster`.
    ///
    /// # Errors
    /// A mask shorter than the cluster range, or longer than /30.
    pub fn new(cluster: Cidr, mask: u8) -> Result<Self, String> {
        if mask < cluster.len || mask > 30 {
            return Err(format!(
                "--node-cidr-mask-size={mask} must be between the cluster CIDR's /{} and /30",
                cluster.len
            ));
        }
        Ok(Allocator {
            cluster,
            mask,
            used: BTreeSet::new(),
        })
    }

    fn blocks(&self) -> u64 {
        1u64 << (self.mask - self.cluster.len)
    }

    fn block(&self, i: u64) -> Cidr {
        Cidr {
            base: self.cluster.base + ((i as u32) << (32 - self.mask)),
            len: self.mask,
        }
    }

    fn index(&self, c: &Cidr) -> Option<u64> {
        if c.len != self.mask {
            return None;
        }
        let offset = c.base.checked_sub(self.cluster.base)?;
        let i = u64::from(offset >> (32 - self.mask));
        (i < self.blocks()).then_some(i)
    }

    /// Marks `c` as taken (a node already has it); false if it is not one
    /// of this range's blocks.
    pub fn occupy(&mut self, c: &Cidr) -> bool {
        match self.index(c) {
            Some(i) => {
                self.used.insert(i as u32);
                true
            }
            None => false,
        }
    }

    /// Frees `c`.
    pub fn release(&mut self, c: &Cidr) {
        if let Some(i) = self.index(c) {
            self.used.remove(&(i as u32));
        }
    }

    /// The lowest free block, taken.
    pub fn allocate(&mut self) -> Option<Cidr> {
        let i = (0..self.blocks()).find(|i| !self.used.contains(&(*i as u32)))?;
        self.used.insert(i as u32);
        Some(self.block(i))
    }
}

struct Events {
    queue: WorkQueue<String>,
    allocator: Arc<Mutex<Allocator>>,
}

fn node_cidr(n: &Node) -> Option<Cidr> {
    n.spec.as_ref()?.pod_cidr.as_deref()?.parse().ok()
}

impl EventHandler<Node> for Events {
    fn on_add(&self, n: &Arc<Node>) {
        match node_cidr(n) {
            Some(c) => {
                self.allocator
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .occupy(&c);
            }
            None => self.queue.add(n.metadata.name.clone()),
        }
    }
    fn on_update(&self, _: &Arc<Node>, n: &Arc<Node>) {
        if node_cidr(n).is_none() {
            self.queue.add(n.metadata.name.clone());
        }
    }
    fn on_delete(&self, n: &Arc<Node>) {
        if let Some(c) = node_cidr(n) {
            self.allocator
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .release(&c);
        }
    }
}

/// The allocator's side of the shared Node informer: add
/// [`Ipam::node_handler`] before the informer starts, then [`Ipam::run`].
pub struct Ipam {
    queue: WorkQueue<String>,
    allocator: Arc<Mutex<Allocator>>,
}

impl Ipam {
    pub fn new(allocator: Allocator) -> Self {
        Ipam {
            queue: WorkQueue::new(),
            allocator: Arc::new(Mutex::new(allocator)),
        }
    }

    /// Marks the blocks nodes have, frees those of deleted nodes, and
    /// queues nodes without one.
    pub fn node_handler(&self) -> Arc<dyn EventHandler<Node>> {
        Arc::new(Events {
            queue: self.queue.clone(),
            allocator: self.allocator.clone(),
        })
    }

    /// Gives queued nodes a block until `stop`, once the Node cache
    /// (`store`) is synced.
    pub async fn run(
        self,
        client: Client,
        store: Store<Node>,
        mut synced: Synced,
        recorder: Recorder,
        stop: impl std::future::Future<Output = ()> + Send,
    ) {
        let Ipam { queue, allocator } = self;
        synced.wait().await;
        info!("node IPAM started");
        let api: Api<Node> = Api::all(client);
        let q = queue.clone();
        let worker = tokio::spawn(async move {
            while let Some(name) = q.get().await {
                let node = store.get(&name);
                if let Some(node) = node.filter(|n| node_cidr(n).is_none()) {
                    let taken = allocator
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .allocate();
                    match taken {
                        Some(c) => {
                            let patch = serde_json::json!({"spec": {"podCIDR": c.to_string(), "podCIDRs": [c.to_string()]}});
                            match api
                                .patch(&name, &PatchParams::default(), &Patch::Merge(patch))
                                .await
                            {
                                Ok(_) => {
                                    info!(node = %name, pod_cidr = %c, "allocated the node's pod CIDR")
                                }
                                Err(e) => {
                                    allocator
                                        .lock()
                                        .unwrap_or_else(|e| e.into_inner())
                                        .release(&c);
                                    if !e.is_not_found() {
                                        warn!(node = %name, error = %e, "setting the pod CIDR failed");
                                        q.add_rate_limited(name.clone());
                                    }
                                }
                            }
                        }
                        None => {
                            recorder.event(
                                &object_reference(node.as_ref()),
                                EventType::Normal,
                                "CIDRNotAvailable",
                                &format!("Node {name} status is now: CIDRNotAvailable"),
                            );
                            q.add_rate_limited(name.clone());
                        }
                    }
                }
                q.done(&name);
            }
        });
        stop.await;
        queue.shut_down();
        let _ = worker.await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cidr(s: &str) -> Cidr {
        s.parse().unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn allocates_the_lowest_free_block() {
        let mut a = Allocator::new(cidr("10.244.0.0/16"), 24).unwrap_or_else(|e| panic!("{e}"));
        assert!(a.occupy(&cidr("10.244.0.0/24")));
        assert!(!a.occupy(&cidr("10.99.0.0/24")));
        assert!(!a.occupy(&cidr("10.244.0.0/25")));
        assert_eq!(a.allocate(), Some(cidr("10.244.1.0/24")));
        assert_eq!(a.allocate(), Some(cidr("10.244.2.0/24")));
        a.release(&cidr("10.244.1.0/24"));
        assert_eq!(a.allocate(), Some(cidr("10.244.1.0/24")));
        assert_eq!(
            a.allocate().map(|c| c.to_string()).as_deref(),
            Some("10.244.3.0/24")
        );
    }

    #[test]
    fn a_full_range_allocates_nothing() {
        let mut a = Allocator::new(cidr("10.0.0.0/23"), 24).unwrap_or_else(|e| panic!("{e}"));
        assert!(a.allocate().is_some() && a.allocate().is_some());
        assert_eq!(a.allocate(), None);
    }

    #[test]
    fn bad_ranges_are_refused() {
        assert!("10.0.0.0".parse::<Cidr>().is_err());
        assert!("10.0.0.0/33".parse::<Cidr>().is_err());
        assert!("fd00::/64".parse::<Cidr>().is_err());
        assert!(Allocator::new(cidr("10.244.0.0/16"), 8).is_err());
        assert_eq!(cidr("10.244.7.9/16").to_string(), "10.244.0.0/16");
    }
}

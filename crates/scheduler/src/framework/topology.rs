//! Topology domains as small integers.
//!
//! Spreading and inter-pod affinity count pods per *domain*: per value of a
//! node label such as `topology.kubernetes.io/zone`. Looking that label up
//! in every node's label map, and hashing the value, for every node that
//! hosts a matching pod, is most of the cost of a decision for a pod of a
//! large Deployment. So the cache numbers the values of the well-known
//! topology keys ([`INDEXED_KEYS`]) as nodes come and go, and a decision
//! counts into a `Vec` indexed by that number. Other keys get numbers per
//! decision ([`DomainIds`]), with the same interface.

use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasherDefault, Hasher};

use super::node_info::NodeInfo;

/// The keys the cache numbers: hostname, zone, region.
pub const INDEXED_KEYS: [&str; 3] = [
    "kubernetes.io/hostname",
    "topology.kubernetes.io/zone",
    "topology.kubernetes.io/region",
];

/// A domain number, or [`NO_DOMAIN`] for a node without the key.
pub(crate) type DomainId = u32;
/// The node does not carry the key.
pub(crate) const NO_DOMAIN: DomainId = DomainId::MAX;

/// A fast hasher for small integer keys (slot and domain numbers), which
/// the default SipHash makes needlessly slow on the hot path.
#[derive(Default, Clone, Copy, Debug)]
pub(crate) struct IntHasher(u64);

impl Hasher for IntHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_usize(&mut self, n: usize) {
        self.0 = (n as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
    fn write_u32(&mut self, n: u32) {
        self.write_usize(n as usize);
    }
}

/// A `HashMap` keyed by small integers.
pub(crate) type IntMap<K, V> = HashMap<K, V, BuildHasherDefault<IntHasher>>;

/// The numbering of one key's values, and each slot's number.
#[derive(Clone, Debug, Default)]
pub(crate) struct KeyIndex {
    ids: HashMap<String, DomainId>,
    /// Per id: the value, and how many slots have it (0: the id is free).
    values: Vec<(String, u32)>,
    free: Vec<DomainId>,
    per_slot: Vec<DomainId>,
}

impl KeyIndex {
    fn set(&mut self, slot: usize, value: Option<&str>) {
        if self.per_slot.len() <= slot {
            self.per_slot.resize(slot + 1, NO_DOMAIN);
        }
        let old = self.per_slot[slot];
        let new = match value {
            Some(v) => match self.ids.get(v) {
                Some(&id) => id,
                None => self.intern(v),
            },
            None => NO_DOMAIN,
        };
        if old == new {
            return;
        }
        if let Some((_, refs)) = self.values.get_mut(new as usize) {
            *refs += 1;
        }
        self.per_slot[slot] = new;
        self.release(old);
    }

    fn intern(&mut self, value: &str) -> DomainId {
        let id = match self.free.pop() {
            Some(id) => {
                if let Some(entry) = self.values.get_mut(id as usize) {
                    *entry = (value.to_owned(), 0);
                }
                id
            }
            None => {
                self.values.push((value.to_owned(), 0));
                DomainId::try_from(self.values.len() - 1).unwrap_or(NO_DOMAIN)
            }
        };
        self.ids.insert(value.to_owned(), id);
        id
    }

    fn release(&mut self, id: DomainId) {
        let Some((value, refs)) = self.values.get_mut(id as usize) else {
            return;
        };
        *refs = refs.saturating_sub(1);
        if *refs == 0 {
            self.ids.remove(value.as_str());
            value.clear();
            self.free.push(id);
        }
    }

    /// The slot's domain, [`NO_DOMAIN`] without the label.
    pub fn of(&self, slot: usize) -> DomainId {
        self.per_slot.get(slot).copied().unwrap_or(NO_DOMAIN)
    }

    /// One more than the largest id handed out.
    pub fn id_space(&self) -> usize {
        self.values.len()
    }

    /// The id of an explicit empty value, if some node has one.
    pub fn empty_value(&self) -> Option<DomainId> {
        self.ids.get("").copied()
    }
}

/// The numbering of every indexed key.
#[derive(Clone, Debug, Default)]
pub(crate) struct TopologyIndex {
    keys: [KeyIndex; INDEXED_KEYS.len()],
}

impl TopologyIndex {
    /// Records the labels of the node in `slot` (`None`: no node there).
    pub fn set(&mut self, slot: usize, labels: Option<&BTreeMap<String, String>>) {
        for (key, index) in INDEXED_KEYS.iter().zip(self.keys.iter_mut()) {
            let value = labels.and_then(|l| l.get(*key)).map(String::as_str);
            index.set(slot, value);
        }
    }

    /// The index of `key`, if it is one of [`INDEXED_KEYS`].
    pub fn key(&self, key: &str) -> Option<&KeyIndex> {
        INDEXED_KEYS
            .iter()
            .position(|k| *k == key)
            .and_then(|i| self.keys.get(i))
    }
}

/// Dense domain numbers for one topology key during one decision: from the
/// cache's index for the well-known keys, numbered on the fly otherwise.
#[derive(Debug)]
pub(crate) struct DomainIds<'a> {
    key: &'a str,
    index: Option<&'a KeyIndex>,
    adhoc: HashMap<&'a str, DomainId>,
    /// Per slot for ad-hoc keys: 0 unknown, otherwise the id + 1 (or NO_DOMAIN).
    memo: Vec<DomainId>,
}

impl<'a> DomainIds<'a> {
    pub fn new(index: &'a TopologyIndex, key: &'a str, slots: usize) -> Self {
        let indexed = index.key(key);
        DomainIds {
            key,
            index: indexed,
            adhoc: HashMap::new(),
            memo: if indexed.is_some() {
                Vec::new()
            } else {
                vec![0; slots]
            },
        }
    }

    /// The domain of the node in `slot`, `None` if it lacks the key.
    pub fn of(&mut self, slot: usize, node: &'a NodeInfo) -> Option<DomainId> {
        let id = match self.index {
            Some(index) => index.of(slot),
            None => self.adhoc_of(slot, node),
        };
        (id != NO_DOMAIN).then_some(id)
    }

    /// Like [`DomainIds::of`], but a node without the key is in the domain
    /// of the empty value (upstream reads a missing label as `""`).
    pub fn of_or_empty(&mut self, slot: usize, node: &'a NodeInfo) -> DomainId {
        if let Some(id) = self.of(slot, node) {
            return id;
        }
        match self.index {
            Some(index) => index
                .empty_value()
                .unwrap_or_else(|| DomainId::try_from(index.id_space()).unwrap_or(NO_DOMAIN - 1)),
            None => self.intern(""),
        }
    }

    /// Read-only [`DomainIds::of`]: a value never seen while counting has
    /// no number (and so no count).
    pub fn lookup(&self, slot: usize, node: &NodeInfo) -> Option<DomainId> {
        match self.index {
            Some(index) => Some(index.of(slot)).filter(|&id| id != NO_DOMAIN),
            None => match self.memo.get(slot) {
                Some(&m) if m != 0 => (m != NO_DOMAIN).then(|| m - 1),
                _ => node
                    .labels()
                    .get(self.key)
                    .and_then(|v| self.adhoc.get(v.as_str()).copied()),
            },
        }
    }

    fn adhoc_of(&mut self, slot: usize, node: &'a NodeInfo) -> DomainId {
        if let Some(&m) = self.memo.get(slot) {
            if m != 0 {
                return if m == NO_DOMAIN { NO_DOMAIN } else { m - 1 };
            }
        }
        let id = match node.labels().get(self.key) {
            Some(value) => self.intern(value),
            None => NO_DOMAIN,
        };
        if let Some(m) = self.memo.get_mut(slot) {
            *m = if id == NO_DOMAIN { NO_DOMAIN } else { id + 1 };
        }
        id
    }

    fn intern(&mut self, value: &'a str) -> DomainId {
        let next = DomainId::try_from(self.adhoc.len()).unwrap_or(NO_DOMAIN - 2);
        *self.adhoc.entry(value).or_insert(next)
    }
}

/// Counts per domain number, growing as needed.
#[derive(Clone, Debug, Default)]
pub(crate) struct DomainCounts {
    counts: Vec<i64>,
    present: Vec<bool>,
    domains: usize,
}

impl DomainCounts {
    /// Makes `id` a known domain (count 0 if new).
    pub fn register(&mut self, id: DomainId) {
        let i = id as usize;
        if self.present.len() <= i {
            self.present.resize(i + 1, false);
            self.counts.resize(i + 1, 0);
        }
        if !self.present[i] {
            self.present[i] = true;
            self.domains += 1;
        }
    }

    /// Whether `id` is a known domain.
    pub fn contains(&self, id: DomainId) -> bool {
        self.present.get(id as usize).copied().unwrap_or(false)
    }

    /// Adds to a known domain; unknown domains are ignored.
    pub fn add(&mut self, id: DomainId, n: i64) {
        let i = id as usize;
        if self.contains(id) {
            self.counts[i] += n;
        }
    }

    /// Adds, registering the domain first.
    pub fn add_registering(&mut self, id: DomainId, n: i64) {
        self.register(id);
        self.add(id, n);
    }

    /// The count of `id` (0 if unknown).
    pub fn get(&self, id: DomainId) -> i64 {
        self.counts.get(id as usize).copied().unwrap_or(0)
    }

    /// How many domains are known.
    pub fn len(&self) -> usize {
        self.domains
    }

    /// Whether no domain is known.
    pub fn is_empty(&self) -> bool {
        self.domains == 0
    }

    /// The smallest count among the known domains.
    pub fn min(&self) -> Option<i64> {
        self.counts
            .iter()
            .zip(&self.present)
            .filter(|(_, p)| **p)
            .map(|(c, _)| *c)
            .min()
    }
}

/// Counts per `(topology key, domain)` for a handful of keys: what
/// inter-pod affinity keeps per term key.
#[derive(Debug)]
pub(crate) struct TopologyCounts<'a> {
    index: &'a TopologyIndex,
    slots: usize,
    keys: Vec<(&'a str, DomainIds<'a>, DomainCounts)>,
}

impl<'a> TopologyCounts<'a> {
    pub fn new(index: &'a TopologyIndex, slots: usize) -> Self {
        TopologyCounts {
            index,
            slots,
            keys: Vec::new(),
        }
    }

    /// Adds `n` to the domain of the node in `slot` under `key`; nothing if
    /// the node lacks the key.
    pub fn add(&mut self, key: &'a str, slot: usize, node: &'a NodeInfo, n: i64) {
        let at = match self.keys.iter().position(|(k, _, _)| *k == key) {
            Some(at) => at,
            None => {
                let ids = DomainIds::new(self.index, key, self.slots);
                self.keys.push((key, ids, DomainCounts::default()));
                self.keys.len() - 1
            }
        };
        let (_, ids, counts) = &mut self.keys[at];
        if let Some(id) = ids.of(slot, node) {
            counts.add_registering(id, n);
        }
    }

    /// The count of the node's domain under `key` (0 without the label).
    pub fn get(&self, key: &str, slot: usize, node: &NodeInfo) -> i64 {
        self.keys
            .iter()
            .find(|(k, _, _)| *k == key)
            .and_then(|(_, ids, counts)| Some(counts.get(ids.lookup(slot, node)?)))
            .unwrap_or(0)
    }

    /// Whether nothing was counted.
    pub fn is_empty(&self) -> bool {
        self.keys.iter().all(|(_, _, c)| c.is_empty())
    }

    /// The keys with counts.
    pub fn keys(&self) -> impl Iterator<Item = &'a str> + '_ {
        self.keys.iter().map(|(k, _, _)| *k)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framework::testing::labels;

    #[test]
    fn values_are_numbered_and_reused() {
        let mut index = TopologyIndex::default();
        let zone = |z: &str| labels(&[("topology.kubernetes.io/zone", z)]);
        index.set(0, Some(&zone("a")));
        index.set(1, Some(&zone("b")));
        index.set(2, Some(&zone("a")));
        let k = index
            .key("topology.kubernetes.io/zone")
            .unwrap_or_else(|| unreachable!());
        assert_eq!(k.of(0), k.of(2));
        assert_ne!(k.of(0), k.of(1));
        assert_eq!(k.id_space(), 2);

        // b's last node leaves: its number is reused.
        let b = k.of(1);
        index.set(1, None);
        index.set(3, Some(&zone("c")));
        let k = index
            .key("topology.kubernetes.io/zone")
            .unwrap_or_else(|| unreachable!());
        assert_eq!(k.of(1), NO_DOMAIN);
        assert_eq!(k.of(3), b);
        assert_eq!(k.id_space(), 2);
        assert!(index.key("example.com/rack").is_none());
    }

    #[test]
    fn counts() {
        let mut c = DomainCounts::default();
        c.register(3);
        c.add(3, 2);
        c.add(1, 5); // unknown: ignored
        c.register(1);
        assert_eq!((c.get(3), c.get(1), c.len(), c.min()), (2, 0, 2, Some(0)));
    }
}

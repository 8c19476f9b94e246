//! The watch cache's data: current objects and a window of recent events.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, OnceLock};

use bytes::{BufMut, Bytes, BytesMut};
use storage::Revision;

use crate::registry::codec::with_resource_version;
use crate::registry::strategy::FieldSet;

/// One object as the cache holds it: serialized once, with what selectors
/// need pulled out.
#[derive(Debug)]
pub struct CachedObject {
    pub key: String,
    pub name: String,
    pub namespace: String,
    pub revision: Revision,
    /// The object's JSON, `resourceVersion` included.
    pub json: Bytes,
    pub labels: BTreeMap<String, String>,
    pub fields: FieldSet,
    added_line: OnceLock<Bytes>,
}

impl CachedObject {
    pub fn new(
        key: String,
        name: String,
        namespace: String,
        revision: Revision,
        json: Bytes,
        labels: BTreeMap<String, String>,
        fields: FieldSet,
    ) -> Self {
        CachedObject {
            key,
            name,
            namespace,
            revision,
            json,
            labels,
            fields,
            added_line: OnceLock::new(),
        }
    }

    /// The value of a selectable field (`metadata.name`, `spec.nodeName` ...).
    pub fn field(&self, name: &str) -> Option<&str> {
        match name {
            "metadata.name" => Some(&self.name),
            "metadata.namespace" => Some(&self.namespace),
            _ => self
                .fields
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.as_str()),
        }
    }

    /// `{"type":"ADDED","object":...}\n`, rendered once and shared.
    pub fn added_line(&self) -> Bytes {
        self.added_line
            .get_or_init(|| watch_line("ADDED", &self.json))
            .clone()
    }

    /// A copy carrying another revision (for DELETED events).
    fn at_revision(&self, revision: Revision) -> CachedObject {
        let json =
            with_resource_version(&self.json, revision).unwrap_or_else(|_| self.json.clone());
        CachedObject::new(
            self.key.clone(),
            self.name.clone(),
            self.namespace.clone(),
            revision,
            json,
            self.labels.clone(),
            self.fields.clone(),
        )
    }
}

/// Renders one watch event line.
pub fn watch_line(kind: &str, object: &[u8]) -> Bytes {
    let mut line = BytesMut::with_capacity(object.len() + 32);
    line.put_slice(b"{\"type\":\"");
    line.put_slice(kind.as_bytes());
    line.put_slice(b"\",\"object\":");
    line.put_slice(object);
    line.put_slice(b"}\n");
    line.freeze()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventType {
    Added,
    Modified,
    Deleted,
}

/// One change, as broadcast to client watches.
#[derive(Debug)]
pub struct CacheEvent {
    pub type_: EventType,
    pub revision: Revision,
    /// The new state (for DELETED: the last state, at the deletion's revision).
    pub object: Arc<CachedObject>,
    /// The state before (MODIFIED only).
    pub prev: Option<Arc<CachedObject>>,
    natural: OnceLock<Bytes>,
    /// For a client whose selector the object just left: DELETED with the
    /// previous state at this event's revision.
    left: OnceLock<Bytes>,
}

impl CacheEvent {
    fn new(type_: EventType, object: Arc<CachedObject>, prev: Option<Arc<CachedObject>>) -> Self {
        CacheEvent {
            type_,
            revision: object.revision,
            object,
            prev,
            natural: OnceLock::new(),
            left: OnceLock::new(),
        }
    }

    /// An ADDED event for an object already present (the start of a watch
    /// from "now").
    pub fn synthetic_added(object: Arc<CachedObject>) -> Self {
        Self::new(EventType::Added, object, None)
    }

    /// The line for this event as it happened.
    pub fn line(&self) -> Bytes {
        self.natural
            .get_or_init(|| match self.type_ {
                EventType::Added => self.object.added_line(),
                EventType::Modified => watch_line("MODIFIED", &self.object.json),
                EventType::Deleted => watch_line("DELETED", &self.object.json),
            })
            .clone()
    }

    /// ADDED with the new state (the object entered a client's selection).
    pub fn entered_line(&self) -> Bytes {
        self.object.added_line()
    }

    /// DELETED with the previous state at this revision (the object left a
    /// client's selection).
    pub fn left_line(&self) -> Bytes {
        self.left
            .get_or_init(|| {
                let prev = self.prev.as_ref().unwrap_or(&self.object);
                watch_line("DELETED", &prev.at_revision(self.revision).json)
            })
            .clone()
    }
}

/// Objects and history, guarded by the cacher's lock.
pub struct State {
    objects: BTreeMap<String, Arc<CachedObject>>,
    history: VecDeque<Arc<CacheEvent>>,
    capacity: usize,
    /// Watches may resume from any revision >= this.
    pub history_start: Revision,
    /// Everything up to here is applied.
    pub revision: Revision,
}

impl State {
    pub fn new(capacity: usize) -> Self {
        State {
            objects: BTreeMap::new(),
            history: VecDeque::new(),
            capacity: capacity.max(1),
            history_start: 0,
            revision: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.objects.len()
    }

    /// Replaces everything with a fresh list at `revision`.
    pub fn reset(&mut self, objects: Vec<Arc<CachedObject>>, revision: Revision) {
        self.objects = objects.into_iter().map(|o| (o.key.clone(), o)).collect();
        self.history.clear();
        self.history_start = revision;
        self.revision = revision;
    }

    pub fn get(&self, key: &str) -> Option<Arc<CachedObject>> {
        self.objects.get(key).cloned()
    }

    /// Objects whose key starts with `prefix`, in key order.
    pub fn objects_under<'a>(
        &'a self,
        prefix: &'a str,
    ) -> impl Iterator<Item = &'a Arc<CachedObject>> + 'a {
        self.objects
            .range::<str, _>((
                std::ops::Bound::Included(prefix),
                std::ops::Bound::Unbounded,
            ))
            .take_while(move |(k, _)| k.starts_with(prefix))
            .map(|(_, v)| v)
    }

    /// Recent events after `rev`, oldest first.
    pub fn events_after(&self, rev: Revision) -> Vec<Arc<CacheEvent>> {
        let start = self.history.partition_point(|e| e.revision <= rev);
        self.history.range(start..).cloned().collect()
    }

    pub fn put(&mut self, obj: Arc<CachedObject>) -> Arc<CacheEvent> {
        let prev = self.objects.insert(obj.key.clone(), obj.clone());
        let type_ = if prev.is_some() {
            EventType::Modified
        } else {
            EventType::Added
        };
        self.record(Arc::new(CacheEvent::new(type_, obj, prev)))
    }

    /// Removes `key`; `rendered` is its last state at `rev` if the caller
    /// could build it.
    pub fn delete(
        &mut self,
        key: &str,
        rev: Revision,
        rendered: Option<Arc<CachedObject>>,
    ) -> Option<Arc<CacheEvent>> {
        let prev = self.objects.remove(key)?;
        let object = rendered.unwrap_or_else(|| Arc::new(prev.at_revision(rev)));
        Some(self.record(Arc::new(CacheEvent::new(
            EventType::Deleted,
            object,
            Some(prev),
        ))))
    }

    fn record(&mut self, event: Arc<CacheEvent>) -> Arc<CacheEvent> {
        self.revision = self.revision.max(event.revision);
        self.history.push_back(event.clone());
        while self.history.len() > self.capacity {
            if let Some(old) = self.history.pop_front() {
                self.history_start = old.revision;
            }
        }
        event
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(name: &str, rev: Revision) -> Arc<CachedObject> {
        let json = format!(r#"{{"metadata":{{"name":"{name}","resourceVersion":"{rev}"}}}}"#);
        Arc::new(CachedObject::new(
            format!("/registry/things/ns/{name}"),
            name.into(),
            "ns".into(),
            rev,
            Bytes::from(json),
            BTreeMap::new(),
            Vec::new(),
        ))
    }

    #[test]
    fn history_window_moves_and_resumes() {
        let mut s = State::new(3);
        s.reset(Vec::new(), 10);
        for (i, name) in ["a", "b", "c", "d"].iter().enumerate() {
            s.put(obj(name, 11 + i as Revision));
        }
        // capacity 3: the event at 11 fell out, so resuming needs rev >= 11
        assert_eq!(s.history_start, 11);
        let revs: Vec<Revision> = s.events_after(11).iter().map(|e| e.revision).collect();
        assert_eq!(revs, [12, 13, 14]);
        assert!(s.events_after(14).is_empty());
    }

    #[test]
    fn delete_renders_last_state_at_deletion_revision() {
        let mut s = State::new(10);
        s.put(obj("a", 5));
        let ev = s.delete("/registry/things/ns/a", 9, None).expect("existed");
        assert_eq!(ev.type_, EventType::Deleted);
        let line = String::from_utf8(ev.line().to_vec()).expect("utf8");
        assert!(line.starts_with(r#"{"type":"DELETED","object":"#), "{line}");
        assert!(line.contains(r#""resourceVersion":"9""#), "{line}");
        assert!(line.ends_with("}\n"));
        assert!(s.delete("/registry/things/ns/a", 10, None).is_none());
    }

    #[test]
    fn modify_keeps_prev_for_selector_transitions() {
        let mut s = State::new(10);
        s.put(obj("a", 5));
        let ev = s.put(obj("a", 6));
        assert_eq!(ev.type_, EventType::Modified);
        let left = String::from_utf8(ev.left_line().to_vec()).expect("utf8");
        assert!(
            left.contains(r#""type":"DELETED""#) && left.contains(r#""resourceVersion":"6""#),
            "{left}"
        );
    }
}

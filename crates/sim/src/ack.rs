//! [`Ack<K>`]: the apiserver's answer to a write, left unread.
//!
//! `Api<K>::patch` returns the object as stored, decoded into `K`. A pod
//! as stored carries its `managedFields`, decoded into `serde_json::Value`
//! trees: an allocation per field, thrown away at once by a simulator that
//! only needs to know the write succeeded. At 10,000 pods (and 500 Lease
//! renewals a second with 5,000 nodes) that was a good part of the
//! simulator's CPU, on a machine it shares with the apiserver. `Api<Ack<K>>`
//! talks to the same URLs as `Api<K>` and decodes nothing: serde skips
//! every field without allocating.

use std::marker::PhantomData;

use api_types::Resource;
use api_types::meta::v1::ObjectMeta;
use serde::{Deserialize, Serialize};

/// Stands for a `K` in requests whose answer is not read. Its metadata is
/// always empty; never send one as a body (it serializes to `{}`).
#[derive(Serialize, Deserialize)]
pub struct Ack<K> {
    #[serde(skip)]
    metadata: ObjectMeta,
    #[serde(skip)]
    kind: PhantomData<fn() -> K>,
}

impl<K> Default for Ack<K> {
    fn default() -> Self {
        Ack {
            metadata: ObjectMeta::default(),
            kind: PhantomData,
        }
    }
}

impl<K> Clone for Ack<K> {
    fn clone(&self) -> Self {
        Ack::default()
    }
}

impl<K> PartialEq for Ack<K> {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl<K> std::fmt::Debug for Ack<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Ack<{}>", std::any::type_name::<K>())
    }
}

impl<K: Resource> Resource for Ack<K> {
    const GROUP: &'static str = K::GROUP;
    const VERSION: &'static str = K::VERSION;
    const API_VERSION: &'static str = K::API_VERSION;
    const KIND: &'static str = K::KIND;
    const PLURAL: &'static str = K::PLURAL;
    const SINGULAR: &'static str = K::SINGULAR;
    const NAMESPACED: bool = K::NAMESPACED;
    const SHORT_NAMES: &'static [&'static str] = K::SHORT_NAMES;

    fn metadata(&self) -> &ObjectMeta {
        &self.metadata
    }

    fn metadata_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
    }

    fn type_meta(&self) -> (&str, &str) {
        (K::API_VERSION, K::KIND)
    }

    fn set_type_meta(&mut self) {}
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use api_types::core::v1::Pod;

    use super::*;

    #[test]
    fn reads_nothing_and_addresses_the_same_resource() {
        let body = br#"{"metadata":{"name":"p","managedFields":[{"fieldsV1":{"f:a":{}}}]},"status":{"phase":"Running"}}"#;
        let _: Ack<Pod> = serde_json::from_slice(body).unwrap();
        assert_eq!(<Ack<Pod> as Resource>::PLURAL, "pods");
        const { assert!(<Ack<Pod> as Resource>::NAMESPACED) };
    }
}

//! The REST suite on a real etcd (started per test on free ports).

#![allow(clippy::unwrap_used)]

mod suite;

use suite::harness;

apiserver_suite!(harness::etcd);

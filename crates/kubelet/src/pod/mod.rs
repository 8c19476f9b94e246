//! Pods on this node: where they come from, what the runtime has for them,
//! what to do (decide), doing it (act), and the status reported back.

pub mod backoff;
pub mod decide;
pub mod handlers;
pub mod labels;
pub mod objects;
pub mod pleg;
pub mod probe;
pub mod runtime_state;
pub mod sandbox;
pub mod static_pods;
pub mod status;
pub mod sync;
pub mod worker;

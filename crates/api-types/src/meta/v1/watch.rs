//! `WatchEvent`: one line of a watch stream.

use serde::{Deserialize, Serialize};

/// `{"type":"ADDED","object":{...}}`; `type` is ADDED, MODIFIED, DELETED,
/// BOOKMARK or ERROR (then `object` is a `Status`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WatchEvent<T> {
    #[serde(rename = "type")]
    pub type_: String,
    pub object: T,
}

//! `ServiceAccount`: an identity for processes in pods.

use serde::{Deserialize, Serialize};

use super::{LocalObjectReference, ObjectReference};
use crate::meta::v1::ObjectMeta;

/// An identity pods run as, for talking to the apiserver (via a projected token).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "schema",
    derive(schemars::JsonSchema),
    schemars(rename = "io.k8s.api.core.v1.ServiceAccount")
)]
#[serde(rename_all = "camelCase")]
pub struct ServiceAccount {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub api_version: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub kind: String,
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// Legacy token Secrets; not used for bound (projected) tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secrets: Option<Vec<ObjectReference>>,
    /// Added to the `imagePullSecrets` of pods using this account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_pull_secrets: Option<Vec<LocalObjectReference>>,
    /// Default for pods that do not set it themselves.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub automount_service_account_token: Option<bool>,
}

crate::resource!(
    ServiceAccount,
    group = "",
    version = "v1",
    api_version = "v1",
    kind = "ServiceAccount",
    plural = "serviceaccounts",
    singular = "serviceaccount",
    namespaced = true,
    short = ["sa"]
);

//! The [`Resource`] trait: what the apiserver and clients need to know about a
//! kind without knowing the kind (its group/version, plural, scope, metadata).
//!
//! Implement it with the [`resource!`](crate::resource) macro next to the type.

use std::fmt::Debug;

use serde::{Serialize, de::DeserializeOwned};

use crate::meta::v1::ObjectMeta;

/// A top-level API object kind, like `Pod` or `Deployment`.
pub trait Resource:
    Serialize + DeserializeOwned + Clone + Default + Debug + PartialEq + Send + Sync + 'static
{
    /// API group, `""` for the core group.
    const GROUP: &'static str;
    /// API version within the group, e.g. `v1`.
    const VERSION: &'static str;
    /// `apiVersion` as written in objects: `v1` or `apps/v1`.
    const API_VERSION: &'static str;
    /// `kind`, e.g. `Pod`.
    const KIND: &'static str;
    /// The resource name in URLs, e.g. `pods`.
    const PLURAL: &'static str;
    /// Lower-case singular, e.g. `pod`.
    const SINGULAR: &'static str;
    /// Whether objects live in a namespace.
    const NAMESPACED: bool;
    /// kubectl short names, e.g. `["po"]`.
    const SHORT_NAMES: &'static [&'static str];

    fn metadata(&self) -> &ObjectMeta;
    fn metadata_mut(&mut self) -> &mut ObjectMeta;

    /// `apiVersion` and `kind` as they were read (possibly empty or wrong).
    fn type_meta(&self) -> (&str, &str);

    /// Sets `apiVersion` and `kind` to this type's own.
    fn set_type_meta(&mut self);
}

/// A kind with a `spec` (the desired state).
pub trait HasSpec: Resource {
    type Spec: Clone + Debug + PartialEq + Default;
    fn spec(&self) -> Option<&Self::Spec>;
    fn spec_mut(&mut self) -> &mut Option<Self::Spec>;
}

/// A kind with a `status` (the observed state, written through `/status`).
pub trait HasStatus: Resource {
    type Status: Clone + Debug + PartialEq + Default;
    fn status(&self) -> Option<&Self::Status>;
    fn status_mut(&mut self) -> &mut Option<Self::Status>;
}

/// Implements [`Resource`] (and optionally [`HasSpec`]/[`HasStatus`]) for a
/// struct with `api_version: String`, `kind: String` and `metadata: ObjectMeta`
/// fields.
///
/// ```ignore
/// resource!(Pod, group = "", version = "v1", api_version = "v1", kind = "Pod",
///           plural = "pods", singular = "pod", namespaced = true, short = ["po"],
///           spec = PodSpec, status = PodStatus);
/// ```
#[macro_export]
macro_rules! resource {
    ($ty:ident, group = $g:literal, version = $v:literal, api_version = $av:literal,
     kind = $k:literal, plural = $p:literal, singular = $s:literal, namespaced = $n:literal,
     short = [$($sn:literal),*] $(, spec = $spec:ty)? $(, status = $status:ty)? $(,)?) => {
        impl $crate::Resource for $ty {
            const GROUP: &'static str = $g;
            const VERSION: &'static str = $v;
            const API_VERSION: &'static str = $av;
            const KIND: &'static str = $k;
            const PLURAL: &'static str = $p;
            const SINGULAR: &'static str = $s;
            const NAMESPACED: bool = $n;
            const SHORT_NAMES: &'static [&'static str] = &[$($sn),*];

            fn metadata(&self) -> &$crate::meta::v1::ObjectMeta {
                &self.metadata
            }
            fn metadata_mut(&mut self) -> &mut $crate::meta::v1::ObjectMeta {
                &mut self.metadata
            }
            fn type_meta(&self) -> (&str, &str) {
                (&self.api_version, &self.kind)
            }
            fn set_type_meta(&mut self) {
                if self.api_version != $av {
                    self.api_version = $av.to_string();
                }
                if self.kind != $k {
                    self.kind = $k.to_string();
                }
            }
        }
        $(
            impl $crate::HasSpec for $ty {
                type Spec = $spec;
                fn spec(&self) -> Option<&$spec> {
                    self.spec.as_ref()
                }
                fn spec_mut(&mut self) -> &mut Option<$spec> {
                    &mut self.spec
                }
            }
        )?
        $(
            impl $crate::HasStatus for $ty {
                type Status = $status;
                fn status(&self) -> Option<&$status> {
                    self.status.as_ref()
                }
                fn status_mut(&mut self) -> &mut Option<$status> {
                    &mut self.status
                }
            }
        )?
    };
}

//! Subresources that change the object in a controlled way: `scale`
//! (autoscaling/v1 Scale), `binding` (the scheduler's decision) and
//! `finalize` (namespaces).

use api_types::Resource;
use api_types::autoscaling::v1::{Scale, ScaleSpec, ScaleStatus};
use api_types::core::v1::Binding;
use api_types::meta::v1::{ObjectMeta, Status};
use http::StatusCode;

use super::Store;
use super::write::{Mode, Patch};
use crate::error::{ApiError, Result};
use crate::registry::codec::{decode_body_checked, encode};
use crate::registry::strategy::ScaleAccess;
use crate::registry::{PatchType, Reply, RequestScope};

impl<K: Resource> Store<K> {
    fn scale_access(&self) -> Result<ScaleAccess<K>> {
        self.strategy.scale().ok_or(ApiError::NotFoundPath)
    }

    fn scale_of(&self, obj: &K, access: &ScaleAccess<K>) -> Scale {
        let (spec, status, selector) = (access.get)(obj);
        let meta = obj.metadata();
        Scale {
            api_version: "autoscaling/v1".into(),
            kind: "Scale".into(),
            metadata: ObjectMeta {
                name: meta.name.clone(),
                namespace: meta.namespace.clone(),
                uid: meta.uid.clone(),
                resource_version: meta.resource_version.clone(),
                creation_timestamp: meta.creation_timestamp,
                ..Default::default()
            },
            spec: Some(ScaleSpec {
                replicas: Some(spec),
            }),
            status: Some(ScaleStatus {
                replicas: status,
                selector: (!selector.is_empty()).then_some(selector),
            }),
        }
    }

    pub(super) async fn get_scale(&self, scope: &RequestScope, name: &str) -> Result<Reply> {
        let access = self.scale_access()?;
        let key = self.key(scope.namespace.as_deref(), name)?;
        let (obj, _) = self.load(&key, name).await?;
        Ok(Reply::ok(encode(&self.scale_of(&obj, &access))?))
    }

    /// Writes `spec.replicas` from a Scale object.
    async fn apply_scale(&self, scope: &RequestScope, name: &str, scale: Scale) -> Result<Reply> {
        let access = self.scale_access()?;
        if scale.metadata.name != name {
            return Err(ApiError::BadRequest(format!(
                "the name of the object ({}) does not match the name on the URL ({name})",
                scale.metadata.name
            )));
        }
        let replicas = scale.spec.as_ref().and_then(|s| s.replicas).unwrap_or(0);
        if replicas < 0 {
            return Err(ApiError::Invalid {
                group: "autoscaling".into(),
                kind: "Scale".into(),
                name: name.into(),
                causes: vec![crate::error::FieldError::invalid_raw(
                    "spec.replicas",
                    replicas,
                    "must be greater than or equal to 0",
                )],
            });
        }
        let rv = scale.metadata.resource_version.clone();
        let reply = self
            .write(scope, name, Mode::Internal("scale"), |old| {
                let mut new = old.clone();
                // A Scale's resourceVersion is its parent's: honour it as a precondition.
                new.metadata_mut().resource_version = rv.clone();
                (access.set)(&mut new, replicas);
                Ok(new)
            })
            .await?;
        let obj: K =
            serde_json::from_slice(&reply.body).map_err(|e| ApiError::Internal(e.to_string()))?;
        Ok(Reply::ok(encode(&self.scale_of(&obj, &access))?))
    }

    pub(super) async fn update_scale(
        &self,
        scope: &RequestScope,
        name: &str,
        body: &[u8],
    ) -> Result<Reply> {
        let scale: Scale = decode_body_checked(body, scope)?;
        self.apply_scale(scope, name, scale).await
    }

    pub(super) async fn patch_scale(
        &self,
        scope: &RequestScope,
        name: &str,
        kind: PatchType,
        body: &[u8],
    ) -> Result<Reply> {
        let access = self.scale_access()?;
        let patch = Patch::parse(kind, body)?;
        let scale_schema = crate::patch::schema::Schema::for_kind("autoscaling", "v1", "Scale");
        let key = self.key(scope.namespace.as_deref(), name)?;
        let (obj, _) = self.load(&key, name).await?;
        let mut doc = serde_json::to_value(self.scale_of(&obj, &access))
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        patch.apply(&mut doc, scale_schema)?;
        let mut scale: Scale = serde_json::from_value(doc).map_err(|e| {
            ApiError::BadRequest(format!(
                "Scale in version \"v1\" cannot be handled as a Scale: {e}"
            ))
        })?;
        // The version we filled in is not the client's precondition: the
        // write below re-reads and applies the patch result atomically.
        if scale.metadata.resource_version == obj.metadata().resource_version {
            scale.metadata.resource_version.clear();
        }
        self.apply_scale(scope, name, scale).await
    }

    /// `POST pods/<name>/binding`: the scheduler's way of placing a pod.
    pub(super) async fn bind(
        &self,
        scope: &RequestScope,
        name: &str,
        body: &[u8],
    ) -> Result<Reply> {
        let binding: Binding = decode_body_checked(body, scope)?;
        if !binding.metadata.name.is_empty() && binding.metadata.name != name {
            return Err(ApiError::BadRequest(format!(
                "the name of the object ({}) does not match the name on the URL ({name})",
                binding.metadata.name
            )));
        }
        self.write(scope, name, Mode::Internal("binding"), |old| {
            let mut new = old.clone();
            self.strategy.bind(&mut new, &binding)?;
            Ok(new)
        })
        .await?;
        let mut status = Status::success(None);
        status.code = 201;
        Ok(Reply {
            code: StatusCode::CREATED,
            body: encode(&status)?,
        })
    }

    /// `PUT namespaces/<name>/finalize`.
    pub(super) async fn finalize(
        &self,
        scope: &RequestScope,
        name: &str,
        body: &[u8],
    ) -> Result<Reply> {
        let requested: K = decode_body_checked(body, scope)?;
        self.write(scope, name, Mode::Internal("finalize"), |old| {
            let mut new = old.clone();
            self.strategy.finalize(&requested, &mut new)?;
            Ok(new)
        })
        .await
    }
}

//! Namespaces: created `Active` with the `kubernetes` finalizer; deleting one
//! makes it `Terminating` until the namespace controller has emptied it and
//! removed the finalizer through `/finalize`.

use api_types::core::v1::{Namespace, NamespaceSpec, NamespaceStatus};
use api_types::labels::is_qualified_name;

use crate::error::{ApiError, FieldError};
use crate::registry::strategy::{FieldSet, Strategy, keep_spec, keep_status};
use crate::registry::validation::NameRule;

pub struct NamespaceStrategy;

/// The finalizer the namespace controller removes once the namespace is empty.
pub const FINALIZER_KUBERNETES: &str = "kubernetes";
/// Label every namespace carries with its own name (for selectors).
pub const NAME_LABEL: &str = "kubernetes.io/metadata.name";

impl Strategy<Namespace> for NamespaceStrategy {
    fn name_rule(&self) -> NameRule {
        NameRule::Dns1123Label
    }

    fn returns_deleted_object(&self) -> bool {
        true
    }

    fn default(&self, ns: &mut Namespace) {
        let name = ns.metadata.name.clone();
        if !name.is_empty() {
            ns.metadata.labels.insert(NAME_LABEL.into(), name);
        }
    }

    fn prepare_for_create(&self, ns: &mut Namespace) {
        ns.spec = Some(NamespaceSpec {
            finalizers: Some(vec![FINALIZER_KUBERNETES.into()]),
        });
        ns.status = Some(NamespaceStatus {
            phase: Some("Active".into()),
            conditions: None,
        });
    }

    fn prepare_for_update(&self, new: &mut Namespace, old: &Namespace) {
        // spec.finalizers change only through /finalize.
        keep_spec(new, old);
        keep_status(new, old);
    }

    fn has_status(&self) -> bool {
        true
    }

    fn prepare_for_status_update(&self, new: &mut Namespace, old: &Namespace) {
        keep_spec(new, old);
    }

    fn blocks_deletion(&self, ns: &Namespace) -> bool {
        ns.spec
            .as_ref()
            .and_then(|s| s.finalizers.as_ref())
            .is_some_and(|f| !f.is_empty())
    }

    fn begin_deletion(&self, ns: &mut Namespace) {
        ns.status.get_or_insert_with(Default::default).phase = Some("Terminating".into());
    }

    fn fields(&self, ns: &Namespace) -> FieldSet {
        vec![(
            "status.phase",
            ns.status
                .as_ref()
                .and_then(|s| s.phase.clone())
                .unwrap_or_default(),
        )]
    }

    fn selectable_fields(&self) -> &'static [&'static str] {
        &["status.phase"]
    }

    fn finalize(&self, requested: &Namespace, ns: &mut Namespace) -> Result<(), ApiError> {
        let finalizers = requested
            .spec
            .as_ref()
            .and_then(|s| s.finalizers.clone())
            .unwrap_or_default();
        let mut errs = Vec::new();
        for (i, f) in finalizers.iter().enumerate() {
            for msg in is_qualified_name(f) {
                errs.push(FieldError::invalid(format!("spec.finalizers[{i}]"), f, msg));
            }
        }
        if !errs.is_empty() {
            return Err(ApiError::Invalid {
                group: String::new(),
                kind: "Namespace".into(),
                name: ns.metadata.name.clone(),
                causes: errs,
            });
        }
        ns.spec.get_or_insert_with(Default::default).finalizers = Some(finalizers);
        Ok(())
    }
}

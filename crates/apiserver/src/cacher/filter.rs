//! Which objects a list or watch wants: namespace, label selector, field
//! selector (`SelectionPredicate` upstream).

use api_types::fields::FieldSelector;
use api_types::labels::Selector;

use super::CachedObject;
use crate::error::{ApiError, Result};

/// A parsed namespace + label selector + field selector.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    pub namespace: Option<String>,
    pub labels: Selector,
    pub fields: FieldSelector,
}

impl Filter {
    /// Parses the selectors of a request. `allowed_fields` are the kind's
    /// selectable fields (`metadata.name` and `metadata.namespace` always are).
    ///
    /// # Errors
    /// 400 BadRequest for a malformed selector or an unsupported field.
    pub fn parse(
        namespace: Option<&str>,
        label_selector: Option<&str>,
        field_selector: Option<&str>,
        allowed_fields: &[&str],
    ) -> Result<Self> {
        let labels = match label_selector {
            Some(s) => Selector::parse(s).map_err(|e| ApiError::BadRequest(e.to_string()))?,
            None => Selector::everything(),
        };
        let fields = match field_selector {
            Some(s) => FieldSelector::parse(s).map_err(|e| ApiError::BadRequest(e.to_string()))?,
            None => FieldSelector::everything(),
        };
        let mut allowed = vec!["metadata.name", "metadata.namespace"];
        allowed.extend_from_slice(allowed_fields);
        fields
            .validate(&allowed)
            .map_err(|e| ApiError::BadRequest(e.to_string()))?;
        Ok(Filter {
            namespace: namespace.map(str::to_string),
            labels,
            fields,
        })
    }

    /// Whether selectors are in play (upstream omits `remainingItemCount` then).
    pub fn has_selectors(&self) -> bool {
        !self.labels.is_empty() || !self.fields.is_empty()
    }

    /// The key prefix to scan: the namespace's keys when one is given.
    pub fn key_prefix(&self, resource_prefix: &str) -> String {
        match &self.namespace {
            Some(ns) => format!("{resource_prefix}{ns}/"),
            None => resource_prefix.to_string(),
        }
    }

    pub fn matches(&self, obj: &CachedObject) -> bool {
        if let Some(ns) = &self.namespace
            && &obj.namespace != ns
        {
            return false;
        }
        self.labels.matches(&obj.labels) && self.fields.matches(|f| obj.field(f))
    }
}

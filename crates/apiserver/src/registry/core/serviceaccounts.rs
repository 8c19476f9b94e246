//! ServiceAccounts: identities for the processes in pods
//! (`pkg/registry/core/serviceaccount` upstream).
//!
//! Upstream validates only the metadata; the strategy's one job is to keep
//! `secrets` as bare references by name: whatever else a client puts in an
//! entry (namespace, uid ...) is dropped, because a service account may only
//! refer to secrets in its own namespace.

use api_types::core::v1::{ObjectReference, ServiceAccount};

use crate::registry::strategy::Strategy;

pub struct ServiceAccountStrategy;

/// `cleanSecretReferences`.
fn clean_secret_references(sa: &mut ServiceAccount) {
    for s in sa.secrets.iter_mut().flatten() {
        *s = ObjectReference {
            name: s.name.take(),
            ..Default::default()
        };
    }
}

impl Strategy<ServiceAccount> for ServiceAccountStrategy {
    fn prepare_for_create(&self, sa: &mut ServiceAccount) {
        clean_secret_references(sa);
    }

    fn prepare_for_update(&self, new: &mut ServiceAccount, _old: &ServiceAccount) {
        clean_secret_references(new);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::validation::NameRule;

    #[test]
    fn secret_references_keep_only_the_name() {
        let mut sa = ServiceAccount {
            secrets: Some(vec![ObjectReference {
                name: Some("build-token".into()),
                namespace: Some("elsewhere".into()),
                uid: Some("u1".into()),
                kind: Some("Secret".into()),
                ..Default::default()
            }]),
            ..Default::default()
        };
        ServiceAccountStrategy.prepare_for_create(&mut sa);
        assert_eq!(
            sa.secrets,
            Some(vec![ObjectReference {
                name: Some("build-token".into()),
                ..Default::default()
            }])
        );
        let old = sa.clone();
        if let Some(s) = sa.secrets.as_mut() {
            s[0].namespace = Some("again".into());
        }
        ServiceAccountStrategy.prepare_for_update(&mut sa, &old);
        assert_eq!(sa, old);
        assert!(ServiceAccountStrategy.validate(&sa).is_empty());
        assert_eq!(
            Strategy::<ServiceAccount>::name_rule(&ServiceAccountStrategy),
            NameRule::Dns1123Subdomain
        );
    }
}

//! Parsing API paths (upstream's `RequestInfoFactory`).
//!
//! ```text
//! /api/v1/namespaces/default/pods/web/status
//!  |   |      |          |     |    |   +-- subresource
//!  |   |      |          |     |    +------ name
//!  |   |      |          |     +----------- resource
//!  |   |      |          +----------------- namespace
//!  |   |      +---------------------------- "namespaces" introduces a namespace ...
//!  |   +----------------------------------- version (core group: /api/<version>)
//!  +--------------------------------------- /api or /apis/<group>/<version>
//! ```
//! ... except that `/api/v1/namespaces/<name>/status` and `/finalize` are
//! subresources of the namespace itself.

/// What an API path names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ApiPath {
    /// `/api`
    LegacyVersions,
    /// `/apis`
    Groups,
    /// `/apis/<group>`
    Group(String),
    /// `/api/v1` or `/apis/<group>/<version>`
    GroupVersion { group: String, version: String },
    /// A resource, an object, or a subresource.
    Resource(ResourcePath),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResourcePath {
    pub group: String,
    pub version: String,
    pub namespace: Option<String>,
    pub resource: String,
    pub name: Option<String>,
    pub subresource: Option<String>,
}

/// Subresources of a namespace that look like a resource in its path.
const NAMESPACE_SUBRESOURCES: [&str; 2] = ["status", "finalize"];

fn decode(segment: &str) -> Option<String> {
    // Names cannot contain '/', so a decoded '/' (from %2F) is rejected
    // later by the store; other escapes decode normally.
    let mut out = Vec::with_capacity(segment.len());
    let bytes = segment.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = segment.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Parses a request path; `None` if it is not an API path we understand.
pub fn parse(path: &str) -> Option<ApiPath> {
    let parts: Vec<String> = path
        .trim_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .map(decode)
        .collect::<Option<_>>()?;
    let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
    let (group, version, rest) = match parts.as_slice() {
        ["api"] => return Some(ApiPath::LegacyVersions),
        ["apis"] => return Some(ApiPath::Groups),
        ["apis", group] => return Some(ApiPath::Group((*group).into())),
        ["api", version, rest @ ..] => ("", *version, rest),
        ["apis", group, version, rest @ ..] => (*group, *version, rest),
        _ => return None,
    };
    let resource = |namespace: Option<&str>, rest: &[&str]| -> Option<ApiPath> {
        let (resource, name, subresource) = match rest {
            [r] => (*r, None, None),
            [r, n] => (*r, Some(*n), None),
            [r, n, s] => (*r, Some(*n), Some(*s)),
            _ => return None,
        };
        Some(ApiPath::Resource(ResourcePath {
            group: group.into(),
            version: version.into(),
            namespace: namespace.map(str::to_string),
            resource: resource.into(),
            name: name.map(str::to_string),
            subresource: subresource.map(str::to_string),
        }))
    };
    match rest {
        [] => Some(ApiPath::GroupVersion {
            group: group.into(),
            version: version.into(),
        }),
        ["namespaces", ns, r, tail @ ..] if !NAMESPACE_SUBRESOURCES.contains(r) => {
            let mut inner = vec![*r];
            inner.extend_from_slice(tail);
            resource(Some(ns), &inner)
        }
        _ => resource(None, rest),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn res(path: &str) -> ResourcePath {
        match parse(path) {
            Some(ApiPath::Resource(r)) => r,
            other => panic!("{path}: {other:?}"),
        }
    }

    #[test]
    fn namespaced_paths() {
        let r = res("/api/v1/namespaces/default/pods/web/status");
        assert_eq!(r.group, "");
        assert_eq!(r.version, "v1");
        assert_eq!(r.namespace.as_deref(), Some("default"));
        assert_eq!(r.resource, "pods");
        assert_eq!(r.name.as_deref(), Some("web"));
        assert_eq!(r.subresource.as_deref(), Some("status"));
        let r = res("/apis/apps/v1/namespaces/prod/deployments");
        assert_eq!(
            (r.group.as_str(), r.resource.as_str(), r.name),
            ("apps", "deployments", None)
        );
    }

    #[test]
    fn namespaces_themselves() {
        let r = res("/api/v1/namespaces/prod");
        assert_eq!(
            (r.resource.as_str(), r.name.as_deref(), r.namespace),
            ("namespaces", Some("prod"), None)
        );
        let r = res("/api/v1/namespaces/prod/finalize");
        assert_eq!(r.subresource.as_deref(), Some("finalize"));
        assert_eq!(r.namespace, None);
        let r = res("/api/v1/namespaces");
        assert_eq!(r.name, None);
    }

    #[test]
    fn cluster_and_discovery_paths() {
        assert_eq!(parse("/api"), Some(ApiPath::LegacyVersions));
        assert_eq!(parse("/apis/"), Some(ApiPath::Groups));
        assert_eq!(parse("/apis/apps"), Some(ApiPath::Group("apps".into())));
        assert_eq!(
            parse("/api/v1"),
            Some(ApiPath::GroupVersion {
                group: String::new(),
                version: "v1".into()
            })
        );
        assert_eq!(res("/api/v1/nodes/n1").name.as_deref(), Some("n1"));
        assert_eq!(res("/api/v1/pods").namespace, None);
    }

    #[test]
    fn junk_is_not_an_api_path() {
        assert_eq!(parse("/"), None);
        assert_eq!(parse("/foo"), None);
        assert_eq!(parse("/api/v1/namespaces/a/pods/b/c/d"), None);
        assert_eq!(parse("/api/v1/pods/%zz"), None);
        assert_eq!(
            res("/api/v1/namespaces/a/configmaps/b%2Fc").name.as_deref(),
            Some("b/c")
        );
    }
}

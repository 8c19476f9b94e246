//! Name rules shared by all kinds (`k8s.io/apimachinery/pkg/util/validation`),
//! with upstream's exact messages so kubectl users see familiar errors.

/// How a kind's object names are validated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameRule {
    /// `example.com`: most kinds (pods, configmaps, deployments, nodes ...).
    Dns1123Subdomain,
    /// `my-name`: namespaces.
    Dns1123Label,
    /// `my-name` starting with a letter: services.
    Dns1035Label,
}

const LABEL_MAX: usize = 63;
const SUBDOMAIN_MAX: usize = 253;

fn is_alnum_lower(c: u8) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit()
}

fn is_dns1123_label(s: &str) -> bool {
    let b = s.as_bytes();
    match (b.first(), b.last()) {
        (Some(&f), Some(&l)) => {
            is_alnum_lower(f)
                && is_alnum_lower(l)
                && b.iter().all(|&c| is_alnum_lower(c) || c == b'-')
        }
        _ => false,
    }
}

/// Problems with `value` as an RFC 1123 label (empty = valid).
pub fn dns1123_label(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > LABEL_MAX {
        errs.push(format!("must be no more than {LABEL_MAX} characters"));
    }
    if !is_dns1123_label(value) {
        errs.push(
            "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start \
             and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is \
             '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
                .into(),
        );
    }
    errs
}

/// Problems with `value` as an RFC 1123 subdomain (empty = valid).
pub fn dns1123_subdomain(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > SUBDOMAIN_MAX {
        errs.push(format!("must be no more than {SUBDOMAIN_MAX} characters"));
    }
    if value.is_empty() || !value.split('.').all(is_dns1123_label) {
        errs.push(
            "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and \
             must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is \
             '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
                .into(),
        );
    }
    errs
}

/// Problems with `value` as an RFC 1035 label (empty = valid).
pub fn dns1035_label(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > LABEL_MAX {
        errs.push(format!("must be no more than {LABEL_MAX} characters"));
    }
    let b = value.as_bytes();
    let ok = match (b.first(), b.last()) {
        (Some(&f), Some(&l)) => {
            f.is_ascii_lowercase()
                && is_alnum_lower(l)
                && b.iter().all(|&c| is_alnum_lower(c) || c == b'-')
        }
        _ => false,
    };
    if !ok {
        errs.push(
            "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic \
             character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for \
             validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
                .into(),
        );
    }
    errs
}

impl NameRule {
    /// Problems with `name` under this rule (empty = valid).
    pub fn check(self, name: &str) -> Vec<String> {
        match self {
            NameRule::Dns1123Subdomain => dns1123_subdomain(name),
            NameRule::Dns1123Label => dns1123_label(name),
            NameRule::Dns1035Label => dns1035_label(name),
        }
    }

    /// Checks a `generateName` prefix: a trailing `-` is allowed because
    /// random characters follow it.
    pub fn check_prefix(self, prefix: &str) -> Vec<String> {
        let masked = match prefix.strip_suffix('-') {
            Some(p) => format!("{p}a"),
            None => prefix.to_string(),
        };
        self.check(&masked)
    }
}

/// Path-segment rules every name must also meet (names end up in URLs).
pub fn path_segment(name: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if name == "." || name == ".." {
        errs.push(format!("may not be '{name}'"));
    }
    for bad in ["/", "%"] {
        if name.contains(bad) {
            errs.push(format!("may not contain '{bad}'"));
        }
    }
    errs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subdomains() {
        assert!(dns1123_subdomain("web-0.example").is_empty());
        assert!(dns1123_subdomain("a").is_empty());
        for bad in ["", "Web", "-a", "a-", "a..b", "a_b", ".a", "a."] {
            assert_eq!(dns1123_subdomain(bad).len(), 1, "{bad:?}");
        }
        assert_eq!(dns1123_subdomain(&"a".repeat(254)).len(), 1);
        assert!(dns1123_subdomain(&"a".repeat(253)).is_empty());
    }

    #[test]
    fn labels_and_1035() {
        assert!(dns1123_label("123-abc").is_empty());
        assert_eq!(dns1123_label("a.b").len(), 1);
        assert_eq!(dns1123_label(&"a".repeat(64)).len(), 1);
        assert!(dns1035_label("my-svc").is_empty());
        assert_eq!(dns1035_label("1svc").len(), 1);
    }

    #[test]
    fn generate_name_prefixes() {
        assert!(NameRule::Dns1123Subdomain.check_prefix("web-").is_empty());
        assert!(NameRule::Dns1123Subdomain.check_prefix("web").is_empty());
        assert_eq!(NameRule::Dns1123Subdomain.check_prefix("Web-").len(), 1);
    }
}

//! Field selectors: "the pods scheduled to node-1", by field instead of label.
//!
//! This mirrors apimachinery's `pkg/fields`. Where a label selector queries
//! `metadata.labels`, a field selector queries a few chosen fields of an
//! object: `kubectl get pods --field-selector spec.nodeName=node-1` sends
//! `?fieldSelector=spec.nodeName=node-1`. The kubelet lists exactly its own
//! pods that way, and `kubectl get events` filters on `involvedObject.name`.
//!
//! The syntax is deliberately small: terms `field=value`, `field==value`
//! (the same test) or `field!=value`, joined by `,` meaning AND. A value may
//! contain `,`, `=` or `\` only when escaped with `\` (see [`escape_value`]).
//! A field the object does not have counts as the empty string, so
//! `spec.nodeName=` selects the pods not yet scheduled.
//!
//! # Which fields
//! Parsing accepts any field name; which ones a kind supports is the
//! apiserver's business. Each resource declares its list (pods:
//! `spec.nodeName`, `status.phase`, ...) and calls
//! [`FieldSelector::validate`], which rejects the rest with upstream's
//! `field label not supported: <field>` (a 400 Bad Request). Upstream also
//! supports `metadata.name` and `metadata.namespace` for *every* kind, so
//! callers should always include those two in the allowed list.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

/// Why a field selector is invalid. Messages are upstream's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FieldSelectorError {
    /// A term has no `=`, `==` or `!=`.
    #[error("invalid selector: '{selector}'; can't understand '{term}'")]
    Syntax {
        /// The whole selector string.
        selector: String,
        /// The term that could not be split.
        term: String,
    },
    /// A value has `\` followed by something other than `\`, `,` or `=`, or
    /// ends in a lone `\`.
    #[error("invalid field selector: invalid escape sequence: {0}")]
    InvalidEscape(String),
    /// A value contains an unescaped `,` or `=`. Upstream prints the
    /// character's code point (`61` for `=`), and so does this.
    #[error("invalid field selector: unescaped character in value: {}", u32::from(*.0))]
    UnescapedRune(char),
    /// The field is not one the resource supports (see [`FieldSelector::validate`]).
    #[error("field label not supported: {0}")]
    FieldLabelNotSupported(String),
}

/// How a term compares a field with its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldOp {
    /// `field=value`.
    Equals,
    /// `field==value`: the same test as `=`, and printed as `=` (upstream
    /// does not keep the distinction either).
    DoubleEquals,
    /// `field!=value`.
    NotEquals,
}

/// One term: `field`, an operator, and the unescaped value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FieldRequirement {
    /// The field path, such as `spec.nodeName`; never escaped.
    pub field: String,
    /// The comparison.
    pub op: FieldOp,
    /// The value to compare with, unescaped.
    pub value: String,
}

impl FieldRequirement {
    /// Whether the object's value for the field (missing = `""`) passes.
    fn matches(&self, actual: &str) -> bool {
        match self.op {
            FieldOp::Equals | FieldOp::DoubleEquals => actual == self.value,
            FieldOp::NotEquals => actual != self.value,
        }
    }
}

impl fmt::Display for FieldRequirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let op = if self.op == FieldOp::NotEquals {
            "!="
        } else {
            "="
        };
        write!(f, "{}{op}{}", self.field, escape_value(&self.value))
    }
}

/// A parsed field selector: terms ANDed together.
///
/// # Examples
/// ```
/// use std::collections::BTreeMap;
/// use api_types::fields::FieldSelector;
///
/// let sel = FieldSelector::parse("spec.nodeName=node-1,status.phase!=Failed").unwrap();
/// let pod_fields = BTreeMap::from([
///     ("spec.nodeName".to_owned(), "node-1".to_owned()),
///     ("status.phase".to_owned(), "Running".to_owned()),
/// ]);
/// assert!(sel.matches_set(&pod_fields));
/// assert_eq!(sel.requires_exact_match("spec.nodeName"), Some("node-1"));
///
/// // Only the fields a kind supports are allowed.
/// let err = sel.validate(&["metadata.name", "spec.nodeName"]).unwrap_err();
/// assert_eq!(err.to_string(), "field label not supported: status.phase");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct FieldSelector {
    requirements: Vec<FieldRequirement>,
}

impl FieldSelector {
    /// The selector that matches every object.
    pub fn everything() -> Self {
        FieldSelector::default()
    }

    /// A single `field=value` term (upstream's `OneTermEqualSelector`).
    pub fn one_term_equal(field: impl Into<String>, value: impl Into<String>) -> Self {
        FieldSelector {
            requirements: vec![FieldRequirement {
                field: field.into(),
                op: FieldOp::Equals,
                value: value.into(),
            }],
        }
    }

    /// Equality terms for every entry of `set`, in field order (upstream's
    /// `SelectorFromSet`).
    pub fn from_map(set: &BTreeMap<String, String>) -> Self {
        let requirements = set
            .iter()
            .map(|(f, v)| FieldRequirement {
                field: f.clone(),
                op: FieldOp::Equals,
                value: v.clone(),
            })
            .collect();
        FieldSelector { requirements }
    }

    /// Parses the string form (upstream's `fields.ParseSelector`).
    ///
    /// The input is split on unescaped commas; empty terms are skipped, so
    /// `""` and `","` select everything. Terms are sorted as strings, as
    /// upstream does, which fixes the printed order. Each term is split at
    /// the first `!=`, `==` or `=`; the field part is taken literally and the
    /// value part is unescaped.
    ///
    /// # Errors
    /// - [`FieldSelectorError::Syntax`] for a term without an operator;
    /// - [`FieldSelectorError::InvalidEscape`] or
    ///   [`FieldSelectorError::UnescapedRune`] for a badly escaped value.
    pub fn parse(selector: &str) -> Result<Self, FieldSelectorError> {
        let mut terms = split_terms(selector);
        terms.sort_unstable();
        let mut requirements = Vec::with_capacity(terms.len());
        for term in terms.into_iter().filter(|t| !t.is_empty()) {
            let (field, op, raw) = split_term(term).ok_or_else(|| FieldSelectorError::Syntax {
                selector: selector.to_owned(),
                term: term.to_owned(),
            })?;
            requirements.push(FieldRequirement {
                field: field.to_owned(),
                op,
                value: unescape_value(raw)?,
            });
        }
        // The terms are already in upstream's order unless `==` was used;
        // ordering by printed form makes `Display` canonical in that case too.
        requirements.sort_by_cached_key(ToString::to_string);
        Ok(FieldSelector { requirements })
    }

    /// The terms, in the order they are matched and printed.
    pub fn requirements(&self) -> &[FieldRequirement] {
        &self.requirements
    }

    /// Whether the selector has no terms (matches everything).
    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }

    /// Whether an object matches, given a lookup from field path to the
    /// object's value. A field the lookup does not know counts as `""`,
    /// as with upstream's `fields.Set`.
    pub fn matches<'a, F>(&self, get: F) -> bool
    where
        F: Fn(&str) -> Option<&'a str>,
    {
        self.requirements
            .iter()
            .all(|r| r.matches(get(&r.field).unwrap_or("")))
    }

    /// [`FieldSelector::matches`] over a map of field path to value, the
    /// shape a registry builds for each object (upstream's `fields.Set`).
    pub fn matches_set(&self, fields: &BTreeMap<String, String>) -> bool {
        self.matches(|f| fields.get(f).map(String::as_str))
    }

    /// The value `field` must equal, if some `=`/`==` term pins it (upstream's
    /// `RequiresExactMatch`): the apiserver uses it to list only one
    /// namespace, or the kubelet's node, without a full scan.
    pub fn requires_exact_match(&self, field: &str) -> Option<&str> {
        self.requirements
            .iter()
            .find(|r| r.field == field && r.op != FieldOp::NotEquals)
            .map(|r| r.value.as_str())
    }

    /// Rewrites every term with `f(field, value) -> (field, value)`, for
    /// instance to map a legacy field name to the current one (upstream's
    /// `Transform`). A term rewritten to an empty field *and* empty value is
    /// dropped.
    ///
    /// # Errors
    /// The first error `f` returns.
    pub fn transform<E, F>(&self, mut f: F) -> Result<FieldSelector, E>
    where
        F: FnMut(&str, &str) -> Result<(String, String), E>,
    {
        let mut requirements = Vec::with_capacity(self.requirements.len());
        for r in &self.requirements {
            let (field, value) = f(&r.field, &r.value)?;
            if field.is_empty() && value.is_empty() {
                continue;
            }
            requirements.push(FieldRequirement {
                field,
                op: r.op,
                value,
            });
        }
        Ok(FieldSelector { requirements })
    }

    /// Checks every field against the kind's supported list, as a
    /// resource's field-label conversion does upstream. Remember that
    /// upstream supports `metadata.name` and `metadata.namespace` for every
    /// kind: include them in `allowed`.
    ///
    /// # Errors
    /// [`FieldSelectorError::FieldLabelNotSupported`] naming the first
    /// unsupported field; the apiserver answers 400 Bad Request.
    pub fn validate(&self, allowed: &[&str]) -> Result<(), FieldSelectorError> {
        match self
            .requirements
            .iter()
            .find(|r| !allowed.contains(&r.field.as_str()))
        {
            Some(r) => Err(FieldSelectorError::FieldLabelNotSupported(r.field.clone())),
            None => Ok(()),
        }
    }
}

impl FromStr for FieldSelector {
    type Err = FieldSelectorError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        FieldSelector::parse(s)
    }
}

impl fmt::Display for FieldSelector {
    /// Upstream's `String()`: terms joined by `,`, values escaped, `==`
    /// printed as `=`. Parsing the output gives an equivalent selector.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, r) in self.requirements.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{r}")?;
        }
        Ok(())
    }
}

/// Escapes a literal value for use in a field selector: `\` → `\\`,
/// `,` → `\,`, `=` → `\=` (upstream's `EscapeValue`).
pub fn escape_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if matches!(c, '\\' | ',' | '=') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Reverses [`escape_value`] (upstream's `UnescapeValue`).
///
/// # Errors
/// [`FieldSelectorError::InvalidEscape`] for `\` followed by anything but
/// `\`, `,` or `=`, or a trailing `\`; [`FieldSelectorError::UnescapedRune`]
/// for a bare `,` or `=`.
pub fn unescape_value(raw: &str) -> Result<String, FieldSelectorError> {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(e @ ('\\' | ',' | '=')) => out.push(e),
                Some(other) => return Err(FieldSelectorError::InvalidEscape(format!("\\{other}"))),
                None => return Err(FieldSelectorError::InvalidEscape("\\".to_owned())),
            },
            ',' | '=' => return Err(FieldSelectorError::UnescapedRune(c)),
            _ => out.push(c),
        }
    }
    Ok(out)
}

/// Splits on commas not preceded by an escaping backslash, keeping the
/// escapes in the terms.
fn split_terms(selector: &str) -> Vec<&str> {
    let mut terms = Vec::new();
    let mut start = 0;
    let mut escaped = false;
    for (i, c) in selector.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            ',' => {
                terms.push(selector.get(start..i).unwrap_or_default());
                start = i + 1;
            }
            _ => {}
        }
    }
    terms.push(selector.get(start..).unwrap_or_default());
    terms
}

/// Splits a term at the first operator; `!=` and `==` win over `=` at the
/// same position so that no `=` is left on the value.
fn split_term(term: &str) -> Option<(&str, FieldOp, &str)> {
    term.char_indices().find_map(|(i, _)| {
        let (field, rest) = term.split_at_checked(i)?;
        [
            ("!=", FieldOp::NotEquals),
            ("==", FieldOp::DoubleEquals),
            ("=", FieldOp::Equals),
        ]
        .into_iter()
        .find_map(|(op, kind)| rest.strip_prefix(op).map(|value| (field, kind, value)))
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn fs(s: &str) -> FieldSelector {
        match FieldSelector::parse(s) {
            Ok(v) => v,
            Err(e) => panic!("{s:?} should parse: {e}"),
        }
    }

    fn set(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn req(field: &str, op: FieldOp, value: &str) -> FieldRequirement {
        FieldRequirement {
            field: field.into(),
            op,
            value: value.into(),
        }
    }

    #[test]
    fn parses_every_operator() {
        assert_eq!(fs("a=b").requirements(), &[req("a", FieldOp::Equals, "b")]);
        assert_eq!(
            fs("a==b").requirements(),
            &[req("a", FieldOp::DoubleEquals, "b")]
        );
        assert_eq!(
            fs("a!=b").requirements(),
            &[req("a", FieldOp::NotEquals, "b")]
        );
        assert_eq!(fs("a=").requirements(), &[req("a", FieldOp::Equals, "")]);
        assert_eq!(fs("=b").requirements(), &[req("", FieldOp::Equals, "b")]);
        assert_eq!(
            fs(r"a!=\=b").requirements(),
            &[req("a", FieldOp::NotEquals, "=b")]
        );
        assert_eq!(
            fs("a!b=c").requirements(),
            &[req("a!b", FieldOp::Equals, "c")]
        );
    }

    #[test]
    fn empty_and_sorted() {
        assert!(fs("").is_empty());
        assert!(fs(",").is_empty());
        assert!(fs("").matches_set(&BTreeMap::new()));
        let s = fs("z=1,,a=2");
        assert_eq!(s.to_string(), "a=2,z=1");
        // Sorting is by the term text, as upstream.
        assert_eq!(fs("b!=1,b=2,a.b=3").to_string(), "a.b=3,b!=1,b=2");
        assert_eq!(fs("a==z,a=b").to_string(), "a=b,a=z");
    }

    #[test]
    fn escaping() {
        let s = fs(r"a=x\,y\=z\\w,b=c");
        assert_eq!(s.requirements()[0], req("a", FieldOp::Equals, r"x,y=z\w"));
        assert_eq!(s.to_string(), r"a=x\,y\=z\\w,b=c");
        assert_eq!(escape_value(r"a,b=c\d"), r"a\,b\=c\\d");
        assert_eq!(unescape_value(&escape_value("é,=\\")).unwrap(), "é,=\\");
        assert_eq!(unescape_value("plain").unwrap(), "plain");
        // The field side is never unescaped.
        assert_eq!(fs(r"a\b=c").requirements()[0].field, r"a\b");
    }

    #[test]
    fn errors_match_upstream() {
        assert_eq!(fs_err("x"), "invalid selector: 'x'; can't understand 'x'");
        assert_eq!(
            fs_err("a=b,x"),
            "invalid selector: 'a=b,x'; can't understand 'x'"
        );
        assert_eq!(
            fs_err("a!b"),
            "invalid selector: 'a!b'; can't understand 'a!b'"
        );
        assert_eq!(
            fs_err("a=b=c"),
            "invalid field selector: unescaped character in value: 61"
        );
        assert_eq!(
            fs_err(r"a=b\,c,d=e,f"),
            r"invalid selector: 'a=b\,c,d=e,f'; can't understand 'f'"
        );
        assert_eq!(
            fs_err(r"a=b\x"),
            r"invalid field selector: invalid escape sequence: \x"
        );
        assert_eq!(
            fs_err(r"a=b\"),
            r"invalid field selector: invalid escape sequence: \"
        );
        assert_eq!(
            unescape_value("a,b"),
            Err(FieldSelectorError::UnescapedRune(','))
        );
        assert_eq!(
            FieldSelectorError::UnescapedRune(',').to_string(),
            "invalid field selector: unescaped character in value: 44"
        );
    }

    fn fs_err(s: &str) -> String {
        match FieldSelector::parse(s) {
            Ok(v) => panic!("{s:?} should fail, got {v}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn matching_treats_missing_fields_as_empty() {
        let pod = set(&[("spec.nodeName", "node-1"), ("status.phase", "Running")]);
        assert!(fs("spec.nodeName=node-1").matches_set(&pod));
        assert!(fs("spec.nodeName==node-1").matches_set(&pod));
        assert!(!fs("spec.nodeName=node-2").matches_set(&pod));
        assert!(fs("spec.nodeName!=node-2").matches_set(&pod));
        assert!(!fs("spec.nodeName!=node-1").matches_set(&pod));
        assert!(fs("spec.nodeName=node-1,status.phase=Running").matches_set(&pod));
        assert!(!fs("spec.nodeName=node-1,status.phase=Failed").matches_set(&pod));
        // Missing field = "".
        let unscheduled = set(&[("status.phase", "Pending")]);
        assert!(fs("spec.nodeName=").matches_set(&unscheduled));
        assert!(fs("spec.nodeName!=node-1").matches_set(&unscheduled));
        assert!(!fs("spec.nodeName!=").matches_set(&unscheduled));
        // The closure form.
        assert!(fs("metadata.name=x").matches(|f| (f == "metadata.name").then_some("x")));
    }

    #[test]
    fn round_trip() {
        for input in [
            "a=b",
            "a==b",
            "a!=b",
            r"x=\,\=\\",
            "b=1,a!=2,c=",
            "spec.nodeName=",
            "a!=é",
        ] {
            let first = fs(input);
            let printed = first.to_string();
            let again = fs(&printed);
            assert_eq!(again.to_string(), printed, "{input}");
            for probe in [
                set(&[]),
                set(&[("a", "b")]),
                set(&[("x", r",=\")]),
                set(&[("b", "1"), ("c", "")]),
            ] {
                assert_eq!(
                    again.matches_set(&probe),
                    first.matches_set(&probe),
                    "{input} on {probe:?}"
                );
            }
        }
    }

    #[test]
    fn validate_and_transform() {
        let s = fs("metadata.name=x,spec.nodeName=n");
        assert_eq!(
            s.validate(&["metadata.name", "metadata.namespace", "spec.nodeName"]),
            Ok(())
        );
        assert_eq!(
            s.validate(&["metadata.name"]),
            Err(FieldSelectorError::FieldLabelNotSupported(
                "spec.nodeName".into()
            ))
        );
        assert_eq!(
            FieldSelectorError::FieldLabelNotSupported("spec.host".into()).to_string(),
            "field label not supported: spec.host"
        );
        // Map a legacy name, drop a term rewritten to ("", "").
        let t = fs("spec.host=n,drop=me")
            .transform(|f, v| -> Result<_, FieldSelectorError> {
                Ok(match f {
                    "spec.host" => ("spec.nodeName".to_owned(), v.to_owned()),
                    "drop" => (String::new(), String::new()),
                    _ => (f.to_owned(), v.to_owned()),
                })
            })
            .unwrap();
        assert_eq!(t.to_string(), "spec.nodeName=n");
        let failed = fs("a=b").transform(|f, _| Err::<(String, String), _>(format!("no {f}")));
        assert_eq!(failed, Err("no a".to_owned()));
    }

    #[test]
    fn constructors_and_exact_match() {
        let s = FieldSelector::one_term_equal("metadata.namespace", "default");
        assert_eq!(s.to_string(), "metadata.namespace=default");
        assert_eq!(
            s.requires_exact_match("metadata.namespace"),
            Some("default")
        );
        assert_eq!(s.requires_exact_match("metadata.name"), None);
        assert_eq!(fs("a!=b").requires_exact_match("a"), None);
        assert_eq!(fs("a==b").requires_exact_match("a"), Some("b"));
        let m = FieldSelector::from_map(&set(&[("b", "2"), ("a", "=")]));
        assert_eq!(m.to_string(), r"a=\=,b=2");
        assert_eq!("a=b".parse::<FieldSelector>().unwrap(), fs("a=b"));
        assert!(FieldSelector::everything().is_empty());
    }

    /// Random strings must never panic, and what parses must round-trip.
    #[test]
    fn fuzz_no_panics() {
        const ALPHABET: &[u8] = b"ab=!,\\.x ";
        let mut state: u64 = 0x1234_5678_9abc_def1;
        let mut next = move || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 33) as usize
        };
        for _ in 0..20_000 {
            let len = next() % 12;
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    let r = next();
                    if r % 16 == 0 {
                        (r >> 4) as u8
                    } else {
                        ALPHABET[(r >> 4) % ALPHABET.len()]
                    }
                })
                .collect();
            let input = String::from_utf8_lossy(&bytes);
            let Ok(parsed) = FieldSelector::parse(&input) else {
                continue;
            };
            let printed = parsed.to_string();
            let again = FieldSelector::parse(&printed);
            assert_eq!(
                again.map(|s| s.to_string()),
                Ok(printed.clone()),
                "{input:?} -> {printed:?}"
            );
        }
    }
}

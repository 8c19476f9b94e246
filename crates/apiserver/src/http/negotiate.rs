//! Content negotiation: which representation of a response the client asked
//! for in its `Accept` header (upstream:
//! `k8s.io/apiserver/pkg/endpoints/handlers/negotiation`).
//!
//! Kubernetes clients use media-type *parameters* to ask for a different
//! object than the one the URL names:
//!
//! ```text
//! Accept: application/json;as=Table;v=v1;g=meta.k8s.io, application/json
//!                          |        |    +-- group of the target kind
//!                          |        +------- its version
//!                          +---------------- the kind to convert to
//! ```
//!
//! The clauses are tried in the client's order of preference (`q`, then
//! specificity); the first one we can produce wins. We only write JSON, so a
//! clause asking for protobuf or YAML is skipped, and a header with nothing
//! we can produce is answered `406 NotAcceptable`.
//!
//! Two kinds of endpoints negotiate: resources ([`resource_output`]: the
//! object itself, a `Table`, or `PartialObjectMetadata`) and the discovery
//! roots ([`discovery_output`]: legacy or aggregated discovery).

use http::{HeaderMap, header};

use crate::error::{ApiError, Result};

/// One clause of an `Accept` header: `type/subtype;param=value;q=0.5`.
#[derive(Clone, Debug, PartialEq)]
pub struct MediaRange {
    /// Lowercase, `*` for a wildcard.
    pub type_: String,
    /// Lowercase, `*` for a wildcard.
    pub subtype: String,
    /// Parameters other than `q`, keys lowercased, values unquoted.
    pub params: Vec<(String, String)>,
    /// Quality, 0.0 ..= 1.0 (default 1.0).
    pub q: f32,
}

impl MediaRange {
    /// The value of parameter `key` (keys are case-insensitive).
    pub fn param(&self, key: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    }

    /// Whether this range accepts the concrete media type `type_/subtype`.
    pub fn matches(&self, type_: &str, subtype: &str) -> bool {
        (self.type_ == "*" || self.type_.eq_ignore_ascii_case(type_))
            && (self.subtype == "*" || self.subtype.eq_ignore_ascii_case(subtype))
    }
}

/// Splits `s` on `sep`, ignoring separators inside double quotes.
fn split_unquoted(s: &str, sep: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut quoted = false;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            c if c == sep && !quoted => {
                parts.push(&s[start..i]);
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    parts.push(&s[start..]);
    parts
}

fn unquote(v: &str) -> String {
    let v = v.trim();
    match v.strip_prefix('"').and_then(|r| r.strip_suffix('"')) {
        Some(inner) => {
            let mut out = String::with_capacity(inner.len());
            let mut chars = inner.chars();
            while let Some(c) = chars.next() {
                if c == '\\' {
                    if let Some(next) = chars.next() {
                        out.push(next);
                    }
                } else {
                    out.push(c);
                }
            }
            out
        }
        None => v.to_string(),
    }
}

fn parse_range(clause: &str) -> Option<MediaRange> {
    let mut pieces = split_unquoted(clause, ';').into_iter();
    let full = pieces.next()?.trim();
    let (type_, subtype) = full.split_once('/')?;
    let (type_, subtype) = (type_.trim(), subtype.trim());
    let token_ok = |t: &str| {
        !t.is_empty()
            && t.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+*".contains(&b))
    };
    // `*/json` names nothing (RFC 9110: a wildcard type needs a wildcard subtype).
    if !token_ok(type_) || !token_ok(subtype) || (type_ == "*" && subtype != "*") {
        return None;
    }
    let mut range = MediaRange {
        type_: type_.to_ascii_lowercase(),
        subtype: subtype.to_ascii_lowercase(),
        params: Vec::new(),
        q: 1.0,
    };
    for p in pieces {
        let p = p.trim();
        if p.is_empty() {
            continue;
        }
        let (k, v) = p.split_once('=').unwrap_or((p, ""));
        let k = k.trim().to_ascii_lowercase();
        let v = unquote(v);
        if k == "q" {
            // A malformed quality makes the clause unusable, as in goautoneg.
            range.q = v.parse::<f32>().ok().filter(|q| (0.0..=1.0).contains(q))?;
        } else {
            range.params.push((k, v));
        }
    }
    Some(range)
}

/// Parses an `Accept` header into its clauses, most preferred first: by
/// quality, then concrete types before wildcards (as goautoneg orders them),
/// otherwise in the client's order. Clauses with `q=0` ("not acceptable")
/// and malformed clauses are dropped.
pub fn parse_accept(header: &str) -> Vec<MediaRange> {
    let mut ranges: Vec<MediaRange> = split_unquoted(header, ',')
        .into_iter()
        .filter(|c| !c.trim().is_empty())
        .filter_map(parse_range)
        .filter(|r| r.q > 0.0)
        .collect();
    // Stable: equal clauses keep the client's order.
    ranges.sort_by(|a, b| {
        let wild = |r: &MediaRange| (r.type_ == "*", r.subtype == "*");
        b.q.total_cmp(&a.q).then_with(|| wild(a).cmp(&wild(b)))
    });
    ranges
}

/// Every `Accept` header of a request, as clauses; `None` when the client
/// sent none (or only empty ones), which means "anything".
fn accept(headers: &HeaderMap) -> Option<Vec<MediaRange>> {
    let joined: Vec<&str> = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .collect();
    if joined.is_empty() {
        return None;
    }
    Some(parse_accept(&joined.join(",")))
}

/// The only format we write.
const JSON: (&str, &str) = ("application", "json");

fn not_acceptable() -> ApiError {
    ApiError::NotAcceptable(
        "only the following media types are accepted: application/json".to_string(),
    )
}

/// The `meta.k8s.io` version a transformed response is written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetaVersion {
    V1,
    V1Beta1,
}

impl MetaVersion {
    fn parse(v: &str) -> Option<Self> {
        match v {
            "v1" => Some(MetaVersion::V1),
            "v1beta1" => Some(MetaVersion::V1Beta1),
            _ => None,
        }
    }

    /// `meta.k8s.io/v1` or `meta.k8s.io/v1beta1`.
    pub fn api_version(self) -> &'static str {
        match self {
            MetaVersion::V1 => "meta.k8s.io/v1",
            MetaVersion::V1Beta1 => "meta.k8s.io/v1beta1",
        }
    }
}

/// What a resource request (get, list, watch, or any write) answers with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Representation {
    /// The object (or list) itself, as JSON.
    Object,
    /// Server-side printing: a `Table` of rows (`kubectl get`).
    Table(MetaVersion),
    /// Only metadata: `PartialObjectMetadata` for one object (and each watch
    /// event), `PartialObjectMetadataList` for a list.
    PartialObjectMetadata { version: MetaVersion, list: bool },
}

/// Negotiates a resource response. `transforms` says whether this endpoint
/// may convert its output (gets, lists and watches may; writes may not,
/// as upstream's `DefaultEndpointRestrictions`).
///
/// # Errors
/// `406 NotAcceptable` when no clause of the `Accept` header can be served.
pub fn resource_output(headers: &HeaderMap, transforms: bool) -> Result<Representation> {
    let Some(ranges) = accept(headers) else {
        return Ok(Representation::Object);
    };
    for r in &ranges {
        if !r.matches(JSON.0, JSON.1) {
            continue;
        }
        let Some(kind) = r.param("as") else {
            return Ok(Representation::Object);
        };
        if !transforms || r.param("g") != Some("meta.k8s.io") {
            continue;
        }
        let Some(version) = r.param("v").and_then(MetaVersion::parse) else {
            continue;
        };
        match kind {
            "Table" => return Ok(Representation::Table(version)),
            "PartialObjectMetadata" => {
                return Ok(Representation::PartialObjectMetadata {
                    version,
                    list: false,
                });
            }
            "PartialObjectMetadataList" => {
                return Ok(Representation::PartialObjectMetadata {
                    version,
                    list: true,
                });
            }
            _ => continue,
        }
    }
    Err(not_acceptable())
}

/// The versions of aggregated discovery (`apidiscovery.k8s.io`) we serve.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AggregatedVersion {
    /// kubectl 1.30+ ask for it first.
    V2,
    /// The only version kubectl 1.27-1.29 understand.
    V2Beta1,
}

impl AggregatedVersion {
    pub fn as_str(self) -> &'static str {
        match self {
            AggregatedVersion::V2 => "v2",
            AggregatedVersion::V2Beta1 => "v2beta1",
        }
    }

    /// The `Content-Type` that tells the client which document it got.
    pub fn content_type(self) -> &'static str {
        match self {
            AggregatedVersion::V2 => {
                "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
            }
            AggregatedVersion::V2Beta1 => {
                "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList"
            }
        }
    }
}

/// What a discovery request answers with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DiscoveryFormat {
    /// `APIVersions`, `APIGroupList`, `APIGroup`, `APIResourceList`.
    Legacy,
    /// `APIGroupDiscoveryList`: every group, version and resource at once.
    Aggregated(AggregatedVersion),
}

/// Negotiates a discovery response. Only `/api` and `/apis` serve the
/// aggregated document (`aggregated`).
///
/// # Errors
/// `406 NotAcceptable` when no clause of the `Accept` header can be served.
pub fn discovery_output(headers: &HeaderMap, aggregated: bool) -> Result<DiscoveryFormat> {
    let Some(ranges) = accept(headers) else {
        return Ok(DiscoveryFormat::Legacy);
    };
    for r in &ranges {
        if !r.matches(JSON.0, JSON.1) {
            continue;
        }
        let Some(kind) = r.param("as") else {
            return Ok(DiscoveryFormat::Legacy);
        };
        if !aggregated
            || kind != "APIGroupDiscoveryList"
            || r.param("g") != Some("apidiscovery.k8s.io")
        {
            continue;
        }
        match r.param("v") {
            Some("v2") => return Ok(DiscoveryFormat::Aggregated(AggregatedVersion::V2)),
            Some("v2beta1") => {
                return Ok(DiscoveryFormat::Aggregated(AggregatedVersion::V2Beta1));
            }
            _ => continue,
        }
    }
    Err(not_acceptable())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use http::HeaderValue;

    use super::*;

    fn headers(accept: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT, HeaderValue::from_str(accept).unwrap());
        h
    }

    const KUBECTL_GET: &str = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";
    const KUBECTL_DISCOVERY_NEW: &str = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json";
    const KUBECTL_DISCOVERY_OLD: &str = "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json";

    #[test]
    fn parses_types_params_and_quality() {
        let r = parse_accept(
            r#"text/html;level=1;q=0.5, application/json ;as=Table; g="meta.k8s.io", */*;q=0.1"#,
        );
        assert_eq!(r.len(), 3);
        assert_eq!(
            (r[0].type_.as_str(), r[0].subtype.as_str()),
            ("application", "json")
        );
        assert_eq!(r[0].param("as"), Some("Table"));
        assert_eq!(r[0].param("G"), Some("meta.k8s.io"));
        assert_eq!(r[1].param("level"), Some("1"));
        assert_eq!(r[1].q, 0.5);
        assert_eq!(r[2].subtype, "*");
    }

    #[test]
    fn orders_by_quality_then_specificity_keeping_client_order() {
        let r = parse_accept("*/*, application/yaml, application/json;q=0.9, text/*");
        let names: Vec<String> = r
            .iter()
            .map(|m| format!("{}/{}", m.type_, m.subtype))
            .collect();
        assert_eq!(
            names,
            ["application/yaml", "text/*", "*/*", "application/json"]
        );
    }

    #[test]
    fn drops_refused_and_malformed_clauses() {
        let r =
            parse_accept("application/json;q=0, garbage, */json, a/b;q=2, a/b;q=x, ,text/plain");
        let names: Vec<String> = r
            .iter()
            .map(|m| format!("{}/{}", m.type_, m.subtype))
            .collect();
        assert_eq!(names, ["text/plain"]);
        // quoted commas and semicolons do not split
        let r = parse_accept(r#"application/json;x="a,b;c";y=1"#);
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].param("x"), Some("a,b;c"));
        assert_eq!(r[0].param("y"), Some("1"));
    }

    #[test]
    fn wildcards_match() {
        let any = &parse_accept("*/*")[0];
        assert!(any.matches("application", "json"));
        let app = &parse_accept("application/*")[0];
        assert!(app.matches("application", "json") && !app.matches("text", "plain"));
        assert!(parse_accept("Application/JSON")[0].matches("application", "json"));
    }

    #[test]
    fn resources_pick_table_metadata_or_json() {
        let out = |a: &str, t: bool| resource_output(&headers(a), t);
        assert_eq!(
            out(KUBECTL_GET, true).unwrap(),
            Representation::Table(MetaVersion::V1)
        );
        // writes never transform: kubectl's fallback clause wins
        assert_eq!(out(KUBECTL_GET, false).unwrap(), Representation::Object);
        assert_eq!(
            out("application/json;as=Table;v=v1beta1;g=meta.k8s.io", true).unwrap(),
            Representation::Table(MetaVersion::V1Beta1)
        );
        assert_eq!(
            out(
                "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1",
                true
            )
            .unwrap(),
            Representation::PartialObjectMetadata {
                version: MetaVersion::V1,
                list: true
            }
        );
        assert_eq!(
            out("application/vnd.kubernetes.protobuf,application/json", true).unwrap(),
            Representation::Object
        );
        assert_eq!(out("*/*", false).unwrap(), Representation::Object);
        assert_eq!(
            resource_output(&HeaderMap::new(), true).unwrap(),
            Representation::Object
        );
        assert_eq!(out("  ", true).unwrap(), Representation::Object);
    }

    #[test]
    fn resources_refuse_what_we_cannot_write() {
        for a in [
            "application/vnd.kubernetes.protobuf",
            "application/yaml",
            "text/html",
            "application/json;q=0",
            "application/json;as=Table;v=v1;g=meta.k8s.io",
            "application/json;as=Table;v=v2;g=meta.k8s.io",
            "application/json;as=Deployment;v=v1;g=apps",
        ] {
            let transforms = !a.contains("v=v1;g=meta");
            let err = resource_output(&headers(a), transforms).unwrap_err();
            assert!(matches!(err, ApiError::NotAcceptable(_)), "{a}: {err:?}");
        }
    }

    #[test]
    fn discovery_answers_in_a_listed_version() {
        let out = |a: &str| discovery_output(&headers(a), true).unwrap();
        assert_eq!(
            out(KUBECTL_DISCOVERY_NEW),
            DiscoveryFormat::Aggregated(AggregatedVersion::V2)
        );
        // kubectl 1.27-1.29 list only v2beta1: a v2 answer would break them
        assert_eq!(
            out(KUBECTL_DISCOVERY_OLD),
            DiscoveryFormat::Aggregated(AggregatedVersion::V2Beta1)
        );
        assert_eq!(out("application/json, */*"), DiscoveryFormat::Legacy);
        assert_eq!(
            out(
                "application/json;g=apidiscovery.k8s.io;v=v3;as=APIGroupDiscoveryList,application/json"
            ),
            DiscoveryFormat::Legacy
        );
        // per group-version paths only serve the legacy document
        assert_eq!(
            discovery_output(&headers(KUBECTL_DISCOVERY_NEW), false).unwrap(),
            DiscoveryFormat::Legacy
        );
        assert!(
            discovery_output(
                &headers("application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"),
                false
            )
            .is_err()
        );
        assert_eq!(
            AggregatedVersion::V2Beta1.content_type(),
            "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList"
        );
    }
}

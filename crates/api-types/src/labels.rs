//! Label selectors: how Kubernetes picks "the pods with `app=web`".
//!
//! This mirrors apimachinery's `pkg/labels`. Labels are the free-form
//! `key: value` pairs in `metadata.labels`; a *selector* is a query over them.
//! Selectors appear in two shapes, and both end up as a [`Selector`]:
//!
//! - **The string form**, used on the command line and in list/watch URLs.
//!   `kubectl get pods -l 'env in (prod),tier!=cache'` sends
//!   `?labelSelector=env+in+(prod),tier!=cache`; the apiserver runs
//!   [`Selector::parse`] on it and keeps the objects for which
//!   [`Selector::matches`] is true.
//! - **The structured form**, `metav1.LabelSelector` with `matchLabels` and
//!   `matchExpressions`, used inside objects (a Deployment's
//!   `spec.selector`). [`Selector::from_label_selector`] converts it.
//!
//! Older objects (a Service's or ReplicationController's `spec.selector`)
//! use a plain map, converted by [`Selector::from_map`].
//!
//! # Semantics
//! Requirements are ANDed. `!=` and `notin` also match objects that lack the
//! key; `=`, `in`, `>` and `<` need the key to be present. An empty selector
//! matches everything; [`Selector::nothing`] matches nothing, which is what a
//! *missing* (`null`) `LabelSelector` means.
//!
//! The validation helpers at the bottom ([`is_qualified_name`],
//! [`is_valid_label_value`], [`is_dns1123_subdomain`]) return upstream's
//! messages word for word, so the apiserver can reuse them for
//! `metadata.labels`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

use crate::meta::v1::LabelSelector;

/// Why a label selector is invalid. Messages follow upstream's wording.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LabelSelectorError {
    /// The string form is malformed between requirements
    /// (`"a,,b"`: `found ',', expected: identifier after ','`).
    #[error("{message}")]
    Syntax {
        /// Upstream's message, naming the offending token.
        message: String,
        /// Byte offset of the offending token in the input.
        position: usize,
    },
    /// One requirement of the string form is malformed or invalid
    /// (`"a in b"`: `unable to parse requirement: found 'b' expected: '('`).
    #[error("unable to parse requirement: {message}")]
    Requirement {
        /// Upstream's message, naming the offending token or field.
        message: String,
        /// Byte offset of the offending token in the input.
        position: usize,
    },
    /// A requirement built from parts ([`Requirement::new`],
    /// [`Selector::from_label_selector`]) is invalid; field errors are
    /// aggregated like upstream's (`[first, second]` when several).
    #[error("{0}")]
    Invalid(String),
    /// A `matchExpressions` entry has an operator other than `In`, `NotIn`,
    /// `Exists` or `DoesNotExist`.
    #[error("{0:?} is not a valid label selector operator")]
    UnknownOperator(String),
}

/// How a requirement relates a label key to its values (`selection.Operator`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Operator {
    /// `key=value`.
    Equals,
    /// `key==value`, the same test as `=`.
    DoubleEquals,
    /// `key!=value`; true when the key is absent.
    NotEquals,
    /// `key in (a,b)`; false when the key is absent.
    In,
    /// `key notin (a,b)`; true when the key is absent.
    NotIn,
    /// `key`: the key is present, with any value.
    Exists,
    /// `!key`: the key is absent.
    DoesNotExist,
    /// `key>5`: the value is an integer greater than 5 (node affinity's `Gt`).
    GreaterThan,
    /// `key<5`: the value is an integer less than 5 (node affinity's `Lt`).
    LessThan,
}

impl Operator {
    /// Upstream's `selection.Operator` string (`"in"`, `"!="`, `"gt"`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Operator::Equals => "=",
            Operator::DoubleEquals => "==",
            Operator::NotEquals => "!=",
            Operator::In => "in",
            Operator::NotIn => "notin",
            Operator::Exists => "exists",
            Operator::DoesNotExist => "!",
            Operator::GreaterThan => "gt",
            Operator::LessThan => "lt",
        }
    }
}

/// One condition of a selector: `key`, an [`Operator`], and a set of values.
///
/// # Examples
/// ```
/// use std::collections::BTreeMap;
/// use api_types::labels::{Operator, Requirement};
///
/// let r = Requirement::new("env", Operator::NotIn, ["qa", "dev"]).unwrap();
/// assert_eq!(r.to_string(), "env notin (dev,qa)");
/// let prod = BTreeMap::from([("env".to_owned(), "prod".to_owned())]);
/// assert!(r.matches(&prod));
/// assert!(r.matches(&BTreeMap::new())); // notin matches a missing key
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Requirement {
    key: String,
    operator: Operator,
    values: BTreeSet<String>,
}

impl Requirement {
    /// Builds a requirement with upstream's `NewRequirement` checks: the key
    /// is a qualified name; `in`/`notin` have at least one value; `=`, `==`
    /// and `!=` exactly one; `exists`/`!` none; `gt`/`lt` exactly one
    /// integer; every value is a valid label value (the empty string is).
    ///
    /// # Errors
    /// [`LabelSelectorError::Invalid`] listing every violation.
    pub fn new<I, V>(
        key: impl Into<String>,
        operator: Operator,
        values: I,
    ) -> Result<Self, LabelSelectorError>
    where
        I: IntoIterator<Item = V>,
        V: Into<String>,
    {
        let values: Vec<String> = values.into_iter().map(Into::into).collect();
        build_requirement(key.into(), operator, values).map_err(LabelSelectorError::Invalid)
    }

    /// The label key.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The operator.
    pub fn operator(&self) -> Operator {
        self.operator
    }

    /// The values, sorted (empty for `exists` and `!`).
    pub fn values(&self) -> &BTreeSet<String> {
        &self.values
    }

    /// Whether `labels` satisfy this requirement (upstream's `Requirement.Matches`).
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        let value = labels.get(&self.key);
        match self.operator {
            Operator::In | Operator::Equals | Operator::DoubleEquals => {
                value.is_some_and(|v| self.values.contains(v))
            }
            Operator::NotIn | Operator::NotEquals => value.is_none_or(|v| !self.values.contains(v)),
            Operator::Exists => value.is_some(),
            Operator::DoesNotExist => value.is_none(),
            Operator::GreaterThan | Operator::LessThan => {
                // Both sides must be base-10 i64s; anything else never matches.
                let (Some(have), Some(want)) =
                    (value.and_then(|v| v.parse::<i64>().ok()), self.single_int())
                else {
                    return false;
                };
                if self.operator == Operator::GreaterThan {
                    have > want
                } else {
                    have < want
                }
            }
        }
    }

    fn single_int(&self) -> Option<i64> {
        match (self.values.len(), self.values.first()) {
            (1, Some(v)) => v.parse().ok(),
            _ => None,
        }
    }
}

impl fmt::Display for Requirement {
    /// Upstream's `Requirement.String()`: `!a`, `a`, `a=b`, `a in (x,y)`, `a>5`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.operator == Operator::DoesNotExist {
            f.write_str("!")?;
        }
        f.write_str(&self.key)?;
        let joined = self
            .values
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join(",");
        match self.operator {
            Operator::Exists | Operator::DoesNotExist => Ok(()),
            Operator::In | Operator::NotIn => write!(f, " {} ({joined})", self.operator.as_str()),
            Operator::GreaterThan => write!(f, ">{joined}"),
            Operator::LessThan => write!(f, "<{joined}"),
            Operator::Equals | Operator::DoubleEquals | Operator::NotEquals => {
                write!(f, "{}{joined}", self.operator.as_str())
            }
        }
    }
}

/// A parsed label selector: requirements ANDed together, sorted by key.
///
/// # Examples
/// ```
/// use std::collections::BTreeMap;
/// use api_types::labels::Selector;
///
/// // What `kubectl get pods -l 'tier, env in (prod, qa), !canary'` sends.
/// let sel = Selector::parse("tier, env in (prod, qa), !canary").unwrap();
/// assert_eq!(sel.to_string(), "!canary,env in (prod,qa),tier");
///
/// let labels = BTreeMap::from([
///     ("env".to_owned(), "qa".to_owned()),
///     ("tier".to_owned(), "web".to_owned()),
/// ]);
/// assert!(sel.matches(&labels));
/// assert!(Selector::parse("").unwrap().matches(&labels)); // empty: everything
/// assert!(!Selector::nothing().matches(&labels));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Selector {
    requirements: Vec<Requirement>,
    /// Upstream's `labels.Nothing()`: a distinct selector that matches no
    /// object, kept apart so an empty requirement list still means "all".
    nothing: bool,
}

impl Selector {
    /// The selector that matches every object (`labels.Everything()`).
    pub fn everything() -> Self {
        Selector::default()
    }

    /// The selector that matches no object (`labels.Nothing()`): what a
    /// missing (`null`) `LabelSelector` means. It prints as `""`, like
    /// upstream's, so do not round-trip it through a string.
    pub fn nothing() -> Self {
        Selector {
            requirements: Vec::new(),
            nothing: true,
        }
    }

    /// Parses the string form (upstream's `labels.Parse`).
    ///
    /// Grammar: requirements separated by `,`, each one of `key`, `!key`,
    /// `key=value`, `key==value`, `key!=value`, `key in (v1,v2)`,
    /// `key notin (v1,v2)`, `key>int`, `key<int`. Spaces, tabs and newlines
    /// may surround any token. Values may be empty (`key=`, `key in (a,)`).
    /// The empty string (or only whitespace) is the everything-selector.
    ///
    /// # Errors
    /// [`LabelSelectorError::Syntax`] or [`LabelSelectorError::Requirement`]
    /// with upstream's message and the byte position of the offending token.
    pub fn parse(s: &str) -> Result<Self, LabelSelectorError> {
        let mut requirements = Parser::new(s).parse()?;
        requirements.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(Selector {
            requirements,
            nothing: false,
        })
    }

    /// Equality requirements for every entry of `map`, as for a Service's or
    /// ReplicationController's `spec.selector` (`SelectorFromValidatedSet`).
    /// Like upstream, the map is not validated and an empty map selects
    /// everything.
    pub fn from_map(map: &BTreeMap<String, String>) -> Self {
        let requirements = map
            .iter()
            .map(|(k, v)| Requirement {
                key: k.clone(),
                operator: Operator::Equals,
                values: BTreeSet::from([v.clone()]),
            })
            .collect();
        Selector {
            requirements,
            nothing: false,
        }
    }

    /// Converts a structured `metav1.LabelSelector`
    /// (`metav1.LabelSelectorAsSelector`): `matchLabels` become `=`
    /// requirements, `matchExpressions` keep their operator. A selector with
    /// neither matches everything.
    ///
    /// # Errors
    /// [`LabelSelectorError::UnknownOperator`] for an operator other than
    /// `In`, `NotIn`, `Exists`, `DoesNotExist`; [`LabelSelectorError::Invalid`]
    /// for a bad key or value, `In`/`NotIn` without values, or
    /// `Exists`/`DoesNotExist` with values.
    pub fn from_label_selector(selector: &LabelSelector) -> Result<Self, LabelSelectorError> {
        let mut requirements = Vec::new();
        for (key, value) in selector.match_labels.iter().flatten() {
            requirements.push(Requirement::new(
                key.clone(),
                Operator::Equals,
                [value.clone()],
            )?);
        }
        for expr in selector.match_expressions.iter().flatten() {
            let operator = match expr.operator.as_str() {
                "In" => Operator::In,
                "NotIn" => Operator::NotIn,
                "Exists" => Operator::Exists,
                "DoesNotExist" => Operator::DoesNotExist,
                other => return Err(LabelSelectorError::UnknownOperator(other.to_owned())),
            };
            let values = expr.values.clone().unwrap_or_default();
            requirements.push(Requirement::new(expr.key.clone(), operator, values)?);
        }
        requirements.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(Selector {
            requirements,
            nothing: false,
        })
    }

    /// Like [`Selector::from_label_selector`], but a missing selector (`None`,
    /// JSON `null`) matches nothing, as upstream treats a nil pointer. Use
    /// this for optional selector fields such as a PodDisruptionBudget's.
    ///
    /// # Errors
    /// As [`Selector::from_label_selector`].
    pub fn from_optional_label_selector(
        selector: Option<&LabelSelector>,
    ) -> Result<Self, LabelSelectorError> {
        selector.map_or_else(|| Ok(Selector::nothing()), Selector::from_label_selector)
    }

    /// Adds a requirement, keeping the list sorted by key (upstream's `Add`).
    #[must_use]
    pub fn with_requirement(mut self, requirement: Requirement) -> Self {
        let at = self
            .requirements
            .partition_point(|r| r.key <= requirement.key);
        self.requirements.insert(at, requirement);
        self
    }

    /// Whether every requirement matches `labels`. The everything-selector
    /// matches any labels; [`Selector::nothing`] matches none.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        !self.nothing && self.requirements.iter().all(|r| r.matches(labels))
    }

    /// Whether this selector places no restriction (upstream's `Empty`);
    /// false for [`Selector::nothing`].
    pub fn is_empty(&self) -> bool {
        !self.nothing && self.requirements.is_empty()
    }

    /// Whether this is [`Selector::nothing`].
    pub fn matches_nothing(&self) -> bool {
        self.nothing
    }

    /// The requirements, sorted by key.
    pub fn requirements(&self) -> &[Requirement] {
        &self.requirements
    }

    /// The single value `key` must have, if the selector pins it with `=`,
    /// `==` or a one-value `in` (upstream's `RequiresExactMatch`); an index
    /// can then answer the query without scanning.
    pub fn requires_exact_match(&self, key: &str) -> Option<&str> {
        let r = self.requirements.iter().find(|r| r.key == key)?;
        match (r.operator, r.values.len()) {
            (Operator::Equals | Operator::DoubleEquals | Operator::In, 1) => {
                r.values.first().map(String::as_str)
            }
            _ => None,
        }
    }
}

impl FromStr for Selector {
    type Err = LabelSelectorError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Selector::parse(s)
    }
}

impl fmt::Display for Selector {
    /// The canonical string: requirements in key order, joined by `,`
    /// without spaces. Parsing it gives back an equal selector.
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

/// Upstream's `NewRequirement`: every violation as a field error, aggregated.
fn build_requirement(
    key: String,
    operator: Operator,
    values: Vec<String>,
) -> Result<Requirement, String> {
    let mut errs = Vec::new();
    let key_errs = is_qualified_name(&key);
    if !key_errs.is_empty() {
        errs.push(format!(
            "key: Invalid value: {key:?}: {}",
            key_errs.join("; ")
        ));
    }
    let shown = if values.is_empty() {
        "null".to_owned()
    } else {
        format!("{values:?}")
    };
    let count_problem = match operator {
        Operator::In | Operator::NotIn if values.is_empty() => {
            Some("for 'in', 'notin' operators, values set can't be empty")
        }
        Operator::Equals | Operator::DoubleEquals | Operator::NotEquals if values.len() != 1 => {
            Some("exact-match compatibility requires one single value")
        }
        Operator::Exists | Operator::DoesNotExist if !values.is_empty() => {
            Some("values set must be empty for exists and does not exist")
        }
        Operator::GreaterThan | Operator::LessThan if values.len() != 1 => {
            Some("for 'Gt', 'Lt' operators, exactly one value is required")
        }
        _ => None,
    };
    if let Some(problem) = count_problem {
        errs.push(format!("values: Invalid value: {shown}: {problem}"));
    }
    if matches!(operator, Operator::GreaterThan | Operator::LessThan) {
        for (i, v) in values.iter().enumerate() {
            if v.parse::<i64>().is_err() {
                errs.push(format!(
                    "values[{i}]: Invalid value: {v:?}: for 'Gt', 'Lt' operators, the value must be an integer"
                ));
            }
        }
    }
    for (i, v) in values.iter().enumerate() {
        let value_errs = is_valid_label_value(v);
        if !value_errs.is_empty() {
            errs.push(format!(
                "values[{i}][{key}]: Invalid value: {v:?}: {}",
                value_errs.join("; ")
            ));
        }
    }
    if errs.is_empty() {
        return Ok(Requirement {
            key,
            operator,
            values: values.into_iter().collect(),
        });
    }
    // Upstream's aggregate: one message alone, several de-duplicated in [..].
    let mut unique: Vec<String> = Vec::new();
    for e in errs {
        if !unique.contains(&e) {
            unique.push(e);
        }
    }
    Err(match unique.as_slice() {
        [one] => one.clone(),
        many => format!("[{}]", many.join(", ")),
    })
}

// ---------------------------------------------------------------------------
// The string parser: a lexer and a recursive-descent parser with the same
// tokens, contexts and error messages as upstream's.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok {
    End,
    OpenPar,
    ClosedPar,
    Comma,
    DoesNotExist,
    Equals,
    DoubleEquals,
    NotEquals,
    GreaterThan,
    LessThan,
    In,
    NotIn,
    Identifier,
}

#[derive(Debug, Clone, Copy)]
struct Item<'a> {
    tok: Tok,
    lit: &'a str,
    pos: usize,
}

/// Whether `in`/`notin` are keywords (after a key) or plain identifiers (as
/// keys and values: `in in (in)` is a valid selector).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Context {
    KeyAndOperator,
    Values,
}

fn is_whitespace(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

fn is_special(b: u8) -> bool {
    matches!(b, b'=' | b'!' | b'(' | b')' | b',' | b'>' | b'<')
}

/// Splits `s` into tokens. Operators are the longest match among `==`, `!=`
/// and the one-character symbols; identifiers run to the next symbol or
/// whitespace. (Upstream's lexer also stops at a NUL byte, silently
/// truncating the input; here NUL is an identifier character, so it fails
/// key/value validation instead of shortening the query.)
fn lex(s: &str) -> Vec<Item<'_>> {
    let bytes = s.as_bytes();
    let mut items = Vec::new();
    let mut pos = 0;
    loop {
        while bytes.get(pos).is_some_and(|b| is_whitespace(*b)) {
            pos += 1;
        }
        let start = pos;
        let Some(&first) = bytes.get(pos) else {
            items.push(Item {
                tok: Tok::End,
                lit: "",
                pos,
            });
            return items;
        };
        let tok = if is_special(first) {
            let two = match bytes.get(pos..pos + 2) {
                Some(b"==") => Some(Tok::DoubleEquals),
                Some(b"!=") => Some(Tok::NotEquals),
                _ => None,
            };
            if let Some(tok) = two {
                pos += 2;
                tok
            } else {
                pos += 1;
                match first {
                    b'=' => Tok::Equals,
                    b'!' => Tok::DoesNotExist,
                    b'(' => Tok::OpenPar,
                    b')' => Tok::ClosedPar,
                    b',' => Tok::Comma,
                    b'>' => Tok::GreaterThan,
                    _ => Tok::LessThan,
                }
            }
        } else {
            while bytes
                .get(pos)
                .is_some_and(|b| !is_special(*b) && !is_whitespace(*b))
            {
                pos += 1;
            }
            Tok::Identifier
        };
        // Token boundaries are ASCII bytes, so this slice is always valid.
        let lit = s.get(start..pos).unwrap_or_default();
        let tok = match (tok, lit) {
            (Tok::Identifier, "in") => Tok::In,
            (Tok::Identifier, "notin") => Tok::NotIn,
            (tok, _) => tok,
        };
        items.push(Item {
            tok,
            lit,
            pos: start,
        });
    }
}

/// A parse failure inside one requirement: message and token position.
type ReqError = (String, usize);

struct Parser<'a> {
    items: Vec<Item<'a>>,
    position: usize,
}

impl<'a> Parser<'a> {
    fn new(s: &'a str) -> Self {
        Parser {
            items: lex(s),
            position: 0,
        }
    }

    fn lookahead(&self, ctx: Context) -> Item<'a> {
        // The lexer always ends with End, and the grammar never reads past
        // it; the fallback only keeps this panic-free.
        let item = self.items.get(self.position).or(self.items.last()).copied();
        let mut item = item.unwrap_or(Item {
            tok: Tok::End,
            lit: "",
            pos: 0,
        });
        if ctx == Context::Values && matches!(item.tok, Tok::In | Tok::NotIn) {
            item.tok = Tok::Identifier;
        }
        item
    }

    fn consume(&mut self, ctx: Context) -> Item<'a> {
        let item = self.lookahead(ctx);
        self.position = (self.position + 1).min(self.items.len());
        item
    }

    fn parse(&mut self) -> Result<Vec<Requirement>, LabelSelectorError> {
        let mut requirements = Vec::new();
        loop {
            let next = self.lookahead(Context::Values);
            match next.tok {
                Tok::Identifier | Tok::DoesNotExist => {
                    let r = self.parse_requirement().map_err(|(message, position)| {
                        LabelSelectorError::Requirement { message, position }
                    })?;
                    requirements.push(r);
                    let after = self.consume(Context::Values);
                    match after.tok {
                        Tok::End => return Ok(requirements),
                        Tok::Comma => {
                            let t = self.lookahead(Context::Values);
                            if !matches!(t.tok, Tok::Identifier | Tok::DoesNotExist) {
                                return Err(syntax(
                                    format!("found '{}', expected: identifier after ','", t.lit),
                                    t,
                                ));
                            }
                        }
                        _ => {
                            return Err(syntax(
                                format!("found '{}', expected: ',' or 'end of string'", after.lit),
                                after,
                            ));
                        }
                    }
                }
                Tok::End => return Ok(requirements),
                _ => {
                    return Err(syntax(
                        format!(
                            "found '{}', expected: !, identifier, or 'end of string'",
                            next.lit
                        ),
                        next,
                    ));
                }
            }
        }
    }

    fn parse_requirement(&mut self) -> Result<Requirement, ReqError> {
        let (key, key_pos, unary) = self.parse_key_and_infer_operator()?;
        if let Some(op) = unary {
            return build_requirement(key, op, Vec::new()).map_err(|m| (m, key_pos));
        }
        let operator = self.parse_operator()?;
        let values = match operator {
            Operator::In | Operator::NotIn => self.parse_values()?,
            _ => self.parse_exact_value()?,
        };
        build_requirement(key, operator, values.into_iter().collect()).map_err(|m| (m, key_pos))
    }

    /// Reads `[!] KEY` and decides whether the requirement is unary: `!key`
    /// always is; a bare `key` is when a `,` or the end follows.
    fn parse_key_and_infer_operator(
        &mut self,
    ) -> Result<(String, usize, Option<Operator>), ReqError> {
        let mut t = self.consume(Context::Values);
        let mut unary = None;
        if t.tok == Tok::DoesNotExist {
            unary = Some(Operator::DoesNotExist);
            t = self.consume(Context::Values);
        }
        if t.tok != Tok::Identifier {
            return Err((format!("found '{}', expected: identifier", t.lit), t.pos));
        }
        let errs = is_qualified_name(t.lit);
        if !errs.is_empty() {
            // Upstream prints its (nil) field path as "<nil>" here; "key" says more.
            return Err((
                format!("key: Invalid value: {:?}: {}", t.lit, errs.join("; ")),
                t.pos,
            ));
        }
        if unary.is_none() && matches!(self.lookahead(Context::Values).tok, Tok::End | Tok::Comma) {
            unary = Some(Operator::Exists);
        }
        Ok((t.lit.to_owned(), t.pos, unary))
    }

    fn parse_operator(&mut self) -> Result<Operator, ReqError> {
        let t = self.consume(Context::KeyAndOperator);
        Ok(match t.tok {
            Tok::In => Operator::In,
            Tok::NotIn => Operator::NotIn,
            Tok::Equals => Operator::Equals,
            Tok::DoubleEquals => Operator::DoubleEquals,
            Tok::NotEquals => Operator::NotEquals,
            Tok::GreaterThan => Operator::GreaterThan,
            Tok::LessThan => Operator::LessThan,
            _ => {
                return Err((
                    format!("found '{}', expected: in, notin, =, ==, !=, gt, lt", t.lit),
                    t.pos,
                ));
            }
        })
    }

    /// `( v1, v2 )`. As upstream, `()` means the single empty value and
    /// empty entries (`(a,,b)`, `(a,)`) add the empty value.
    fn parse_values(&mut self) -> Result<BTreeSet<String>, ReqError> {
        let open = self.consume(Context::Values);
        if open.tok != Tok::OpenPar {
            return Err((format!("found '{}' expected: '('", open.lit), open.pos));
        }
        let next = self.lookahead(Context::Values);
        match next.tok {
            Tok::Identifier | Tok::Comma => {
                let values = self.parse_identifiers_list()?;
                let close = self.consume(Context::Values);
                if close.tok != Tok::ClosedPar {
                    return Err((format!("found '{}', expected: ')'", next.lit), close.pos));
                }
                Ok(values)
            }
            Tok::ClosedPar => {
                self.consume(Context::Values);
                Ok(BTreeSet::from([String::new()]))
            }
            _ => Err((
                format!("found '{}', expected: ',', ')' or identifier", next.lit),
                next.pos,
            )),
        }
    }

    /// The comma-separated values inside `( )`, leaving `)` unconsumed.
    fn parse_identifiers_list(&mut self) -> Result<BTreeSet<String>, ReqError> {
        let mut values = BTreeSet::new();
        loop {
            let t = self.consume(Context::Values);
            match t.tok {
                Tok::Identifier => {
                    values.insert(t.lit.to_owned());
                    let next = self.lookahead(Context::Values);
                    match next.tok {
                        Tok::Comma => continue,
                        Tok::ClosedPar => return Ok(values),
                        _ => {
                            return Err((
                                format!("found '{}', expected: ',' or ')'", next.lit),
                                next.pos,
                            ));
                        }
                    }
                }
                Tok::Comma => {
                    if values.is_empty() {
                        values.insert(String::new()); // "(,"
                    }
                    match self.lookahead(Context::Values).tok {
                        Tok::ClosedPar => {
                            values.insert(String::new()); // ",)"
                            return Ok(values);
                        }
                        Tok::Comma => {
                            self.consume(Context::Values);
                            values.insert(String::new()); // ",,"
                        }
                        _ => {}
                    }
                }
                _ => {
                    return Err((
                        format!("found '{}', expected: ',', or identifier", t.lit),
                        t.pos,
                    ));
                }
            }
        }
    }

    /// The value after `=`, `==`, `!=`, `>` or `<`; empty if none follows.
    fn parse_exact_value(&mut self) -> Result<BTreeSet<String>, ReqError> {
        if matches!(self.lookahead(Context::Values).tok, Tok::End | Tok::Comma) {
            return Ok(BTreeSet::from([String::new()]));
        }
        let t = self.consume(Context::Values);
        if t.tok == Tok::Identifier {
            return Ok(BTreeSet::from([t.lit.to_owned()]));
        }
        Err((format!("found '{}', expected: identifier", t.lit), t.pos))
    }
}

fn syntax(message: String, at: Item<'_>) -> LabelSelectorError {
    LabelSelectorError::Syntax {
        message,
        position: at.pos,
    }
}

// ---------------------------------------------------------------------------
// Validation, with apimachinery's `util/validation` messages.

const QUALIFIED_NAME_FMT: &str = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
const QUALIFIED_NAME_ERR: &str = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const LABEL_VALUE_FMT: &str = "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?";
const LABEL_VALUE_ERR: &str = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const DNS1123_SUBDOMAIN_FMT: &str =
    r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*";
const DNS1123_SUBDOMAIN_ERR: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";
const MAX_NAME_LEN: usize = 63;
const MAX_SUBDOMAIN_LEN: usize = 253;

/// Upstream's `RegexError`: the message, examples, and the regex.
fn regex_error(msg: &str, fmt: &str, examples: &[&str]) -> String {
    let examples: String = examples
        .iter()
        .map(|e| format!("'{e}', "))
        .collect::<Vec<_>>()
        .join(" or ");
    format!("{msg} (e.g. {examples}regex used for validation is '{fmt}')")
}

fn max_len_error(n: usize) -> String {
    format!("must be no more than {n} characters")
}

/// `([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]`, anchored.
fn is_qualified_name_part(s: &str) -> bool {
    let b = s.as_bytes();
    match (b.first(), b.last()) {
        (Some(first), Some(last)) => {
            first.is_ascii_alphanumeric()
                && last.is_ascii_alphanumeric()
                && b.iter()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
        }
        _ => false,
    }
}

/// Upstream's `IsQualifiedName`: the errors for a label key (or annotation
/// key, finalizer, ...), empty when valid. A key is an optional DNS-1123
/// subdomain prefix and `/`, then a name of at most 63 characters of
/// `[-A-Za-z0-9_.]` starting and ending alphanumeric.
pub fn is_qualified_name(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    let parts: Vec<&str> = value.split('/').collect();
    let name = match parts.as_slice() {
        [name] => *name,
        [prefix, name] => {
            if prefix.is_empty() {
                errs.push("prefix part must be non-empty".to_owned());
            } else {
                errs.extend(
                    is_dns1123_subdomain(prefix)
                        .into_iter()
                        .map(|m| format!("prefix part {m}")),
                );
            }
            *name
        }
        _ => {
            return vec![format!(
                "a qualified name {} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
                regex_error(
                    QUALIFIED_NAME_ERR,
                    QUALIFIED_NAME_FMT,
                    &["MyName", "my.name", "123-abc"]
                )
            )];
        }
    };
    if name.is_empty() {
        errs.push("name part must be non-empty".to_owned());
    } else if name.len() > MAX_NAME_LEN {
        errs.push(format!("name part {}", max_len_error(MAX_NAME_LEN)));
    }
    if !is_qualified_name_part(name) {
        errs.push(format!(
            "name part {}",
            regex_error(
                QUALIFIED_NAME_ERR,
                QUALIFIED_NAME_FMT,
                &["MyName", "my.name", "123-abc"]
            )
        ));
    }
    errs
}

/// Upstream's `IsValidLabelValue`: the errors for a label value, empty when
/// valid. The empty string is valid.
pub fn is_valid_label_value(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > MAX_NAME_LEN {
        errs.push(max_len_error(MAX_NAME_LEN));
    }
    if !value.is_empty() && !is_qualified_name_part(value) {
        errs.push(regex_error(
            LABEL_VALUE_ERR,
            LABEL_VALUE_FMT,
            &["MyValue", "my_value", "12345"],
        ));
    }
    errs
}

/// Upstream's `IsDNS1123Subdomain`: the errors for a DNS-1123 subdomain
/// (most object names, label-key prefixes), empty when valid.
pub fn is_dns1123_subdomain(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > MAX_SUBDOMAIN_LEN {
        errs.push(max_len_error(MAX_SUBDOMAIN_LEN));
    }
    let label_ok = |l: &str| {
        let b = l.as_bytes();
        let alnum = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit();
        b.first().is_some_and(alnum)
            && b.last().is_some_and(alnum)
            && b.iter().all(|c| alnum(c) || *c == b'-')
    };
    if !value.split('.').all(label_ok) {
        errs.push(regex_error(
            DNS1123_SUBDOMAIN_ERR,
            DNS1123_SUBDOMAIN_FMT,
            &["example.com"],
        ));
    }
    errs
}

/// Validates a label key, joining upstream's messages with `"; "` as the
/// selector parser does. For per-message field errors use [`is_qualified_name`].
///
/// # Errors
/// The joined messages when the key is invalid.
pub fn validate_label_key(key: &str) -> Result<(), String> {
    let errs = is_qualified_name(key);
    if errs.is_empty() {
        Ok(())
    } else {
        Err(errs.join("; "))
    }
}

/// Validates a label value, joining upstream's messages with `"; "`. For
/// per-message field errors use [`is_valid_label_value`].
///
/// # Errors
/// The joined messages when the value is invalid.
pub fn validate_label_value(value: &str) -> Result<(), String> {
    let errs = is_valid_label_value(value);
    if errs.is_empty() {
        Ok(())
    } else {
        Err(errs.join("; "))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::meta::v1::LabelSelectorRequirement;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn sel(s: &str) -> Selector {
        match Selector::parse(s) {
            Ok(v) => v,
            Err(e) => panic!("{s:?} should parse: {e}"),
        }
    }

    fn err(s: &str) -> String {
        match Selector::parse(s) {
            Ok(v) => panic!("{s:?} should fail, got {v}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn parses_every_operator() {
        let cases = [
            ("a=b", Operator::Equals, vec!["b"]),
            ("a==b", Operator::DoubleEquals, vec!["b"]),
            ("a!=b", Operator::NotEquals, vec!["b"]),
            ("a in (x,y)", Operator::In, vec!["x", "y"]),
            ("a notin (y,x)", Operator::NotIn, vec!["x", "y"]),
            ("a", Operator::Exists, vec![]),
            ("!a", Operator::DoesNotExist, vec![]),
            ("a>1", Operator::GreaterThan, vec!["1"]),
            ("a<-1", Operator::LessThan, vec!["-1"]),
        ];
        // "a<-1" fails label-value validation upstream too; check it separately.
        for (input, op, values) in cases.iter().filter(|c| c.0 != "a<-1") {
            let s = sel(input);
            let [r] = s.requirements() else {
                panic!("{input}: one requirement expected")
            };
            assert_eq!(r.key(), "a", "{input}");
            assert_eq!(r.operator(), *op, "{input}");
            let got: Vec<&str> = r.values().iter().map(String::as_str).collect();
            assert_eq!(&got, values, "{input}");
        }
        assert!(err("a<-1").contains("values[0][a]: Invalid value: \"-1\""));
    }

    #[test]
    fn whitespace_and_empty_values() {
        assert_eq!(sel("  a in ( x , y ) ,\tb\n").to_string(), "a in (x,y),b");
        assert_eq!(
            sel("x in (foo,,baz),y,z notin ()").to_string(),
            "x in (,baz,foo),y,z notin ()"
        );
        assert_eq!(sel("a=").to_string(), "a=");
        assert_eq!(sel("a==,b!=").to_string(), "a==,b!=");
        assert_eq!(sel("a in (,b)").to_string(), "a in (,b)");
        assert_eq!(sel("a in (b,)").to_string(), "a in (,b)");
        assert!(sel("").is_empty());
        assert!(sel(" \t ").is_empty());
    }

    #[test]
    fn keywords_are_identifiers_in_key_and_value_position() {
        assert_eq!(sel("in in (in,notin)").to_string(), "in in (in,notin)");
        assert_eq!(sel("notin=in").to_string(), "notin=in");
        assert_eq!(sel("in").requirements()[0].operator(), Operator::Exists);
    }

    #[test]
    fn keys_with_prefixes() {
        assert_eq!(
            sel("example.com/app=web").requirements()[0].key(),
            "example.com/app"
        );
        assert_eq!(
            sel("!kubernetes.io/hostname").to_string(),
            "!kubernetes.io/hostname"
        );
    }

    #[test]
    fn display_sorts_by_key_and_round_trips() {
        let inputs = [
            "z=1,a=2",
            "tier, env in (qa, prod), !canary",
            "a!=b,a in (c)",
            "x>5,y<10,w",
            "app==web",
            "k in (b,a,c),k2 notin (z,y)",
            "a=,b in (,x)",
        ];
        for input in inputs {
            let first = sel(input);
            let printed = first.to_string();
            let again = sel(&printed);
            assert_eq!(again, first, "{input} -> {printed}");
            assert_eq!(again.to_string(), printed);
        }
        assert_eq!(sel("z=1,a=2").to_string(), "a=2,z=1");
        assert_eq!(sel("env in (qa,prod)").to_string(), "env in (prod,qa)");
    }

    #[test]
    fn matching_semantics() {
        let l = labels(&[("env", "prod"), ("tier", "web"), ("n", "7")]);
        let yes = [
            "",
            "env=prod",
            "env==prod",
            "env!=qa",
            "missing!=x",
            "env in (prod,qa)",
            "env notin (qa)",
            "missing notin (x)",
            "env",
            "!missing",
            "n>6",
            "n<8",
            "env,tier=web",
        ];
        let no = [
            "env=qa",
            "missing=x",
            "missing==",
            "env!=prod",
            "env in (qa)",
            "missing in (x)",
            "env notin (prod)",
            "missing",
            "!env",
            "n>7",
            "n<7",
            "env>1",
            "missing>1",
            "env,tier=db",
        ];
        for s in yes {
            assert!(sel(s).matches(&l), "{s} should match");
        }
        for s in no {
            assert!(!sel(s).matches(&l), "{s} should not match");
        }
        // An empty value matches a present, empty label but not a missing one.
        assert!(sel("a=").matches(&labels(&[("a", "")])));
        assert!(!sel("a=").matches(&labels(&[])));
        assert!(sel("a in ()").matches(&labels(&[("a", "")])));
    }

    #[test]
    fn nothing_and_everything() {
        let l = labels(&[("a", "b")]);
        assert!(Selector::everything().matches(&l));
        assert!(Selector::everything().matches(&BTreeMap::new()));
        assert!(Selector::everything().is_empty());
        assert!(!Selector::nothing().matches(&l));
        assert!(!Selector::nothing().matches(&BTreeMap::new()));
        assert!(!Selector::nothing().is_empty());
        assert!(Selector::nothing().matches_nothing());
        assert_eq!(Selector::nothing().to_string(), "");
    }

    #[test]
    fn syntax_errors_name_the_token_and_position() {
        let cases = [
            ("a=b,", "found '', expected: identifier after ','", 4),
            (
                ",a",
                "found ',', expected: !, identifier, or 'end of string'",
                0,
            ),
            ("a=b c", "found 'c', expected: ',' or 'end of string'", 4),
            ("a,,b", "found ',', expected: identifier after ','", 2),
            (
                "(a)",
                "found '(', expected: !, identifier, or 'end of string'",
                0,
            ),
            ("!a=b", "found '=', expected: ',' or 'end of string'", 2),
        ];
        for (input, message, pos) in cases {
            match Selector::parse(input) {
                Err(LabelSelectorError::Syntax {
                    message: m,
                    position,
                }) => {
                    assert_eq!((m.as_str(), position), (message, pos), "{input}");
                }
                other => panic!("{input}: unexpected {other:?}"),
            }
        }
    }

    #[test]
    fn requirement_errors() {
        let cases = [
            (
                "a b",
                "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt",
            ),
            (
                "a in b",
                "unable to parse requirement: found 'b' expected: '('",
            ),
            (
                "a in",
                "unable to parse requirement: found '' expected: '('",
            ),
            (
                "a in (b",
                "unable to parse requirement: found '', expected: ',' or ')'",
            ),
            (
                "a in (b c)",
                "unable to parse requirement: found 'c', expected: ',' or ')'",
            ),
            (
                "a in (=)",
                "unable to parse requirement: found '=', expected: ',', ')' or identifier",
            ),
            (
                "a in (b,=)",
                "unable to parse requirement: found '=', expected: ',', or identifier",
            ),
            (
                "a in (b,,)",
                "unable to parse requirement: found ')', expected: ',', or identifier",
            ),
            (
                "a=(b)",
                "unable to parse requirement: found '(', expected: identifier",
            ),
            (
                "a===b",
                "unable to parse requirement: found '=', expected: identifier",
            ),
            (
                "!",
                "unable to parse requirement: found '', expected: identifier",
            ),
            (
                "!=a",
                "found '!=', expected: !, identifier, or 'end of string'",
            ),
            (
                "a>b",
                "unable to parse requirement: values[0]: Invalid value: \"b\": for 'Gt', 'Lt' operators, the value must be an integer",
            ),
            (
                "a>",
                "unable to parse requirement: values[0]: Invalid value: \"\": for 'Gt', 'Lt' operators, the value must be an integer",
            ),
        ];
        for (input, message) in cases {
            assert_eq!(err(input), message, "{input}");
        }
        match Selector::parse("x=1, a b") {
            Err(LabelSelectorError::Requirement { position, .. }) => assert_eq!(position, 7),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn key_and_value_validation_errors() {
        let bad_value = err("a=b@c");
        assert_eq!(
            bad_value,
            format!(
                "unable to parse requirement: values[0][a]: Invalid value: \"b@c\": {}",
                label_value_regex_msg()
            )
        );
        let bad_key = err("-a=b");
        assert!(
            bad_key.starts_with(
                "unable to parse requirement: key: Invalid value: \"-a\": name part must consist of"
            ),
            "{bad_key}"
        );
        let two_bad = err("a in (-x,-y)");
        assert!(
            two_bad
                .starts_with("unable to parse requirement: [values[0][a]: Invalid value: \"-x\""),
            "{two_bad}"
        );
        assert!(
            two_bad.contains(", values[1][a]: Invalid value: \"-y\""),
            "{two_bad}"
        );
        let long = "v".repeat(64);
        let too_long = err(&format!("a={long}"));
        assert!(
            too_long.ends_with(": must be no more than 63 characters"),
            "{too_long}"
        );
        assert!(err("a/b/c").contains("a qualified name must consist of"));
        assert!(err("a\u{0}b=c").contains("key: Invalid value"));
    }

    fn label_value_regex_msg() -> &'static str {
        "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
    }

    #[test]
    fn validation_messages_are_upstreams() {
        assert_eq!(validate_label_value(""), Ok(()));
        assert_eq!(validate_label_value("My_value-1.x"), Ok(()));
        assert_eq!(
            validate_label_value("-x"),
            Err(label_value_regex_msg().to_owned())
        );
        assert_eq!(
            validate_label_value(&"a".repeat(64)),
            Err("must be no more than 63 characters".to_owned())
        );
        assert_eq!(
            is_valid_label_value(&format!("-{}", "a".repeat(63))).len(),
            2
        );

        assert_eq!(validate_label_key("app"), Ok(()));
        assert_eq!(validate_label_key("app.kubernetes.io/name"), Ok(()));
        let name_regex = "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
        assert_eq!(
            is_qualified_name(""),
            vec![
                "name part must be non-empty".to_owned(),
                name_regex.to_owned()
            ]
        );
        assert_eq!(is_qualified_name("a_"), vec![name_regex.to_owned()]);
        assert_eq!(
            is_qualified_name(&"a".repeat(64)),
            vec!["name part must be no more than 63 characters".to_owned()]
        );
        assert_eq!(
            is_qualified_name("/a"),
            vec!["prefix part must be non-empty".to_owned()]
        );
        assert_eq!(
            is_qualified_name("Example.com/a"),
            vec!["prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')".to_owned()]
        );
        assert_eq!(
            is_qualified_name("a/b/c"),
            vec!["a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')".to_owned()]
        );
        assert!(is_dns1123_subdomain("a.b-c.d0").is_empty());
        for bad in ["", ".", "a.", ".a", "a..b", "-a", "a-", "A", "a_b"] {
            assert_eq!(is_dns1123_subdomain(bad).len(), 1, "{bad}");
        }
        assert_eq!(
            is_dns1123_subdomain(&"a".repeat(254))[0],
            "must be no more than 253 characters"
        );
    }

    #[test]
    fn requirement_new_checks() {
        assert!(Requirement::new("a", Operator::In, Vec::<String>::new())
            .unwrap_err()
            .to_string()
            .contains("values: Invalid value: null: for 'in', 'notin' operators, values set can't be empty"));
        assert!(
            Requirement::new("a", Operator::Equals, ["x", "y"])
                .unwrap_err()
                .to_string()
                .contains("exact-match compatibility requires one single value")
        );
        assert!(Requirement::new("a", Operator::Exists, ["x"])
            .unwrap_err()
            .to_string()
            .contains("values: Invalid value: [\"x\"]: values set must be empty for exists and does not exist"));
        assert!(
            Requirement::new("a", Operator::GreaterThan, ["1", "2"])
                .unwrap_err()
                .to_string()
                .contains("for 'Gt', 'Lt' operators, exactly one value is required")
        );
        let both = Requirement::new("-a", Operator::NotIn, Vec::<String>::new())
            .unwrap_err()
            .to_string();
        assert!(both.starts_with("[key: Invalid value: \"-a\""), "{both}");
        assert!(both.contains(", values: Invalid value: null"), "{both}");
        assert!(Requirement::new("a", Operator::LessThan, ["10"]).is_ok());
    }

    #[test]
    fn from_label_selector_conversion() {
        let ls = LabelSelector {
            match_labels: Some(BTreeMap::from([("app".to_owned(), "web".to_owned())])),
            match_expressions: Some(vec![
                LabelSelectorRequirement {
                    key: "env".into(),
                    operator: "In".into(),
                    values: Some(vec!["qa".into(), "prod".into()]),
                },
                LabelSelectorRequirement {
                    key: "canary".into(),
                    operator: "DoesNotExist".into(),
                    values: None,
                },
                LabelSelectorRequirement {
                    key: "tier".into(),
                    operator: "Exists".into(),
                    values: Some(vec![]),
                },
                LabelSelectorRequirement {
                    key: "zone".into(),
                    operator: "NotIn".into(),
                    values: Some(vec!["z1".into()]),
                },
            ]),
        };
        let s = Selector::from_label_selector(&ls).unwrap();
        assert_eq!(
            s.to_string(),
            "app=web,!canary,env in (prod,qa),tier,zone notin (z1)"
        );
        assert!(s.matches(&labels(&[("app", "web"), ("env", "qa"), ("tier", "x")])));
        assert!(!s.matches(&labels(&[("app", "web"), ("env", "qa")])));
        assert_eq!(Selector::parse(&s.to_string()).unwrap(), s);
    }

    #[test]
    fn from_label_selector_empty_nil_and_errors() {
        let everything = LabelSelector::default();
        assert!(
            Selector::from_label_selector(&everything)
                .unwrap()
                .is_empty()
        );
        let empty_collections = LabelSelector {
            match_labels: Some(BTreeMap::new()),
            match_expressions: Some(Vec::new()),
        };
        assert!(
            Selector::from_label_selector(&empty_collections)
                .unwrap()
                .matches(&BTreeMap::new())
        );
        assert!(
            Selector::from_optional_label_selector(None)
                .unwrap()
                .matches_nothing()
        );
        assert!(
            Selector::from_optional_label_selector(Some(&everything))
                .unwrap()
                .is_empty()
        );

        let expr = |op: &str, values: Option<Vec<String>>| LabelSelector {
            match_labels: None,
            match_expressions: Some(vec![LabelSelectorRequirement {
                key: "k".into(),
                operator: op.into(),
                values,
            }]),
        };
        assert_eq!(
            Selector::from_label_selector(&expr("Gt", Some(vec!["1".into()]))),
            Err(LabelSelectorError::UnknownOperator("Gt".into()))
        );
        assert_eq!(
            LabelSelectorError::UnknownOperator("in".into()).to_string(),
            "\"in\" is not a valid label selector operator"
        );
        assert!(matches!(
            Selector::from_label_selector(&expr("In", None)),
            Err(LabelSelectorError::Invalid(_))
        ));
        assert!(matches!(
            Selector::from_label_selector(&expr("Exists", Some(vec!["x".into()]))),
            Err(LabelSelectorError::Invalid(_))
        ));
        let bad_label = LabelSelector {
            match_labels: Some(BTreeMap::from([("app".to_owned(), "bad value".to_owned())])),
            match_expressions: None,
        };
        assert_eq!(
            Selector::from_label_selector(&bad_label)
                .unwrap_err()
                .to_string(),
            format!(
                "values[0][app]: Invalid value: \"bad value\": {}",
                label_value_regex_msg()
            )
        );
    }

    #[test]
    fn from_map_add_and_exact_match() {
        let s = Selector::from_map(&labels(&[("b", "2"), ("a", "1")]));
        assert_eq!(s.to_string(), "a=1,b=2");
        assert!(s.matches(&labels(&[("a", "1"), ("b", "2"), ("c", "3")])));
        assert!(!s.matches(&labels(&[("a", "1")])));
        assert!(Selector::from_map(&BTreeMap::new()).is_empty());
        let s = s.with_requirement(
            Requirement::new("aa", Operator::Exists, Vec::<String>::new()).unwrap(),
        );
        assert_eq!(s.to_string(), "a=1,aa,b=2");
        assert_eq!(s.requires_exact_match("a"), Some("1"));
        assert_eq!(s.requires_exact_match("aa"), None);
        assert_eq!(sel("x in (y)").requires_exact_match("x"), Some("y"));
        assert_eq!(sel("x in (y,z)").requires_exact_match("x"), None);
        assert_eq!(sel("x!=y").requires_exact_match("x"), None);
        let built = Selector::everything()
            .with_requirement(Requirement::new("a", Operator::Equals, ["b"]).unwrap());
        assert_eq!("a=b".parse::<Selector>().unwrap(), built);
    }

    #[test]
    fn operator_strings() {
        let all = [
            (Operator::Equals, "="),
            (Operator::DoubleEquals, "=="),
            (Operator::NotEquals, "!="),
            (Operator::In, "in"),
            (Operator::NotIn, "notin"),
            (Operator::Exists, "exists"),
            (Operator::DoesNotExist, "!"),
            (Operator::GreaterThan, "gt"),
            (Operator::LessThan, "lt"),
        ];
        for (op, s) in all {
            assert_eq!(op.as_str(), s);
        }
    }

    /// Random strings over the selector alphabet must never panic, and
    /// whatever parses must print a string that parses to the same selector.
    #[test]
    fn fuzz_no_panics_and_round_trip() {
        const ALPHABET: &[u8] = b"ab=!(),<> \tin notin 1-._/xy";
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 33) as usize
        };
        let mut parsed_ok = 0;
        for _ in 0..20_000 {
            let len = next() % 16;
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
            let Ok(parsed) = Selector::parse(&input) else {
                continue;
            };
            parsed_ok += 1;
            let printed = parsed.to_string();
            assert_eq!(
                Selector::parse(&printed).ok(),
                Some(parsed),
                "{input:?} -> {printed:?}"
            );
        }
        assert!(
            parsed_ok > 1000,
            "fuzzer too weak: only {parsed_ok} inputs parsed"
        );
    }
}

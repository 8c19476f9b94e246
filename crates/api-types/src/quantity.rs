//! Resource quantities: `cpu: 100m`, `memory: 512Mi`, `storage: 1e3`.
//!
//! This mirrors apimachinery's `api/resource.Quantity`. Every CPU request,
//! memory limit and volume size in Kubernetes is a *quantity*: a decimal
//! number followed by a suffix. The scheduler adds up the requests of the
//! pods on a node and compares the sum against the node's allocatable
//! resources; the kubelet turns `cpu: 250m` into CPU shares. Both need the
//! exact value, never a float, which is why quantities are fixed-point.
//!
//! Two types split the work:
//! - [`Quantity`] is what travels on the wire: the string exactly as the
//!   user wrote it (`"0.5"`), compared byte for byte.
//! - [`ParsedQuantity`] is the number: an exact count of nano-units plus the
//!   suffix family the user chose, so that it prints back in the same style
//!   (`"0.5"` becomes `"500m"`, `"1.5Gi"` becomes `"1536Mi"`).
//!
//! # Grammar (upstream's)
//! ```text
//! quantity        ::= sign? number suffix
//! number          ::= digits | digits "." digits | digits "." | "." digits
//! suffix          ::= binarySI | decimalSI | decimalExponent
//! binarySI        ::= Ki | Mi | Gi | Ti | Pi | Ei          (powers of 1024)
//! decimalSI       ::= n | u | m | "" | k | M | G | T | P | E (powers of 1000)
//! decimalExponent ::= ("e" | "E") sign? digits            (powers of 10)
//! ```
//! Like upstream, the scanner tolerates a missing number: `"Mi"`, `"-"` and
//! `"."` parse as zero (Go's `ParseQuantity` accepts them too).
//!
//! # Differences from upstream
//! Upstream stores arbitrarily large decimal values in a big-decimal type.
//! Here the value is an `i128` of nano-units, so magnitudes up to about
//! 1.7 × 10^29 are exact and larger ones are a [`QuantityError::OutOfRange`]
//! instead of a silently huge (or, for exponents beyond `i32`, silently
//! truncated) number. Binary-SI values are capped at 2^63 − 1 exactly as
//! upstream caps them.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize};

/// Why a string is not a valid quantity. The first three messages are
/// upstream's, word for word, because the apiserver returns them to clients.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuantityError {
    /// The string has characters outside the grammar (`"1.2.3"`, `" 1"`, `""`).
    #[error(
        "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
    )]
    FormatWrong,
    /// The number part could not be read.
    #[error("unable to parse numeric part of quantity")]
    Numeric,
    /// The suffix is made of suffix characters but is not a known suffix
    /// (`"1i"`, `"1e"`, `"0.1mi"`).
    #[error("unable to parse quantity's suffix")]
    Suffix,
    /// The value (or the result of an addition) does not fit in 128 bits of
    /// nano-units; see the module docs.
    #[error("quantity out of range: magnitude must be below 1.7e29")]
    OutOfRange,
}

/// Which suffix family a quantity was written in; it is printed back in the
/// same family (upstream's `resource.Format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Format {
    /// `12e6`, `5e-3`.
    DecimalExponent,
    /// `12Mi` (12 × 2^20).
    BinarySI,
    /// `12M` (12 × 10^6), `100m`, or no suffix at all.
    #[default]
    DecimalSI,
}

/// A resource quantity as it appears on the wire (`resource.Quantity`).
///
/// The string is kept exactly as received, so equality and hashing are
/// textual: `Quantity("1Ki".into()) != Quantity("1024".into())`. Use
/// [`Quantity::parse`] or [`Quantity::semantic_cmp`] to compare values.
///
/// Deserializing accepts a JSON string or a JSON number (YAML `cpu: 1`
/// reaches the apiserver as the number `1`) and trims surrounding
/// whitespace, as upstream's `UnmarshalJSON` does; it does not validate, so
/// that validation can report the field path. `null` becomes `"0"`.
///
/// `Default` is the empty string, which does not parse; upstream's zero
/// value prints as `"0"`, so write `Quantity::from("0")` for a zero.
///
/// # Examples
/// ```
/// use api_types::quantity::Quantity;
///
/// let cpu: Quantity = serde_json::from_str("\"0.5\"").unwrap();
/// let parsed = cpu.parse().unwrap();
/// assert_eq!(parsed.milli_value(), 500);
/// assert_eq!(parsed.to_canonical_string(), "500m");
///
/// let one_ki = Quantity("1Ki".into());
/// let bytes: Quantity = serde_json::from_str("1024").unwrap();
/// assert_ne!(one_ki, bytes); // different text
/// assert!(one_ki.semantic_eq(&bytes).unwrap()); // same value
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Quantity(pub String);

impl Quantity {
    /// Parses the string into an exact value.
    ///
    /// # Errors
    /// See [`ParsedQuantity::from_str`].
    pub fn parse(&self) -> Result<ParsedQuantity, QuantityError> {
        self.0.parse()
    }

    /// Compares the *values* of two quantities (`1Ki` equals `1024`).
    ///
    /// # Errors
    /// If either side does not parse.
    pub fn semantic_cmp(&self, other: &Quantity) -> Result<Ordering, QuantityError> {
        Ok(self.parse()?.cmp(&other.parse()?))
    }

    /// Whether two quantities have the same value (upstream's `Equal`).
    ///
    /// # Errors
    /// If either side does not parse.
    pub fn semantic_eq(&self, other: &Quantity) -> Result<bool, QuantityError> {
        Ok(self.semantic_cmp(other)? == Ordering::Equal)
    }
}

impl From<ParsedQuantity> for Quantity {
    /// The canonical string, as upstream serializes a `Quantity`.
    fn from(q: ParsedQuantity) -> Self {
        Quantity(q.to_canonical_string())
    }
}

impl From<&str> for Quantity {
    fn from(s: &str) -> Self {
        Quantity(s.to_owned())
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Quantity {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Quantity;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a quantity string such as \"100m\" or a number")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Quantity, E> {
                Ok(Quantity(v.trim().to_owned()))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Quantity, E> {
                Ok(Quantity(v.to_string()))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Quantity, E> {
                Ok(Quantity(v.to_string()))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Quantity, E> {
                // Rust prints the shortest string that reads back as `v`
                // and never uses an exponent, which the grammar accepts.
                Ok(Quantity(v.to_string()))
            }
            fn visit_unit<E: serde::de::Error>(self) -> Result<Quantity, E> {
                Ok(Quantity("0".to_owned()))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

/// Nano-units per unit.
const NANO: i128 = 1_000_000_000;
/// Upstream's cap for binary-SI values: 2^63 − 1 units, in nano-units.
const MAX_BINARY_NANO: i128 = (i64::MAX as i128) * NANO;

/// The exact value of a quantity plus the suffix family to print it in.
///
/// Equality, ordering and hashing look only at the value, as upstream's
/// `Cmp`/`Equal` do: `1Ki == 1024` and `1M < 1Mi`. The value is held in
/// nano-units (10^-9); finer input is rounded away from zero to the next
/// nano-unit, so that asking for a tiny amount never becomes zero.
///
/// # Examples
/// ```
/// use api_types::quantity::{Format, ParsedQuantity};
///
/// let mem: ParsedQuantity = "1.5Gi".parse().unwrap();
/// assert_eq!(mem.format(), Format::BinarySI);
/// assert_eq!(mem.value(), 1_610_612_736);
/// assert_eq!(mem.to_canonical_string(), "1536Mi");
///
/// let a: ParsedQuantity = "100m".parse().unwrap();
/// let b: ParsedQuantity = "0.9".parse().unwrap();
/// assert_eq!(a.add(&b).unwrap().to_canonical_string(), "1");
/// assert!("1M".parse::<ParsedQuantity>().unwrap() < "1Mi".parse().unwrap());
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct ParsedQuantity {
    nanos: i128,
    format: Format,
}

impl ParsedQuantity {
    /// A quantity of `nanos` × 10^-9, printed in `format`.
    pub fn from_nanos(nanos: i128, format: Format) -> Self {
        ParsedQuantity { nanos, format }
    }

    /// A whole number of units (upstream's `NewQuantity`).
    pub fn from_value(value: i64, format: Format) -> Self {
        Self::from_nanos(i128::from(value) * NANO, format)
    }

    /// A number of thousandths (upstream's `NewMilliQuantity`).
    pub fn from_milli(milli: i64, format: Format) -> Self {
        Self::from_nanos(i128::from(milli) * 1_000_000, format)
    }

    /// The exact value in nano-units.
    pub fn nanos(&self) -> i128 {
        self.nanos
    }

    /// The suffix family this quantity prints in.
    pub fn format(&self) -> Format {
        self.format
    }

    /// Whether the value is zero.
    pub fn is_zero(&self) -> bool {
        self.nanos == 0
    }

    /// `ceil(q × 1000)` with the fraction rounded away from zero, like
    /// upstream's `MilliValue` (`"0.1m"` gives 1, `"-0.1m"` gives -1).
    ///
    /// # Caveats
    /// Upstream silently overflows; this saturates at `i64::MIN`/`i64::MAX`.
    pub fn milli_value(&self) -> i64 {
        scale_down_saturating(self.nanos, 1_000_000)
    }

    /// The value in whole units, the fraction rounded away from zero, like
    /// upstream's `Value` (`"100m"` gives 1, `"1Ki"` gives 1024).
    ///
    /// # Caveats
    /// Upstream silently overflows; this saturates at `i64::MIN`/`i64::MAX`.
    pub fn value(&self) -> i64 {
        scale_down_saturating(self.nanos, NANO)
    }

    /// `self + other`. The result keeps `self`'s format unless `self` is
    /// zero, in which case it takes `other`'s (upstream's `Add`), so summing
    /// into a zero accumulator keeps the suffix style of what is summed.
    ///
    /// # Errors
    /// [`QuantityError::OutOfRange`] if the sum does not fit.
    pub fn add(&self, other: &ParsedQuantity) -> Result<ParsedQuantity, QuantityError> {
        let nanos = self
            .nanos
            .checked_add(other.nanos)
            .ok_or(QuantityError::OutOfRange)?;
        Ok(ParsedQuantity {
            nanos,
            format: self.combined_format(other),
        })
    }

    /// `self - other`, with the same format rule as [`ParsedQuantity::add`].
    ///
    /// # Errors
    /// [`QuantityError::OutOfRange`] if the difference does not fit.
    pub fn sub(&self, other: &ParsedQuantity) -> Result<ParsedQuantity, QuantityError> {
        let nanos = self
            .nanos
            .checked_sub(other.nanos)
            .ok_or(QuantityError::OutOfRange)?;
        Ok(ParsedQuantity {
            nanos,
            format: self.combined_format(other),
        })
    }

    fn combined_format(&self, other: &ParsedQuantity) -> Format {
        if self.is_zero() {
            other.format
        } else {
            self.format
        }
    }

    /// The string upstream's `String()` prints: no fraction, the largest
    /// suffix that loses nothing, in this quantity's format family.
    ///
    /// - Decimal families use a power of ten that is a multiple of three:
    ///   `0.5` → `500m`, `1000` → `1k`, `50k` → `50k`, `1e3` → `1e3`,
    ///   `1.2e3` → `1200`. DecimalSI beyond `E` (10^18) falls back to
    ///   exponent notation: `1000E` → `1e21`.
    /// - BinarySI uses a power of 1024: `1.5Gi` → `1536Mi`. Values under
    ///   1024 in magnitude, or with a fraction, print as DecimalSI instead:
    ///   `0.5Ki` → `512`, `.001Ki` → `1024m`.
    /// - Zero is always `0`.
    pub fn to_canonical_string(&self) -> String {
        if self.nanos == 0 {
            return "0".to_owned();
        }
        let sign = if self.nanos < 0 { "-" } else { "" };
        let abs = self.nanos.unsigned_abs();
        let nano = NANO.unsigned_abs();
        if self.format == Format::BinarySI && abs >= 1024 * nano && abs % nano == 0 {
            let (mantissa, power) = remove_factors(abs / nano, 1024, 6);
            let suffix = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"]
                .get(power)
                .copied()
                .unwrap_or("");
            return format!("{sign}{mantissa}{suffix}");
        }
        // Decimal: strip powers of ten, then lower the exponent to a
        // multiple of three so the suffix is an SI prefix.
        let (mut mantissa, tens) = remove_factors(abs, 10, usize::MAX);
        let mut exponent = i64::try_from(tens).unwrap_or(i64::MAX) - 9;
        let spare = exponent.rem_euclid(3);
        for _ in 0..spare {
            mantissa *= 10; // cannot overflow: at most the powers just removed
        }
        exponent -= spare;
        let si = ["n", "u", "m", "", "k", "M", "G", "T", "P", "E"];
        let suffix = match self.format {
            Format::DecimalSI | Format::BinarySI => usize::try_from((exponent + 9) / 3)
                .ok()
                .and_then(|i| si.get(i))
                .map(|s| (*s).to_owned()),
            Format::DecimalExponent if exponent == 0 => Some(String::new()),
            Format::DecimalExponent => None,
        };
        let suffix = suffix.unwrap_or_else(|| format!("e{exponent}"));
        format!("{sign}{mantissa}{suffix}")
    }
}

/// Divides `value` by `base` while it divides evenly, at most `max` times.
fn remove_factors(mut value: u128, base: u128, max: usize) -> (u128, usize) {
    let mut times = 0;
    while times < max && value >= base && value % base == 0 {
        value /= base;
        times += 1;
    }
    (value, times)
}

/// `nanos / divisor`, the remainder rounded away from zero, saturated to i64.
fn scale_down_saturating(nanos: i128, divisor: i128) -> i64 {
    let mut q = nanos / divisor; // truncates toward zero
    if nanos % divisor != 0 {
        q += nanos.signum();
    }
    i64::try_from(q).unwrap_or(if q < 0 { i64::MIN } else { i64::MAX })
}

impl PartialEq for ParsedQuantity {
    fn eq(&self, other: &Self) -> bool {
        self.nanos == other.nanos
    }
}

impl Eq for ParsedQuantity {}

impl Hash for ParsedQuantity {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.nanos.hash(state);
    }
}

impl PartialOrd for ParsedQuantity {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for ParsedQuantity {
    fn cmp(&self, other: &Self) -> Ordering {
        self.nanos.cmp(&other.nanos)
    }
}

impl fmt::Display for ParsedQuantity {
    /// Same as [`ParsedQuantity::to_canonical_string`].
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_canonical_string())
    }
}

impl FromStr for ParsedQuantity {
    type Err = QuantityError;

    /// Parses upstream's grammar (see the module docs).
    ///
    /// # Errors
    /// - [`QuantityError::FormatWrong`] for the empty string, whitespace, or
    ///   any character outside the grammar (`"1.2.3"`, `"12MiB"`);
    /// - [`QuantityError::Suffix`] for unknown suffixes (`"1e"`, `"1i"`);
    /// - [`QuantityError::Numeric`] for a digitless number with an exponent
    ///   below -9 (`"e-10"`), which upstream also rejects;
    /// - [`QuantityError::OutOfRange`] for decimal values of 1.7e29 or more.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let scanned = scan(s)?;
        let (base, exponent, format) = interpret_suffix(scanned.suffix)?;
        let digitless = scanned.int.is_empty() && scanned.frac.is_empty();
        if digitless && base == Base::Ten && exponent < -9 {
            return Err(QuantityError::Numeric);
        }
        // Value = digits × 10^(-frac_len) × base^exponent, in nano-units.
        let frac_len = i64::try_from(scanned.frac.len()).map_err(|_| QuantityError::OutOfRange)?;
        let (multiplier, tens) = match base {
            // 1024^n = 2^(10n); n is 1..=6 so this cannot overflow.
            Base::Binary => (1u128 << (10 * exponent), 9 - frac_len),
            Base::Ten => (1, exponent.saturating_add(9).saturating_sub(frac_len)),
        };
        let magnitude = scaled_ceil(scanned.int, scanned.frac, multiplier, tens);
        let (magnitude, format) = match (base, magnitude) {
            (Base::Binary, Some(m)) if m > MAX_BINARY_NANO.unsigned_abs() => {
                (MAX_BINARY_NANO.unsigned_abs(), format)
            }
            (Base::Binary, None) => (MAX_BINARY_NANO.unsigned_abs(), format),
            // A fraction of a unit in binary notation reads better as decimal.
            (Base::Binary, Some(m)) if m > 0 && m < NANO.unsigned_abs() => (m, Format::DecimalSI),
            (_, Some(m)) => (m, format),
            (Base::Ten, None) => return Err(QuantityError::OutOfRange),
        };
        let nanos = i128::try_from(magnitude).map_err(|_| QuantityError::OutOfRange)?;
        Ok(ParsedQuantity {
            nanos: if scanned.negative { -nanos } else { nanos },
            format,
        })
    }
}

/// The pieces of a quantity string, before any arithmetic.
struct Scanned<'a> {
    negative: bool,
    int: &'a str,
    frac: &'a str,
    suffix: &'a str,
}

/// Splits `s` the way upstream's `parseQuantityString` does.
fn scan(s: &str) -> Result<Scanned<'_>, QuantityError> {
    if s.is_empty() {
        return Err(QuantityError::FormatWrong);
    }
    let bytes = s.as_bytes();
    let count = |from: usize, pred: fn(u8) -> bool| {
        bytes.iter().skip(from).take_while(|b| pred(**b)).count()
    };
    let mut pos = 0;
    let negative = bytes.first() == Some(&b'-');
    if matches!(bytes.first(), Some(b'-' | b'+')) {
        pos = 1;
    }
    let int_end = pos + count(pos, |b| b.is_ascii_digit());
    let int = s.get(pos..int_end).ok_or(QuantityError::FormatWrong)?;
    pos = int_end;
    let mut frac = "";
    if bytes.get(pos) == Some(&b'.') {
        let frac_end = pos + 1 + count(pos + 1, |b| b.is_ascii_digit());
        frac = s.get(pos + 1..frac_end).ok_or(QuantityError::FormatWrong)?;
        pos = frac_end;
    }
    let suffix_start = pos;
    pos += count(pos, |b| b"eEinumkKMGTP".contains(&b));
    if matches!(bytes.get(pos), Some(b'-' | b'+')) {
        pos += 1;
    }
    pos += count(pos, |b| b.is_ascii_digit());
    if pos != bytes.len() {
        return Err(QuantityError::FormatWrong);
    }
    let suffix = s.get(suffix_start..).ok_or(QuantityError::FormatWrong)?;
    Ok(Scanned {
        negative,
        int,
        frac,
        suffix,
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Base {
    Ten,
    Binary,
}

/// Maps a suffix to (base, exponent, format): `"k"` → 10^3, `"Mi"` → 1024^2, `"e-3"` → 10^-3.
fn interpret_suffix(suffix: &str) -> Result<(Base, i64, Format), QuantityError> {
    let decimal = match suffix {
        "n" => Some(-9),
        "u" => Some(-6),
        "m" => Some(-3),
        "" => Some(0),
        "k" => Some(3),
        "M" => Some(6),
        "G" => Some(9),
        "T" => Some(12),
        "P" => Some(15),
        "E" => Some(18),
        _ => None,
    };
    if let Some(e) = decimal {
        return Ok((Base::Ten, e, Format::DecimalSI));
    }
    if let Some(i) = ["Ki", "Mi", "Gi", "Ti", "Pi", "Ei"]
        .iter()
        .position(|b| *b == suffix)
    {
        let power = i64::try_from(i).map_err(|_| QuantityError::Suffix)? + 1;
        return Ok((Base::Binary, power, Format::BinarySI));
    }
    match suffix.strip_prefix(['e', 'E']) {
        Some(exp) if !exp.is_empty() => exp
            .parse::<i64>()
            .map(|e| (Base::Ten, e, Format::DecimalExponent))
            .map_err(|_| QuantityError::Suffix),
        _ => Err(QuantityError::Suffix),
    }
}

/// `ceil(int.frac × multiplier × 10^tens)` for non-negative decimal digit
/// strings, exactly; `None` if it does not fit in a `u128`.
///
/// Works on the digit string so that inputs with hundreds of digits or
/// exponents like `e-1000` need no big-number library.
fn scaled_ceil(int: &str, frac: &str, multiplier: u128, tens: i64) -> Option<u128> {
    // All digits as one integer D, so the value is D × multiplier × 10^tens.
    let joined = format!("{int}{frac}");
    let digits = joined.trim_start_matches('0');
    let significant = digits.trim_end_matches('0');
    if significant.is_empty() {
        return Some(0);
    }
    let trailing = i64::try_from(digits.len() - significant.len()).ok()?;
    let tens = tens.checked_add(trailing)?;
    if tens >= 0 {
        let d = parse_u128(significant)?;
        let pow = 10u128.checked_pow(u32::try_from(tens).ok()?)?;
        return d.checked_mul(multiplier)?.checked_mul(pow);
    }
    // Negative power: the last `drop` digits form the fraction to round.
    let drop = usize::try_from(tens.unsigned_abs()).unwrap_or(usize::MAX);
    let keep_len = significant.len().saturating_sub(drop);
    let (keep, fraction) = significant.split_at(keep_len);
    let leading_zeros = drop.saturating_sub(significant.len());
    let whole = if keep.is_empty() {
        0
    } else {
        parse_u128(keep)?.checked_mul(multiplier)?
    };
    whole.checked_add(ceil_fraction_times(fraction, leading_zeros, multiplier))
}

fn parse_u128(digits: &str) -> Option<u128> {
    digits.bytes().try_fold(0u128, |acc, b| {
        acc.checked_mul(10)?.checked_add(u128::from(b - b'0'))
    })
}

/// `ceil(0.[zeros]fraction × multiplier)` where `fraction` is non-zero and
/// `multiplier` < 2^64: long multiplication from the last digit, carrying.
fn ceil_fraction_times(fraction: &str, zeros: usize, multiplier: u128) -> u128 {
    let mut carry: u128 = 0;
    let mut inexact = false;
    for d in fraction.bytes().rev() {
        let x = u128::from(d - b'0') * multiplier + carry;
        inexact |= x % 10 != 0;
        carry = x / 10;
    }
    // Leading zeros only shift the carry right; 20 of them exhaust any
    // carry below 2^64, so more need not be walked.
    for _ in 0..zeros.min(20) {
        inexact |= carry % 10 != 0;
        carry /= 10;
    }
    carry + u128::from(inexact)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn q(s: &str) -> ParsedQuantity {
        match s.parse() {
            Ok(v) => v,
            Err(e) => panic!("{s:?} should parse: {e}"),
        }
    }

    fn canon(s: &str) -> String {
        q(s).to_canonical_string()
    }

    #[test]
    fn parses_exact_values_in_nanos() {
        const G: i128 = NANO; // one unit, in nanos
        let cases: &[(&str, i128, Format)] = &[
            ("0", 0, Format::DecimalSI),
            ("100m", 100_000_000, Format::DecimalSI),
            ("0.5", 500_000_000, Format::DecimalSI),
            (".5", 500_000_000, Format::DecimalSI),
            ("5.", 5 * G, Format::DecimalSI),
            ("-1", -G, Format::DecimalSI),
            ("+1", G, Format::DecimalSI),
            ("512Mi", (512 << 20) * G, Format::BinarySI),
            ("1G", 1_000_000_000 * G, Format::DecimalSI),
            ("1e3", 1000 * G, Format::DecimalExponent),
            ("1E-3", 1_000_000, Format::DecimalExponent),
            ("1.5Gi", 1_610_612_736 * G, Format::BinarySI),
            ("1Ki", 1024 * G, Format::BinarySI),
            ("5n", 5, Format::DecimalSI),
            ("4u", 4000, Format::DecimalSI),
            ("8k", 8000 * G, Format::DecimalSI),
            ("7M", 7_000_000 * G, Format::DecimalSI),
            ("5T", 5_000_000_000_000 * G, Format::DecimalSI),
            ("2P", 2_000_000_000_000_000 * G, Format::DecimalSI),
            ("1E", 1_000_000_000_000_000_000 * G, Format::DecimalSI),
            ("12E", 12_000_000_000_000_000_000 * G, Format::DecimalSI),
            ("3Ei", (3 << 60) * G, Format::BinarySI),
            ("1.3E+6", 1_300_000 * G, Format::DecimalExponent),
            ("100.035k", 100_035 * G, Format::DecimalSI),
            ("0.0005k", 500_000_000, Format::DecimalSI),
            ("100.035Ki", 102_435_840_000_000, Format::BinarySI),
            ("1.G", 1_000_000_000 * G, Format::DecimalSI),
            ("0Mi", 0, Format::BinarySI),
            ("0.5e-2", 5_000_000, Format::DecimalExponent),
            ("6.987654321G", 6_987_654_321 * G, Format::DecimalSI),
        ];
        for (input, nanos, format) in cases {
            let got = q(input);
            assert_eq!(got.format(), *format, "{input}");
            assert_eq!(got.nanos(), *nanos, "{input}");
            if input.starts_with(['-', '+']) {
                continue;
            }
            // Signs: '-' negates, '+' changes nothing; format is kept.
            let neg = q(&format!("-{input}"));
            assert_eq!((neg.nanos(), neg.format()), (-nanos, *format), "-{input}");
            assert_eq!(q(&format!("+{input}")).nanos(), *nanos, "+{input}");
        }
    }

    #[test]
    fn rounds_finer_than_nano_away_from_zero() {
        let cases = [
            ("3.001n", 4),
            ("1.1E-9", 2),
            ("0.0000000001", 1),
            ("0.0000000005", 1),
            ("0.5e-9", 1),
            ("0.9n", 1),
            ("0.00000012345", 124),
            ("0.00000012354", 124),
            ("1e-1000", 1),
            ("0.000000000001Ki", 2),
        ];
        for (input, nanos) in cases {
            assert_eq!(q(input).nanos(), nanos, "{input}");
            assert_eq!(q(&format!("-{input}")).nanos(), -nanos, "-{input}");
        }
        // A tiny binary value becomes DecimalSI, as upstream.
        assert_eq!(q("0.000000000001Ki").format(), Format::DecimalSI);
        assert_eq!(canon("0.000000000001Ki"), "2n");
    }

    #[test]
    fn zero_stays_zero_whatever_the_exponent() {
        for input in [
            "0e-1000",
            "0e1000",
            "0.000",
            "-0",
            "000",
            "0Ei",
            "0.0e99999999999",
        ] {
            assert!(q(input).is_zero(), "{input}");
            assert_eq!(canon(input), "0");
        }
    }

    #[test]
    fn digitless_numbers_are_zero_like_upstream() {
        // Go's ParseQuantity accepts these and yields zero.
        for input in ["Mi", "-", "+", ".", "-.", "k", "e3"] {
            assert!(q(input).is_zero(), "{input}");
        }
        // ...except with an exponent below nano, where upstream takes the
        // big-decimal path and fails to read the empty number.
        assert_eq!(
            "e-10".parse::<ParsedQuantity>(),
            Err(QuantityError::Numeric)
        );
    }

    #[test]
    fn binary_values_cap_at_max_int64_like_upstream() {
        for input in [
            "9Ei",
            "9223372036854775807Ki",
            "99999999999999999999999999999999999999999Ei",
        ] {
            assert_eq!(q(input).value(), i64::MAX, "{input}");
            assert_eq!(q(&format!("-{input}")).value(), -i64::MAX, "-{input}");
        }
        assert_eq!(canon("9Ei"), "9223372036854775807");
    }

    #[test]
    fn errors_not_panics() {
        use QuantityError::*;
        let cases = [
            ("", FormatWrong),
            (" 1", FormatWrong),
            ("1 ", FormatWrong),
            ("1.2.3", FormatWrong),
            ("1.1.M", FormatWrong),
            ("1+1.0M", FormatWrong),
            ("12MiB", FormatWrong),
            ("aoeu", FormatWrong),
            ("1e3.5", FormatWrong),
            ("--1", Suffix), // upstream reads "-1" as a suffix
            ("1\u{e9}", FormatWrong),
            ("1e", Suffix),
            ("1i", Suffix),
            (".5i", Suffix),
            ("-3.01i", Suffix),
            ("0.1mi", Suffix),
            ("0.1am", FormatWrong),
            ("-3.01e-", Suffix),
            ("1ee3", Suffix),
            ("1Ki3", Suffix),
            ("1e99999999999999999999", Suffix),
            ("9999999999999999999999E", OutOfRange),
            ("1e30", OutOfRange),
            ("-1e30", OutOfRange),
        ];
        for (input, want) in cases {
            assert_eq!(
                input.parse::<ParsedQuantity>(),
                Err(want.clone()),
                "{input:?}"
            );
        }
        // Just inside the range.
        assert_eq!(q("1e29").value(), i64::MAX);
    }

    #[test]
    fn canonical_strings_match_upstream() {
        let cases = [
            ("100m", "100m"),
            ("0.5", "500m"),
            (".5", "500m"),
            ("5.", "5"),
            ("512Mi", "512Mi"),
            ("1G", "1G"),
            ("1e3", "1e3"),
            ("1.5Gi", "1536Mi"),
            ("-1", "-1"),
            ("0", "0"),
            ("1000", "1k"),
            ("1536Mi", "1536Mi"),
            ("1024Mi", "1Gi"),
            ("1000M", "1G"),
            (".001Ki", "1024m"),
            (".000001Ki", "1024u"),
            (".000000001Ki", "1024n"),
            ("0.5Ki", "512"),
            ("0.5Mi", "512Ki"),
            ("1080m", "1080m"),
            ("1.08", "1080m"),
            ("50k", "50k"),
            ("1.2345", "1234500u"),
            ("1000E", "1e21"),
            ("5000E", "5e21"),
            ("1000000E", "1e24"),
            ("0.001T", "1G"),
            ("1000u", "1m"),
            (".001e12", "1e9"),
            ("0.001e0", "1e-3"),
            ("1000e-12", "1e-9"),
            ("80e-3", "80e-3"),
            ("1.2e3", "1200"),
            ("1e0", "1"),
            ("00", "0"),
            ("1025Ki", "1025Ki"),
            ("1025", "1025"),
            ("307200Ki", "300Mi"),
            ("1025024Mi", "1001Gi"),
            ("100.035Ki", "102435840m"),
            ("-1.5Gi", "-1536Mi"),
            ("-0.5", "-500m"),
            ("-1000", "-1k"),
            ("-1e3", "-1e3"),
        ];
        for (input, want) in cases {
            assert_eq!(canon(input), want, "{input}");
            // Canonical output is a fixed point.
            assert_eq!(canon(want), want, "{want} is not canonical");
        }
    }

    #[test]
    fn value_and_milli_value_round_away_from_zero() {
        assert_eq!(q("100m").milli_value(), 100);
        assert_eq!(q("100m").value(), 1);
        assert_eq!(q("0.1m").milli_value(), 1);
        assert_eq!(q("-0.1m").milli_value(), -1);
        assert_eq!(q("-1.5").value(), -2);
        assert_eq!(q("1.5").value(), 2);
        assert_eq!(q("2").value(), 2);
        assert_eq!(q("1Ki").value(), 1024);
        assert_eq!(q("512Mi").milli_value(), 512 * 1024 * 1024 * 1000);
        assert_eq!(q("1e20").milli_value(), i64::MAX);
        assert_eq!(q("-1e20").value(), i64::MIN);
    }

    #[test]
    fn ordering_is_by_value() {
        assert_eq!(q("1Ki"), q("1024"));
        assert!(q("1M") < q("1Mi"));
        assert!(q("100m") > q("50m"));
        assert!(q("10000T") > q("100Gi"));
        assert!(q("-1") < q("0"));
        assert_eq!(q("0.5").cmp(&q("500m")), Ordering::Equal);
        let mut set = std::collections::HashSet::new();
        set.insert(q("1k"));
        assert!(set.contains(&q("1000")));
    }

    #[test]
    fn add_and_sub() {
        let sum = q("100m").add(&q("0.9")).unwrap();
        assert_eq!(sum.to_canonical_string(), "1");
        assert_eq!(
            q("1Gi").add(&q("512Mi")).unwrap().to_canonical_string(),
            "1536Mi"
        );
        // A zero accumulator adopts the other side's format (upstream's Add).
        assert_eq!(q("0").add(&q("1Gi")).unwrap().to_canonical_string(), "1Gi");
        assert_eq!(q("1Gi").add(&q("0")).unwrap().to_canonical_string(), "1Gi");
        assert_eq!(
            q("100m").sub(&q("0")).unwrap().to_canonical_string(),
            "100m"
        );
        assert_eq!(q("0").sub(&q("1Gi")).unwrap().to_canonical_string(), "-1Gi");
        assert_eq!(
            q("1").sub(&q("1500m")).unwrap().to_canonical_string(),
            "-500m"
        );
        let big = ParsedQuantity::from_nanos(i128::MAX, Format::DecimalSI);
        assert_eq!(big.add(&q("1n")), Err(QuantityError::OutOfRange));
        let small = ParsedQuantity::from_nanos(i128::MIN, Format::DecimalSI);
        assert_eq!(small.sub(&q("1n")), Err(QuantityError::OutOfRange));
        // Printing the extreme values must not overflow either.
        assert!(small.to_canonical_string().starts_with('-'));
    }

    #[test]
    fn constructors() {
        assert_eq!(
            ParsedQuantity::from_value(1000, Format::DecimalSI).to_string(),
            "1k"
        );
        assert_eq!(
            ParsedQuantity::from_value(1024, Format::BinarySI).to_string(),
            "1Ki"
        );
        assert_eq!(
            ParsedQuantity::from_value(1_000_000, Format::DecimalExponent).to_string(),
            "1e6"
        );
        assert_eq!(
            ParsedQuantity::from_milli(1, Format::DecimalSI).to_string(),
            "1m"
        );
        assert_eq!(
            ParsedQuantity::from_milli(1024, Format::BinarySI).to_string(),
            "1024m"
        );
        assert_eq!(
            ParsedQuantity::from_milli(1_000_000, Format::DecimalExponent).to_string(),
            "1e3"
        );
    }

    #[test]
    fn quantity_wire_format() {
        let from_str: Quantity = serde_json::from_str("\"512Mi\"").unwrap();
        assert_eq!(from_str, Quantity("512Mi".into()));
        assert_eq!(serde_json::to_string(&from_str).unwrap(), "\"512Mi\"");
        let from_int: Quantity = serde_json::from_str("2").unwrap();
        assert_eq!(from_int.0, "2");
        let from_neg: Quantity = serde_json::from_str("-1").unwrap();
        assert_eq!(from_neg.0, "-1");
        let from_float: Quantity = serde_json::from_str("0.5").unwrap();
        assert_eq!(from_float.parse().unwrap().to_canonical_string(), "500m");
        let trimmed: Quantity = serde_json::from_str("\" 1 \"").unwrap();
        assert_eq!(trimmed.0, "1");
        let null: Quantity = serde_json::from_str("null").unwrap();
        assert_eq!(null.0, "0");
        assert!(serde_json::from_str::<Quantity>("true").is_err());
        assert!(serde_json::from_str::<Quantity>("{}").is_err());
        let optional: Option<Quantity> = serde_json::from_str("null").unwrap();
        assert_eq!(optional, None);
    }

    #[test]
    fn quantity_semantic_helpers() {
        let a = Quantity::from("1Ki");
        let b = Quantity::from("1024");
        assert_ne!(a, b);
        assert!(a.semantic_eq(&b).unwrap());
        assert_eq!(
            Quantity::from("1M")
                .semantic_cmp(&Quantity::from("1Mi"))
                .unwrap(),
            Ordering::Less
        );
        assert_eq!(
            a.semantic_cmp(&Quantity::from("junk")),
            Err(QuantityError::FormatWrong)
        );
        assert_eq!(Quantity::from(q("0.5")), Quantity::from("500m"));
        assert_eq!(Quantity::from("0.5").to_string(), "0.5");
    }

    #[test]
    fn error_messages_are_upstreams() {
        assert_eq!(
            QuantityError::FormatWrong.to_string(),
            "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
        );
        assert_eq!(
            QuantityError::Numeric.to_string(),
            "unable to parse numeric part of quantity"
        );
        assert_eq!(
            QuantityError::Suffix.to_string(),
            "unable to parse quantity's suffix"
        );
    }

    /// A tiny deterministic fuzzer: random strings over the quantity
    /// alphabet plus arbitrary bytes must never panic, and whatever parses
    /// must print a canonical string that parses back to the same value.
    #[test]
    fn fuzz_no_panics_and_canonical_round_trip() {
        const ALPHABET: &[u8] = b"0123456789.+-eEinumkKMGTP 0019";
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = move || {
            // Knuth's MMIX LCG; the high bits are the random ones.
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 33) as usize
        };
        let mut parsed_ok = 0;
        for _ in 0..20_000 {
            let len = next() % 12;
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    let r = next();
                    if r % 8 == 0 {
                        (r >> 3) as u8
                    } else {
                        ALPHABET[(r >> 3) % ALPHABET.len()]
                    }
                })
                .collect();
            let input = String::from_utf8_lossy(&bytes);
            let Ok(parsed) = input.parse::<ParsedQuantity>() else {
                continue;
            };
            parsed_ok += 1;
            let _ = (
                parsed.value(),
                parsed.milli_value(),
                parsed.add(&parsed),
                parsed.sub(&parsed),
            );
            let canonical = parsed.to_canonical_string();
            let again = match canonical.parse::<ParsedQuantity>() {
                Ok(v) => v,
                Err(e) => panic!("{input:?} printed {canonical:?}, which fails to parse: {e}"),
            };
            assert_eq!(again, parsed, "{input:?} -> {canonical:?}");
            assert_eq!(again.to_canonical_string(), canonical, "{input:?}");
        }
        assert!(
            parsed_ok > 1000,
            "fuzzer too weak: only {parsed_ok} inputs parsed"
        );
    }
}

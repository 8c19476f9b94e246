//! `IntOrString`: a field that holds either a number or a name/percentage.
//!
//! Kubernetes uses this type (apimachinery's `util/intstr`) wherever a field
//! may be given in two shapes:
//! - a Service's `targetPort: 8080` or `targetPort: http` (a named container
//!   port);
//! - a Deployment's `maxSurge: 1` or `maxSurge: "25%"` (a share of the
//!   replica count, resolved with [`IntOrString::scaled_value`]).
//!
//! On the wire it is a bare JSON number or a bare JSON string, never an
//! object, so `targetPort: "8080"` and `targetPort: 8080` are different
//! values and both round-trip unchanged.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Why an [`IntOrString`] could not be turned into a number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IntOrStringError {
    /// A string value must end in `%` to be scaled (upstream refuses `"5"`
    /// here too: a plain number must be sent as a JSON number).
    #[error("invalid value for IntOrString: invalid type: string is not a percentage")]
    NotAPercentage,
    /// The part before `%` is not a base-10 integer.
    #[error("invalid value for IntOrString: invalid value {0:?}: not an integer percentage")]
    InvalidPercentage(String),
    /// The scaled result does not fit in an `i32`.
    #[error("invalid value for IntOrString: {value} scaled to {total} overflows a 32-bit integer")]
    Overflow {
        /// The original value.
        value: String,
        /// The total it was scaled against.
        total: i32,
    },
}

/// A JSON number or a JSON string (`intstr.IntOrString`).
///
/// # Examples
/// ```
/// use api_types::intstr::IntOrString;
///
/// let port: IntOrString = serde_json::from_str("8080").unwrap();
/// assert_eq!(port, IntOrString::Int(8080));
/// let named: IntOrString = serde_json::from_str("\"http\"").unwrap();
/// assert_eq!(named.to_string(), "http");
///
/// let surge = IntOrString::String("25%".into());
/// assert_eq!(surge.scaled_value(10, true).unwrap(), 3);
/// assert_eq!(surge.scaled_value(10, false).unwrap(), 2);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum IntOrString {
    /// A 32-bit integer (upstream's `IntVal`); JSON numbers outside the
    /// `i32` range or with a fraction are rejected, as upstream does.
    Int(i32),
    /// A string (upstream's `StrVal`): a port name, or a percentage such as `"25%"`.
    String(String),
}

impl Default for IntOrString {
    /// `Int(0)`, the zero value upstream's struct has.
    fn default() -> Self {
        IntOrString::Int(0)
    }
}

impl From<i32> for IntOrString {
    fn from(v: i32) -> Self {
        IntOrString::Int(v)
    }
}

impl From<&str> for IntOrString {
    fn from(v: &str) -> Self {
        IntOrString::String(v.to_owned())
    }
}

impl From<String> for IntOrString {
    fn from(v: String) -> Self {
        IntOrString::String(v)
    }
}

impl IntOrString {
    /// The integer this holds, like upstream's `IntValue()`: `Int(n)` gives
    /// `n`; a string is parsed as a base-10 integer and gives `0` if it is
    /// not one (so a named port such as `"http"` gives `0`).
    pub fn int_value(&self) -> i32 {
        match self {
            IntOrString::Int(v) => *v,
            IntOrString::String(s) => s.parse().unwrap_or(0),
        }
    }

    /// Resolves an absolute number or a percentage of `total`, like upstream's
    /// `GetScaledValueFromIntOrPercent`.
    ///
    /// `Int(n)` gives `n` unchanged. `String("p%")` gives `p * total / 100`,
    /// rounded up (ceiling) when `round_up` is true and down (floor)
    /// otherwise; a Deployment rounds `maxSurge` up and `maxUnavailable` down.
    /// The arithmetic is exact integer arithmetic, so large totals do not
    /// suffer float rounding.
    ///
    /// # Errors
    /// - [`IntOrStringError::NotAPercentage`] for any string without a
    ///   trailing `%`, even a numeric one such as `"5"` (upstream behaves the
    ///   same way);
    /// - [`IntOrStringError::InvalidPercentage`] if the part before `%` is
    ///   not an integer (`"abc%"`, `"2.5%"`, `"%"`);
    /// - [`IntOrStringError::Overflow`] if the result does not fit in `i32`.
    pub fn scaled_value(&self, total: i32, round_up: bool) -> Result<i32, IntOrStringError> {
        let s = match self {
            IntOrString::Int(v) => return Ok(*v),
            IntOrString::String(s) => s,
        };
        let digits = s
            .strip_suffix('%')
            .ok_or(IntOrStringError::NotAPercentage)?;
        let percent: i64 = digits
            .parse()
            .map_err(|_| IntOrStringError::InvalidPercentage(s.clone()))?;
        // Go's strconv.Atoi accepts a leading '+' and so does i64::from_str,
        // but Rust also accepts nothing Go rejects, so the grammars agree.
        let product = i128::from(percent) * i128::from(total);
        let scaled = if round_up {
            // Ceiling division that is correct for negative products too.
            -((-product).div_euclid(100))
        } else {
            product.div_euclid(100)
        };
        i32::try_from(scaled).map_err(|_| IntOrStringError::Overflow {
            value: s.clone(),
            total,
        })
    }
}

impl fmt::Display for IntOrString {
    /// The string form upstream's `String()` gives: the number in base 10, or the string as is.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IntOrString::Int(v) => write!(f, "{v}"),
            IntOrString::String(s) => f.write_str(s),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn s(v: &str) -> IntOrString {
        IntOrString::String(v.to_owned())
    }

    #[test]
    fn json_round_trip_keeps_shape() {
        let cases = [
            ("8080", IntOrString::Int(8080)),
            ("\"http\"", s("http")),
            ("\"8080\"", s("8080")),
            ("-1", IntOrString::Int(-1)),
        ];
        for (json, want) in cases {
            let got: IntOrString = serde_json::from_str(json).unwrap();
            assert_eq!(got, want, "{json}");
            assert_eq!(serde_json::to_string(&got).unwrap(), json);
        }
    }

    #[test]
    fn json_rejects_non_int32_numbers_and_other_shapes() {
        for bad in [
            "1.5",
            "2147483648",
            "-2147483649",
            "true",
            "null",
            "{}",
            "[1]",
        ] {
            assert!(serde_json::from_str::<IntOrString>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn default_is_int_zero() {
        assert_eq!(IntOrString::default(), IntOrString::Int(0));
    }

    #[test]
    fn display() {
        assert_eq!(IntOrString::Int(-7).to_string(), "-7");
        assert_eq!(s("25%").to_string(), "25%");
    }

    #[test]
    fn int_value() {
        assert_eq!(IntOrString::Int(3).int_value(), 3);
        assert_eq!(s("42").int_value(), 42);
        assert_eq!(s("http").int_value(), 0);
    }

    #[test]
    fn scaled_value_rounding() {
        let cases = [
            ("25%", 10, true, 3),
            ("25%", 10, false, 2),
            ("100%", 7, true, 7),
            ("0%", 7, true, 0),
            ("10%", 0, true, 0),
            ("50%", 3, true, 2),
            ("50%", 3, false, 1),
            ("150%", 4, false, 6),
            ("+20%", 5, false, 1),
            ("-25%", 10, true, -2),
            ("-25%", 10, false, -3),
            ("1%", 1, true, 1),
            ("1%", 1, false, 0),
        ];
        for (v, total, up, want) in cases {
            assert_eq!(
                s(v).scaled_value(total, up).unwrap(),
                want,
                "{v} of {total} up={up}"
            );
        }
    }

    #[test]
    fn scaled_value_int_is_absolute() {
        assert_eq!(IntOrString::Int(5).scaled_value(100, true).unwrap(), 5);
        assert_eq!(IntOrString::Int(-1).scaled_value(0, false).unwrap(), -1);
    }

    #[test]
    fn scaled_value_large_total_is_exact() {
        // 33% of i32::MAX in floats would be off by rounding; integers are exact.
        let want = (i64::from(i32::MAX) * 33 / 100) as i32;
        assert_eq!(s("33%").scaled_value(i32::MAX, false).unwrap(), want);
    }

    #[test]
    fn scaled_value_errors() {
        assert_eq!(
            s("5").scaled_value(10, true),
            Err(IntOrStringError::NotAPercentage)
        );
        assert_eq!(
            s("http").scaled_value(10, true),
            Err(IntOrStringError::NotAPercentage)
        );
        for bad in ["%", "abc%", "2.5%", " 5%", "5%%"] {
            assert_eq!(
                s(bad).scaled_value(10, true),
                Err(IntOrStringError::InvalidPercentage(bad.to_owned())),
                "{bad}"
            );
        }
        assert!(matches!(
            s("1000%").scaled_value(i32::MAX, true),
            Err(IntOrStringError::Overflow { .. })
        ));
        assert!(matches!(
            s("99999999999999999999%").scaled_value(1, true),
            Err(IntOrStringError::InvalidPercentage(_))
        ));
    }

    #[test]
    fn error_messages() {
        assert_eq!(
            IntOrStringError::NotAPercentage.to_string(),
            "invalid value for IntOrString: invalid type: string is not a percentage"
        );
    }
}

//! `metav1.Time` and `metav1.MicroTime`: RFC 3339 timestamps in UTC.
//!
//! Kubernetes writes `Time` with whole seconds (`2024-05-01T10:00:00Z`) and
//! `MicroTime` with six fractional digits (`2024-05-01T10:00:00.123456Z`).
//! Both accept any RFC 3339 input (other offsets, other precisions) and
//! normalise it to UTC.

use std::fmt;

use chrono::{DateTime, SecondsFormat, SubsecRound, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A timestamp with second precision, as `metav1.Time`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Time(pub DateTime<Utc>);

/// A timestamp with microsecond precision, as `metav1.MicroTime`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MicroTime(pub DateTime<Utc>);

impl Time {
    /// The current time, truncated to whole seconds (what a round trip
    /// through JSON would give, so values compare equal after storage).
    pub fn now() -> Self {
        Time(Utc::now().trunc_subsecs(0))
    }

    /// Parses an RFC 3339 timestamp.
    ///
    /// # Errors
    /// When `s` is not RFC 3339.
    pub fn parse(s: &str) -> Result<Self, chrono::ParseError> {
        Ok(Time(
            DateTime::parse_from_rfc3339(s)?
                .with_timezone(&Utc)
                .trunc_subsecs(0),
        ))
    }
}

impl MicroTime {
    /// The current time, truncated to microseconds.
    pub fn now() -> Self {
        MicroTime(Utc::now().trunc_subsecs(6))
    }

    /// Parses an RFC 3339 timestamp.
    ///
    /// # Errors
    /// When `s` is not RFC 3339.
    pub fn parse(s: &str) -> Result<Self, chrono::ParseError> {
        Ok(MicroTime(
            DateTime::parse_from_rfc3339(s)?
                .with_timezone(&Utc)
                .trunc_subsecs(6),
        ))
    }
}

impl fmt::Display for Time {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.to_rfc3339_opts(SecondsFormat::Secs, true))
    }
}

impl fmt::Display for MicroTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.to_rfc3339_opts(SecondsFormat::Micros, true))
    }
}

macro_rules! time_serde {
    ($ty:ident, $what:literal) => {
        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                $ty::parse(&s).map_err(|e| {
                    serde::de::Error::custom(format!(concat!("invalid ", $what, " {:?}: {}"), s, e))
                })
            }
        }
    };
}

time_serde!(Time, "time");
time_serde!(MicroTime, "micro time");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_is_written_with_whole_seconds_in_utc() {
        let t = Time::parse("2024-05-01T12:00:00.987+02:00").expect("valid");
        assert_eq!(
            serde_json::to_string(&t).expect("ser"),
            "\"2024-05-01T10:00:00Z\""
        );
    }

    #[test]
    fn micro_time_keeps_six_digits() {
        let t = MicroTime::parse("2024-05-01T10:00:00.1234567Z").expect("valid");
        assert_eq!(t.to_string(), "2024-05-01T10:00:00.123456Z");
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(serde_json::from_str::<Time>("\"yesterday\"").is_err());
        assert!(serde_json::from_str::<Time>("12").is_err());
    }
}

//! Go's `time.Time` in JSON, from Unix nanoseconds: RFC 3339 in UTC with up to nine
//! fractional digits, trailing zeros dropped; the zero time is `0001-01-01T00:00:00Z`.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Unix nanoseconds that serialize as Go's `time.Time` (0 is Go's zero time).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct GoTime(pub i64);

impl Serialize for GoTime {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&rfc3339(self.0))
    }
}

/// Reads any RFC 3339 time (Go's `time.Time` text); the zone offset is folded into UTC.
impl<'de> Deserialize<'de> for GoTime {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        parse_rfc3339(&s)
            .map(GoTime)
            .ok_or_else(|| serde::de::Error::custom(format!("invalid time {s:?}")))
    }
}

pub fn rfc3339(nanos: i64) -> String {
    if nanos == 0 {
        return "0001-01-01T00:00:00Z".into();
    }
    let dt = chrono::DateTime::from_timestamp_nanos(nanos);
    let mut s = dt.format("%Y-%m-%dT%H:%M:%S").to_string();
    let frac = dt.timestamp_subsec_nanos();
    if frac > 0 {
        let f = format!("{frac:09}");
        s.push('.');
        s.push_str(f.trim_end_matches('0'));
    }
    s.push('Z');
    s
}

/// Parses what [`rfc3339`] writes (and any RFC 3339 time), to Unix nanoseconds.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    if s == "0001-01-01T00:00:00Z" {
        return Some(0);
    }
    chrono::DateTime::parse_from_rfc3339(s)
        .ok()?
        .timestamp_nanos_opt()
}

/// Go's `Duration.String()`: `1h2m3.5s`, `1.5s`, `500ms`, `0s`.
pub fn go_duration(nanos: i64) -> String {
    if nanos == 0 {
        return "0s".into();
    }
    let neg = nanos < 0;
    let u = nanos.unsigned_abs() as u128;
    let sign = if neg { "-" } else { "" };
    let frac = |v: u128, unit: u128| -> String {
        let whole = v / unit;
        let rest = v % unit;
        if rest == 0 {
            return whole.to_string();
        }
        let digits = unit.to_string().len() - 1;
        let f = format!("{rest:0digits$}");
        format!("{whole}.{}", f.trim_end_matches('0'))
    };
    if u < 1_000 {
        return format!("{sign}{u}ns");
    }
    if u < 1_000_000 {
        return format!("{sign}{}µs", frac(u, 1_000));
    }
    if u < 1_000_000_000 {
        return format!("{sign}{}ms", frac(u, 1_000_000));
    }
    let secs_total = u / 1_000_000_000;
    let sub = u % 1_000_000_000;
    let h = secs_total / 3600;
    let m = (secs_total % 3600) / 60;
    let s = frac((secs_total % 60) * 1_000_000_000 + sub, 1_000_000_000);
    match (h, m) {
        (0, 0) => format!("{sign}{s}s"),
        (0, m) => format!("{sign}{m}m{s}s"),
        (h, m) => format!("{sign}{h}h{m}m{s}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_go() {
        assert_eq!(rfc3339(0), "0001-01-01T00:00:00Z");
        assert_eq!(
            rfc3339(1_764_921_637_649_885_375),
            "2025-12-05T08:00:37.649885375Z"
        );
        assert_eq!(rfc3339(1_764_921_637_100_000_000), "2025-12-05T08:00:37.1Z");
        assert_eq!(
            parse_rfc3339("2025-12-05T08:00:37.1Z"),
            Some(1_764_921_637_100_000_000)
        );
    }
}

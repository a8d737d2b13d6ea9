//! Go's value syntaxes that the options use: `time.ParseDuration` strings, `Duration`'s
//! `String()` form (it appears in error messages), and `net.SplitHostPort` addresses.
//!
//! Invariant: error texts are the ones Go produces, since nats-server passes them through.

use super::value::go_quote;
use std::time::Duration;

const NS: i128 = 1;
const US: i128 = 1_000;
const MS: i128 = 1_000_000;
const SEC: i128 = 1_000_000_000;
const MIN: i128 = 60 * SEC;
const HOUR: i128 = 60 * MIN;

/// Go's `time.ParseDuration`: signed nanoseconds, or Go's error text.
pub(crate) fn parse_go_duration(orig: &str) -> Result<i64, String> {
    let invalid = || format!("time: invalid duration {}", go_quote(orig));
    let mut s = orig;
    let mut neg = false;
    if let Some(rest) = s.strip_prefix('-') {
        neg = true;
        s = rest;
    } else if let Some(rest) = s.strip_prefix('+') {
        s = rest;
    }
    if s == "0" {
        return Ok(0);
    }
    if s.is_empty() {
        return Err(invalid());
    }
    let mut total: i128 = 0;
    while !s.is_empty() {
        let b = s.as_bytes();
        if !(b[0] == b'.' || b[0].is_ascii_digit()) {
            return Err(invalid());
        }
        let int_len = b.iter().take_while(|c| c.is_ascii_digit()).count();
        let int_part: i128 = if int_len > 0 {
            s[..int_len].parse().map_err(|_| invalid())?
        } else {
            0
        };
        s = &s[int_len..];
        let (mut frac, mut scale, mut frac_len) = (0i128, 1i128, 0usize);
        if let Some(rest) = s.strip_prefix('.') {
            s = rest;
            frac_len = s.bytes().take_while(|c| c.is_ascii_digit()).count();
            for d in s[..frac_len].bytes() {
                // Beyond 18 digits the extra precision is below a nanosecond; drop it.
                if scale < 1_000_000_000_000_000_000 {
                    frac = frac * 10 + i128::from(d - b'0');
                    scale *= 10;
                }
            }
            s = &s[frac_len..];
        }
        if int_len == 0 && frac_len == 0 {
            return Err(invalid());
        }
        let unit_len = s
            .bytes()
            .take_while(|c| *c != b'.' && !c.is_ascii_digit())
            .count();
        if unit_len == 0 {
            return Err(format!("time: missing unit in duration {}", go_quote(orig)));
        }
        let unit = &s[..unit_len];
        s = &s[unit_len..];
        let per = match unit {
            "ns" => NS,
            "us" | "µs" | "μs" => US,
            "ms" => MS,
            "s" => SEC,
            "m" => MIN,
            "h" => HOUR,
            _ => {
                return Err(format!(
                    "time: unknown unit {} in duration {}",
                    go_quote(unit),
                    go_quote(orig)
                ))
            }
        };
        total += int_part.checked_mul(per).ok_or_else(invalid)? + frac * per / scale;
        if total > i128::from(i64::MAX) {
            return Err(invalid());
        }
    }
    let total = if neg { -total } else { total };
    i64::try_from(total).map_err(|_| invalid())
}

/// Go's `Duration.String()`: `1h2m3.5s`, `1.5s`, `500ms`, `0s`.
pub(crate) fn go_duration_string(nanos: i64) -> String {
    nats_jetstream::time::go_duration(nanos)
}

pub(crate) fn to_duration(nanos: i64) -> Option<Duration> {
    u64::try_from(nanos).ok().map(Duration::from_nanos)
}

pub(crate) fn duration_nanos(d: Duration) -> i64 {
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}

/// Go's `net.SplitHostPort`.
pub(crate) fn split_host_port(hp: &str) -> Result<(String, String), String> {
    let fail = |why: &str| Err(format!("address {hp}: {why}"));
    let Some(i) = hp.rfind(':') else {
        return fail("missing port in address");
    };
    let host;
    if hp.starts_with('[') {
        let Some(end) = hp.find(']') else {
            return fail("missing ']' in address");
        };
        if end + 1 == hp.len() {
            return fail("missing port in address");
        }
        if end + 1 != i {
            return if hp.as_bytes()[end + 1] == b':' {
                fail("too many colons in address")
            } else {
                fail("missing port in address")
            };
        }
        host = &hp[1..end];
        if host.contains('[') || hp[end + 1..].contains('[') {
            return fail("unexpected '[' in address");
        }
        if hp[end + 1..].contains(']') {
            return fail("unexpected ']' in address");
        }
    } else {
        host = &hp[..i];
        if host.contains(':') {
            return fail("too many colons in address");
        }
        if hp.contains('[') {
            return fail("unexpected '[' in address");
        }
        if hp.contains(']') {
            return fail("unexpected ']' in address");
        }
    }
    Ok((host.to_string(), hp[i + 1..].to_string()))
}

/// Go's `strconv.Atoi` for a port: optional sign, decimal digits, fits in 64 bits (and we
/// also need it to fit an `i32`).
pub(crate) fn atoi(s: &str) -> Option<i32> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse::<i64>().ok().and_then(|n| i32::try_from(n).ok())
}

//! How nats-server writes values in its monitoring JSON, so that ours reads the same:
//! Go's `time.Duration.String()`, the monitor's own "uptime" style, RFC 3339 timestamps
//! with nanoseconds, and `encoding/json`'s number and string encoding.
//!
//! The encoder is serde_json's pretty printer (2-space indent, like Go's `MarshalIndent`)
//! with three Go habits added: floats that are whole numbers print without `.0` (`"cpu": 0`,
//! `"auth_timeout": 2`), very small or large floats use Go's exponent form, and `<`, `>`,
//! `&`, U+2028 and U+2029 inside strings are escaped as `\u003e` and so on — which matters
//! because subjects such as `foo.>` appear in subscription lists.

use std::io;
use std::time::{Duration, SystemTime};

use serde::{Serialize, Serializer};
use serde_json::ser::{CharEscape, CompactFormatter, Formatter, PrettyFormatter};

/// A duration as Go's `time.Duration.String()` writes it: `1h2m3.5s`, `1.234567ms`,
/// `312µs`, `0s`. Every significant digit is kept, trailing zeros are not.
pub fn go_duration(d: Duration) -> String {
    let nanos = d.as_nanos();
    if nanos == 0 {
        return "0s".into();
    }
    if nanos < 1_000 {
        return format!("{nanos}ns");
    }
    if nanos < 1_000_000 {
        return format!("{}µs", decimal(nanos, 3));
    }
    if nanos < 1_000_000_000 {
        return format!("{}ms", decimal(nanos, 6));
    }
    let total_secs = d.as_secs();
    let (h, m) = (total_secs / 3600, (total_secs % 3600) / 60);
    let secs = decimal(
        u128::from(total_secs % 60) * 1_000_000_000 + u128::from(d.subsec_nanos()),
        9,
    );
    match (h, m) {
        (0, 0) => format!("{secs}s"),
        (0, m) => format!("{m}m{secs}s"),
        (h, m) => format!("{h}h{m}m{secs}s"),
    }
}

/// `v / 10^scale` in decimal without trailing fractional zeros.
fn decimal(v: u128, scale: u32) -> String {
    let div = 10u128.pow(scale);
    let (int, frac) = (v / div, v % div);
    if frac == 0 {
        return int.to_string();
    }
    let f = format!("{frac:0width$}", width = scale as usize);
    format!("{int}.{}", f.trim_end_matches('0'))
}

/// The monitor's uptime/idle style (Go's `myUptime`): whole seconds, largest unit first,
/// with days and 365-day years: `5s`, `2m5s`, `1h0m5s`, `3d1h0m5s`, `1y2d0h0m0s`.
pub fn uptime(d: Duration) -> String {
    let secs = d.as_secs();
    let (mins, hrs) = (secs / 60, secs / 3600);
    let (days, yrs) = (hrs / 24, hrs / 24 / 365);
    if yrs > 0 {
        format!(
            "{yrs}y{}d{}h{}m{}s",
            days % 365,
            hrs % 24,
            mins % 60,
            secs % 60
        )
    } else if days > 0 {
        format!("{days}d{}h{}m{}s", hrs % 24, mins % 60, secs % 60)
    } else if hrs > 0 {
        format!("{hrs}h{}m{}s", mins % 60, secs % 60)
    } else if mins > 0 {
        format!("{mins}m{}s", secs % 60)
    } else {
        format!("{secs}s")
    }
}

/// `later - earlier`, or zero if the clock says otherwise (Go would print a negative
/// duration; a monitor should not).
pub fn since(later: SystemTime, earlier: SystemTime) -> Duration {
    later.duration_since(earlier).unwrap_or_default()
}

/// An RTT as nats-server reports it: microsecond precision below a millisecond,
/// nanoseconds otherwise, `0s` when not measured yet.
pub fn rtt(d: Option<Duration>) -> String {
    let Some(d) = d else {
        return "0s".into();
    };
    let d = if d > Duration::from_micros(1) && d < Duration::from_millis(1) {
        Duration::from_micros(d.as_micros() as u64)
    } else {
        d
    };
    go_duration(d)
}

/// Go's `time.Time` JSON form in UTC: RFC 3339 with up to nine fractional digits, trailing
/// zeros dropped (`2023-01-05T10:12:13.0045Z`).
pub fn rfc3339(t: SystemTime) -> String {
    let dt: chrono::DateTime<chrono::Utc> = t.into();
    let mut s = dt.format("%Y-%m-%dT%H:%M:%S").to_string();
    let nanos = dt.timestamp_subsec_nanos();
    if nanos > 0 {
        let f = format!("{nanos:09}");
        s.push('.');
        s.push_str(f.trim_end_matches('0'));
    }
    s.push('Z');
    s
}

/// A timestamp that serializes as [`rfc3339`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct GoTime(pub SystemTime);

impl Serialize for GoTime {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&rfc3339(self.0))
    }
}

/// A float the way Go's `encoding/json` writes it: shortest round-trip digits, plain
/// decimal between 1e-6 and 1e21, exponent form (`1e-7`, `1e+21`) outside.
pub fn go_float(v: f64) -> String {
    let abs = v.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        let s = format!("{v:e}");
        return match s.split_once('e') {
            Some((m, e)) if !e.starts_with('-') => format!("{m}e+{e:0>2}"),
            _ => s,
        };
    }
    // Rust's `Display` is the shortest round-trip form and never uses an exponent.
    format!("{v}")
}

/// Serialize `v` as Go's `json.MarshalIndent(v, "", "  ")` would.
pub fn to_json_pretty<T: Serialize>(v: &T) -> Vec<u8> {
    encode(v, GoFormatter(PrettyFormatter::with_indent(b"  ")))
}

/// Serialize `v` as Go's `json.Marshal(v)` would (healthz answers compactly).
pub fn to_json_compact<T: Serialize>(v: &T) -> Vec<u8> {
    encode(v, GoFormatter(CompactFormatter))
}

fn encode<T: Serialize, F: Formatter>(v: &T, f: F) -> Vec<u8> {
    let mut out = Vec::with_capacity(1024);
    let mut ser = serde_json::Serializer::with_formatter(&mut out, f);
    // Our types serialize only strings, numbers, bools, sequences and maps with string
    // keys, which cannot fail; a failure would be a bug, shown as an empty object.
    if v.serialize(&mut ser).is_err() {
        return b"{}".to_vec();
    }
    out
}

/// serde_json's formatter `F` with Go's float and string habits.
struct GoFormatter<F>(F);

macro_rules! delegate {
    ($($name:ident($($arg:ident: $ty:ty),*);)*) => {$(
        fn $name<W: ?Sized + io::Write>(&mut self, w: &mut W $(, $arg: $ty)*) -> io::Result<()> {
            self.0.$name(w $(, $arg)*)
        }
    )*};
}

impl<F: Formatter> Formatter for GoFormatter<F> {
    delegate! {
        begin_array();
        end_array();
        begin_array_value(first: bool);
        end_array_value();
        begin_object();
        end_object();
        begin_object_key(first: bool);
        end_object_key();
        begin_object_value();
        end_object_value();
    }

    fn write_f64<W: ?Sized + io::Write>(&mut self, w: &mut W, v: f64) -> io::Result<()> {
        w.write_all(go_float(v).as_bytes())
    }

    fn write_f32<W: ?Sized + io::Write>(&mut self, w: &mut W, v: f32) -> io::Result<()> {
        w.write_all(go_float(f64::from(v)).as_bytes())
    }

    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        s: &str,
    ) -> io::Result<()> {
        let mut last = 0;
        for (i, c) in s.char_indices() {
            let esc = match c {
                '<' => "\\u003c",
                '>' => "\\u003e",
                '&' => "\\u0026",
                '\u{2028}' => "\\u2028",
                '\u{2029}' => "\\u2029",
                _ => continue,
            };
            w.write_all(&s.as_bytes()[last..i])?;
            w.write_all(esc.as_bytes())?;
            last = i + c.len_utf8();
        }
        w.write_all(&s.as_bytes()[last..])
    }

    fn write_char_escape<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        e: CharEscape,
    ) -> io::Result<()> {
        // Go (before 1.22) has no short forms for backspace and form feed.
        match e {
            CharEscape::Backspace => w.write_all(b"\\u0008"),
            CharEscape::FormFeed => w.write_all(b"\\u000c"),
            other => CompactFormatter.write_char_escape(w, other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_duration_formats() {
        assert_eq!(go_duration(Duration::ZERO), "0s");
        assert_eq!(go_duration(Duration::from_secs(10)), "10s");
        assert_eq!(go_duration(Duration::from_secs(120)), "2m0s");
        assert_eq!(go_duration(Duration::from_secs(3723)), "1h2m3s");
        assert_eq!(go_duration(Duration::from_millis(1500)), "1.5s");
        assert_eq!(go_duration(Duration::from_micros(312)), "312µs");
        assert_eq!(go_duration(Duration::from_micros(1234)), "1.234ms");
        // Go keeps every significant digit.
        assert_eq!(go_duration(Duration::from_nanos(1_234_567)), "1.234567ms");
        assert_eq!(go_duration(Duration::from_nanos(1_500)), "1.5µs");
        assert_eq!(go_duration(Duration::from_nanos(999)), "999ns");
        assert_eq!(
            go_duration(Duration::from_nanos(3_600_000_000_001)),
            "1h0m0.000000001s"
        );
        assert_eq!(go_duration(Duration::from_secs(100 * 3600)), "100h0m0s");
    }

    #[test]
    fn uptime_formats() {
        assert_eq!(uptime(Duration::ZERO), "0s");
        assert_eq!(uptime(Duration::from_millis(1999)), "1s");
        assert_eq!(uptime(Duration::from_secs(125)), "2m5s");
        assert_eq!(uptime(Duration::from_secs(3605)), "1h0m5s");
        assert_eq!(uptime(Duration::from_secs(3 * 86400 + 3605)), "3d1h0m5s");
        assert_eq!(uptime(Duration::from_secs(367 * 86400)), "1y2d0h0m0s");
    }

    #[test]
    fn rtt_truncates_below_a_millisecond() {
        assert_eq!(rtt(None), "0s");
        assert_eq!(rtt(Some(Duration::from_nanos(131_456))), "131µs");
        assert_eq!(rtt(Some(Duration::from_nanos(1_102_345))), "1.102345ms");
        assert_eq!(rtt(Some(Duration::from_nanos(900))), "900ns");
    }

    #[test]
    fn rfc3339_trims_fraction() {
        let t = SystemTime::UNIX_EPOCH + Duration::new(1_672_913_533, 4_500_000);
        assert_eq!(rfc3339(t), "2023-01-05T10:12:13.0045Z");
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_672_913_533);
        assert_eq!(rfc3339(t), "2023-01-05T10:12:13Z");
        let t = SystemTime::UNIX_EPOCH + Duration::new(0, 1);
        assert_eq!(rfc3339(t), "1970-01-01T00:00:00.000000001Z");
    }

    #[test]
    fn floats_as_go() {
        assert_eq!(go_float(0.0), "0");
        assert_eq!(go_float(2.0), "2");
        assert_eq!(go_float(0.3), "0.3");
        assert_eq!(go_float(0.23076923076923078), "0.23076923076923078");
        assert_eq!(go_float(1e-7), "1e-7");
        assert_eq!(go_float(1.5e-10), "1.5e-10");
        assert_eq!(go_float(1e21), "1e+21");
        assert_eq!(go_float(123456789.0), "123456789");
    }

    #[test]
    fn json_like_go() {
        #[derive(Serialize)]
        struct T {
            s: &'static str,
            f: f64,
            e: std::collections::BTreeMap<String, u64>,
            v: Vec<u8>,
        }
        let t = T {
            s: "foo.> <&>\u{8}",
            f: 2.0,
            e: Default::default(),
            v: vec![1],
        };
        let pretty = String::from_utf8(to_json_pretty(&t)).unwrap();
        assert_eq!(
            pretty,
            "{\n  \"s\": \"foo.\\u003e \\u003c\\u0026\\u003e\\u0008\",\n  \"f\": 2,\n  \"e\": {},\n  \"v\": [\n    1\n  ]\n}"
        );
        let compact = String::from_utf8(to_json_compact(&t)).unwrap();
        assert!(compact.starts_with("{\"s\":\"foo.\\u003e"), "{compact}");
    }
}

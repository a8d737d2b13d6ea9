//! Printing in natscli's shapes.
//!
//! natscli logs through Go's `log` package with only the `Ltime` flag, so log lines read
//! `23:34:45 text` (local time) and go to **stderr**; message bodies are printed with
//! `fmt` to **stdout**. We keep that split so `nats req x > reply.json` captures only the
//! reply, exactly as with natscli. Numbers and durations are formatted the Go way
//! (`1,234,567`, `1.182084ms`, `210.5µs`) because scripts and eyes are used to them.

use std::io::Write;
use std::time::Duration;

/// `HH:MM:SS` in local time, like Go's `log.Ltime`.
pub fn clock() -> String {
    chrono::Local::now().format("%H:%M:%S").to_string()
}

/// One natscli log line on stderr. Errors writing to stderr are ignored: there is
/// nowhere left to report them.
pub fn log(msg: &str) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{} {}", clock(), msg);
    let _ = err.flush();
}

/// Writes `bytes` to stdout and flushes, so a backgrounded `nats sub` shows each message
/// as it arrives even when stdout is a pipe.
pub fn stdout(bytes: &[u8]) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(bytes)?;
    out.flush()
}

/// Appends a message body the way natscli prints it: the body, a newline unless the
/// body already ends in one, and `nil body` for an empty payload.
pub fn push_body(buf: &mut Vec<u8>, body: &[u8]) {
    if body.is_empty() {
        buf.extend_from_slice(b"nil body\n");
        return;
    }
    buf.extend_from_slice(body);
    if !body.ends_with(b"\n") {
        buf.push(b'\n');
    }
}

/// Headers as `Key: Value` lines, sorted by name so output is stable (Go iterates its
/// header map in random order; a fixed order is strictly more useful).
pub fn header_lines(headers: Option<&async_nats::HeaderMap>) -> Vec<String> {
    let Some(headers) = headers else {
        return Vec::new();
    };
    let mut pairs: Vec<(String, Vec<String>)> = headers
        .iter()
        .map(|(k, vs)| (k.to_string(), vs.iter().map(|v| v.to_string()).collect()))
        .collect();
    pairs.sort_by(|a, b| a.0.cmp(&b.0));
    pairs
        .into_iter()
        .flat_map(|(k, vs)| vs.into_iter().map(move |v| format!("{k}: {v}")))
        .collect()
}

/// Go's `%q` for the strings we quote (subjects, queue names): double quotes, with
/// backslash escapes for quotes, backslashes and control characters.
pub fn quote(s: &str) -> String {
    let mut q = String::with_capacity(s.len() + 2);
    q.push('"');
    for c in s.chars() {
        match c {
            '"' => q.push_str("\\\""),
            '\\' => q.push_str("\\\\"),
            '\n' => q.push_str("\\n"),
            '\r' => q.push_str("\\r"),
            '\t' => q.push_str("\\t"),
            c if c.is_control() => q.push_str(&format!("\\x{:02x}", c as u32)),
            c => q.push(c),
        }
    }
    q.push('"');
    q
}

/// Go's `time.Duration.String()`: `0s`, `850ns`, `210.5µs`, `1.182084ms`, `2.5s`, `1m30s`.
pub fn go_duration(d: Duration) -> String {
    let ns = d.as_nanos();
    if ns == 0 {
        return "0s".into();
    }
    if ns < 1_000 {
        return format!("{ns}ns");
    }
    if ns < 1_000_000 {
        return format!("{}µs", fixed(ns, 1_000));
    }
    if ns < 1_000_000_000 {
        return format!("{}ms", fixed(ns, 1_000_000));
    }
    let total_secs = ns / 1_000_000_000;
    let frac_ns = ns % 1_000_000_000;
    let (h, m, s) = (total_secs / 3600, (total_secs / 60) % 60, total_secs % 60);
    let secs = fixed(s * 1_000_000_000 + frac_ns, 1_000_000_000);
    match (h, m) {
        (0, 0) => format!("{secs}s"),
        (0, m) => format!("{m}m{secs}s"),
        (h, m) => format!("{h}h{m}m{secs}s"),
    }
}

/// `value / unit` printed with all significant fractional digits and no trailing zeros.
fn fixed(value: u128, unit: u128) -> String {
    let whole = value / unit;
    let frac = value % unit;
    if frac == 0 {
        return whole.to_string();
    }
    let width = unit.to_string().len() - 1;
    let digits = format!("{frac:0width$}");
    format!("{whole}.{}", digits.trim_end_matches('0'))
}

/// `1234567` → `1,234,567` (go-humanize's `Comma`).
pub fn comma(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        // Digits left including this one; a separator goes before every third.
        let phase = (digits.len() - i) % 3;
        if i > 0 && phase == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// nats.go bench's `HumanBytes(bytes, false)`: base 1024 with `KB`, `MB`, … units.
pub fn human_bytes(bytes: f64) -> String {
    const UNITS: [&str; 6] = ["KB", "MB", "GB", "TB", "PB", "EB"];
    if !bytes.is_finite() || bytes < 1024.0 {
        return format!("{:.2} B", if bytes.is_finite() { bytes } else { 0.0 });
    }
    let exp = ((bytes.ln() / 1024f64.ln()) as usize).clamp(1, UNITS.len());
    format!("{:.2} {}", bytes / 1024f64.powi(exp as i32), UNITS[exp - 1])
}

/// A float with thousands separators and two decimals: `1234.5` → `1,234.5`
/// (go-humanize's `CommafWithDigits(x, 2)`, which also trims trailing zeros).
pub fn commaf2(x: f64) -> String {
    let rounded = (x * 100.0).round() / 100.0;
    let whole = rounded.trunc() as i64;
    let frac = ((rounded - rounded.trunc()).abs() * 100.0).round() as i64;
    let mut s = comma(whole);
    if frac != 0 {
        let f = format!("{frac:02}");
        s.push('.');
        s.push_str(f.trim_end_matches('0'));
    }
    s
}

/// go-humanize's `IBytes`: base 1024 with IEC units, `500 B`, `1.5 KiB`, `12 MiB`.
pub fn ibytes(n: u64) -> String {
    const UNITS: [&str; 7] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    if n < 10 {
        return format!("{n} B");
    }
    let exp = ((n as f64).ln() / 1024f64.ln()).floor() as i32;
    let exp = exp.clamp(0, UNITS.len() as i32 - 1);
    let val = ((n as f64) / 1024f64.powi(exp) * 10.0 + 0.5).floor() / 10.0;
    if val < 10.0 {
        format!("{val:.1} {}", UNITS[exp as usize])
    } else {
        format!("{val:.0} {}", UNITS[exp as usize])
    }
}

/// natscli's `HumanizeDuration` (how its tables print a `time.Duration`): Go's own form
/// rounded to the microsecond below 1ms and to the millisecond below 1s, then
/// `1m30s`, `2h3m4s`, `1d2h3m4s`, `1y2d3h4m5s` with whole seconds.
pub fn humanize_duration(d: Duration) -> String {
    let round = |unit: u128| {
        let ns = d.as_nanos();
        // Go's Duration.Round: halves away from zero.
        let r = (ns + unit / 2) / unit * unit;
        Duration::from_nanos(r.min(u64::MAX as u128) as u64)
    };
    if d < Duration::from_millis(1) {
        return go_duration(round(1_000));
    }
    if d < Duration::from_secs(1) {
        return go_duration(round(1_000_000));
    }
    let secs = d.as_secs();
    let (mins, hrs) = (secs / 60, secs / 3600);
    let (days, years) = (hrs / 24, hrs / 24 / 365);
    if years > 0 {
        format!(
            "{years}y{}d{}h{}m{}s",
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
        format!("{:.2}s", d.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_like_go() {
        assert_eq!(go_duration(Duration::ZERO), "0s");
        assert_eq!(go_duration(Duration::from_nanos(850)), "850ns");
        assert_eq!(go_duration(Duration::from_nanos(210_500)), "210.5µs");
        assert_eq!(go_duration(Duration::from_nanos(1_182_084)), "1.182084ms");
        assert_eq!(go_duration(Duration::from_millis(2500)), "2.5s");
        assert_eq!(go_duration(Duration::from_secs(90)), "1m30s");
        assert_eq!(go_duration(Duration::from_secs(3661)), "1h1m1s");
    }

    #[test]
    fn numbers_like_humanize() {
        assert_eq!(comma(0), "0");
        assert_eq!(comma(999), "999");
        assert_eq!(comma(1_234_567), "1,234,567");
        assert_eq!(comma(-1000), "-1,000");
        assert_eq!(human_bytes(100.0), "100.00 B");
        assert_eq!(human_bytes(19_755_000.0), "18.84 MB");
        assert_eq!(commaf2(1234.5), "1,234.5");
        assert_eq!(commaf2(12.0), "12");
        assert_eq!(commaf2(0.456), "0.46");
    }

    #[test]
    fn humanize_like_natscli() {
        assert_eq!(ibytes(0), "0 B");
        assert_eq!(ibytes(500), "500 B");
        assert_eq!(ibytes(1536), "1.5 KiB");
        assert_eq!(ibytes(12_185_600), "12 MiB");
        assert_eq!(ibytes(1_048_576), "1.0 MiB");
        let d = Duration::from_nanos;
        assert_eq!(humanize_duration(d(0)), "0s");
        assert_eq!(humanize_duration(d(650_241)), "650µs");
        assert_eq!(humanize_duration(d(3_600_000)), "4ms");
        assert_eq!(humanize_duration(Duration::from_millis(2500)), "2.50s");
        assert_eq!(humanize_duration(Duration::from_secs(77)), "1m17s");
        assert_eq!(humanize_duration(Duration::from_secs(90_061)), "1d1h1m1s");
    }

    #[test]
    fn quoting_like_go() {
        assert_eq!(quote("hello"), "\"hello\"");
        assert_eq!(quote("a\"b"), "\"a\\\"b\"");
    }

    #[test]
    fn bodies() {
        let mut b = Vec::new();
        push_body(&mut b, b"x");
        push_body(&mut b, b"y\n");
        push_body(&mut b, b"");
        assert_eq!(b, b"x\ny\nnil body\n");
    }
}

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

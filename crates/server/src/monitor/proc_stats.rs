//! Memory and CPU of this process for `/varz`, read from `/proc` as nats-server's `pse`
//! package does on Linux: `mem` is the resident set size in bytes, `cpu` the percentage of
//! one core used, rounded down to a tenth.
//!
//! Go samples CPU once a second in the background; we take a sample when `/varz` is asked
//! and at most once a second, so an idle server does no work for it. The first answer is
//! the average since the process started, as Go's first sample is. Elsewhere than Linux
//! both read as 0.

use std::time::Instant;

use parking_lot::Mutex;

/// Clock ticks per second. Go assumes 100 too (`USER_HZ`, the same on every Linux
/// architecture that matters).
const TICKS: f64 = 100.0;
/// Page size for `statm`. Go's `pse` also assumes 4 KiB pages.
const PAGE: u64 = 4096;

struct Sample {
    at: Instant,
    ticks: u64,
    cpu: f64,
}

static LAST: Mutex<Option<Sample>> = Mutex::new(None);

/// Resident memory in bytes, or 0 when unknown.
pub fn rss() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * PAGE)
}

/// CPU use in percent of one core.
pub fn cpu() -> f64 {
    let Some(stat) = read_stat() else {
        return 0.0;
    };
    let now = Instant::now();
    let mut last = LAST.lock();
    let cpu = match last.as_ref() {
        Some(s) if now.duration_since(s.at).as_secs_f64() < 1.0 => return s.cpu,
        Some(s) => percent(
            stat.ticks.saturating_sub(s.ticks),
            now.duration_since(s.at).as_secs_f64(),
        ),
        None => match uptime_secs() {
            Some(up) => percent(stat.ticks, up - stat.start_ticks as f64 / TICKS),
            None => 0.0,
        },
    };
    *last = Some(Sample {
        at: now,
        ticks: stat.ticks,
        cpu,
    });
    cpu
}

/// `ticks` of CPU over `secs` of wall time, in percent, rounded down to 0.1.
fn percent(ticks: u64, secs: f64) -> f64 {
    if secs <= 0.0 {
        return 0.0;
    }
    let per_mille = (ticks as f64 / TICKS * 1000.0 / secs).floor();
    per_mille / 10.0
}

struct Stat {
    /// utime + stime.
    ticks: u64,
    /// Process start, in ticks since boot.
    start_ticks: u64,
}

fn read_stat() -> Option<Stat> {
    let s = std::fs::read_to_string("/proc/self/stat").ok()?;
    parse_stat(&s)
}

/// Fields after the command name (which may hold spaces, hence the last `)`): state is
/// field 3 of `proc(5)`, utime 14, stime 15, starttime 22.
fn parse_stat(s: &str) -> Option<Stat> {
    let rest = &s[s.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let field = |n: usize| f.get(n - 3)?.parse::<u64>().ok();
    Some(Stat {
        ticks: field(14)? + field(15)?,
        start_ticks: field(22)?,
    })
}

fn uptime_secs() -> Option<f64> {
    std::fs::read_to_string("/proc/uptime")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_stat_with_spaces_in_name() {
        let line = "1234 (my (odd) name) S 1 1234 1234 0 -1 4194560 100 0 0 0 \
                    250 50 0 0 20 0 4 0 98765 123456 789 18446744073709551615";
        let st = parse_stat(line).unwrap();
        assert_eq!(st.ticks, 300);
        assert_eq!(st.start_ticks, 98765);
    }

    #[test]
    fn percent_rounds_down_to_a_tenth() {
        assert_eq!(percent(0, 1.0), 0.0);
        assert_eq!(percent(100, 1.0), 100.0);
        assert_eq!(percent(1, 3.0), 0.3);
        assert_eq!(percent(5, 0.0), 0.0);
    }

    #[test]
    fn reads_this_process() {
        if std::path::Path::new("/proc/self/statm").exists() {
            assert!(rss() > 0);
            assert!(cpu() >= 0.0);
        }
    }
}

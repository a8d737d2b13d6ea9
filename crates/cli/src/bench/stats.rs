//! Benchmark arithmetic and the report, in the shape of nats.go's classic `bench`
//! package that natscli printed for years:
//!
//! ```text
//! NATS Pub/Sub stats: 2,345,678 msgs/sec ~ 286.33 MB/sec
//!  Pub stats: 1,172,839 msgs/sec ~ 143.17 MB/sec
//!   [1] 1,172,839 msgs/sec ~ 143.17 MB/sec (100000 msgs)
//!   min 1,172,839 | avg 1,172,839 | max 1,172,839 | stddev 0 msgs
//!  Sub stats: ...
//! ```
//!
//! A client's rate is its message count over its own first-to-last time; a group's rate
//! is the group's total over the span from the earliest start to the latest end. Unlike
//! nats.go we print the per-client lines even for a single client, because they carry
//! the message count the bench verified.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use crate::out::{comma, commaf2, human_bytes};

/// One client's work.
#[derive(Clone, Debug)]
pub struct Sample {
    pub msgs: u64,
    pub bytes: u64,
    pub start: Instant,
    pub end: Instant,
}

impl Sample {
    pub fn new(msgs: u64, size: usize, start: Instant, end: Instant) -> Self {
        Sample {
            msgs,
            bytes: msgs * size as u64,
            start,
            end,
        }
    }

    pub fn duration(&self) -> Duration {
        self.end.saturating_duration_since(self.start)
    }

    pub fn rate(&self) -> i64 {
        rate(self.msgs, self.duration())
    }

    pub fn throughput(&self) -> f64 {
        throughput(self.bytes, self.duration())
    }
}

impl std::fmt::Display for Sample {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} msgs/sec ~ {}/sec",
            comma(self.rate()),
            human_bytes(self.throughput())
        )
    }
}

fn rate(msgs: u64, d: Duration) -> i64 {
    let secs = d.as_secs_f64();
    if secs <= 0.0 {
        return 0;
    }
    (msgs as f64 / secs) as i64
}

fn throughput(bytes: u64, d: Duration) -> f64 {
    let secs = d.as_secs_f64();
    if secs <= 0.0 {
        return 0.0;
    }
    bytes as f64 / secs
}

/// Several clients of one kind (publishers or subscribers), merged.
pub fn merge(samples: &[Sample]) -> Option<Sample> {
    let first = samples.first()?;
    let mut total = first.clone();
    for s in &samples[1..] {
        total.msgs += s.msgs;
        total.bytes += s.bytes;
        total.start = total.start.min(s.start);
        total.end = total.end.max(s.end);
    }
    Some(total)
}

/// `min X | avg X | max X | stddev X msgs` over the clients' rates.
pub fn rate_statistics(samples: &[Sample]) -> String {
    let rates: Vec<i64> = samples.iter().map(Sample::rate).collect();
    let (min, max) = (
        rates.iter().copied().min().unwrap_or(0),
        rates.iter().copied().max().unwrap_or(0),
    );
    let avg = if rates.is_empty() {
        0
    } else {
        rates.iter().sum::<i64>() / rates.len() as i64
    };
    let var = if rates.is_empty() {
        0.0
    } else {
        rates
            .iter()
            .map(|&r| (r as f64 - avg as f64).powi(2))
            .sum::<f64>()
            / rates.len() as f64
    };
    format!(
        "min {} | avg {} | max {} | stddev {} msgs",
        comma(min),
        comma(avg),
        comma(max),
        comma(var.sqrt() as i64)
    )
}

/// The full report for publishers and subscribers.
pub fn report(pubs: &[Sample], subs: &[Sample]) -> String {
    let mut buf = String::new();
    if pubs.is_empty() && subs.is_empty() {
        return "No publisher or subscribers. Nothing to report.\n".into();
    }
    let mut indent = "";
    if !pubs.is_empty() && !subs.is_empty() {
        let all: Vec<Sample> = pubs.iter().chain(subs).cloned().collect();
        if let Some(total) = merge(&all) {
            let _ = writeln!(buf, "NATS Pub/Sub stats: {total}");
        }
        indent = " ";
    }
    for (label, samples) in [("Pub", pubs), ("Sub", subs)] {
        let Some(total) = merge(samples) else {
            continue;
        };
        let _ = writeln!(buf, "{indent}{label} stats: {total}");
        for (i, s) in samples.iter().enumerate() {
            let _ = writeln!(buf, "{indent} [{}] {s} ({} msgs)", i + 1, s.msgs);
        }
        let _ = writeln!(buf, "{indent} {}", rate_statistics(samples));
    }
    buf
}

/// A latency histogram in nanoseconds, 1ns to 1 hour, 3 significant digits.
pub fn new_histogram() -> anyhow::Result<Histogram<u64>> {
    Histogram::new_with_bounds(1, 3_600_000_000_000, 3)
        .map_err(|e| anyhow::anyhow!("creating latency histogram: {e}"))
}

/// `min … | avg … | p50 … | p90 … | p99 … | p99.9 … | max …`, in microseconds.
pub fn latency_line(h: &Histogram<u64>) -> String {
    let us = |ns: f64| format!("{}us", commaf2(ns / 1000.0));
    format!(
        "min {} | avg {} | p50 {} | p90 {} | p99 {} | p99.9 {} | max {} | stddev {} ({} requests)",
        us(h.min() as f64),
        us(h.mean()),
        us(h.value_at_quantile(0.50) as f64),
        us(h.value_at_quantile(0.90) as f64),
        us(h.value_at_quantile(0.99) as f64),
        us(h.value_at_quantile(0.999) as f64),
        us(h.max() as f64),
        us(h.stdev()),
        comma(h.len() as i64)
    )
}

/// natscli's CSV: `#RunID,ClientID,MsgCount,MsgBytes,MsgsPerSec,BytesPerSec,DurationSecs`
/// with client ids `P0…` for publishers and `S0…` for subscribers.
pub fn csv(run_id: &str, pubs: &[Sample], subs: &[Sample]) -> String {
    let mut buf =
        String::from("#RunID,ClientID,MsgCount,MsgBytes,MsgsPerSec,BytesPerSec,DurationSecs\n");
    for (prefix, samples) in [("P", pubs), ("S", subs)] {
        for (j, s) in samples.iter().enumerate() {
            let _ = writeln!(
                buf,
                "{run_id},{prefix}{j},{},{},{},{:.6},{:.6}",
                s.msgs,
                s.bytes,
                s.rate(),
                s.throughput(),
                s.duration().as_secs_f64()
            );
        }
    }
    buf
}

/// One group of clients (all publishers or all subscribers) as JSON for `--json`:
/// the merged rate plus each client's verified message count. `null` for no clients.
pub fn group_json(samples: &[Sample]) -> serde_json::Value {
    let Some(total) = merge(samples) else {
        return serde_json::Value::Null;
    };
    serde_json::json!({
        "clients": samples.len(),
        "msgs": total.msgs,
        "bytes": total.bytes,
        "secs": total.duration().as_secs_f64(),
        "msgs_per_sec": total.rate(),
        "bytes_per_sec": total.throughput().round(),
        "counts": samples.iter().map(|s| s.msgs).collect::<Vec<_>>(),
    })
}

/// The latency histogram as JSON, in microseconds (fractional).
pub fn latency_json(h: &Histogram<u64>) -> serde_json::Value {
    let us = |ns: f64| (ns / 1000.0 * 1000.0).round() / 1000.0;
    serde_json::json!({
        "count": h.len(),
        "min_us": us(h.min() as f64),
        "avg_us": us(h.mean()),
        "p50_us": us(h.value_at_quantile(0.50) as f64),
        "p90_us": us(h.value_at_quantile(0.90) as f64),
        "p99_us": us(h.value_at_quantile(0.99) as f64),
        "p999_us": us(h.value_at_quantile(0.999) as f64),
        "max_us": us(h.max() as f64),
        "stddev_us": us(h.stdev()),
    })
}

/// CPU time this process used over a wall-clock span: shows whether the load
/// generator, rather than the server, was the bottleneck.
#[derive(Clone, Copy, Debug)]
pub struct ClientCpu {
    pub cpu: Duration,
    pub wall: Duration,
}

impl ClientCpu {
    /// CPU used since `before` (from [`process_cpu`]) and wall time since `started`.
    pub fn since(before: Option<Duration>, started: Instant) -> Option<ClientCpu> {
        let after = process_cpu()?;
        Some(ClientCpu {
            cpu: after.saturating_sub(before?),
            wall: started.elapsed(),
        })
    }

    /// CPU as a percentage of one core over the wall time.
    pub fn percent(&self) -> f64 {
        100.0 * self.cpu.as_secs_f64() / self.wall.as_secs_f64().max(1e-9)
    }

    /// Adds `client_cpu_secs`, `client_cpu_pct` and `wall_secs` to a JSON object.
    pub fn add_to(this: Option<&ClientCpu>, obj: &mut serde_json::Value) {
        if let (Some(c), Some(map)) = (this, obj.as_object_mut()) {
            map.insert("client_cpu_secs".into(), c.cpu.as_secs_f64().into());
            map.insert("client_cpu_pct".into(), (c.percent().round()).into());
            map.insert("wall_secs".into(), c.wall.as_secs_f64().into());
        }
    }
}

impl std::fmt::Display for ClientCpu {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "bench client CPU: {:.2}s user+sys ({:.0}% of {:.2}s wall)",
            self.cpu.as_secs_f64(),
            self.percent(),
            self.wall.as_secs_f64()
        )
    }
}

/// This process's CPU time (user + system, all threads) from `/proc/self/stat`.
/// Fields 14 and 15 count clock ticks; Linux reports them at USER_HZ = 100 on every
/// architecture we run on, and without libc we cannot ask sysconf, so 100 is assumed.
pub fn process_cpu() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name (field 2) may contain spaces; fields after it follow the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(Duration::from_millis((utime + stime) * 10))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(msgs: u64, secs: f64) -> Sample {
        // One shared origin, so merged spans are exact.
        thread_local!(static ORIGIN: Instant = Instant::now());
        let start = ORIGIN.with(|o| *o);
        Sample::new(msgs, 100, start, start + Duration::from_secs_f64(secs))
    }

    #[test]
    fn rates_and_report() {
        let p = vec![sample(1000, 1.0), sample(1000, 2.0)];
        assert_eq!(p[0].rate(), 1000);
        assert_eq!(
            rate_statistics(&p),
            "min 500 | avg 750 | max 1,000 | stddev 250 msgs"
        );
        let r = report(&p, &[sample(2000, 2.0)]);
        assert!(r.starts_with("NATS Pub/Sub stats: 2,000 msgs/sec"), "{r}");
        assert!(
            r.contains("\n Pub stats: 1,000 msgs/sec ~ 97.66 KB/sec\n"),
            "{r}"
        );
        assert!(
            r.contains("\n  [2] 500 msgs/sec ~ 48.83 KB/sec (1000 msgs)\n"),
            "{r}"
        );
        assert!(r.contains("\n Sub stats: "), "{r}");
    }

    #[test]
    fn zero_duration_is_not_a_division_by_zero() {
        assert_eq!(sample(5, 0.0).rate(), 0);
    }

    #[test]
    fn csv_rows() {
        let c = csv("RID", &[sample(10, 1.0)], &[sample(10, 1.0)]);
        assert!(
            c.contains("\nRID,P0,10,1000,10,1000.000000,1.000000\n"),
            "{c}"
        );
        assert!(c.contains("\nRID,S0,10,"), "{c}");
    }

    #[test]
    fn cpu_time_is_readable() {
        assert!(process_cpu().is_some());
    }

    #[test]
    fn json_shapes() {
        let p = vec![sample(1000, 1.0), sample(3000, 1.0)];
        let g = group_json(&p);
        assert_eq!(g["clients"], 2);
        assert_eq!(g["msgs"], 4000);
        assert_eq!(g["msgs_per_sec"], 4000);
        assert_eq!(g["bytes_per_sec"], 400_000.0);
        assert_eq!(g["counts"], serde_json::json!([1000, 3000]));
        assert!(group_json(&[]).is_null());

        let mut h = Histogram::<u64>::new(3).expect("histogram");
        for v in 1..=1000u64 {
            let _ = h.record(v * 1000);
        }
        let l = latency_json(&h);
        assert_eq!(l["count"], 1000);
        // hdrhistogram keeps 3 significant digits: values are within 0.1%.
        let near = |key: &str, want: f64| {
            let got = l[key].as_f64().unwrap_or(f64::NAN);
            assert!((got - want).abs() <= want * 0.001, "{key}: {got} vs {want}");
        };
        near("min_us", 1.0);
        near("p50_us", 500.0);
        near("p90_us", 900.0);
        near("p99_us", 990.0);
        near("p999_us", 999.0);
        near("max_us", 1000.0);
    }

    #[test]
    fn client_cpu_line_and_json() {
        let c = ClientCpu {
            cpu: Duration::from_millis(500),
            wall: Duration::from_secs(2),
        };
        assert_eq!(
            c.to_string(),
            "bench client CPU: 0.50s user+sys (25% of 2.00s wall)"
        );
        let mut obj = serde_json::json!({"kind": "x"});
        ClientCpu::add_to(Some(&c), &mut obj);
        assert_eq!(obj["client_cpu_secs"], 0.5);
        assert_eq!(obj["client_cpu_pct"], 25.0);
        assert_eq!(obj["wall_secs"], 2.0);
    }

    #[test]
    fn latency_summary() {
        let mut h = new_histogram().unwrap_or_else(|_| Histogram::new(3).expect("histogram"));
        for v in [1_000u64, 2_000, 3_000] {
            let _ = h.record(v);
        }
        let line = latency_line(&h);
        assert!(line.starts_with("min 1us | avg 2us | p50 2us"), "{line}");
    }
}

//! `nats server check connection`: jsm.go's connection check, as natscli runs it.
//!
//! Steps: time the connect; time a PING/PONG (the RTT); subscribe to a fresh inbox with
//! auto-unsubscribe after one message, publish 100 random bytes to it and expect the same
//! bytes back, timing that round trip. Each step is compared with its warning and
//! critical thresholds (natscli's defaults: 500ms and 1s) and the result printed as one
//! Nagios line: `STATUS Connection OK:… OK:… | perfdata`.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use bytes::Bytes;
use clap::{Args, Subcommand};
use futures::StreamExt;

use crate::opts::{parse_duration, GlobalOpts};
use crate::out;

#[derive(Args, Debug)]
pub struct CheckArgs {
    #[command(subcommand)]
    pub command: CheckCommand,
}

#[derive(Subcommand, Debug)]
pub enum CheckCommand {
    /// Checks basic server connection
    #[command(alias = "conn")]
    Connection(ConnArgs),
}

#[derive(Args, Debug)]
pub struct ConnArgs {
    /// Warning threshold to allow for establishing connections
    #[arg(long = "connect-warn", default_value = "500ms", value_parser = parse_duration)]
    pub connect_warn: Duration,
    /// Critical threshold to allow for establishing connections
    #[arg(long = "connect-critical", default_value = "1s", value_parser = parse_duration)]
    pub connect_critical: Duration,
    /// Warning threshold to allow for server RTT
    #[arg(long = "rtt-warn", default_value = "500ms", value_parser = parse_duration)]
    pub rtt_warn: Duration,
    /// Critical threshold to allow for server RTT
    #[arg(long = "rtt-critical", default_value = "1s", value_parser = parse_duration)]
    pub rtt_critical: Duration,
    /// Warning threshold to allow for full round trip test
    #[arg(long = "req-warn", default_value = "500ms", value_parser = parse_duration)]
    pub req_warn: Duration,
    /// Critical threshold to allow for full round trip test
    #[arg(long = "req-critical", default_value = "1s", value_parser = parse_duration)]
    pub req_critical: Duration,
}

/// A Nagios-style check result (jsm.go's `monitor.Result`, nagios rendering only).
#[derive(Default)]
pub struct CheckResult {
    name: String,
    oks: Vec<String>,
    warnings: Vec<String>,
    criticals: Vec<String>,
    perf: Vec<String>,
}

impl CheckResult {
    pub fn new(name: &str) -> Self {
        CheckResult {
            name: name.into(),
            ..Default::default()
        }
    }

    /// Records a timing with its thresholds and files the message under the right status.
    fn timed(
        &mut self,
        pd: &str,
        value: Duration,
        warn: Duration,
        crit: Duration,
        msgs: [String; 3],
    ) {
        self.perf.push(format!(
            "{pd}={:.4}s;{:.4};{:.4}",
            value.as_secs_f64(),
            warn.as_secs_f64(),
            crit.as_secs_f64()
        ));
        let [ok, warn_msg, crit_msg] = msgs;
        if !crit.is_zero() && value >= crit {
            self.criticals.push(crit_msg);
        } else if !warn.is_zero() && value >= warn {
            self.warnings.push(warn_msg);
        } else {
            self.oks.push(ok);
        }
    }

    pub fn status(&self) -> (&'static str, u8) {
        if !self.criticals.is_empty() {
            ("CRITICAL", 2)
        } else if !self.warnings.is_empty() {
            ("WARNING", 1)
        } else {
            ("OK", 0)
        }
    }

    pub fn render(&self) -> String {
        let mut parts = vec![self.name.clone()];
        parts.extend(self.criticals.iter().map(|c| format!("Crit:{c}")));
        parts.extend(self.warnings.iter().map(|w| format!("Warn:{w}")));
        parts.extend(self.oks.iter().map(|o| format!("OK:{o}")));
        let (status, _) = self.status();
        if self.perf.is_empty() {
            format!("{status} {}", parts.join(" "))
        } else {
            format!("{status} {} | {}", parts.join(" "), self.perf.join(" "))
        }
    }
}

pub async fn run(global: &GlobalOpts, args: CheckArgs) -> anyhow::Result<ExitCode> {
    let CheckCommand::Connection(a) = args.command;
    let mut result = CheckResult::new("Connection");
    check_connection(global, &a, &mut result).await;
    println!("{}", result.render());
    Ok(ExitCode::from(result.status().1))
}

/// Secs as Go's `%v` prints a float64: `1`, `0.5`.
fn secs(d: Duration) -> String {
    format!("{}", d.as_secs_f64())
}

async fn check_connection(global: &GlobalOpts, a: &ConnArgs, r: &mut CheckResult) {
    let start = Instant::now();
    let client = match global.connect().await {
        Ok(c) => c,
        Err(err) => {
            r.criticals.push(format!("connection failed: {err:#}"));
            return;
        }
    };
    let ct = start.elapsed();
    let url = connected_url(global, &client);
    r.timed(
        "connect_time",
        ct,
        a.connect_warn,
        a.connect_critical,
        [
            format!("connected to {url} in {}", out::go_duration(ct)),
            format!(
                "connected to {url}, connect time exceeded {}",
                secs(a.connect_warn)
            ),
            format!(
                "connected to {url}, connect time exceeded {}",
                secs(a.connect_critical)
            ),
        ],
    );

    let start = Instant::now();
    if let Err(err) = crate::cmd::pub_::flush(&client, global.timeout).await {
        r.criticals.push(format!("rtt failed: {err:#}"));
        return;
    }
    let rtt = start.elapsed();
    r.timed(
        "rtt",
        rtt,
        a.rtt_warn,
        a.rtt_critical,
        [
            format!("rtt time {}", out::go_duration(rtt)),
            format!("rtt time exceeded {}", secs(a.rtt_warn)),
            format!("rtt time exceeded {}", secs(a.rtt_critical)),
        ],
    );

    let inbox = client.new_inbox();
    let mut sub = match client.subscribe(inbox.clone()).await {
        Ok(s) => s,
        Err(err) => {
            r.criticals
                .push(format!("could not subscribe to {inbox}: {err}"));
            return;
        }
    };
    if let Err(err) = sub.unsubscribe_after(1).await {
        r.criticals
            .push(format!("could not subscribe to {inbox}: {err}"));
        return;
    }
    let body = Bytes::from(crate::template::random_string(100, 100));
    let start = Instant::now();
    if let Err(err) = client.publish(inbox.clone(), body.clone()).await {
        r.criticals
            .push(format!("could not publish to {inbox}: {err}"));
        return;
    }
    let received = match tokio::time::timeout(global.timeout, sub.next()).await {
        Ok(Some(m)) => m,
        Ok(None) => {
            r.criticals
                .push(format!("did not receive from {inbox}: subscription closed"));
            return;
        }
        Err(_) => {
            r.criticals
                .push(format!("did not receive from {inbox}: nats: timeout"));
            return;
        }
    };
    let reqt = start.elapsed();
    if received.payload != body {
        r.criticals.push("did not receive expected message".into());
    }
    r.timed(
        "request_time",
        reqt,
        a.req_warn,
        a.req_critical,
        [
            format!("round trip took {:.6}s", reqt.as_secs_f64()),
            format!("round trip request took {:.6}", reqt.as_secs_f64()),
            format!("round trip request took {:.6}", reqt.as_secs_f64()),
        ],
    );
}

/// The URL we are connected to: the `-s` entry matching the server's INFO port (async-nats
/// does not expose which pool entry it picked), else the INFO host and port.
fn connected_url(global: &GlobalOpts, client: &async_nats::Client) -> String {
    let info = client.server_info();
    let addrs = global.server_addrs().unwrap_or_default();
    let matching = addrs
        .iter()
        .find(|a| a.port() == info.port)
        .or(if addrs.len() == 1 {
            addrs.first()
        } else {
            None
        });
    match matching {
        Some(a) => format!("{}://{}:{}", a.scheme(), a.host(), a.port()),
        None => format!("nats://{}:{}", info.host, info.port),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nagios_rendering() {
        let mut r = CheckResult::new("Connection");
        let ms = Duration::from_millis;
        r.timed(
            "rtt",
            ms(1),
            ms(500),
            ms(1000),
            ["rtt time 1ms".into(), "w".into(), "c".into()],
        );
        assert_eq!(
            r.render(),
            "OK Connection OK:rtt time 1ms | rtt=0.0010s;0.5000;1.0000"
        );
        assert_eq!(r.status().1, 0);
        r.timed(
            "x",
            ms(2000),
            ms(500),
            ms(1000),
            ["o".into(), "w".into(), "too slow".into()],
        );
        assert!(r
            .render()
            .starts_with("CRITICAL Connection Crit:too slow OK:rtt time 1ms | "));
        assert_eq!(r.status().1, 2);
    }
}

//! `nats server check connection`, `info`, `list`, `ping` and `report`.
//!
//! Like natscli, `info`, `list`, `ping` and `report` ask every server through the system
//! account (`$SYS.REQ.SERVER.PING…`, see `sys`), so they need system-account credentials.
//! When the account used is not the system account the request meets "no responders"
//! and we print natscli's error with a hint: `--monitor http://host:8222` (several URLs
//! may be given, comma separated) reads `/varz` from monitoring ports instead, for
//! `info`, `list` and `ping`. `check connection` is the jsm.go check natscli runs, printed Nagios-style
//! (`OK Connection OK:connected to … | connect_time=…`) with exit code 0 (OK),
//! 1 (WARNING) or 2 (CRITICAL).

mod check;
mod info;
mod list;
mod report;
mod sys;

use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Args, Subcommand};

use crate::opts::GlobalOpts;
use crate::out;

#[derive(Args, Debug)]
pub struct ServerArgs {
    #[command(subcommand)]
    pub command: ServerCommand,
}

#[derive(Subcommand, Debug)]
pub enum ServerCommand {
    /// Health checks for NATS servers
    Check(check::CheckArgs),
    /// Show information about a single server
    #[command(alias = "i")]
    Info(info::InfoArgs),
    /// List known servers
    #[command(alias = "ls")]
    List(list::ListArgs),
    /// Ping all servers and show their round trip times
    Ping(PingArgs),
    /// Report on various server metrics
    #[command(alias = "rep")]
    Report(report::ReportArgs),
}

pub async fn run(global: &GlobalOpts, args: ServerArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        ServerCommand::Check(a) => check::run(global, a).await,
        ServerCommand::Info(a) => info::run(global, a).await,
        ServerCommand::List(a) => list::run(global, a).await,
        ServerCommand::Report(a) => report::run(global, a).await,
        ServerCommand::Ping(a) => ping(global, a).await,
    }
}

#[derive(Args, Debug)]
pub struct PingArgs {
    /// How many servers to expect
    #[arg(value_name = "EXPECT")]
    pub expect_arg: Option<usize>,
    /// How many servers to expect (same as the positional argument)
    #[arg(long, value_name = "N")]
    pub expect: Option<usize>,
    /// Include the Server ID in the output
    #[arg(long)]
    pub id: bool,
    /// Monitoring URL(s), comma separated (e.g. http://127.0.0.1:8222); reads /varz
    #[arg(long, env = "NATS_MONITOR_URL", value_name = "URL")]
    pub monitor: Option<String>,
}

/// Splits a comma-separated URL list.
fn url_list(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .map(String::from)
        .collect()
}

/// natscli's ping: one `name rtt=…` line per reply as it arrives, then statistics in
/// whole milliseconds. Without a count it stops once as many servers answered as the
/// first reply's `active_servers`, else at the timeout; like natscli it exits 0 even when
/// servers are missing (and says so). With `--monitor` it times a `/varz` GET per URL
/// instead and fails when any URL does not answer.
async fn ping(global: &GlobalOpts, args: PingArgs) -> anyhow::Result<ExitCode> {
    if let Some(list) = &args.monitor {
        return ping_monitor(global, list).await;
    }
    let mut expect = args.expect.or(args.expect_arg).unwrap_or(0);
    let client = global.connect().await?;
    let subject = "$SYS.REQ.SERVER.PING";
    let mut times: Vec<f64> = Vec::new();
    let mut bad: Option<anyhow::Error> = None;
    let result = sys::collect(
        &client,
        subject,
        bytes::Bytes::new(),
        sys::Until::Timeout,
        global.timeout,
        |reply| {
            let msg: sys::ServerStatsMsg = match sys::parse(subject, &reply.data) {
                Ok(m) => m,
                Err(e) => {
                    bad = Some(e);
                    return true;
                }
            };
            times.push(reply.rtt.as_millis() as f64);
            if expect == 0 && times.len() == 1 {
                expect = msg.stats.active_servers;
            }
            let rtt = out::go_duration(reply.rtt);
            if args.id {
                println!("{} {:<60} rtt={rtt}", msg.server.id, msg.server.name);
            } else {
                println!("{:<60} rtt={rtt}", msg.server.name);
            }
            expect > 0 && times.len() >= expect
        },
    )
    .await;
    match result {
        Ok(_) => {}
        Err(sys::SysError::NoResponders) => anyhow::bail!(
            "503 status from {subject}, ensure a system account is used with appropriate permissions {}",
            sys::MONITOR_HINT
        ),
        Err(sys::SysError::Nats(e)) => return Err(e),
    }
    if let Some(e) = bad {
        return Err(e);
    }
    summarize(&times);
    if expect > times.len() {
        println!("\nMissing {} server(s)", expect - times.len());
    }
    Ok(ExitCode::SUCCESS)
}

/// `---- ping statistics ----` and `N replies max: … min: … avg: …` (milliseconds).
fn summarize(ms: &[f64]) {
    println!();
    println!("---- ping statistics ----");
    if ms.is_empty() {
        println!("no responses received");
        return;
    }
    let max = ms.iter().copied().fold(f64::MIN, f64::max);
    let min = ms.iter().copied().fold(f64::MAX, f64::min);
    let avg = ms.iter().sum::<f64>() / ms.len() as f64;
    println!(
        "{} replies max: {max:.2} min: {min:.2} avg: {avg:.2}",
        ms.len()
    );
}

/// `ping --monitor`: times a `/varz` GET on every URL.
async fn ping_monitor(global: &GlobalOpts, list: &str) -> anyhow::Result<ExitCode> {
    let mut times: Vec<Duration> = Vec::new();
    let mut failed = 0;
    for url in url_list(list) {
        let start = Instant::now();
        match info::fetch_varz(&url, global.timeout).await {
            Ok(varz) => {
                let rtt = start.elapsed();
                let name = varz["server_name"]
                    .as_str()
                    .unwrap_or(url.as_str())
                    .to_string();
                println!("{name:<60} rtt={}", out::go_duration(rtt));
                times.push(rtt);
            }
            Err(err) => {
                failed += 1;
                println!("{url:<60} error: {err:#}");
            }
        }
    }
    let ms: Vec<f64> = times.iter().map(|d| d.as_secs_f64() * 1000.0).collect();
    summarize(&ms);
    if ms.is_empty() {
        return Ok(ExitCode::FAILURE);
    }
    if failed > 0 {
        println!("\nMissing {failed} server(s)");
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

//! `nats server check connection`, `nats server info`, `nats server ping`.
//!
//! natscli answers `info` and `ping` through the system account (`$SYS.REQ.SERVER...`).
//! We do not require one: with `--monitor http://host:8222` they read `/varz` from the
//! monitoring port (several URLs may be given, comma separated); without it, `info`
//! prints the INFO the server sent on connect and `ping` times a PING/PONG on each `-s`
//! URL. `check connection` is the jsm.go check natscli runs, printed Nagios-style
//! (`OK Connection OK:connected to … | connect_time=…`) with exit code 0 (OK),
//! 1 (WARNING) or 2 (CRITICAL).

mod check;
mod info;
mod list;
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
    /// Show information about a server
    Info(MonitorArgs),
    /// List known servers
    #[command(alias = "ls")]
    List(list::ListArgs),
    /// Ping servers and show their round trip times
    Ping(MonitorArgs),
}

#[derive(Args, Debug)]
pub struct MonitorArgs {
    /// Monitoring URL(s), comma separated (e.g. http://127.0.0.1:8222); reads /varz
    #[arg(long, env = "NATS_MONITOR_URL", value_name = "URL")]
    pub monitor: Option<String>,
}

pub async fn run(global: &GlobalOpts, args: ServerArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        ServerCommand::Check(a) => check::run(global, a).await,
        ServerCommand::Info(a) => info::run(global, a).await,
        ServerCommand::List(a) => list::run(global, a).await,
        ServerCommand::Ping(a) => ping(global, a).await,
    }
}

/// Splits a comma-separated URL list.
fn url_list(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .map(String::from)
        .collect()
}

/// natscli's ping output: one `name rtt=…` line per server, then statistics in ms.
async fn ping(global: &GlobalOpts, args: MonitorArgs) -> anyhow::Result<ExitCode> {
    let mut times: Vec<Duration> = Vec::new();
    let mut failed = 0;
    match &args.monitor {
        Some(list) => {
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
        }
        None => {
            for addr in global.server_addrs()? {
                let url = format!("{}://{}:{}", addr.scheme(), addr.host(), addr.port());
                let one = GlobalOpts {
                    server: url.clone(),
                    ..global.clone()
                };
                let opts = one.connect_options()?.ignore_discovered_servers();
                let result = async {
                    let client = one.connect_with(opts).await?;
                    let start = Instant::now();
                    crate::cmd::pub_::flush(&client, global.timeout).await?;
                    anyhow::Ok((client.server_info().server_name, start.elapsed()))
                }
                .await;
                match result {
                    Ok((name, rtt)) => {
                        println!("{name:<60} rtt={}", out::go_duration(rtt));
                        times.push(rtt);
                    }
                    Err(err) => {
                        failed += 1;
                        println!("{url:<60} error: {err:#}");
                    }
                }
            }
        }
    }
    println!();
    println!("---- ping statistics ----");
    if times.is_empty() {
        println!("no responses received");
        return Ok(ExitCode::FAILURE);
    }
    let ms: Vec<f64> = times.iter().map(|d| d.as_secs_f64() * 1000.0).collect();
    let max = ms.iter().copied().fold(f64::MIN, f64::max);
    let min = ms.iter().copied().fold(f64::MAX, f64::min);
    let avg = ms.iter().sum::<f64>() / ms.len() as f64;
    println!(
        "{} replies max: {max:.2} min: {min:.2} avg: {avg:.2}",
        ms.len()
    );
    if failed > 0 {
        println!("\nMissing {failed} server(s)");
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

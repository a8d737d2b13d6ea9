//! `nats bench conns --count N`: N idle raw connections with one subscription each.
//!
//! Prints the time it took to connect (and subscribe) them all, then holds them —
//! answering the server's PINGs — for `--hold` or until SIGINT/SIGTERM, so a script can
//! read the server's memory in the meantime. With `--json` the connect result is one
//! JSON line, printed (and flushed) as soon as every connection is up: that line is the
//! script's signal that it may measure. On the way out every connection must answer a
//! final PING; if any was dropped the command fails (a connection the server closes
//! during the hold ends the hold at once).

use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Args;

use super::raw_target;
use crate::bench::conns;
use crate::bench::stats::{self, ClientCpu};
use crate::opts::{parse_duration, GlobalOpts};
use crate::out;

#[derive(Args, Debug)]
pub struct ConnsArgs {
    /// Number of connections to open
    #[arg(long, default_value_t = 1000, value_name = "N")]
    pub count: usize,
    /// Each connection subscribes to PREFIX.<i>
    #[arg(long, default_value = "bench.conns", value_name = "PREFIX")]
    pub subject: String,
    /// Handshakes in flight at once
    #[arg(long, default_value_t = 64, value_name = "P")]
    pub parallel: usize,
    /// How long to hold the connections (default: until interrupted)
    #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
    pub hold: Option<Duration>,
    /// Connect from this many loopback addresses (127.0.0.2, …) instead of letting
    /// the kernel pick; with tens of thousands of connections its ephemeral port
    /// search gets slow and would dominate the connect time (0 = kernel's choice)
    #[arg(long = "source-ips", default_value_t = 0, value_name = "K",
          value_parser = clap::value_parser!(u8).range(0..=250))]
    pub source_ips: u8,
    /// Print the connect result as one JSON line on stdout
    #[arg(long)]
    pub json: bool,
}

pub async fn run(global: &GlobalOpts, args: ConnsArgs) -> anyhow::Result<ExitCode> {
    if args.count == 0 {
        anyhow::bail!("--count must be at least 1");
    }
    let cpu_before = stats::process_cpu();
    let started = Instant::now();
    let target = raw_target(global, "NATS bench conn".into())?;
    out::log(&format!(
        "Starting connection benchmark [conns={}, subject={}.<i>, parallel={}]",
        out::comma(args.count as i64),
        args.subject,
        args.parallel
    ));
    let (held, report) = conns::timed_connect_all(
        &target,
        &args.subject,
        args.count,
        args.parallel,
        args.source_ips,
    )
    .await?;
    let cpu = ClientCpu::since(cpu_before, started);
    if args.json {
        let mut obj = serde_json::json!({
            "kind": "conns",
            "count": report.count,
            "connect_secs": report.elapsed.as_secs_f64(),
            "conns_per_sec": report.per_sec().round(),
            "server": global.display_servers(),
        });
        ClientCpu::add_to(cpu.as_ref(), &mut obj);
        out::stdout(format!("{obj}\n").as_bytes())?;
    } else {
        println!("{report}");
        if let Some(cpu) = &cpu {
            println!("{cpu}");
        }
    }
    match args.hold {
        Some(d) => out::log(&format!("Holding connections for {}", out::go_duration(d))),
        None => out::log("Holding connections until interrupted"),
    }

    let until = async {
        let hold_for = async {
            match args.hold {
                Some(d) => tokio::time::sleep(d).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = hold_for => {}
            _ = crate::signal::interrupted() => {}
        }
    };
    let (failed, first) = conns::hold(held, until).await;
    if failed > 0 {
        anyhow::bail!(
            "{failed} of {} connections did not survive the hold: {}",
            args.count,
            first.unwrap_or_default()
        );
    }
    out::log(&format!(
        "All {} connections answered a final PING",
        out::comma(args.count as i64)
    ));
    Ok(ExitCode::SUCCESS)
}

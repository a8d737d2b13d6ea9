//! `nats bench subs --count N --msgs M`: a large subject index.
//!
//! One raw connection subscribes N times (half literal `<prefix>.sub.<i>`, half
//! wildcard `<prefix>.*.<j>`, see `bench::subs::Layout`) in one pipelined write and a
//! PING; the time to the PONG is the subscribe time. A second raw connection then
//! publishes M messages to matching subjects while the first counts deliveries, which
//! must come out exactly as the layout predicts (every publish matches one literal and
//! usually one wildcard), or the command fails.

use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Args;
use tokio::sync::watch;

use super::{parse_size, raw_target, size_label};
use crate::bench::stats::{self, ClientCpu};
use crate::bench::subs::Layout;
use crate::bench::{raw, Shared, SubPlan};
use crate::opts::GlobalOpts;
use crate::out;

#[derive(Args, Debug)]
pub struct SubsArgs {
    /// Number of subscriptions (half literal, half wildcard)
    #[arg(long, default_value_t = 100_000, value_name = "N")]
    pub count: usize,
    /// Messages to publish once subscribed
    #[arg(long, default_value_t = 100_000, value_name = "M")]
    pub msgs: u64,
    /// Size of the published messages
    #[arg(long, default_value = "16", value_parser = parse_size, value_name = "SIZE")]
    pub size: usize,
    /// First subject token of every subscription
    #[arg(long, default_value = "bench", value_name = "TOKEN")]
    pub prefix: String,
    /// Publish to this many different matching subjects in turn
    #[arg(long, default_value_t = 1, value_name = "K")]
    pub spread: usize,
    /// Print the results as one JSON line on stdout
    #[arg(long)]
    pub json: bool,
}

pub async fn run(global: &GlobalOpts, args: SubsArgs) -> anyhow::Result<ExitCode> {
    if args.msgs == 0 {
        bail!("--msgs must be at least 1");
    }
    let layout = Layout::new(&args.prefix, args.count, args.spread)?;
    let cpu_before = stats::process_cpu();
    let started = Instant::now();
    out::log(&format!(
        "Starting subject index benchmark [subs={} ({} literal, {} wildcard), msgs={}, msgsize={}, subjects={}]",
        out::comma(layout.count() as i64),
        out::comma(layout.literal as i64),
        out::comma(layout.wildcard as i64),
        out::comma(args.msgs as i64),
        size_label(args.size),
        layout.targets.len()
    ));

    let mut sub_conn = raw::connect(&raw_target(global, "NATS bench subs".into())?).await?;
    let frames = layout.sub_frames();
    let t0 = Instant::now();
    raw::write_or_explain(&mut sub_conn.stream, &mut sub_conn.scanner, &frames).await?;
    sub_conn.timeout = global.timeout.max(Duration::from_secs(120));
    sub_conn
        .wait_pong()
        .await
        .context("waiting for the PONG after the subscriptions")?;
    let subscribe = t0.elapsed();
    sub_conn.timeout = global.timeout;
    let subs_per_sec = layout.count() as f64 / subscribe.as_secs_f64().max(1e-9);
    if !args.json {
        println!(
            "Subscribed {} subscriptions in {} ({} subs/sec), PING answered",
            out::comma(layout.count() as i64),
            out::go_duration(subscribe),
            out::comma(subs_per_sec as i64)
        );
    }

    let expected = layout.expected(args.msgs);
    let (stop_tx, stop_rx) = watch::channel(false);
    let shared = Arc::new(Shared::new(stop_rx));
    let plan = SubPlan {
        subject: String::new(),
        queue: None,
        expect: expected,
        size: args.size,
        seq: None,
    };
    let counter = tokio::spawn(raw::serve(sub_conn, plan, Arc::clone(&shared), false));
    let pub_conn = raw::connect(&raw_target(global, "NATS bench pub".into())?).await?;
    let pub_sample = raw::publisher(
        pub_conn,
        layout.subjects(),
        args.msgs,
        args.size,
        Arc::clone(&shared),
    )
    .await?;
    wait_for_deliveries(&shared, &counter, global.timeout).await;
    let _ = stop_tx.send(true);
    let outcome = counter
        .await
        .map_err(|e| anyhow::anyhow!("subscriber crashed: {e}"))??;
    let cpu = ClientCpu::since(cpu_before, started);

    let mut problems = Vec::new();
    if outcome.sample.msgs != expected {
        problems.push(format!(
            "received {} of {} deliveries",
            out::comma(outcome.sample.msgs as i64),
            out::comma(expected as i64)
        ));
    }
    if outcome.wrong_size > 0 {
        problems.push(format!(
            "{} messages had a payload size other than {}",
            outcome.wrong_size, args.size
        ));
    }
    let (pubs, subs) = ([pub_sample], [outcome.sample]);
    if args.json {
        let mut obj = serde_json::json!({
            "kind": "subs",
            "count": layout.count(),
            "literal": layout.literal,
            "wildcard": layout.wildcard,
            "subscribe_secs": subscribe.as_secs_f64(),
            "subs_per_sec": subs_per_sec.round(),
            "msgs": args.msgs,
            "size": args.size,
            "subjects": layout.targets.len(),
            "expected": expected,
            "pub": stats::group_json(&pubs),
            "sub": stats::group_json(&subs),
            "verified": problems.is_empty(),
            "server": global.display_servers(),
        });
        if !problems.is_empty() {
            obj["error"] = problems.join("; ").into();
        }
        ClientCpu::add_to(cpu.as_ref(), &mut obj);
        println!("{obj}");
    } else {
        println!();
        print!("{}", stats::report(&pubs, &subs));
        if let Some(cpu) = &cpu {
            println!("{cpu}");
        }
    }
    if !problems.is_empty() {
        bail!("bench verification failed: {}", problems.join("; "));
    }
    Ok(ExitCode::SUCCESS)
}

/// Returns when the counting task is done or nothing has arrived for `stall`.
async fn wait_for_deliveries(
    shared: &Shared,
    counter: &tokio::task::JoinHandle<anyhow::Result<crate::bench::SubOutcome>>,
    stall: Duration,
) {
    let mut last = shared.received.load(Ordering::Relaxed);
    let mut since = Instant::now();
    while !counter.is_finished() {
        tokio::time::sleep(Duration::from_millis(5)).await;
        let now = shared.received.load(Ordering::Relaxed);
        if now != last {
            last = now;
            since = Instant::now();
        } else if since.elapsed() >= stall {
            return;
        }
    }
}

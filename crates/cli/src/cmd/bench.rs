//! `nats bench SUBJECT --pub N --sub M --msgs K --size S`: throughput and latency.
//!
//! Publishers split K messages between them; every subscriber must receive all K (or,
//! with `--queue`, the group together must receive exactly K). The bench **verifies**
//! that: a shortfall, a wrong payload size or a slow-consumer drop is reported and the
//! command exits 1, so a fast-but-lossy server cannot look good. `--request` turns
//! publishers into requesters that wait for each reply and records latency percentiles
//! with hdrhistogram; `--reply` turns subscribers into responders. `--raw` swaps
//! async-nats for the raw-protocol client in `bench::raw` (pub/sub only, first server
//! URL only). The tool's own CPU time is printed with the results, so a reader can tell
//! whether the client was the bottleneck.
//!
//! Order of events: subscribers connect, subscribe and confirm; publishers connect;
//! all publishers start together; when they are done the coordinator waits until the
//! subscribers have everything, or until nothing has arrived for `--timeout` (a stall),
//! or Ctrl-C.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use bytes::Bytes;
use clap::Args;
use hdrhistogram::Histogram;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

use crate::bench::stats::{self, Sample};
use crate::bench::{raw, workers, Shared, SubOutcome, SubPlan};
use crate::opts::GlobalOpts;
use crate::out;

#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Subject to use for the benchmark
    pub subject: String,
    /// Number of concurrent publishers
    #[arg(long = "pub", default_value_t = 0, value_name = "N")]
    pub pubs: usize,
    /// Number of concurrent subscribers
    #[arg(long = "sub", default_value_t = 0, value_name = "M")]
    pub subs: usize,
    /// Number of messages to publish (each subscriber expects all of them)
    #[arg(long, default_value_t = 100_000, value_name = "K")]
    pub msgs: u64,
    /// Size of the test messages (bytes; KB, KiB, MB, MiB suffixes allowed)
    #[arg(long, default_value = "128", value_parser = parse_size, value_name = "SIZE")]
    pub size: usize,
    /// Publishers send requests and wait for each reply; latency is reported
    #[arg(long)]
    pub request: bool,
    /// Subscribers reply to every message they receive
    #[arg(long)]
    pub reply: bool,
    /// Subscribers join this queue group (the group receives K in total)
    #[arg(long, value_name = "NAME")]
    pub queue: Option<String>,
    /// Use the lean raw-protocol client instead of async-nats (pub/sub only)
    #[arg(long)]
    pub raw: bool,
    /// Disable the progress line
    #[arg(long = "no-progress")]
    pub no_progress: bool,
    /// Save per-client results as CSV to this file
    #[arg(long, value_name = "FILE")]
    pub csv: Option<std::path::PathBuf>,
}

/// Byte sizes: `128`, `1KB` (1000), `1KiB` (1024), `1MB`, `1MiB`.
fn parse_size(s: &str) -> Result<usize, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: usize = num.parse().map_err(|_| format!("invalid size {s:?}"))?;
    let mult = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1000,
        "kib" => 1024,
        "m" | "mb" => 1_000_000,
        "mib" => 1024 * 1024,
        _ => return Err(format!("invalid size unit in {s:?}")),
    };
    n.checked_mul(mult)
        .ok_or_else(|| format!("size {s:?} is too large"))
}

/// What a publisher returns: its sample and, for requesters, its latency histogram.
type PubOutput = anyhow::Result<(Sample, Option<Histogram<u64>>)>;
type SubTask = JoinHandle<anyhow::Result<SubOutcome>>;
type PubTask = JoinHandle<PubOutput>;

pub async fn run(global: &GlobalOpts, args: BenchArgs) -> anyhow::Result<ExitCode> {
    validate(&args)?;
    let cpu_before = stats::process_cpu();
    let (stop_tx, stop_rx) = watch::channel(false);
    let shared = Arc::new(Shared::new(stop_rx));
    let started = Instant::now();

    let sub_tasks = start_subscribers(global, &args, &shared).await?;
    let (go_tx, go_rx) = watch::channel(false);
    let pub_tasks = start_publishers(global, &args, &shared, go_rx).await?;
    // Announced once every client is connected, so a connection failure stays a
    // single error line.
    let mode = if args.raw { "raw" } else { "async-nats" };
    let kind = if args.request || args.reply {
        "request-reply"
    } else {
        "pub/sub"
    };
    out::log(&format!(
        "Starting Core NATS {kind} benchmark [subject={}, msgs={}, msgsize={}, pubs={}, subs={}, queue={}, client={mode}]",
        args.subject,
        out::comma(args.msgs as i64),
        size_label(args.size),
        args.pubs,
        args.subs,
        args.queue.as_deref().unwrap_or("none"),
    ));
    let progress = spawn_progress(&args, &shared);
    let _ = go_tx.send(true);

    let aborts: Vec<_> = pub_tasks.iter().map(|t| t.abort_handle()).collect();
    let pub_results = tokio::select! {
        results = futures::future::join_all(pub_tasks) => results,
        _ = crate::signal::interrupted() => {
            aborts.iter().for_each(|a| a.abort());
            let _ = stop_tx.send(true);
            bail!("interrupted while publishing");
        }
    };
    let (pub_samples, latency, mut failure) = collect_publishers(pub_results)?;
    let interrupted = if failure.is_some() {
        let _ = stop_tx.send(true);
        false
    } else {
        wait_for_subscribers(&args, &shared, &sub_tasks, &stop_tx, global.timeout).await
    };
    let _ = stop_tx.send(true);

    let (sub_samples, wrong_size, sub_failure) = collect_subscribers(sub_tasks).await;
    failure = failure.or(sub_failure);
    if let Some(p) = progress {
        p.abort();
        let _ = p.await;
        eprintln!();
    }
    if let Some(err) = failure {
        return Err(err);
    }

    print_results(
        &args,
        &pub_samples,
        &sub_samples,
        latency.as_ref(),
        cpu_before,
        started,
    )?;
    verify(&args, &sub_samples, wrong_size, &shared, interrupted)
}

type PubResults = (Vec<Sample>, Option<Histogram<u64>>, Option<anyhow::Error>);

/// Publisher samples, merged request latencies, and the first failure if any.
fn collect_publishers(
    results: Vec<Result<PubOutput, tokio::task::JoinError>>,
) -> anyhow::Result<PubResults> {
    let mut samples = Vec::new();
    let mut latency: Option<Histogram<u64>> = None;
    let mut failure: Option<anyhow::Error> = None;
    for (i, result) in results.into_iter().enumerate() {
        match result {
            Ok(Ok((sample, hist))) => {
                samples.push(sample);
                if let Some(h) = hist {
                    match &mut latency {
                        Some(all) => all.add(&h).context("merging latency histograms")?,
                        None => latency = Some(h),
                    }
                }
            }
            Ok(Err(err)) => {
                failure.get_or_insert(err.context(format!("publisher [{}]", i + 1)));
            }
            Err(err) => {
                failure.get_or_insert(anyhow::anyhow!("publisher [{}] crashed: {err}", i + 1));
            }
        }
    }
    Ok((samples, latency, failure))
}

/// Subscriber samples, the number of wrongly sized messages, and the first failure.
async fn collect_subscribers(tasks: Vec<SubTask>) -> (Vec<Sample>, u64, Option<anyhow::Error>) {
    let mut samples = Vec::new();
    let mut wrong_size = 0;
    let mut failure = None;
    for (i, task) in tasks.into_iter().enumerate() {
        match task.await {
            Ok(Ok(outcome)) => {
                wrong_size += outcome.wrong_size;
                samples.push(outcome.sample);
            }
            Ok(Err(err)) => {
                failure.get_or_insert(err.context(format!("subscriber [{}]", i + 1)));
            }
            Err(err) => {
                failure.get_or_insert(anyhow::anyhow!("subscriber [{}] crashed: {err}", i + 1));
            }
        }
    }
    (samples, wrong_size, failure)
}

/// The report, request latency, the client's own CPU time and the optional CSV file.
fn print_results(
    args: &BenchArgs,
    pubs: &[Sample],
    subs: &[Sample],
    latency: Option<&Histogram<u64>>,
    cpu_before: Option<Duration>,
    started: Instant,
) -> anyhow::Result<()> {
    println!();
    print!("{}", stats::report(pubs, subs));
    if let Some(h) = latency {
        println!(" Request latency: {}", stats::latency_line(h));
    }
    if let (Some(before), Some(after)) = (cpu_before, stats::process_cpu()) {
        let cpu = after.saturating_sub(before);
        let wall = started.elapsed();
        println!(
            "bench client CPU: {:.2}s user+sys ({:.0}% of {:.2}s wall)",
            cpu.as_secs_f64(),
            100.0 * cpu.as_secs_f64() / wall.as_secs_f64().max(1e-9),
            wall.as_secs_f64()
        );
    }
    if let Some(path) = &args.csv {
        let run_id = crate::template::unique_id();
        std::fs::write(path, stats::csv(&run_id, pubs, subs))
            .with_context(|| format!("writing {}", path.display()))?;
        println!("Saved metric data in csv file {}", path.display());
    }
    Ok(())
}

/// `128 B` for small sizes (natscli prints whole bytes), `1.00 KB` and up otherwise.
fn size_label(size: usize) -> String {
    if size < 1024 {
        format!("{size} B")
    } else {
        out::human_bytes(size as f64)
    }
}

fn validate(args: &BenchArgs) -> anyhow::Result<()> {
    if args.pubs == 0 && args.subs == 0 {
        bail!("nothing to do: give --pub N and/or --sub M");
    }
    if args.msgs == 0 {
        bail!("--msgs must be at least 1");
    }
    if args.raw && (args.request || args.reply) {
        bail!("--raw supports plain publish/subscribe only, not --request or --reply");
    }
    if args.request && args.pubs == 0 {
        bail!("--request needs at least one publisher (--pub N)");
    }
    if args.reply && args.subs == 0 {
        bail!("--reply needs at least one subscriber (--sub M)");
    }
    if args.pubs as u64 > args.msgs {
        bail!(
            "more publishers ({}) than messages ({})",
            args.pubs,
            args.msgs
        );
    }
    Ok(())
}

fn raw_target(global: &GlobalOpts, name: String) -> anyhow::Result<raw::Target> {
    let addrs = global.server_addrs()?;
    let first = addrs.first().context("no server URL")?;
    if first.tls_required() {
        bail!("--raw does not support tls:// servers");
    }
    Ok(raw::Target {
        host: first.host().to_string(),
        port: first.port(),
        creds: global.credentials()?,
        name,
        timeout: global.timeout,
    })
}

/// Starts every subscriber and returns once all have confirmed their subscription.
async fn start_subscribers(
    global: &GlobalOpts,
    args: &BenchArgs,
    shared: &Arc<Shared>,
) -> anyhow::Result<Vec<SubTask>> {
    let mut tasks = Vec::with_capacity(args.subs);
    let mut ready = Vec::with_capacity(args.subs);
    for i in 0..args.subs {
        let plan = SubPlan {
            subject: args.subject.clone(),
            queue: args.queue.clone(),
            expect: args.msgs,
            size: args.size,
        };
        let (tx, rx) = oneshot::channel();
        ready.push(rx);
        let name = format!("NATS bench sub {}", i + 1);
        let shared = Arc::clone(shared);
        let task: SubTask = if args.raw {
            let target = raw_target(global, name)?;
            tokio::spawn(raw::subscriber(target, plan, shared, tx))
        } else {
            // Deep enough to hold the whole run, so a busy printer never drops messages.
            let cap = args.msgs.clamp(65_536, 1 << 20) as usize;
            let client = workers::connect(global, &name, &shared, Some(cap)).await?;
            let (reply, timeout) = (args.reply, global.timeout);
            tokio::spawn(workers::subscriber(
                client, plan, shared, reply, timeout, tx,
            ))
        };
        tasks.push(task);
    }
    for (i, rx) in ready.into_iter().enumerate() {
        if rx.await.is_err() {
            // The task ended before subscribing; its own error says why.
            let task = tasks.remove(i);
            return match task.await {
                Ok(Err(err)) => Err(err.context(format!("subscriber [{}]", i + 1))),
                _ => Err(anyhow::anyhow!("subscriber [{}] failed to start", i + 1)),
            };
        }
    }
    Ok(tasks)
}

/// Connects every publisher; each waits for `go` so they start together.
async fn start_publishers(
    global: &GlobalOpts,
    args: &BenchArgs,
    shared: &Arc<Shared>,
    go: watch::Receiver<bool>,
) -> anyhow::Result<Vec<PubTask>> {
    let mut tasks = Vec::with_capacity(args.pubs);
    let payload = Bytes::from(vec![b'x'; args.size]);
    for i in 0..args.pubs {
        // Split K as evenly as possible; the first publishers take the remainder.
        let share =
            args.msgs / args.pubs as u64 + u64::from((i as u64) < args.msgs % args.pubs as u64);
        let name = format!("NATS bench pub {}", i + 1);
        let shared = Arc::clone(shared);
        let subject = args.subject.clone();
        let mut go = go.clone();
        let timeout = global.timeout;
        let task: PubTask = if args.raw {
            // Connect now, so the handshake is not part of the measured run.
            let conn = raw::connect(&raw_target(global, name)?).await?;
            let size = args.size;
            tokio::spawn(async move {
                let _ = go.wait_for(|g| *g).await;
                Ok((
                    raw::publisher(conn, subject, share, size, shared).await?,
                    None,
                ))
            })
        } else {
            let client = workers::connect(global, &name, &shared, None).await?;
            let (payload, request) = (payload.clone(), args.request);
            tokio::spawn(async move {
                let _ = go.wait_for(|g| *g).await;
                if request {
                    let (s, h) =
                        workers::requester(client, subject, share, payload, shared, timeout)
                            .await?;
                    Ok((s, Some(h)))
                } else {
                    let s = workers::publisher(client, subject, share, payload, shared, timeout)
                        .await?;
                    Ok((s, None))
                }
            })
        };
        tasks.push(task);
    }
    Ok(tasks)
}

/// Waits until subscribers are done, stall for `stall` after publishing ended (only
/// when this process published), or Ctrl-C. Returns whether the user interrupted.
async fn wait_for_subscribers(
    args: &BenchArgs,
    shared: &Shared,
    tasks: &[SubTask],
    stop: &watch::Sender<bool>,
    stall: Duration,
) -> bool {
    let expected_total = if args.queue.is_some() {
        args.msgs
    } else {
        args.msgs * args.subs as u64
    };
    let mut last_seen = shared.received.load(Ordering::Relaxed);
    let mut last_change = Instant::now();
    let ctrl_c = crate::signal::interrupted();
    tokio::pin!(ctrl_c);
    loop {
        if tasks.iter().all(|t| t.is_finished()) {
            return false;
        }
        let now = shared.received.load(Ordering::Relaxed);
        if args.queue.is_some() && now >= expected_total {
            let _ = stop.send(true);
            return false;
        }
        if now != last_seen {
            last_seen = now;
            last_change = Instant::now();
        } else if args.pubs > 0 && last_change.elapsed() >= stall {
            let _ = stop.send(true);
            return false;
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(10)) => {}
            _ = &mut ctrl_c => {
                let _ = stop.send(true);
                return true;
            }
        }
    }
}

/// Checks that every subscriber (or the queue group) got exactly what was published.
fn verify(
    args: &BenchArgs,
    subs: &[Sample],
    wrong_size: u64,
    shared: &Shared,
    interrupted: bool,
) -> anyhow::Result<ExitCode> {
    let mut problems = Vec::new();
    if args.queue.is_some() && !subs.is_empty() {
        let total: u64 = subs.iter().map(|s| s.msgs).sum();
        if total != args.msgs {
            problems.push(format!(
                "queue group {:?} received {} of {} messages",
                args.queue.as_deref().unwrap_or(""),
                out::comma(total as i64),
                out::comma(args.msgs as i64)
            ));
        }
    } else {
        for (i, s) in subs.iter().enumerate() {
            if s.msgs != args.msgs {
                problems.push(format!(
                    "subscriber [{}] received {} of {} messages",
                    i + 1,
                    out::comma(s.msgs as i64),
                    out::comma(args.msgs as i64)
                ));
            }
        }
    }
    if wrong_size > 0 {
        problems.push(format!(
            "{wrong_size} messages had a payload size other than {}",
            args.size
        ));
    }
    let slow = shared.slow_consumers.load(Ordering::Relaxed);
    if slow > 0 {
        problems.push(format!(
            "the client dropped messages: {slow} slow consumer events"
        ));
    }
    if problems.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    let why = if interrupted { " (interrupted)" } else { "" };
    bail!("bench verification failed{why}: {}", problems.join("; "))
}

/// A one-line progress display on stderr, only when stderr is a terminal.
fn spawn_progress(args: &BenchArgs, shared: &Arc<Shared>) -> Option<JoinHandle<()>> {
    if args.no_progress || !std::io::stderr().is_terminal() {
        return None;
    }
    let shared = Arc::clone(shared);
    let (msgs, pubs, subs) = (args.msgs, args.pubs, args.subs);
    let expect = if args.queue.is_some() {
        msgs
    } else {
        msgs * subs as u64
    };
    Some(tokio::spawn(async move {
        loop {
            let p = shared.published.load(Ordering::Relaxed);
            let r = shared.received.load(Ordering::Relaxed);
            let mut line = String::from("\r");
            if pubs > 0 {
                line.push_str(&format!(
                    "published {}/{} ",
                    out::comma(p as i64),
                    out::comma(msgs as i64)
                ));
            }
            if subs > 0 {
                line.push_str(&format!(
                    "received {}/{}",
                    out::comma(r as i64),
                    out::comma(expect as i64)
                ));
            }
            eprint!("{line}");
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(subs: usize, queue: Option<&str>) -> BenchArgs {
        BenchArgs {
            subject: "s".into(),
            pubs: 1,
            subs,
            msgs: 100,
            size: 8,
            request: false,
            reply: false,
            queue: queue.map(String::from),
            raw: false,
            no_progress: true,
            csv: None,
        }
    }

    fn got(n: u64) -> Sample {
        let now = Instant::now();
        Sample::new(n, 8, now, now)
    }

    #[test]
    fn verification() {
        let shared = Shared::new(watch::channel(false).1);
        assert!(verify(&args(2, None), &[got(100), got(100)], 0, &shared, false).is_ok());
        let short = verify(&args(2, None), &[got(100), got(99)], 0, &shared, false);
        let msg = format!(
            "{:#}",
            short.err().map(|e| e.to_string()).unwrap_or_default()
        );
        assert!(
            msg.contains("subscriber [2] received 99 of 100 messages"),
            "{msg}"
        );
        assert!(verify(&args(2, Some("q")), &[got(60), got(40)], 0, &shared, false).is_ok());
        assert!(verify(&args(2, Some("q")), &[got(60), got(39)], 0, &shared, false).is_err());
        assert!(verify(&args(1, None), &[got(100)], 3, &shared, false).is_err());
        shared.slow_consumers.store(1, Ordering::Relaxed);
        assert!(verify(&args(1, None), &[got(100)], 0, &shared, false).is_err());
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("128"), Ok(128));
        assert_eq!(parse_size("1KB"), Ok(1000));
        assert_eq!(parse_size("1KiB"), Ok(1024));
        assert_eq!(parse_size("2MiB"), Ok(2 * 1024 * 1024));
        assert!(parse_size("x").is_err());
        assert!(parse_size("1GB").is_err());
    }
}

//! `nats bench SUBJECT --pub N --sub M --msgs K --size S`: throughput and latency.
//!
//! Publishers split K messages between them; every subscriber must receive all K (or,
//! with `--queue`, the group together must receive exactly K). The bench **verifies**
//! that: a shortfall, a wrong payload size or a slow-consumer drop is reported and the
//! command exits 1, so a fast-but-lossy server cannot look good. `--request` turns
//! publishers into requesters that wait for each reply and records latency percentiles
//! with hdrhistogram; `--reply` turns subscribers into responders. `--raw` swaps
//! async-nats for the raw-protocol client in `bench::raw` (first server URL only).
//! `--pub-server` / `--sub-server` put publishers and subscribers on different servers
//! of a cluster; the bench then waits until interest has crossed the route before it
//! starts. The tool's own CPU time is printed with the results, so a reader can tell
//! whether the client was the bottleneck; `--json` prints the results as one JSON line
//! instead of the natscli-style report.
//!
//! More workloads are subcommands: `nats bench conns` (many idle connections),
//! `nats bench subs` (a large subject index) and `nats bench js` (JetStream); see
//! `conns.rs`, `subs.rs` and `js.rs`.
//!
//! Order of events: subscribers connect, subscribe and confirm; publishers connect;
//! all publishers start together; when they are done the coordinator waits until the
//! subscribers have everything, or until nothing has arrived for `--timeout` (a stall),
//! or Ctrl-C.

mod conns;
mod js;
mod report;
mod subs;

use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use bytes::Bytes;
use clap::{Args, Subcommand};
use hdrhistogram::Histogram;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

use crate::bench::stats::{self, ClientCpu, Sample};
use crate::bench::{raw, raw_rr, workers, SeqCheck, Shared, SubOutcome, SubPlan};
use crate::opts::GlobalOpts;
use crate::out;
use report::{print_results, spawn_progress, verify, Results};

#[derive(Args, Debug)]
#[command(subcommand_negates_reqs = true)]
pub struct BenchArgs {
    #[command(subcommand)]
    pub mode: Option<BenchMode>,
    /// Subject to use for the benchmark
    pub subject: Option<String>,
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
    /// Use the lean raw-protocol client instead of async-nats
    #[arg(long)]
    pub raw: bool,
    /// Server URL for publishers and requesters (default: --server)
    #[arg(long = "pub-server", value_name = "URL")]
    pub pub_server: Option<String>,
    /// Server URL for subscribers and responders (default: --server)
    #[arg(long = "sub-server", value_name = "URL")]
    pub sub_server: Option<String>,
    /// Print the results as one JSON line on stdout instead of the report
    #[arg(long)]
    pub json: bool,
    /// Number every message and verify each arrives exactly once (raw, size >= 8)
    #[arg(long)]
    pub seq: bool,
    /// Disable the progress line
    #[arg(long = "no-progress")]
    pub no_progress: bool,
    /// Save per-client results as CSV to this file
    #[arg(long, value_name = "FILE")]
    pub csv: Option<std::path::PathBuf>,
}

/// The workloads that are not publish/subscribe.
#[derive(Subcommand, Debug)]
pub enum BenchMode {
    /// Hold N idle connections with one subscription each; report the time to connect
    Conns(conns::ConnsArgs),
    /// Create N subscriptions on one connection; report subscribe time and publish rate
    Subs(subs::SubsArgs),
    /// JetStream: acknowledged publishes, pull and push consumers, key-value put/get
    Js(js::JsArgs),
}

/// Byte sizes: `128`, `1KB` (1000), `1KiB` (1024), `1MB`, `1MiB`.
pub(crate) fn parse_size(s: &str) -> Result<usize, String> {
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
    match args.mode {
        Some(BenchMode::Conns(a)) => return conns::run(global, a).await,
        Some(BenchMode::Subs(a)) => return subs::run(global, a).await,
        Some(BenchMode::Js(a)) => return js::run(global, a).await,
        None => {}
    }
    validate(&args)?;
    let sides = Sides::new(global, &args);
    let cpu_before = stats::process_cpu();
    let (stop_tx, stop_rx) = watch::channel(false);
    let shared = Arc::new(Shared::new(stop_rx));
    let started = Instant::now();

    let seqs = seq_trackers(&args);
    let sub_tasks = start_subscribers(&sides.subs, &args, &shared, &seqs).await?;
    if sides.cross && args.pubs > 0 && args.subs > 0 {
        sides.sync(false).await?;
    }
    let (go_tx, go_rx) = watch::channel(false);
    let pub_tasks = start_publishers(&sides.pubs, &args, &shared, go_rx).await?;
    if sides.cross && args.request && args.subs > 0 {
        // Requesters' inboxes must be known where the responders publish replies.
        sides.sync(true).await?;
    }
    // Announced once every client is connected, so a connection failure stays a
    // single error line.
    out::log(&format!(
        "Starting Core NATS {} benchmark [subject={}, msgs={}, msgsize={}, pubs={}, subs={}, queue={}, client={}]",
        kind(&args),
        args.subject(),
        out::comma(args.msgs as i64),
        size_label(args.size),
        args.pubs,
        args.subs,
        args.queue.as_deref().unwrap_or("none"),
        client_label(&args),
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

    let cpu = ClientCpu::since(cpu_before, started);
    let verdict = verify(&args, &sub_samples, wrong_size, &shared, &seqs, interrupted);
    let results = Results {
        pubs: &pub_samples,
        subs: &sub_samples,
        latency: latency.as_ref(),
        cpu,
    };
    print_results(&args, &sides, &results, &verdict)?;
    verdict
}

/// Where publishers and subscribers connect: `--server` unless overridden.
struct Sides {
    pubs: GlobalOpts,
    subs: GlobalOpts,
    /// Publishers and subscribers are on different servers.
    cross: bool,
}

impl Sides {
    fn new(global: &GlobalOpts, args: &BenchArgs) -> Sides {
        let mut pubs = global.clone();
        let mut subs = global.clone();
        if let Some(url) = &args.pub_server {
            pubs.server = url.clone();
        }
        if let Some(url) = &args.sub_server {
            subs.server = url.clone();
        }
        let cross = pubs.server != subs.server;
        Sides { pubs, subs, cross }
    }

    /// Waits until interest registered so far on one side is known on the other:
    /// subscribers' on the publishers' server or, with `back`, the reverse.
    async fn sync(&self, back: bool) -> anyhow::Result<()> {
        let p = raw_target(&self.pubs, "NATS bench sync".into())?;
        let s = raw_target(&self.subs, "NATS bench sync".into())?;
        let within = self.pubs.timeout.max(Duration::from_secs(10));
        let (from, to) = if back { (&s, &p) } else { (&p, &s) };
        raw::sync_interest(from, to, within).await
    }
}

/// `pub/sub` or `request-reply`, for the banner and the JSON `kind`.
fn kind(args: &BenchArgs) -> &'static str {
    if args.request || args.reply {
        "request-reply"
    } else {
        "pub/sub"
    }
}

fn client_label(args: &BenchArgs) -> &'static str {
    if args.raw {
        "raw"
    } else {
        "async-nats"
    }
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

/// `128 B` for small sizes (natscli prints whole bytes), `1.00 KB` and up otherwise.
fn size_label(size: usize) -> String {
    if size < 1024 {
        format!("{size} B")
    } else {
        out::human_bytes(size as f64)
    }
}

impl BenchArgs {
    /// The subject; present once [`validate`] passed.
    fn subject(&self) -> &str {
        self.subject.as_deref().unwrap_or("")
    }
}

fn validate(args: &BenchArgs) -> anyhow::Result<()> {
    if args.subject.is_none() {
        bail!("the following required arguments were not provided: <SUBJECT>");
    }
    if args.pubs == 0 && args.subs == 0 {
        bail!("nothing to do: give --pub N and/or --sub M");
    }
    if args.msgs == 0 {
        bail!("--msgs must be at least 1");
    }
    if args.seq && (!args.raw || args.size < 8 || args.request || args.reply) {
        bail!("--seq needs --raw, a --size of at least 8 and plain publish/subscribe");
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
    if global.nkey.is_some() {
        bail!("--raw does not support --nkey");
    }
    Ok(raw::Target {
        host: first.host().to_string(),
        port: first.port(),
        creds: global.credentials()?,
        name,
        timeout: global.timeout,
        source: None,
        tls: raw_tls(global, first)?,
    })
}

/// The raw client's TLS setup: on for `tls://` URLs or `--tlsca`, verifying the server
/// against `--tlsca` (or nothing else: the raw client has no system roots), with
/// `--tlscert`/`--tlskey` as its own certificate.
fn raw_tls(global: &GlobalOpts, url: &async_nats::ServerAddr) -> anyhow::Result<Option<raw::Tls>> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
    if !url.tls_required() && global.tls_ca.is_none() {
        return Ok(None);
    }
    let ca = global
        .tls_ca
        .as_ref()
        .context("--raw over TLS needs --tlsca (the raw client trusts no system roots)")?;
    let mut roots = rustls::RootCertStore::empty();
    for cert in
        CertificateDer::pem_file_iter(ca).with_context(|| format!("reading {}", ca.display()))?
    {
        roots
            .add(cert.with_context(|| format!("parsing {}", ca.display()))?)
            .context("adding the CA certificate")?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?
        .with_root_certificates(roots);
    let config = match (&global.tls_cert, &global.tls_key) {
        (Some(cert), Some(key)) => {
            let chain = CertificateDer::pem_file_iter(cert)
                .with_context(|| format!("reading {}", cert.display()))?
                .collect::<Result<Vec<_>, _>>()
                .with_context(|| format!("parsing {}", cert.display()))?;
            let key = PrivateKeyDer::from_pem_file(key)
                .with_context(|| format!("reading {}", key.display()))?;
            builder
                .with_client_auth_cert(chain, key)
                .context("client certificate")?
        }
        (None, None) => builder.with_no_client_auth(),
        _ => bail!("--tlscert and --tlskey go together"),
    };
    let server_name = ServerName::try_from(url.host().to_string())
        .with_context(|| format!("{} as a TLS server name", url.host()))?;
    Ok(Some(raw::Tls {
        config: Arc::new(config),
        server_name,
    }))
}

/// Starts every subscriber and returns once all have confirmed their subscription.
/// With `--seq`: one exactly-once tracker per subscriber, or one for a queue group.
fn seq_trackers(args: &BenchArgs) -> Vec<Arc<SeqCheck>> {
    let n = match (args.seq, args.queue.is_some()) {
        (false, _) => 0,
        (true, true) => 1.min(args.subs),
        (true, false) => args.subs,
    };
    (0..n).map(|_| Arc::new(SeqCheck::new(args.msgs))).collect()
}

async fn start_subscribers(
    global: &GlobalOpts,
    args: &BenchArgs,
    shared: &Arc<Shared>,
    seqs: &[Arc<SeqCheck>],
) -> anyhow::Result<Vec<SubTask>> {
    let mut tasks = Vec::with_capacity(args.subs);
    let mut ready = Vec::with_capacity(args.subs);
    for i in 0..args.subs {
        let plan = SubPlan {
            subject: args.subject().to_string(),
            queue: args.queue.clone(),
            expect: args.msgs,
            size: args.size,
            seq: seqs.get(i).or(seqs.first()).cloned(),
        };
        let (tx, rx) = oneshot::channel();
        ready.push(rx);
        let name = format!("NATS bench sub {}", i + 1);
        let shared = Arc::clone(shared);
        let task: SubTask = if args.raw {
            let target = raw_target(global, name)?;
            tokio::spawn(raw::subscriber(target, plan, shared, args.reply, tx))
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
    let mut next_seq = 0u64;
    for i in 0..args.pubs {
        // Split K as evenly as possible; the first publishers take the remainder.
        let share =
            args.msgs / args.pubs as u64 + u64::from((i as u64) < args.msgs % args.pubs as u64);
        // With --seq, publisher i numbers its messages after those of publishers < i.
        let first = args.seq.then_some(next_seq);
        next_seq += share;
        let name = format!("NATS bench pub {}", i + 1);
        let shared = Arc::clone(shared);
        let subject = args.subject().to_string();
        let mut go = go.clone();
        let timeout = global.timeout;
        let size = args.size;
        // Raw clients connect now, so the handshake is not part of the measured run.
        let task: PubTask = if args.raw && args.request {
            let requester = raw_rr::connect(&raw_target(global, name)?).await?;
            tokio::spawn(async move {
                let _ = go.wait_for(|g| *g).await;
                let (s, h) = requester.run(&subject, share, size, shared).await?;
                Ok((s, Some(h)))
            })
        } else if args.raw {
            let conn = raw::connect(&raw_target(global, name)?).await?;
            tokio::spawn(async move {
                let _ = go.wait_for(|g| *g).await;
                let s = raw::publisher_numbered(conn, vec![subject], share, size, first, shared)
                    .await?;
                Ok((s, None))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subcommands_and_subject_parse_apart() {
        use clap::Parser;
        #[derive(Parser)]
        struct Cli {
            #[command(flatten)]
            global: GlobalOpts,
            #[command(flatten)]
            bench: BenchArgs,
        }
        let parse = |argv: &[&str]| Cli::try_parse_from(argv).map(|c| c.bench);
        let b = parse(&["b", "-s", "nats://h:1", "conns", "--count", "7"]).expect("conns");
        assert!(matches!(b.mode, Some(BenchMode::Conns(ref c)) if c.count == 7));
        let b = parse(&["b", "subs", "--count", "9", "--spread", "2"]).expect("subs");
        assert!(matches!(b.mode, Some(BenchMode::Subs(ref s)) if s.count == 9 && s.spread == 2));
        let b = parse(&[
            "b",
            "foo",
            "--pub",
            "1",
            "--pub-server",
            "nats://a:1",
            "--json",
        ])
        .expect("plain");
        assert!(b.mode.is_none());
        assert_eq!(b.subject.as_deref(), Some("foo"));
        assert_eq!(b.pub_server.as_deref(), Some("nats://a:1"));
        assert!(b.json);
        assert!(parse(&["b", "conns", "--hold", "nope"]).is_err());
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

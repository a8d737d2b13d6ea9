//! `nats bench js --mode pub|pull|push|kvput|kvget`: JetStream throughput through
//! async-nats, the way applications use it.
//!
//! - `pub`: acknowledged publishes to a stream (`--storage file|memory`), `--window`
//!   of them in flight; every ack is checked (stream and sequence).
//! - `pull`: a durable pull consumer with explicit acks drains a stream filled first
//!   (untimed); `--batch` messages per fetch, each message acknowledged.
//! - `push`: the same through a push consumer (explicit acks) on an inbox.
//! - `kvput` / `kvget`: key-value puts (with their acks) and gets of `--keys` keys,
//!   `--window` in flight.
//! - `consumers`: `--consumers` durable pull consumers, each filtered on one of the
//!   `--subjects` subjects, created (timed: `create_secs`) on a stream filled first, then
//!   all drained with explicit acks, one consumer after the other (the rate).
//!
//! `--subjects N` spreads the messages over `bench.js.0` … `bench.js.<N-1>` (a stream on
//! `bench.js.>`) instead of the one subject `bench.js`.
//!
//! Each run creates its stream (`BENCH`, or the bucket `BENCH`) and deletes it at the
//! end. The result is the natscli-style line or, with `--json`, one JSON object.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use async_nats::jetstream::{self, consumer, stream};
use bytes::Bytes;
use clap::{Args, ValueEnum};
use futures::{StreamExt, TryStreamExt};

use super::parse_size;
use crate::opts::GlobalOpts;
use crate::out;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Mode {
    Pub,
    Pull,
    Push,
    Kvput,
    Kvget,
    Consumers,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Storage {
    File,
    Memory,
}

#[derive(Args, Debug)]
pub struct JsArgs {
    /// What to measure
    #[arg(long, value_enum, default_value = "pub")]
    pub mode: Mode,
    /// Stream storage
    #[arg(long, value_enum, default_value = "file")]
    pub storage: Storage,
    /// Number of messages (or key-value operations)
    #[arg(long, default_value_t = 100_000, value_name = "K")]
    pub msgs: u64,
    /// Message (value) size
    #[arg(long, default_value = "128", value_parser = parse_size, value_name = "SIZE")]
    pub size: usize,
    /// Publishes / key-value operations in flight at once
    #[arg(long, default_value_t = 256, value_name = "N")]
    pub window: usize,
    /// Messages per pull request
    #[arg(long, default_value_t = 500, value_name = "N")]
    pub batch: usize,
    /// Distinct keys for kvput/kvget
    #[arg(long, default_value_t = 1000, value_name = "N")]
    pub keys: u64,
    /// Spread the messages over this many subjects
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub subjects: u64,
    /// Durable pull consumers for --mode consumers
    #[arg(long, default_value_t = 100, value_name = "N")]
    pub consumers: u64,
    /// Print the result as one JSON line
    #[arg(long)]
    pub json: bool,
    /// Keep the stream (or bucket) at the end, e.g. to measure the server holding it
    #[arg(long)]
    pub keep: bool,
}

const STREAM: &str = "BENCH";
/// Unacknowledged messages a consumer may have out: bounded, as applications run them,
/// so that a fast server cannot overrun the client library's own subscription buffer
/// (async-nats drops what does not fit, and the run would stall on the lost messages).
const MAX_ACK_PENDING: i64 = 20_000;
const SUBJECT: &str = "bench.js";

pub async fn run(global: &GlobalOpts, args: JsArgs) -> anyhow::Result<ExitCode> {
    if args.msgs == 0
        || args.window == 0
        || args.batch == 0
        || args.keys == 0
        || args.subjects == 0
        || args.consumers == 0
    {
        bail!("--msgs, --window, --batch, --keys, --subjects and --consumers must be at least 1");
    }
    let subjects = Subjects(args.subjects);
    let mut create_secs = None;
    let client = global.connect().await?;
    let js = jetstream::new(client.clone());
    let payload = Bytes::from(vec![b'x'; args.size]);
    let storage = match args.storage {
        Storage::File => stream::StorageType::File,
        Storage::Memory => stream::StorageType::Memory,
    };
    let _ = js.delete_stream(STREAM).await;
    let _ = js.delete_key_value(STREAM).await;
    let elapsed = match args.mode {
        Mode::Pub => {
            make_stream(&js, storage, subjects).await?;
            publish(&js, args.msgs, &payload, args.window, subjects).await?
        }
        Mode::Consumers => {
            if args.consumers > args.subjects {
                bail!("--consumers must not exceed --subjects (one filter subject each)");
            }
            let s = make_stream(&js, storage, subjects).await?;
            publish(&js, args.msgs, &payload, args.window, subjects).await?;
            let (created, drained) =
                consumers(&s, args.msgs, args.consumers, subjects, args.batch).await?;
            create_secs = Some(created.as_secs_f64());
            drained
        }
        Mode::Pull | Mode::Push => {
            let s = make_stream(&js, storage, subjects).await?;
            publish(&js, args.msgs, &payload, args.window, subjects).await?;
            if args.mode == Mode::Pull {
                pull(&s, args.msgs, args.batch).await?
            } else {
                push(&client, &s, args.msgs).await?
            }
        }
        Mode::Kvput | Mode::Kvget => {
            // The bucket's stream as the clients make it; created directly because
            // async-nats's create_key_value needs account-info fields Go 2.9.10 lacks.
            js.create_stream(stream::Config {
                name: format!("KV_{STREAM}"),
                subjects: vec![format!("$KV.{STREAM}.>")],
                max_messages_per_subject: 1,
                discard: stream::DiscardPolicy::New,
                allow_rollup: true,
                deny_delete: true,
                allow_direct: true,
                storage,
                ..Default::default()
            })
            .await
            .context("create bucket")?;
            let kv = js.get_key_value(STREAM).await.context("open bucket")?;
            let put_time = kv_puts(
                &kv,
                args.msgs.max(args.keys),
                args.keys,
                &payload,
                args.window,
            )
            .await?;
            if args.mode == Mode::Kvput {
                put_time
            } else {
                kv_gets(&kv, args.msgs, args.keys, args.size, args.window).await?
            }
        }
    };
    if !args.keep {
        let _ = js.delete_stream(STREAM).await;
        let _ = js.delete_key_value(STREAM).await;
    }
    let secs = elapsed.as_secs_f64().max(1e-9);
    // In consumers mode only the filtered consumers' messages are drained.
    let counted = if args.mode == Mode::Consumers {
        subjects.count_for(args.msgs, args.consumers)
    } else {
        args.msgs
    };
    let rate = counted as f64 / secs;
    let mbps = rate * args.size as f64 / (1024.0 * 1024.0);
    if args.json {
        println!(
            "{}",
            serde_json::json!({
                "mode": format!("{:?}", args.mode).to_lowercase(),
                "storage": format!("{:?}", args.storage).to_lowercase(),
                "msgs": args.msgs,
                "size": args.size,
                "secs": secs,
                "msgs_per_sec": rate,
                "mb_per_sec": mbps,
                "subjects": args.subjects,
                "consumers": (args.mode == Mode::Consumers).then_some(args.consumers),
                "create_secs": create_secs,
            })
        );
    } else {
        out::log(&format!(
            "JetStream {:?} ({:?}): {} msgs of {} B in {:.3}s: {} msgs/sec ~ {:.2} MiB/sec",
            args.mode,
            args.storage,
            out::comma(args.msgs as i64),
            args.size,
            secs,
            out::comma(rate as i64),
            mbps
        ));
    }
    Ok(ExitCode::SUCCESS)
}

/// The subjects messages go to: `bench.js`, or `bench.js.<i % n>` for more than one.
#[derive(Clone, Copy)]
struct Subjects(u64);

impl Subjects {
    fn stream_subject(self) -> String {
        if self.0 > 1 {
            format!("{SUBJECT}.>")
        } else {
            SUBJECT.into()
        }
    }

    fn of(self, i: u64) -> String {
        if self.0 > 1 {
            format!("{SUBJECT}.{}", i % self.0)
        } else {
            SUBJECT.into()
        }
    }

    /// How many of `msgs` messages land on subjects `0..k`.
    fn count_for(self, msgs: u64, k: u64) -> u64 {
        (0..k)
            .map(|j| msgs / self.0 + u64::from(j < msgs % self.0))
            .sum()
    }
}

async fn make_stream(
    js: &jetstream::Context,
    storage: stream::StorageType,
    subjects: Subjects,
) -> anyhow::Result<stream::Stream> {
    js.create_stream(stream::Config {
        name: STREAM.into(),
        subjects: vec![subjects.stream_subject()],
        storage,
        ..Default::default()
    })
    .await
    .context("create stream")
}

/// `n` acknowledged publishes, `window` in flight; every ack must name the stream and
/// the next sequence.
async fn publish(
    js: &jetstream::Context,
    n: u64,
    payload: &Bytes,
    window: usize,
    subjects: Subjects,
) -> anyhow::Result<Duration> {
    let start = Instant::now();
    let mut acks = futures::stream::iter(0..n)
        .map(|i| async move {
            js.publish(subjects.of(i), payload.clone())
                .await
                .context("publish")?
                .await
                .context("ack")
        })
        .buffered(window);
    // Publishes in flight may reach the server in any order: every sequence 1..=n must
    // be acknowledged exactly once.
    let mut seen = vec![false; n as usize + 1];
    while let Some(ack) = acks.next().await {
        let ack = ack?;
        let slot = seen.get_mut(ack.sequence as usize);
        match slot {
            Some(s) if ack.stream == STREAM && !*s => *s = true,
            _ => bail!("unexpected ack {}/{}", ack.stream, ack.sequence),
        }
    }
    Ok(start.elapsed())
}

/// Create `k` durable pull consumers filtered on subjects `0..k` (timed), then drain
/// each (explicit acks; timed), checking every consumer gets exactly its subject's
/// messages.
async fn consumers(
    s: &stream::Stream,
    msgs: u64,
    k: u64,
    subjects: Subjects,
    batch: usize,
) -> anyhow::Result<(Duration, Duration)> {
    let start = Instant::now();
    let mut all = Vec::with_capacity(k as usize);
    for j in 0..k {
        let c: consumer::PullConsumer = s
            .create_consumer(consumer::pull::Config {
                durable_name: Some(format!("c{j}")),
                filter_subject: subjects.of(j),
                ack_policy: consumer::AckPolicy::Explicit,
                max_ack_pending: MAX_ACK_PENDING,
                ..Default::default()
            })
            .await
            .with_context(|| format!("create consumer c{j}"))?;
        all.push(c);
    }
    let created = start.elapsed();
    let start = Instant::now();
    for (j, c) in all.iter().enumerate() {
        let want = subjects.count_for(msgs, j as u64 + 1) - subjects.count_for(msgs, j as u64);
        let mut got = 0u64;
        while got < want {
            let mut b = c
                .fetch()
                .max_messages(batch.min((want - got) as usize))
                .expires(Duration::from_secs(5))
                .messages()
                .await
                .context("fetch")?;
            let mut n = 0;
            while let Some(m) = b.next().await {
                let m = m.map_err(|e| anyhow::anyhow!("fetch: {e}"))?;
                if m.subject.as_str() != subjects.of(j as u64) {
                    bail!("consumer c{j} got {}", m.subject);
                }
                m.ack().await.map_err(|e| anyhow::anyhow!("ack: {e}"))?;
                n += 1;
            }
            if n == 0 {
                bail!("consumer c{j} stalled at {got} of {want}");
            }
            got += n;
        }
    }
    Ok((created, start.elapsed()))
}

async fn pull(s: &stream::Stream, n: u64, batch: usize) -> anyhow::Result<Duration> {
    let c: consumer::PullConsumer = s
        .create_consumer(consumer::pull::Config {
            durable_name: Some("bench".into()),
            ack_policy: consumer::AckPolicy::Explicit,
            max_ack_pending: MAX_ACK_PENDING,
            ..Default::default()
        })
        .await
        .context("create consumer")?;
    let start = Instant::now();
    let mut got = 0u64;
    let mut msgs = c
        .stream()
        .max_messages_per_batch(batch)
        .messages()
        .await
        .context("pull")?;
    while got < n {
        let m = tokio::time::timeout(Duration::from_secs(10), msgs.next())
            .await
            .context("pull stalled")?
            .context("pull ended")?
            .map_err(|e| anyhow::anyhow!("pull: {e}"))?;
        m.ack().await.map_err(|e| anyhow::anyhow!("ack: {e}"))?;
        got += 1;
    }
    Ok(start.elapsed())
}

async fn push(client: &async_nats::Client, s: &stream::Stream, n: u64) -> anyhow::Result<Duration> {
    let c: consumer::PushConsumer = s
        .create_consumer(consumer::push::Config {
            durable_name: Some("bench".into()),
            deliver_subject: client.new_inbox(),
            ack_policy: consumer::AckPolicy::Explicit,
            max_ack_pending: MAX_ACK_PENDING,
            ..Default::default()
        })
        .await
        .context("create consumer")?;
    let start = Instant::now();
    let mut msgs = c.messages().await.context("push")?;
    let mut got = 0u64;
    while got < n {
        let m = tokio::time::timeout(Duration::from_secs(10), msgs.next())
            .await
            .context("push stalled")?
            .context("push ended")?
            .map_err(|e| anyhow::anyhow!("push: {e}"))?;
        m.ack().await.map_err(|e| anyhow::anyhow!("ack: {e}"))?;
        got += 1;
    }
    Ok(start.elapsed())
}

async fn kv_puts(
    kv: &jetstream::kv::Store,
    n: u64,
    keys: u64,
    value: &Bytes,
    window: usize,
) -> anyhow::Result<Duration> {
    let start = Instant::now();
    futures::stream::iter(0..n)
        .map(|i| async move {
            kv.put(format!("k{}", i % keys), value.clone())
                .await
                .map_err(|e| anyhow::anyhow!("put: {e}"))
        })
        .buffer_unordered(window)
        .try_for_each(|_| async { Ok(()) })
        .await?;
    Ok(start.elapsed())
}

async fn kv_gets(
    kv: &jetstream::kv::Store,
    n: u64,
    keys: u64,
    size: usize,
    window: usize,
) -> anyhow::Result<Duration> {
    let start = Instant::now();
    futures::stream::iter(0..n)
        .map(|i| async move {
            let v = kv
                .get(format!("k{}", i % keys))
                .await
                .map_err(|e| anyhow::anyhow!("get: {e}"))?;
            match v {
                Some(v) if v.len() == size => Ok(()),
                other => Err(anyhow::anyhow!(
                    "get k{}: {:?} bytes",
                    i % keys,
                    other.map(|v| v.len())
                )),
            }
        })
        .buffer_unordered(window)
        .try_for_each(|_| async { Ok(()) })
        .await?;
    Ok(start.elapsed())
}

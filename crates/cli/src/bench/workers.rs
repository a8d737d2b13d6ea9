//! Benchmark clients on async-nats: publisher, subscriber, requester and responder.
//!
//! Each worker owns its own connection (as natscli's do), so N publishers really are N
//! TCP connections. Subscribers confirm their interest with a flush before reporting
//! ready, so no message published after the start signal can be missed. Publishers
//! report progress to [`Shared`] in batches to keep atomics off the per-message path.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use async_nats::{Client, Event, Request, RequestErrorKind, Subject};
use bytes::Bytes;
use futures::StreamExt;
use hdrhistogram::Histogram;

use super::stats::{self, Sample};
use super::{Shared, SubOutcome, SubPlan, Window};
use crate::opts::GlobalOpts;

/// How many messages between progress updates.
const PROGRESS_EVERY: u64 = 1024;

/// Connects one benchmark client; subscribers get a deeper queue and a slow-consumer
/// counter so drops show up in the report instead of silently lowering the count.
pub async fn connect(
    global: &GlobalOpts,
    name: &str,
    shared: &Arc<Shared>,
    sub_capacity: Option<usize>,
) -> anyhow::Result<Client> {
    let shared_events = Arc::clone(shared);
    let mut opts = global
        .connect_options()?
        .name(name)
        .event_callback(move |event| {
            let shared = Arc::clone(&shared_events);
            async move {
                if let Event::SlowConsumer(_) = event {
                    shared.slow_consumers.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
    if let Some(cap) = sub_capacity {
        opts = opts.subscription_capacity(cap);
    }
    global.connect_with(opts).await
}

/// Subscribes (optionally in a queue group), confirms with a flush, then counts
/// messages until its plan is met or the coordinator says stop. With `reply` it answers
/// every message that carries a reply subject with the same payload.
pub async fn subscriber(
    client: Client,
    plan: SubPlan,
    shared: Arc<Shared>,
    reply: bool,
    timeout: Duration,
    ready: tokio::sync::oneshot::Sender<()>,
) -> anyhow::Result<SubOutcome> {
    let mut sub = match &plan.queue {
        Some(q) => {
            client
                .queue_subscribe(plan.subject.clone(), q.clone())
                .await
        }
        None => client.subscribe(plan.subject.clone()).await,
    }
    .context("subscribing")?;
    tokio::time::timeout(timeout, client.flush())
        .await
        .context("timed out confirming the subscription")?
        .context("confirming the subscription")?;
    let _ = ready.send(());

    let mut stop = shared.stop.clone();
    let mut window = Window::new();
    let (mut n, mut wrong_size) = (0u64, 0u64);
    while !plan.done(n) && !*stop.borrow() {
        let msg = tokio::select! {
            biased;
            _ = stop.changed() => break,
            msg = sub.next() => match msg {
                Some(m) => m,
                None => break,
            },
        };
        window.saw(Instant::now());
        n += 1;
        shared.add_received(1);
        if msg.payload.len() != plan.size {
            wrong_size += 1;
        }
        if reply {
            if let Some(to) = msg.reply {
                client.publish(to, msg.payload).await.context("replying")?;
            }
        }
    }
    if reply {
        let _ = tokio::time::timeout(timeout, client.flush()).await;
    }
    Ok(SubOutcome {
        sample: window.sample(n, plan.size),
        wrong_size,
    })
}

/// Publishes `count` messages as fast as async-nats takes them, then flushes; the
/// sample ends when the server has acknowledged the flush.
pub async fn publisher(
    client: Client,
    subject: String,
    count: u64,
    payload: Bytes,
    shared: Arc<Shared>,
    timeout: Duration,
) -> anyhow::Result<Sample> {
    let subject = Subject::from(subject);
    let start = Instant::now();
    for i in 1..=count {
        client
            .publish(subject.clone(), payload.clone())
            .await
            .context("publishing")?;
        if i % PROGRESS_EVERY == 0 {
            shared.add_published(PROGRESS_EVERY);
        }
    }
    shared.add_published(count % PROGRESS_EVERY);
    match tokio::time::timeout(timeout.max(Duration::from_secs(30)), client.flush()).await {
        Ok(res) => res.context("flushing")?,
        Err(_) => bail!("timed out flushing published messages"),
    }
    Ok(Sample::new(count, payload.len(), start, Instant::now()))
}

/// Sends `count` requests one after another and records each round trip.
pub async fn requester(
    client: Client,
    subject: String,
    count: u64,
    payload: Bytes,
    shared: Arc<Shared>,
    timeout: Duration,
) -> anyhow::Result<(Sample, Histogram<u64>)> {
    let subject = Subject::from(subject);
    let mut hist = stats::new_histogram()?;
    let start = Instant::now();
    for _ in 0..count {
        let request = Request::new()
            .payload(payload.clone())
            .timeout(Some(timeout));
        let t0 = Instant::now();
        match client.send_request(subject.clone(), request).await {
            Ok(_) => {}
            Err(err) => match err.kind() {
                RequestErrorKind::NoResponders => {
                    bail!("nats: no responders available for request")
                }
                RequestErrorKind::TimedOut => bail!("nats: timeout waiting for a reply"),
                RequestErrorKind::Other => bail!("request failed: {err}"),
            },
        }
        let ns = t0.elapsed().as_nanos().min(u64::MAX as u128) as u64;
        hist.saturating_record(ns.max(1));
        shared.add_published(1);
    }
    Ok((
        Sample::new(count, payload.len(), start, Instant::now()),
        hist,
    ))
}

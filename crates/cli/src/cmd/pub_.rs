//! `nats pub SUBJECT [BODY]`: publish one or more messages.
//!
//! Output follows natscli: one `HH:MM:SS Published N bytes to "subject"` log line per
//! message. natscli draws a progress bar instead when `--count` is above 20; we print a
//! single summary line in that case, which scripts can read. Every message is flushed
//! (a PING/PONG round trip) when it is logged or when `--sleep` is set, so the line is
//! printed only once the server has the message; bulk sends flush once at the end.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use bytes::Bytes;
use clap::Args;

use crate::opts::GlobalOpts;
use crate::out;
use crate::template::{self, Ctx};

/// Above this many messages per-message log lines give way to one summary line.
const LOG_EACH_UP_TO: u64 = 20;

#[derive(Args, Debug)]
pub struct PubArgs {
    /// Subject to publish to
    pub subject: String,
    /// Message body (templates such as {{Count}} are expanded)
    pub body: Option<String>,
    /// Sets a custom reply to subject
    #[arg(long, value_name = "SUBJECT")]
    pub reply: Option<String>,
    /// Adds headers to the message using K:V format
    #[arg(short = 'H', long = "header", value_name = "K:V")]
    pub header: Vec<String>,
    /// Publish multiple messages
    #[arg(long, default_value_t = 1)]
    pub count: u64,
    /// When publishing multiple messages, sleep between publishes
    #[arg(long, value_parser = crate::opts::parse_duration, value_name = "DURATION")]
    pub sleep: Option<Duration>,
    /// Force reading from stdin
    #[arg(long = "force-stdin")]
    pub force_stdin: bool,
    /// Show just the output received
    #[arg(short = 'q', long)]
    pub quiet: bool,
}

pub async fn run(global: &GlobalOpts, args: PubArgs) -> anyhow::Result<ExitCode> {
    let body = match &args.body {
        Some(b) => b.clone(),
        None => crate::cmd::body_from_stdin(args.force_stdin)?.unwrap_or_default(),
    };
    let client = global.connect().await?;
    let count = args.count.max(1);
    let log_each = count <= LOG_EACH_UP_TO && !args.quiet;
    let sleep = args.sleep.filter(|d| !d.is_zero() && count > 1);

    let publish_all = async {
        let mut total_bytes = 0u64;
        let mut last_subject = args.subject.clone();
        for i in 1..=count {
            let ctx = Ctx {
                count: i,
                request: None,
            };
            let payload = template::expand_or_warn(&body, &ctx, "body");
            let subject = template::expand_or_warn(&args.subject, &ctx, "subject");
            let headers = crate::cmd::build_headers(&args.header, &ctx)?;
            let len = payload.len();
            let payload = Bytes::from(payload);
            let sent = match (&args.reply, headers) {
                (None, None) => client.publish(subject.clone(), payload).await,
                (None, Some(h)) => {
                    client
                        .publish_with_headers(subject.clone(), h, payload)
                        .await
                }
                (Some(r), None) => {
                    client
                        .publish_with_reply(subject.clone(), r.clone(), payload)
                        .await
                }
                (Some(r), Some(h)) => {
                    client
                        .publish_with_reply_and_headers(subject.clone(), r.clone(), h, payload)
                        .await
                }
            };
            sent.with_context(|| format!("publishing to {subject:?}"))?;
            if log_each || sleep.is_some() {
                flush(&client, global.timeout).await?;
            }
            if log_each {
                out::log(&format!(
                    "Published {len} bytes to {}",
                    out::quote(&subject)
                ));
            }
            total_bytes += len as u64;
            last_subject = subject;
            if let Some(d) = sleep {
                if i < count {
                    tokio::time::sleep(d).await;
                }
            }
        }
        flush(&client, global.timeout).await?;
        if !log_each && !args.quiet {
            out::log(&format!(
                "Published {} messages ({} bytes) to {}",
                out::comma(count as i64),
                out::comma(total_bytes as i64),
                out::quote(&last_subject)
            ));
        }
        anyhow::Ok(())
    };

    tokio::select! {
        res = publish_all => res?,
        _ = crate::signal::interrupted() => {}
    }
    Ok(ExitCode::SUCCESS)
}

/// Waits until the server has seen everything sent so far (PING/PONG), bounded by
/// `--timeout` so a dead server cannot hang the command.
pub async fn flush(client: &async_nats::Client, timeout: Duration) -> anyhow::Result<()> {
    match tokio::time::timeout(timeout, client.flush()).await {
        Ok(res) => res.context("flushing to the server"),
        Err(_) => anyhow::bail!("nats: timeout waiting for the server to confirm the publish"),
    }
}

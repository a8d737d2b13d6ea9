//! `nats sub SUBJECT...`: print messages as they arrive.
//!
//! The shape is natscli's, which our clustering guide quotes: a log line
//! `HH:MM:SS Subscribing on hello` (stderr, printed only after the server confirmed the
//! subscription, so a publish started afterwards is never missed), then for each message
//! on stdout `[#N] Received on "subject"` (plus ` with reply "..."` when there is one),
//! `Key: Value` header lines and a blank line if there are headers, the body, and a
//! blank line. Each message is flushed to stdout on its own because the guide runs
//! `nats sub ... &` and expects to see messages as they come. Ctrl-C exits 0.

use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use futures::StreamExt;

use crate::opts::GlobalOpts;
use crate::out;

#[derive(Args, Debug)]
pub struct SubArgs {
    /// Subjects to subscribe to
    #[arg(required = true, num_args = 1..)]
    pub subjects: Vec<String>,
    /// Subscribe to a named queue group
    #[arg(long, value_name = "QUEUE")]
    pub queue: Option<String>,
    /// Quit after receiving this many messages
    #[arg(long, value_name = "N")]
    pub count: Option<u64>,
    /// Show the raw data received
    #[arg(short = 'r', long)]
    pub raw: bool,
    /// Only show message headers, not bodies
    #[arg(long = "headers-only")]
    pub headers_only: bool,
}

pub async fn run(global: &GlobalOpts, args: SubArgs) -> anyhow::Result<ExitCode> {
    let client = global.connect_logging_events().await?;
    let limit = args.count.filter(|&n| n > 0);

    let mut subs = Vec::with_capacity(args.subjects.len());
    for subject in &args.subjects {
        let mut sub = match &args.queue {
            Some(q) => client.queue_subscribe(subject.clone(), q.clone()).await,
            None => client.subscribe(subject.clone()).await,
        }
        .with_context(|| format!("subscribing to {subject:?}"))?;
        if let Some(n) = limit {
            // Let the server stop delivery too, like natscli's AutoUnsubscribe.
            sub.unsubscribe_after(n)
                .await
                .context("setting auto-unsubscribe")?;
        }
        subs.push(sub);
    }
    crate::cmd::pub_::flush(&client, global.timeout).await?;
    if !args.raw {
        out::log(&format!("Subscribing on {}", args.subjects.join(", ")));
    }

    let mut messages = futures::stream::select_all(subs);
    let mut n: u64 = 0;
    let receive = async {
        while let Some(msg) = messages.next().await {
            n += 1;
            out::stdout(&render(&msg, n, &args))?;
            if limit.is_some_and(|l| n >= l) {
                break;
            }
        }
        anyhow::Ok(())
    };
    tokio::select! {
        res = receive => res?,
        _ = crate::signal::interrupted() => {}
    }
    Ok(ExitCode::SUCCESS)
}

/// One message in natscli's layout (see the module docs).
fn render(msg: &async_nats::Message, n: u64, args: &SubArgs) -> Vec<u8> {
    let mut buf = Vec::with_capacity(msg.payload.len() + 64);
    if args.raw {
        out::push_body(&mut buf, &msg.payload);
        return buf;
    }
    let mut line = format!("[#{n}] Received on {}", out::quote(msg.subject.as_str()));
    if let Some(reply) = &msg.reply {
        line.push_str(&format!(" with reply {}", out::quote(reply.as_str())));
    }
    line.push('\n');
    buf.extend_from_slice(line.as_bytes());
    let headers = out::header_lines(msg.headers.as_ref());
    if !headers.is_empty() {
        for h in headers {
            buf.extend_from_slice(h.as_bytes());
            buf.push(b'\n');
        }
        buf.push(b'\n');
    }
    if !args.headers_only {
        out::push_body(&mut buf, &msg.payload);
        buf.push(b'\n');
    }
    buf
}

//! `nats reply SUBJECT [BODY]`: a tiny service that answers requests.
//!
//! Like natscli it joins the queue group `NATS-RPLY-22` unless `--queue` says otherwise,
//! so several `nats reply` processes share the load. It logs
//! `HH:MM:SS Listening on "subj" in group "NATS-RPLY-22"`, and for each request
//! `HH:MM:SS [#N] Received on subject "subj":` plus header lines, then prints a blank
//! line and the request body on stdout. N starts at 0, as natscli counts it, and the same
//! number is what `{{Count}}` expands to in the reply body. With no body and no `--echo`
//! it switches to echo mode, as natscli does; echo replies carry the request's headers
//! plus `NATS-Reply-Counter`.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use bytes::Bytes;
use clap::Args;
use futures::StreamExt;

use crate::opts::GlobalOpts;
use crate::out;
use crate::template::{self, Ctx};

#[derive(Args, Debug)]
pub struct ReplyArgs {
    /// Subject to subscribe to
    pub subject: String,
    /// Reply body (templates such as {{Count}} and {{Request}} are expanded)
    pub body: Option<String>,
    /// Echo back what is received
    #[arg(long)]
    pub echo: bool,
    /// Queue group name
    #[arg(short = 'q', long, default_value = "NATS-RPLY-22")]
    pub queue: String,
    /// Inject a random sleep delay between replies up to this duration max
    #[arg(long, value_parser = crate::opts::parse_duration, value_name = "MAX")]
    pub sleep: Option<Duration>,
    /// Adds headers to the message using K:V format
    #[arg(short = 'H', long = "header", value_name = "K:V")]
    pub header: Vec<String>,
    /// Quit after receiving this many messages
    #[arg(long, value_name = "N")]
    pub count: Option<u64>,
}

pub async fn run(global: &GlobalOpts, args: ReplyArgs) -> anyhow::Result<ExitCode> {
    let client = global.connect_logging_events().await?;
    let body = args.body.clone().unwrap_or_default();
    let echo = args.echo || body.is_empty();
    if echo && !args.echo {
        out::log("No body or command supplied, enabling echo mode");
    }
    let limit = args.count.filter(|&n| n > 0);

    let mut sub = client
        .queue_subscribe(args.subject.clone(), args.queue.clone())
        .await
        .with_context(|| format!("subscribing to {:?}", args.subject))?;
    if let Some(n) = limit {
        sub.unsubscribe_after(n)
            .await
            .context("setting auto-unsubscribe")?;
    }
    crate::cmd::pub_::flush(&client, global.timeout).await?;
    out::log(&format!(
        "Listening on {} in group {}",
        out::quote(&args.subject),
        out::quote(&args.queue)
    ));

    let serve = async {
        let mut i: u64 = 0;
        while let Some(msg) = sub.next().await {
            out::log(&format!(
                "[#{i}] Received on subject {}:",
                out::quote(msg.subject.as_str())
            ));
            for h in out::header_lines(msg.headers.as_ref()) {
                out::log(&h);
            }
            let mut shown = b"\n".to_vec();
            shown.extend_from_slice(&msg.payload);
            shown.push(b'\n');
            out::stdout(&shown)?;

            if let Some(max) = args.sleep.filter(|d| !d.is_zero()) {
                let nanos = crate::template::next_u64() % (max.as_nanos() as u64).max(1);
                tokio::time::sleep(Duration::from_nanos(nanos)).await;
            }

            let request_text = String::from_utf8_lossy(&msg.payload);
            let ctx = Ctx {
                count: i,
                request: Some(request_text.as_ref()),
            };
            let mut headers = crate::cmd::build_headers(&args.header, &ctx)?.unwrap_or_default();
            let payload = if echo {
                if let Some(req_headers) = &msg.headers {
                    for (k, vs) in req_headers.iter() {
                        for v in vs {
                            headers.append(k.clone(), v.clone());
                        }
                    }
                }
                headers.append("NATS-Reply-Counter", i.to_string());
                msg.payload.clone()
            } else {
                Bytes::from(template::expand_or_warn(&body, &ctx, "body"))
            };

            match &msg.reply {
                Some(reply) => {
                    let sent = if headers.is_empty() {
                        client.publish(reply.clone(), payload).await
                    } else {
                        client
                            .publish_with_headers(reply.clone(), headers, payload)
                            .await
                    };
                    if let Err(err) = sent {
                        out::log(&format!("Could not publish reply: {err}"));
                    }
                }
                None => out::log("Message has no reply subject, not replying"),
            }
            i += 1;
            if limit.is_some_and(|l| i >= l) {
                break;
            }
        }
        crate::cmd::pub_::flush(&client, global.timeout).await
    };
    tokio::select! {
        res = serve => res?,
        _ = crate::signal::interrupted() => {}
    }
    Ok(ExitCode::SUCCESS)
}

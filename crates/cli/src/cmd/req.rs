//! `nats req SUBJECT [BODY]`: send one request and print the reply.
//!
//! Log lines as natscli prints them: `HH:MM:SS Sending request on "subj"`, then
//! `HH:MM:SS Received with rtt 1.182084ms` and one log line per reply header; the reply
//! body goes to stdout. Failures are errors with exit code 1 and the nats.go wording:
//! `nats: no responders available for request` when the server reports that nobody is
//! subscribed (status 503), `nats: timeout` when `--timeout` passes. (Newer natscli only
//! logs "No responders are available" and exits 0; a non-zero exit is more useful to
//! scripts and is what older natscli releases did.)

use std::process::ExitCode;
use std::time::Instant;

use anyhow::bail;
use async_nats::{Request, RequestErrorKind};
use bytes::Bytes;
use clap::Args;

use crate::opts::GlobalOpts;
use crate::out;
use crate::template::{self, Ctx};

#[derive(Args, Debug)]
pub struct ReqArgs {
    /// Subject to send the request to
    pub subject: String,
    /// Message body (templates such as {{Count}} are expanded)
    pub body: Option<String>,
    /// Adds headers to the message using K:V format
    #[arg(short = 'H', long = "header", value_name = "K:V")]
    pub header: Vec<String>,
    /// Show just the output received
    #[arg(short = 'r', long)]
    pub raw: bool,
    /// Force reading from stdin
    #[arg(long = "force-stdin")]
    pub force_stdin: bool,
}

pub async fn run(global: &GlobalOpts, args: ReqArgs) -> anyhow::Result<ExitCode> {
    let body = match &args.body {
        Some(b) => b.clone(),
        None => crate::cmd::body_from_stdin(args.force_stdin)?.unwrap_or_default(),
    };
    let client = global.connect().await?;
    let ctx = Ctx {
        count: 1,
        request: None,
    };
    let payload = template::expand_or_warn(&body, &ctx, "body");
    let subject = template::expand_or_warn(&args.subject, &ctx, "subject");
    let headers = crate::cmd::build_headers(&args.header, &ctx)?;

    if !args.raw {
        out::log(&format!("Sending request on {}", out::quote(&subject)));
    }
    let mut request = Request::new()
        .payload(Bytes::from(payload))
        .timeout(Some(global.timeout));
    if let Some(h) = headers {
        request = request.headers(h);
    }
    let start = Instant::now();
    let reply = tokio::select! {
        res = client.send_request(subject, request) => res,
        _ = crate::signal::interrupted() => return Ok(ExitCode::SUCCESS),
    };
    let rtt = start.elapsed();
    let msg = match reply {
        Ok(msg) => msg,
        Err(err) => match err.kind() {
            RequestErrorKind::NoResponders => bail!("nats: no responders available for request"),
            RequestErrorKind::TimedOut => bail!("nats: timeout"),
            RequestErrorKind::Other => bail!("nats: request failed: {err}"),
        },
    };

    let mut buf = Vec::with_capacity(msg.payload.len() + 2);
    if args.raw {
        out::push_body(&mut buf, &msg.payload);
    } else {
        out::log(&format!("Received with rtt {}", out::go_duration(rtt)));
        let headers = out::header_lines(msg.headers.as_ref());
        if !headers.is_empty() {
            for h in &headers {
                out::log(h);
            }
            out::log("");
        }
        out::push_body(&mut buf, &msg.payload);
        buf.push(b'\n');
    }
    out::stdout(&buf)?;
    Ok(ExitCode::SUCCESS)
}

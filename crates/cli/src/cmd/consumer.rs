//! `nats consumer add|ls|info|next|rm`: JetStream consumers with natscli's flags and
//! output. `next` pulls one message at a time from a pull consumer and acknowledges it,
//! printing the delivery metadata line natscli prints.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use futures::StreamExt;
use serde_json::{json, Value};

use crate::cols::Columns;
use crate::js::{self, Js};
use crate::opts::GlobalOpts;
use crate::out;
use crate::table::{Cell, Table};

#[derive(Args, Debug)]
pub struct ConsumerArgs {
    #[command(subcommand)]
    pub command: ConsumerCommand,
}

#[derive(Subcommand, Debug)]
pub enum ConsumerCommand {
    /// Creates a new Consumer
    #[command(aliases = ["create", "new"])]
    Add(AddArgs),
    /// List known Consumers
    #[command(aliases = ["list", "l"])]
    Ls(LsArgs),
    /// Consumer information
    Info(InfoArgs),
    /// Retrieves messages from Pull Consumers without interactive prompts
    Next(NextArgs),
    /// Removes a Consumer
    #[command(aliases = ["delete", "del"])]
    Rm(RmArgs),
}

#[derive(Args, Debug)]
pub struct AddArgs {
    /// Stream name
    pub stream: String,
    /// Consumer name
    pub consumer: String,
    /// Deliver messages in 'pull' mode
    #[arg(long)]
    pub pull: bool,
    /// Push based delivery target subject
    #[arg(long, value_name = "SUBJECT")]
    pub target: Option<String>,
    /// Acknowledgment policy (none, all, explicit)
    #[arg(long, value_parser = ["none", "all", "explicit"])]
    pub ack: Option<String>,
    /// Start policy (all, new, last, subject, 1h, msg sequence)
    #[arg(long, value_name = "POLICY")]
    pub deliver: Option<String>,
    /// Filter Stream by subjects
    #[arg(long, value_name = "SUBJECTS")]
    pub filter: Option<String>,
    /// Maximum amount of times a message will be delivered
    #[arg(long = "max-deliver", allow_hyphen_values = true, value_name = "TRIES")]
    pub max_deliver: Option<i64>,
    /// Maximum pending Acks before consumers are paused
    #[arg(long = "max-pending", allow_hyphen_values = true)]
    pub max_pending: Option<i64>,
    /// Acknowledgment waiting time
    #[arg(long, value_parser = crate::opts::parse_duration, value_name = "DURATION")]
    pub wait: Option<Duration>,
    /// Replay Policy (instant, original)
    #[arg(long, value_parser = ["instant", "original"])]
    pub replay: Option<String>,
    /// A description for the consumer
    #[arg(long)]
    pub description: Option<String>,
    /// Accept default values for all prompts (we never prompt; accepted for natscli's sake)
    #[arg(long)]
    pub defaults: bool,
}

#[derive(Args, Debug)]
pub struct LsArgs {
    /// Stream name
    pub stream: String,
    /// Show just the consumer names
    #[arg(short = 'n', long)]
    pub names: bool,
    /// Produce JSON output
    #[arg(short = 'j', long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct InfoArgs {
    /// Stream name
    pub stream: String,
    /// Consumer name
    pub consumer: String,
    /// Produce JSON output
    #[arg(short = 'j', long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct NextArgs {
    /// Stream name
    pub stream: String,
    /// Consumer name
    pub consumer: String,
    /// Number of messages to try to fetch from the pull consumer
    #[arg(long, default_value_t = 1)]
    pub count: usize,
    /// Do not acknowledge received messages
    #[arg(long = "no-ack")]
    pub no_ack: bool,
    /// Acknowledge received messages (the default)
    #[arg(long, overrides_with = "no_ack")]
    pub ack: bool,
    /// Show only the message
    #[arg(short = 'r', long)]
    pub raw: bool,
}

#[derive(Args, Debug)]
pub struct RmArgs {
    /// Stream name
    pub stream: String,
    /// Consumer name
    pub consumer: String,
    /// Force removal without prompting
    #[arg(short = 'f', long)]
    pub force: bool,
}

pub async fn run(global: &GlobalOpts, args: ConsumerArgs) -> anyhow::Result<ExitCode> {
    let js = Js::connect(global).await?;
    match args.command {
        ConsumerCommand::Add(a) => add(&js, a).await,
        ConsumerCommand::Ls(a) => ls(&js, a).await,
        ConsumerCommand::Info(a) => {
            let info = consumer_info(&js, &a.stream, &a.consumer).await?;
            if a.json {
                js::print_json(&info)?;
            } else {
                print!("{}", render_info(&info));
            }
            Ok(ExitCode::SUCCESS)
        }
        ConsumerCommand::Next(a) => next(&js, a).await,
        ConsumerCommand::Rm(a) => {
            if !a.force
                && !js::confirm(&format!(
                    "Really delete Consumer {} > {}",
                    a.stream, a.consumer
                ))?
            {
                return Ok(ExitCode::SUCCESS);
            }
            js.api(
                &format!("CONSUMER.DELETE.{}.{}", a.stream, a.consumer),
                &Value::Null,
            )
            .await
            .context("could not remove Consumer")?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn consumer_info(js: &Js, stream: &str, consumer: &str) -> anyhow::Result<Value> {
    js.api(&format!("CONSUMER.INFO.{stream}.{consumer}"), &Value::Null)
        .await
        .with_context(|| format!("could not load Consumer {stream} > {consumer}"))
}

/// natscli's `setStartPolicy`: a policy name, a stream sequence or a duration ago.
fn start_policy(cfg: &mut Value, policy: &str) -> anyhow::Result<()> {
    match policy.to_ascii_lowercase().as_str() {
        "all" => cfg["deliver_policy"] = json!("all"),
        "last" => cfg["deliver_policy"] = json!("last"),
        "new" | "next" => cfg["deliver_policy"] = json!("new"),
        "subject" | "last_per_subject" => cfg["deliver_policy"] = json!("last_per_subject"),
        p => {
            if let Ok(seq) = p.parse::<u64>() {
                cfg["deliver_policy"] = json!("by_start_sequence");
                cfg["opt_start_seq"] = json!(seq);
            } else {
                let ago = js::parse_age(policy)
                    .map_err(|_| anyhow::anyhow!("invalid start policy {policy:?}"))?;
                let start = chrono::Utc::now()
                    - chrono::Duration::from_std(ago).context("start time out of range")?;
                cfg["deliver_policy"] = json!("by_start_time");
                cfg["opt_start_time"] =
                    json!(start.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true));
            }
        }
    }
    Ok(())
}

/// The consumer config natscli sends for `consumer add --defaults` with these flags.
pub fn add_config(a: &AddArgs) -> anyhow::Result<Value> {
    if a.consumer.contains(['.', '*', '>']) {
        bail!("durable name can not contain '.', '*', '>'");
    }
    let push = a.target.as_deref().is_some_and(|t| !t.is_empty()) && !a.pull;
    let ack = a
        .ack
        .clone()
        .unwrap_or_else(|| if push { "none" } else { "explicit" }.into());
    let mut cfg = json!({
        "durable_name": a.consumer,
        "ack_policy": ack,
        "replay_policy": a.replay.as_deref().unwrap_or("instant"),
        "max_deliver": a.max_deliver.unwrap_or(-1),
    });
    start_policy(&mut cfg, a.deliver.as_deref().unwrap_or("all"))?;
    if push {
        cfg["deliver_subject"] = json!(a.target);
    }
    if let Some(f) = a.filter.as_deref().filter(|f| !f.is_empty()) {
        cfg["filter_subject"] = json!(f);
    }
    if let Some(w) = a.wait.filter(|w| !w.is_zero()) {
        cfg["ack_wait"] = json!(js::nanos(w));
    }
    if let Some(p) = a.max_pending.filter(|p| *p > 0) {
        cfg["max_ack_pending"] = json!(p);
    }
    if let Some(d) = &a.description {
        cfg["description"] = json!(d);
    }
    Ok(cfg)
}

async fn add(js: &Js, a: AddArgs) -> anyhow::Result<ExitCode> {
    let cfg = add_config(&a)?;
    let req = json!({ "stream_name": a.stream, "config": cfg });
    let info = js
        .api(
            &format!("CONSUMER.DURABLE.CREATE.{}.{}", a.stream, a.consumer),
            &req,
        )
        .await
        .context("Consumer creation failed")?;
    print!("{}", render_info(&info));
    Ok(ExitCode::SUCCESS)
}

async fn ls(js: &Js, a: LsArgs) -> anyhow::Result<ExitCode> {
    let op = format!("CONSUMER.NAMES.{}", a.stream);
    let names = js
        .names(&op, "consumers", json!({}))
        .await
        .context("could not load Consumers")?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&names)?);
        return Ok(ExitCode::SUCCESS);
    }
    if a.names {
        for n in names {
            println!("{n}");
        }
        return Ok(ExitCode::SUCCESS);
    }
    if names.is_empty() {
        println!("No Consumers defined");
        return Ok(ExitCode::SUCCESS);
    }
    let mut t = Table::new("Consumers");
    t.header(&[
        "Name",
        "Description",
        "Created",
        "Ack Pending",
        "Unprocessed",
        "Last Delivery",
    ]);
    for name in &names {
        let Ok(cs) = consumer_info(js, &a.stream, name).await else {
            out::log(&format!("Could not obtain consumer state for {name}"));
            continue;
        };
        t.row(vec![
            cs["name"].as_str().unwrap_or(name).into(),
            cs["config"]["description"].as_str().unwrap_or("").into(),
            js::fmt_time(&cs["created"]).into(),
            Cell::num(cs["num_ack_pending"].as_u64().unwrap_or(0)),
            Cell::num(cs["num_pending"].as_u64().unwrap_or(0)),
            js::since(&cs["delivered"]["last_active"]).into(),
        ]);
    }
    println!("{}", t.render());
    Ok(ExitCode::SUCCESS)
}

async fn next(js: &Js, a: NextArgs) -> anyhow::Result<ExitCode> {
    let ack = !a.no_ack;
    for _ in 0..a.count {
        let inbox = js.client.new_inbox();
        let mut sub = js.client.subscribe(inbox.clone()).await?;
        let req = json!({ "batch": 1, "expires": js::nanos(js.timeout) });
        js.client
            .publish_with_reply(
                format!("{}.CONSUMER.MSG.NEXT.{}.{}", js::API, a.stream, a.consumer),
                inbox,
                serde_json::to_vec(&req)?.into(),
            )
            .await?;
        let msg = match tokio::time::timeout(js.timeout, sub.next()).await {
            Ok(Some(m)) => m,
            _ => {
                fail_if_not_pull(js, &a).await?;
                bail!("no message received: nats: timeout");
            }
        };
        let _ = sub.unsubscribe().await;
        if let Some(status) = msg.status {
            fail_if_not_pull(js, &a).await?;
            let desc = msg.description.clone().unwrap_or_default();
            bail!("no message received: {} {desc}", u16::from(status));
        }
        // nats-server never answers a pull with a JetStream error document, but a
        // server that does (an unknown consumer, a bad request) must not look like a
        // delivered message.
        if msg.reply.is_none() {
            if let Ok(v) = serde_json::from_slice::<Value>(&msg.payload) {
                if !v["error"].is_null() {
                    fail_if_not_pull(js, &a).await?;
                    js::check(&v).context("could not request next message")?;
                }
            }
        }
        let mut buf = String::new();
        if a.raw {
            buf.push_str(&String::from_utf8_lossy(&msg.payload));
            buf.push('\n');
        } else {
            let reply = msg.reply.as_deref().unwrap_or("");
            match js::parse_ack_subject(reply) {
                Some(m) => buf.push_str(&format!(
                    "[{}] subj: {} / tries: {} / cons seq: {} / str seq: {} / pending: {}\n",
                    out::clock(),
                    msg.subject,
                    m.delivered,
                    m.consumer_seq,
                    m.stream_seq,
                    out::comma(m.pending as i64)
                )),
                None if reply.is_empty() => {
                    buf.push_str(&format!("--- subject: {}\n", msg.subject))
                }
                None => buf.push_str(&format!("--- subject: {} reply: {reply}\n", msg.subject)),
            }
            let lines = out::header_lines(msg.headers.as_ref());
            if !lines.is_empty() {
                buf.push_str("\nHeaders:\n\n");
                for l in lines {
                    buf.push_str(&format!("  {l}\n"));
                }
                buf.push_str("\nData:\n\n");
            }
            buf.push('\n');
            buf.push_str(&String::from_utf8_lossy(&msg.payload));
            buf.push('\n');
        }
        out::stdout(buf.as_bytes())?;
        if ack {
            if let Some(reply) = msg.reply.clone() {
                js.client.publish(reply, "+ACK".into()).await?;
                js.client
                    .flush()
                    .await
                    .context("could not Acknowledge message")?;
                if !a.raw {
                    out::stdout(b"\nAcknowledged message\n\n")?;
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// natscli's check after a failed pull: a push consumer gets a clearer message.
async fn fail_if_not_pull(js: &Js, a: &NextArgs) -> anyhow::Result<()> {
    let info = js
        .api(
            &format!("CONSUMER.INFO.{}.{}", a.stream, a.consumer),
            &Value::Null,
        )
        .await
        .with_context(|| format!("could not load consumer {:?}", a.consumer))?;
    if info["config"]["deliver_subject"]
        .as_str()
        .is_some_and(|s| !s.is_empty())
    {
        bail!("consumer {:?} is not a Pull consumer", a.consumer);
    }
    Ok(())
}

fn policy_name(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// natscli's `showInfo` for a consumer.
pub fn render_info(info: &Value) -> String {
    let cfg = &info["config"];
    let stream = info["stream_name"].as_str().unwrap_or("");
    let name = info["name"].as_str().unwrap_or("");
    let mut c = Columns::new(format!(
        "Information for Consumer {stream} > {name} created {}",
        js::fmt_time(&info["created"])
    ));
    let s = |k: &str| cfg[k].as_str().unwrap_or("").to_string();
    let n = |k: &str| cfg[k].as_i64().unwrap_or(0);
    let b = |k: &str| cfg[k].as_bool().unwrap_or(false);
    c.title("Configuration");
    if !s("name").is_empty() {
        c.row("Name", s("name"));
    }
    let durable = s("durable_name");
    c.row_if(
        "Durable Name",
        &durable,
        !durable.is_empty() && durable != s("name"),
    );
    if !s("description").is_empty() {
        c.row("Description", s("description"));
    }
    let deliver = s("deliver_subject");
    if deliver.is_empty() {
        c.row("Pull Mode", true);
    } else {
        c.row("Delivery Subject", &deliver);
    }
    if !s("filter_subject").is_empty() {
        c.row("Filter Subject", s("filter_subject"));
    }
    match s("deliver_policy").as_str() {
        "all" => c.row("Deliver Policy", "All"),
        "last" => c.row("Deliver Policy", "Last"),
        "new" => c.row("Deliver Policy", "New"),
        "last_per_subject" => c.row("Deliver Policy", "Last Per Subject"),
        "by_start_time" => c.row("Deliver Policy", format!("Since {}", s("opt_start_time"))),
        "by_start_sequence" => c.row(
            "Deliver Policy",
            format!("From Sequence {}", n("opt_start_seq")),
        ),
        _ => {}
    }
    let ack = s("ack_policy");
    c.row_if(
        "Deliver Queue Group",
        s("deliver_group"),
        !s("deliver_group").is_empty() && !deliver.is_empty(),
    );
    c.row("Ack Policy", policy_name(&ack));
    c.row_if("Ack Wait", js::dur(&cfg["ack_wait"]), ack != "none");
    c.row("Replay Policy", policy_name(&s("replay_policy")));
    c.row_if(
        "Maximum Deliveries",
        out::comma(n("max_deliver")),
        n("max_deliver") != -1,
    );
    c.row_if(
        "Max Ack Pending",
        out::comma(n("max_ack_pending")),
        n("max_ack_pending") > 0,
    );
    c.row_if(
        "Max Waiting Pulls",
        out::comma(n("max_waiting")),
        n("max_waiting") > 0,
    );
    c.row_if(
        "Idle Heartbeat",
        js::dur(&cfg["idle_heartbeat"]),
        n("idle_heartbeat") > 0,
    );
    c.row_if("Flow Control", b("flow_control"), !deliver.is_empty());
    c.row_if("Headers Only", true, b("headers_only"));
    c.row_if(
        "Inactive Threshold",
        js::dur(&cfg["inactive_threshold"]),
        n("inactive_threshold") > 0 && deliver.is_empty(),
    );
    c.row_if(
        "Max Pull Expire",
        js::dur(&cfg["max_expires"]),
        n("max_expires") > 0,
    );
    c.row_if(
        "Max Pull Batch",
        out::comma(n("max_batch")),
        n("max_batch") > 0,
    );
    c.row_if(
        "Replicas",
        out::comma(n("num_replicas")),
        n("num_replicas") > 0,
    );
    c.row_if("Memory Storage", true, b("mem_storage"));

    c.title("State");
    let seqs = |v: &Value, last: &str| {
        let base = format!(
            "Consumer sequence: {} Stream sequence: {}",
            js::num(&v["consumer_seq"]),
            js::num(&v["stream_seq"])
        );
        match js::time(&v["last_active"]) {
            Some(_) => format!("{base} {last}: {} ago", js::since(&v["last_active"])),
            None => base,
        }
    };
    c.row(
        "Last Delivered Message",
        seqs(&info["delivered"], "Last delivery"),
    );
    if ack != "none" {
        c.row("Acknowledgment Floor", seqs(&info["ack_floor"], "Last Ack"));
        if n("max_ack_pending") > 0 {
            c.row(
                "Outstanding Acks",
                format!(
                    "{} out of maximum {}",
                    js::num(&info["num_ack_pending"]),
                    out::comma(n("max_ack_pending"))
                ),
            );
        } else {
            c.row("Outstanding Acks", js::num(&info["num_ack_pending"]));
        }
        c.row("Redelivered Messages", js::num(&info["num_redelivered"]));
    }
    c.row("Unprocessed Messages", js::num(&info["num_pending"]));
    if deliver.is_empty() {
        if n("max_waiting") > 0 {
            c.row(
                "Waiting Pulls",
                format!(
                    "{} of maximum {}",
                    js::num(&info["num_waiting"]),
                    out::comma(n("max_waiting"))
                ),
            );
        } else {
            c.row(
                "Waiting Pulls",
                format!("{} of unlimited", js::num(&info["num_waiting"])),
            );
        }
    } else if info["push_bound"].as_bool().unwrap_or(false) {
        if s("deliver_group").is_empty() {
            c.row("Active Interest", "Active");
        } else {
            c.row(
                "Active Interest",
                format!("Active using Queue Group {}", s("deliver_group")),
            );
        }
    } else {
        c.row("Active Interest", "No interest");
    }
    c.render()
}

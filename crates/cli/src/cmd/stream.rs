//! `nats stream add|ls|info|rm|purge|get`: JetStream stream management with natscli's
//! names, flags and output (a "columns" info block, a rounded `Streams` table).
//! Everything is non-interactive: flags left out take natscli's `--defaults` values.

use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use serde_json::{json, Value};

use crate::cols::Columns;
use crate::js::{self, Js};
use crate::opts::GlobalOpts;
use crate::out;
use crate::table::Table;

#[derive(Args, Debug)]
pub struct StreamArgs {
    #[command(subcommand)]
    pub command: StreamCommand,
}

#[derive(Subcommand, Debug)]
pub enum StreamCommand {
    /// Create a new Stream
    #[command(aliases = ["create", "new"])]
    Add(AddArgs),
    /// List all known Streams
    #[command(aliases = ["list", "l"])]
    Ls(LsArgs),
    /// Stream information
    Info(InfoArgs),
    /// Removes a Stream
    #[command(aliases = ["delete", "del"])]
    Rm(RmArgs),
    /// Purge a Stream without deleting it
    Purge(PurgeArgs),
    /// Retrieves a specific message from a Stream
    Get(GetArgs),
}

#[derive(Args, Debug)]
pub struct AddArgs {
    /// Stream name
    pub stream: String,
    /// Subjects that are consumed by the stream (comma separated or repeated)
    #[arg(long, value_delimiter = ',', value_name = "SUBJECTS")]
    pub subjects: Vec<String>,
    /// Storage backend to use (file, memory)
    #[arg(long, value_parser = ["file", "f", "memory", "m"])]
    pub storage: Option<String>,
    /// Defines a retention policy (limits, interest, workqueue)
    #[arg(long, value_parser = ["limits", "interest", "workqueue", "workq", "work"])]
    pub retention: Option<String>,
    /// Defines the discard policy (new, old)
    #[arg(long, value_parser = ["new", "old"])]
    pub discard: Option<String>,
    /// Maximum amount of messages to keep (-1 unlimited)
    #[arg(long = "max-msgs", allow_hyphen_values = true, default_value_t = -1)]
    pub max_msgs: i64,
    /// Maximum amount of messages to keep per subject (-1 unlimited)
    #[arg(
        long = "max-msgs-per-subject",
        allow_hyphen_values = true,
        default_value_t = -1
    )]
    pub max_msgs_per_subject: i64,
    /// Maximum bytes to keep (1GB, 512MB, -1 unlimited)
    #[arg(long = "max-bytes", allow_hyphen_values = true, value_parser = js::parse_bytes, value_name = "BYTES")]
    pub max_bytes: Option<i64>,
    /// Maximum age of messages to keep (1h, 2d, -1 unlimited)
    #[arg(long = "max-age", allow_hyphen_values = true, value_parser = js::parse_age, value_name = "DURATION")]
    pub max_age: Option<std::time::Duration>,
    /// Maximum size any 1 message may be
    #[arg(long = "max-msg-size", allow_hyphen_values = true, value_parser = js::parse_bytes, value_name = "BYTES")]
    pub max_msg_size: Option<i64>,
    /// Maximum number of consumers to allow (-1 unlimited)
    #[arg(long = "max-consumers", allow_hyphen_values = true, default_value_t = -1)]
    pub max_consumers: i64,
    /// Duration of the duplicate message tracking window
    #[arg(long = "dupe-window", value_parser = js::parse_age, value_name = "DURATION")]
    pub dupe_window: Option<std::time::Duration>,
    /// When clustered, how many replicas of the data to create
    #[arg(long, default_value_t = 1)]
    pub replicas: i64,
    /// A description for the stream
    #[arg(long)]
    pub description: Option<String>,
    /// Allows roll-ups to be done by publishing messages with special headers
    #[arg(long = "allow-rollup")]
    pub allow_rollup: bool,
    /// Deny messages from being deleted via the API
    #[arg(long = "deny-delete")]
    pub deny_delete: bool,
    /// Deny entire stream or subject purges via the API
    #[arg(long = "deny-purge")]
    pub deny_purge: bool,
    /// Disable direct access to stream data via the direct get API
    #[arg(long = "no-allow-direct")]
    pub no_allow_direct: bool,
    /// Disable publish acknowledgements
    #[arg(long = "no-ack")]
    pub no_ack: bool,
    /// Accept default values for all prompts (we never prompt; accepted for natscli's sake)
    #[arg(long)]
    pub defaults: bool,
}

#[derive(Args, Debug)]
pub struct LsArgs {
    /// Limit the list to streams with matching subjects
    #[arg(long)]
    pub subject: Option<String>,
    /// Include system streams (KV_, OBJ_)
    #[arg(short = 'a', long)]
    pub all: bool,
    /// Show just the stream names
    #[arg(short = 'n', long)]
    pub names: bool,
    /// Produce JSON output
    #[arg(short = 'j', long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct InfoArgs {
    /// Stream to retrieve information for
    pub stream: String,
    /// Produce JSON output
    #[arg(short = 'j', long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct RmArgs {
    /// Stream name
    pub stream: String,
    /// Force removal without prompting
    #[arg(short = 'f', long)]
    pub force: bool,
}

#[derive(Args, Debug)]
pub struct PurgeArgs {
    /// Stream name
    pub stream: String,
    /// Force removal without prompting
    #[arg(short = 'f', long)]
    pub force: bool,
    /// Limits the purge to a specific subject
    #[arg(long, value_name = "SUBJECT")]
    pub subject: Option<String>,
    /// Purge up to but not including a specific message sequence
    #[arg(long, value_name = "SEQUENCE")]
    pub seq: Option<u64>,
    /// Keeps a certain number of messages after the purge
    #[arg(long, value_name = "MESSAGES")]
    pub keep: Option<u64>,
    /// Produce JSON output
    #[arg(short = 'j', long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct GetArgs {
    /// Stream name
    pub stream: String,
    /// Message Sequence to retrieve
    pub seq: Option<u64>,
    /// Retrieves the message for a specific subject
    #[arg(short = 'S', long = "last-for", value_name = "SUBJECT")]
    pub last_for: Option<String>,
    /// Produce JSON output
    #[arg(short = 'j', long)]
    pub json: bool,
}

pub async fn run(global: &GlobalOpts, args: StreamArgs) -> anyhow::Result<ExitCode> {
    let js = Js::connect(global).await?;
    match args.command {
        StreamCommand::Add(a) => add(&js, a).await,
        StreamCommand::Ls(a) => ls(&js, a).await,
        StreamCommand::Info(a) => {
            let info = js
                .stream_info(&a.stream)
                .await
                .context("could not request Stream info")?;
            if a.json {
                js::print_json(&info)?;
            } else {
                print!("{}", render_info(&a.stream, &info, false));
                println!();
            }
            Ok(ExitCode::SUCCESS)
        }
        StreamCommand::Rm(a) => {
            if !a.force && !js::confirm(&format!("Really delete Stream {}", a.stream))? {
                return Ok(ExitCode::SUCCESS);
            }
            js.api(&format!("STREAM.DELETE.{}", a.stream), &Value::Null)
                .await
                .context("could not remove Stream")?;
            Ok(ExitCode::SUCCESS)
        }
        StreamCommand::Purge(a) => purge(&js, a).await,
        StreamCommand::Get(a) => get(&js, a).await,
    }
}

/// The stream config natscli sends for `stream add --defaults` with the given flags.
pub fn add_config(a: &AddArgs) -> Value {
    let storage = match a.storage.as_deref() {
        Some("memory" | "m") => "memory",
        _ => "file",
    };
    let retention = match a.retention.as_deref() {
        Some("interest") => "interest",
        Some("workqueue" | "workq" | "work") => "workqueue",
        _ => "limits",
    };
    let max_age = a.max_age.unwrap_or_default();
    // natscli: 2m, or the max age when that is shorter.
    let dupe = a.dupe_window.unwrap_or_else(|| {
        let two = std::time::Duration::from_secs(120);
        if !max_age.is_zero() && max_age < two {
            max_age
        } else {
            two
        }
    });
    let mut cfg = json!({
        "name": a.stream,
        "retention": retention,
        "max_consumers": a.max_consumers,
        "max_msgs": a.max_msgs,
        "max_bytes": a.max_bytes.filter(|b| *b > 0).unwrap_or(-1),
        "max_age": js::nanos(max_age),
        "max_msgs_per_subject": a.max_msgs_per_subject,
        "max_msg_size": a.max_msg_size.filter(|b| *b > 0).unwrap_or(-1),
        "discard": a.discard.as_deref().unwrap_or("old"),
        "storage": storage,
        "num_replicas": a.replicas,
        "duplicate_window": js::nanos(dupe),
        "allow_direct": !a.no_allow_direct,
        "mirror_direct": false,
        "sealed": false,
        "deny_delete": a.deny_delete,
        "deny_purge": a.deny_purge,
        "allow_rollup_hdrs": a.allow_rollup,
        "no_ack": a.no_ack,
    });
    if !a.subjects.is_empty() {
        let subjects: Vec<&str> = a
            .subjects
            .iter()
            .flat_map(|s| s.split([',', ' ']))
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        cfg["subjects"] = json!(subjects);
    }
    if let Some(d) = &a.description {
        cfg["description"] = json!(d);
    }
    cfg
}

async fn add(js: &Js, a: AddArgs) -> anyhow::Result<ExitCode> {
    let cfg = add_config(&a);
    let info = js
        .api(&format!("STREAM.CREATE.{}", a.stream), &cfg)
        .await
        .context("could not create Stream")?;
    println!("Stream {} was created\n", a.stream);
    print!("{}", render_info(&a.stream, &info, false));
    Ok(ExitCode::SUCCESS)
}

/// Every stream's info from the paged STREAM.LIST.
pub async fn list_all(js: &Js, subject: Option<&str>) -> anyhow::Result<Vec<Value>> {
    let mut all: Vec<Value> = Vec::new();
    loop {
        let mut req = json!({ "offset": all.len() });
        if let Some(s) = subject {
            req["subject"] = json!(s);
        }
        let resp = js.api("STREAM.LIST", &req).await?;
        let page = resp["streams"].as_array().cloned().unwrap_or_default();
        let total = resp["total"].as_u64().unwrap_or(0) as usize;
        let got = page.len();
        all.extend(page);
        if got == 0 || all.len() >= total {
            break;
        }
    }
    Ok(all)
}

/// KV, object store and MQTT streams, which natscli hides from `stream ls` unless `-a`.
fn is_internal(name: &str) -> bool {
    name.starts_with("KV_") || name.starts_with("OBJ_") || name.starts_with("$MQTT_")
}

async fn ls(js: &Js, a: LsArgs) -> anyhow::Result<ExitCode> {
    if a.names {
        let mut body = json!({});
        if let Some(s) = &a.subject {
            body["subject"] = json!(s);
        }
        let names = js
            .names("STREAM.NAMES", "streams", body)
            .await
            .context("could not list streams")?;
        if a.json {
            println!("{}", serde_json::to_string_pretty(&names)?);
        } else {
            for n in names {
                println!("{n}");
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    let all = list_all(js, a.subject.as_deref())
        .await
        .map_err(|e| anyhow::anyhow!("could not list streams: {e:#}"))?;
    let skipped = all
        .iter()
        .any(|s| is_internal(s["config"]["name"].as_str().unwrap_or("")));
    let mut streams: Vec<Value> = all
        .into_iter()
        .filter(|s| a.all || !is_internal(s["config"]["name"].as_str().unwrap_or("")))
        .collect();
    if a.json {
        let names: Vec<&str> = streams
            .iter()
            .filter_map(|s| s["config"]["name"].as_str())
            .collect();
        println!("{}", serde_json::to_string_pretty(&names)?);
        return Ok(ExitCode::SUCCESS);
    }
    if streams.is_empty() {
        if skipped {
            println!("No Streams defined, pass -a to include system streams");
        } else {
            println!("No Streams defined");
        }
        return Ok(ExitCode::SUCCESS);
    }
    streams.sort_by_key(|s| s["state"]["bytes"].as_u64().unwrap_or(0));
    let mut t = match &a.subject {
        Some(s) => Table::new(format!("Streams matching {s}")),
        None => Table::new("Streams"),
    };
    t.header(&[
        "Name",
        "Description",
        "Created",
        "Messages",
        "Size",
        "Last Message",
    ]);
    for s in &streams {
        t.row(vec![
            s["config"]["name"].as_str().unwrap_or("").into(),
            s["config"]["description"].as_str().unwrap_or("").into(),
            js::fmt_time(&s["created"]).into(),
            js::num(&s["state"]["messages"]).into(),
            out::ibytes(s["state"]["bytes"].as_u64().unwrap_or(0)).into(),
            js::since(&s["state"]["last_ts"]).into(),
        ]);
    }
    println!("{}", t.render());
    Ok(ExitCode::SUCCESS)
}

async fn purge(js: &Js, a: PurgeArgs) -> anyhow::Result<ExitCode> {
    if !a.force && !js::confirm(&format!("Really purge Stream {}", a.stream))? {
        return Ok(ExitCode::SUCCESS);
    }
    if a.seq.is_some() && a.keep.is_some() {
        bail!("sequence and keep cannot be combined when purging");
    }
    let mut req = json!({});
    if let Some(s) = &a.subject {
        req["filter"] = json!(s);
    }
    if let Some(s) = a.seq {
        req["seq"] = json!(s);
    }
    if let Some(k) = a.keep {
        req["keep"] = json!(k);
    }
    let body = if req.as_object().is_some_and(|o| o.is_empty()) {
        Value::Null
    } else {
        req
    };
    let resp = js
        .api(&format!("STREAM.PURGE.{}", a.stream), &body)
        .await
        .context("could not purge Stream")?;
    let info = js
        .stream_info(&a.stream)
        .await
        .context("could not request Stream info")?;
    if a.json {
        js::print_json(&info)?;
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "Purged {} messages from {}\n",
        resp["purged"].as_u64().unwrap_or(0),
        a.stream
    );
    print!("{}", render_info(&a.stream, &info, true));
    Ok(ExitCode::SUCCESS)
}

async fn get(js: &Js, a: GetArgs) -> anyhow::Result<ExitCode> {
    let req = match (a.seq, &a.last_for) {
        (Some(seq), _) => json!({ "seq": seq }),
        (None, Some(subj)) => json!({ "last_by_subj": subj }),
        (None, None) => bail!("no ID or subject specified"),
    };
    let what = a.seq.map(|s| s as i64).unwrap_or(-1);
    let resp = js
        .api(&format!("STREAM.MSG.GET.{}", a.stream), &req)
        .await
        .with_context(|| format!("could not retrieve {}#{what}", a.stream))?;
    let msg = &resp["message"];
    if a.json {
        println!("{}", serde_json::to_string_pretty(msg)?);
        return Ok(ExitCode::SUCCESS);
    }
    let when = js::time(&msg["time"]);
    let stamp = msg["time"]
        .as_str()
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map(|t| {
            t.with_timezone(&chrono::Utc)
                .format("%Y-%m-%d %H:%M:%S%.f +0000 UTC")
                .to_string()
        })
        .unwrap_or_default();
    let ago = when
        .map(|_| js::since(&msg["time"]))
        .unwrap_or_else(|| "0s".into());
    println!(
        "Item: {}#{} received {stamp} ({ago}) on Subject {}\n",
        a.stream,
        msg["seq"].as_u64().unwrap_or(0),
        msg["subject"].as_str().unwrap_or("")
    );
    if !msg["hdrs"].is_null() {
        let hdrs = js::parse_header_block(&js::b64(&msg["hdrs"])?);
        if !hdrs.is_empty() {
            println!("Headers:");
            for (k, v) in hdrs {
                println!("  {k}: {v}");
            }
            println!();
        }
    }
    let data = js::b64(&msg["data"])?;
    let mut buf = Vec::new();
    out::push_body(&mut buf, &data);
    buf.push(b'\n');
    out::stdout(&buf)?;
    Ok(ExitCode::SUCCESS)
}

fn title_case(s: &str) -> String {
    match s {
        "workqueue" => "WorkQueue".into(),
        _ => {
            let mut c = s.chars();
            c.next()
                .map(|f| f.to_uppercase().chain(c).collect())
                .unwrap_or_default()
        }
    }
}

fn unlimited_or(v: &Value, f: impl Fn(&Value) -> String) -> String {
    if v.as_i64().unwrap_or(-1) <= 0 {
        "unlimited".into()
    } else {
        f(v)
    }
}

/// natscli's `showStreamInfo`: configuration (unless `state_only`) and state.
pub fn render_info(name: &str, info: &Value, state_only: bool) -> String {
    let cfg = &info["config"];
    let st = &info["state"];
    let created = js::fmt_time(&info["created"]);
    let mut c = if state_only {
        Columns::new(format!("State for Stream {name} created {created}"))
    } else {
        Columns::new(format!("Information for Stream {name} created {created}"))
    };
    if !state_only {
        if let Some(d) = cfg["description"].as_str().filter(|d| !d.is_empty()) {
            c.row("Description", d);
        }
        let subjects: Vec<&str> = cfg["subjects"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        c.row_if("Subjects", subjects.join(", "), !subjects.is_empty());
        c.row("Replicas", js::num(&cfg["num_replicas"]));
        c.row_if("Sealed", true, cfg["sealed"].as_bool().unwrap_or(false));
        c.row(
            "Storage",
            title_case(cfg["storage"].as_str().unwrap_or("file")),
        );
        c.title("Options");
        c.row(
            "Retention",
            title_case(cfg["retention"].as_str().unwrap_or("limits")),
        );
        c.row("Acknowledgments", !cfg["no_ack"].as_bool().unwrap_or(false));
        let discard = if cfg["discard_new_per_subject"].as_bool().unwrap_or(false) {
            "New Per Subject".to_string()
        } else {
            title_case(cfg["discard"].as_str().unwrap_or("old"))
        };
        c.row("Discard Policy", discard);
        c.row("Duplicate Window", js::dur(&cfg["duplicate_window"]));
        c.row_if(
            "Direct Get",
            true,
            cfg["allow_direct"].as_bool().unwrap_or(false),
        );
        c.row_if(
            "Mirror Direct Get",
            true,
            cfg["mirror_direct"].as_bool().unwrap_or(false),
        );
        let flag = |k: &str| cfg[k].as_bool().unwrap_or(false);
        c.row("Allows Msg Delete", !flag("deny_delete"));
        c.row("Allows Purge", !flag("deny_purge"));
        c.row("Allows Rollups", flag("allow_rollup_hdrs"));
        c.title("Limits");
        c.row("Maximum Messages", unlimited_or(&cfg["max_msgs"], js::num));
        c.row(
            "Maximum Per Subject",
            unlimited_or(&cfg["max_msgs_per_subject"], js::num),
        );
        c.row(
            "Maximum Bytes",
            unlimited_or(&cfg["max_bytes"], |v| out::ibytes(v.as_u64().unwrap_or(0))),
        );
        c.row("Maximum Age", unlimited_or(&cfg["max_age"], js::dur));
        c.row(
            "Maximum Message Size",
            unlimited_or(&cfg["max_msg_size"], |v| {
                out::ibytes(v.as_u64().unwrap_or(0))
            }),
        );
        c.row(
            "Maximum Consumers",
            unlimited_or(&cfg["max_consumers"], js::num),
        );
        c.blank();
    }
    let cluster = &info["cluster"];
    if cluster["name"].as_str().is_some_and(|n| !n.is_empty()) {
        c.title("Cluster Information");
        c.row("Name", cluster["name"].as_str().unwrap_or(""));
        c.row("Leader", cluster["leader"].as_str().unwrap_or(""));
        c.blank();
    }
    c.title("State");
    c.row("Messages", js::num(&st["messages"]));
    c.row("Bytes", out::ibytes(st["bytes"].as_u64().unwrap_or(0)));
    for (label, seq, ts) in [
        ("First Sequence", "first_seq", "first_ts"),
        ("Last Sequence", "last_seq", "last_ts"),
    ] {
        match js::time(&st[ts]) {
            Some(_) => c.row(
                label,
                format!("{} @ {}", js::num(&st[seq]), js::fmt_time(&st[ts])),
            ),
            None => c.row(label, js::num(&st[seq])),
        }
    }
    let deleted = st["num_deleted"].as_i64().unwrap_or(0);
    c.row_if("Deleted Messages", out::comma(deleted), deleted > 0);
    c.row("Active Consumers", js::num(&st["consumer_count"]));
    let subjects = st["num_subjects"].as_i64().unwrap_or(0);
    c.row_if("Number of Subjects", out::comma(subjects), subjects > 0);
    c.render()
}

//! `nats kv add|put|get|del|ls|watch`: key-value buckets, built on streams exactly as
//! the official clients build them: bucket `B` is stream `KV_B` over `$KV.B.>`, a key is
//! a subject, a delete is an empty message with `KV-Operation: DEL`, a read is a direct
//! get (or `STREAM.MSG.GET` by last subject when direct gets are off), and listing keys
//! or watching uses an ephemeral push consumer delivering the last message per subject.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context};
use async_nats::HeaderMap;
use clap::{Args, Subcommand};
use futures::StreamExt;
use serde_json::{json, Value};

use crate::cols::Columns;
use crate::js::{self, Js};
use crate::opts::GlobalOpts;
use crate::out;
use crate::table::Table;

#[derive(Args, Debug)]
pub struct KvArgs {
    #[command(subcommand)]
    pub command: KvCommand,
}

#[derive(Subcommand, Debug)]
pub enum KvCommand {
    /// Adds a new KV Store Bucket
    #[command(alias = "new")]
    Add(AddArgs),
    /// Puts a value into a key
    Put(PutArgs),
    /// Gets a value for a key
    Get(GetArgs),
    /// Deletes a key or the entire bucket
    #[command(aliases = ["rm"])]
    Del(DelArgs),
    /// List available buckets or the keys in a bucket
    #[command(aliases = ["list"])]
    Ls(LsArgs),
    /// Watch the bucket or a specific key for updated
    Watch(WatchArgs),
}

#[derive(Args, Debug)]
pub struct AddArgs {
    /// The bucket to act on
    pub bucket: String,
    /// How many historic values to keep per key
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(i64).range(1..=64))]
    pub history: i64,
    /// How long to keep values for
    #[arg(long, value_parser = js::parse_age, value_name = "DURATION")]
    pub ttl: Option<Duration>,
    /// Storage backend to use (file, memory)
    #[arg(long, value_parser = ["file", "f", "memory", "m"])]
    pub storage: Option<String>,
    /// How many replicas of the data to store
    #[arg(long, default_value_t = 1)]
    pub replicas: i64,
    /// Maximum size for any single value
    #[arg(long = "max-value-size", value_parser = js::parse_bytes, value_name = "BYTES")]
    pub max_value_size: Option<i64>,
    /// Maximum size for the bucket
    #[arg(long = "max-bucket-size", value_parser = js::parse_bytes, value_name = "BYTES")]
    pub max_bucket_size: Option<i64>,
    /// A description for the bucket
    #[arg(long)]
    pub description: Option<String>,
}

#[derive(Args, Debug)]
pub struct PutArgs {
    /// The bucket to act on
    pub bucket: String,
    /// The key to act on
    pub key: String,
    /// The value to store, when empty reads STDIN
    pub value: Option<String>,
}

#[derive(Args, Debug)]
pub struct GetArgs {
    /// The bucket to act on
    pub bucket: String,
    /// The key to act on
    pub key: String,
    /// Show only the value string
    #[arg(long)]
    pub raw: bool,
}

#[derive(Args, Debug)]
pub struct DelArgs {
    /// The bucket to act on
    pub bucket: String,
    /// The key to act on (without one, the bucket is removed)
    pub key: Option<String>,
    /// Act without confirmation
    #[arg(short = 'f', long)]
    pub force: bool,
}

#[derive(Args, Debug)]
pub struct LsArgs {
    /// The bucket to list the keys
    pub bucket: Option<String>,
    /// Show just the bucket names
    #[arg(short = 'n', long)]
    pub names: bool,
}

#[derive(Args, Debug)]
pub struct WatchArgs {
    /// The bucket to act on
    pub bucket: String,
    /// The key to act on
    #[arg(default_value = ">")]
    pub key: String,
}

pub async fn run(global: &GlobalOpts, args: KvArgs) -> anyhow::Result<ExitCode> {
    let js = Js::connect(global).await?;
    match args.command {
        KvCommand::Add(a) => add(&js, a).await,
        KvCommand::Put(a) => put(&js, a).await,
        KvCommand::Get(a) => get(&js, a).await,
        KvCommand::Del(a) => del(&js, a).await,
        KvCommand::Ls(a) => match a.bucket {
            Some(b) => ls_keys(&js, &b).await,
            None => ls_buckets(&js, a.names).await,
        },
        KvCommand::Watch(a) => watch(&js, a).await,
    }
}

fn stream_name(bucket: &str) -> String {
    format!("KV_{bucket}")
}

fn check_bucket(bucket: &str) -> anyhow::Result<()> {
    let ok = !bucket.is_empty()
        && bucket
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if !ok {
        bail!("nats: invalid bucket name");
    }
    Ok(())
}

fn check_key(key: &str) -> anyhow::Result<()> {
    let ok = !key.is_empty()
        && !key.starts_with('.')
        && !key.ends_with('.')
        && !key.contains("..")
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-/_=.".contains(c));
    if !ok {
        bail!("nats: invalid key");
    }
    Ok(())
}

/// The bucket's stream info; a missing stream is nats.go's `bucket not found`.
async fn bucket_info(js: &Js, bucket: &str) -> anyhow::Result<Value> {
    check_bucket(bucket)?;
    match js.stream_info(&stream_name(bucket)).await {
        Ok(v) => Ok(v),
        Err(e) if e.to_string().contains("(10059)") => bail!("nats: bucket not found"),
        Err(e) => Err(e),
    }
}

/// The stream config nats.go's `CreateKeyValue` sends.
pub fn add_config(a: &AddArgs) -> Value {
    let ttl = a.ttl.unwrap_or_default();
    let two = Duration::from_secs(120);
    let dupe = if !ttl.is_zero() && ttl < two {
        ttl
    } else {
        two
    };
    let storage = match a.storage.as_deref() {
        Some("memory" | "m") => "memory",
        _ => "file",
    };
    let mut cfg = json!({
        "name": stream_name(&a.bucket),
        "subjects": [format!("$KV.{}.>", a.bucket)],
        "retention": "limits",
        "max_consumers": -1,
        "max_msgs": -1,
        "max_bytes": a.max_bucket_size.filter(|b| *b > 0).unwrap_or(-1),
        "max_age": js::nanos(ttl),
        "max_msgs_per_subject": a.history,
        "max_msg_size": a.max_value_size.filter(|b| *b > 0).unwrap_or(-1),
        "storage": storage,
        "discard": "new",
        "num_replicas": a.replicas,
        "duplicate_window": js::nanos(dupe),
        "allow_rollup_hdrs": true,
        "deny_delete": true,
        "deny_purge": false,
        "allow_direct": true,
        "mirror_direct": false,
        "sealed": false,
    });
    if let Some(d) = &a.description {
        cfg["description"] = json!(d);
    }
    cfg
}

async fn add(js: &Js, a: AddArgs) -> anyhow::Result<ExitCode> {
    check_bucket(&a.bucket)?;
    let cfg = add_config(&a);
    let info = js
        .api(&format!("STREAM.CREATE.{}", stream_name(&a.bucket)), &cfg)
        .await?;
    print!("{}", render_status(&a.bucket, &info));
    Ok(ExitCode::SUCCESS)
}

/// natscli's `showStatus` for a bucket.
fn render_status(bucket: &str, info: &Value) -> String {
    let cfg = &info["config"];
    let mut c = Columns::new(format!(
        "Information for Key-Value Store Bucket {bucket} created {}",
        js::fmt_time(&info["created"])
    ));
    c.title("Configuration");
    c.row("Bucket Name", bucket);
    c.row("History Kept", js::num(&cfg["max_msgs_per_subject"]));
    c.row("Values Stored", js::num(&info["state"]["messages"]));
    c.row("Compressed", false);
    c.row("Per-Key TTL Supported", false);
    c.row("Backing Store Kind", "JetStream");
    if let Some(d) = cfg["description"].as_str().filter(|d| !d.is_empty()) {
        c.row("Description", d);
    }
    c.row(
        "Bucket Size",
        out::ibytes(info["state"]["bytes"].as_u64().unwrap_or(0)),
    );
    let size = |k: &str| match cfg[k].as_i64() {
        Some(n) if n > 0 => out::ibytes(n as u64),
        _ => "unlimited".into(),
    };
    c.row("Maximum Bucket Size", size("max_bytes"));
    c.row("Maximum Value Size", size("max_msg_size"));
    if cfg["max_age"].as_i64().unwrap_or(0) <= 0 {
        c.row("Maximum Age", "unlimited");
    } else {
        c.row("Maximum Age", js::dur(&cfg["max_age"]));
    }
    c.row("JetStream Stream", cfg["name"].as_str().unwrap_or(""));
    let storage = if cfg["storage"].as_str() == Some("memory") {
        "Memory"
    } else {
        "File"
    };
    c.row("Storage", storage);
    if info["cluster"].is_object() {
        c.title("Cluster Information");
        c.row("Name", info["cluster"]["name"].as_str().unwrap_or(""));
        c.row("Leader", info["cluster"]["leader"].as_str().unwrap_or(""));
    }
    c.render()
}

/// Publishes to a key and waits for the stream's acknowledgement.
async fn publish(
    js: &Js,
    bucket: &str,
    key: &str,
    headers: Option<HeaderMap>,
    value: Vec<u8>,
) -> anyhow::Result<()> {
    let msg = js
        .request(format!("$KV.{bucket}.{key}"), headers, value.into())
        .await?;
    let ack: Value = serde_json::from_slice(&msg.payload).context("invalid publish ack")?;
    js::check(&ack)
}

async fn put(js: &Js, a: PutArgs) -> anyhow::Result<ExitCode> {
    check_key(&a.key)?;
    bucket_info(js, &a.bucket).await?;
    let value = match &a.value {
        Some(v) => v.clone(),
        None => super::body_from_stdin(false)?.unwrap_or_default(),
    };
    publish(js, &a.bucket, &a.key, None, value.clone().into_bytes()).await?;
    // natscli prints the value argument it was given (empty when read from stdin).
    println!("{}", a.value.unwrap_or_default());
    Ok(ExitCode::SUCCESS)
}

/// One stored entry of a key.
struct Entry {
    revision: u64,
    created: String,
    value: Vec<u8>,
    operation: String,
}

/// The latest entry for `key`, or `None` when there is none or it is a delete marker.
async fn latest(js: &Js, bucket: &str, key: &str, info: &Value) -> anyhow::Result<Option<Entry>> {
    let stream = stream_name(bucket);
    let subject = format!("$KV.{bucket}.{key}");
    let entry = if info["config"]["allow_direct"].as_bool().unwrap_or(false) {
        let msg = js
            .request(
                format!("{}.DIRECT.GET.{stream}.{subject}", js::API),
                None,
                bytes::Bytes::new(),
            )
            .await?;
        if let Some(status) = msg.status {
            if u16::from(status) == 404 {
                return Ok(None);
            }
            bail!(
                "{} {}",
                u16::from(status),
                msg.description.unwrap_or_default()
            );
        }
        let h = |k: &str| js::header(&msg, k).unwrap_or_default();
        Entry {
            revision: h("Nats-Sequence").parse().unwrap_or(0),
            created: h("Nats-Time-Stamp"),
            operation: h("KV-Operation"),
            value: msg.payload.to_vec(),
        }
    } else {
        let resp = js
            .api(
                &format!("STREAM.MSG.GET.{stream}"),
                &json!({ "last_by_subj": subject }),
            )
            .await;
        let resp = match resp {
            Ok(r) => r,
            Err(e) if e.to_string().contains("(10037)") => return Ok(None),
            Err(e) => return Err(e),
        };
        let m = &resp["message"];
        let hdrs = if m["hdrs"].is_null() {
            Vec::new()
        } else {
            js::parse_header_block(&js::b64(&m["hdrs"])?)
        };
        Entry {
            revision: m["seq"].as_u64().unwrap_or(0),
            created: m["time"].as_str().unwrap_or("").to_string(),
            operation: hdrs
                .into_iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("KV-Operation"))
                .map(|(_, v)| v)
                .unwrap_or_default(),
            value: js::b64(&m["data"])?,
        }
    };
    if entry.operation == "DEL" || entry.operation == "PURGE" {
        return Ok(None);
    }
    Ok(Some(entry))
}

async fn get(js: &Js, a: GetArgs) -> anyhow::Result<ExitCode> {
    check_key(&a.key)?;
    let info = bucket_info(js, &a.bucket).await?;
    let Some(e) = latest(js, &a.bucket, &a.key, &info).await? else {
        bail!("nats: key not found");
    };
    if a.raw {
        out::stdout(&e.value)?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut s = format!(
        "{} > {} revision: {} created @ {}\n\n",
        a.bucket,
        a.key,
        e.revision,
        js::fmt_time(&Value::String(e.created))
    );
    let shown = printable_or_base64(&e.value);
    if shown.len() > 120 {
        s.push_str(&format!(
            "Showing first 120 bytes of {}, use --raw for full data\n\n",
            out::comma(shown.len() as i64)
        ));
        s.push_str(&shown.chars().take(120).collect::<String>());
    } else {
        s.push_str(&shown);
    }
    s.push_str("\n\n");
    out::stdout(s.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

/// natscli's `Base64IfNotPrintable`.
fn printable_or_base64(v: &[u8]) -> String {
    use base64::Engine;
    match std::str::from_utf8(v) {
        Ok(s) if s.chars().all(|c| !c.is_control() || c.is_whitespace()) => s.to_string(),
        _ => base64::engine::general_purpose::STANDARD.encode(v),
    }
}

async fn del(js: &Js, a: DelArgs) -> anyhow::Result<ExitCode> {
    let Some(key) = a.key else {
        // natscli: `kv del BUCKET` removes the bucket.
        bucket_info(js, &a.bucket).await?;
        if !a.force && !js::confirm(&format!("Deleted bucket {}?", a.bucket))? {
            println!("Skipping delete");
            return Ok(ExitCode::SUCCESS);
        }
        js.api(
            &format!("STREAM.DELETE.{}", stream_name(&a.bucket)),
            &Value::Null,
        )
        .await?;
        return Ok(ExitCode::SUCCESS);
    };
    check_key(&key)?;
    bucket_info(js, &a.bucket).await?;
    if !a.force && !js::confirm(&format!("Delete key {} > {}?", a.bucket, key))? {
        println!("Skipping delete");
        return Ok(ExitCode::SUCCESS);
    }
    let mut h = HeaderMap::new();
    h.insert("KV-Operation", "DEL");
    publish(js, &a.bucket, &key, Some(h), Vec::new()).await?;
    Ok(ExitCode::SUCCESS)
}

async fn ls_buckets(js: &Js, names: bool) -> anyhow::Result<ExitCode> {
    let mut found: Vec<Value> = super::stream::list_all(js, None)
        .await?
        .into_iter()
        .filter(is_kv_stream)
        .collect();
    if names {
        for s in &found {
            let n = s["config"]["name"].as_str().unwrap_or("");
            println!("{}", n.trim_start_matches("KV_"));
        }
        return Ok(ExitCode::SUCCESS);
    }
    if found.is_empty() {
        println!("No Key-Value buckets found");
        return Ok(ExitCode::SUCCESS);
    }
    found.sort_by_key(|s| s["state"]["bytes"].as_u64().unwrap_or(0));
    let mut t = Table::new("Key-Value Buckets");
    t.header(&[
        "Bucket",
        "Description",
        "Created",
        "Size",
        "Values",
        "Last Update",
    ]);
    for s in &found {
        t.row(vec![
            s["config"]["name"]
                .as_str()
                .unwrap_or("")
                .trim_start_matches("KV_")
                .into(),
            s["config"]["description"].as_str().unwrap_or("").into(),
            js::fmt_time(&s["created"]).into(),
            out::ibytes(s["state"]["bytes"].as_u64().unwrap_or(0)).into(),
            js::num(&s["state"]["messages"]).into(),
            js::since(&s["state"]["last_ts"]).into(),
        ]);
    }
    println!("{}", t.render());
    Ok(ExitCode::SUCCESS)
}

/// jsm.go's `IsKVBucketStream`: a `KV_` stream over `$KV.<bucket>.>`.
fn is_kv_stream(s: &Value) -> bool {
    let name = s["config"]["name"].as_str().unwrap_or("");
    let Some(bucket) = name.strip_prefix("KV_") else {
        return false;
    };
    let want = format!("$KV.{bucket}.>");
    s["config"]["subjects"]
        .as_array()
        .is_some_and(|a| a.iter().any(|v| v.as_str() == Some(want.as_str())))
}

/// An ephemeral push consumer delivering the last message of every key under `filter`
/// to a fresh inbox; returns its subscription, name and how many messages it holds.
async fn last_per_key(
    js: &Js,
    bucket: &str,
    filter: &str,
    headers_only: bool,
) -> anyhow::Result<(async_nats::Subscriber, String, u64)> {
    let inbox = js.client.new_inbox();
    let sub = js.client.subscribe(inbox.clone()).await?;
    let req = json!({
        "stream_name": stream_name(bucket),
        "config": {
            "deliver_subject": inbox,
            "deliver_policy": "last_per_subject",
            "ack_policy": "none",
            "replay_policy": "instant",
            "filter_subject": format!("$KV.{bucket}.{filter}"),
            "headers_only": headers_only,
            "max_deliver": -1,
        }
    });
    let info = js
        .api(&format!("CONSUMER.CREATE.{}", stream_name(bucket)), &req)
        .await?;
    let name = info["name"].as_str().unwrap_or("").to_string();
    let pending = info["num_pending"].as_u64().unwrap_or(0);
    Ok((sub, name, pending))
}

fn key_of<'a>(bucket: &str, subject: &'a str) -> &'a str {
    subject
        .strip_prefix(&format!("$KV.{bucket}."))
        .unwrap_or(subject)
}

fn operation(msg: &async_nats::Message) -> String {
    js::header(msg, "KV-Operation").unwrap_or_default()
}

async fn ls_keys(js: &Js, bucket: &str) -> anyhow::Result<ExitCode> {
    bucket_info(js, bucket)
        .await
        .map_err(|e| anyhow::anyhow!("unable to load bucket: {e:#}"))?;
    let (mut sub, name, pending) = last_per_key(js, bucket, ">", true).await?;
    let mut keys = Vec::new();
    let mut left = pending;
    while left > 0 {
        let msg = match tokio::time::timeout(js.timeout, sub.next()).await {
            Ok(Some(m)) => m,
            _ => bail!("timed out listing keys"),
        };
        if msg.status.is_some() {
            continue;
        }
        let meta = msg.reply.as_deref().and_then(js::parse_ack_subject);
        left = meta.map(|m| m.pending).unwrap_or(0);
        let op = operation(&msg);
        if op != "DEL" && op != "PURGE" {
            keys.push(key_of(bucket, &msg.subject).to_string());
        }
    }
    let _ = js
        .api(
            &format!("CONSUMER.DELETE.{}.{name}", stream_name(bucket)),
            &Value::Null,
        )
        .await;
    if keys.is_empty() {
        println!("No keys found in bucket");
    }
    for k in keys {
        println!("{k}");
    }
    Ok(ExitCode::SUCCESS)
}

async fn watch(js: &Js, a: WatchArgs) -> anyhow::Result<ExitCode> {
    bucket_info(js, &a.bucket).await?;
    let (mut sub, name, _) = last_per_key(js, &a.bucket, &a.key, false).await?;
    loop {
        let msg = tokio::select! {
            m = sub.next() => match m {
                Some(m) => m,
                None => break,
            },
            _ = crate::signal::interrupted() => break,
        };
        if msg.status.is_some() {
            continue;
        }
        let meta = msg.reply.as_deref().and_then(js::parse_ack_subject);
        let when = meta
            .map(|m| {
                chrono::DateTime::from_timestamp_nanos(m.ts)
                    .with_timezone(&chrono::Local)
                    .format("%Y-%m-%d %H:%M:%S")
                    .to_string()
            })
            .unwrap_or_default();
        let key = key_of(&a.bucket, &msg.subject);
        let line = match operation(&msg).as_str() {
            "DEL" => format!("[{when}] DELETE {} > {key}\n", a.bucket),
            "PURGE" => format!("[{when}] PURGE {} > {key}\n", a.bucket),
            _ => format!(
                "[{when}] PUT {} > {key}: {}\n",
                a.bucket,
                String::from_utf8_lossy(&msg.payload)
            ),
        };
        out::stdout(line.as_bytes())?;
    }
    let _ = js
        .api(
            &format!("CONSUMER.DELETE.{}.{name}", stream_name(&a.bucket)),
            &Value::Null,
        )
        .await;
    Ok(ExitCode::SUCCESS)
}

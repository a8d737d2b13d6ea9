//! `nats object add|put|get|ls|info|del`: object store buckets, with natscli's names,
//! flags and output. The store itself is async-nats' (bucket `B` is stream `OBJ_B`, chunks
//! on `$O.B.C.<nuid>`, each object's info on `$O.B.M.<base64 name>`), so what one client
//! writes every other client reads.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use async_nats::jetstream::{self, object_store, stream::StorageType};
use clap::{Args, Subcommand};
use futures::StreamExt;
use serde_json::Value;
use tokio::io::AsyncWriteExt;

use crate::cols::Columns;
use crate::js::{self, Js};
use crate::opts::GlobalOpts;
use crate::out;
use crate::table::Table;

#[derive(Args, Debug)]
pub struct ObjectArgs {
    #[command(subcommand)]
    pub command: ObjectCommand,
}

#[derive(Subcommand, Debug)]
pub enum ObjectCommand {
    /// Adds a new Object Store Bucket
    Add(AddArgs),
    /// Puts a file into the store
    Put(PutArgs),
    /// Retrieves a file from the store
    Get(GetArgs),
    /// List buckets or contents of a specific bucket
    Ls(LsArgs),
    /// Get information about a bucket or object
    #[command(aliases = ["show", "i"])]
    Info(InfoArgs),
    /// Deletes a file or bucket from the store
    #[command(aliases = ["rm"])]
    Del(DelArgs),
}

#[derive(Args, Debug)]
pub struct AddArgs {
    /// The bucket to act on
    pub bucket: String,
    /// How long to keep objects for
    #[arg(long, value_parser = js::parse_age, value_name = "DURATION")]
    pub ttl: Option<Duration>,
    /// How many replicas of the data to store
    #[arg(long, default_value_t = 1)]
    pub replicas: usize,
    /// Maximum size for the bucket
    #[arg(long = "max-bucket-size", value_parser = js::parse_bytes, value_name = "BYTES")]
    pub max_bucket_size: Option<i64>,
    /// A description for the bucket
    #[arg(long)]
    pub description: Option<String>,
    /// Storage backend to use (file, memory)
    #[arg(long, value_parser = ["file", "f", "memory", "m"])]
    pub storage: Option<String>,
}

#[derive(Args, Debug)]
pub struct PutArgs {
    /// The bucket to act on
    pub bucket: String,
    /// The file to put (without one, standard input with --name)
    pub file: Option<PathBuf>,
    /// Override the name supplied to the object store
    #[arg(long)]
    pub name: Option<String>,
    /// Sets an optional description for the object
    #[arg(long)]
    pub description: Option<String>,
    /// Sets the chunk size for the file
    #[arg(long = "chunk-size")]
    pub chunk_size: Option<usize>,
    /// Act without confirmation
    #[arg(short = 'f', long)]
    pub force: bool,
}

#[derive(Args, Debug)]
pub struct GetArgs {
    /// The bucket to act on
    pub bucket: String,
    /// The file to retrieve
    pub file: String,
    /// Override the output file name
    #[arg(short = 'O', long)]
    pub output: Option<PathBuf>,
    /// Act without confirmation
    #[arg(short = 'f', long)]
    pub force: bool,
}

#[derive(Args, Debug)]
pub struct LsArgs {
    /// The bucket to act on
    pub bucket: Option<String>,
    /// When listing buckets, show just the bucket names
    #[arg(short = 'n', long)]
    pub names: bool,
}

#[derive(Args, Debug)]
pub struct InfoArgs {
    /// The bucket to act on
    pub bucket: String,
    /// The file to describe
    pub file: Option<String>,
}

#[derive(Args, Debug)]
pub struct DelArgs {
    /// The bucket to act on
    pub bucket: String,
    /// The file to delete (without one, the bucket is removed)
    pub file: Option<String>,
    /// Act without confirmation
    #[arg(short = 'f', long)]
    pub force: bool,
}

pub async fn run(global: &GlobalOpts, args: ObjectArgs) -> anyhow::Result<ExitCode> {
    let js = Js::connect(global).await?;
    let ctx = jetstream::new(js.client.clone());
    match args.command {
        ObjectCommand::Add(a) => add(&js, &ctx, a).await,
        ObjectCommand::Put(a) => put(&ctx, a).await,
        ObjectCommand::Get(a) => get(&ctx, a).await,
        ObjectCommand::Ls(a) => match a.bucket {
            Some(b) => ls_objects(&ctx, &b, a.names).await,
            None => ls_buckets(&js, a.names).await,
        },
        ObjectCommand::Info(a) => match a.file {
            Some(f) => {
                let store = bucket(&ctx, &a.bucket).await?;
                let info = store.info(&f).await.map_err(object_error)?;
                print!("{}", render_object(&info));
                Ok(ExitCode::SUCCESS)
            }
            None => show_bucket(&js, &a.bucket).await,
        },
        ObjectCommand::Del(a) => del(&js, &ctx, a).await,
    }
}

fn stream_name(bucket: &str) -> String {
    format!("OBJ_{bucket}")
}

/// The bucket, or nats.go's words when it is not there.
async fn bucket(ctx: &jetstream::Context, name: &str) -> anyhow::Result<object_store::ObjectStore> {
    let ok = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if !ok {
        bail!("nats: invalid bucket name");
    }
    ctx.get_object_store(name)
        .await
        .map_err(|_| anyhow::anyhow!("nats: stream not found"))
}

fn object_error(e: impl std::fmt::Display) -> anyhow::Error {
    let text = e.to_string();
    if text.contains("not found") {
        anyhow::anyhow!("nats: object not found")
    } else {
        anyhow::anyhow!("{text}")
    }
}

async fn add(js: &Js, ctx: &jetstream::Context, a: AddArgs) -> anyhow::Result<ExitCode> {
    let storage = match a.storage.as_deref() {
        Some("memory" | "m") => StorageType::Memory,
        _ => StorageType::File,
    };
    ctx.create_object_store(object_store::Config {
        bucket: a.bucket.clone(),
        description: a.description.clone(),
        max_age: a.ttl.unwrap_or_default(),
        max_bytes: a.max_bucket_size.filter(|b| *b > 0).unwrap_or(-1),
        storage,
        num_replicas: a.replicas,
        ..Default::default()
    })
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    show_bucket(js, &a.bucket).await
}

/// natscli's `showBucketInfo`.
async fn show_bucket(js: &Js, bucket: &str) -> anyhow::Result<ExitCode> {
    let info = match js.stream_info(&stream_name(bucket)).await {
        Ok(v) => v,
        Err(e) if e.to_string().contains("(10059)") => bail!("nats: stream not found"),
        Err(e) => return Err(e),
    };
    let cfg = &info["config"];
    let mut c = Columns::new(format!(
        "Information for Object Store Bucket {bucket} created {}",
        js::fmt_time(&info["created"])
    ));
    c.title("Configuration");
    c.row("Bucket Name", bucket);
    if let Some(d) = cfg["description"].as_str().filter(|d| !d.is_empty()) {
        c.row("Description", d);
    }
    c.row("Replicas", js::num(&cfg["num_replicas"]));
    if cfg["max_age"].as_i64().unwrap_or(0) <= 0 {
        c.row("TTL", "unlimited");
    } else {
        c.row("TTL", js::dur(&cfg["max_age"]));
    }
    c.row("Sealed", cfg["sealed"].as_bool().unwrap_or(false));
    c.row(
        "Size",
        out::ibytes(info["state"]["bytes"].as_u64().unwrap_or(0)),
    );
    match cfg["max_bytes"].as_i64() {
        Some(n) if n > 0 => c.row("Maximum Bucket Size", out::ibytes(n as u64)),
        _ => c.row("Maximum Bucket Size", "unlimited"),
    }
    let storage = if cfg["storage"].as_str() == Some("memory") {
        "Memory"
    } else {
        "File"
    };
    c.row("Storage", storage);
    c.row("Backing Store Kind", "JetStream");
    c.row("JetStream Stream", cfg["name"].as_str().unwrap_or(""));
    print!("{}", c.render());
    Ok(ExitCode::SUCCESS)
}

/// natscli's `showObjectInfo`.
fn render_object(info: &object_store::ObjectInfo) -> String {
    let mut c = Columns::new(format!(
        "Object information for {} > {}",
        info.bucket, info.name
    ));
    if let Some(d) = info.description.as_deref().filter(|d| !d.is_empty()) {
        c.row("Description", d);
    }
    c.row("Size", out::ibytes(info.size as u64));
    let mtime = info
        .modified
        .map(|t| {
            let v = Value::String(
                t.format(&time::format_description::well_known::Rfc3339)
                    .unwrap_or_default(),
            );
            js::fmt_time(&v)
        })
        .unwrap_or_default();
    c.row("Modification Time", mtime);
    c.row("Chunks", info.chunks);
    if let Some(d) = &info.digest {
        // `SHA-256=<base64url>` shown as the algorithm and the digest in hex.
        let (alg, b64) = d.split_once('=').unwrap_or((d.as_str(), ""));
        let hex: String = base64_url(b64).iter().map(|b| format!("{b:02x}")).collect();
        c.row("Digest", format!("{alg} {hex}"));
    }
    c.row_if("Deleted", info.deleted, info.deleted);
    c.render()
}

fn base64_url(s: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE
        .decode(s)
        .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(s))
        .unwrap_or_default()
}

async fn put(ctx: &jetstream::Context, a: PutArgs) -> anyhow::Result<ExitCode> {
    let store = bucket(ctx, &a.bucket).await?;
    let name = match (&a.name, &a.file) {
        (Some(n), _) => n.clone(),
        (None, Some(f)) => clean_name(f),
        (None, None) => bail!("--name is required when reading from stdin"),
    };
    if !a.force {
        if let Ok(existing) = store.info(&name).await {
            if !existing.deleted {
                print!("{}", render_object(&existing));
                println!();
                if !js::confirm(&format!("Replace existing file {} > {name}", a.bucket))? {
                    return Ok(ExitCode::SUCCESS);
                }
                println!();
            }
        }
    }
    let meta = object_store::ObjectMetadata {
        name,
        description: a.description.clone(),
        chunk_size: a.chunk_size,
        ..Default::default()
    };
    let info = match &a.file {
        Some(path) => {
            let mut f = tokio::fs::File::open(path)
                .await
                .with_context(|| format!("open {}", path.display()))?;
            store.put(meta, &mut f).await
        }
        None => store.put(meta, &mut tokio::io::stdin()).await,
    }
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    println!();
    print!("{}", render_object(&info));
    Ok(ExitCode::SUCCESS)
}

/// Go's `filepath.Clean` of the name natscli stores a file under.
fn clean_name(p: &Path) -> String {
    let mut parts: Vec<String> = Vec::new();
    let absolute = p.is_absolute();
    for c in p.components() {
        match c {
            std::path::Component::Normal(s) => parts.push(s.to_string_lossy().into_owned()),
            std::path::Component::ParentDir => {
                if parts.last().is_some_and(|l| l != "..") {
                    parts.pop();
                } else if !absolute {
                    parts.push("..".into());
                }
            }
            _ => {}
        }
    }
    let joined = parts.join("/");
    match (absolute, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".into(),
        (false, false) => joined,
    }
}

async fn get(ctx: &jetstream::Context, a: GetArgs) -> anyhow::Result<ExitCode> {
    let store = bucket(ctx, &a.bucket).await?;
    let mut obj = store.get(&a.file).await.map_err(object_error)?;
    let info = obj.info().clone();
    if info.deleted {
        bail!("file has been deleted");
    }
    let target = match &a.output {
        Some(o) => o.clone(),
        None => PathBuf::from(
            Path::new(&info.name)
                .file_name()
                .map(|n| n.to_os_string())
                .unwrap_or_else(|| info.name.clone().into()),
        ),
    };
    let target = std::path::absolute(&target).unwrap_or(target);
    if !a.force
        && target.exists()
        && !js::confirm(&format!(
            "Replace existing target file {}",
            target.display()
        ))?
    {
        return Ok(ExitCode::SUCCESS);
    }
    let start = Instant::now();
    let mut file = tokio::fs::File::create(&target)
        .await
        .with_context(|| format!("create {}", target.display()))?;
    let copied = tokio::io::copy(&mut obj, &mut file).await;
    let written = match copied {
        Ok(n) => n,
        Err(e) => {
            drop(file);
            let _ = std::fs::remove_file(&target);
            return Err(e.into());
        }
    };
    file.flush().await?;
    if written > 0 && written != info.size as u64 {
        bail!(
            "wrote {}, expected {}",
            out::ibytes(written),
            out::ibytes(info.size as u64)
        );
    }
    let elapsed = start.elapsed();
    let took = out::humanize_duration(elapsed);
    if elapsed > Duration::from_secs(2) {
        let bps = info.size as f64 / elapsed.as_secs_f64();
        println!(
            "Wrote: {} to {} in {took} average {}/s",
            out::ibytes(written),
            target.display(),
            out::ibytes(bps as u64)
        );
    } else {
        println!(
            "Wrote: {} to {} in {took}",
            out::ibytes(written),
            target.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

async fn ls_objects(ctx: &jetstream::Context, name: &str, names: bool) -> anyhow::Result<ExitCode> {
    let store = bucket(ctx, name).await?;
    let mut list = store.list().await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut found = Vec::new();
    while let Some(info) = list.next().await {
        let info = info.map_err(|e| anyhow::anyhow!("{e}"))?;
        if !info.deleted {
            found.push(info);
        }
    }
    if names {
        for o in &found {
            println!("{}", o.name);
        }
        return Ok(ExitCode::SUCCESS);
    }
    if found.is_empty() {
        println!("No entries found");
        return Ok(ExitCode::SUCCESS);
    }
    let mut t = Table::new("Bucket Contents");
    t.header(&["Name", "Size", "Time"]);
    for o in &found {
        let time = o
            .modified
            .and_then(|t| {
                t.format(&time::format_description::well_known::Rfc3339)
                    .ok()
            })
            .map(|t| js::fmt_time(&Value::String(t)))
            .unwrap_or_default();
        t.row(vec![
            o.name.clone().into(),
            out::ibytes(o.size as u64).into(),
            time.into(),
        ]);
    }
    println!("{}", t.render());
    Ok(ExitCode::SUCCESS)
}

/// jsm.go's `IsObjectBucket`: an `OBJ_` stream over `$O.<bucket>.C.>` and `$O.<bucket>.M.>`.
fn is_object_stream(s: &Value) -> bool {
    let cfg = &s["config"];
    let Some(bucket) = cfg["name"].as_str().and_then(|n| n.strip_prefix("OBJ_")) else {
        return false;
    };
    let want = [format!("$O.{bucket}.C.>"), format!("$O.{bucket}.M.>")];
    let subjects: Vec<&str> = cfg["subjects"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    subjects.len() == 2 && want.iter().all(|w| subjects.contains(&w.as_str()))
}

async fn ls_buckets(js: &Js, names: bool) -> anyhow::Result<ExitCode> {
    let mut found: Vec<Value> = super::stream::list_all(js, None)
        .await?
        .into_iter()
        .filter(is_object_stream)
        .collect();
    let bucket_of = |s: &Value| {
        s["config"]["name"]
            .as_str()
            .unwrap_or("")
            .trim_start_matches("OBJ_")
            .to_string()
    };
    if names {
        for s in &found {
            println!("{}", bucket_of(s));
        }
        return Ok(ExitCode::SUCCESS);
    }
    if found.is_empty() {
        println!("No Object Store buckets found");
        return Ok(ExitCode::SUCCESS);
    }
    found.sort_by_key(|s| s["state"]["bytes"].as_u64().unwrap_or(0));
    let mut t = Table::new("Object Store Buckets");
    t.header(&["Bucket", "Description", "Created", "Size", "Last Update"]);
    for s in &found {
        t.row(vec![
            bucket_of(s).into(),
            s["config"]["description"].as_str().unwrap_or("").into(),
            js::fmt_time(&s["created"]).into(),
            out::ibytes(s["state"]["bytes"].as_u64().unwrap_or(0)).into(),
            js::since(&s["state"]["last_ts"]).into(),
        ]);
    }
    println!("{}", t.render());
    Ok(ExitCode::SUCCESS)
}

async fn del(js: &Js, ctx: &jetstream::Context, a: DelArgs) -> anyhow::Result<ExitCode> {
    let store = bucket(ctx, &a.bucket).await?;
    match &a.file {
        Some(file) => {
            if !a.force {
                let info = store.info(file).await.map_err(object_error)?;
                let q = format!(
                    "Delete {} byte file {} > {file}?",
                    out::ibytes(info.size as u64),
                    a.bucket
                );
                if !js::confirm(&q)? {
                    println!("Skipping delete");
                    return Ok(ExitCode::SUCCESS);
                }
            }
            store.delete(file).await.map_err(object_error)?;
            println!("Removed {} > {file}", a.bucket);
            show_bucket(js, &a.bucket).await
        }
        None => {
            if !a.force && !js::confirm(&format!("Delete bucket {} and all its files?", a.bucket))?
            {
                println!("Skipping delete");
                return Ok(ExitCode::SUCCESS);
            }
            ctx.delete_object_store(&a.bucket)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

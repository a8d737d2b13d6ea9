//! `nats`: a command-line client for NATS servers, built on `async-nats`.
//!
//! It follows the official natscli in command names, flags and output shapes so that
//! guides written for natscli (ours included) work word for word: timestamped log lines
//! (`23:34:45 Published 10 bytes to "hello"`) go to stderr like Go's `log` package does in
//! natscli, message contents go to stdout. Every failure ends as one line,
//! `nats: error: ...`, and exit code 1 — never a panic or a backtrace.
//!
//! Layout: `opts` (global flags, connecting), `out` (printing helpers), `template` (body
//! templates and `-H` headers), `cmd/*` (one file per command), `js` (JetStream API requests), `cols` (natscli's
//! label: value blocks), `bench/*` (the load
//! generator: statistics, async-nats workers, the raw-protocol client), `http` (a tiny
//! HTTP/1.0 GET for the monitoring port), `table` (natscli's rounded tables).

mod bench;
mod cmd;
mod cols;
mod http;
mod js;
mod opts;
mod out;
mod signal;
mod table;
mod template;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// NATS utility: publish, subscribe, request, reply, benchmark, check servers and manage JetStream.
#[derive(Parser, Debug)]
#[command(name = "nats", version, about, long_about = None)]
struct Cli {
    #[command(flatten)]
    global: opts::GlobalOpts,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Generic data publish utility
    #[command(alias = "publish")]
    Pub(cmd::pub_::PubArgs),
    /// Generic subscription client
    #[command(alias = "subscribe")]
    Sub(cmd::sub::SubArgs),
    /// Generic request-reply request utility
    #[command(alias = "request")]
    Req(cmd::req::ReqArgs),
    /// Generic service reply utility
    Reply(cmd::reply::ReplyArgs),
    /// Benchmark utility: publishers, subscribers, request-reply latency
    Bench(cmd::bench::BenchArgs),
    /// Server information, ping and health checks
    Server(cmd::server::ServerArgs),
    /// JetStream Stream management
    #[command(alias = "str")]
    Stream(cmd::stream::StreamArgs),
    /// JetStream Consumer management
    #[command(alias = "con")]
    Consumer(cmd::consumer::ConsumerArgs),
    /// Interacts with a JetStream based Key-Value store
    Kv(cmd::kv::KvArgs),
    /// Interacts with a JetStream based Object Store
    #[command(alias = "obj")]
    Object(cmd::object::ObjectArgs),
}

fn main() -> ExitCode {
    install_panic_hook();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => return usage_error(err),
    };

    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => return fail(&anyhow::anyhow!("could not start the runtime: {err}")),
    };
    let result = runtime.block_on(run(cli));
    // Do not wait for lingering connection tasks (reconnect loops) on the way out.
    runtime.shutdown_background();
    match result {
        Ok(code) => code,
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => fail(&err),
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    signal::install()?;
    let global = cli.global;
    match cli.command {
        Command::Pub(args) => cmd::pub_::run(&global, args).await,
        Command::Sub(args) => cmd::sub::run(&global, args).await,
        Command::Req(args) => cmd::req::run(&global, args).await,
        Command::Reply(args) => cmd::reply::run(&global, args).await,
        Command::Bench(args) => cmd::bench::run(&global, args).await,
        Command::Server(args) => cmd::server::run(&global, args).await,
        Command::Stream(args) => cmd::stream::run(&global, args).await,
        Command::Consumer(args) => cmd::consumer::run(&global, args).await,
        Command::Kv(args) => cmd::kv::run(&global, args).await,
        Command::Object(args) => cmd::object::run(&global, args).await,
    }
}

/// `--help` and `--version` print normally; a usage mistake becomes natscli's one-liner
/// (`nats: error: <what>, try --help`) with exit code 1 instead of clap's block and 2.
fn usage_error(err: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(
        err.kind(),
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
    ) || err.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    {
        let _ = err.print();
        return if err.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
            ExitCode::FAILURE
        } else {
            ExitCode::SUCCESS
        };
    }
    // clap's message is the paragraph before the first blank line, e.g.
    // "error: the following required arguments were not provided:\n  <SUBJECT>".
    let rendered = err.render().to_string();
    let what: Vec<&str> = rendered
        .lines()
        .take_while(|l| !l.trim().is_empty())
        .map(str::trim)
        .collect();
    let what = what.join(" ");
    let what = what.strip_prefix("error: ").unwrap_or(&what);
    eprintln!("nats: error: {what}, try --help");
    ExitCode::FAILURE
}

/// Prints the natscli-style one-line error and returns exit code 1.
fn fail(err: &anyhow::Error) -> ExitCode {
    // `{:#}` joins the context chain on one line: "outer: inner".
    eprintln!("nats: error: {err:#}");
    ExitCode::FAILURE
}

/// `nats sub foo | head -1` closes our stdout; that is the reader's choice, not an error.
fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// A bug must still end as one line on stderr and exit code 1, never a backtrace: users
/// run this tool from scripts that parse its output.
fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let msg = if let Some(s) = info.payload().downcast_ref::<&str>() {
            (*s).to_string()
        } else if let Some(s) = info.payload().downcast_ref::<String>() {
            s.clone()
        } else {
            "unknown panic".to_string()
        };
        let place = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        eprintln!("nats: error: internal error: {msg}{place}");
        std::process::exit(1);
    }));
}

//! `nats-server`: parse flags (and the config file), start the server, wait for a signal.

use std::process::ExitCode;

use nats_server::logging::Logger;
use nats_server::options::flags::{configure, Command};
use nats_server::{fatal, Server};

fn main() -> ExitCode {
    tune_allocator();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let opts = match configure(&args) {
        Ok(Command::Run(opts)) => *opts,
        Ok(Command::CheckConfig { message }) => {
            eprintln!("{message}");
            return ExitCode::SUCCESS;
        }
        Ok(Command::Version { message }) => {
            println!("{message}");
            return ExitCode::SUCCESS;
        }
        Ok(Command::Usage { error, text, code }) => {
            // Go's flag package: the error on stderr, the usage text on stdout.
            if let Some(e) = error {
                eprintln!("{e}");
            }
            println!("{text}");
            return ExitCode::from(code as u8);
        }
        Ok(Command::Signal { command, target }) => {
            return match nats_server::signals::send(&command, target.as_deref()) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("nats-server: {e}");
                    ExitCode::from(1)
                }
            };
        }
        Err(e) => {
            eprintln!("nats-server: {e}");
            return ExitCode::from(1);
        }
    };
    let log = match Logger::open(opts.log_file.as_ref(), opts.logtime, opts.debug, opts.trace) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("nats-server: error opening log file: {e}");
            return ExitCode::from(1);
        }
    };
    log.set_size_limit(opts.log_size_limit.max(0) as u64);
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("nats-server: {e}");
            return ExitCode::from(1);
        }
    };
    let args = &args;
    rt.block_on(async move {
        let pid_file = opts.pid_file.clone();
        let srv = match Server::start(opts, log).await {
            Ok(s) => s,
            Err(e) => {
                eprintln!("nats-server: {e}");
                return ExitCode::from(1);
            }
        };
        if let Some(p) = &pid_file {
            if let Err(e) = std::fs::write(p, std::process::id().to_string()) {
                fatal!(srv.log, "Could not write pidfile: {}", e);
                srv.shutdown().await;
                return ExitCode::from(1);
            }
        }
        let exit = match nats_server::signals::wait(&srv, args).await {
            Ok(e) => e,
            Err(e) => {
                fatal!(srv.log, "signal handling: {}", e);
                nats_server::signals::Exit::Terminate
            }
        };
        srv.shutdown().await;
        if let Some(p) = &pid_file {
            let _ = std::fs::remove_file(p);
        }
        ExitCode::from(exit.code() as u8)
    })
}

/// glibc raises its mmap threshold each time a large block (a connection's grown read
/// buffer, a block's message cache) is freed, up to 32 MiB; from then on such blocks
/// come from the heap, and a heap that held a burst keeps it. Fixing the threshold at
/// glibc's own starting value (128 KiB) gives memory back after a burst, as Go's
/// scavenger does: holding a 1,000,000-message file stream after publishing it takes
/// 8.5 MiB instead of 12.8 MiB (`bench/jetstream.sh`, js-hold-file). Left alone when the
/// operator tunes glibc through its environment variables.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn tune_allocator() {
    let tuned = std::env::vars_os().any(|(k, _)| k.to_string_lossy().starts_with("MALLOC_"));
    if tuned {
        return;
    }
    // SAFETY: `mallopt` takes two integers and changes only the allocator's own
    // settings; glibc documents it as MT-safe, and it runs here before any other thread
    // of this process exists. No memory is passed, so nothing can be aliased or freed.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 128 * 1024);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn tune_allocator() {}

//! `nats-server`: parse flags (and the config file), start the server, wait for a signal.

use std::process::ExitCode;

use nats_server::logging::Logger;
use nats_server::options::flags::{configure, Command};
use nats_server::{fatal, Server};

fn main() -> ExitCode {
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

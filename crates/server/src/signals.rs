//! Process signals, as nats-server handles them: SIGINT and SIGTERM shut down, SIGHUP
//! reloads the configuration, SIGUSR1 reopens the log file, SIGUSR2 enters lame duck mode.

use std::sync::Arc;

use tokio::signal::unix::{signal, SignalKind};

use crate::server::Server;
use crate::{debug, error, notice};

/// What ended the server's run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Interrupt,
    Terminate,
}

impl Exit {
    /// nats-server 2.9 exits 0 on SIGINT and 1 on SIGTERM.
    pub fn code(self) -> i32 {
        match self {
            Exit::Interrupt => 0,
            Exit::Terminate => 1,
        }
    }
}

/// Wait for a terminating signal, handling the others meanwhile. `args` is the command
/// line, re-read on reload.
pub async fn wait(srv: &Arc<Server>, args: &[String]) -> std::io::Result<Exit> {
    let mut int = signal(SignalKind::interrupt())?;
    let mut term = signal(SignalKind::terminate())?;
    let mut hup = signal(SignalKind::hangup())?;
    let mut usr1 = signal(SignalKind::user_defined1())?;
    let mut usr2 = signal(SignalKind::user_defined2())?;
    loop {
        tokio::select! {
            _ = int.recv() => {
                debug!(srv.log, "Trapped \"interrupt\" signal");
                return Ok(Exit::Interrupt);
            }
            _ = term.recv() => {
                debug!(srv.log, "Trapped \"terminated\" signal");
                // nats-server ignores SIGTERM while lame duck mode runs its course.
                if !srv.ldm.load(std::sync::atomic::Ordering::Acquire) {
                    return Ok(Exit::Terminate);
                }
            }
            _ = hup.recv() => {
                debug!(srv.log, "Trapped \"hangup\" signal");
                crate::reload::reload(srv, args);
            }
            _ = usr1.recv() => {
                debug!(srv.log, "Trapped \"user defined signal 1\" signal");
                match srv.log.reopen() {
                    Ok(true) => notice!(srv.log, "File log re-opened"),
                    Ok(false) => {}
                    Err(e) => error!(srv.log, "Error re-opening log file: {}", e),
                }
            }
            _ = usr2.recv() => {
                debug!(srv.log, "Trapped \"user defined signal 2\" signal");
                // Not a tracked task: it ends by shutting the server down, which waits for
                // the tracked ones.
                tokio::spawn(crate::lame_duck::run(srv.clone()));
            }
            _ = srv.shutdown.cancelled() => return Ok(Exit::Interrupt),
        }
    }
}

/// `--signal cmd[=pid|pidfile]`: send the signal for `cmd` to a running server.
pub fn send(command: &str, target: Option<&str>) -> Result<(), String> {
    use rustix::process::Signal;
    let sig = match command {
        "stop" => Signal::KILL,
        "quit" => Signal::INT,
        "term" => Signal::TERM,
        "reopen" => Signal::USR1,
        "reload" => Signal::HUP,
        "ldm" => Signal::USR2,
        other => return Err(format!("unknown signal {other:?}")),
    };
    let pid: i32 = match target {
        Some(t) => match t.parse() {
            Ok(p) => p,
            Err(_) => std::fs::read_to_string(t)
                .map_err(|e| format!("could not read pidfile {t:?}: {e}"))?
                .trim()
                .parse()
                .map_err(|_| format!("invalid pid in {t:?}"))?,
        },
        None => find_server_pid()?,
    };
    let pid = rustix::process::Pid::from_raw(pid).ok_or_else(|| format!("invalid pid {pid}"))?;
    rustix::process::kill_process(pid, sig).map_err(|e| e.to_string())
}

/// Without a pid, nats-server asks `pgrep nats-server`; we look through /proc for the same
/// thing: exactly one other process whose name is `nats-server`.
fn find_server_pid() -> Result<i32, String> {
    let me = std::process::id() as i32;
    let mut pids: Vec<i32> = std::fs::read_dir("/proc")
        .map_err(|e| e.to_string())?
        .flatten()
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse::<i32>().ok()))
        .filter(|&pid| pid != me)
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|c| c.trim() == "nats-server")
        })
        .collect();
    pids.sort_unstable();
    match pids.as_slice() {
        [] => Err("no nats-server processes running".into()),
        [pid] => Ok(*pid),
        many => {
            let list: Vec<String> = many.iter().map(|p| p.to_string()).collect();
            Err(format!(
                "multiple nats-server processes running:\n{}",
                list.join("\n")
            ))
        }
    }
}

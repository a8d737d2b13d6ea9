//! Logging in nats-server's line format:
//! `[<pid>] 2026/11/25 19:45:09.495411 [INF] <message>` (without the timestamp when
//! `logtime` is off), labels `INF DBG TRC WRN ERR FTL`, ANSI-coloured only when the sink is
//! a terminal. Connection-scoped lines carry the `<ip:port> - cid:N - ` prefix, which the
//! caller builds once per connection.
//!
//! Each server owns a [`Logger`] (tests run several servers in one process and capture
//! their output separately). Debug and trace are atomics so `-D`/`-V` can be flipped by a
//! reload, and the macros check them before any formatting happens: a disabled level costs
//! one relaxed load.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Fatal,
    Error,
    Warn,
    Info,
    Debug,
    Trace,
}

impl Level {
    fn label(self) -> &'static str {
        match self {
            Level::Fatal => "[FTL]",
            Level::Error => "[ERR]",
            Level::Warn => "[WRN]",
            Level::Info => "[INF]",
            Level::Debug => "[DBG]",
            Level::Trace => "[TRC]",
        }
    }

    fn color(self) -> &'static str {
        match self {
            Level::Fatal | Level::Error => "\x1b[31m",
            Level::Warn => "\x1b[0;93m",
            Level::Info => "\x1b[32m",
            Level::Debug => "\x1b[36m",
            Level::Trace => "\x1b[33m",
        }
    }
}

/// Where log lines go.
pub enum Sink {
    Stderr,
    File(PathBuf, File),
    /// Lines collected in memory (tests).
    Memory(Arc<Mutex<Vec<String>>>),
    /// Nothing (benchmarks).
    Discard,
}

pub struct Logger {
    pid: u32,
    logtime: AtomicBool,
    debug: AtomicBool,
    trace: AtomicBool,
    colors: bool,
    sink: Mutex<Sink>,
    /// `log_size_limit`: rotate the log file past this many bytes (0 = never).
    size_limit: std::sync::atomic::AtomicU64,
    written: std::sync::atomic::AtomicU64,
}

impl Logger {
    pub fn new(sink: Sink, logtime: bool, debug: bool, trace: bool) -> Logger {
        let colors = matches!(sink, Sink::Stderr) && stderr_is_tty();
        Logger {
            pid: std::process::id(),
            logtime: AtomicBool::new(logtime),
            debug: AtomicBool::new(debug),
            trace: AtomicBool::new(trace),
            colors,
            sink: Mutex::new(sink),
            size_limit: std::sync::atomic::AtomicU64::new(0),
            written: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// Rotate the log file when it grows past `limit` bytes (nats-server's
    /// `log_size_limit`); 0 turns rotation off.
    pub fn set_size_limit(&self, limit: u64) {
        self.size_limit.store(limit, Ordering::Relaxed);
    }

    /// A logger for `log_file`, or stderr when none is given.
    pub fn open(
        log_file: Option<&PathBuf>,
        logtime: bool,
        debug: bool,
        trace: bool,
    ) -> std::io::Result<Logger> {
        let sink = match log_file {
            Some(path) => Sink::File(path.clone(), open_append(path)?),
            None => Sink::Stderr,
        };
        Ok(Logger::new(sink, logtime, debug, trace))
    }

    /// A logger that keeps lines in memory, for tests.
    pub fn memory(debug: bool, trace: bool) -> (Logger, Arc<Mutex<Vec<String>>>) {
        let lines = Arc::new(Mutex::new(Vec::new()));
        (
            Logger::new(Sink::Memory(lines.clone()), true, debug, trace),
            lines,
        )
    }

    #[inline]
    pub fn debug_on(&self) -> bool {
        self.debug.load(Ordering::Relaxed)
    }

    #[inline]
    pub fn trace_on(&self) -> bool {
        self.trace.load(Ordering::Relaxed)
    }

    pub fn set_levels(&self, logtime: bool, debug: bool, trace: bool) {
        self.logtime.store(logtime, Ordering::Relaxed);
        self.debug.store(debug, Ordering::Relaxed);
        self.trace.store(trace, Ordering::Relaxed);
    }

    /// Reopen the log file (SIGUSR1, for logrotate).
    pub fn reopen(&self) -> std::io::Result<bool> {
        let mut sink = self.sink.lock();
        if let Sink::File(path, file) = &mut *sink {
            *file = open_append(path)?;
            return Ok(true);
        }
        Ok(false)
    }

    pub fn log(&self, level: Level, args: fmt::Arguments<'_>) {
        let mut line = String::with_capacity(128);
        use fmt::Write as _;
        let _ = write!(line, "[{}] ", self.pid);
        if self.logtime.load(Ordering::Relaxed) {
            let now = chrono::Local::now();
            let _ = write!(line, "{} ", now.format("%Y/%m/%d %H:%M:%S%.6f"));
        }
        if self.colors {
            let _ = write!(line, "{}{}\x1b[0m ", level.color(), level.label());
        } else {
            line.push_str(level.label());
            line.push(' ');
        }
        let _ = line.write_fmt(args);
        let mut sink = self.sink.lock();
        match &mut *sink {
            Sink::Stderr => {
                line.push('\n');
                let _ = std::io::stderr().write_all(line.as_bytes());
            }
            Sink::File(path, f) => {
                line.push('\n');
                let _ = f.write_all(line.as_bytes());
                let limit = self.size_limit.load(Ordering::Relaxed);
                let written = self.written.fetch_add(line.len() as u64, Ordering::Relaxed)
                    + line.len() as u64;
                if limit > 0 && written > limit {
                    self.written.store(0, Ordering::Relaxed);
                    if let Some(backup) = rotate(path, f) {
                        let note = format!(
                            "[{}] {}[INF] Rotated log, backup saved as {:?}\n",
                            self.pid,
                            if self.logtime.load(Ordering::Relaxed) {
                                format!("{} ", chrono::Local::now().format("%Y/%m/%d %H:%M:%S%.6f"))
                            } else {
                                String::new()
                            },
                            backup
                        );
                        let _ = f.write_all(note.as_bytes());
                    }
                }
            }
            Sink::Memory(lines) => lines.lock().push(line),
            Sink::Discard => {}
        }
    }
}

/// Move the current log aside as `<name>.YYYY.MM.DD.HH.MM.SS.<nanos>` and start a new one.
fn rotate(path: &PathBuf, f: &mut File) -> Option<String> {
    let now = chrono::Local::now();
    let backup = format!(
        "{}.{}.{:09}",
        path.display(),
        now.format("%Y.%m.%d.%H.%M.%S"),
        now.timestamp_subsec_nanos()
    );
    std::fs::rename(path, &backup).ok()?;
    *f = open_append(path).ok()?;
    Some(backup)
}

fn open_append(path: &PathBuf) -> std::io::Result<File> {
    OpenOptions::new().create(true).append(true).open(path)
}

fn stderr_is_tty() -> bool {
    std::io::IsTerminal::is_terminal(&std::io::stderr())
}

/// `notice!(log, "...")`: `[INF]`.
#[macro_export]
macro_rules! notice {
    ($log:expr, $($arg:tt)*) => { $log.log($crate::logging::Level::Info, format_args!($($arg)*)) };
}

/// `warn!(log, "...")`: `[WRN]`.
#[macro_export]
macro_rules! warn {
    ($log:expr, $($arg:tt)*) => { $log.log($crate::logging::Level::Warn, format_args!($($arg)*)) };
}

/// `error!(log, "...")`: `[ERR]`.
#[macro_export]
macro_rules! error {
    ($log:expr, $($arg:tt)*) => { $log.log($crate::logging::Level::Error, format_args!($($arg)*)) };
}

/// `fatal!(log, "...")`: `[FTL]` (the caller exits).
#[macro_export]
macro_rules! fatal {
    ($log:expr, $($arg:tt)*) => { $log.log($crate::logging::Level::Fatal, format_args!($($arg)*)) };
}

/// `debug!(log, "...")`: `[DBG]`, formatted only with `-D`.
#[macro_export]
macro_rules! debug {
    ($log:expr, $($arg:tt)*) => {
        if $log.debug_on() { $log.log($crate::logging::Level::Debug, format_args!($($arg)*)) }
    };
}

/// `trace!(log, "...")`: `[TRC]`, formatted only with `-V`.
#[macro_export]
macro_rules! trace {
    ($log:expr, $($arg:tt)*) => {
        if $log.trace_on() { $log.log($crate::logging::Level::Trace, format_args!($($arg)*)) }
    };
}

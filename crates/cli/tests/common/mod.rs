//! Test helpers: a server on free ports — ours, started in-process from the
//! `nats-server` library, or the Go `nats-server` as a child process — and the built
//! `nats` binary run as a child process with its output collected line by line.
//!
//! Readiness is observed, never assumed: the server is ready when its `.ports` file
//! (written after its listeners are up) names a client URL, and a backgrounded
//! `nats sub` is ready when it has printed `Subscribing on …`. There are no fixed
//! sleeps. This stays local until the shared `testkit` crate is ready; later the same
//! tests are meant to run against our own server.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

pub const GO_SERVER: &str = "/usr/sbin/nats-server";
pub const WAIT: Duration = Duration::from_secs(15);

static NEXT_DIR: AtomicUsize = AtomicUsize::new(0);

/// A server on random client and monitoring ports, stopped on drop.
pub struct TestServer {
    inner: Inner,
    dir: PathBuf,
    pub url: String,
    pub monitor: String,
    /// The route listener, when started with `--cluster`.
    pub cluster: Option<String>,
}

enum Inner {
    Go(Child),
    Ours {
        rt: tokio::runtime::Runtime,
        srv: std::sync::Arc<nats_server::Server>,
    },
}

impl TestServer {
    pub fn start() -> TestServer {
        TestServer::start_with(&[])
    }

    /// Starts our server in-process with nats-server flags (e.g. `--user a --pass b`).
    pub fn start_with(extra: &[&str]) -> TestServer {
        let mut args: Vec<String> = ["-a", "127.0.0.1", "-p", "-1", "-m", "-1"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        args.extend(extra.iter().map(|s| s.to_string()));
        let opts = match nats_server::options::flags::configure(&args) {
            Ok(nats_server::options::flags::Command::Run(o)) => *o,
            other => panic!("bad server flags {args:?}: {other:?}"),
        };
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let log = nats_server::logging::Logger::new(
            nats_server::logging::Sink::Discard,
            true,
            false,
            false,
        );
        let srv = rt
            .block_on(nats_server::Server::start(opts, log))
            .expect("start our server");
        let addrs = srv.addrs.read().clone();
        let port = |a: Option<std::net::SocketAddr>| a.map(|a| a.port()).expect("bound port");
        let url = format!("nats://127.0.0.1:{}", port(addrs.client));
        let monitor = format!("http://127.0.0.1:{}", port(addrs.http));
        let cluster = addrs
            .cluster
            .map(|a| format!("nats://127.0.0.1:{}", a.port()));
        TestServer {
            inner: Inner::Ours { rt, srv },
            dir: std::env::temp_dir(),
            url,
            monitor,
            cluster,
        }
    }

    /// Starts the Go reference server with extra flags.
    pub fn start_go_with(extra: &[&str]) -> TestServer {
        assert!(
            Path::new(GO_SERVER).exists(),
            "the Go nats-server is required at {GO_SERVER} for these tests \
             (Debian: apt-get install nats-server)"
        );
        let dir = std::env::temp_dir().join(format!(
            "nats-cli-test-{}-{}",
            std::process::id(),
            NEXT_DIR.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create temp dir");
        let log = std::fs::File::create(dir.join("server.log")).expect("create log file");
        let mut child = Command::new(GO_SERVER)
            .args([
                "-a",
                "127.0.0.1",
                "-p",
                "-1",
                "-m",
                "-1",
                "--ports_file_dir",
            ])
            .arg(&dir)
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn nats-server");
        let ports = dir.join(format!("nats-server_{}.ports", child.id()));
        let deadline = Instant::now() + WAIT;
        loop {
            if let Ok(text) = std::fs::read_to_string(&ports) {
                if let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) {
                    let url = v["nats"][0].as_str().map(String::from);
                    let monitor = v["monitoring"][0].as_str().map(String::from);
                    let cluster = v["cluster"][0].as_str().map(String::from);
                    let cluster_ready = cluster.is_some() || !extra.contains(&"--cluster");
                    if let (Some(url), Some(monitor), true) = (url, monitor, cluster_ready) {
                        return TestServer {
                            inner: Inner::Go(child),
                            dir,
                            url,
                            monitor,
                            cluster,
                        };
                    }
                }
            }
            if let Ok(Some(status)) = child.try_wait() {
                let log = std::fs::read_to_string(dir.join("server.log")).unwrap_or_default();
                panic!("nats-server exited early ({status}):\n{log}");
            }
            assert!(
                Instant::now() < deadline,
                "nats-server did not write {}",
                ports.display()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// `nats://127.0.0.1:PORT` → `PORT`.
    pub fn port(&self) -> u16 {
        self.url
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .expect("port in url")
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        match &mut self.inner {
            Inner::Go(child) => {
                let _ = child.kill();
                let _ = child.wait();
                let _ = std::fs::remove_dir_all(&self.dir);
            }
            Inner::Ours { rt, srv } => rt.block_on(srv.shutdown()),
        }
    }
}

/// A NATS URL where nothing listens, that no other test can start listening on.
///
/// Binding port 0 and releasing it races with parallel tests that also bind port 0 (a
/// silent listener once took over such a "dead" port). Instead we keep a listener on
/// `127.0.0.1:P` for the guard's lifetime — nobody else can bind P meanwhile — and hand
/// out `127.0.0.2:P`, where nothing listens, so connecting is refused at once.
pub struct DeadUrl {
    _hold: std::net::TcpListener,
    pub url: String,
}

pub fn dead_url() -> DeadUrl {
    let hold = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = hold.local_addr().expect("addr").port();
    DeadUrl {
        _hold: hold,
        url: format!("nats://127.0.0.2:{port}"),
    }
}

/// The `nats` binary with NATS_* variables from the developer's shell removed.
pub fn nats() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_nats"));
    for var in [
        "NATS_URL",
        "NATS_USER",
        "NATS_PASSWORD",
        "NATS_TIMEOUT",
        "NATS_MONITOR_URL",
    ] {
        cmd.env_remove(var);
    }
    cmd.stdin(Stdio::null());
    cmd
}

/// Output of a finished command.
pub struct Done {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `nats args...` to completion (bounded by [`WAIT`]).
pub fn run(args: &[&str]) -> Done {
    let mut child = nats()
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn nats");
    let out = Collected::from(child.stdout.take().expect("stdout"));
    let err = Collected::from(child.stderr.take().expect("stderr"));
    let status = wait_exit(&mut child, WAIT).unwrap_or_else(|| {
        let _ = child.kill();
        panic!(
            "nats {args:?} did not finish; stderr so far:\n{}",
            err.text()
        )
    });
    Done {
        status,
        stdout: out.finish(),
        stderr: err.finish(),
    }
}

/// Polls for exit up to `limit`.
pub fn wait_exit(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + limit;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Text read from a pipe by a background thread, with a way to wait for content.
#[derive(Clone)]
pub struct Collected {
    inner: Arc<(Mutex<(String, bool)>, Condvar)>,
    reader: Arc<Mutex<Option<std::thread::JoinHandle<()>>>>,
}

impl Collected {
    pub fn from<R: Read + Send + 'static>(pipe: R) -> Collected {
        let inner = Arc::new((Mutex::new((String::new(), false)), Condvar::new()));
        let shared = Arc::clone(&inner);
        let handle = std::thread::spawn(move || {
            let mut reader = BufReader::new(pipe);
            let mut line = String::new();
            loop {
                line.clear();
                let n = reader.read_line(&mut line).unwrap_or(0);
                let (lock, cv) = &*shared;
                let mut state = lock.lock().expect("lock");
                if n == 0 {
                    state.1 = true;
                    cv.notify_all();
                    return;
                }
                state.0.push_str(&line);
                cv.notify_all();
            }
        });
        Collected {
            inner,
            reader: Arc::new(Mutex::new(Some(handle))),
        }
    }

    pub fn text(&self) -> String {
        self.inner.0.lock().expect("lock").0.clone()
    }

    /// Waits until `pred(text)` holds; panics with the text after [`WAIT`].
    pub fn wait_for(&self, what: &str, pred: impl Fn(&str) -> bool) {
        let (lock, cv) = &*self.inner;
        let deadline = Instant::now() + WAIT;
        let mut state = lock.lock().expect("lock");
        loop {
            if pred(&state.0) {
                return;
            }
            assert!(
                !state.1,
                "output ended while waiting for {what}; got:\n{}",
                state.0
            );
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "timed out waiting for {what}; got:\n{}",
                state.0
            );
            state = cv.wait_timeout(state, left).expect("wait").0;
        }
    }

    /// All text once the pipe is closed.
    pub fn finish(&self) -> String {
        if let Some(h) = self.reader.lock().expect("lock").take() {
            let _ = h.join();
        }
        self.text()
    }
}

/// A long-running `nats` process (sub, reply) with its output collected.
pub struct Background {
    pub child: Child,
    pub stdout: Collected,
    pub stderr: Collected,
}

impl Background {
    pub fn spawn(args: &[&str]) -> Background {
        let mut child = nats()
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn nats");
        let stdout = Collected::from(child.stdout.take().expect("stdout"));
        let stderr = Collected::from(child.stderr.take().expect("stderr"));
        Background {
            child,
            stdout,
            stderr,
        }
    }

    /// Waits for a log line containing `needle` on stderr.
    pub fn wait_log(&self, needle: &str) {
        self.stderr.wait_for(needle, |t| t.contains(needle));
    }

    /// Waits for the process to exit on its own.
    pub fn wait(mut self) -> Done {
        let status = wait_exit(&mut self.child, WAIT).unwrap_or_else(|| {
            let _ = self.child.kill();
            panic!("nats did not exit; stderr:\n{}", self.stderr.text())
        });
        Done {
            status,
            stdout: self.stdout.finish(),
            stderr: self.stderr.finish(),
        }
    }

    /// Sends SIGINT (Ctrl-C) and waits for exit.
    pub fn interrupt(self) -> Done {
        let pid = self.child.id().to_string();
        let ok = Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .map(|s| s.success());
        assert_eq!(ok.ok(), Some(true), "kill -INT {pid}");
        self.wait()
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// True when `line` is `HH:MM:SS rest` with the given rest.
pub fn is_log_line(line: &str, rest: &str) -> bool {
    let b = line.as_bytes();
    line.len() == 9 + rest.len()
        && b[2] == b':'
        && b[5] == b':'
        && b[8] == b' '
        && [0, 1, 3, 4, 6, 7].iter().all(|&i| b[i].is_ascii_digit())
        && &line[9..] == rest
}

/// GETs `base + path` over plain HTTP/1.0 and parses the JSON body.
pub fn http_get_json(base: &str, path: &str) -> serde_json::Value {
    use std::io::Write;
    let authority = base.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = std::net::TcpStream::connect(authority).expect("connect to monitor port");
    stream.set_read_timeout(Some(WAIT)).expect("read timeout");
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {authority}\r\n\r\n").expect("send GET");
    let mut raw = String::new();
    stream.read_to_string(&mut raw).expect("read response");
    let body = raw.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    serde_json::from_str(body).unwrap_or_else(|e| panic!("bad JSON from {path}: {e}: {raw}"))
}

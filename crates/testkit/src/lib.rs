//! Test helpers shared by the workspace's integration tests.
//!
//! * [`ServerProcess`]: start a server binary (ours or the Go `nats-server`) on free ports
//!   (`-p -1` plus `--ports_file_dir`), wait until it is ready by reading its ports file
//!   (no sleeps), capture its log, and kill exactly that PID on drop.
//! * [`Raw`]: a raw protocol connection with `send` and `expect` (regex on what arrives,
//!   bounded in time), for wire-level checks.
//! * [`route_peer`]: a fake route peer for wire-level route tests.
//! * [`wait_for`]: poll a condition until it holds or a deadline passes.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The Go reference server, if installed (Debian's package puts it in /usr/sbin).
pub fn go_server() -> Option<PathBuf> {
    for p in [
        "/usr/sbin/nats-server",
        "/usr/bin/nats-server",
        "/usr/local/bin/nats-server",
    ] {
        if Path::new(p).exists() {
            return Some(PathBuf::from(p));
        }
    }
    None
}

/// The Go server, or a panic telling the reader how to get it. Differential and interop
/// tests must not pass silently without it.
pub fn require_go_server() -> PathBuf {
    go_server().expect(
        "the Go nats-server is required for this test: apt-get install -y nats-server (.ci/run does this)",
    )
}

/// Poll `f` every few milliseconds until it returns true or `timeout` passes.
pub fn wait_for(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if f() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A server running as a child process.
pub struct ServerProcess {
    child: Child,
    dir: tempfile::TempDir,
    pub client_port: u16,
    pub cluster_port: Option<u16>,
    pub http_port: Option<u16>,
    /// The websocket listener's port, when the server has one.
    pub websocket_port: Option<u16>,
    log_path: PathBuf,
}

impl ServerProcess {
    /// Start `bin` with `args`, adding `-a 127.0.0.1 -p -1` unless `args` set them, and
    /// `--ports_file_dir`. Returns once the ports file exists (the client listener is up).
    pub fn start(bin: &Path, args: &[&str]) -> ServerProcess {
        Self::try_start(bin, args).unwrap_or_else(|e| panic!("starting {}: {e}", bin.display()))
    }

    pub fn try_start(bin: &Path, args: &[&str]) -> Result<ServerProcess, String> {
        Self::try_start_env(bin, args, &[])
    }

    /// [`ServerProcess::start`] with extra environment variables (`TOKIO_WORKER_THREADS`).
    pub fn start_env(bin: &Path, args: &[&str], env: &[(&str, &str)]) -> ServerProcess {
        Self::try_start_env(bin, args, env)
            .unwrap_or_else(|e| panic!("starting {}: {e}", bin.display()))
    }

    pub fn try_start_env(
        bin: &Path,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Result<ServerProcess, String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let log_path = dir.path().join("server.log");
        let log = std::fs::File::create(&log_path).map_err(|e| e.to_string())?;
        let has = |names: &[&str]| {
            args.iter()
                .any(|a| names.contains(&a.split('=').next().unwrap_or(a)))
        };
        let mut all: Vec<String> = Vec::new();
        if !has(&["-a", "--addr", "-addr", "--net", "-net"]) {
            all.extend(["-a".into(), "127.0.0.1".into()]);
        }
        if !has(&["-p", "--port", "-port"]) {
            all.extend(["-p".into(), "-1".into()]);
        }
        all.push("--ports_file_dir".into());
        all.push(dir.path().display().to_string());
        all.extend(args.iter().map(|s| s.to_string()));
        let child = Command::new(bin)
            .args(&all)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(|e| e.to_string())?;
        let mut sp = ServerProcess {
            child,
            dir,
            client_port: 0,
            cluster_port: None,
            http_port: None,
            websocket_port: None,
            log_path,
        };
        let ports = sp.wait_ports_file(Duration::from_secs(10))?;
        sp.client_port = first_port(&ports, "nats").ok_or("no client port in ports file")?;
        sp.cluster_port = first_port(&ports, "cluster");
        sp.http_port = first_port(&ports, "monitoring");
        sp.websocket_port = first_port(&ports, "websocket");
        Ok(sp)
    }

    fn wait_ports_file(&mut self, timeout: Duration) -> Result<serde_json::Value, String> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("server exited ({status}); log:\n{}", self.log()));
            }
            if let Ok(rd) = std::fs::read_dir(self.dir.path()) {
                for e in rd.flatten() {
                    let p = e.path();
                    if p.extension().is_some_and(|x| x == "ports") {
                        if let Ok(text) = std::fs::read_to_string(&p) {
                            if let Ok(v) = serde_json::from_str(&text) {
                                return Ok(v);
                            }
                        }
                    }
                }
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "no ports file after {timeout:?}; log:\n{}",
                    self.log()
                ));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The process's resident memory now and its peak (`VmRSS`, `VmHWM`), in KiB.
    pub fn rss_kib(&self) -> (u64, u64) {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.split_whitespace().next())
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        };
        (field("VmRSS:"), field("VmHWM:"))
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.client_port)
    }

    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.client_port)
    }

    /// Everything the server logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// Wait until the log contains `needle` (bounded).
    pub fn wait_log(&self, needle: &str, timeout: Duration) -> bool {
        wait_for(timeout, || self.log().contains(needle))
    }

    /// Count of log lines containing `needle`.
    pub fn log_count(&self, needle: &str) -> usize {
        self.log().lines().filter(|l| l.contains(needle)).count()
    }

    /// Send a signal to this PID (and only this one).
    pub fn signal(&self, sig: &str) {
        let _ = Command::new("kill")
            .args([format!("-{sig}"), self.child.id().to_string()])
            .status();
    }

    /// SIGKILL and reap.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Wait for exit after a signal; returns the exit code (None if killed by a signal).
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<Option<i32>> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(Some(st)) = self.child.try_wait() {
                return Some(st.code());
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// GET a monitoring endpoint; returns (status, body).
    pub fn http_get(&self, path: &str) -> Result<(u16, String), String> {
        let port = self.http_port.ok_or("no monitoring port")?;
        http_get(&format!("127.0.0.1:{port}"), path)
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // A failing test shows what the server said (its last lines), not just the assertion.
        if std::thread::panicking() {
            let log = self.log();
            let tail: Vec<&str> = log.lines().rev().take(40).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            eprintln!(
                "--- server log (pid {}) ---\n{}",
                self.child.id(),
                tail.join("\n")
            );
        }
    }
}

fn first_port(ports: &serde_json::Value, key: &str) -> Option<u16> {
    let url = ports.get(key)?.as_array()?.first()?.as_str()?;
    url.rsplit(':').next()?.trim_end_matches('/').parse().ok()
}

/// A minimal HTTP/1.0 GET: (status, body).
pub fn http_get(addr: &str, path: &str) -> Result<(u16, String), String> {
    let mut s = TcpStream::connect(addr).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(5)))
        .map_err(|e| e.to_string())?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").map_err(|e| e.to_string())?;
    let mut resp = Vec::new();
    s.read_to_end(&mut resp).map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&resp).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").ok_or("bad http response")?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or("bad status line")?;
    Ok((status, body.to_string()))
}

/// A raw protocol connection for wire-level tests.
pub struct Raw {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Raw {
    pub fn connect(addr: &str) -> Raw {
        let stream = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect {addr}: {e}"));
        Raw::from_stream(stream)
    }

    /// A connection made elsewhere (with socket options of the test's choosing).
    pub fn from_stream(stream: TcpStream) -> Raw {
        stream.set_nodelay(true).ok();
        Raw {
            stream,
            buf: Vec::new(),
        }
    }

    pub fn send(&mut self, bytes: impl AsRef<[u8]>) {
        self.stream.write_all(bytes.as_ref()).expect("send");
    }

    /// Send, reporting failure (the server may have cut us) instead of panicking.
    pub fn try_send(&mut self, bytes: impl AsRef<[u8]>) -> bool {
        self.stream.write_all(bytes.as_ref()).is_ok()
    }

    /// Whether anything has arrived (or the connection closed) by now, without waiting.
    pub fn anything_now(&mut self) -> bool {
        if !self.buf.is_empty() {
            return true;
        }
        self.stream.set_nonblocking(true).ok();
        let mut tmp = [0u8; 4096];
        let got = match self.stream.read(&mut tmp) {
            Ok(0) => true,
            Ok(n) => {
                self.buf.extend_from_slice(&tmp[..n]);
                true
            }
            Err(e) => e.kind() != std::io::ErrorKind::WouldBlock,
        };
        self.stream.set_nonblocking(false).ok();
        got
    }

    /// Read until the received text matches `pattern` (a regex); returns the captures of
    /// the first match as strings and consumes input up to the end of the match.
    pub fn expect(&mut self, pattern: &str) -> Vec<String> {
        self.try_expect(pattern, Duration::from_secs(5))
            .unwrap_or_else(|| {
                panic!(
                    "expected /{pattern}/, got {:?}",
                    String::from_utf8_lossy(&self.buf)
                )
            })
    }

    pub fn try_expect(&mut self, pattern: &str, timeout: Duration) -> Option<Vec<String>> {
        let re = regex::bytes::Regex::new(pattern).expect("regex");
        self.try_expect_re(&re, timeout)
    }

    /// [`Raw::try_expect`] with a regex compiled once (for tests reading many frames).
    pub fn try_expect_re(
        &mut self,
        re: &regex::bytes::Regex,
        timeout: Duration,
    ) -> Option<Vec<String>> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(c) = re.captures(&self.buf) {
                let m = c.get(0).expect("match");
                let caps = c
                    .iter()
                    .map(|g| {
                        g.map(|g| String::from_utf8_lossy(g.as_bytes()).into_owned())
                            .unwrap_or_default()
                    })
                    .collect();
                let end = m.end();
                self.buf.drain(..end);
                return Some(caps);
            }
            let now = Instant::now();
            if now >= deadline {
                return None;
            }
            if !self.fill(deadline - now) {
                // Closed: one last look at what is buffered.
                return re.captures(&self.buf).map(|c| {
                    c.iter()
                        .map(|g| {
                            g.map(|g| String::from_utf8_lossy(g.as_bytes()).into_owned())
                                .unwrap_or_default()
                        })
                        .collect()
                });
            }
        }
    }

    /// Read whatever arrives within `wait` (returns it, consuming it).
    pub fn drain(&mut self, wait: Duration) -> String {
        let deadline = Instant::now() + wait;
        loop {
            let now = Instant::now();
            if now >= deadline || !self.fill(deadline - now) {
                break;
            }
        }
        let s = String::from_utf8_lossy(&self.buf).into_owned();
        self.buf.clear();
        s
    }

    /// Read once (bounded). False on EOF or error.
    fn fill(&mut self, timeout: Duration) -> bool {
        let t = timeout.max(Duration::from_millis(1));
        self.stream.set_read_timeout(Some(t)).ok();
        let mut tmp = [0u8; 65536];
        match self.stream.read(&mut tmp) {
            Ok(0) => false,
            Ok(n) => {
                self.buf.extend_from_slice(&tmp[..n]);
                true
            }
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut =>
            {
                true
            }
            Err(_) => false,
        }
    }

    /// True if the server closes the connection within `timeout` (anything it sent first
    /// stays readable through `expect`).
    pub fn closed_within(&mut self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            self.stream.set_read_timeout(Some(deadline - now)).ok();
            let mut tmp = [0u8; 4096];
            match self.stream.read(&mut tmp) {
                Ok(0) => return true,
                Ok(n) => self.buf.extend_from_slice(&tmp[..n]),
                Err(e)
                    if e.kind() == std::io::ErrorKind::WouldBlock
                        || e.kind() == std::io::ErrorKind::TimedOut =>
                {
                    return false
                }
                Err(_) => return true,
            }
        }
    }

    /// Connect, read INFO, send `CONNECT {connect}` and `PING`, wait for PONG.
    pub fn handshake(addr: &str, connect: &str) -> Raw {
        let mut r = Raw::connect(addr);
        r.expect(r"^INFO \{.*\} ?\r\n");
        r.send(format!("CONNECT {connect}\r\nPING\r\n"));
        r.expect(r"PONG\r\n");
        r
    }

    /// The socket, for a test that reads it in bulk itself.
    pub fn into_stream(self) -> TcpStream {
        self.stream
    }

    pub fn buffered(&self) -> String {
        String::from_utf8_lossy(&self.buf).into_owned()
    }
}

/// A fake route peer: connect to a server's cluster port as server `id` of cluster
/// `cluster`, send the route CONNECT and INFO a Go 2.9.10 peer sends, and return the
/// connection and the server's route INFO. The test then speaks `RS+`/`RMSG`/… itself.
pub fn route_peer(cluster_addr: &str, id: &str, cluster: &str) -> (Raw, serde_json::Value) {
    let mut r = Raw::connect(cluster_addr);
    let caps = r.expect(r"^INFO (\{.*\}) ?\r\n");
    let info: serde_json::Value = serde_json::from_str(&caps[1]).expect("route INFO json");
    r.send(format!(
        "CONNECT {{\"echo\":true,\"verbose\":false,\"pedantic\":false,\"tls_required\":false,\"headers\":true,\"name\":\"{id}\",\"cluster\":\"{cluster}\"}}\r\n"
    ));
    r.send(format!(
        "INFO {{\"server_id\":\"{id}\",\"server_name\":\"fake\",\"version\":\"2.9.10\",\"proto\":2,\"host\":\"127.0.0.1\",\"port\":1,\"headers\":true,\"max_payload\":1048576,\"cluster\":\"{cluster}\"}}\r\n"
    ));
    (r, info)
}

/// A blocking request client over the raw protocol: `CONNECT` (with optional extra
/// fields), a subscription on `_R`, then one request at a time answered on it. Used by
/// the differential tests that send the same requests to Go and to our server.
pub struct Requester {
    w: TcpStream,
    r: std::io::BufReader<TcpStream>,
}

impl Requester {
    pub fn connect(port: u16) -> Requester {
        Requester::connect_with(port, "")
    }

    /// Connect with extra CONNECT fields (e.g. `"user":"a","pass":"a",`).
    pub fn connect_with(port: u16, fields: &str) -> Requester {
        use std::io::{BufRead, Write};
        let w = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        w.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut r = std::io::BufReader::new(w.try_clone().unwrap());
        let mut line = String::new();
        r.read_line(&mut line).unwrap();
        let mut c = Requester { w, r };
        write!(
            c.w,
            "CONNECT {{{fields}\"headers\":true,\"verbose\":false}}\r\nSUB _R 1\r\nPING\r\n"
        )
        .unwrap();
        while line.trim() != "PONG" {
            line.clear();
            c.r.read_line(&mut line).unwrap();
        }
        c
    }

    /// The reply's body (headers included) to `body` on `subject`.
    pub fn request(&mut self, subject: &str, body: &str) -> String {
        self.request_with_headers(subject, &[], body.as_bytes())
    }

    /// The same with headers on the request.
    pub fn request_with_headers(
        &mut self,
        subject: &str,
        hdrs: &[(&str, &str)],
        body: &[u8],
    ) -> String {
        let (_, body) = self.exchange(subject, hdrs, body);
        body
    }

    /// The reply's `MSG`/`HMSG` line without its sid and sizes, then its whole body.
    pub fn request_raw(&mut self, subject: &str, body: &str) -> String {
        let (line, body) = self.exchange(subject, &[], body.as_bytes());
        let mut parts: Vec<&str> = line.split_whitespace().collect();
        parts.remove(2);
        parts.pop();
        if parts[0] == "HMSG" {
            parts.pop();
        }
        format!("{}\n{}", parts.join(" "), body)
    }

    fn exchange(&mut self, subject: &str, hdrs: &[(&str, &str)], body: &[u8]) -> (String, String) {
        use std::io::{BufRead, Read, Write};
        if hdrs.is_empty() {
            write!(self.w, "PUB {subject} _R {}\r\n", body.len()).unwrap();
        } else {
            let mut h = String::from("NATS/1.0\r\n");
            for (k, v) in hdrs {
                h.push_str(&format!("{k}: {v}\r\n"));
            }
            h.push_str("\r\n");
            write!(
                self.w,
                "HPUB {subject} _R {} {}\r\n{h}",
                h.len(),
                h.len() + body.len()
            )
            .unwrap();
        }
        self.w.write_all(body).unwrap();
        self.w.write_all(b"\r\n").unwrap();
        let mut line = String::new();
        loop {
            line.clear();
            self.r.read_line(&mut line).expect("a reply");
            if line.starts_with("MSG") || line.starts_with("HMSG") {
                break;
            }
            if line.starts_with("PING") {
                self.w.write_all(b"PONG\r\n").unwrap();
            }
        }
        let n: usize = line.split_whitespace().last().unwrap().parse().unwrap();
        let mut buf = vec![0u8; n + 2];
        self.r.read_exact(&mut buf).unwrap();
        buf.truncate(n);
        (line, String::from_utf8(buf).unwrap())
    }
}

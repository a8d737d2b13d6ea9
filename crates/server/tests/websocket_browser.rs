//! A real browser against our websocket listener: headless Chromium (Debian's
//! `chromium`, installed by `.ci/run`) loads `tests/browser/index.html`, which drives the
//! published JavaScript NATS client (`nats.ws`, installed here from the npm registry into
//! cargo's test temp dir and served by a static server in this test: no CDN).
//!
//! The page connects to server A (websocket, with its own `authorization {}`), fails and
//! then passes authentication, publishes and subscribes, makes requests answered by a
//! TCP client on server B (the other end of a route), sends headers and a 512 KiB
//! payload, and reconnects after A restarts. The TCP client on B must see what the page
//! published. Every wait has a deadline; the page reports each step by POSTing to the
//! static server.

mod common;

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{bin, config, ServerProcess};
use futures::StreamExt;

/// The client the page uses; pinned so that a new release cannot change the test.
const NATS_WS: &str = "nats.ws@1.30.3";

#[derive(Default)]
struct Board {
    results: Vec<serde_json::Value>,
    signals: HashSet<String>,
}

/// `npm install` the client once per target dir; returns the path of its ESM bundle.
fn nats_ws_bundle() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser-npm");
    let bundle = dir.join("node_modules/nats.ws/esm/nats.js");
    if !bundle.exists() {
        std::fs::create_dir_all(&dir).unwrap();
        let st = Command::new("npm")
            .args(["install", "--no-audit", "--no-fund", "--silent", "--prefix"])
            .arg(&dir)
            .arg(NATS_WS)
            .status()
            .expect("npm (Node.js) is needed for the browser test");
        assert!(st.success(), "npm install {NATS_WS} failed");
    }
    bundle
}

fn chromium() -> PathBuf {
    for c in ["/usr/bin/chromium", "/usr/bin/chromium-browser"] {
        if Path::new(c).exists() {
            return PathBuf::from(c);
        }
    }
    panic!("chromium is needed for the browser test (apt-get install chromium; .ci/run does)");
}

/// A static file server for the page and the bundle, plus `/result` and `/signal/<name>`.
fn serve(board: Arc<Mutex<Board>>, bundle: PathBuf) -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let pages = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
    std::thread::spawn(move || {
        for s in l.incoming().flatten() {
            let (board, bundle, pages) = (board.clone(), bundle.clone(), pages.clone());
            std::thread::spawn(move || {
                let _ = handle(s, &board, &bundle, &pages);
            });
        }
    });
    port
}

fn handle(s: TcpStream, board: &Mutex<Board>, bundle: &Path, pages: &Path) -> std::io::Result<()> {
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut r = BufReader::new(s.try_clone()?);
    let mut w = s;
    loop {
        let mut line = String::new();
        if r.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let mut parts = line.split_whitespace();
        let (method, path) = (
            parts.next().unwrap_or("").to_string(),
            parts.next().unwrap_or("/").to_string(),
        );
        let mut len = 0usize;
        loop {
            let mut h = String::new();
            r.read_line(&mut h)?;
            if h.trim().is_empty() {
                break;
            }
            if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
                len = v.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0u8; len];
        r.read_exact(&mut body)?;
        let path = path.split('?').next().unwrap_or("/").to_string();
        let (status, ctype, content): (u16, &str, Vec<u8>) = match (method.as_str(), path.as_str())
        {
            ("POST", "/result") => {
                if let Ok(v) = serde_json::from_slice(&body) {
                    board.lock().unwrap().results.push(v);
                }
                (200, "text/plain", b"ok".to_vec())
            }
            ("GET", p) if p.starts_with("/signal/") => {
                if board.lock().unwrap().signals.contains(&p[8..]) {
                    (200, "text/plain", b"go".to_vec())
                } else {
                    (404, "text/plain", b"wait".to_vec())
                }
            }
            ("GET", "/nats.js") => (200, "text/javascript", std::fs::read(bundle)?),
            ("GET", "/app.js") => (200, "text/javascript", std::fs::read(pages.join("app.js"))?),
            ("GET", "/" | "/index.html") => {
                (200, "text/html", std::fs::read(pages.join("index.html"))?)
            }
            _ => (404, "text/plain", b"not found".to_vec()),
        };
        write!(
            w,
            "HTTP/1.1 {status} X\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nCache-Control: no-store\r\n\r\n",
            content.len()
        )?;
        w.write_all(&content)?;
    }
}

/// Chromium in its own process group, so that the test ends exactly the processes it
/// started (the browser and its helpers), and nothing else.
struct Browser(Child, #[allow(dead_code)] tempfile::TempDir);

impl Drop for Browser {
    fn drop(&mut self) {
        let pgid = self.0.id() as i32;
        let _ = Command::new("kill")
            .args(["-TERM", "--", &format!("-{pgid}")])
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{pgid}")])
            .status();
        let _ = self.0.wait();
    }
}

fn launch(url: &str) -> Browser {
    use std::os::unix::process::CommandExt;
    let profile = tempfile::tempdir().unwrap();
    let child = Command::new(chromium())
        .args([
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-extensions",
            "--disable-background-networking",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .expect("start chromium");
    Browser(child, profile)
}

fn a_config(ws_port: i32, route: &str) -> String {
    format!(
        "websocket {{ host: 127.0.0.1, port: {ws_port}, no_tls: true, \
         authorization {{ username: web, password: secret }} }}\n\
         cluster {{ listen: 127.0.0.1:-1, name: web, routes: [{route}] }}\n"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_client_end_to_end() {
    let bundle = nats_ws_bundle();
    let board = Arc::new(Mutex::new(Board::default()));
    let http = serve(board.clone(), bundle);

    let (_db, pb) = config("cluster { listen: 127.0.0.1:-1, name: web }\n");
    let b = ServerProcess::start(&bin(), &["-c", &pb]);
    let route = format!("nats://127.0.0.1:{}", b.cluster_port.unwrap());
    let (_da, pa) = config(&a_config(-1, &route));
    let mut a = ServerProcess::start(&bin(), &["-c", &pa]);
    let ws_port = a.websocket_port.unwrap();

    // The TCP side: a responder that echoes headers, and a subscriber to what the page
    // publishes, both on server B.
    let nc = async_nats::connect(format!("127.0.0.1:{}", b.client_port))
        .await
        .unwrap();
    let mut seen = nc.subscribe("browser.>").await.unwrap();
    let mut svc = nc.subscribe("svc.echo").await.unwrap();
    let responder = nc.clone();
    tokio::spawn(async move {
        while let Some(m) = svc.next().await {
            let Some(reply) = m.reply else { continue };
            let body = format!("pong:{}", String::from_utf8_lossy(&m.payload));
            let _ = match m.headers {
                Some(h) => responder.publish_with_headers(reply, h, body.into()).await,
                None => responder.publish(reply, body.into()).await,
            };
        }
    });
    nc.flush().await.unwrap();

    let _browser = launch(&format!(
        "http://127.0.0.1:{http}/index.html?ws=ws://127.0.0.1:{ws_port}"
    ));

    let results = |b: &Mutex<Board>| b.lock().unwrap().results.clone();
    let step = |b: &Mutex<Board>, name: &str| {
        results(b)
            .into_iter()
            .find(|r| r["step"] == name || r["step"] == "fatal")
    };
    let wait_step = |name: &'static str, secs: u64| {
        let board = board.clone();
        async move {
            let deadline = Instant::now() + Duration::from_secs(secs);
            loop {
                if let Some(r) = step(&board, name) {
                    return r;
                }
                assert!(
                    Instant::now() < deadline,
                    "no {name:?} from the page within {secs}s; results: {:?}",
                    results(&board)
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    };

    // Chromium's first start on a loaded 2-core machine can be slow.
    let r = wait_step("ready-for-restart", 90).await;
    assert_eq!(r["step"], "ready-for-restart", "{:?}", results(&board));

    a.kill();
    let (_da2, pa2) = config(&a_config(i32::from(ws_port), &route));
    let a2 = ServerProcess::start(&bin(), &["-c", &pa2]);
    assert_eq!(a2.websocket_port, Some(ws_port));
    board
        .lock()
        .unwrap()
        .signals
        .insert("restarted".to_string());

    let r = wait_step("done", 60).await;
    assert_eq!(r["step"], "done", "{:?}", results(&board));
    eprintln!("page results: {:?}", results(&board));
    for name in [
        "auth-failure",
        "connect",
        "pubsub",
        "request",
        "headers",
        "large",
        "reconnect",
    ] {
        let r = step(&board, name).unwrap_or_else(|| panic!("no {name}"));
        assert_eq!(r["ok"], true, "{name}: {r}");
    }

    // What the TCP client on the other server saw.
    let mut want: HashSet<&str> = ["browser.out", "browser.big.out", "browser.after"].into();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !want.is_empty() && Instant::now() < deadline {
        let Ok(Some(m)) = tokio::time::timeout(Duration::from_secs(1), seen.next()).await else {
            continue;
        };
        match m.subject.as_str() {
            "browser.out" => assert_eq!(&m.payload[..], b"from-browser"),
            "browser.big.out" => {
                assert_eq!(m.payload.len(), 512 * 1024);
                assert!(m
                    .payload
                    .iter()
                    .enumerate()
                    .all(|(i, &b)| b == (i % 251) as u8));
            }
            "browser.after" => assert_eq!(&m.payload[..], b"back"),
            _ => {}
        }
        want.remove(m.subject.as_str());
    }
    assert!(want.is_empty(), "the TCP client did not see {want:?}");
    drop(a2);
}

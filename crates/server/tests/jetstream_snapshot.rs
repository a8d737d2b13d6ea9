//! `$JS.API.STREAM.SNAPSHOT` / `RESTORE` on the wire: the answers and the chunk flow
//! compared with nats-server 2.9.10's, and a full round trip on ours (snapshot, delete,
//! restore, the same stream and consumer, also after kill -9).

mod common;

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use testkit::ServerProcess;

fn start_js(bin: &std::path::Path, dir: &std::path::Path) -> ServerProcess {
    let sd = dir.display().to_string();
    ServerProcess::start(bin, &["-js", "-sd", &sd])
}

/// One delivered message, bytes intact.
#[derive(Debug, Clone)]
struct Frame {
    subject: String,
    sid: String,
    reply: Option<String>,
    hdr: Option<Vec<u8>>,
    data: Vec<u8>,
}

/// A binary-safe protocol client: requests with replies, subscriptions, raw frames.
struct Wire {
    w: TcpStream,
    r: BufReader<TcpStream>,
    backlog: VecDeque<Frame>,
    n: u64,
}

impl Wire {
    fn connect(port: u16) -> Wire {
        let w = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        w.set_nodelay(true).ok();
        w.set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let r = BufReader::new(w.try_clone().unwrap());
        let mut c = Wire {
            w,
            r,
            backlog: VecDeque::new(),
            n: 0,
        };
        c.send(
            b"CONNECT {\"headers\":true,\"verbose\":false,\"pedantic\":false}\r\nSUB _W.* 1\r\n",
        );
        c.sync();
        c
    }

    fn send(&mut self, b: &[u8]) {
        self.w.write_all(b).expect("send");
    }

    fn sub(&mut self, subject: &str, sid: u32) {
        self.send(format!("SUB {subject} {sid}\r\n").as_bytes());
        self.sync();
    }

    fn publish(&mut self, subject: &str, reply: Option<&str>, data: &[u8]) {
        let r = reply.map(|r| format!(" {r}")).unwrap_or_default();
        let mut b = format!("PUB {subject}{r} {}\r\n", data.len()).into_bytes();
        b.extend_from_slice(data);
        b.extend_from_slice(b"\r\n");
        self.send(&b);
    }

    fn hpublish(&mut self, subject: &str, hdr: &str, data: &[u8]) {
        let mut b = format!(
            "HPUB {subject} {} {}\r\n{hdr}",
            hdr.len(),
            hdr.len() + data.len()
        )
        .into_bytes();
        b.extend_from_slice(data);
        b.extend_from_slice(b"\r\n");
        self.send(&b);
    }

    /// PING and wait for the PONG (frames before it are kept).
    fn sync(&mut self) {
        self.send(b"PING\r\n");
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            assert!(Instant::now() < deadline, "no PONG");
            match self.read_one() {
                Some(Ok(f)) => self.backlog.push_back(f),
                Some(Err(line)) if line == "PONG" => return,
                _ => {}
            }
        }
    }

    /// One frame, or a control line (`Err`), or nothing within the read timeout.
    fn read_one(&mut self) -> Option<Result<Frame, String>> {
        let mut line = String::new();
        match self.r.read_line(&mut line) {
            Ok(0) => panic!("connection closed"),
            Ok(_) => {}
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut =>
            {
                assert!(line.is_empty(), "partial line {line:?}");
                return None;
            }
            Err(e) => panic!("read: {e}"),
        }
        let line = line.trim_end().to_string();
        let parts: Vec<&str> = line.split(' ').collect();
        match parts[0] {
            "MSG" | "HMSG" => {
                let hmsg = parts[0] == "HMSG";
                let nums = if hmsg { 2 } else { 1 };
                let total: usize = parts[parts.len() - 1].parse().unwrap();
                let hlen: usize = if hmsg {
                    parts[parts.len() - 2].parse().unwrap()
                } else {
                    0
                };
                let reply = (parts.len() == 4 + nums).then(|| parts[3].to_string());
                self.w.set_read_timeout(Some(Duration::from_secs(10))).ok();
                let mut body = vec![0u8; total + 2];
                self.r.read_exact(&mut body).expect("body");
                self.w
                    .set_read_timeout(Some(Duration::from_millis(200)))
                    .ok();
                assert_eq!(&body[total..], b"\r\n");
                body.truncate(total);
                let data = body.split_off(hlen);
                Some(Ok(Frame {
                    subject: parts[1].to_string(),
                    sid: parts[2].to_string(),
                    reply,
                    hdr: hmsg.then_some(body),
                    data,
                }))
            }
            "PING" => {
                self.send(b"PONG\r\n");
                Some(Err(line))
            }
            _ => Some(Err(line)),
        }
    }

    /// The next frame on `subject` (others are kept for later).
    fn next_on(&mut self, subject: &str, timeout: Duration) -> Option<Frame> {
        if let Some(i) = self.backlog.iter().position(|f| f.subject == subject) {
            return self.backlog.remove(i);
        }
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(Ok(f)) = self.read_one() {
                if f.subject == subject {
                    return Some(f);
                }
                self.backlog.push_back(f);
            }
        }
        None
    }

    /// The next frame for subscription `sid` (others are kept for later).
    fn next_for(&mut self, sid: &str, timeout: Duration) -> Option<Frame> {
        if let Some(i) = self.backlog.iter().position(|f| f.sid == sid) {
            return self.backlog.remove(i);
        }
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(Ok(f)) = self.read_one() {
                if f.sid == sid {
                    return Some(f);
                }
                self.backlog.push_back(f);
            }
        }
        None
    }

    /// A request's reply frame.
    fn request_frame(&mut self, subject: &str, body: &[u8]) -> Frame {
        self.n += 1;
        let inbox = format!("_W.{}", self.n);
        self.publish(subject, Some(&inbox), body);
        self.next_on(&inbox, Duration::from_secs(10))
            .unwrap_or_else(|| panic!("no reply to {subject}"))
    }

    fn request(&mut self, subject: &str, body: &str) -> String {
        String::from_utf8(self.request_frame(subject, body.as_bytes()).data).unwrap()
    }
}

/// Times and ids differ between runs.
fn masked(s: &str) -> String {
    let re = regex::Regex::new(
        r#""(created|first_ts|last_ts|time)":"[^"]+"|\$JS\.SNAPSHOT\.(RESTORE|ACK)\.(\w+)\.\w+"#,
    )
    .unwrap();
    re.replace_all(s, |c: &regex::Captures| {
        if let Some(k) = c.get(1) {
            if c[0].contains("0001-01-01") {
                c[0].to_string()
            } else {
                format!("\"{}\":\"T\"", k.as_str())
            }
        } else {
            format!("$JS.SNAPSHOT.{}.{}.ID", &c[2], &c[3])
        }
    })
    .into_owned()
}

/// Receive a snapshot on `deliver` (already subscribed), acking every chunk, checking
/// the flow as Go sends it: chunks with `$JS.SNAPSHOT.ACK.<stream>.<id>.<size>.<index>`
/// replies and no headers, then one empty message without reply or headers.
fn receive_snapshot(c: &mut Wire, stream: &str, deliver: &str) -> Vec<Vec<u8>> {
    let ack = regex::Regex::new(&format!(
        r"^\$JS\.SNAPSHOT\.ACK\.{stream}\.([A-Za-z0-9]+)\.(\d+)\.(\d+)$"
    ))
    .unwrap();
    let mut chunks = Vec::new();
    let mut id = None;
    loop {
        let f = c
            .next_on(deliver, Duration::from_secs(10))
            .unwrap_or_else(|| panic!("chunk {} did not come", chunks.len() + 1));
        assert!(f.hdr.is_none(), "no headers on snapshot messages: {f:?}");
        if f.data.is_empty() {
            // Go writes the EOF's missing reply as an empty field: `MSG <subject> <sid>  0`.
            assert_eq!(
                f.reply.as_deref(),
                Some(""),
                "the EOF has an empty reply field"
            );
            break;
        }
        let reply = f.reply.clone().expect("a chunk has an ack subject");
        let caps = ack
            .captures(&reply)
            .unwrap_or_else(|| panic!("ack subject {reply}"));
        assert_eq!(caps[2].parse::<usize>().unwrap(), f.data.len(), "{reply}");
        assert_eq!(
            caps[3].parse::<usize>().unwrap(),
            chunks.len() + 1,
            "{reply}"
        );
        let this_id = caps[1].to_string();
        assert_eq!(id.get_or_insert(this_id.clone()), &this_id);
        c.publish(&reply, None, b"");
        chunks.push(f.data);
    }
    chunks
}

/// The same script on Go and ours: SNAPSHOT's answers and chunk flow, RESTORE's
/// answers where the snapshot's content does not matter.
#[test]
fn snapshot_and_restore_api_match_go() {
    let run = |bin: &std::path::Path| {
        let dir = tempfile::tempdir().unwrap();
        let srv = start_js(bin, dir.path());
        let mut c = Wire::connect(srv.client_port);
        let mut out: Vec<String> = Vec::new();
        fn step_in(out: &mut Vec<String>, c: &mut Wire, subject: &str, body: &str) -> String {
            let raw = c.request(subject, body);
            out.push(format!("{subject} {body}\n{}", masked(&raw)));
            raw
        }
        macro_rules! step {
            ($c:expr, $s:expr, $b:expr $(,)?) => {
                step_in(&mut out, $c, $s, $b)
            };
        }
        step!(
            &mut c,
            "$JS.API.STREAM.CREATE.S",
            r#"{"name":"S","subjects":["s.>"]}"#,
        );
        step!(
            &mut c,
            "$JS.API.STREAM.CREATE.M",
            r#"{"name":"M","subjects":["m"],"storage":"memory"}"#,
        );
        for i in 1..=5 {
            step!(&mut c, &format!("s.{}", i % 2), &format!("message {i}"));
        }
        step!(&mut c, "$JS.API.STREAM.MSG.DELETE.S", r#"{"seq":3}"#);
        step!(
            &mut c,
            "$JS.API.CONSUMER.DURABLE.CREATE.S.D",
            r#"{"stream_name":"S","config":{"durable_name":"D","ack_policy":"explicit"}}"#,
        );
        // Refusals.
        step!(&mut c, "$JS.API.STREAM.SNAPSHOT.S", "");
        step!(&mut c, "$JS.API.STREAM.SNAPSHOT.S", "{}");
        step!(
            &mut c,
            "$JS.API.STREAM.SNAPSHOT.NOPE",
            r#"{"deliver_subject":"x"}"#
        );
        step!(&mut c, "$JS.API.STREAM.SNAPSHOT.NOPE", "");
        step!(&mut c, "$JS.API.STREAM.SNAPSHOT.S", "not json");
        step!(
            &mut c,
            "$JS.API.STREAM.SNAPSHOT.S",
            r#"{"no_consumers":true}"#
        );
        step!(
            &mut c,
            "$JS.API.STREAM.SNAPSHOT.S",
            r#"{"deliver_subject":"a..b"}"#
        );
        step!(&mut c, "$JS.API.STREAM.SNAPSHOT.S", "null");
        step!(
            &mut c,
            "$JS.API.STREAM.SNAPSHOT.M",
            r#"{"deliver_subject":"snap.m"}"#
        );
        // A snapshot: the answer, then the chunks.
        c.sub("snap.s", 2);
        step!(
            &mut c,
            "$JS.API.STREAM.SNAPSHOT.S",
            r#"{"deliver_subject":"snap.s","chunk_size":256}"#,
        );
        let chunks = receive_snapshot(&mut c, "S", "snap.s");
        assert!(chunks.len() > 1, "small chunks: several of them");
        assert!(chunks.iter().all(|ch| ch.len() <= 256));
        // RESTORE refusals and answers.
        step!(&mut c, "$JS.API.STREAM.RESTORE.S", "");
        step!(&mut c, "$JS.API.STREAM.RESTORE.S", "{}");
        step!(&mut c, "$JS.API.STREAM.RESTORE.S", "nope");
        step!(
            &mut c,
            "$JS.API.STREAM.RESTORE.S",
            r#"{"config":{"name":"S","subjects":["s.>"]}}"#,
        );
        step!(&mut c, "$JS.API.STREAM.RESTORE.S", r#"{"config":{}}"#);
        step!(
            &mut c,
            "$JS.API.STREAM.RESTORE.X",
            r#"{"config":{"name":"X","max_msgs":"many"}}"#,
        );
        step!(
            &mut c,
            "$JS.API.STREAM.RESTORE.X",
            r#"{"config":{"name":"X","num_replicas":-1}}"#,
        );
        step!(
            &mut c,
            "$JS.API.STREAM.RESTORE.X",
            r#"{"config":{"name":"b.c"}}"#
        );
        // Accepted: the deliver subject; chunks are acked with an empty message; the
        // end gets a stream_create_response (here an error: what was sent is no
        // snapshot, which each server words its own way).
        let r = step!(&mut c, "$JS.API.STREAM.RESTORE.N", r#"{"config":{}}"#);
        let v: serde_json::Value = serde_json::from_str(&r).unwrap();
        let deliver = v["deliver_subject"].as_str().unwrap().to_string();
        assert!(deliver.starts_with("$JS.SNAPSHOT.RESTORE.N."), "{r}");
        let ack = c.request_frame(&deliver, b"not a snapshot");
        assert!(ack.data.is_empty() && ack.hdr.is_none(), "{ack:?}");
        out.push(format!("chunk ack reply: {:?}", ack.reply));
        let end = c.request_frame(&deliver, b"");
        out.push(format!("restore end reply: {:?} {:?}", end.reply, end.hdr));
        let v: serde_json::Value = serde_json::from_slice(&end.data).unwrap();
        assert_eq!(v["type"], "io.nats.jetstream.api.v1.stream_create_response");
        assert_eq!(
            (v["error"]["code"].as_u64(), v["error"]["err_code"].as_u64()),
            (Some(500), Some(10062))
        );
        out.push(format!("restore end: {}", v["error"]["code"]));
        step!(&mut c, "$JS.API.STREAM.INFO.N", "");
        step!(&mut c, "$JS.API.STREAM.NAMES", "");
        (out, chunks)
    };
    let (go, go_chunks) = run(&testkit::require_go_server());
    let (ours, _) = run(&common::bin());
    for (g, o) in go.iter().zip(&ours) {
        assert_eq!(o, g);
    }
    assert_eq!(go.len(), ours.len());

    // Go's snapshot (an s2 tar of its files) is refused by ours with a clear error.
    let dir = tempfile::tempdir().unwrap();
    let srv = start_js(&common::bin(), dir.path());
    let mut c = Wire::connect(srv.client_port);
    let r = c.request(
        "$JS.API.STREAM.RESTORE.S",
        r#"{"config":{"name":"S","subjects":["s.>"]}}"#,
    );
    let v: serde_json::Value = serde_json::from_str(&r).unwrap();
    let deliver = v["deliver_subject"].as_str().unwrap().to_string();
    for ch in &go_chunks {
        assert!(c.request_frame(&deliver, ch).data.is_empty());
    }
    let end = String::from_utf8(c.request_frame(&deliver, b"").data).unwrap();
    assert!(
        end.contains(r#""code":500,"err_code":10062,"description":"restore failed: the snapshot was made by nats-server"#),
        "{end}"
    );
    let info = c.request("$JS.API.STREAM.INFO.S", "");
    assert!(info.contains("stream not found"), "{info}");
}

/// Everything a client can see of stream `S` and consumer `C`: STREAM.INFO (with
/// per-subject counts), every message by MSG.GET (or its absence), the consumer's
/// state.
fn observe(c: &mut Wire, last: u64) -> (String, Vec<String>, serde_json::Value) {
    let info = c.request("$JS.API.STREAM.INFO.S", r#"{"subjects_filter":">"}"#);
    let msgs = (1..=last + 1)
        .map(|seq| c.request("$JS.API.STREAM.MSG.GET.S", &format!(r#"{{"seq":{seq}}}"#)))
        .collect();
    let ci: serde_json::Value =
        serde_json::from_str(&c.request("$JS.API.CONSUMER.INFO.S.C", "")).unwrap();
    let mut state = serde_json::json!({});
    for k in [
        "name",
        "config",
        "created",
        "delivered",
        "ack_floor",
        "num_ack_pending",
        "num_redelivered",
        "num_pending",
    ] {
        state[k] = ci[k].clone();
    }
    // The last activity times are the clock's, not the state's.
    for k in ["delivered", "ack_floor"] {
        if let Some(o) = state[k].as_object_mut() {
            o.remove("last_active");
        }
    }
    (info, msgs, state)
}

/// Snapshot a file stream of a few thousand messages (several subjects, headers, gaps
/// at the start, inside and at the end) with a durable consumer part way through its
/// acks; delete it; restore it: the same stream, messages and consumer. Then kill -9:
/// the restored stream is on disk.
#[test]
fn snapshot_delete_restore_round_trip() {
    const N: u64 = 3000;
    let dir = tempfile::tempdir().unwrap();
    let mut srv = start_js(&common::bin(), dir.path());
    let mut c = Wire::connect(srv.client_port);
    let r = c.request(
        "$JS.API.STREAM.CREATE.S",
        r#"{"name":"S","subjects":["s.>"],"description":"snap me","max_msgs_per_subject":100000}"#,
    );
    assert!(r.contains("\"did_create\":true"), "{r}");
    for i in 1..=N {
        let body = format!("payload {i} {}", "x".repeat((i % 200) as usize));
        if i % 3 == 0 {
            c.hpublish(
                &format!("s.{}", i % 7),
                &format!("NATS/1.0\r\nK: v{i}\r\nOther: y\r\n\r\n"),
                body.as_bytes(),
            );
        } else {
            c.publish(&format!("s.{}.x", i % 5), None, body.as_bytes());
        }
    }
    c.sync();
    let ok = common::wait_for(Duration::from_secs(20), || {
        c.request("$JS.API.STREAM.INFO.S", "")
            .contains(&format!("\"messages\":{N},"))
    });
    assert!(ok, "stored");
    for seq in [1, 2, 10, 11, 12, 500, 2999, 3000] {
        let r = c.request(
            "$JS.API.STREAM.MSG.DELETE.S",
            &format!(r#"{{"seq":{seq}}}"#),
        );
        assert!(r.contains("\"success\":true"), "{r}");
    }
    let r = c.request(
        "$JS.API.CONSUMER.DURABLE.CREATE.S.C",
        r#"{"stream_name":"S","config":{"durable_name":"C","ack_policy":"explicit","ack_wait":60000000000}}"#,
    );
    assert!(r.contains("\"name\":\"C\""), "{r}");
    // Take 100, ack the first 40 and a few more: a floor, and acks above it.
    c.sub("pull", 7);
    c.publish(
        "$JS.API.CONSUMER.MSG.NEXT.S.C",
        Some("pull"),
        br#"{"batch":100}"#,
    );
    let mut acks = Vec::new();
    for _ in 0..100 {
        let m = c.next_for("7", Duration::from_secs(10)).expect("a message");
        acks.push(m.reply.expect("ack subject"));
    }
    for (i, a) in acks.iter().enumerate() {
        if i < 40 || i % 10 == 7 {
            c.publish(a, None, b"+ACK");
        }
    }
    c.sync();
    let before = observe(&mut c, N);
    assert!(
        before.2["num_ack_pending"].as_u64().unwrap() > 0,
        "{}",
        before.2
    );

    // The snapshot.
    c.sub("backup", 9);
    let r = c.request(
        "$JS.API.STREAM.SNAPSHOT.S",
        r#"{"deliver_subject":"backup","chunk_size":65536}"#,
    );
    let snap: serde_json::Value = serde_json::from_str(&r).unwrap();
    assert_eq!(snap["state"]["messages"], N - 8, "{r}");
    let chunks = receive_snapshot(&mut c, "S", "backup");
    assert!(chunks.len() > 3, "{} chunks", chunks.len());

    // Delete, restore with the answer's config and state, as `nats stream restore`.
    assert!(c
        .request("$JS.API.STREAM.DELETE.S", "")
        .contains("\"success\":true"));
    let req = serde_json::json!({"config": snap["config"], "state": snap["state"]});
    let r = c.request("$JS.API.STREAM.RESTORE.S", &req.to_string());
    let v: serde_json::Value = serde_json::from_str(&r).unwrap();
    let deliver = v["deliver_subject"]
        .as_str()
        .unwrap_or_else(|| panic!("{r}"))
        .to_string();
    for ch in &chunks {
        let ack = c.request_frame(&deliver, ch);
        assert!(ack.data.is_empty(), "{ack:?}");
    }
    let done: serde_json::Value =
        serde_json::from_slice(&c.request_frame(&deliver, b"").data).unwrap();
    assert_eq!(
        done["type"],
        "io.nats.jetstream.api.v1.stream_create_response"
    );
    assert!(done.get("error").is_none(), "{done}");
    assert_eq!(done["state"]["messages"], N - 8, "{done}");
    assert_eq!(done["config"], snap["config"]);

    let after = observe(&mut c, N);
    assert_eq!(after.0, before.0, "STREAM.INFO");
    for (seq, (a, b)) in after.1.iter().zip(&before.1).enumerate() {
        assert_eq!(a, b, "message {}", seq + 1);
    }
    assert_eq!(after.2, before.2, "consumer");
    // A restored name is taken.
    let r = c.request("$JS.API.STREAM.RESTORE.S", &req.to_string());
    assert!(r.contains("\"err_code\":10130"), "{r}");
    // The consumer goes on where it was: the next message is the one after the last
    // delivered.
    let want = before.2["delivered"]["stream_seq"].as_u64().unwrap() + 1;
    c.publish(
        "$JS.API.CONSUMER.MSG.NEXT.S.C",
        Some("pull"),
        br#"{"batch":1}"#,
    );
    let m = c.next_for("7", Duration::from_secs(10)).expect("next");
    let reply = m.reply.unwrap();
    assert_eq!(
        reply.split('.').nth(5),
        Some(want.to_string().as_str()),
        "{reply}"
    );
    let before_kill = observe(&mut c, N);
    drop(c);

    // kill -9: the restored stream and consumer come back from disk.
    srv.kill();
    let srv = start_js(&common::bin(), dir.path());
    let mut c = Wire::connect(srv.client_port);
    let again = observe(&mut c, N);
    assert_eq!(again.0, before_kill.0, "STREAM.INFO after kill -9");
    assert_eq!(again.1, before_kill.1, "messages after kill -9");
    assert_eq!(
        again.2["delivered"], before_kill.2["delivered"],
        "consumer after kill -9"
    );
    assert_eq!(again.2["ack_floor"], before_kill.2["ack_floor"]);
}

/// A restore that stops half way, or gets garbage, answers with an error and leaves no
/// stream behind; the API answers other requests meanwhile.
#[test]
fn restore_of_garbage_or_truncated_snapshots_fails_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start_js(&common::bin(), dir.path());
    let mut c = Wire::connect(srv.client_port);
    c.request(
        "$JS.API.STREAM.CREATE.S",
        r#"{"name":"S","subjects":["s.>"]}"#,
    );
    for i in 0..200 {
        c.publish("s.a", None, format!("m{i}").as_bytes());
    }
    c.sync();
    c.sub("b", 9);
    let r = c.request(
        "$JS.API.STREAM.SNAPSHOT.S",
        r#"{"deliver_subject":"b","chunk_size":300}"#,
    );
    assert!(r.contains("stream_snapshot_response"), "{r}");
    let chunks = receive_snapshot(&mut c, "S", "b");
    assert!(c.request("$JS.API.STREAM.DELETE.S", "").contains("true"));
    let attempts: Vec<Vec<Vec<u8>>> = vec![
        chunks[..chunks.len() - 1].to_vec(),
        chunks[..1].to_vec(),
        vec![b"\x00\x01\x02garbage".to_vec()],
        {
            let mut v = chunks.clone();
            v[2][100] ^= 1;
            v
        },
    ];
    for (i, parts) in attempts.iter().enumerate() {
        let r = c.request(
            "$JS.API.STREAM.RESTORE.S",
            r#"{"config":{"name":"S","subjects":["s.>"]}}"#,
        );
        let v: serde_json::Value = serde_json::from_str(&r).unwrap();
        let deliver = v["deliver_subject"].as_str().unwrap().to_string();
        for p in parts {
            assert!(c.request_frame(&deliver, p).data.is_empty());
            // Other requests are answered while a restore is open.
            assert!(c
                .request("$JS.API.INFO", "")
                .contains("account_info_response"));
        }
        let end = String::from_utf8(c.request_frame(&deliver, b"").data).unwrap();
        assert!(end.contains(r#""err_code":10062"#), "attempt {i}: {end}");
        let info = c.request("$JS.API.STREAM.INFO.S", "");
        assert!(info.contains("stream not found"), "attempt {i}: {info}");
    }
    // The whole snapshot still restores.
    let r = c.request(
        "$JS.API.STREAM.RESTORE.S",
        r#"{"config":{"name":"S","subjects":["s.>"]}}"#,
    );
    let v: serde_json::Value = serde_json::from_str(&r).unwrap();
    let deliver = v["deliver_subject"].as_str().unwrap().to_string();
    for p in &chunks {
        assert!(c.request_frame(&deliver, p).data.is_empty());
    }
    let end = String::from_utf8(c.request_frame(&deliver, b"").data).unwrap();
    assert!(end.contains(r#""messages":200,"#), "{end}");
}

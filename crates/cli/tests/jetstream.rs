//! `nats stream`, `nats consumer` and `nats kv` end to end, against the Go nats-server
//! 2.9.10 and against ours, with the same assertions.
//!
//! Each server runs as a process with `-js` and its own store directory. It is ready when
//! its ports file exists (testkit) and the JetStream API answers (`nats stream ls`
//! succeeds) — observed, never slept for. Asynchronous effects (an acknowledgement
//! reaching the consumer, a watcher printing) are awaited by polling or by waiting for
//! output, with a deadline.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{run, Background, Done};
use testkit::ServerProcess;

/// Go's server and ours (the binary `cargo test --workspace` builds beside this test).
fn servers() -> [PathBuf; 2] {
    let exe = std::env::current_exe().expect("test executable path");
    let ours = exe
        .parent()
        .and_then(|deps| deps.parent())
        .map(|dir| dir.join("nats-server"))
        .expect("target directory");
    assert!(
        ours.exists(),
        "our nats-server binary is missing at {}: run `cargo build -p nats-server` first \
         (or the suite with `cargo test --workspace`)",
        ours.display()
    );
    [testkit::require_go_server(), ours]
}

/// A JetStream-enabled server with a private store directory, both removed on drop.
struct JsServer {
    proc: ServerProcess,
    store: PathBuf,
    url: String,
}

impl JsServer {
    fn start(bin: &Path, tag: &str) -> JsServer {
        let store = std::env::temp_dir().join(format!(
            "nats-cli-js-{}-{tag}-{}",
            std::process::id(),
            bin.display().to_string().len()
        ));
        let _ = std::fs::remove_dir_all(&store);
        std::fs::create_dir_all(&store).expect("store dir");
        let sd = store.display().to_string();
        let proc = ServerProcess::start(bin, &["-js", "-sd", &sd]);
        let url = format!("nats://127.0.0.1:{}", proc.client_port);
        let ready = testkit::wait_for(Duration::from_secs(15), || {
            run(&["-s", &url, "stream", "ls"]).status.success()
        });
        assert!(ready, "JetStream API did not answer; log:\n{}", proc.log());
        JsServer { proc, store, url }
    }

    /// `nats -s URL args…`.
    fn nats(&self, args: &[&str]) -> Done {
        let mut all = vec!["-s", self.url.as_str()];
        all.extend_from_slice(args);
        run(&all)
    }

    /// Like [`JsServer::nats`], but the command must succeed.
    fn ok(&self, args: &[&str]) -> String {
        let d = self.nats(args);
        assert!(
            d.status.success(),
            "nats {args:?} failed ({}):\nstdout:\n{}\nstderr:\n{}\nserver log:\n{}",
            d.status,
            d.stdout,
            d.stderr,
            self.proc.log()
        );
        d.stdout
    }

    fn json(&self, args: &[&str]) -> serde_json::Value {
        let out = self.ok(args);
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?}: bad JSON {e}:\n{out}"))
    }
}

impl Drop for JsServer {
    fn drop(&mut self) {
        self.proc.kill();
        let _ = std::fs::remove_dir_all(&self.store);
    }
}

/// A `Label: value` row of a columns block (labels are right-aligned with padding).
fn has_row(out: &str, label: &str, value: &str) -> bool {
    let want = format!("{label}: {value}");
    out.lines().any(|l| l.trim_start() == want)
}

fn assert_row(out: &str, label: &str, value: &str) {
    assert!(
        has_row(out, label, value),
        "no row {label:?}: {value:?} in:\n{out}"
    );
}

#[test]
fn streams_and_consumers() {
    for bin in servers() {
        let s = JsServer::start(&bin, "streams");
        let which = bin.display().to_string();

        let out = s.ok(&[
            "stream",
            "add",
            "ORDERS",
            "--subjects",
            "orders.*",
            "--storage",
            "file",
            "--defaults",
        ]);
        assert!(
            out.starts_with("Stream ORDERS was created\n\nInformation for Stream ORDERS created "),
            "{which}:\n{out}"
        );
        assert_row(&out, "Subjects", "orders.*");
        assert_row(&out, "Storage", "File");
        assert_row(&out, "Retention", "Limits");
        assert_row(&out, "Duplicate Window", "2m0s");
        assert_row(&out, "Maximum Messages", "unlimited");
        assert_row(&out, "Messages", "0");

        s.ok(&["pub", "orders.new", "hello"]);
        s.ok(&["pub", "orders.new", "world", "-H", "K:V"]);

        let out = s.ok(&["stream", "info", "ORDERS"]);
        assert_row(&out, "Messages", "2");
        assert!(out.contains("First Sequence: 1 @ "), "{which}:\n{out}");
        let info = s.json(&["stream", "info", "ORDERS", "--json"]);
        assert_eq!(info["state"]["messages"], 2, "{which}: {info}");
        assert_eq!(info["config"]["subjects"][0], "orders.*");
        assert!(info.get("type").is_none() && info.get("total").is_none());

        let out = s.ok(&["stream", "ls"]);
        let row = out.lines().find(|l| l.contains("ORDERS")).unwrap_or("");
        assert!(row.contains("│ 2 "), "{which}:\n{out}");
        assert_eq!(s.ok(&["stream", "ls", "-n"]), "ORDERS\n");

        let out = s.ok(&["stream", "get", "ORDERS", "1"]);
        assert!(
            out.starts_with("Item: ORDERS#1 received "),
            "{which}:\n{out}"
        );
        assert!(
            out.contains(" on Subject orders.new\n\nhello\n"),
            "{which}:\n{out}"
        );
        let out = s.ok(&["stream", "get", "ORDERS", "--last-for", "orders.new"]);
        assert!(out.starts_with("Item: ORDERS#2 "), "{which}:\n{out}");
        assert!(
            out.contains("Headers:\n  K: V\n\nworld\n"),
            "{which}:\n{out}"
        );

        // A pull consumer: `next` pulls, prints the delivery line and acknowledges.
        let out = s.ok(&["consumer", "add", "ORDERS", "C1", "--pull", "--defaults"]);
        assert!(
            out.starts_with("Information for Consumer ORDERS > C1 created "),
            "{which}:\n{out}"
        );
        assert_row(&out, "Pull Mode", "true");
        assert_row(&out, "Ack Policy", "Explicit");
        assert_row(&out, "Deliver Policy", "All");
        assert_row(&out, "Unprocessed Messages", "2");

        let out = s.ok(&["consumer", "next", "ORDERS", "C1"]);
        let first = out.lines().next().unwrap_or("");
        assert!(
            first
                .ends_with("] subj: orders.new / tries: 1 / cons seq: 1 / str seq: 1 / pending: 1"),
            "{which}:\n{out}"
        );
        assert!(
            out.ends_with("\n\nhello\n\nAcknowledged message\n\n"),
            "{which}:\n{out}"
        );

        let out = s.ok(&["consumer", "next", "ORDERS", "C1", "--no-ack"]);
        assert!(out.contains("/ str seq: 2 / pending: 0"), "{which}:\n{out}");
        assert!(out.contains("Headers:\n\n  K: V\n"), "{which}:\n{out}");
        assert!(!out.contains("Acknowledged"), "{which}:\n{out}");

        // The first delivery's ack reaches the consumer; the second stays pending.
        let acked = testkit::wait_for(Duration::from_secs(10), || {
            let v = s.json(&["consumer", "info", "ORDERS", "C1", "--json"]);
            v["ack_floor"]["stream_seq"] == 1
        });
        assert!(acked, "{which}: the ack never moved the ack floor");
        let v = s.json(&["consumer", "info", "ORDERS", "C1", "--json"]);
        assert_eq!(v["num_ack_pending"], 1, "{which}: {v}");
        assert_eq!(v["delivered"]["stream_seq"], 2, "{which}: {v}");
        let out = s.ok(&["consumer", "info", "ORDERS", "C1"]);
        assert_row(&out, "Outstanding Acks", "1 out of maximum 1,000");
        assert_row(&out, "Unprocessed Messages", "0");

        // Nothing left: `next` fails after the timeout.
        let d = s.nats(&["--timeout", "1s", "consumer", "next", "ORDERS", "C1"]);
        assert!(!d.status.success(), "{which}: {}", d.stdout);
        assert!(
            d.stderr.starts_with("nats: error: no message received"),
            "{which}: {}",
            d.stderr
        );

        // An unknown consumer: Go has no responder for its pull subject, ours answers
        // with an error document; either way the command fails naming the consumer.
        let d = s.nats(&["--timeout", "2s", "consumer", "next", "ORDERS", "NOPE"]);
        assert!(!d.status.success(), "{which}: {}", d.stdout);
        assert_eq!(
            d.stderr, "nats: error: could not load consumer \"NOPE\": consumer not found (10014)\n",
            "{which}"
        );

        // A push consumer with the other flags.
        let out = s.ok(&[
            "consumer",
            "add",
            "ORDERS",
            "P1",
            "--target",
            "out.p1",
            "--deliver",
            "last",
            "--ack",
            "explicit",
            "--filter",
            "orders.new",
            "--max-deliver",
            "5",
            "--wait",
            "30s",
        ]);
        assert_row(&out, "Delivery Subject", "out.p1");
        assert_row(&out, "Filter Subject", "orders.new");
        assert_row(&out, "Deliver Policy", "Last");
        assert_row(&out, "Ack Wait", "30.00s");
        assert_row(&out, "Maximum Deliveries", "5");
        assert_row(&out, "Active Interest", "No interest");
        let out = s.ok(&["consumer", "ls", "ORDERS"]);
        assert!(
            out.contains("│ C1 ") && out.contains("│ P1 "),
            "{which}:\n{out}"
        );
        s.ok(&["consumer", "rm", "ORDERS", "P1", "-f"]);
        assert_eq!(s.ok(&["consumer", "ls", "ORDERS", "-n"]), "C1\n");

        // Purges.
        s.ok(&["pub", "orders.old", "x"]);
        let out = s.ok(&["stream", "purge", "ORDERS", "-f", "--subject", "orders.new"]);
        assert!(
            out.starts_with("Purged 2 messages from ORDERS\n\nState for Stream ORDERS"),
            "{which}:\n{out}"
        );
        assert_row(&out, "Messages", "1");
        let out = s.ok(&["stream", "purge", "ORDERS", "-f"]);
        assert!(
            out.starts_with("Purged 1 messages from ORDERS"),
            "{which}:\n{out}"
        );

        // Errors are natscli's one-liners with the server's JetStream error.
        let d = s.nats(&[
            "stream",
            "add",
            "ORDERS",
            "--subjects",
            "other",
            "--defaults",
        ]);
        assert!(!d.status.success());
        assert_eq!(
            d.stderr,
            "nats: error: could not create Stream: stream name already in use with a different configuration (10058)\n",
            "{which}"
        );

        s.ok(&["stream", "rm", "ORDERS", "-f"]);
        let d = s.nats(&["stream", "info", "ORDERS"]);
        assert!(!d.status.success());
        assert_eq!(
            d.stderr, "nats: error: could not request Stream info: stream not found (10059)\n",
            "{which}"
        );
        assert_eq!(s.ok(&["stream", "ls"]), "No Streams defined\n");
        let d = s.nats(&["stream", "rm", "ORDERS"]);
        assert!(
            !d.status.success(),
            "{which}: rm without -f and without a terminal must refuse"
        );
    }
}

#[test]
fn stream_limits_flags() {
    for bin in servers() {
        let s = JsServer::start(&bin, "limits");
        let which = bin.display().to_string();
        let out = s.ok(&[
            "stream",
            "add",
            "LIM",
            "--subjects",
            "a,b.>",
            "--storage",
            "memory",
            "--retention",
            "workqueue",
            "--max-msgs",
            "10",
            "--max-bytes",
            "1MB",
            "--max-age",
            "1h",
            "--max-msg-size",
            "1024",
            "--discard",
            "new",
            "--dupe-window",
            "1m",
            "--replicas",
            "1",
        ]);
        assert_row(&out, "Subjects", "a, b.>");
        assert_row(&out, "Storage", "Memory");
        assert_row(&out, "Retention", "WorkQueue");
        assert_row(&out, "Discard Policy", "New");
        assert_row(&out, "Duplicate Window", "1m0s");
        assert_row(&out, "Maximum Messages", "10");
        assert_row(&out, "Maximum Bytes", "1.0 MiB");
        assert_row(&out, "Maximum Age", "1h0m0s");
        assert_row(&out, "Maximum Message Size", "1.0 KiB");
        let v = s.json(&["stream", "info", "LIM", "-j"]);
        let c = &v["config"];
        assert_eq!(c["retention"], "workqueue", "{which}: {v}");
        assert_eq!(c["storage"], "memory");
        assert_eq!(c["max_bytes"], 1_048_576);
        assert_eq!(c["max_age"], 3_600_000_000_000u64);
        assert_eq!(c["duplicate_window"], 60_000_000_000u64);
        assert_eq!(c["discard"], "new");
    }
}

#[test]
fn key_value() {
    for bin in servers() {
        let s = JsServer::start(&bin, "kv");
        let which = bin.display().to_string();

        let out = s.ok(&["kv", "add", "CFG", "--history", "5"]);
        assert!(
            out.starts_with("Information for Key-Value Store Bucket CFG created "),
            "{which}:\n{out}"
        );
        assert_row(&out, "Bucket Name", "CFG");
        assert_row(&out, "History Kept", "5");
        assert_row(&out, "JetStream Stream", "KV_CFG");
        let v = s.json(&["stream", "info", "KV_CFG", "--json"]);
        let c = &v["config"];
        assert_eq!(
            c["subjects"],
            serde_json::json!(["$KV.CFG.>"]),
            "{which}: {v}"
        );
        assert_eq!(c["max_msgs_per_subject"], 5);
        assert_eq!(c["discard"], "new");
        assert_eq!(c["allow_rollup_hdrs"], true);
        assert_eq!(c["deny_delete"], true);
        assert_eq!(c["allow_direct"], true);
        assert_eq!(c["duplicate_window"], 120_000_000_000u64);

        assert_eq!(s.ok(&["kv", "put", "CFG", "name", "alice"]), "alice\n");
        assert_eq!(s.ok(&["kv", "put", "CFG", "name", "bob"]), "bob\n");
        let out = s.ok(&["kv", "get", "CFG", "name"]);
        assert!(
            out.starts_with("CFG > name revision: 2 created @ "),
            "{which}:\n{out}"
        );
        assert!(out.ends_with("\n\nbob\n\n"), "{which}:\n{out}");
        assert_eq!(s.ok(&["kv", "get", "CFG", "name", "--raw"]), "bob");
        s.ok(&["kv", "put", "CFG", "city", "paris"]);

        let out = s.ok(&["kv", "ls"]);
        assert!(
            out.contains("Key-Value Buckets") && out.contains("│ CFG "),
            "{which}:\n{out}"
        );
        assert_eq!(s.ok(&["kv", "ls", "-n"]), "CFG\n");
        let mut keys: Vec<String> = s
            .ok(&["kv", "ls", "CFG"])
            .lines()
            .map(String::from)
            .collect();
        keys.sort();
        assert_eq!(keys, ["city", "name"], "{which}");

        // Watch: existing values first, then new writes and deletes as they happen.
        let w = Background::spawn(&["-s", &s.url, "kv", "watch", "CFG"]);
        w.stdout.wait_for("the current value", |t| {
            t.contains("] PUT CFG > name: bob\n")
        });
        w.stdout.wait_for("the current city", |t| {
            t.contains("] PUT CFG > city: paris\n")
        });
        s.ok(&["kv", "put", "CFG", "color", "red"]);
        w.stdout
            .wait_for("the new key", |t| t.contains("] PUT CFG > color: red\n"));

        s.ok(&["kv", "del", "CFG", "city", "-f"]);
        w.stdout
            .wait_for("the delete", |t| t.contains("] DELETE CFG > city\n"));
        let done = w.interrupt();
        assert!(done.status.success(), "{which}: watch exit {}", done.status);

        let d = s.nats(&["kv", "get", "CFG", "city"]);
        assert!(!d.status.success());
        assert_eq!(d.stderr, "nats: error: nats: key not found\n", "{which}");
        let mut keys: Vec<String> = s
            .ok(&["kv", "ls", "CFG"])
            .lines()
            .map(String::from)
            .collect();
        keys.sort();
        assert_eq!(keys, ["color", "name"], "{which}");

        // The bucket's stream is hidden from `stream ls` like natscli hides it.
        assert_eq!(
            s.ok(&["stream", "ls"]),
            "No Streams defined, pass -a to include system streams\n"
        );
        assert!(s.ok(&["stream", "ls", "-a"]).contains("KV_CFG"));

        let d = s.nats(&["kv", "get", "NOPE", "x"]);
        assert_eq!(d.stderr, "nats: error: nats: bucket not found\n", "{which}");

        s.ok(&["kv", "del", "CFG", "-f"]);
        assert_eq!(s.ok(&["kv", "ls"]), "No Key-Value buckets found\n");
    }
}

#[test]
fn object_store() {
    let dir = tempfile::tempdir().expect("temp dir");
    // Three chunks of async-nats' 128 KiB, the last one short.
    let data: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let file = dir.path().join("report.bin");
    std::fs::write(&file, &data).unwrap();
    let file = file.display().to_string();
    for bin in servers() {
        let s = JsServer::start(&bin, "obj");
        let which = bin.display().to_string();

        let out = s.ok(&["object", "add", "FILES", "--description", "reports"]);
        assert!(
            out.starts_with("Information for Object Store Bucket FILES created "),
            "{which}:\n{out}"
        );
        assert_row(&out, "Description", "reports");
        assert_row(&out, "JetStream Stream", "OBJ_FILES");

        let out = s.ok(&["object", "put", "FILES", &file, "--name", "report.bin"]);
        assert!(
            out.contains("Object information for FILES > report.bin"),
            "{which}:\n{out}"
        );
        assert_row(&out, "Size", "293 KiB");
        assert_row(&out, "Chunks", "3");
        // The digest natscli shows: SHA-256 of the content, in hex.
        let hex: String = {
            use sha2::Digest;
            sha2::Sha256::digest(&data)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect()
        };
        assert_row(&out, "Digest", &format!("SHA-256 {hex}"));

        assert_eq!(
            s.ok(&["object", "ls", "FILES", "-n"]),
            "report.bin\n",
            "{which}"
        );
        assert_eq!(s.ok(&["object", "ls", "-n"]), "FILES\n", "{which}");
        let out = s.ok(&["object", "ls"]);
        assert!(
            out.contains("Object Store Buckets") && out.contains("│ FILES "),
            "{which}:\n{out}"
        );

        let target = dir.path().join(format!("copy-{}", which.len()));
        let t = target.display().to_string();
        let out = s.ok(&["object", "get", "FILES", "report.bin", "-O", &t, "-f"]);
        assert!(out.starts_with("Wrote: 293 KiB to "), "{which}:\n{out}");
        assert_eq!(std::fs::read(&target).unwrap(), data, "{which}: content");

        let d = s.nats(&["object", "get", "FILES", "nope", "-O", &t, "-f"]);
        assert!(!d.status.success(), "{which}");
        assert_eq!(d.stderr, "nats: error: nats: object not found\n", "{which}");

        let out = s.ok(&["object", "del", "FILES", "report.bin", "-f"]);
        assert!(
            out.starts_with("Removed FILES > report.bin\n"),
            "{which}:\n{out}"
        );
        assert_eq!(
            s.ok(&["object", "ls", "FILES"]),
            "No entries found\n",
            "{which}"
        );
        s.ok(&["object", "del", "FILES", "-f"]);
        assert_eq!(
            s.ok(&["object", "ls"]),
            "No Object Store buckets found\n",
            "{which}"
        );
    }
}

//! The same publishes to a stream of the Go nats-server 2.9.10 (`-js`) and to our
//! [`Stream`]: every acknowledgement must be byte-identical, refusals included, and the
//! stream must end with the same configuration and counts.

use nats_jetstream::{Stream, StreamConfig};
use nats_store::{FileStore, FileStoreConfig, MemStore, Store};
use testkit::ServerProcess;

type Client = testkit::Requester;

/// A publish: subject, headers, payload.
type Publish = (&'static str, Vec<(&'static str, &'static str)>, Vec<u8>);

/// Publishes exercising every check before the store.
fn script() -> Vec<Publish> {
    vec![
        ("d.1", vec![], b"x".to_vec()),
        ("d.1", vec![("Nats-Expected-Stream", "Q")], b"x".to_vec()),
        ("d.1", vec![("Nats-Expected-Stream", "D")], b"x".to_vec()),
        (
            "d.1",
            vec![("Nats-Expected-Last-Sequence", "7")],
            b"x".to_vec(),
        ),
        (
            "d.1",
            vec![("Nats-Expected-Last-Sequence", "2")],
            b"x".to_vec(),
        ),
        ("d.1", vec![], vec![b'x'; 300]),
        ("d.2", vec![("Nats-Msg-Id", "a")], b"y".to_vec()),
        ("d.2", vec![("Nats-Msg-Id", "a")], b"y".to_vec()),
        (
            "d.2",
            vec![("Nats-Expected-Last-Msg-Id", "b")],
            b"z".to_vec(),
        ),
        (
            "d.2",
            vec![("Nats-Expected-Last-Msg-Id", "a")],
            b"z".to_vec(),
        ),
        (
            "d.3",
            vec![("Nats-Expected-Last-Subject-Sequence", "0")],
            b"z".to_vec(),
        ),
        (
            "d.3",
            vec![("Nats-Expected-Last-Subject-Sequence", "0")],
            b"z".to_vec(),
        ),
        (
            "d.3",
            vec![("Nats-Expected-Last-Subject-Sequence", "6")],
            b"z".to_vec(),
        ),
        ("d.4", vec![("Nats-Rollup", "sub")], b"r".to_vec()),
        ("d.4", vec![("Nats-Rollup", "all")], b"r".to_vec()),
        ("d.5", vec![], b"a".to_vec()),
        ("d.5", vec![], b"b".to_vec()),
        ("d.5", vec![], b"c".to_vec()),
        ("d.5", vec![], b"d".to_vec()),
        ("d.6", vec![], b"e".to_vec()),
        ("d.7", vec![], b"f".to_vec()),
        ("d.8", vec![("Nats-Msg-Id", "c")], b"g".to_vec()),
    ]
}

fn run(config: &str, storage_file: bool) {
    let go = testkit::require_go_server();
    let store_dir = tempfile::tempdir().unwrap();
    let sd = store_dir.path().display().to_string();
    let srv = ServerProcess::start(&go, &["-js", "-sd", &sd]);
    let mut c = Client::connect(srv.client_port);
    let created = c.request_with_headers("$JS.API.STREAM.CREATE.D", &[], config.as_bytes());
    let go_resp: serde_json::Value = serde_json::from_str(&created).unwrap();
    assert!(go_resp.get("error").is_none(), "Go refused: {created}");

    let cfg: StreamConfig = serde_json::from_str(config).unwrap();
    let cfg = cfg.normalized().expect("our config check");
    // Our normalized config is Go's, field for field and in order (Go's text, cut
    // from its response; Go escapes `>`).
    let go_config = created
        .split_once("\"config\":")
        .and_then(|(_, rest)| rest.split_once(",\"created\""))
        .map(|(c, _)| c.replace("\\u003e", ">"))
        .expect("config in Go's response");
    assert_eq!(serde_json::to_string(&cfg).unwrap(), go_config);
    let dir = tempfile::tempdir().unwrap();
    let store: Box<dyn Store> = if storage_file {
        Box::new(FileStore::open(FileStoreConfig::new(dir.path())).unwrap().0)
    } else {
        Box::new(MemStore::new())
    };
    let mut ours = Stream::new(cfg, store, 1);
    for (i, (subject, hdrs, body)) in script().into_iter().enumerate() {
        let theirs = c.request_with_headers(subject, &hdrs, &body);
        let hdr = if hdrs.is_empty() {
            Vec::new()
        } else {
            let mut h = String::from("NATS/1.0\r\n");
            for (k, v) in &hdrs {
                h.push_str(&format!("{k}: {v}\r\n"));
            }
            h.push_str("\r\n");
            h.into_bytes()
        };
        let got = ours.publish(subject, &hdr, &body, 1_000 + i as i64, true);
        let got = String::from_utf8(got.ack.expect("an acknowledgement")).unwrap();
        if std::env::var_os("JS_DEBUG").is_some() {
            let info = c.request_with_headers("$JS.API.STREAM.INFO.D", &[], b"");
            let info: serde_json::Value = serde_json::from_str(&info).unwrap();
            eprintln!("{i}: go {} ours {:?}", info["state"], ours.state());
        }
        assert_eq!(got, theirs, "publish {i}: {subject} {hdrs:?}");
    }
    let info = c.request_with_headers("$JS.API.STREAM.INFO.D", &[], b"");
    let info: serde_json::Value = serde_json::from_str(&info).unwrap();
    let mine = serde_json::to_value(ours.state_json()).unwrap();
    for key in [
        "messages",
        "bytes",
        "first_seq",
        "last_seq",
        "num_deleted",
        "num_subjects",
    ] {
        assert_eq!(mine.get(key), info["state"].get(key), "state.{key}: {info}");
    }
}

#[test]
fn file_stream_limits_and_headers_match_go() {
    run(
        r#"{"name":"D","subjects":["d.>"],"max_msg_size":200,"max_msgs_per_subject":3,"allow_rollup_hdrs":true}"#,
        true,
    );
}

#[test]
fn memory_stream_discard_new_matches_go() {
    run(
        r#"{"name":"D","subjects":["d.>"],"storage":"memory","max_msgs":6,"discard":"new","max_bytes":100000}"#,
        false,
    );
}

#[test]
fn discard_new_per_subject_and_max_bytes_match_go() {
    run(
        r#"{"name":"D","subjects":["d.>"],"max_bytes":400,"discard":"new","max_msgs_per_subject":2,"discard_new_per_subject":true}"#,
        true,
    );
}

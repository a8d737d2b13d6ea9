//! The same `$JS.API.CONSUMER.CREATE` configurations to the Go nats-server 2.9.10
//! (`-js`) and to [`ConsumerConfig::normalized`]: the echoed `config` must be
//! byte-identical to ours, and a refusal must be the same error.

use nats_jetstream::{ConsumerConfig, StreamConfig};
use testkit::ServerProcess;

type Client = testkit::Requester;

/// Go's encoder escapes these; ours does not.
fn unescape(s: &str) -> String {
    s.replace("\\u003e", ">")
        .replace("\\u003c", "<")
        .replace("\\u0026", "&")
}

const S: &str = r#"{"name":"S","subjects":["s.>","t.*.x"]}"#;
const W: &str = r#"{"name":"S","subjects":["s.>"],"retention":"workqueue"}"#;
const I: &str = r#"{"name":"S","subjects":["s.>"],"retention":"interest"}"#;

/// (stream, consumer config).
fn cases() -> Vec<(&'static str, &'static str)> {
    vec![
        (S, "{}"),
        (S, r#"{"deliver_subject":"x"}"#),
        (S, r#"{"durable_name":"D","ack_policy":"explicit"}"#),
        (
            S,
            r#"{"durable_name":"D","ack_policy":"all","deliver_subject":"x","deliver_group":"g"}"#,
        ),
        (
            S,
            r#"{"name":"N","ack_policy":"explicit","backoff":[1000000000,2000000000],"max_deliver":5}"#,
        ),
        (
            S,
            r#"{"durable_name":"D","ack_policy":"explicit","backoff":[1000000000,2000000000],"max_deliver":2}"#,
        ),
        (
            S,
            r#"{"ack_policy":"all","deliver_subject":"y","opt_start_time":"2023-01-01T08:00:00.5Z","deliver_policy":"by_start_time"}"#,
        ),
        (
            S,
            r#"{"deliver_policy":"by_start_time","deliver_subject":"x"}"#,
        ),
        (
            S,
            r#"{"deliver_policy":"by_start_sequence","opt_start_seq":4,"description":"hi"}"#,
        ),
        (S, r#"{"deliver_policy":"by_start_sequence"}"#),
        (
            S,
            r#"{"deliver_policy":"by_start_sequence","opt_start_seq":4,"opt_start_time":"2023-01-01T08:00:00Z"}"#,
        ),
        (S, r#"{"deliver_policy":"new","opt_start_seq":4}"#),
        (
            S,
            r#"{"deliver_policy":"last","opt_start_time":"2023-01-01T08:00:00Z"}"#,
        ),
        (S, r#"{"deliver_policy":"last_per_subject"}"#),
        (
            S,
            r#"{"deliver_policy":"last_per_subject","filter_subject":"s.*"}"#,
        ),
        (S, r#"{"filter_subject":"t.>"}"#),
        (S, r#"{"filter_subject":"t.a.x"}"#),
        (S, r#"{"filter_subject":"t.a.y"}"#),
        (S, r#"{"filter_subject":"s..x"}"#),
        (S, r#"{"deliver_subject":"s.x"}"#),
        (S, r#"{"deliver_subject":"x.*"}"#),
        (S, r#"{"deliver_subject":"x..y"}"#),
        (S, r#"{"deliver_subject":"x","max_waiting":10}"#),
        (S, r#"{"deliver_subject":"x","max_ack_pending":10}"#),
        (S, r#"{"deliver_subject":"x","idle_heartbeat":50000000}"#),
        (
            S,
            r#"{"deliver_subject":"x","idle_heartbeat":1000000000,"flow_control":true,"headers_only":true,"rate_limit_bps":1000,"replay_policy":"original","sample_freq":"20%"}"#,
        ),
        (S, r#"{"deliver_subject":"x","flow_control":true}"#),
        (S, r#"{"deliver_subject":"x","sample_freq":"abc"}"#),
        (S, r#"{"deliver_subject":"x","sample_freq":"-5"}"#),
        (
            S,
            r#"{"deliver_subject":"x","direct":true,"mem_storage":true,"num_replicas":1}"#,
        ),
        (S, r#"{"direct":true}"#),
        (
            S,
            r#"{"durable_name":"D","deliver_subject":"x","direct":true}"#,
        ),
        (S, r#"{"rate_limit_bps":1000}"#),
        (S, r#"{"max_waiting":-1}"#),
        (S, r#"{"idle_heartbeat":1000000000}"#),
        (S, r#"{"flow_control":true}"#),
        (S, r#"{"max_batch":-1}"#),
        (
            S,
            r#"{"max_batch":10,"max_expires":5000000000,"max_bytes":1024,"max_waiting":3}"#,
        ),
        (S, r#"{"max_expires":500}"#),
        (
            S,
            r#"{"durable_name":"D","inactive_threshold":60000000000}"#,
        ),
        (S, r#"{"inactive_threshold":-1}"#),
        (
            S,
            r#"{"inactive_threshold":60000000000,"ack_policy":"explicit","max_ack_pending":-1,"ack_wait":-1,"max_deliver":-7}"#,
        ),
        (S, r#"{"num_replicas":2}"#),
        (S, r#"{"num_replicas":-1}"#),
        (
            S,
            r#"{"durable_name":"D","name":"D","ack_policy":"explicit"}"#,
        ),
        (S, r#"{"name":"a b"}"#),
        (W, "{}"),
        (W, r#"{"ack_policy":"all"}"#),
        (W, r#"{"ack_policy":"explicit"}"#),
        (W, r#"{"ack_policy":"explicit","deliver_policy":"new"}"#),
        (W, r#"{"deliver_subject":"x"}"#),
        (
            W,
            r#"{"durable_name":"D","ack_policy":"explicit","filter_subject":"s.a"}"#,
        ),
        (I, r#"{"durable_name":"D","deliver_subject":"x"}"#),
    ]
}

#[test]
fn consumer_configs_match_go() {
    let go = testkit::require_go_server();
    let store_dir = tempfile::tempdir().unwrap();
    let sd = store_dir.path().display().to_string();
    let srv = ServerProcess::start(&go, &["-js", "-sd", &sd]);
    let mut c = Client::connect(srv.client_port);
    let mut failures = Vec::new();
    for (i, (stream_json, config)) in cases().into_iter().enumerate() {
        let created = c.request("$JS.API.STREAM.CREATE.S", stream_json);
        assert!(!created.contains("\"error\""), "stream: {created}");
        let stream: StreamConfig = serde_json::from_str(stream_json).unwrap();
        let stream = stream.normalized().unwrap();
        let cfg: ConsumerConfig = serde_json::from_str(config).unwrap();
        let subject = if !cfg.durable_name.is_empty() {
            format!("$JS.API.CONSUMER.DURABLE.CREATE.S.{}", cfg.durable_name)
        } else if !cfg.name.is_empty() && !cfg.name.contains(' ') {
            format!("$JS.API.CONSUMER.CREATE.S.{}", cfg.name)
        } else {
            "$JS.API.CONSUMER.CREATE.S".to_string()
        };
        let body = format!(r#"{{"stream_name":"S","config":{config}}}"#);
        let theirs = unescape(&c.request(&subject, &body));
        let ours = match cfg.normalized(&stream) {
            Ok(cfg) => format!("config {}", serde_json::to_string(&cfg).unwrap()),
            Err(e) => format!("error {}", serde_json::to_string(&e).unwrap()),
        };
        let go = if let Some((_, rest)) = theirs.split_once("\"error\":") {
            format!("error {}", rest.strip_suffix('}').unwrap())
        } else {
            let conf = theirs
                .split_once("\"config\":")
                .and_then(|(_, r)| r.split_once(",\"delivered\""))
                .map(|(c, _)| c.to_string())
                .unwrap_or_else(|| panic!("config in {theirs}"));
            format!("config {conf}")
        };
        if std::env::var_os("JS_DEBUG").is_some() {
            eprintln!("{i}: {go}\n   {ours}");
        }
        if ours != go {
            failures.push(format!("case {i}: {config}\n  go:   {go}\n  ours: {ours}"));
        }
        let del = c.request("$JS.API.STREAM.DELETE.S", "");
        assert!(del.contains("\"success\":true"), "{del}");
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

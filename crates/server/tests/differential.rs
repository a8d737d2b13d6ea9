//! Differential tests: the same bytes to the Go nats-server 2.9.10 and to ours; the
//! answers (after the INFO greeting) and whether the connection closes must be the same.
//! Requires the Go server (`apt-get install -y nats-server`; `.ci/run` installs it).

mod common;

use std::time::{Duration, Instant};

use common::{start, start_go, Raw};

/// What a script produced: the bytes after INFO, and whether the server hung up.
#[derive(Debug, PartialEq)]
struct Outcome {
    text: String,
    closed: bool,
}

fn run(addr: &str, script: &[u8]) -> Outcome {
    let mut r = Raw::connect(addr);
    r.expect(r"^INFO \{.*\} ?\r\n");
    r.send(script);
    // Every script ends with PING: either PONG arrives (open) or the server closes.
    let deadline = Instant::now() + Duration::from_secs(3);
    let mut closed = false;
    while Instant::now() < deadline {
        if r.buffered().ends_with("PONG\r\n") {
            break;
        }
        if r.closed_within(Duration::from_millis(50)) {
            closed = true;
            break;
        }
    }
    Outcome {
        text: r.buffered(),
        closed,
    }
}

const QUIET: &str = "CONNECT {\"verbose\":false,\"pedantic\":false}\r\n";

fn cases() -> Vec<(&'static str, String)> {
    let q = |s: &str| format!("{QUIET}{s}PING\r\n");
    let raw = |s: &str| format!("{s}PING\r\n");
    vec![
        ("defaults verbose", raw("CONNECT {}\r\n")),
        ("connect no space", raw("CONNECT{\"verbose\":false}\r\n")),
        ("connect keys any case", raw("CONNECT {\"Verbose\":false,\"ECHO\":false}\r\nSUB foo 1\r\nPUB foo 1\r\na\r\n")),
        ("lowercase and bare newline", q("sub foo 1\npub foo 2\nhi\r\n")),
        ("tabs", q("SUB\tfoo\t1\r\nPUB\tfoo\t\t2\r\nhi\r\n")),
        ("bad terminator", q("PUB foo 2\r\nhiX\r\n")),
        ("max payload", q("PUB foo 2000000\r\n")),
        ("too many pub args", q("PUB foo bar baz 2\r\nhi\r\n")),
        ("non numeric size", q("PUB foo xx\r\nhi\r\n")),
        ("sub one arg", q("SUB foo\r\n")),
        ("sub too many args", q("SUB foo q 1 2\r\n")),
        ("unsub no args", q("UNSUB\r\n")),
        ("unsub bad max", q("SUB foo 1\r\nUNSUB 1 x\r\nPUB foo 1\r\na\r\n")),
        ("unsub unknown sid", q("UNSUB 42\r\n")),
        ("msg from client", q("MSG foo 1 2\r\nhi\r\n")),
        ("route op from client", q("RS+ $G foo\r\n")),
        ("hpub hdr > total", q("HPUB foo 10 5\r\nhello\r\n")),
        ("client -ERR", q("-ERR 'boom'\r\n")),
        ("client +OK", q("+OK\r\n")),
        ("client INFO", q("INFO {}\r\n")),
        ("bad connect json", raw("CONNECT {bad\r\n")),
        ("protocol 2", raw("CONNECT {\"protocol\":2}\r\n")),
        ("no responders without headers", raw("CONNECT {\"no_responders\":true}\r\n")),
        ("account in connect", raw("CONNECT {\"account\":\"A\",\"verbose\":false}\r\n")),
        ("invalid subject", q("SUB foo..bar 1\r\nSUB foo.>.bar 2\r\n")),
        ("pedantic publish", raw("CONNECT {\"verbose\":false,\"pedantic\":true}\r\nSUB foo.* 1\r\nPUB foo.* 1\r\na\r\n")),
        ("reserved gateway subject", q("PUB _GR_.abc 1\r\na\r\n")),
        ("reserved reply", q("PUB foo _R_.abc 1\r\na\r\n")),
        ("sys queue", q("SUB foo _sys_ 1\r\n")),
        ("zero payload", q("SUB foo 1\r\nPUB foo 0\r\n\r\n")),
        ("leading space", q(" PUB foo 1\r\na\r\n")),
        ("empty line", q("\r\n")),
        ("ping suffix", q("PINGPONG\r\n")),
        ("pin is not ping", q("PIN\r\n")),
        ("duplicate sid", q("SUB foo 1\r\nSUB bar 1\r\nPUB foo 1\r\na\r\nPUB bar 1\r\nb\r\n")),
        ("wildcard match literal pub", q("SUB foo.* 1\r\nSUB foo.> 2\r\nSUB *.* 3\r\nPUB foo.bar 1\r\na\r\n")),
        ("queue and plain", q("SUB foo q 1\r\nSUB foo 2\r\nPUB foo 1\r\na\r\n")),
        ("auto unsub", q("SUB foo 1\r\nUNSUB 1 1\r\nPUB foo 1\r\na\r\nPUB foo 1\r\nb\r\n")),
        ("echo off", raw("CONNECT {\"verbose\":false,\"echo\":false}\r\nSUB foo 1\r\nPUB foo 1\r\na\r\n")),
        ("headers", raw("CONNECT {\"verbose\":false,\"headers\":true}\r\nSUB foo 1\r\nHPUB foo r 12 14\r\nNATS/1.0\r\n\r\nhi\r\n")),
        ("no responders", raw("CONNECT {\"verbose\":false,\"headers\":true,\"no_responders\":true}\r\nSUB _I.* 1\r\nPUB x _I.1 0\r\n\r\n")),
        ("hpub without headers", q("HPUB foo 12 14\r\nNATS/1.0\r\n\r\nhi\r\n")),
        ("verbose ops", raw("CONNECT {\"verbose\":true}\r\nSUB foo 1\r\nPUB foo 1\r\na\r\nUNSUB 1\r\n")),
        ("big control line", q(&format!("SUB {} 1\r\n", "a".repeat(5000)))),
    ]
}

#[test]
fn client_protocol_matches_go() {
    let go = start_go(&[]);
    let ours = start(&[]);
    let mut mismatches = Vec::new();
    for (name, script) in cases() {
        let g = run(&go.addr(), script.as_bytes());
        let o = run(&ours.addr(), script.as_bytes());
        if g != o {
            mismatches.push(format!("{name}:\n  go:   {g:?}\n  ours: {o:?}"));
        }
    }
    assert!(
        mismatches.is_empty(),
        "differences from Go:\n{}",
        mismatches.join("\n")
    );
}

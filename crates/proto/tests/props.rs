//! Property tests for the parser and encoders.
//!
//! * Any split of a valid multi-op stream (byte by byte, or random chunks) parses to the
//!   same ops as the whole stream, and those are the ops that were written.
//! * For arbitrary (protocol-flavoured) bytes, the outcome — ops and then the error or the
//!   pending tail — does not depend on how the bytes were split.
//! * Encode → parse round trips for RMSG/HMSG/RS+/RS- on a route parser.
//! * The parser never panics, whatever the bytes, kind, limits and chunking.

use nats_proto::{encode, Kind, Op, ParseError, Parser, PubMsg, RoutedMsg};
use proptest::prelude::*;

/// Outcome of feeding a stream: every op (as Debug text) and how it ended.
#[derive(Debug, PartialEq)]
struct Outcome {
    ops: Vec<String>,
    end: Result<usize, ParseError>,
}

/// Feed `input` to a fresh parser; the reader sees the stream end at each of `cuts` in turn
/// (then at the full length), keeping unconsumed bytes like a real read loop.
fn feed(kind: Kind, mcl: usize, mp: usize, input: &[u8], cuts: &[usize]) -> Outcome {
    let mut p = Parser::new(kind, mcl, mp);
    let mut pos = 0;
    let mut ops = Vec::new();
    let mut ends: Vec<usize> = cuts
        .iter()
        .map(|c| c.min(&input.len()).to_owned())
        .collect();
    ends.sort_unstable();
    ends.push(input.len());
    for end in ends {
        if end < pos {
            continue;
        }
        loop {
            match p.parse(&input[pos..end]) {
                Ok(Some((op, used))) => {
                    assert!(used > 0 && used <= end - pos);
                    ops.push(format!("{op:?}"));
                    pos += used;
                }
                Ok(None) => break,
                // The snippet shows whatever bytes had arrived (as in Go): log text only.
                Err(ParseError::UnknownOp { state, offset, .. }) => {
                    let e = ParseError::UnknownOp {
                        state,
                        offset,
                        snippet: String::new(),
                    };
                    return Outcome { ops, end: Err(e) };
                }
                Err(e) => return Outcome { ops, end: Err(e) },
            }
        }
    }
    Outcome {
        ops,
        end: Ok(input.len() - pos),
    }
}

fn whole(kind: Kind, mcl: usize, mp: usize, input: &[u8]) -> Outcome {
    feed(kind, mcl, mp, input, &[])
}

fn bytewise(kind: Kind, mcl: usize, mp: usize, input: &[u8]) -> Outcome {
    let cuts: Vec<usize> = (0..input.len()).collect();
    feed(kind, mcl, mp, input, &cuts)
}

// ---------------------------------------------------------------------------------------
// Valid streams

fn token() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9_$.>*-]{1,12}"
}

fn payload() -> impl Strategy<Value = Vec<u8>> {
    // Payloads may contain anything, including CR, LF and text that looks like ops.
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..40),
        Just(b"\r\nPING\r\n".to_vec()),
        Just(Vec::new()),
    ]
}

#[derive(Debug, Clone)]
enum Spec {
    Pub(String, Option<String>, Option<usize>, Vec<u8>),
    Sub(String, Option<String>, String),
    Unsub(String, Option<u64>),
    Ping,
    Pong,
    Ok,
    Err(String),
    Connect,
    Info,
    RouteSub(String, String, Option<(String, u32)>),
    RouteUnsub(String, String, Option<String>),
    RouteMsg(
        String,
        String,
        Option<String>,
        Vec<String>,
        Option<usize>,
        Vec<u8>,
    ),
}

fn common_spec() -> impl Strategy<Value = Spec> {
    prop_oneof![
        Just(Spec::Ping),
        Just(Spec::Pong),
        Just(Spec::Ok),
        Just(Spec::Connect),
        Just(Spec::Info),
        "[a-zA-Z' ]{0,10}[a-zA-Z']".prop_map(Spec::Err),
    ]
}

fn client_spec() -> impl Strategy<Value = Spec> {
    prop_oneof![
        3 => (token(), proptest::option::of(token()), proptest::option::of(0usize..8), payload())
            .prop_map(|(s, r, h, mut d)| {
                let h = h.map(|h| h.min(d.len()));
                if d.is_empty() && h.is_some() { d.push(b'x'); }
                Spec::Pub(s, r, h, d)
            }),
        2 => (token(), proptest::option::of(token()), token())
            .prop_map(|(s, q, sid)| Spec::Sub(s, q, sid)),
        1 => (token(), proptest::option::of(0u64..1_000_000)).prop_map(|(s, m)| Spec::Unsub(s, m)),
        2 => common_spec(),
    ]
}

fn route_spec() -> impl Strategy<Value = Spec> {
    prop_oneof![
        3 => (
            token(),
            token(),
            proptest::option::of(token()),
            proptest::collection::vec(token(), 0..4),
            proptest::option::of(0usize..8),
            payload()
        )
            .prop_map(|(a, s, r, q, h, d)| {
                let h = h.map(|h| h.min(d.len()));
                Spec::RouteMsg(a, s, r, q, h, d)
            }),
        2 => (token(), token(), proptest::option::of((token(), 0u32..1000)))
            .prop_map(|(a, s, q)| Spec::RouteSub(a, s, q)),
        1 => (token(), token(), proptest::option::of(token()))
            .prop_map(|(a, s, q)| Spec::RouteUnsub(a, s, q)),
        2 => common_spec(),
    ]
}

/// How each op is spelled: letter case, blanks between arguments, line ending.
#[derive(Debug, Clone)]
struct Style {
    upper: Vec<bool>,
    blanks: Vec<&'static str>,
    crlf: bool,
}

fn style() -> impl Strategy<Value = Style> {
    (
        proptest::collection::vec(any::<bool>(), 8),
        proptest::collection::vec(
            prop_oneof![Just(" "), Just("\t"), Just("  "), Just(" \t ")],
            12,
        ),
        any::<bool>(),
    )
        .prop_map(|(upper, blanks, crlf)| Style {
            upper,
            blanks,
            crlf,
        })
}

fn render(spec: &Spec, st: &Style, out: &mut Vec<u8>) {
    let mut words: Vec<Vec<u8>> = Vec::new();
    let name = |n: &str| -> Vec<u8> {
        n.bytes()
            .zip(st.upper.iter().cycle())
            .map(|(b, up)| {
                if *up {
                    b.to_ascii_uppercase()
                } else {
                    b.to_ascii_lowercase()
                }
            })
            .collect()
    };
    let mut payload: Option<&[u8]> = None;
    let num = |n: usize| n.to_string().into_bytes();
    match spec {
        Spec::Pub(s, r, h, d) => {
            words.push(name(if h.is_some() { "HPUB" } else { "PUB" }));
            words.push(s.clone().into_bytes());
            words.extend(r.iter().map(|r| r.clone().into_bytes()));
            words.extend(h.iter().map(|h| num(*h)));
            words.push(num(d.len()));
            payload = Some(d);
        }
        Spec::Sub(s, q, sid) => {
            words.push(name("SUB"));
            words.push(s.clone().into_bytes());
            words.extend(q.iter().map(|q| q.clone().into_bytes()));
            words.push(sid.clone().into_bytes());
        }
        Spec::Unsub(sid, max) => {
            words.push(name("UNSUB"));
            words.push(sid.clone().into_bytes());
            words.extend(max.iter().map(|m| m.to_string().into_bytes()));
        }
        Spec::Ping => words.push(name("PING")),
        Spec::Pong => words.push(name("PONG")),
        Spec::Ok => words.push(name("+OK")),
        Spec::Err(t) => {
            words.push(name("-ERR"));
            words.push(t.clone().into_bytes());
        }
        Spec::Connect => {
            words.push(name("CONNECT"));
            words.push(br#"{"verbose":false}"#.to_vec());
        }
        Spec::Info => {
            words.push(name("INFO"));
            words.push(br#"{"server_id":"N"}"#.to_vec());
        }
        Spec::RouteSub(a, s, q) => {
            let mut v = Vec::new();
            match q {
                Some((q, w)) => {
                    encode::rs_plus(&mut v, a.as_bytes(), s.as_bytes(), Some((q.as_bytes(), *w)))
                }
                None => encode::rs_plus(&mut v, a.as_bytes(), s.as_bytes(), None),
            }
            return restyle(&v, st, out);
        }
        Spec::RouteUnsub(a, s, q) => {
            let mut v = Vec::new();
            encode::rs_minus(
                &mut v,
                a.as_bytes(),
                s.as_bytes(),
                q.as_ref().map(|q| q.as_bytes()),
            );
            return restyle(&v, st, out);
        }
        Spec::RouteMsg(a, s, r, q, h, d) => {
            let mut v = Vec::new();
            let qs: Vec<&[u8]> = q.iter().map(|q| q.as_bytes()).collect();
            encode::rmsg_line(
                &mut v,
                a.as_bytes(),
                s.as_bytes(),
                r.as_deref().map(str::as_bytes),
                &qs,
                *h,
                d.len(),
            );
            restyle(&v, st, out);
            out.extend_from_slice(d);
            out.extend_from_slice(b"\r\n");
            return;
        }
    }
    for (i, w) in words.iter().enumerate() {
        if i > 0 {
            out.extend_from_slice(st.blanks[i % st.blanks.len()].as_bytes());
        }
        out.extend_from_slice(w);
    }
    out.extend_from_slice(if st.crlf { b"\r\n" } else { b"\n" });
    if let Some(d) = payload {
        out.extend_from_slice(d);
        out.extend_from_slice(b"\r\n");
    }
}

/// Re-spell an encoder's control line (name case, blanks, line end), keeping its tokens.
fn restyle(line: &[u8], st: &Style, out: &mut Vec<u8>) {
    let text = std::str::from_utf8(line).unwrap().trim_end();
    let mut words: Vec<String> = text.split(' ').map(str::to_owned).collect();
    words[0] = words[0]
        .chars()
        .zip(st.upper.iter().cycle())
        .map(|(c, up)| {
            if *up {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect();
    let mut s = String::new();
    for (i, w) in words.iter().enumerate() {
        if i > 0 {
            s.push_str(st.blanks[i % st.blanks.len()]);
        }
        s.push_str(w);
    }
    out.extend_from_slice(s.as_bytes());
    out.extend_from_slice(if st.crlf { b"\r\n" } else { b"\n" });
}

/// The op the parser must report for `spec`.
fn b(s: &String) -> &[u8] {
    s.as_bytes()
}

fn expected(spec: &Spec) -> String {
    let op = match spec {
        Spec::Pub(s, r, h, d) => Op::Pub(PubMsg {
            subject: b(s),
            reply: r.as_ref().map(b),
            hdr_len: *h,
            data: d,
        }),
        Spec::Sub(s, q, sid) => Op::Sub {
            subject: b(s),
            queue: q.as_ref().map(b),
            sid: b(sid),
        },
        Spec::Unsub(sid, max) => Op::Unsub {
            sid: b(sid),
            max: *max,
        },
        Spec::Ping => Op::Ping,
        Spec::Pong => Op::Pong,
        Spec::Ok => Op::Ok,
        Spec::Err(t) => Op::Err(t.trim_matches(' ').as_bytes()),
        Spec::Connect => Op::Connect(br#"{"verbose":false}"#),
        Spec::Info => Op::Info(br#"{"server_id":"N"}"#),
        Spec::RouteSub(a, s, q) => Op::RouteSub {
            account: b(a),
            subject: b(s),
            queue: q.as_ref().map(|(q, w)| (q.as_bytes(), *w)),
        },
        Spec::RouteUnsub(a, s, q) => Op::RouteUnsub {
            account: b(a),
            subject: b(s),
            queue: q.as_ref().map(b),
        },
        Spec::RouteMsg(..) => return String::new(), // checked field by field instead
    };
    format!("{op:?}")
}

fn stream(kind: Kind) -> impl Strategy<Value = (Vec<Spec>, Vec<u8>)> {
    let spec = if kind == Kind::Client {
        client_spec().boxed()
    } else {
        route_spec().boxed()
    };
    proptest::collection::vec((spec, style()), 1..12).prop_map(|items| {
        let mut bytes = Vec::new();
        for (spec, st) in &items {
            render(spec, st, &mut bytes);
        }
        (items.into_iter().map(|(s, _)| s).collect(), bytes)
    })
}

fn check_valid_stream(kind: Kind, specs: &[Spec], bytes: &[u8], cuts: &[usize]) {
    let w = whole(kind, 4096, 1 << 20, bytes);
    assert_eq!(w.end, Ok(0), "whole stream must parse completely");
    assert_eq!(w.ops.len(), specs.len());
    for (got, spec) in w.ops.iter().zip(specs) {
        let want = expected(spec);
        if !want.is_empty() {
            assert_eq!(got, &want);
        }
    }
    assert_eq!(bytewise(kind, 4096, 1 << 20, bytes), w);
    assert_eq!(feed(kind, 4096, 1 << 20, bytes, cuts), w);
}

proptest! {
    #[test]
    fn client_stream_splits_parse_the_same(
        (specs, bytes) in stream(Kind::Client),
        cuts in proptest::collection::vec(0usize..2000, 0..20),
    ) {
        check_valid_stream(Kind::Client, &specs, &bytes, &cuts);
    }

    #[test]
    fn route_stream_splits_parse_the_same(
        (specs, bytes) in stream(Kind::Route),
        cuts in proptest::collection::vec(0usize..2000, 0..20),
    ) {
        check_valid_stream(Kind::Route, &specs, &bytes, &cuts);
    }
}

// ---------------------------------------------------------------------------------------
// Arbitrary bytes

/// Bytes built from protocol fragments and noise, so the parser gets deep into its states.
fn flavoured_bytes() -> impl Strategy<Value = Vec<u8>> {
    let frag = prop_oneof![
        Just(b"PUB ".to_vec()),
        Just(b"HPUB ".to_vec()),
        Just(b"SUB ".to_vec()),
        Just(b"UNSUB ".to_vec()),
        Just(b"PING".to_vec()),
        Just(b"PONG".to_vec()),
        Just(b"+OK".to_vec()),
        Just(b"-ERR ".to_vec()),
        Just(b"CONNECT ".to_vec()),
        Just(b"INFO ".to_vec()),
        Just(b"RS+ ".to_vec()),
        Just(b"RS- ".to_vec()),
        Just(b"RMSG ".to_vec()),
        Just(b"HMSG ".to_vec()),
        Just(b"LMSG ".to_vec()),
        Just(b"LS+ ".to_vec()),
        Just(b"A+ ".to_vec()),
        Just(b"foo".to_vec()),
        Just(b"$G".to_vec()),
        Just(b"+".to_vec()),
        Just(b"|".to_vec()),
        Just(b" ".to_vec()),
        Just(b"\t".to_vec()),
        Just(b"\r\n".to_vec()),
        Just(b"\n".to_vec()),
        Just(b"\r".to_vec()),
        (0u32..20).prop_map(|n| n.to_string().into_bytes()),
        proptest::collection::vec(any::<u8>(), 1..4),
    ];
    proptest::collection::vec(frag, 0..40).prop_map(|v| v.concat())
}

fn kind() -> impl Strategy<Value = Kind> {
    prop_oneof![Just(Kind::Client), Just(Kind::Route)]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, ..ProptestConfig::default() })]

    #[test]
    fn outcome_does_not_depend_on_splits(
        bytes in flavoured_bytes(),
        kind in kind(),
        mcl in prop_oneof![Just(0usize), 1usize..40, Just(4096)],
        mp in prop_oneof![Just(0usize), 0usize..20],
        cuts in proptest::collection::vec(0usize..300, 0..10),
    ) {
        let w = whole(kind, mcl, mp, &bytes);
        prop_assert_eq!(&bytewise(kind, mcl, mp, &bytes), &w);
        prop_assert_eq!(&feed(kind, mcl, mp, &bytes, &cuts), &w);
    }

    #[test]
    fn never_panics_on_random_bytes(
        bytes in proptest::collection::vec(any::<u8>(), 0..300),
        kind in kind(),
        mcl in 0usize..64,
        mp in 0usize..64,
        cuts in proptest::collection::vec(0usize..300, 0..10),
    ) {
        let _ = feed(kind, mcl, mp, &bytes, &cuts);
        let _ = bytewise(kind, mcl, mp, &bytes);
        // Also with a parser that is handed unrelated buffers (caller misuse).
        let mut p = Parser::new(kind, mcl, mp);
        for c in &cuts {
            let _ = p.parse(&bytes[..(*c).min(bytes.len())]);
            let _ = p.needed();
        }
    }
}

// ---------------------------------------------------------------------------------------
// Encode → parse round trips

proptest! {
    #[test]
    fn rmsg_and_hmsg_round_trip(
        account in token(),
        subject in token(),
        reply in proptest::option::of(token()),
        queues in proptest::collection::vec(token(), 0..6),
        hdr in proptest::option::of(0usize..64),
        data in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        let hdr = hdr.map(|h| h.min(data.len()));
        let qs: Vec<&[u8]> = queues.iter().map(|q| q.as_bytes()).collect();
        let mut wire = Vec::new();
        encode::rmsg_line(&mut wire, account.as_bytes(), subject.as_bytes(),
            reply.as_deref().map(str::as_bytes), &qs, hdr, data.len());
        wire.extend_from_slice(&data);
        wire.extend_from_slice(encode::CRLF);
        let mut p = Parser::new(Kind::Route, 0, 0);
        let (op, used) = p.parse(&wire).unwrap().unwrap();
        prop_assert_eq!(used, wire.len());
        let Op::RouteMsg(m) = op else { panic!("not a routed message: {op:?}") };
        prop_assert_eq!(m, RoutedMsg {
            account: account.as_bytes(),
            subject: subject.as_bytes(),
            reply: reply.as_deref().map(str::as_bytes),
            queues: m.queues,
            hdr_len: hdr,
            data: &data,
        });
        prop_assert_eq!(m.queues().collect::<Vec<_>>(), qs);
    }

    #[test]
    fn rs_plus_minus_round_trip(
        account in token(),
        subject in token(),
        queue in proptest::option::of(token()),
        weight in any::<u32>(),
    ) {
        let mut p = Parser::new(Kind::Route, 0, 0);
        let mut wire = Vec::new();
        let q = queue.as_deref().map(|q| (q.as_bytes(), weight));
        encode::rs_plus(&mut wire, account.as_bytes(), subject.as_bytes(), q);
        let (op, used) = p.parse(&wire).unwrap().unwrap();
        prop_assert_eq!(used, wire.len());
        // Weights are read like sizes (at most 9 digits); larger ones read as 0, as Go's -1.
        let q = q.map(|(q, w)| (q, if w <= 999_999_999 { w } else { 0 }));
        prop_assert_eq!(op, Op::RouteSub { account: account.as_bytes(), subject: subject.as_bytes(), queue: q });

        let mut wire = Vec::new();
        encode::rs_minus(&mut wire, account.as_bytes(), subject.as_bytes(), queue.as_deref().map(str::as_bytes));
        let (op, used) = p.parse(&wire).unwrap().unwrap();
        prop_assert_eq!(used, wire.len());
        prop_assert_eq!(op, Op::RouteUnsub {
            account: account.as_bytes(),
            subject: subject.as_bytes(),
            queue: queue.as_deref().map(str::as_bytes),
        });
    }

    #[test]
    fn msg_line_has_the_expected_tokens(
        subject in token(),
        sid in token(),
        reply in proptest::option::of(token()),
        hdr in proptest::option::of(0usize..1000),
        total in 0usize..1_000_000,
    ) {
        let mut wire = Vec::new();
        encode::msg_line(&mut wire, subject.as_bytes(), sid.as_bytes(), reply.as_deref().map(str::as_bytes), hdr, total);
        let text = String::from_utf8(wire).unwrap();
        prop_assert!(text.ends_with("\r\n"));
        let words: Vec<&str> = text.trim_end().split(' ').collect();
        let mut want = vec![if hdr.is_some() { "HMSG" } else { "MSG" }, &subject, &sid];
        if let Some(r) = &reply { want.push(r); }
        let hdr_s = hdr.map(|h| h.to_string());
        if let Some(h) = &hdr_s { want.push(h); }
        let total_s = total.to_string();
        want.push(&total_s);
        prop_assert_eq!(words, want);
    }
}

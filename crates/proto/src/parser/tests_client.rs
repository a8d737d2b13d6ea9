//! Client-connection parser tests. Expected behaviour was checked against nats-server
//! 2.9.10 over raw TCP where the source left room for doubt.

use super::state::FILLER_CAP;
use super::test_util::*;
use super::*;

const C: Kind = Kind::Client;

fn pubmsg<'a>(
    subject: &'a [u8],
    reply: Option<&'a [u8]>,
    hdr_len: Option<usize>,
    data: &'a [u8],
) -> Op<'a> {
    Op::Pub(PubMsg {
        subject,
        reply,
        hdr_len,
        data,
    })
}

#[test]
fn pub_forms() {
    assert_eq!(
        first(C, b"PUB foo 5\r\nhello\r\n").unwrap(),
        Some((pubmsg(b"foo", None, None, b"hello"), 18))
    );
    assert_eq!(
        op(C, b"PUB foo.bar _INBOX.1 2\r\nhi\r\n"),
        pubmsg(b"foo.bar", Some(b"_INBOX.1"), None, b"hi")
    );
    assert_eq!(op(C, b"PUB foo 0\r\n\r\n"), pubmsg(b"foo", None, None, b""));
    // The payload is opaque: CR/LF inside it are data.
    assert_eq!(
        op(C, b"PUB foo 4\r\n\r\n\r\n\r\n"),
        pubmsg(b"foo", None, None, b"\r\n\r\n")
    );
}

#[test]
fn hpub_forms() {
    let msg = b"HPUB foo 12 14\r\nNATS/1.0\r\n\r\nhi\r\n";
    assert_eq!(
        op(C, msg),
        pubmsg(b"foo", None, Some(12), b"NATS/1.0\r\n\r\nhi")
    );
    assert_eq!(
        op(C, b"HPUB foo r 2 2\r\nab\r\n"),
        pubmsg(b"foo", Some(b"r"), Some(2), b"ab")
    );
    assert_eq!(
        op(C, b"HPUB foo 0 0\r\n\r\n"),
        pubmsg(b"foo", None, Some(0), b"")
    );
    assert_eq!(op(C, msg).name(), "HPUB");
}

#[test]
fn sub_unsub_forms() {
    assert_eq!(
        op(C, b"SUB foo 1\r\n"),
        Op::Sub {
            subject: b"foo",
            queue: None,
            sid: b"1"
        }
    );
    assert_eq!(
        op(C, b"SUB foo.* workers abc\r\n"),
        Op::Sub {
            subject: b"foo.*",
            queue: Some(b"workers"),
            sid: b"abc"
        }
    );
    assert_eq!(
        op(C, b"UNSUB 1\r\n"),
        Op::Unsub {
            sid: b"1",
            max: None
        }
    );
    assert_eq!(
        op(C, b"UNSUB 1 10\r\n"),
        Op::Unsub {
            sid: b"1",
            max: Some(10)
        }
    );
    // Go turns an unparsable max into -1, i.e. "unsubscribe now"; so does 0.
    assert_eq!(
        op(C, b"UNSUB 1 abc\r\n"),
        Op::Unsub {
            sid: b"1",
            max: None
        }
    );
    assert_eq!(
        op(C, b"UNSUB 1 0\r\n"),
        Op::Unsub {
            sid: b"1",
            max: Some(0)
        }
    );
}

#[test]
fn bare_ops_ignore_the_rest_of_the_line() {
    assert_eq!(first(C, b"PING\r\n").unwrap(), Some((Op::Ping, 6)));
    assert_eq!(first(C, b"PONG\n").unwrap(), Some((Op::Pong, 5)));
    assert_eq!(first(C, b"+OK\r\n").unwrap(), Some((Op::Ok, 5)));
    assert_eq!(first(C, b"ping xyz\r\n").unwrap(), Some((Op::Ping, 10)));
    assert_eq!(first(C, b"PINGPONG\r\n").unwrap(), Some((Op::Ping, 10)));
    assert_eq!(first(C, b"+ok junk\n").unwrap(), Some((Op::Ok, 9)));
    assert_eq!(first(C, b"PING").unwrap(), None);
    assert_eq!(first(C, b"PING\r").unwrap(), None);
}

#[test]
fn connect_info_err() {
    assert_eq!(
        op(C, b"CONNECT {\"verbose\":false}\r\n"),
        Op::Connect(b"{\"verbose\":false}")
    );
    // No blank needed before the JSON.
    assert_eq!(op(C, b"CONNECT{}\r\n"), Op::Connect(b"{}"));
    assert_eq!(op(C, b"connect \t {} \r\n"), Op::Connect(b"{}"));
    // Go's quirk: the first argument byte never ends the line, so the JSON may start on
    // the next line (observed: `CONNECT\n{...}\n` works against 2.9.10).
    assert_eq!(
        first(C, b"CONNECT\n{}\nPING\r\n").unwrap(),
        Some((Op::Connect(b"{}"), 11))
    );
    // `CONNECT\r\n` has an empty argument: the caller's JSON decode fails and closes.
    assert_eq!(op(C, b"CONNECT\r\n"), Op::Connect(b""));
    assert_eq!(op(C, b"INFO {\"a\":1} \r\n"), Op::Info(b"{\"a\":1}"));
    assert_eq!(op(C, b"INFO{}\n"), Op::Info(b"{}"));
    assert_eq!(
        op(C, b"-ERR 'Unknown Protocol Operation'\r\n"),
        Op::Err(b"'Unknown Protocol Operation'")
    );
    assert_eq!(op(C, b"-err   'x'  \r\n"), Op::Err(b"'x'"));
}

#[test]
fn names_are_case_insensitive() {
    assert_eq!(
        op(C, b"pub foo 1\r\nx\r\n"),
        pubmsg(b"foo", None, None, b"x")
    );
    assert_eq!(
        op(C, b"PuB foo 1\r\nx\r\n"),
        pubmsg(b"foo", None, None, b"x")
    );
    assert_eq!(
        op(C, b"hPuB foo 0 1\r\nx\r\n"),
        pubmsg(b"foo", None, Some(0), b"x")
    );
    assert!(matches!(op(C, b"sUb foo 1\r\n"), Op::Sub { .. }));
    assert!(matches!(op(C, b"uNsUb 1\r\n"), Op::Unsub { .. }));
    assert_eq!(op(C, b"pInG\r\n"), Op::Ping);
    assert_eq!(op(C, b"PoNg\r\n"), Op::Pong);
    assert_eq!(op(C, b"+oK\r\n"), Op::Ok);
    assert_eq!(op(C, b"CoNnEcT {}\r\n"), Op::Connect(b"{}"));
    assert_eq!(op(C, b"iNfO {}\r\n"), Op::Info(b"{}"));
    assert_eq!(op(C, b"-eRr x\r\n"), Op::Err(b"x"));
}

#[test]
fn tabs_and_runs_of_blanks_separate() {
    assert_eq!(
        op(C, b"PUB\tfoo\t\t1\r\nx\r\n"),
        pubmsg(b"foo", None, None, b"x")
    );
    assert_eq!(
        op(C, b"PUB  \t foo \t r  1  \r\nx\r\n"),
        pubmsg(b"foo", Some(b"r"), None, b"x")
    );
    assert_eq!(
        op(C, b"SUB\t\tfoo\tq\t1\t\r\n"),
        Op::Sub {
            subject: b"foo",
            queue: Some(b"q"),
            sid: b"1"
        }
    );
}

#[test]
fn bare_newline_ends_the_control_line() {
    assert_eq!(
        first(C, b"PUB foo 1\nx\r\n").unwrap(),
        Some((pubmsg(b"foo", None, None, b"x"), 13))
    );
    assert!(matches!(op(C, b"SUB foo 1\n"), Op::Sub { sid: b"1", .. }));
    // ...but the payload trailer must be exactly CRLF.
    let e = err(C, b"PUB foo 1\nx\n");
    assert_eq!(unknown(&e), (41, 11, "\"\""));
}

#[test]
fn go_line_quirks() {
    // A CR anywhere after the first argument byte makes Go drop the byte before '\n'.
    assert_eq!(
        bad(C, b"PUB foo\r 1\nx\r\n"),
        r#"processPub Parse Error: "foo\r ""#
    );
    // The first argument byte may be '\n': `SUB \nfoo 1` is `SUB foo 1` (observed in Go).
    assert!(matches!(
        op(C, b"SUB \nfoo 1\r\n"),
        Op::Sub {
            subject: b"foo",
            sid: b"1",
            ..
        }
    ));
    // PUB splits only on blanks, so that same trick gives a subject with a newline.
    assert_eq!(bad(C, b"PUB \r\n"), r#"processPub Parse Error: "\r""#);
    assert_eq!(
        bad(C, b"PUB foo 5\r\r\n"),
        r#"processPub Bad or Missing Size: "foo 5\r""#
    );
}

#[test]
fn unknown_bytes_fail_immediately() {
    let cases: &[(&[u8], u8, usize)] = &[
        (b"PUX", 30, 2),
        (b"M", 0, 0),
        (b"MSG foo 1 1\r\n", 0, 0),
        (b"X", 0, 0),
        (b"\r\n", 0, 0),
        (b" PING\r\n", 0, 0),
        (b"PUBfoo 1\r\n", 31, 3),
        (b"UNSUB\r\n", 63, 5),
        (b"SUB\r\n", 45, 3),
        (b"-ERR\r\n", 7, 4),
        (b"PIN\r\n", 35, 3),
        (b"+O\r", 2, 2),
        (b"CONNEX", 14, 5),
        (b"INFX", 73, 3),
        (b"HPUX", 20, 3),
        (b"HX", 18, 1),
        // Route-only ops are errors at their first byte on a client connection.
        (b"RS+ $G foo\r\n", 0, 0),
        (b"RMSG $G foo 1\r\n", 0, 0),
        (b"LS+ o $G foo\r\n", 0, 0),
        (b"LMSG", 0, 0),
        (b"A+ $G\r\n", 0, 0),
        (b"A-", 0, 0),
        // Clients send HPUB; HMSG fails at the M.
        (b"HMSG foo 1 2\r\n", 18, 1),
    ];
    for &(input, state, offset) in cases {
        let e = err(C, input);
        let (s, o, _) = unknown(&e);
        assert_eq!(
            (s, o),
            (state, offset),
            "{:?}",
            String::from_utf8_lossy(input)
        );
        assert_eq!(e.err_text(), Some(errors::UNKNOWN_OP));
    }
}

#[test]
fn unknown_op_snippet_is_gos() {
    // Go logs: Client parser ERROR, state=0, i=0: proto='"RS+ a b\r"...'
    let e = err(C, b"RS+ a b\r\n");
    assert_eq!(unknown(&e), (0, 0, r#""RS+ a b\r""#));
    // Go's protoSnippet stops one byte short of the end, so "PUX" gives "".
    assert_eq!(unknown(&err(C, b"PUX")), (30, 2, r#""""#));
    let e = err(C, b"PUB foo 2\r\nhix\r\n");
    assert_eq!(unknown(&e), (41, 13, r#""x\r""#));
    let long = [b'X'; 100];
    let long_err = err(C, &long);
    let (_, _, snip) = unknown(&long_err);
    assert_eq!(snip.len(), 32 + 2);
    assert_eq!(
        e.to_string(),
        r#"parser error, state=41, i=13: proto='"x\r"'"#
    );
}

#[test]
fn payload_trailer_must_be_crlf() {
    assert_eq!(unknown(&err(C, b"PUB foo 2\r\nhix\r\n")).0, 41);
    assert_eq!(unknown(&err(C, b"PUB foo 2\r\nhi\rx")).0, 42);
    assert_eq!(unknown(&err(C, b"PUB foo 2\r\nhi\n")).0, 41);
    // Reported as soon as the bad byte is present.
    assert_eq!(unknown(&err(C, b"PUB foo 2\r\nhix")).1, 13);
    assert_eq!(first(C, b"PUB foo 2\r\nhi\r").unwrap(), None);
}

#[test]
fn bad_args_close_silently_with_gos_log_text() {
    let cases: &[(&[u8], &str)] = &[
        (b"PUB foo\r\n", r#"processPub Parse Error: "foo""#),
        (
            b"PUB foo 1 2 3\r\n",
            r#"processPub Parse Error: "foo 1 2 3""#,
        ),
        (
            b"PUB foo x\r\n",
            r#"processPub Bad or Missing Size: "foo x""#,
        ),
        (
            b"PUB foo -1\r\n",
            r#"processPub Bad or Missing Size: "foo -1""#,
        ),
        (
            b"PUB foo 0000000001\r\n",
            r#"processPub Bad or Missing Size: "foo 0000000001""#,
        ),
        (
            b"HPUB foo 1\r\n",
            r#"processHeaderPub Parse Error: "foo 1""#,
        ),
        (
            b"HPUB foo a b c d\r\n",
            r#"processHeaderPub Parse Error: "foo a b c d""#,
        ),
        (
            b"HPUB foo x 1\r\n",
            r#"processHeaderPub Bad or Missing Header Size: "foo x 1""#,
        ),
        (
            b"HPUB foo 1 x\r\n",
            r#"processHeaderPub Bad or Missing Total Size: "foo 1 x""#,
        ),
        (
            b"HPUB foo 3 2\r\n",
            r#"processHeaderPub Header Size larger then TotalSize: "foo 3 2""#,
        ),
        (b"SUB foo\r\n", r#"processSub Parse Error: "foo""#),
        (b"SUB a b c d\r\n", r#"processSub Parse Error: "a b c d""#),
        (b"UNSUB 1 2 3\r\n", r#"processUnsub Parse Error: "1 2 3""#),
        (b"UNSUB \r\n", r#"processUnsub Parse Error: "\r""#),
    ];
    for &(input, msg) in cases {
        let e = err(C, input);
        assert_eq!(e, ParseError::BadArgs(msg.to_string()));
        assert_eq!(e.err_text(), None);
    }
}

#[test]
fn max_control_line() {
    let mut line = b"PUB ".to_vec();
    line.extend(std::iter::repeat_n(b'x', MCL - 2));
    line.extend(b" 1\r\nx\r\n");
    // Exactly at the limit: fine.
    assert!(matches!(op(C, &line), Op::Pub(_)));
    line.insert(4, b'y');
    let e = err(C, &line);
    assert_eq!(e, ParseError::MaxControlLine);
    assert_eq!(e.err_text(), Some(errors::MAX_CONTROL_LINE));
    // Also on a line still waiting for '\n' (observed: 5000 bytes, no newline, -ERR).
    let mut partial = b"PUB ".to_vec();
    partial.extend(std::iter::repeat_n(b'x', 5000));
    assert_eq!(err(C, &partial), ParseError::MaxControlLine);
    let mut p = parser(C);
    assert_eq!(p.parse(&partial[..4000]).unwrap(), None);
    assert_eq!(p.parse(&partial).unwrap_err(), ParseError::MaxControlLine);
    // Applies to CONNECT too; 0 disables it (routes get their own caps).
    let mut connect = b"CONNECT {\"name\":\"".to_vec();
    connect.extend(std::iter::repeat_n(b'n', 5000));
    connect.extend(b"\"}\r\n");
    assert_eq!(err(C, &connect), ParseError::MaxControlLine);
    assert!(matches!(op(Kind::Route, &connect), Op::Connect(_)));
    let mut unlimited = Parser::new(C, 0, 0);
    assert!(matches!(
        unlimited.parse(&connect),
        Ok(Some((Op::Connect(_), _)))
    ));
}

#[test]
fn filler_is_bounded_but_generous() {
    // Go accepts 6000 blanks before the arguments (observed); so do we.
    let mut line = b"PUB".to_vec();
    line.extend(std::iter::repeat_n(b' ', 6000));
    line.extend(b"foo 1\r\nx\r\n");
    assert!(matches!(op(C, &line), Op::Pub(_)));
    let mut ping = b"PING".to_vec();
    ping.extend(std::iter::repeat_n(b'z', 6000));
    ping.extend(b"\r\n");
    assert_eq!(op(C, &ping), Op::Ping);
    // Beyond the cap a client is cut off; a route is not.
    let mut junk = b"PING".to_vec();
    junk.extend(std::iter::repeat_n(b'z', FILLER_CAP + 1));
    assert_eq!(err(C, &junk), ParseError::MaxControlLine);
    assert_eq!(first(Kind::Route, &junk).unwrap(), None);
    let mut blanks = b"SUB".to_vec();
    blanks.extend(std::iter::repeat_n(b'\t', FILLER_CAP + 1));
    assert_eq!(err(C, &blanks), ParseError::MaxControlLine);
}

#[test]
fn max_payload_before_the_payload_arrives() {
    let e = err(C, b"PUB foo 2000000\r\n");
    assert_eq!(
        e,
        ParseError::MaxPayload {
            size: 2_000_000,
            max: MAX_PAYLOAD
        }
    );
    assert_eq!(e.err_text(), Some(errors::MAX_PAYLOAD));
    assert_eq!(
        e.to_string(),
        "maximum payload exceeded: 2000000 vs 1048576"
    );
    // HPUB counts the total size.
    let e = err(C, b"HPUB foo 1 1048577\r\n");
    assert!(matches!(
        e,
        ParseError::MaxPayload {
            size: 1_048_577,
            ..
        }
    ));
    // Argument errors are reported first, as in Go.
    assert!(matches!(
        err(C, b"HPUB foo 3000000 2000000\r\n"),
        ParseError::BadArgs(_)
    ));
    let mut p = Parser::new(C, MCL, 4);
    assert!(p.parse(b"PUB foo 4\r\nabcd\r\n").unwrap().is_some());
    assert!(p.parse(b"PUB foo 5\r\n").is_err());
    p.set_limits(MCL, 0);
    assert!(p.parse(b"PUB foo 5\r\nabcde\r\n").unwrap().is_some());
}

#[test]
fn split_reads_resume() {
    let stream: &[u8] = b"CONNECT {}\r\nSUB foo q 1\r\nPUB foo r 5\r\nhello\r\nHPUB foo 12 14\r\nNATS/1.0\r\n\r\nhi\r\nUNSUB 1 3\nPING\r\n-ERR 'x'\r\n";
    let whole = all(&mut parser(C), stream).unwrap();
    assert_eq!(whole.1, stream.len());
    assert_eq!(whole.0.len(), 7);
    assert_eq!(trickle(C, stream).unwrap(), whole.0);
}

#[test]
fn needed_reports_the_whole_message_once_the_line_is_known() {
    let mut p = parser(C);
    let msg = b"PUB foo 100\r\n";
    assert_eq!(p.parse(&msg[..5]).unwrap(), None);
    assert_eq!(p.needed(), None);
    assert_eq!(p.parse(msg).unwrap(), None);
    assert_eq!(p.needed(), Some(msg.len() + 100 + 2));
    let mut full = msg.to_vec();
    full.extend([b'a'; 100]);
    full.extend(b"\r\n");
    assert_eq!(p.parse(&full[..60]).unwrap(), None);
    let (op, used) = p.parse(&full).unwrap().unwrap();
    assert_eq!(used, full.len());
    assert!(matches!(op, Op::Pub(PubMsg { data, .. }) if data.len() == 100));
    assert_eq!(p.needed(), None);
}

#[test]
fn trace_helpers_give_gos_trace_text() {
    let mut p = parser(C);
    let buf = b"PUB foo 5\r\nhello\r\n";
    p.parse(buf).unwrap();
    assert_eq!((p.last_op_name(), p.last_args(buf)), ("PUB", &b"foo 5"[..]));
    let buf = b"PING\r\n";
    p.parse(buf).unwrap();
    assert_eq!((p.last_op_name(), p.last_args(buf)), ("PING", &b""[..]));
    let mut p = parser(C);
    let buf = b"SUB  foo 1 \r\n";
    p.parse(&buf[..6]).unwrap();
    p.parse(buf).unwrap();
    assert_eq!(
        (p.last_op_name(), p.last_args(buf)),
        ("SUB", &b"foo 1 "[..])
    );
}

#[test]
fn a_shorter_buffer_after_none_starts_over() {
    let mut p = parser(C);
    assert_eq!(p.parse(b"PUB foo 100\r\nabc").unwrap(), None);
    // Caller misuse: a different, shorter buffer. Must not panic; parses it afresh.
    assert_eq!(p.parse(b"PING\r\n").unwrap(), Some((Op::Ping, 6)));
    assert_eq!(p.parse(b"SUB ").unwrap(), None);
    assert!(p.parse(b"SUB foo 1\r\n").unwrap().is_some());
}

#[test]
fn empty_input_needs_more() {
    assert_eq!(first(C, b"").unwrap(), None);
    assert_eq!(first(C, b"P").unwrap(), None);
    assert_eq!(first(C, b"PUB").unwrap(), None);
    assert_eq!(first(C, b"PUB ").unwrap(), None);
    assert_eq!(first(C, b"PUB foo 1\r").unwrap(), None);
    assert_eq!(first(C, b"PUB foo 1\r\n").unwrap(), None);
    assert_eq!(first(C, b"PUB foo 1\r\nx").unwrap(), None);
}

#[test]
fn hpub_without_headers_closes_at_the_control_line() {
    let mut p = parser(C);
    p.set_headers(false);
    // Go checks headers before anything else in processHeaderPub.
    assert_eq!(
        p.parse(b"HPUB foo\r\n").unwrap_err(),
        ParseError::BadArgs("message headers not supported".into())
    );
    assert_eq!(p.parse(b"HPUB foo 1 1\r\n").unwrap_err().err_text(), None);
    assert!(matches!(p.parse(b"PUB foo 0\r\n\r\n"), Ok(Some(_))));
    p.set_headers(true);
    assert!(matches!(p.parse(b"HPUB foo 1 1\r\nx\r\n"), Ok(Some(_))));
}

//! Route-connection parser tests. Behaviour of the odd cases (client ops on a route, bad
//! weights, `Au`) was observed against nats-server 2.9.10 over a raw route connection.

use super::test_util::*;
use super::*;

const R: Kind = Kind::Route;

fn rmsg<'a>(
    account: &'a [u8],
    subject: &'a [u8],
    reply: Option<&'a [u8]>,
    queues: &'a [u8],
    hdr_len: Option<usize>,
    data: &'a [u8],
) -> Op<'a> {
    Op::RouteMsg(RoutedMsg {
        account,
        subject,
        reply,
        queues,
        hdr_len,
        data,
    })
}

#[test]
fn route_sub_unsub() {
    assert_eq!(
        op(R, b"RS+ $G foo.>\r\n"),
        Op::RouteSub {
            account: b"$G",
            subject: b"foo.>",
            queue: None
        }
    );
    assert_eq!(
        op(R, b"rs+ $G work workers 2\r\n"),
        Op::RouteSub {
            account: b"$G",
            subject: b"work",
            queue: Some((b"workers", 2))
        }
    );
    // Go keeps the route on an unparsable weight (stores -1); we report 0.
    assert_eq!(
        op(R, b"RS+ $G foo q abc\r\n"),
        Op::RouteSub {
            account: b"$G",
            subject: b"foo",
            queue: Some((b"q", 0))
        }
    );
    assert_eq!(
        op(R, b"RS- $G foo\r\n"),
        Op::RouteUnsub {
            account: b"$G",
            subject: b"foo",
            queue: None
        }
    );
    assert_eq!(
        op(R, b"RS-\t$G\tfoo\tq\r\n"),
        Op::RouteUnsub {
            account: b"$G",
            subject: b"foo",
            queue: Some(b"q")
        }
    );
    assert_eq!(op(R, b"RS+ $G foo\r\n").name(), "RS+");
    assert_eq!(op(R, b"RS- $G foo\r\n").name(), "RS-");
}

#[test]
fn route_sub_bad_args() {
    assert_eq!(
        bad(R, b"RS+ $G foo q\r\n"),
        "processRemoteSub Parse Error: '$G foo q'"
    );
    assert_eq!(
        bad(R, b"RS+ $G foo q 1 2\r\n"),
        "processRemoteSub Parse Error: '$G foo q 1 2'"
    );
    assert_eq!(bad(R, b"RS+ $G\r\n"), "processRemoteSub Parse Error: '$G'");
    assert_eq!(
        bad(R, b"RS- $G\r\n"),
        "processRemoteUnsub parse error: '$G'"
    );
    assert_eq!(
        bad(R, b"RS- a b c d\r\n"),
        "processRemoteUnsub parse error: 'a b c d'"
    );
}

#[test]
fn rmsg_forms() {
    assert_eq!(
        op(R, b"RMSG $G foo 5\r\nhello\r\n"),
        rmsg(b"$G", b"foo", None, b"", None, b"hello")
    );
    assert_eq!(
        op(R, b"RMSG $G foo _INBOX.x 1\r\nx\r\n"),
        rmsg(b"$G", b"foo", Some(b"_INBOX.x"), b"", None, b"x")
    );
    assert_eq!(
        op(R, b"RMSG $G work + _INBOX.aB3 workers 5\r\nhello\r\n"),
        rmsg(
            b"$G",
            b"work",
            Some(b"_INBOX.aB3"),
            b"workers",
            None,
            b"hello"
        )
    );
    assert_eq!(
        op(R, b"RMSG $G work | q1  q2\tq3 3\r\njob\r\n"),
        rmsg(b"$G", b"work", None, b"q1  q2\tq3", None, b"job")
    );
    // `+ reply` without queues is legal (Go's slice is just empty).
    assert_eq!(
        op(R, b"RMSG $G foo + r 1\r\nx\r\n"),
        rmsg(b"$G", b"foo", Some(b"r"), b"", None, b"x")
    );
    let Op::RouteMsg(m) = op(R, b"RMSG $G w | a b c d e f g h 0\r\n\r\n") else {
        panic!()
    };
    assert_eq!(m.queues().collect::<Vec<_>>().len(), 8);
    assert_eq!(m.queues().next(), Some(&b"a"[..]));
}

#[test]
fn route_hmsg_forms() {
    let data = b"NATS/1.0\r\nX-Id: 123456\r\n\r\nhi";
    let mut msg = b"HMSG $G orders.x _INBOX.q 26 28\r\n".to_vec();
    msg.extend(data);
    msg.extend(b"\r\n");
    assert_eq!(
        op(R, &msg),
        rmsg(b"$G", b"orders.x", Some(b"_INBOX.q"), b"", Some(26), data)
    );
    assert_eq!(
        op(R, b"HMSG $G foo 0 1\r\nx\r\n"),
        rmsg(b"$G", b"foo", None, b"", Some(0), b"x")
    );
    assert_eq!(
        op(R, b"HMSG $G foo + r q1 q2 1 1\r\nx\r\n"),
        rmsg(b"$G", b"foo", Some(b"r"), b"q1 q2", Some(1), b"x")
    );
    assert_eq!(
        op(R, b"hmsg $G foo | q 1 1\r\nx\r\n"),
        rmsg(b"$G", b"foo", None, b"q", Some(1), b"x")
    );
    assert_eq!(op(R, b"HMSG $G foo 0 1\r\nx\r\n").name(), "HMSG");
}

#[test]
fn lmsg_drops_the_origin() {
    assert_eq!(
        op(R, b"LMSG leaf $G foo 0 1\r\nx\r\n"),
        rmsg(b"$G", b"foo", None, b"", Some(0), b"x")
    );
    assert_eq!(
        op(R, b"LMSG leaf $G foo r 0 1\r\nx\r\n"),
        rmsg(b"$G", b"foo", Some(b"r"), b"", Some(0), b"x")
    );
    assert_eq!(
        op(R, b"LMSG leaf $G foo + r q1 q2 0 1\r\nx\r\n"),
        rmsg(b"$G", b"foo", Some(b"r"), b"q1 q2", Some(0), b"x")
    );
    assert_eq!(
        op(R, b"LMSG leaf $G foo | q1 0 1\r\nx\r\n"),
        rmsg(b"$G", b"foo", None, b"q1", Some(0), b"x")
    );
}

#[test]
fn routed_message_bad_args() {
    let cases: &[(&[u8], &str)] = &[
        (
            b"RMSG $G foo\r\n",
            "processRoutedMsgArgs Parse Error: '[$G foo]'",
        ),
        (
            b"RMSG $G foo x y 1\r\n",
            "processRoutedMsgArgs Bad or Missing Reply Indicator: 'x'",
        ),
        (
            b"RMSG $G foo ++ y 1\r\n",
            "processRoutedMsgArgs Bad or Missing Reply Indicator: '++'",
        ),
        (
            b"RMSG $G foo bar\r\n",
            "processRoutedMsgArgs Bad or Missing Size: '[$G foo bar]'",
        ),
        (
            b"HMSG $G foo 1\r\n",
            "processRoutedHeaderMsgArgs Parse Error: '[$G foo 1]'",
        ),
        (
            b"HMSG $G foo x 1\r\n",
            "processRoutedHeaderMsgArgs Bad or Missing Header Size: '$G foo x 1'",
        ),
        (
            b"HMSG $G foo 1 x\r\n",
            "processRoutedHeaderMsgArgs Bad or Missing Size: '[$G foo 1 x]'",
        ),
        (
            b"HMSG $G foo 2 1\r\n",
            "processRoutedHeaderMsgArgs Header Size larger then TotalSize: '$G foo 2 1'",
        ),
        (
            b"HMSG $G foo ? r q 1 1\r\n",
            "processRoutedHeaderMsgArgs Bad or Missing Reply Indicator: '?'",
        ),
        (
            b"LMSG o $G foo 1\r\n",
            "processRoutedOriginClusterMsgArgs Parse Error: '[o $G foo 1]'",
        ),
        (
            b"LMSG o $G foo x r q 0 1\r\n",
            "processRoutedOriginClusterMsgArgs Bad or Missing Reply Indicator: 'x'",
        ),
    ];
    for &(input, msg) in cases {
        assert_eq!(bad(R, input), msg, "{:?}", String::from_utf8_lossy(input));
    }
}

#[test]
fn leaf_and_account_ops_are_ignored_after_checking_counts() {
    assert_eq!(
        op(R, b"LS+ o $G foo\r\n"),
        Op::Ignored {
            op: "LS+",
            args: b"o $G foo"
        }
    );
    assert!(matches!(
        op(R, b"LS+ o $G foo q 1\r\n"),
        Op::Ignored { op: "LS+", .. }
    ));
    assert_eq!(
        bad(R, b"LS+ $G foo\r\n"),
        "processRemoteSub Parse Error: '$G foo'"
    );
    assert!(matches!(
        op(R, b"LS- $G foo\r\n"),
        Op::Ignored { op: "LS-", .. }
    ));
    assert!(matches!(
        op(R, b"ls- $G foo q\r\n"),
        Op::Ignored { op: "LS-", .. }
    ));
    // nats-server 2.9.10 panics on this one (index out of range in processRemoteSub).
    assert_eq!(bad(R, b"LS+ \r\n"), "processRemoteSub Parse Error: '\r'");
    assert_eq!(
        bad(R, b"LS- o $G foo q x\r\n"),
        "processRemoteUnsub parse error: 'o $G foo q x'"
    );
    assert_eq!(
        op(R, b"A+ $G\r\n"),
        Op::Ignored {
            op: "A+",
            args: b"$G"
        }
    );
    assert!(matches!(op(R, b"A- $G\r\n"), Op::Ignored { op: "A-", .. }));
    // Go accepts lower-case `Au` as A- but not `AU` (observed).
    assert!(matches!(op(R, b"Au $G\r\n"), Op::Ignored { op: "A-", .. }));
    assert_eq!(unknown(&err(R, b"AU $G\r\n")), (48, 1, r#""U $G\r""#));
    assert!(matches!(op(R, b"a+ \r\n"), Op::Ignored { op: "A+", .. }));
}

#[test]
fn client_ops_on_a_route_behave_like_go() {
    // PUB/HPUB are parsed (bad args still close), the payload consumed, and dropped.
    assert_eq!(
        first(R, b"PUB foo 1\r\nx\r\nPING\r\n").unwrap(),
        Some((
            Op::Ignored {
                op: "PUB",
                args: b"foo 1"
            },
            14
        ))
    );
    assert!(matches!(
        op(R, b"HPUB foo 1 2\r\nxy\r\n"),
        Op::Ignored { op: "HPUB", .. }
    ));
    assert_eq!(bad(R, b"PUB foo\r\n"), r#"processPub Parse Error: "foo""#);
    // SUB has no argument check at all in Go's route path.
    assert_eq!(
        op(R, b"SUB x\r\n"),
        Op::Ignored {
            op: "SUB",
            args: b"x"
        }
    );
    // UNSUB is handled as RS-.
    assert_eq!(
        op(R, b"UNSUB $G foo\r\n"),
        Op::RouteUnsub {
            account: b"$G",
            subject: b"foo",
            queue: None
        }
    );
    assert_eq!(
        bad(R, b"UNSUB 1\r\n"),
        "processRemoteUnsub parse error: '1'"
    );
    // MSG is never accepted (observed: -ERR, state=0, i=0).
    assert_eq!(unknown(&err(R, b"MSG foo 1 1\r\n")).0, 0);
    assert_eq!(unknown(&err(R, b"SUB\r\n")), (45, 3, r#""\r""#));
}

#[test]
fn common_ops_on_a_route() {
    assert_eq!(op(R, b"PING\r\n"), Op::Ping);
    assert_eq!(op(R, b"PONG\r\n"), Op::Pong);
    assert_eq!(op(R, b"+OK\r\n"), Op::Ok);
    assert_eq!(op(R, b"-ERR 'x'\r\n"), Op::Err(b"'x'"));
    assert_eq!(op(R, b"INFO {} \r\n"), Op::Info(b"{}"));
    assert_eq!(op(R, b"CONNECT {}\r\n"), Op::Connect(b"{}"));
}

#[test]
fn routes_have_no_limits() {
    let mut line = b"RS+ ".to_vec();
    line.extend(std::iter::repeat_n(b'x', 10_000));
    line.extend(b" y\r\n");
    assert!(matches!(op(R, &line), Op::RouteSub { .. }));
    let big = 2 * MAX_PAYLOAD;
    let mut msg = format!("RMSG $G foo {big}\r\n").into_bytes();
    msg.resize(msg.len() + big, b'z');
    msg.extend(b"\r\n");
    let mut p = parser(R);
    assert_eq!(p.parse(&msg[..30]).unwrap(), None);
    assert_eq!(p.needed(), Some(msg.len()));
    assert!(matches!(p.parse(&msg), Ok(Some((Op::RouteMsg(m), _))) if m.data.len() == big));
}

#[test]
fn routes_take_the_callers_caps() {
    let mut p = Parser::new(R, 1000, 5000);
    let mut line = b"RS+ $G ".to_vec();
    line.extend(std::iter::repeat_n(b'x', 2000));
    assert_eq!(p.parse(&line).unwrap_err(), ParseError::MaxControlLine);
    let mut p = Parser::new(R, 1000, 5000);
    assert_eq!(
        p.parse(b"RMSG $G foo 999999999\r\n").unwrap_err(),
        ParseError::MaxPayload {
            size: 999_999_999,
            max: 5000
        }
    );
    let mut p = Parser::new(R, 1000, 5000);
    assert_eq!(
        p.parse(b"HMSG $G foo 2 99999999999999999999999\r\n")
            .unwrap_err(),
        ParseError::BadArgs(
            "processRoutedHeaderMsgArgs Bad or Missing Size: '[$G foo 2 99999999999999999999999]'"
                .into()
        )
    );
    let mut p = Parser::new(R, 1000, 5000);
    assert!(p.parse(b"RMSG $G foo 4000\r\n").unwrap().is_none());
}

#[test]
fn split_reads_resume_on_routes() {
    let stream: &[u8] = b"INFO {\"server_id\":\"N\"}\r\nRS+ $G foo\r\nRS+ $G work workers 2\r\nRMSG $G foo + r q1 q2 5\r\nhello\r\nHMSG $G foo 2 4\r\nhiya\r\nLS+ o $G x\r\nLMSG o $G foo | q 0 1\r\nx\r\nA+ $G\r\nRS- $G foo\r\nPUB foo 1\r\nx\r\nPONG\r\n";
    let whole = all(&mut parser(R), stream).unwrap();
    assert_eq!(whole.1, stream.len());
    assert_eq!(whole.0.len(), 11);
    assert_eq!(trickle(R, stream).unwrap(), whole.0);
}

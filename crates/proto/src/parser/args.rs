//! Argument parsing for a complete control line: split into tokens, count them, read sizes.
//!
//! Works on Go's notion of the argument text (from the first non-blank byte after the op name
//! up to the newline, minus the "drop" byte) and reproduces nats-server 2.9.10's argument
//! rules: which ops split on CR/LF as well as blanks, which counts are legal, how sizes are
//! read (`parseSize`: 1–9 ASCII digits), and the wording of the error that is logged when
//! the connection is closed without `-ERR`. Never allocates except on those error paths.

use super::{Kind, MsgHead, Op, ParseError, Span, Verb};
use crate::errors::go_quote;

/// The first few and the last few tokens of an argument line, plus the total count; enough
/// for every op, including RMSG/HMSG/LMSG with any number of queue names in the middle.
#[derive(Default)]
pub(super) struct Tokens {
    first: [Span; 6],
    last: [Span; 3],
    n: usize,
}

impl Tokens {
    /// Split on runs of spaces/tabs, and also CR/LF when `crlf` (Go's `splitArg`; PUB and
    /// HPUB use a blank-only loop instead).
    pub(super) fn split(arg: &[u8], crlf: bool) -> Tokens {
        let mut t = Tokens::default();
        let mut start = None;
        for (i, &b) in arg.iter().enumerate() {
            let sep = b == b' ' || b == b'\t' || (crlf && (b == b'\r' || b == b'\n'));
            if sep {
                if let Some(s) = start.take() {
                    t.push(Span { start: s, end: i });
                }
            } else if start.is_none() {
                start = Some(i);
            }
        }
        if let Some(s) = start {
            t.push(Span {
                start: s,
                end: arg.len(),
            });
        }
        t
    }

    fn push(&mut self, sp: Span) {
        if let Some(slot) = self.first.get_mut(self.n) {
            *slot = sp;
        }
        self.last = [self.last[1], self.last[2], sp];
        self.n += 1;
    }

    /// Token `i`, which must be among the first six or the last three (else empty).
    fn get(&self, i: usize) -> Span {
        if i < self.first.len() {
            return self.first.get(i).copied().unwrap_or_default();
        }
        (i + 3)
            .checked_sub(self.n)
            .and_then(|k| self.last.get(k).copied())
            .unwrap_or_default()
    }
}

/// Go's `parseSize`: 1 to 9 ASCII digits, nothing else (so at most 999,999,999).
pub(super) fn parse_size(d: &[u8]) -> Option<usize> {
    if d.is_empty() || d.len() > 9 {
        return None;
    }
    let mut n = 0usize;
    for &b in d {
        if !b.is_ascii_digit() {
            return None;
        }
        n = n * 10 + usize::from(b - b'0');
    }
    Some(n)
}

/// What a complete control line turned into.
pub(super) enum Line<'a> {
    /// An op without payload.
    Op(Op<'a>),
    /// A message op whose payload follows the line.
    Msg(MsgHead),
}

/// Parse the argument text `arg`, found at absolute offset `at` of the caller's buffer.
/// `max_payload` is 0 when unlimited (always 0 on routes).
pub(super) fn parse(
    kind: Kind,
    verb: Verb,
    arg: &[u8],
    at: usize,
    max_payload: usize,
) -> Result<Line<'_>, ParseError> {
    let op = match verb {
        Verb::Pub | Verb::Hpub => return publish(kind, verb, arg, at, max_payload).map(Line::Msg),
        Verb::RouteMsg | Verb::RouteHmsg | Verb::LeafMsg => {
            return routed(verb, arg, at).map(Line::Msg)
        }
        Verb::Connect => Op::Connect(trim(arg)),
        Verb::Info => Op::Info(trim(arg)),
        Verb::Err => Op::Err(trim(arg)),
        // Go runs SUB on a route through no argument parser at all: it is accepted and dropped.
        Verb::Sub if kind == Kind::Route => Op::Ignored {
            op: "SUB",
            args: arg,
        },
        Verb::Sub => {
            let t = Tokens::split(arg, true);
            let tok = |i| t.get(i).of(arg);
            match t.n {
                2 => Op::Sub {
                    subject: tok(0),
                    queue: None,
                    sid: tok(1),
                },
                3 => Op::Sub {
                    subject: tok(0),
                    queue: Some(tok(1)),
                    sid: tok(2),
                },
                _ => return Err(bad(format!("processSub Parse Error: {}", go_quote(arg)))),
            }
        }
        // Go hands UNSUB on a route to the RS- handler.
        Verb::Unsub if kind == Kind::Route => route_unsub(arg)?,
        Verb::Unsub => {
            let t = Tokens::split(arg, true);
            let tok = |i| t.get(i).of(arg);
            match t.n {
                1 => Op::Unsub {
                    sid: tok(0),
                    max: None,
                },
                // An unparsable max means "no max" in Go (it becomes -1): unsubscribe now.
                2 => Op::Unsub {
                    sid: tok(0),
                    max: parse_size(tok(1)).map(|m| m as u64),
                },
                _ => return Err(bad(format!("processUnsub Parse Error: {}", go_quote(arg)))),
            }
        }
        Verb::RouteSub => {
            let t = Tokens::split(arg, true);
            let tok = |i| t.get(i).of(arg);
            let queue = match t.n {
                2 => None,
                // Go stores an unparsable weight as -1 and keeps the route; 0 stands for it.
                4 => Some((tok(2), parse_size(tok(3)).map_or(0, |w| w as u32))),
                _ => return Err(remote_sub_error(arg)),
            };
            Op::RouteSub {
                account: tok(0),
                subject: tok(1),
                queue,
            }
        }
        Verb::RouteUnsub => route_unsub(arg)?,
        Verb::LeafSub => match Tokens::split(arg, true).n {
            3 | 5 => Op::Ignored {
                op: "LS+",
                args: arg,
            },
            _ => return Err(remote_sub_error(arg)),
        },
        Verb::LeafUnsub => match Tokens::split(arg, true).n {
            2 | 3 => Op::Ignored {
                op: "LS-",
                args: arg,
            },
            _ => return Err(remote_unsub_error(arg)),
        },
        Verb::AccSub => Op::Ignored {
            op: "A+",
            args: arg,
        },
        Verb::AccUnsub => Op::Ignored {
            op: "A-",
            args: arg,
        },
        // Name-only ops never reach argument parsing; keep the mapping total anyway.
        Verb::Ping => Op::Ping,
        Verb::Pong => Op::Pong,
        Verb::Ok => Op::Ok,
    };
    Ok(Line::Op(op))
}

fn route_unsub(arg: &[u8]) -> Result<Op<'_>, ParseError> {
    let t = Tokens::split(arg, true);
    let tok = |i| t.get(i).of(arg);
    let queue = match t.n {
        2 => None,
        3 => Some(tok(2)),
        _ => return Err(remote_unsub_error(arg)),
    };
    Ok(Op::RouteUnsub {
        account: tok(0),
        subject: tok(1),
        queue,
    })
}

/// PUB/HPUB, from a client (limits apply) or, ignored after parsing, from a route.
fn publish(
    kind: Kind,
    verb: Verb,
    arg: &[u8],
    at: usize,
    max_payload: usize,
) -> Result<MsgHead, ParseError> {
    let t = Tokens::split(arg, false);
    let tok = |i| t.get(i).of(arg);
    let abs = |i| t.get(i).shift(at);
    let whole = Span {
        start: at,
        end: at + arg.len(),
    };
    let mut head = MsgHead::new(kind, verb, whole);
    let name = if verb == Verb::Hpub {
        "processHeaderPub"
    } else {
        "processPub"
    };
    let sizes = if verb == Verb::Hpub { 2 } else { 1 };
    match t.n.checked_sub(sizes) {
        Some(1) => head.subject = abs(0),
        Some(2) => {
            head.subject = abs(0);
            head.reply = Some(abs(1));
        }
        _ => return Err(bad(format!("{name} Parse Error: {}", go_quote(arg)))),
    }
    if verb == Verb::Hpub {
        let Some(hdr) = parse_size(tok(t.n - 2)) else {
            return Err(bad(format!(
                "{name} Bad or Missing Header Size: {}",
                go_quote(arg)
            )));
        };
        head.hdr = Some(hdr);
    }
    let Some(size) = parse_size(tok(t.n - 1)) else {
        let what = if verb == Verb::Hpub {
            "Total Size"
        } else {
            "Size"
        };
        return Err(bad(format!(
            "{name} Bad or Missing {what}: {}",
            go_quote(arg)
        )));
    };
    head.size = size;
    if head.hdr.is_some_and(|h| h > size) {
        return Err(bad(format!(
            "{name} Header Size larger then TotalSize: {}",
            go_quote(arg)
        )));
    }
    if max_payload > 0 && size > max_payload {
        return Err(ParseError::MaxPayload {
            size,
            max: max_payload,
        });
    }
    Ok(head)
}

/// RMSG, route HMSG and LMSG: `[origin] acc subj [reply | + reply q… | | q…] [hdr] size`.
fn routed(verb: Verb, arg: &[u8], at: usize) -> Result<MsgHead, ParseError> {
    let (name, off, sizes) = match verb {
        Verb::RouteHmsg => ("processRoutedHeaderMsgArgs", 0, 2),
        Verb::LeafMsg => ("processRoutedOriginClusterMsgArgs", 1, 2),
        _ => ("processRoutedMsgArgs", 0, 1),
    };
    let t = Tokens::split(arg, true);
    let tok = |i| t.get(i).of(arg);
    let abs = |i| t.get(i).shift(at);
    let n = t.n;
    let base = off + 2 + sizes;
    if n < base {
        return Err(bad(format!("{name} Parse Error: '{}'", go_list(arg))));
    }
    let whole = Span {
        start: at,
        end: at + arg.len(),
    };
    let mut head = MsgHead::new(Kind::Route, verb, whole);
    head.account = abs(off);
    head.subject = abs(off + 1);
    if n == base + 1 {
        head.reply = Some(abs(off + 2));
    } else if n > base + 1 {
        let first_queue = match tok(off + 2) {
            b"+" => {
                head.reply = Some(abs(off + 3));
                off + 4
            }
            b"|" => off + 3,
            other => {
                return Err(bad(format!(
                    "{name} Bad or Missing Reply Indicator: '{}'",
                    String::from_utf8_lossy(other)
                )))
            }
        };
        let last_queue = n - 1 - sizes;
        if first_queue <= last_queue {
            head.queues = Span {
                start: abs(first_queue).start,
                end: abs(last_queue).end,
            };
        }
    }
    if sizes == 2 {
        let Some(hdr) = parse_size(tok(n - 2)) else {
            return Err(bad(format!(
                "{name} Bad or Missing Header Size: '{}'",
                String::from_utf8_lossy(arg)
            )));
        };
        head.hdr = Some(hdr);
    }
    let Some(size) = parse_size(tok(n - 1)) else {
        return Err(bad(format!(
            "{name} Bad or Missing Size: '{}'",
            go_list(arg)
        )));
    };
    head.size = size;
    if head.hdr.is_some_and(|h| h > size) {
        return Err(bad(format!(
            "{name} Header Size larger then TotalSize: '{}'",
            String::from_utf8_lossy(arg)
        )));
    }
    Ok(head)
}

/// JSON and `-ERR` text: drop the blanks and line ends Go's JSON decoder would skip.
fn trim(arg: &[u8]) -> &[u8] {
    let blank = |b: &u8| matches!(b, b' ' | b'\t' | b'\r' | b'\n');
    let start = arg.iter().position(|b| !blank(b)).unwrap_or(arg.len());
    let end = arg.iter().rposition(|b| !blank(b)).map_or(start, |p| p + 1);
    arg.get(start..end).unwrap_or_default()
}

fn bad(msg: String) -> ParseError {
    ParseError::BadArgs(msg)
}

fn remote_sub_error(arg: &[u8]) -> ParseError {
    bad(format!(
        "processRemoteSub Parse Error: '{}'",
        String::from_utf8_lossy(arg)
    ))
}

fn remote_unsub_error(arg: &[u8]) -> ParseError {
    bad(format!(
        "processRemoteUnsub parse error: '{}'",
        String::from_utf8_lossy(arg)
    ))
}

/// Go's `%s` of a `[][]byte`: `[tok1 tok2 …]`.
fn go_list(arg: &[u8]) -> String {
    let toks: Vec<String> = arg
        .split(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
        .filter(|s| !s.is_empty())
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .collect();
    format!("[{}]", toks.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_follow_go_parse_size() {
        assert_eq!(parse_size(b"0"), Some(0));
        assert_eq!(parse_size(b"16"), Some(16));
        assert_eq!(parse_size(b"999999999"), Some(999_999_999));
        assert_eq!(parse_size(b"0000000001"), None);
        assert_eq!(parse_size(b""), None);
        assert_eq!(parse_size(b"-1"), None);
        assert_eq!(parse_size(b"1a"), None);
        assert_eq!(parse_size(b"+1"), None);
    }

    #[test]
    fn tokens_keep_first_and_last() {
        let arg = b"a b\tc  d e f g h i";
        let t = Tokens::split(arg, false);
        assert_eq!(t.n, 9);
        let tok = |i| t.get(i).of(arg);
        assert_eq!(tok(0), b"a");
        assert_eq!(tok(2), b"c");
        assert_eq!(tok(5), b"f");
        assert_eq!(tok(6), b"g");
        assert_eq!(tok(8), b"i");
        let t = Tokens::split(b"x\ry", false);
        assert_eq!(t.n, 1);
        let t = Tokens::split(b"x\ry\n", true);
        assert_eq!(t.n, 2);
        assert_eq!(Tokens::split(b"   ", true).n, 0);
    }

    #[test]
    fn trim_strips_json_blanks() {
        assert_eq!(trim(b" \t{}\r\n"), b"{}");
        assert_eq!(trim(b"\r"), b"");
        assert_eq!(trim(b""), b"");
        assert_eq!(go_list(b"a  b\tc"), "[a b c]");
    }
}

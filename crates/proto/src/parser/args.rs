//! Argument parsing for a complete control line: split into tokens, count them, read sizes.
//!
//! Works on Go's notion of the argument text (from the first non-blank byte after the op name
//! up to the newline, minus the "drop" byte) and reproduces nats-server 2.9.10's argument
//! rules: which ops split on CR/LF as well as blanks, which counts are legal, how sizes are
//! read (`parseSize`: 1–9 ASCII digits), and the wording of the error that is logged when
//! the connection is closed without `-ERR`. Never allocates except on those error paths.

use super::state::{MsgHead, Span};
use super::{Kind, Op, ParseError, Verb};
use crate::errors::go_quote;

/// The first few and the last `L` tokens of an argument line, plus the total count; enough
/// for every op, including RMSG/HMSG/LMSG with any number of queue names in the middle
/// (only those need `L = 3`).
pub(super) struct Tokens<const L: usize> {
    first: [Span; 6],
    last: [Span; L],
    n: usize,
}

/// Token count cap for ops with a fixed arity: one more than any of them accepts, so the
/// count still tells "too many" apart while a long junk line is not walked to the end.
const FEW: usize = 6;

/// Byte classes for argument splitting: 1 = space/TAB, 2 = CR/LF.
static SEP: [u8; 256] = {
    let mut t = [0u8; 256];
    t[b' ' as usize] = 1;
    t[b'\t' as usize] = 1;
    t[b'\r' as usize] = 2;
    t[b'\n' as usize] = 2;
    t
};

#[inline(always)]
fn is_sep<const CRLF: bool>(b: u8) -> bool {
    SEP[usize::from(b)] & if CRLF { 3 } else { 1 } != 0
}

/// The next token of `arg` at or after `from`, as `(start, end)`.
#[inline(always)]
fn next_token<const CRLF: bool>(arg: &[u8], from: usize) -> Option<(usize, usize)> {
    // Index loops with the bound in the condition: no bounds-check panics, and LLVM keeps
    // them tighter than iterator adaptors for these short lines.
    let mut i = from;
    while i < arg.len() && is_sep::<CRLF>(arg[i]) {
        i += 1;
    }
    if i >= arg.len() {
        return None;
    }
    let start = i;
    while i < arg.len() && !is_sep::<CRLF>(arg[i]) {
        i += 1;
    }
    Some((start, i))
}

impl<const L: usize> Tokens<L> {
    /// Split on runs of spaces/tabs, and also CR/LF when `CRLF` (Go's `splitArg`; PUB and
    /// HPUB use a blank-only loop instead). Stops once `limit` tokens are found.
    #[inline(always)]
    pub(super) fn split<const CRLF: bool>(arg: &[u8], limit: usize) -> Self {
        let mut t = Tokens {
            first: [Span::default(); 6],
            last: [Span::default(); L],
            n: 0,
        };
        let mut at = 0;
        while let Some((start, end)) = next_token::<CRLF>(arg, at) {
            t.push(Span::new(start, end));
            at = end;
            if t.n >= limit {
                break;
            }
        }
        t
    }

    #[inline]
    fn push(&mut self, sp: Span) {
        if let Some(slot) = self.first.get_mut(self.n) {
            *slot = sp;
        }
        if L > 0 {
            self.last.rotate_left(1);
            if let Some(slot) = self.last.last_mut() {
                *slot = sp;
            }
        }
        self.n += 1;
    }

    /// Token `i`, which must be among the first six or the last `L`.
    #[inline]
    fn get(&self, i: usize) -> Span {
        if i < self.first.len() {
            return self.first.get(i).copied().unwrap_or_default();
        }
        (i + L)
            .checked_sub(self.n)
            .and_then(|k| self.last.get(k).copied())
            .unwrap_or_default()
    }
}

type Few = Tokens<0>;
type Many = Tokens<3>;

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

/// Whether `verb` is followed by a payload (parse it with [`message`], else [`control`]).
pub(super) fn has_payload(verb: Verb) -> bool {
    matches!(
        verb,
        Verb::Pub | Verb::Hpub | Verb::RouteMsg | Verb::RouteHmsg | Verb::LeafMsg
    )
}

/// Parse the control line of a message op; `arg` sits at absolute offset `at` of the
/// caller's buffer. `max_payload` is 0 when unlimited.
#[inline(always)]
pub(super) fn message(
    kind: Kind,
    verb: Verb,
    arg: &[u8],
    at: usize,
    max_payload: usize,
) -> Result<MsgHead, ParseError> {
    match verb {
        Verb::Pub | Verb::Hpub => publish(kind, verb, arg, at, max_payload),
        _ => routed(verb, arg, at, max_payload),
    }
}

/// Parse the argument text of an op without payload.
pub(super) fn control(kind: Kind, verb: Verb, arg: &[u8]) -> Result<Op<'_>, ParseError> {
    let op = match verb {
        Verb::Connect => Op::Connect(trim(arg)),
        Verb::Info => Op::Info(trim(arg)),
        Verb::Err => Op::Err(trim(arg)),
        // Go runs SUB on a route through no argument parser at all: it is accepted and dropped.
        Verb::Sub if kind == Kind::Route => Op::Ignored {
            op: "SUB",
            args: arg,
        },
        Verb::Sub => {
            let t = Few::split::<true>(arg, FEW);
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
            let t = Few::split::<true>(arg, FEW);
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
            let t = Few::split::<true>(arg, FEW);
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
        Verb::LeafSub => match Few::split::<true>(arg, FEW).n {
            3 | 5 => Op::Ignored {
                op: "LS+",
                args: arg,
            },
            _ => return Err(remote_sub_error(arg)),
        },
        Verb::LeafUnsub => match Few::split::<true>(arg, FEW).n {
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
        // Never reached (name-only ops and messages are handled elsewhere); keep the
        // mapping total without a panic path.
        Verb::Ping => Op::Ping,
        Verb::Pong => Op::Pong,
        Verb::Ok | Verb::Pub | Verb::Hpub | Verb::RouteMsg | Verb::RouteHmsg | Verb::LeafMsg => {
            Op::Ok
        }
    };
    Ok(op)
}

fn route_unsub(arg: &[u8]) -> Result<Op<'_>, ParseError> {
    let t = Few::split::<true>(arg, FEW);
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
#[inline(always)]
fn publish(
    kind: Kind,
    verb: Verb,
    arg: &[u8],
    at: usize,
    max_payload: usize,
) -> Result<MsgHead, ParseError> {
    let t = Few::split::<false>(arg, FEW);
    let tok = |i| t.get(i).of(arg);
    let abs = |i| t.get(i).shift(at);
    let whole = Span::new(at, at + arg.len());
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
            head.set_reply(abs(1));
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
        head.set_hdr(hdr);
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
    if head.has_hdr && head.hdr > size {
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
fn routed(verb: Verb, arg: &[u8], at: usize, max_payload: usize) -> Result<MsgHead, ParseError> {
    let (name, off, sizes) = match verb {
        Verb::RouteHmsg => ("processRoutedHeaderMsgArgs", 0, 2),
        Verb::LeafMsg => ("processRoutedOriginClusterMsgArgs", 1, 2),
        _ => ("processRoutedMsgArgs", 0, 1),
    };
    let t = Many::split::<true>(arg, usize::MAX);
    let tok = |i| t.get(i).of(arg);
    let abs = |i| t.get(i).shift(at);
    let n = t.n;
    let base = off + 2 + sizes;
    if n < base {
        return Err(bad(format!("{name} Parse Error: '{}'", go_list(arg))));
    }
    let whole = Span::new(at, at + arg.len());
    let mut head = MsgHead::new(Kind::Route, verb, whole);
    head.account = abs(off);
    head.subject = abs(off + 1);
    if n == base + 1 {
        head.set_reply(abs(off + 2));
    } else if n > base + 1 {
        let first_queue = match tok(off + 2) {
            b"+" => {
                head.set_reply(abs(off + 3));
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
            head.queues = Span::new(abs(first_queue).start(), abs(last_queue).end());
        }
    }
    if sizes == 2 {
        let Some(hdr) = parse_size(tok(n - 2)) else {
            return Err(bad(format!(
                "{name} Bad or Missing Header Size: '{}'",
                String::from_utf8_lossy(arg)
            )));
        };
        head.set_hdr(hdr);
    }
    let Some(size) = parse_size(tok(n - 1)) else {
        return Err(bad(format!(
            "{name} Bad or Missing Size: '{}'",
            go_list(arg)
        )));
    };
    head.size = size;
    if head.has_hdr && head.hdr > size {
        return Err(bad(format!(
            "{name} Header Size larger then TotalSize: '{}'",
            String::from_utf8_lossy(arg)
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
        let t = Many::split::<false>(arg, usize::MAX);
        assert_eq!(t.n, 9);
        let tok = |i| t.get(i).of(arg);
        assert_eq!(tok(0), b"a");
        assert_eq!(tok(2), b"c");
        assert_eq!(tok(5), b"f");
        assert_eq!(tok(6), b"g");
        assert_eq!(tok(8), b"i");
        let t = Few::split::<false>(b"x\ry", FEW);
        assert_eq!(t.n, 1);
        let t = Few::split::<true>(b"x\ry\n", FEW);
        assert_eq!(t.n, 2);
        assert_eq!(Few::split::<true>(b"   ", FEW).n, 0);
        assert_eq!(Few::split::<true>(b"a b c d e f g h", FEW).n, FEW);
    }

    #[test]
    fn trim_strips_json_blanks() {
        assert_eq!(trim(b" \t{}\r\n"), b"{}");
        assert_eq!(trim(b"\r"), b"");
        assert_eq!(trim(b""), b"");
        assert_eq!(go_list(b"a  b\tc"), "[a b c]");
    }
}

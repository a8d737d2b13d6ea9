//! Resumable zero-copy parser for the NATS client and route protocols.
//!
//! Usage by a connection's read loop:
//! ```ignore
//! let mut pos = 0;
//! loop {
//!     match parser.parse(&buf[pos..]) {
//!         Ok(Some((op, used))) => { handle(op); pos += used; }
//!         Ok(None) => break,                  // need more bytes; keep buf[pos..]
//!         Err(e) => { /* send e.err_text() if any, close */ }
//!     }
//! }
//! buf.advance(pos);
//! ```
//!
//! # Invariants
//! * Every call sees a buffer that starts at an op boundary. After `Ok(None)` the next call
//!   gets the same bytes plus more; the parser remembers how far it scanned (and, once the
//!   control line is complete, the parsed line as offsets), so a message trickling in over
//!   many reads costs O(bytes), not O(bytes²). The memory resets when an op completes or
//!   fails, or if a shorter buffer shows up (caller misuse is never a panic).
//! * Ops borrow from the buffer: no allocation per op. Only error values allocate.
//! * The result is a function of the bytes alone, never of how they were split into reads.
//! * No input panics: slicing of stored offsets goes through `get`.
//!
//! # Behaviour (nats-server 2.9.10's `parser.go`, observed against the real binary)
//! * Op names are matched byte by byte, case-insensitively, and an impossible byte fails at
//!   once ([`ParseError::UnknownOp`] carries Go's state number and offset).
//! * Ops with arguments need a space/TAB after the name; `CONNECT`/`INFO` need none. The
//!   argument text starts at the first non-blank byte *whatever it is* (even `\r`/`\n`) and
//!   ends at the next `\n`; if a `\r` occurred anywhere after its first byte, Go drops the
//!   last byte before the `\n` (normally that `\r`), and so do we.
//! * `PING`/`PONG`/`+OK` ignore everything up to `\n`.
//! * A payload must be followed by exactly `\r\n`.
//! * Client limits: `max_control_line` on the argument text, also while the line is still
//!   incomplete; `max_payload` as soon as a PUB/HPUB line is complete. Routes have neither.
//! * One deliberate addition (clients, limits on): bytes Go would discard without buffering
//!   (blanks before the arguments, text after `PING`) are capped at
//!   `max(64 KiB, max_control_line)` so an endless line cannot grow our read buffer forever;
//!   past that we report [`ParseError::MaxControlLine`].
//! * On a route, client `PUB`/`HPUB`/`SUB` are accepted and reported as [`Op::Ignored`] (Go
//!   drops them too) and `UNSUB <acc> <subj> [queue]` is an `RS-`, as in Go.

mod args;
mod name;
#[cfg(test)]
mod test_util;
#[cfg(test)]
mod tests_client;
#[cfg(test)]
mod tests_route;

use memchr::memchr;

use crate::errors::{self, go_quote};
use name::st;

/// Which protocol a connection speaks: decides which ops are legal and which limits apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Client,
    Route,
}

/// One parsed operation. Slices borrow from the buffer handed to [`Parser::parse`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op<'a> {
    /// `INFO <json>`: the JSON text, surrounding whitespace trimmed.
    Info(&'a [u8]),
    /// `CONNECT <json>`: the JSON text, surrounding whitespace trimmed.
    Connect(&'a [u8]),
    /// `PUB` or `HPUB` from a client.
    Pub(PubMsg<'a>),
    /// `SUB <subject> [queue] <sid>`.
    Sub {
        subject: &'a [u8],
        queue: Option<&'a [u8]>,
        sid: &'a [u8],
    },
    /// `UNSUB <sid> [max]`.
    Unsub {
        sid: &'a [u8],
        max: Option<u64>,
    },
    Ping,
    Pong,
    /// `+OK`
    Ok,
    /// `-ERR <text>`: the text as sent (quotes included, whitespace trimmed).
    Err(&'a [u8]),
    /// Route only: `RS+ <account> <subject> [<queue> <weight>]`.
    RouteSub {
        account: &'a [u8],
        subject: &'a [u8],
        queue: Option<(&'a [u8], u32)>,
    },
    /// Route only: `RS- <account> <subject> [<queue>]`.
    RouteUnsub {
        account: &'a [u8],
        subject: &'a [u8],
        queue: Option<&'a [u8]>,
    },
    /// Route only: `RMSG`, route `HMSG`, and `LMSG` (origin cluster dropped).
    RouteMsg(RoutedMsg<'a>),
    /// Route only, parsed and ignored by a core server: `LS+`, `LS-`, `A+`, `A-`.
    /// Carries the op name (e.g. `b"LS+"`) and its raw argument text.
    Ignored {
        op: &'static str,
        args: &'a [u8],
    },
}

/// A message published by a client (`PUB` or `HPUB`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PubMsg<'a> {
    pub subject: &'a [u8],
    pub reply: Option<&'a [u8]>,
    /// `Some(n)` for HPUB: the first `n` bytes of `data` are the header block.
    pub hdr_len: Option<usize>,
    /// Header block (if any) followed by the payload, without the trailing `\r\n`.
    pub data: &'a [u8],
}

/// A message arriving over a route (`RMSG`, `HMSG`, `LMSG`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoutedMsg<'a> {
    pub account: &'a [u8],
    pub subject: &'a [u8],
    pub reply: Option<&'a [u8]>,
    /// Queue group names, separated by single or multiple spaces/tabs; empty if none.
    /// (A stray CR/LF also separates, as in Go's `splitArg`.)
    /// Iterate with [`RoutedMsg::queues`].
    pub queues: &'a [u8],
    pub hdr_len: Option<usize>,
    pub data: &'a [u8],
}

impl<'a> RoutedMsg<'a> {
    /// The queue group names this message was routed for.
    pub fn queues(&self) -> impl Iterator<Item = &'a [u8]> + 'a {
        let q: &'a [u8] = self.queues;
        q.split(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
            .filter(|s| !s.is_empty())
    }
}

/// Why a byte stream could not be parsed. Each variant says what the server must do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// An unexpected byte: send `-ERR 'Unknown Protocol Operation'` and close.
    /// `state`/`offset`/`snippet` feed the log line
    /// `Client parser ERROR, state=N, i=N: proto='…'`.
    #[error("parser error, state={state}, i={offset}: proto='{snippet}'")]
    UnknownOp {
        state: u8,
        offset: usize,
        snippet: String,
    },
    /// Argument part of a control line longer than the limit (clients only):
    /// send `-ERR 'maximum control line exceeded'` and close.
    #[error("maximum control line exceeded")]
    MaxControlLine,
    /// PUB/HPUB size above max_payload (clients only): send
    /// `-ERR 'Maximum Payload Violation'` and close. Detected as soon as the control line
    /// is complete, before the payload arrives.
    #[error("maximum payload exceeded: {size} vs {max}")]
    MaxPayload { size: usize, max: usize },
    /// Malformed arguments (wrong count, bad size, hdr > total, queue RS+ without weight,
    /// bad RMSG indicator): close **without** `-ERR`, as nats-server does.
    #[error("{0}")]
    BadArgs(String),
}

impl ParseError {
    /// The text to put inside `-ERR '…'`, or `None` if the connection closes silently.
    pub fn err_text(&self) -> Option<&'static str> {
        match self {
            ParseError::UnknownOp { .. } => Some(errors::UNKNOWN_OP),
            ParseError::MaxControlLine => Some(errors::MAX_CONTROL_LINE),
            ParseError::MaxPayload { .. } => Some(errors::MAX_PAYLOAD),
            ParseError::BadArgs(_) => None,
        }
    }
}

impl Op<'_> {
    /// The op name as nats-server traces it (`PUB`, `HPUB`, `RS+`, `RMSG`, …).
    pub fn name(&self) -> &'static str {
        match self {
            Op::Info(_) => "INFO",
            Op::Connect(_) => "CONNECT",
            Op::Pub(p) if p.hdr_len.is_some() => "HPUB",
            Op::Pub(_) => "PUB",
            Op::Sub { .. } => "SUB",
            Op::Unsub { .. } => "UNSUB",
            Op::Ping => "PING",
            Op::Pong => "PONG",
            Op::Ok => "+OK",
            Op::Err(_) => "-ERR",
            Op::RouteSub { .. } => "RS+",
            Op::RouteUnsub { .. } => "RS-",
            Op::RouteMsg(m) if m.hdr_len.is_some() => "HMSG",
            Op::RouteMsg(_) => "RMSG",
            Op::Ignored { op, .. } => op,
        }
    }
}

/// Build the `UnknownOp` error for the byte at `offset`, with Go's snippet: the `%q` of up
/// to 32 bytes from there (Go stops one byte short when the buffer ends sooner; so do we).
pub(crate) fn unknown_op(state: u8, offset: usize, buf: &[u8]) -> ParseError {
    const SNIPPET: usize = 32;
    let snippet = if offset >= buf.len() {
        "\"\"".to_string()
    } else {
        let mut stop = offset + SNIPPET;
        if stop > buf.len() {
            stop = buf.len() - 1;
        }
        go_quote(buf.get(offset..stop).unwrap_or_default())
    };
    ParseError::UnknownOp {
        state,
        offset,
        snippet,
    }
}

/// Which op the name spelled. The first byte distinguishes RS±/LS± and RMSG/LMSG, which
/// share the rest of their automaton.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verb {
    Pub,
    Hpub,
    Sub,
    Unsub,
    Ping,
    Pong,
    Ok,
    Err,
    Connect,
    Info,
    RouteSub,
    RouteUnsub,
    LeafSub,
    LeafUnsub,
    RouteMsg,
    RouteHmsg,
    LeafMsg,
    AccSub,
    AccUnsub,
}

impl Verb {
    /// PING, PONG and +OK: no arguments, the rest of the line is ignored.
    fn is_bare(self) -> bool {
        matches!(self, Verb::Ping | Verb::Pong | Verb::Ok)
    }

    /// Everything but CONNECT and INFO needs a blank between the name and the arguments.
    fn needs_blank(self) -> bool {
        !matches!(self, Verb::Connect | Verb::Info)
    }

    /// Trace name, as Go's `traceInOp` spells it.
    fn trace_name(self) -> &'static str {
        match self {
            Verb::Pub => "PUB",
            Verb::Hpub => "HPUB",
            Verb::Sub => "SUB",
            Verb::Unsub => "UNSUB",
            Verb::Ping => "PING",
            Verb::Pong => "PONG",
            Verb::Ok => "+OK",
            Verb::Err => "-ERR",
            Verb::Connect => "CONNECT",
            Verb::Info => "INFO",
            Verb::RouteSub => "RS+",
            Verb::RouteUnsub => "RS-",
            Verb::LeafSub => "LS+",
            Verb::LeafUnsub => "LS-",
            Verb::RouteMsg => "RMSG",
            Verb::RouteHmsg => "HMSG",
            Verb::LeafMsg => "LMSG",
            Verb::AccSub => "A+",
            Verb::AccUnsub => "A-",
        }
    }
}

/// A byte range of the caller's buffer (or of an argument line, before `shift`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Span {
    start: usize,
    end: usize,
}

impl Span {
    fn of(self, buf: &[u8]) -> &[u8] {
        buf.get(self.start..self.end).unwrap_or_default()
    }

    fn shift(self, by: usize) -> Span {
        Span {
            start: self.start + by,
            end: self.end + by,
        }
    }
}

/// A parsed message control line, as offsets into the buffer, kept while the payload is
/// still arriving.
#[derive(Debug, Clone, Copy)]
pub(crate) struct MsgHead {
    kind: Kind,
    verb: Verb,
    /// The whole argument text (for `Op::Ignored` and tracing).
    args: Span,
    account: Span,
    subject: Span,
    reply: Option<Span>,
    queues: Span,
    hdr: Option<usize>,
    size: usize,
    /// Offset of the first payload byte (just past the control line's `\n`).
    payload_start: usize,
}

impl MsgHead {
    fn new(kind: Kind, verb: Verb, args: Span) -> MsgHead {
        MsgHead {
            kind,
            verb,
            args,
            account: Span::default(),
            subject: Span::default(),
            reply: None,
            queues: Span::default(),
            hdr: None,
            size: 0,
            payload_start: 0,
        }
    }

    fn payload_end(&self) -> usize {
        self.payload_start.saturating_add(self.size)
    }

    fn into_op(self, buf: &[u8]) -> Op<'_> {
        let data = buf
            .get(self.payload_start..self.payload_end())
            .unwrap_or_default();
        let reply = self.reply.map(|r| r.of(buf));
        match self.verb {
            Verb::Pub | Verb::Hpub if self.kind == Kind::Route => Op::Ignored {
                op: self.verb.trace_name(),
                args: self.args.of(buf),
            },
            Verb::Pub | Verb::Hpub => Op::Pub(PubMsg {
                subject: self.subject.of(buf),
                reply,
                hdr_len: self.hdr,
                data,
            }),
            _ => Op::RouteMsg(RoutedMsg {
                account: self.account.of(buf),
                subject: self.subject.of(buf),
                reply,
                queues: self.queues.of(buf),
                hdr_len: self.hdr,
                data,
            }),
        }
    }
}

/// How far the op at the start of the buffer got during earlier calls.
#[derive(Debug, Clone, Copy, Default)]
enum Progress {
    /// Nothing remembered (the name is rematched: it is at most 7 bytes).
    #[default]
    Fresh,
    /// Name known. `arg_start == 0` means the arguments have not begun and `scanned` is how
    /// far the blanks were skipped; otherwise `scanned` is how far `\n` was searched for.
    Line {
        verb: Verb,
        name_len: usize,
        name_state: u8,
        arg_start: usize,
        scanned: usize,
    },
    /// Control line parsed; waiting for payload and trailer.
    Payload(MsgHead),
}

/// Blanks before the arguments and junk after PING that a client may send before we give
/// up (see the module docs); Go discards these bytes and so has no such limit.
const FILLER_CAP: usize = 64 * 1024;

/// Parser state kept between reads. Cheap to create; one per connection.
#[derive(Debug)]
pub struct Parser {
    kind: Kind,
    max_control_line: usize,
    max_payload: usize,
    progress: Progress,
    /// Buffer length at the last `Ok(None)`; a shorter buffer means the caller started over.
    seen: usize,
    /// Trace data for the last completed op: its name and argument text.
    last_name: &'static str,
    last_args: Span,
}

impl Parser {
    /// `max_control_line` and `max_payload` apply to client connections only
    /// (0 = unlimited).
    pub fn new(kind: Kind, max_control_line: usize, max_payload: usize) -> Self {
        Parser {
            kind,
            max_control_line,
            max_payload,
            progress: Progress::Fresh,
            seen: 0,
            last_name: "",
            last_args: Span::default(),
        }
    }

    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// Change the limits (e.g. after a config reload or an account's max_payload applies).
    /// Takes effect for the next control line.
    pub fn set_limits(&mut self, max_control_line: usize, max_payload: usize) {
        self.max_control_line = max_control_line;
        self.max_payload = max_payload;
    }

    /// Parse one op from the start of `buf`. Returns the op and the number of bytes it
    /// used; `Ok(None)` when `buf` holds only part of an op (call again with the same
    /// bytes plus more). Invalid bytes are reported as soon as they are seen, even before
    /// the line is complete.
    pub fn parse<'a>(&mut self, buf: &'a [u8]) -> Result<Option<(Op<'a>, usize)>, ParseError> {
        if buf.len() < self.seen {
            self.progress = Progress::Fresh;
        }
        let result = self.parse_inner(buf);
        match &result {
            Ok(None) => self.seen = buf.len(),
            _ => {
                self.progress = Progress::Fresh;
                self.seen = 0;
            }
        }
        result
    }

    /// After `Ok(None)`: the total size the op at the start of the buffer is known to need
    /// (control line + payload + 2), so the reader can grow its buffer once. `None` while
    /// the control line itself is incomplete.
    pub fn needed(&self) -> Option<usize> {
        match self.progress {
            Progress::Payload(head) => Some(head.payload_end().saturating_add(2)),
            _ => None,
        }
    }

    /// Name of the op returned by the last successful [`Parser::parse`] (`PUB`, `RS+`, …),
    /// for `<<- [OP args]` tracing.
    pub fn last_op_name(&self) -> &'static str {
        self.last_name
    }

    /// The raw argument text of the last op returned by [`Parser::parse`], as nats-server
    /// traces it (`foo 5` for `PUB foo 5`; empty for PING). `buf` must be the buffer that
    /// was passed to that call.
    pub fn last_args<'a>(&self, buf: &'a [u8]) -> &'a [u8] {
        self.last_args.of(buf)
    }

    fn client_limits(&self) -> bool {
        self.kind == Kind::Client
    }

    fn control_line_limit(&self) -> Option<usize> {
        (self.client_limits() && self.max_control_line > 0).then_some(self.max_control_line)
    }

    fn filler_limit(&self) -> Option<usize> {
        self.control_line_limit().map(|m| m.max(FILLER_CAP))
    }

    fn check_filler(&self, len: usize) -> Result<(), ParseError> {
        match self.filler_limit() {
            Some(max) if len > max => Err(ParseError::MaxControlLine),
            _ => Ok(()),
        }
    }

    fn parse_inner<'a>(&mut self, buf: &'a [u8]) -> Result<Option<(Op<'a>, usize)>, ParseError> {
        let (verb, name_len, name_state, mut arg_start, mut scanned) = match self.progress {
            Progress::Payload(head) => return self.finish_payload(buf, head),
            Progress::Line {
                verb,
                name_len,
                name_state,
                arg_start,
                scanned,
            } => (verb, name_len, name_state, arg_start, scanned),
            Progress::Fresh => match name::scan(self.kind, buf)? {
                name::Name::Partial => return Ok(None),
                name::Name::Done { verb, len, state } => (verb, len, state, 0, len),
            },
        };
        let save = |arg_start, scanned| Progress::Line {
            verb,
            name_len,
            name_state,
            arg_start,
            scanned,
        };

        if verb.is_bare() {
            let from = scanned.max(name_len);
            let Some(nl) = find_nl(buf, from) else {
                self.check_filler(buf.len() - name_len)?;
                self.progress = save(0, buf.len());
                return Ok(None);
            };
            self.check_filler(nl - name_len)?;
            let op = match verb {
                Verb::Ping => Op::Ping,
                Verb::Pong => Op::Pong,
                _ => Op::Ok,
            };
            self.last_name = verb.trace_name();
            self.last_args = Span::default();
            return Ok(Some((op, nl + 1)));
        }

        if arg_start == 0 {
            let mut i = scanned.max(name_len);
            if i == name_len && verb.needs_blank() {
                match buf.get(name_len) {
                    None => {
                        self.progress = save(0, name_len);
                        return Ok(None);
                    }
                    Some(b' ' | b'\t') => i += 1,
                    Some(_) => return Err(unknown_op(name_state, name_len, buf)),
                }
            }
            while matches!(buf.get(i), Some(b' ' | b'\t')) {
                i += 1;
            }
            self.check_filler(i - name_len)?;
            if i >= buf.len() {
                self.progress = save(0, i);
                return Ok(None);
            }
            arg_start = i;
            scanned = i + 1;
        }

        // The first argument byte never ends the line, even if it is '\n' (Go's state
        // machine consumes it while switching to the argument state).
        let from = scanned.max(arg_start + 1);
        let Some(nl) = find_nl(buf, from) else {
            if let Some(max) = self.control_line_limit() {
                // Assume the dropped byte is still to come, so this never exceeds the
                // final length check below and splits cannot change the outcome.
                if (buf.len() - arg_start).saturating_sub(1) > max {
                    return Err(ParseError::MaxControlLine);
                }
            }
            self.progress = save(arg_start, buf.len());
            return Ok(None);
        };

        let tail = buf.get(arg_start + 1..nl).unwrap_or_default();
        let drop = tail.last() == Some(&b'\r') || memchr(b'\r', tail).is_some();
        let arg_end = nl - usize::from(drop);
        let arg = buf.get(arg_start..arg_end).unwrap_or_default();
        if let Some(max) = self.control_line_limit() {
            if arg.len() > max {
                return Err(ParseError::MaxControlLine);
            }
        }
        let max_payload = if self.client_limits() {
            self.max_payload
        } else {
            0
        };
        self.last_name = verb.trace_name();
        self.last_args = Span {
            start: arg_start,
            end: arg_end,
        };
        match args::parse(self.kind, verb, arg, arg_start, max_payload)? {
            args::Line::Op(op) => Ok(Some((op, nl + 1))),
            args::Line::Msg(mut head) => {
                head.payload_start = nl + 1;
                self.finish_payload(buf, head)
            }
        }
    }

    /// Return the message if payload and trailer are all there, fail on a bad trailer byte
    /// as soon as it is present, or remember the parsed line and wait.
    fn finish_payload<'a>(
        &mut self,
        buf: &'a [u8],
        head: MsgHead,
    ) -> Result<Option<(Op<'a>, usize)>, ParseError> {
        let end = head.payload_end();
        match buf.get(end) {
            None => {
                self.progress = Progress::Payload(head);
                return Ok(None);
            }
            Some(b'\r') => {}
            Some(_) => return Err(unknown_op(st::MSG_END_R, end, buf)),
        }
        match buf.get(end + 1) {
            None => {
                self.progress = Progress::Payload(head);
                return Ok(None);
            }
            Some(b'\n') => {}
            Some(_) => return Err(unknown_op(st::MSG_END_N, end + 1, buf)),
        }
        self.last_name = head.verb.trace_name();
        self.last_args = head.args;
        Ok(Some((head.into_op(buf), end + 2)))
    }
}

fn find_nl(buf: &[u8], from: usize) -> Option<usize> {
    memchr(b'\n', buf.get(from..)?).map(|p| from + p)
}

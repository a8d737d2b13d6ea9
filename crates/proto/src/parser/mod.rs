//! Resumable zero-copy parser for the NATS client and route protocols.
//!
//! Usage by a connection's read loop (bytes arrive in arbitrary pieces):
//! ```
//! use nats_proto::{Kind, Op, Parser};
//!
//! let mut parser = Parser::new(Kind::Client, 4096, 1 << 20);
//! let mut buf: Vec<u8> = Vec::new();
//! let mut subjects = Vec::new();
//! for read in [&b"PUB foo 5\r\nhel"[..], b"lo\r\nPI", b"NG\r\n"] {
//!     buf.extend_from_slice(read);
//!     let mut pos = 0;
//!     loop {
//!         match parser.parse(&buf[pos..]) {
//!             Ok(Some((op, used))) => {
//!                 if let Op::Pub(m) = op {
//!                     subjects.push(m.subject.to_vec());
//!                 }
//!                 pos += used;
//!             }
//!             Ok(None) => break, // keep buf[pos..] for the next read
//!             Err(e) => panic!("send -ERR {:?} and close: {e}", e.err_text()),
//!         }
//!     }
//!     buf.drain(..pos);
//! }
//! assert_eq!(subjects, [b"foo".to_vec()]);
//! assert!(buf.is_empty());
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
//! * Limits: `max_control_line` on the argument text, also while the line is still
//!   incomplete; `max_payload` as soon as a PUB/HPUB/RMSG line is complete. nats-server
//!   has neither on routes; we apply whatever the caller gives (the server passes caps
//!   far above any legitimate route op, see `route_limits` in the server crate).
//! * On a route, client `PUB`/`HPUB`/`SUB` are accepted and reported as [`Op::Ignored`] (Go
//!   drops them too) and `UNSUB <acc> <subj> [queue]` is an `RS-`, as in Go.
//! * `BadArgs` messages are Go's log texts (`processPub Parse Error: "foo"` …).
//!
//! # Deliberate differences from nats-server 2.9.10
//! * Clients: bytes Go discards without buffering (blanks before the arguments, text after
//!   `PING`) are capped at `max(64 KiB, max_control_line)` so an endless line cannot grow
//!   our read buffer forever; past that we report [`ParseError::MaxControlLine`].
//! * A client `HMSG` fails at its `M`; Go accepts the name and then fails or misparses
//!   later, depending on where its reads happen to split.
//! * Go's handling of a line split across reads differs in corner cases from its handling
//!   of the same line in one read (stray `\r`s); we always behave like the one-read case.
//! * The `UnknownOp` snippet is cut from the bytes we were given, Go's from its last read.
//! * `RS+` with an unparsable weight reports weight 0 (Go stores -1; both keep the route).
//! * `LS+` with no arguments is `BadArgs`; nats-server 2.9.10 panics on it.
//! * HPUB before headers are enabled closes at the control line only if the caller uses
//!   [`Parser::set_headers`]; otherwise the caller sees the op and decides.
//! * A control line ending beyond 4 GiB (routes have no limit) is refused as `BadArgs`.

mod args;
mod name;
mod state;
#[cfg(test)]
mod test_util;
#[cfg(test)]
mod tests_client;
#[cfg(test)]
mod tests_route;

use crate::errors::{self, go_quote};

pub use state::Parser;

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
    /// Route only: `RS+ <account> <subject> [<queue> <weight>]`. An unparsable weight is
    /// reported as 0 (Go keeps the route and stores -1).
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

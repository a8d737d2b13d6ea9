//! Resumable zero-copy parser for the NATS client and route protocols.
//!
//! STUB: the public API below is fixed; the implementation is to be written.
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
    Unsub { sid: &'a [u8], max: Option<u64> },
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
    Ignored { op: &'static str, args: &'a [u8] },
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
    /// Iterate with [`RoutedMsg::queues`].
    pub queues: &'a [u8],
    pub hdr_len: Option<usize>,
    pub data: &'a [u8],
}

impl<'a> RoutedMsg<'a> {
    /// The queue group names this message was routed for.
    pub fn queues(&self) -> impl Iterator<Item = &'a [u8]> + 'a {
        let q: &'a [u8] = self.queues;
        q.split(|b| *b == b' ' || *b == b'\t').filter(|s| !s.is_empty())
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
        todo!()
    }
}

/// Parser state kept between reads. Cheap to create; one per connection.
#[derive(Debug)]
pub struct Parser {
    kind: Kind,
    max_control_line: usize,
    max_payload: usize,
}

impl Parser {
    /// `max_control_line` and `max_payload` apply to client connections only
    /// (0 = unlimited).
    pub fn new(kind: Kind, max_control_line: usize, max_payload: usize) -> Self {
        Parser {
            kind,
            max_control_line,
            max_payload,
        }
    }

    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// Parse one op from the start of `buf`. Returns the op and the number of bytes it
    /// used; `Ok(None)` when `buf` holds only part of an op (call again with the same
    /// bytes plus more). Invalid bytes are reported as soon as they are seen, even before
    /// the line is complete.
    pub fn parse<'a>(&mut self, buf: &'a [u8]) -> Result<Option<(Op<'a>, usize)>, ParseError> {
        let _ = (buf, self.max_control_line, self.max_payload);
        todo!()
    }

    /// After `Ok(None)`: the total size the op at the start of the buffer is known to need
    /// (control line + payload + 2), so the reader can grow its buffer once. `None` while
    /// the control line itself is incomplete.
    pub fn needed(&self) -> Option<usize> {
        todo!()
    }
}

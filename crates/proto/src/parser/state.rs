//! The [`Parser`] driver: finds the op name, the argument text and the payload in a buffer
//! that starts at an op boundary, and remembers its progress across `Ok(None)` returns.
//!
//! Invariants: offsets stored between calls are relative to the start of the buffer (which
//! the caller keeps stable until the op completes) and are only ever turned into slices
//! through `get`, so a caller that breaks the contract gets wrong ops, never a panic. Stored
//! offsets are `u32`: a control line ending beyond 4 GiB is refused.

use memchr::memchr;

use super::args;
use super::name::{self, st, Name};
use super::{unknown_op, Kind, Op, ParseError, PubMsg, RoutedMsg, Verb};

/// Blanks before the arguments and junk after PING that a client may send before we give
/// up (see the module docs); Go discards these bytes and so has no such limit.
pub(super) const FILLER_CAP: usize = 64 * 1024;

/// A byte range of the caller's buffer (or of an argument line, before `shift`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Span {
    start: u32,
    end: u32,
}

/// Spans only cover control lines, and a line ending at or past `u32::MAX` is refused
/// before any span is made, so the cast is lossless.
#[inline(always)]
fn off(x: usize) -> u32 {
    x as u32
}

impl Span {
    pub(super) fn new(start: usize, end: usize) -> Span {
        Span {
            start: off(start),
            end: off(end),
        }
    }

    pub(super) fn start(self) -> usize {
        self.start as usize
    }

    pub(super) fn end(self) -> usize {
        self.end as usize
    }

    pub(super) fn of(self, buf: &[u8]) -> &[u8] {
        buf.get(self.start()..self.end()).unwrap_or_default()
    }

    pub(super) fn shift(self, by: usize) -> Span {
        Span::new(self.start() + by, self.end() + by)
    }
}

/// A parsed message control line, as offsets into the buffer, kept while the payload is
/// still arriving.
#[derive(Debug, Clone, Copy)]
pub(crate) struct MsgHead {
    pub(super) kind: Kind,
    pub(super) verb: Verb,
    pub(super) has_reply: bool,
    pub(super) has_hdr: bool,
    /// The whole argument text (for `Op::Ignored` and tracing).
    pub(super) args: Span,
    pub(super) account: Span,
    pub(super) subject: Span,
    pub(super) reply: Span,
    pub(super) queues: Span,
    pub(super) hdr: usize,
    pub(super) size: usize,
    /// Offset of the first payload byte (just past the control line's `\n`).
    pub(super) payload_start: usize,
}

impl MsgHead {
    pub(super) fn new(kind: Kind, verb: Verb, args: Span) -> MsgHead {
        MsgHead {
            kind,
            verb,
            has_reply: false,
            has_hdr: false,
            args,
            account: Span::default(),
            subject: Span::default(),
            reply: Span::default(),
            queues: Span::default(),
            hdr: 0,
            size: 0,
            payload_start: 0,
        }
    }

    pub(super) fn set_reply(&mut self, reply: Span) {
        self.reply = reply;
        self.has_reply = true;
    }

    pub(super) fn set_hdr(&mut self, hdr: usize) {
        self.hdr = hdr;
        self.has_hdr = true;
    }

    fn payload_end(&self) -> usize {
        self.payload_start.saturating_add(self.size)
    }

    #[inline(always)]
    fn into_op(self, buf: &[u8]) -> Op<'_> {
        let data = buf
            .get(self.payload_start..self.payload_end())
            .unwrap_or_default();
        let reply = self.has_reply.then(|| self.reply.of(buf));
        let hdr_len = self.has_hdr.then_some(self.hdr);
        match self.verb {
            Verb::Pub | Verb::Hpub if self.kind == Kind::Route => Op::Ignored {
                op: self.verb.trace_name(),
                args: self.args.of(buf),
            },
            Verb::Pub | Verb::Hpub => Op::Pub(PubMsg {
                subject: self.subject.of(buf),
                reply,
                hdr_len,
                data,
            }),
            _ => Op::RouteMsg(RoutedMsg {
                account: self.account.of(buf),
                subject: self.subject.of(buf),
                reply,
                queues: self.queues.of(buf),
                hdr_len,
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

/// Parser state kept between reads. Cheap to create; one per connection.
#[derive(Debug)]
pub struct Parser {
    kind: Kind,
    max_control_line: usize,
    max_payload: usize,
    /// Whether HPUB is acceptable (Go's `c.headers`); see [`Parser::set_headers`].
    headers: bool,
    progress: Progress,
    /// Buffer length at the last `Ok(None)`; a shorter buffer means the caller started over.
    seen: usize,
    /// Trace data for the last completed op: its name and argument text.
    last_name: &'static str,
    last_args: Span,
}

type Parsed<'a> = Result<Option<(Op<'a>, usize)>, ParseError>;

impl Parser {
    /// `max_control_line` and `max_payload` limit the argument text and the payload
    /// (0 = unlimited). Clients get the configured limits; routes get generous caps so a
    /// garbage peer cannot make the reader buffer without bound.
    pub fn new(kind: Kind, max_control_line: usize, max_payload: usize) -> Self {
        Parser {
            kind,
            max_control_line,
            max_payload,
            headers: true,
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

    /// Whether this connection may send HPUB. nats-server closes a connection whose HPUB
    /// arrives before a CONNECT with `headers:true` (or when the server has headers off)
    /// as soon as the control line is read, without `-ERR` and without waiting for the
    /// payload. A server that wants that exact behaviour calls `set_headers(false)` when
    /// the connection starts and `set_headers(true)` after such a CONNECT; the default
    /// (`true`) leaves the decision to the caller, after the payload.
    pub fn set_headers(&mut self, enabled: bool) {
        self.headers = enabled;
    }

    /// Parse one op from the start of `buf`. Returns the op and the number of bytes it
    /// used; `Ok(None)` when `buf` holds only part of an op (call again with the same
    /// bytes plus more). Invalid bytes are reported as soon as they are seen, even before
    /// the line is complete.
    #[inline]
    pub fn parse<'a>(&mut self, buf: &'a [u8]) -> Parsed<'a> {
        // Progress is taken out (leaving Fresh) so every return path except the `wait`
        // ones ends with a clean state, without a reset step on the hot path.
        let resume = match self.progress {
            Progress::Fresh => Progress::Fresh,
            _ if buf.len() < self.seen => {
                self.progress = Progress::Fresh;
                Progress::Fresh
            }
            _ => std::mem::take(&mut self.progress),
        };
        self.parse_from(buf, resume)
    }

    /// After `Ok(None)`: the total size the op at the start of the buffer is known to need
    /// (control line + payload + 2), so the reader can grow its buffer once. `None` while
    /// the control line itself is incomplete.
    pub fn needed(&self) -> Option<usize> {
        match &self.progress {
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

    fn control_line_limit(&self) -> Option<usize> {
        (self.max_control_line > 0).then_some(self.max_control_line)
    }

    fn check_filler(&self, len: usize) -> Result<(), ParseError> {
        match self.control_line_limit() {
            Some(max) if len > max.max(FILLER_CAP) => Err(ParseError::MaxControlLine),
            _ => Ok(()),
        }
    }

    /// Remember `progress` and ask for more bytes.
    fn wait<'a>(&mut self, progress: Progress, buf: &[u8]) -> Parsed<'a> {
        self.progress = progress;
        self.seen = buf.len();
        Ok(None)
    }

    // Always inlined into its caller's op loop (`readbuf::OpHandler::handle_batch`, one
    // copy per connection kind): left to the heuristics, whether it is depends on how
    // the server crate happens to be split into codegen units, and a build where it is
    // not is ~8% slower on small publishes (bench/results/2026-12-05-tls.txt).
    #[inline(always)]
    fn parse_from<'a>(&mut self, buf: &'a [u8], resume: Progress) -> Parsed<'a> {
        let (verb, name_len, name_state, mut arg_start, mut scanned) = match resume {
            Progress::Fresh => match name::scan(self.kind, buf)? {
                Name::Partial => return Ok(None),
                Name::Done { verb, len, state } => (verb, len, state, 0, len),
            },
            Progress::Line {
                verb,
                name_len,
                name_state,
                arg_start,
                scanned,
            } => (verb, name_len, name_state, arg_start, scanned),
            Progress::Payload(head) => {
                self.last_name = head.verb.trace_name();
                self.last_args = head.args;
                return self.finish_payload(buf, head);
            }
        };
        let save = |arg_start, scanned| Progress::Line {
            verb,
            name_len,
            name_state,
            arg_start,
            scanned,
        };

        if verb.is_bare() {
            let Some(nl) = find_nl(buf, scanned) else {
                self.check_filler(buf.len() - name_len)?;
                return self.wait(save(0, buf.len()), buf);
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
            let mut i = scanned;
            if i == name_len && verb.needs_blank() {
                match buf.get(name_len) {
                    None => return self.wait(save(0, name_len), buf),
                    Some(b' ' | b'\t') => i += 1,
                    Some(_) => return Err(unknown_op(name_state, name_len, buf)),
                }
            }
            while matches!(buf.get(i), Some(b' ' | b'\t')) {
                i += 1;
            }
            if i - name_len > FILLER_CAP {
                self.check_filler(i - name_len)?;
            }
            if i >= buf.len() {
                return self.wait(save(0, i), buf);
            }
            arg_start = i;
            scanned = i + 1;
        }

        // The first argument byte never ends the line, even if it is '\n' (Go's state
        // machine consumes it while switching to the argument state).
        let Some(nl) = find_nl(buf, scanned.max(arg_start + 1)) else {
            if let Some(max) = self.control_line_limit() {
                // Assume the dropped byte is still to come, so this never exceeds the
                // final length check below and splits cannot change the outcome.
                if (buf.len() - arg_start).saturating_sub(1) > max {
                    return Err(ParseError::MaxControlLine);
                }
            }
            return self.wait(save(arg_start, buf.len()), buf);
        };
        if nl >= u32::MAX as usize {
            return Err(ParseError::BadArgs("control line too long".into()));
        }

        // Go's drop rule: a CR anywhere after the first argument byte removes the byte
        // before the newline. Normally that byte is the CR itself, checked first.
        let tail = buf.get(arg_start + 1..nl).unwrap_or_default();
        let drop = tail.last() == Some(&b'\r') || memchr(b'\r', tail).is_some();
        let arg_end = nl - usize::from(drop);
        let arg = buf.get(arg_start..arg_end).unwrap_or_default();
        if let Some(max) = self.control_line_limit() {
            if arg.len() > max {
                return Err(ParseError::MaxControlLine);
            }
        }
        self.last_name = verb.trace_name();
        self.last_args = Span::new(arg_start, arg_end);
        if !args::has_payload(verb) {
            return Ok(Some((args::control(self.kind, verb, arg)?, nl + 1)));
        }
        let max_payload = self.max_payload;
        if verb == Verb::Hpub && !self.headers {
            return Err(ParseError::BadArgs("message headers not supported".into()));
        }
        let mut head = args::message(self.kind, verb, arg, arg_start, max_payload)?;
        head.payload_start = nl + 1;
        self.finish_payload(buf, head)
    }

    /// Return the message if payload and trailer are all there, fail on a bad trailer byte
    /// as soon as it is present, or remember the parsed line and wait.
    #[inline(always)]
    fn finish_payload<'a>(&mut self, buf: &'a [u8], head: MsgHead) -> Parsed<'a> {
        let end = head.payload_end();
        match buf.get(end..end.saturating_add(2)) {
            Some(b"\r\n") => Ok(Some((head.into_op(buf), end + 2))),
            _ => match buf.get(end) {
                None => self.wait(Progress::Payload(head), buf),
                Some(b'\r') if buf.len() == end + 1 => self.wait(Progress::Payload(head), buf),
                Some(b'\r') => Err(unknown_op(st::MSG_END_N, end + 1, buf)),
                Some(_) => Err(unknown_op(st::MSG_END_R, end, buf)),
            },
        }
    }
}

fn find_nl(buf: &[u8], from: usize) -> Option<usize> {
    memchr(b'\n', buf.get(from..)?).map(|p| from + p)
}

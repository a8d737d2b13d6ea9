//! A zero-allocation scanner for what a NATS server sends a raw benchmark client.
//!
//! The scanner owns its read buffer. It finds each control line, recognises `MSG`,
//! `PING`, `PONG` and `-ERR`, and for `MSG` takes the subject, the optional reply
//! subject (as ranges into the buffer, valid until the next [`Scanner::spare`]) and the
//! size and the payload's first [`HEAD`] bytes, then skips the rest by counting bytes — even when the payload spans reads,
//! payload bytes are never copied. Only a partial control line is ever moved, when the
//! free tail gets short. A buffer that starts small (thousands of idle connections)
//! grows when one control line does not fit, up to [`MAX_LINE`].

use std::ops::Range;

use anyhow::{bail, Context};

/// The default read buffer: big, so one read drains a lot of MSGs.
pub const READ_BUF: usize = 256 * 1024;
/// Longest control line we accept; the Go server's default is 4 KiB.
pub const MAX_LINE: usize = 64 * 1024;
/// Payload bytes a `MSG` op carries with it (room for a 64-bit sequence number).
pub const HEAD: usize = 8;
/// Compact before reading when less than this is free at the tail.
const MIN_SPARE: usize = 16 * 1024;

/// One control-line event from the scanner.
#[derive(Debug, PartialEq, Eq)]
pub enum Op {
    /// `MSG subject sid [reply] size`; ranges index [`Scanner::bytes`]. `head` is the
    /// start of the payload: its first `min(size, HEAD)` bytes.
    Msg {
        size: usize,
        subject: Range<usize>,
        reply: Option<Range<usize>>,
        head: Range<usize>,
    },
    Ping,
    Pong,
    Err(String),
    /// `INFO`, `+OK` and anything else we do not act on.
    Other,
}

#[cfg(test)]
impl Op {
    pub fn is_msg(&self) -> bool {
        matches!(self, Op::Msg { .. })
    }
}

/// Buffer plus scanner state; survives frames split across reads.
pub struct Scanner {
    buf: Vec<u8>,
    pos: usize,
    len: usize,
    /// Payload bytes (plus the trailing CRLF) still to skip.
    skip: usize,
}

impl Default for Scanner {
    fn default() -> Self {
        Scanner::new()
    }
}

impl Scanner {
    pub fn new() -> Self {
        Scanner::with_capacity(READ_BUF)
    }

    /// A scanner whose buffer starts at `cap` bytes (it grows for long lines).
    pub fn with_capacity(cap: usize) -> Self {
        Scanner {
            buf: vec![0; cap.max(64)],
            pos: 0,
            len: 0,
            skip: 0,
        }
    }

    /// The bytes a range from [`Op::Msg`] points at.
    pub fn bytes(&self, r: &Range<usize>) -> &[u8] {
        &self.buf[r.clone()]
    }

    /// The free tail to read into; compacts a partial line to the front first, and
    /// grows the buffer when a partial line fills all of it.
    pub fn spare(&mut self) -> &mut [u8] {
        if self.pos == self.len {
            self.pos = 0;
            self.len = 0;
        } else if self.pos > 0 && self.buf.len() - self.len < MIN_SPARE.min(self.buf.len() / 4) {
            // Only a partial control line can remain here (payload is skipped, not
            // kept), and it is at most MAX_LINE long, so this copy is small.
            self.buf.copy_within(self.pos..self.len, 0);
            self.len -= self.pos;
            self.pos = 0;
        }
        if self.len == self.buf.len() {
            // `next_op` fails once a line passes MAX_LINE, so this stays bounded.
            let grown = (self.buf.len() * 2).min(2 * MAX_LINE).max(self.len + 64);
            self.buf.resize(grown, 0);
        }
        &mut self.buf[self.len..]
    }

    pub fn filled(&mut self, n: usize) {
        self.len += n;
    }

    /// Whether bytes were read that no `next_*` call has consumed yet.
    pub fn has_unread(&self) -> bool {
        self.pos < self.len
    }

    /// The next complete line (without CRLF) as text; for the handshake's INFO.
    pub fn next_line(&mut self) -> Option<String> {
        let avail = &self.buf[self.pos..self.len];
        let eol = avail.iter().position(|&b| b == b'\n')?;
        let line = trim_cr(&avail[..eol]);
        let text = String::from_utf8_lossy(line).into_owned();
        self.pos += eol + 1;
        Some(text)
    }

    /// The next complete op, `Ok(None)` when more bytes are needed.
    pub fn next_op(&mut self) -> anyhow::Result<Option<Op>> {
        if self.skip > 0 {
            let take = self.skip.min(self.len - self.pos);
            self.pos += take;
            self.skip -= take;
            if self.skip > 0 {
                return Ok(None);
            }
        }
        let start = self.pos;
        let avail = &self.buf[start..self.len];
        let Some(eol) = avail.iter().position(|&b| b == b'\n') else {
            if avail.len() > MAX_LINE {
                bail!("protocol error: control line longer than {MAX_LINE} bytes");
            }
            return Ok(None);
        };
        let line = trim_cr(&avail[..eol]);
        let body = start + eol + 1;
        let op = if line.starts_with(b"MSG ") {
            let (subject, reply, size) = parse_msg(line).context("protocol error: bad MSG line")?;
            // Hand out a MSG only with its first HEAD bytes, so callers can read a
            // sequence number; until then the line stays unconsumed.
            let head = size.min(HEAD);
            if self.len - body < head {
                return Ok(None);
            }
            self.skip = size + 2;
            Op::Msg {
                size,
                subject: shift(subject, start),
                reply: reply.map(|r| shift(r, start)),
                head: body..body + head,
            }
        } else if line == b"PING" {
            Op::Ping
        } else if line == b"PONG" {
            Op::Pong
        } else if line.starts_with(b"-ERR") {
            Op::Err(String::from_utf8_lossy(line).into_owned())
        } else {
            Op::Other
        };
        self.pos = body;
        Ok(Some(op))
    }
}

fn trim_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

fn shift(r: Range<usize>, by: usize) -> Range<usize> {
    r.start + by..r.end + by
}

/// `MSG subject sid [reply] size` → (subject, reply, size), ranges relative to `line`.
/// Fields are separated by runs of spaces or tabs, as the NATS grammar allows.
pub fn parse_msg(line: &[u8]) -> Option<(Range<usize>, Option<Range<usize>>, usize)> {
    let mut fields: [Range<usize>; 5] = Default::default();
    let mut n = 0;
    let mut i = 0;
    while i < line.len() {
        while i < line.len() && (line[i] == b' ' || line[i] == b'\t') {
            i += 1;
        }
        if i == line.len() {
            break;
        }
        let begin = i;
        while i < line.len() && line[i] != b' ' && line[i] != b'\t' {
            i += 1;
        }
        if n == fields.len() {
            return None;
        }
        fields[n] = begin..i;
        n += 1;
    }
    // fields[0] is "MSG".
    let (reply, size_field) = match n {
        4 => (None, &fields[3]),
        5 => (Some(fields[3].clone()), &fields[4]),
        _ => return None,
    };
    let size = parse_digits(&line[size_field.clone()])?;
    Some((fields[1].clone(), reply, size))
}

fn parse_digits(digits: &[u8]) -> Option<usize> {
    if digits.is_empty() || digits.len() > 12 {
        return None;
    }
    digits.iter().try_fold(0usize, |acc, &b| {
        b.is_ascii_digit().then(|| acc * 10 + (b - b'0') as usize)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(s: &mut Scanner, bytes: &[u8]) {
        let mut rest = bytes;
        while !rest.is_empty() {
            let spare = s.spare();
            let n = spare.len().min(rest.len());
            spare[..n].copy_from_slice(&rest[..n]);
            s.filled(n);
            rest = &rest[n..];
        }
    }

    /// Ops with ranges replaced by the text they point at, so tests compare contents.
    #[derive(Debug, PartialEq, Eq)]
    enum Seen {
        Msg(usize, String, Option<String>, Vec<u8>),
        Ping,
        Pong,
        Err(String),
        Other,
    }

    fn drain(s: &mut Scanner) -> Vec<Seen> {
        let mut ops = Vec::new();
        while let Ok(Some(op)) = s.next_op() {
            let text = |r: &Range<usize>| String::from_utf8_lossy(s.bytes(r)).into_owned();
            ops.push(match op {
                Op::Msg {
                    size,
                    subject,
                    reply,
                    head,
                } => Seen::Msg(
                    size,
                    text(&subject),
                    reply.as_ref().map(text),
                    s.bytes(&head).to_vec(),
                ),
                Op::Ping => Seen::Ping,
                Op::Pong => Seen::Pong,
                Op::Err(e) => Seen::Err(e),
                Op::Other => Seen::Other,
            });
        }
        ops
    }

    #[test]
    fn scans_msgs_with_and_without_reply() {
        let mut s = Scanner::new();
        feed(
            &mut s,
            b"MSG a 1 3\r\nabc\r\nMSG b.c 1 _INBOX.x 2\r\nhi\r\nPING\r\n+OK\r\n",
        );
        assert_eq!(
            drain(&mut s),
            vec![
                Seen::Msg(3, "a".into(), None, b"abc".to_vec()),
                Seen::Msg(2, "b.c".into(), Some("_INBOX.x".into()), b"hi".to_vec()),
                Seen::Ping,
                Seen::Other
            ]
        );
    }

    #[test]
    fn every_split_point_gives_the_same_ops() {
        let stream: &[u8] = b"INFO {}\r\nMSG foo 1 5\r\nhello\r\nMSG foo 1 r.1 0\r\n\r\n\
            MSG q 2 12\r\n0123456789ab\r\nPONG\r\n-ERR 'x'\r\n";
        let mut whole = Scanner::new();
        feed(&mut whole, stream);
        let expected = drain(&mut whole);
        assert_eq!(expected.len(), 6);
        assert_eq!(
            expected[3],
            Seen::Msg(12, "q".into(), None, b"01234567".to_vec())
        );
        for cut in 0..stream.len() {
            let mut s = Scanner::new();
            feed(&mut s, &stream[..cut]);
            let mut ops = drain(&mut s);
            feed(&mut s, &stream[cut..]);
            ops.extend(drain(&mut s));
            assert_eq!(ops, expected, "cut at {cut}");
        }
    }

    #[test]
    fn small_buffer_grows_for_a_long_line_and_keeps_ranges_right() {
        let mut s = Scanner::with_capacity(64);
        let subject = "s".repeat(300);
        let frame = format!("INFO {{\"x\":1}}\r\nMSG {subject} 9 _R.1 4\r\nabcd\r\nPONG\r\n");
        // Feed byte by byte: the worst case for compaction and growth.
        let mut ops = Vec::new();
        for b in frame.as_bytes() {
            feed(&mut s, &[*b]);
            ops.extend(drain(&mut s));
        }
        assert_eq!(
            ops,
            vec![
                Seen::Other,
                Seen::Msg(4, subject, Some("_R.1".into()), b"abcd".to_vec()),
                Seen::Pong
            ]
        );
    }

    #[test]
    fn payload_larger_than_buffer_is_skipped() {
        let mut s = Scanner::new();
        let size = READ_BUF * 2;
        feed(&mut s, format!("MSG big 1 {size}\r\n").as_bytes());
        assert_eq!(s.next_op().ok().flatten(), None, "waits for the head");
        feed(&mut s, b"xxxxxxxx");
        assert!(s.next_op().ok().flatten().is_some_and(|op| op.is_msg()));
        let mut left = size + 2 - HEAD;
        while left > 0 {
            let chunk = left.min(READ_BUF / 2);
            feed(&mut s, &vec![b'x'; chunk]);
            assert_eq!(s.next_op().ok().flatten(), None);
            left -= chunk;
        }
        feed(&mut s, b"PING\r\n");
        assert_eq!(s.next_op().ok().flatten(), Some(Op::Ping));
    }

    #[test]
    fn bad_msg_lines_are_errors() {
        for line in [
            &b"MSG a 1 x\r\n"[..],
            b"MSG a\r\n",
            b"MSG a 1 r extra 5\r\n",
            b"MSG a 1 1234567890123\r\n",
        ] {
            let mut s = Scanner::new();
            feed(&mut s, line);
            assert!(s.next_op().is_err(), "{:?}", String::from_utf8_lossy(line));
        }
    }

    #[test]
    fn msg_fields_tolerate_tabs_and_runs_of_spaces() {
        let line = b"MSG  a.b\t7   r  12";
        let (subj, reply, size) = parse_msg(line).expect("parses");
        assert_eq!(&line[subj], b"a.b");
        assert_eq!(reply.map(|r| &line[r]), Some(&b"r"[..]));
        assert_eq!(size, 12);
    }

    #[test]
    fn overlong_line_is_an_error() {
        let mut s = Scanner::with_capacity(1024);
        let mut err = false;
        let chunk = vec![b'a'; 4096];
        for _ in 0..(MAX_LINE / 4096 + 2) {
            feed(&mut s, &chunk);
            if s.next_op().is_err() {
                err = true;
                break;
            }
        }
        assert!(err);
    }
}

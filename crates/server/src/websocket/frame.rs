//! RFC 6455 framing, sans-I/O: a resumable decoder for what clients send, and the frame
//! headers and close payloads the server writes.
//!
//! The decoder hands out payload as slices of the caller's buffer, unmasked in place, so a
//! data frame costs no copy here. A frame header split across reads is normal: `next`
//! consumes nothing until the whole header (and, for a control frame, its whole payload,
//! at most 125 bytes) is there. A data frame's payload may arrive in any number of pieces.
//!
//! What it rejects, with nats-server 2.9.10's words (they end up in the close frame):
//! an unmasked client frame, control frames over 125 bytes or fragmented, a new message
//! before the previous one's final frame, a continuation with nothing to continue or with
//! RSV1 set, an unknown opcode. Like Go it puts no limit on a data frame's length: the
//! bytes flow into the NATS parser, which enforces `max_payload`.

use thiserror::Error;

pub const MAX_CONTROL_PAYLOAD: usize = 125;
const FINAL: u8 = 0x80;
const RSV1: u8 = 0x40;
const MASK: u8 = 0x80;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpCode {
    Continuation = 0,
    Text = 1,
    Binary = 2,
    Close = 8,
    Ping = 9,
    Pong = 10,
}

/// A protocol error, worded as nats-server words it (sent back with status 1002).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{0}")]
pub struct ProtocolError(pub String);

fn err<T>(s: impl Into<String>) -> Result<T, ProtocolError> {
    Err(ProtocolError(s.into()))
}

/// One piece of what the client sent.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame<'a> {
    /// Payload bytes of a text, binary or continuation frame (possibly a part of it;
    /// possibly empty). `compressed`: the message they belong to has RSV1 set.
    /// `message_done`: these are the last bytes of the message.
    Data {
        payload: &'a [u8],
        compressed: bool,
        message_done: bool,
    },
    Ping(&'a [u8]),
    Pong,
    Close(&'a [u8]),
}

#[derive(Debug)]
pub struct Decoder {
    require_mask: bool,
    /// Inside a data frame's payload, with this many bytes still to come.
    in_payload: bool,
    rem: u64,
    mask: [u8; 4],
    masked: bool,
    mask_pos: usize,
    /// The current data frame is its message's last.
    frame_final: bool,
    /// A data message is open: its final frame has not arrived yet.
    open: bool,
    compressed: bool,
}

impl Decoder {
    /// `require_mask`: refuse unmasked frames (always, for clients, unless they asked for
    /// `Nats-No-Masking`).
    pub fn new(require_mask: bool) -> Decoder {
        Decoder {
            require_mask,
            in_payload: false,
            rem: 0,
            mask: [0; 4],
            masked: false,
            mask_pos: 0,
            frame_final: true,
            open: false,
            compressed: false,
        }
    }

    /// Decode the next piece at the start of `input`: `Ok(Some((consumed, frame)))`, or
    /// `Ok(None)` when more bytes are needed (nothing consumed).
    pub fn next<'a>(
        &mut self,
        input: &'a mut [u8],
    ) -> Result<Option<(usize, Frame<'a>)>, ProtocolError> {
        if self.in_payload {
            if input.is_empty() {
                return Ok(None);
            }
            let n = self.take(input.len());
            let payload = &mut input[..n];
            self.unmask(payload);
            return Ok(Some((n, self.data(payload))));
        }
        if input.len() < 2 {
            return Ok(None);
        }
        let (b0, b1) = (input[0], input[1]);
        let fin = b0 & FINAL != 0;
        let rsv1 = b0 & RSV1 != 0;
        let masked = b1 & MASK != 0;
        if self.require_mask && !masked {
            return err("mask bit missing");
        }
        let short = b1 & 0x7f;
        let op = match b0 & 0x0f {
            8 => OpCode::Close,
            9 => OpCode::Ping,
            10 => OpCode::Pong,
            1 => OpCode::Text,
            2 => OpCode::Binary,
            0 => OpCode::Continuation,
            other => return err(format!("unknown opcode {other}")),
        };
        let control = matches!(op, OpCode::Close | OpCode::Ping | OpCode::Pong);
        if control {
            if short as usize > MAX_CONTROL_PAYLOAD {
                return err(format!(
                    "control frame length bigger than maximum allowed of {MAX_CONTROL_PAYLOAD} bytes"
                ));
            }
            if !fin {
                return err("control frame does not have final bit set");
            }
        } else if op == OpCode::Continuation {
            if !self.open || rsv1 {
                return err("invalid continuation frame");
            }
        } else if self.open {
            return err("new message started before final frame for previous message was received");
        }
        let ext = match short {
            126 => 2,
            127 => 8,
            _ => 0,
        };
        let hdr = 2 + ext + if masked { 4 } else { 0 };
        if input.len() < hdr {
            return Ok(None);
        }
        let len = match ext {
            2 => u64::from(u16::from_be_bytes([input[2], input[3]])),
            8 => {
                let mut b = [0u8; 8];
                b.copy_from_slice(&input[2..10]);
                u64::from_be_bytes(b)
            }
            _ => u64::from(short),
        };
        let mut mask = [0u8; 4];
        if masked {
            mask.copy_from_slice(&input[2 + ext..hdr]);
        }
        if control {
            let len = len as usize;
            if input.len() < hdr + len {
                return Ok(None);
            }
            let payload = &mut input[hdr..hdr + len];
            if masked {
                unmask_with(&mask, 0, payload);
            }
            let f = match op {
                OpCode::Close => Frame::Close(payload),
                OpCode::Ping => Frame::Ping(payload),
                _ => Frame::Pong,
            };
            return Ok(Some((hdr + len, f)));
        }
        // A data frame: its header is complete; the payload follows in pieces.
        if op != OpCode::Continuation {
            self.compressed = rsv1;
        }
        self.open = !fin;
        self.frame_final = fin;
        self.rem = len;
        self.mask = mask;
        self.masked = masked;
        self.mask_pos = 0;
        self.in_payload = true;
        let n = self.take(input.len() - hdr);
        let payload = &mut input[hdr..hdr + n];
        self.unmask(payload);
        Ok(Some((hdr + n, self.data(payload))))
    }

    /// How much of `avail` bytes belongs to the current payload; leaves the payload when
    /// it is complete.
    fn take(&mut self, avail: usize) -> usize {
        let n = self.rem.min(avail as u64) as usize;
        self.rem -= n as u64;
        if self.rem == 0 {
            self.in_payload = false;
        }
        n
    }

    fn data<'a>(&self, payload: &'a [u8]) -> Frame<'a> {
        Frame::Data {
            payload,
            compressed: self.compressed,
            message_done: !self.in_payload && self.frame_final,
        }
    }

    fn unmask(&mut self, buf: &mut [u8]) {
        if self.masked {
            unmask_with(&self.mask, self.mask_pos, buf);
            self.mask_pos = (self.mask_pos + buf.len()) & 3;
        }
    }
}

/// XOR `buf` with the masking key, starting at key position `pos`; eight bytes at a time.
pub fn unmask_with(key: &[u8; 4], pos: usize, buf: &mut [u8]) {
    let mut k = [0u8; 8];
    for (i, b) in k.iter_mut().enumerate() {
        *b = key[(pos + i) & 3];
    }
    let k64 = u64::from_ne_bytes(k);
    let mut chunks = buf.chunks_exact_mut(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        c.copy_from_slice(&(u64::from_ne_bytes(w) ^ k64).to_ne_bytes());
    }
    // Whole chunks of 8 leave the key position where it was.
    for (i, b) in chunks.into_remainder().iter_mut().enumerate() {
        *b ^= key[(pos + i) & 3];
    }
}

/// Write an unmasked server frame header into `out`; returns its length (2, 4 or 10).
pub fn header(out: &mut [u8; 10], op: OpCode, fin: bool, compressed: bool, len: usize) -> usize {
    let mut b0 = op as u8;
    if fin {
        b0 |= FINAL;
    }
    if compressed {
        b0 |= RSV1;
    }
    out[0] = b0;
    if len <= 125 {
        out[1] = len as u8;
        2
    } else if len < 65536 {
        out[1] = 126;
        out[2..4].copy_from_slice(&(len as u16).to_be_bytes());
        4
    } else {
        out[1] = 127;
        out[2..10].copy_from_slice(&(len as u64).to_be_bytes());
        10
    }
}

/// Append a whole unmasked control frame (payload at most 125 bytes) to `out`.
pub fn control_frame(out: &mut Vec<u8>, op: OpCode, payload: &[u8]) {
    let payload = &payload[..payload.len().min(MAX_CONTROL_PAYLOAD)];
    let mut h = [0u8; 10];
    let n = header(&mut h, op, true, false, payload.len());
    out.extend_from_slice(&h[..n]);
    out.extend_from_slice(payload);
}

/// A close frame's payload: the status, then the reason, cut to fit a control frame
/// with a trailing "..." as Go does.
pub fn close_payload(status: u16, body: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(2 + body.len().min(MAX_CONTROL_PAYLOAD - 2));
    out.extend_from_slice(&status.to_be_bytes());
    if body.len() > MAX_CONTROL_PAYLOAD - 2 {
        // Go cuts bytes, not characters; we cut at a character boundary at or before.
        let mut cut = MAX_CONTROL_PAYLOAD - 5;
        while !body.is_char_boundary(cut) {
            cut -= 1;
        }
        out.extend_from_slice(&body.as_bytes()[..cut]);
        out.extend_from_slice(b"...");
    } else {
        out.extend_from_slice(body.as_bytes());
    }
    out
}

/// What to answer a client's close frame with: its status and reason echoed, 1005 when
/// it had none, 1007 when the reason is not UTF-8 (Go's `wsHandleControlFrame`).
pub fn close_reply(payload: &[u8]) -> Vec<u8> {
    if payload.len() < 2 {
        return close_payload(status::NO_STATUS, "");
    }
    let code = u16::from_be_bytes([payload[0], payload[1]]);
    match std::str::from_utf8(&payload[2..]) {
        Ok(body) => close_payload(code, body),
        Err(_) => close_payload(status::INVALID_PAYLOAD, "invalid utf8 body in close frame"),
    }
}

pub mod status {
    pub const NORMAL: u16 = 1000;
    pub const GOING_AWAY: u16 = 1001;
    pub const PROTOCOL_ERROR: u16 = 1002;
    pub const NO_STATUS: u16 = 1005;
    pub const ABNORMAL: u16 = 1006;
    pub const INVALID_PAYLOAD: u16 = 1007;
    pub const POLICY_VIOLATION: u16 = 1008;
    pub const TOO_BIG: u16 = 1009;
    pub const INTERNAL_ERROR: u16 = 1011;
    pub const TLS_HANDSHAKE: u16 = 1015;
}

#[cfg(test)]
#[path = "frame_tests.rs"]
mod tests;

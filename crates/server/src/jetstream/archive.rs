//! The content of a stream snapshot (`$JS.API.STREAM.SNAPSHOT`), as this server writes
//! and reads it. nats-server sends an s2-compressed tar of its own store files; ours
//! differs (our file store is not Go's), so the archive is our own:
//!
//! ```text
//! "NATSRS-SNAP\0" version:u32le
//! record*            kind:u8 len:u32le body[len]
//!   1 META           JSON {config, created}
//!   2 CONSUMER       JSON {config, created, state}   (durable consumers)
//!   3 MSG            seq:u64 ts:i64 subject_len:u32 subject hdr_len:u32 hdr data
//!   4 END            last_seq:u64 last_ts:i64 msgs:u64 crc32c:u32 (of every byte
//!                    before END)
//! ```
//!
//! wrapped in the Snappy framing format with uncompressed frames (each with its
//! masked CRC-32C), which clients that track a backup's progress with an s2 reader
//! (jsm.go's `nats stream backup`) accept. Nothing in it is compressed.

use std::io::{self, Read};

pub const MAGIC: &[u8; 12] = b"NATSRS-SNAP\0";
pub const VERSION: u32 = 1;

const META: u8 = 1;
const CONSUMER: u8 = 2;
const MSG: u8 = 3;
const END: u8 = 4;

/// Snappy's stream identifier chunk, and s2's (what nats-server writes).
const SNAPPY_ID: &[u8; 10] = b"\xff\x06\x00\x00sNaPpY";
const S2_MAGIC: &[u8; 6] = b"S2sTwO";
/// The largest uncompressed frame the Snappy framing format allows.
const MAX_FRAME: usize = 65536;
/// No record of ours is larger (a message is at most 64 MiB, plus its subject).
const MAX_RECORD: u32 = 80 << 20;

fn crc_table() -> &'static [u32; 256] {
    static TABLE: std::sync::OnceLock<[u32; 256]> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        let mut t = [0u32; 256];
        for (i, e) in t.iter_mut().enumerate() {
            let mut c = i as u32;
            for _ in 0..8 {
                c = if c & 1 != 0 {
                    (c >> 1) ^ 0x82F6_3B78
                } else {
                    c >> 1
                };
            }
            *e = c;
        }
        t
    })
}

/// A running CRC-32C (Castagnoli).
#[derive(Clone, Copy)]
pub struct Crc(u32);

impl Crc {
    pub fn new() -> Crc {
        Crc(!0)
    }
    pub fn update(&mut self, data: &[u8]) {
        let t = crc_table();
        let mut c = self.0;
        for &b in data {
            c = t[((c ^ b as u32) & 0xff) as usize] ^ (c >> 8);
        }
        self.0 = c;
    }
    pub fn value(&self) -> u32 {
        !self.0
    }
}

pub fn crc32c(data: &[u8]) -> u32 {
    let mut c = Crc::new();
    c.update(data);
    c.value()
}

/// The Snappy framing format's masked checksum.
fn masked(data: &[u8]) -> u32 {
    let c = crc32c(data);
    (c.rotate_right(15)).wrapping_add(0xa282_ead8)
}

/// Writes an archive: records in, framed bytes out (taken by the sender in chunks).
pub struct Writer {
    crc: Crc,
    msgs: u64,
    /// Archive bytes not yet framed.
    pending: Vec<u8>,
    /// Framed bytes not yet taken.
    out: Vec<u8>,
}

impl Default for Writer {
    fn default() -> Self {
        Self::new()
    }
}

impl Writer {
    pub fn new() -> Writer {
        let mut w = Writer {
            crc: Crc::new(),
            msgs: 0,
            pending: Vec::new(),
            out: SNAPPY_ID.to_vec(),
        };
        let mut head = MAGIC.to_vec();
        head.extend_from_slice(&VERSION.to_le_bytes());
        w.put(&head);
        w
    }

    fn put(&mut self, bytes: &[u8]) {
        self.crc.update(bytes);
        self.pending.extend_from_slice(bytes);
        while self.pending.len() >= MAX_FRAME {
            self.frame(MAX_FRAME);
        }
    }

    fn frame(&mut self, n: usize) {
        let data = &self.pending[..n];
        let len = (n + 4) as u32;
        self.out.push(0x01);
        self.out.extend_from_slice(&len.to_le_bytes()[..3]);
        self.out.extend_from_slice(&masked(data).to_le_bytes());
        self.out.extend_from_slice(data);
        self.pending.drain(..n);
    }

    fn record(&mut self, kind: u8, parts: &[&[u8]]) {
        let len: usize = parts.iter().map(|p| p.len()).sum();
        let mut head = [0u8; 5];
        head[0] = kind;
        head[1..].copy_from_slice(&(len as u32).to_le_bytes());
        self.put(&head);
        for p in parts {
            self.put(p);
        }
    }

    pub fn meta(&mut self, json: &[u8]) {
        self.record(META, &[json]);
    }

    pub fn consumer(&mut self, json: &[u8]) {
        self.record(CONSUMER, &[json]);
    }

    pub fn msg(&mut self, seq: u64, ts: i64, subject: &str, hdr: &[u8], data: &[u8]) {
        self.msgs += 1;
        self.record(
            MSG,
            &[
                &seq.to_le_bytes(),
                &ts.to_le_bytes(),
                &(subject.len() as u32).to_le_bytes(),
                subject.as_bytes(),
                &(hdr.len() as u32).to_le_bytes(),
                hdr,
                data,
            ],
        );
    }

    /// The closing record; everything left is framed.
    pub fn end(&mut self, last_seq: u64, last_ts: i64) {
        let crc = self.crc.value();
        let msgs = self.msgs;
        self.record(
            END,
            &[
                &last_seq.to_le_bytes(),
                &last_ts.to_le_bytes(),
                &msgs.to_le_bytes(),
                &crc.to_le_bytes(),
            ],
        );
        if !self.pending.is_empty() {
            self.frame(self.pending.len());
        }
    }

    /// Framed bytes ready to go.
    pub fn ready(&self) -> usize {
        self.out.len()
    }

    /// Up to `n` framed bytes.
    pub fn take(&mut self, n: usize) -> Vec<u8> {
        let n = n.min(self.out.len());
        self.out.drain(..n).collect()
    }
}

fn bad(why: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, why.into())
}

/// The archive bytes inside the Snappy framing.
pub struct Deframer<R> {
    inner: R,
    buf: Vec<u8>,
    pos: usize,
    started: bool,
}

impl<R: Read> Deframer<R> {
    pub fn new(inner: R) -> Self {
        Deframer {
            inner,
            buf: Vec::new(),
            pos: 0,
            started: false,
        }
    }

    /// The next frame's data into `buf`; false at the end of the input.
    fn next_frame(&mut self) -> io::Result<bool> {
        loop {
            let mut head = [0u8; 4];
            let mut got = 0;
            while got < 4 {
                let n = self.inner.read(&mut head[got..])?;
                if n == 0 {
                    if got == 0 && self.started {
                        return Ok(false);
                    }
                    return Err(bad("snapshot is truncated"));
                }
                got += n;
            }
            let kind = head[0];
            let len = u32::from_le_bytes([head[1], head[2], head[3], 0]) as usize;
            let mut body = Vec::new();
            (&mut self.inner).take(len as u64).read_to_end(&mut body)?;
            if body.len() != len {
                return Err(bad("snapshot is truncated"));
            }
            if !self.started {
                if kind == 0xff && body == S2_MAGIC {
                    return Err(bad(
                        "the snapshot was made by nats-server (an s2-compressed tar of its store files), which this server cannot restore",
                    ));
                }
                if kind != 0xff || body != SNAPSHOT_BODY {
                    return Err(bad("not a snapshot made by this server"));
                }
                self.started = true;
                continue;
            }
            match kind {
                0xff if body != SNAPSHOT_BODY => {
                    return Err(bad("bad stream identifier in snapshot"));
                }
                0xff => {}
                0x01 => {
                    if len < 4 || len - 4 > MAX_FRAME {
                        return Err(bad("bad frame in snapshot"));
                    }
                    let want = u32::from_le_bytes([body[0], body[1], body[2], body[3]]);
                    if masked(&body[4..]) != want {
                        return Err(bad("snapshot checksum mismatch"));
                    }
                    body.drain(..4);
                    self.buf = body;
                    self.pos = 0;
                    return Ok(true);
                }
                0x00 => return Err(bad("compressed frames are not supported")),
                0x02..=0x7f => return Err(bad("unknown frame in snapshot")),
                _ => {} // skippable
            }
        }
    }
}

const SNAPSHOT_BODY: &[u8; 6] = b"sNaPpY";

impl<R: Read> Read for Deframer<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.pos >= self.buf.len() {
            if !self.next_frame()? {
                return Ok(0);
            }
        }
        let n = out.len().min(self.buf.len() - self.pos);
        out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// One record of an archive.
#[derive(Debug, PartialEq, Eq)]
pub enum Record {
    Meta(Vec<u8>),
    Consumer(Vec<u8>),
    Msg {
        seq: u64,
        ts: i64,
        subject: String,
        hdr: Vec<u8>,
        data: Vec<u8>,
    },
    /// The stream's last sequence and its time (which a deleted last message keeps).
    End {
        last_seq: u64,
        last_ts: i64,
    },
}

/// Reads an archive's records, checking its header, sizes, count and checksum.
pub struct Reader<R> {
    r: R,
    crc: Crc,
    msgs: u64,
    done: bool,
}

impl<R: Read> Reader<R> {
    pub fn new(mut r: R) -> io::Result<Self> {
        let mut head = [0u8; 16];
        r.read_exact(&mut head).map_err(|e| {
            if e.kind() == io::ErrorKind::UnexpectedEof {
                bad("snapshot is truncated")
            } else {
                e
            }
        })?;
        if &head[..12] != MAGIC {
            return Err(bad("not a snapshot made by this server"));
        }
        let version = u32::from_le_bytes([head[12], head[13], head[14], head[15]]);
        if version != VERSION {
            return Err(bad(format!("unknown snapshot version {version}")));
        }
        let mut crc = Crc::new();
        crc.update(&head);
        Ok(Reader {
            r,
            crc,
            msgs: 0,
            done: false,
        })
    }

    fn exact(&mut self, buf: &mut [u8]) -> io::Result<()> {
        self.r.read_exact(buf).map_err(|e| {
            if e.kind() == io::ErrorKind::UnexpectedEof {
                bad("snapshot is truncated")
            } else {
                e
            }
        })
    }

    /// The next record; `None` after END.
    pub fn next_record(&mut self) -> io::Result<Option<Record>> {
        if self.done {
            return Ok(None);
        }
        let mut head = [0u8; 5];
        self.exact(&mut head)?;
        let kind = head[0];
        let len = u32::from_le_bytes([head[1], head[2], head[3], head[4]]);
        if len > MAX_RECORD {
            return Err(bad("snapshot record too large"));
        }
        let mut body = Vec::new();
        (&mut self.r).take(len as u64).read_to_end(&mut body)?;
        if body.len() != len as usize {
            return Err(bad("snapshot is truncated"));
        }
        if kind == END {
            if body.len() != 28 {
                return Err(bad("bad end of snapshot"));
            }
            let last_seq = u64::from_le_bytes(body[0..8].try_into().unwrap_or_default());
            let last_ts = i64::from_le_bytes(body[8..16].try_into().unwrap_or_default());
            let msgs = u64::from_le_bytes(body[16..24].try_into().unwrap_or_default());
            let crc = u32::from_le_bytes(body[24..28].try_into().unwrap_or_default());
            if crc != self.crc.value() {
                return Err(bad("snapshot checksum mismatch"));
            }
            if msgs != self.msgs {
                return Err(bad("snapshot message count mismatch"));
            }
            // Nothing may follow.
            let mut more = [0u8; 1];
            if self.r.read(&mut more)? != 0 {
                return Err(bad("unexpected data after the end of the snapshot"));
            }
            self.done = true;
            return Ok(Some(Record::End { last_seq, last_ts }));
        }
        self.crc.update(&head);
        self.crc.update(&body);
        match kind {
            META => Ok(Some(Record::Meta(body))),
            CONSUMER => Ok(Some(Record::Consumer(body))),
            MSG => {
                let rec = parse_msg(&body).ok_or_else(|| bad("bad message in snapshot"))?;
                self.msgs += 1;
                Ok(Some(rec))
            }
            k => Err(bad(format!("unknown record {k} in snapshot"))),
        }
    }
}

fn parse_msg(b: &[u8]) -> Option<Record> {
    let u64_at = |at: usize| -> Option<u64> {
        Some(u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?))
    };
    let u32_at = |at: usize| -> Option<usize> {
        Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?) as usize)
    };
    let seq = u64_at(0)?;
    let ts = u64_at(8)? as i64;
    let sl = u32_at(16)?;
    let subject = std::str::from_utf8(b.get(20..20usize.checked_add(sl)?)?).ok()?;
    let at = 20 + sl;
    let hl = u32_at(at)?;
    let hdr = b.get(at + 4..(at + 4).checked_add(hl)?)?;
    let data = b.get(at + 4 + hl..)?;
    if seq == 0 || subject.is_empty() {
        return None;
    }
    Some(Record::Msg {
        seq,
        ts,
        subject: subject.to_string(),
        hdr: hdr.to_vec(),
        data: data.to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn archive(n: u64) -> Vec<u8> {
        let mut w = Writer::new();
        w.meta(br#"{"x":1}"#);
        w.consumer(b"{}");
        for seq in 1..=n {
            let body = vec![seq as u8; (seq as usize * 37) % 3000];
            w.msg(
                seq * 2,
                seq as i64,
                &format!("s.{seq}"),
                b"NATS/1.0\r\n\r\n",
                &body,
            );
        }
        w.end(n * 2 + 5, 77);
        w.take(usize::MAX)
    }

    fn read_all(bytes: &[u8]) -> io::Result<Vec<Record>> {
        let mut r = Reader::new(Deframer::new(bytes))?;
        let mut v = Vec::new();
        while let Some(rec) = r.next_record()? {
            v.push(rec);
        }
        Ok(v)
    }

    #[test]
    fn crc32c_known_value() {
        assert_eq!(crc32c(b"123456789"), 0xe306_9283);
    }

    #[test]
    fn round_trip() {
        let bytes = archive(500);
        let recs = read_all(&bytes).unwrap();
        assert_eq!(recs.len(), 503);
        assert_eq!(recs[0], Record::Meta(br#"{"x":1}"#.to_vec()));
        assert_eq!(
            recs[502],
            Record::End {
                last_seq: 1005,
                last_ts: 77
            }
        );
        match &recs[3] {
            Record::Msg { seq, subject, .. } => assert_eq!((*seq, subject.as_str()), (4, "s.2")),
            r => panic!("{r:?}"),
        }
    }

    #[test]
    fn damage_is_an_error_never_a_panic() {
        let bytes = archive(50);
        assert!(read_all(&bytes[..bytes.len() - 3]).is_err());
        assert!(read_all(&bytes[..40]).is_err());
        assert!(read_all(b"").is_err());
        assert!(read_all(b"garbage that is not a snapshot").is_err());
        let mut flipped = bytes.clone();
        flipped[5000] ^= 0x40;
        assert!(read_all(&flipped).is_err());
        let go = b"\xff\x06\x00\x00S2sTwO\x00\x10\x00\x00abcd";
        let e = read_all(go).unwrap_err().to_string();
        assert!(e.contains("nats-server"), "{e}");
        // Every truncation and many pseudo-random corruptions fail cleanly.
        for cut in (0..bytes.len()).step_by(97) {
            assert!(read_all(&bytes[..cut]).is_err());
        }
        let mut x = 12345u32;
        for _ in 0..300 {
            let mut b = bytes.clone();
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            let at = (x as usize) % b.len();
            b[at] = b[at].wrapping_add(1 + (x >> 24) as u8 % 255);
            let _ = read_all(&b);
        }
    }
}

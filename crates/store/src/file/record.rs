//! Block records, sans-IO: encode into a buffer, decode from a byte slice. The layout is
//! in `docs/STORE.md`. Decoding never panics and never trusts a length it has not
//! checked against the bytes it was given.

/// Fixed part of every record: len, kind, flags, subj_len, seq, ts, hdr_len.
pub const HEADER: usize = 4 + 1 + 1 + 2 + 8 + 8 + 4;
pub const CRC: usize = 4;
/// Subjects are at most this long (the u16 field).
pub const MAX_SUBJECT: usize = u16::MAX as usize;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Msg = 1,
    Delete = 2,
    First = 3,
    Skip = 4,
}

impl Kind {
    fn from_u8(b: u8) -> Option<Kind> {
        Some(match b {
            1 => Kind::Msg,
            2 => Kind::Delete,
            3 => Kind::First,
            4 => Kind::Skip,
            _ => return None,
        })
    }
}

/// A decoded record, borrowing from the block's bytes.
#[derive(Debug, PartialEq, Eq)]
pub struct Record<'a> {
    pub kind: Kind,
    pub seq: u64,
    pub ts: i64,
    pub subject: &'a [u8],
    pub hdr: &'a [u8],
    pub data: &'a [u8],
    /// The whole record's length in the block.
    pub len: usize,
}

/// Why the bytes at some offset are not a record.
#[derive(Debug, PartialEq, Eq)]
pub enum Bad {
    /// Fewer bytes than the record claims (or than a header): a torn tail.
    Short,
    /// A length, kind or checksum that cannot be right.
    Invalid,
}

pub fn encoded_len(subject: usize, hdr: usize, data: usize) -> usize {
    HEADER + subject + hdr + data + CRC
}

/// Appends one record to `out`.
pub fn encode(
    out: &mut Vec<u8>,
    kind: Kind,
    seq: u64,
    ts: i64,
    subject: &[u8],
    hdr: &[u8],
    data: &[u8],
) {
    let start = out.len();
    let len = encoded_len(subject.len(), hdr.len(), data.len());
    out.reserve(len);
    out.extend_from_slice(&(len as u32).to_le_bytes());
    out.push(kind as u8);
    out.push(0);
    out.extend_from_slice(&(subject.len() as u16).to_le_bytes());
    out.extend_from_slice(&seq.to_le_bytes());
    out.extend_from_slice(&ts.to_le_bytes());
    out.extend_from_slice(&(hdr.len() as u32).to_le_bytes());
    out.extend_from_slice(subject);
    out.extend_from_slice(hdr);
    out.extend_from_slice(data);
    let crc = crc32fast::hash(&out[start..]);
    out.extend_from_slice(&crc.to_le_bytes());
}

/// Decodes the record at the start of `buf`.
pub fn decode(buf: &[u8]) -> Result<Record<'_>, Bad> {
    if buf.len() < HEADER + CRC {
        return Err(Bad::Short);
    }
    let len = u32::from_le_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize;
    if len < HEADER + CRC {
        return Err(Bad::Invalid);
    }
    if buf.len() < len {
        return Err(Bad::Short);
    }
    let kind = Kind::from_u8(buf[4]).ok_or(Bad::Invalid)?;
    let subj_len = u16::from_le_bytes([buf[6], buf[7]]) as usize;
    let seq = u64::from_le_bytes(buf[8..16].try_into().map_err(|_| Bad::Invalid)?);
    let ts = i64::from_le_bytes(buf[16..24].try_into().map_err(|_| Bad::Invalid)?);
    let hdr_len = u32::from_le_bytes(buf[24..28].try_into().map_err(|_| Bad::Invalid)?) as usize;
    let body = len - HEADER - CRC;
    if subj_len.checked_add(hdr_len).is_none_or(|n| n > body) {
        return Err(Bad::Invalid);
    }
    let want = u32::from_le_bytes(buf[len - CRC..len].try_into().map_err(|_| Bad::Invalid)?);
    if crc32fast::hash(&buf[..len - CRC]) != want {
        return Err(Bad::Invalid);
    }
    let s = HEADER;
    let h = s + subj_len;
    let d = h + hdr_len;
    Ok(Record {
        kind,
        seq,
        ts,
        subject: &buf[s..h],
        hdr: &buf[h..d],
        data: &buf[d..len - CRC],
        len,
    })
}

/// The bytes that replace a message record when it is erased: same length, sequence
/// and kind, subject/headers/payload zeroed, checksum recomputed.
pub fn erased(rec: &Record<'_>) -> Vec<u8> {
    let zeros = vec![0u8; rec.subject.len() + rec.hdr.len() + rec.data.len()];
    let (subj, rest) = zeros.split_at(rec.subject.len());
    let (hdr, data) = rest.split_at(rec.hdr.len());
    let mut out = Vec::with_capacity(rec.len);
    encode(&mut out, rec.kind, rec.seq, rec.ts, subj, hdr, data);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn round_trip() {
        let mut b = Vec::new();
        encode(
            &mut b,
            Kind::Msg,
            7,
            -3,
            b"a.b",
            b"NATS/1.0\r\n\r\n",
            b"hello",
        );
        encode(&mut b, Kind::Delete, 7, 0, b"", b"", b"");
        let r = decode(&b).unwrap();
        assert_eq!((r.kind, r.seq, r.ts), (Kind::Msg, 7, -3));
        assert_eq!((r.subject, r.data), (&b"a.b"[..], &b"hello"[..]));
        let r2 = decode(&b[r.len..]).unwrap();
        assert_eq!((r2.kind, r2.seq, r2.len), (Kind::Delete, 7, HEADER + CRC));
    }

    #[test]
    fn erased_keeps_length_and_checks() {
        let mut b = Vec::new();
        encode(&mut b, Kind::Msg, 9, 1, b"secret.subject", b"", b"secret");
        let r = decode(&b).unwrap();
        let e = erased(&r);
        assert_eq!(e.len(), b.len());
        let r = decode(&e).unwrap();
        assert_eq!(r.seq, 9);
        assert!(r.data.iter().all(|&x| x == 0));
    }

    proptest! {
        /// Any prefix of a valid record is `Short`; any single flipped byte is caught.
        #[test]
        fn torn_and_flipped(subj in "[a-z.]{1,20}", data in proptest::collection::vec(any::<u8>(), 0..200),
                            cut in 0usize..1000, flip in 0usize..1000, bit in 0u8..8) {
            let mut b = Vec::new();
            encode(&mut b, Kind::Msg, 1, 2, subj.as_bytes(), b"", &data);
            let cut = cut % b.len();
            prop_assert_eq!(decode(&b[..cut]).unwrap_err(), Bad::Short);
            let mut f = b.clone();
            let at = flip % f.len();
            f[at] ^= 1 << bit;
            // A flip in the length field may make it look short; never valid.
            prop_assert!(decode(&f).is_err());
        }

        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = decode(&bytes);
        }
    }
}

//! `permessage-deflate` (RFC 7692) without context takeover, as nats-server negotiates
//! it: every message is compressed and decompressed on its own, so the per-connection
//! state is only the (reused) zlib stream, reset after each message.

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

/// What RFC 7692 strips from the end of each compressed message, plus an empty final
/// block, so that the inflater sees a complete stream (Go's `compressLastBlock`).
const TAIL: [u8; 9] = [0x00, 0x00, 0xff, 0xff, 0x01, 0x00, 0x00, 0xff, 0xff];

pub struct Inflater(Decompress);

impl Default for Inflater {
    fn default() -> Self {
        Inflater(Decompress::new(false))
    }
}

impl Inflater {
    /// Decompress one whole message, appending to `out`. More than `limit` bytes of
    /// output is an error (a small message must not expand without bound).
    pub fn inflate(&mut self, input: &[u8], out: &mut Vec<u8>, limit: usize) -> Result<(), String> {
        let res = self.run(input, out, limit);
        self.0.reset(false);
        res
    }

    fn run(&mut self, input: &[u8], out: &mut Vec<u8>, limit: usize) -> Result<(), String> {
        let start = out.len();
        let mut src = input;
        let mut tail_fed = false;
        loop {
            if src.is_empty() && !tail_fed {
                src = &TAIL;
                tail_fed = true;
            }
            if out.len() - start > limit {
                return Err("decompressed message too large".into());
            }
            if out.capacity() - out.len() < 1024 {
                out.reserve((out.len() - start).max(4096).min(limit + 1).max(1024));
            }
            let (bi, bo) = (self.0.total_in(), self.0.total_out());
            let st = self
                .0
                .decompress_vec(src, out, FlushDecompress::None)
                .map_err(|e| e.to_string())?;
            let used = (self.0.total_in() - bi) as usize;
            let made = self.0.total_out() - bo;
            src = &src[used..];
            if st == Status::StreamEnd {
                return if out.len() - start > limit {
                    Err("decompressed message too large".into())
                } else {
                    Ok(())
                };
            }
            if used == 0 && made == 0 && (tail_fed || out.len() < out.capacity()) {
                return Err("unexpected EOF".into());
            }
        }
    }
}

pub struct Deflater(Compress);

impl Default for Deflater {
    fn default() -> Self {
        // Go's BestSpeed.
        Deflater(Compress::new(Compression::fast(), false))
    }
}

impl Deflater {
    /// Compress one whole message, appending the bytes of the frame payload to `out`.
    pub fn deflate(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<(), String> {
        let res = self.run(input, out);
        self.0.reset();
        res
    }

    fn run(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<(), String> {
        let start = out.len();
        let mut off = 0;
        loop {
            if out.capacity() - out.len() < 64 {
                out.reserve(input.len() / 2 + 64);
            }
            let before = self.0.total_in();
            self.0
                .compress_vec(&input[off..], out, FlushCompress::Sync)
                .map_err(|e| e.to_string())?;
            off += (self.0.total_in() - before) as usize;
            // A sync flush is complete when it had room left to spare.
            if off >= input.len() && out.capacity() > out.len() {
                break;
            }
        }
        // The sync flush ends with an empty stored block, 00 00 ff ff: RFC 7692 drops it.
        if out.len() - start >= 4 && out.ends_with(&[0x00, 0x00, 0xff, 0xff]) {
            out.truncate(out.len() - 4);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn round_trip_large() {
        let data: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        let mut c = Vec::new();
        Deflater::default().deflate(&data, &mut c).unwrap();
        assert!(c.len() < data.len());
        let mut back = Vec::new();
        Inflater::default().inflate(&c, &mut back, 1 << 20).unwrap();
        assert_eq!(back, data);
    }

    #[test]
    fn expansion_is_bounded() {
        let data = vec![0u8; 1 << 20];
        let mut c = Vec::new();
        Deflater::default().deflate(&data, &mut c).unwrap();
        let mut back = Vec::new();
        assert!(Inflater::default().inflate(&c, &mut back, 1000).is_err());
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let mut back = Vec::new();
        let mut i = Inflater::default();
        assert!(i.inflate(&[0xff; 40], &mut back, 1 << 20).is_err());
        // The inflater is usable again after an error.
        let mut c = Vec::new();
        Deflater::default().deflate(b"hello", &mut c).unwrap();
        back.clear();
        i.inflate(&c, &mut back, 100).unwrap();
        assert_eq!(back, b"hello");
    }

    proptest! {
        #[test]
        fn round_trips(msgs in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..3000), 1..5)) {
            let (mut d, mut i) = (Deflater::default(), Inflater::default());
            for m in msgs {
                let mut c = Vec::new();
                d.deflate(&m, &mut c).unwrap();
                let mut back = Vec::new();
                i.inflate(&c, &mut back, 1 << 20).unwrap();
                prop_assert_eq!(back, m);
            }
        }
    }
}

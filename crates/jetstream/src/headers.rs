//! Reading JetStream's headers from a NATS header block (`NATS/1.0\r\nKey: v\r\n\r\n`).
//! Keys match exactly, as nats-server's `getHeader` matches them.

pub const MSG_ID: &str = "Nats-Msg-Id";
pub const EXPECTED_STREAM: &str = "Nats-Expected-Stream";
pub const EXPECTED_LAST_SEQ: &str = "Nats-Expected-Last-Sequence";
pub const EXPECTED_LAST_SUBJECT_SEQ: &str = "Nats-Expected-Last-Subject-Sequence";
pub const EXPECTED_LAST_MSG_ID: &str = "Nats-Expected-Last-Msg-Id";
pub const ROLLUP: &str = "Nats-Rollup";
pub const STREAM_SOURCE: &str = "Nats-Stream-Source";

/// The value of `key` in `hdr`, trimmed, if present.
pub fn get<'a>(hdr: &'a [u8], key: &str) -> Option<&'a str> {
    let text = std::str::from_utf8(hdr).ok()?;
    let mut lines = text.split("\r\n");
    lines.next()?; // NATS/1.0 status line
    for line in lines {
        if let Some((k, v)) = line.split_once(':') {
            if k == key {
                return Some(v.trim());
            }
        }
    }
    None
}

/// A header holding a sequence number; `Some(None)` when present but not a number.
pub fn get_u64(hdr: &[u8], key: &str) -> Option<Option<u64>> {
    get(hdr, key).map(|v| v.parse().ok())
}

/// `hdr` with a `key: value` line added at its end (Go's `genHeader`); a fresh header
/// block when `hdr` is empty.
pub fn append(hdr: &[u8], key: &str, value: &str) -> Vec<u8> {
    let mut h = if hdr.len() > 2 && hdr.ends_with(b"\r\n\r\n") {
        hdr[..hdr.len() - 2].to_vec()
    } else {
        b"NATS/1.0\r\n".to_vec()
    };
    h.reserve(key.len() + value.len() + 6);
    h.extend_from_slice(key.as_bytes());
    h.extend_from_slice(b": ");
    h.extend_from_slice(value.as_bytes());
    h.extend_from_slice(b"\r\n\r\n");
    h
}

/// `hdr` without its `key` line (Go's `removeHeaderIfPresent`): empty when nothing else
/// is left.
pub fn remove(hdr: &[u8], key: &str) -> Vec<u8> {
    let k = key.as_bytes();
    let Some(start) = hdr
        .windows(k.len() + 1)
        .position(|w| &w[..k.len()] == k && w[k.len()] == b':')
        .filter(|&p| p > 0 && hdr[p - 1] == b'\n')
    else {
        return hdr.to_vec();
    };
    let Some(end) = hdr[start..].windows(2).position(|w| w == b"\r\n") else {
        return hdr.to_vec();
    };
    let mut out = hdr[..start].to_vec();
    out.extend_from_slice(&hdr[start + end + 2..]);
    if out.len() <= b"NATS/1.0\r\n\r\n".len() {
        return Vec::new();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_exact_keys() {
        let h = b"NATS/1.0\r\nNats-Msg-Id: abc \r\nNats-Expected-Last-Sequence: 7\r\n\r\n";
        assert_eq!(get(h, MSG_ID), Some("abc"));
        assert_eq!(get_u64(h, EXPECTED_LAST_SEQ), Some(Some(7)));
        assert_eq!(get(h, "nats-msg-id"), None);
        assert_eq!(get(b"", MSG_ID), None);
    }

    #[test]
    fn append_and_remove_as_go() {
        let h = append(b"", STREAM_SOURCE, "S 5");
        assert_eq!(h, b"NATS/1.0\r\nNats-Stream-Source: S 5\r\n\r\n");
        assert_eq!(remove(&h, STREAM_SOURCE), b"");
        let h2 = append(b"NATS/1.0\r\nA: b\r\n\r\n", STREAM_SOURCE, "S 5");
        assert_eq!(h2, b"NATS/1.0\r\nA: b\r\nNats-Stream-Source: S 5\r\n\r\n");
        assert_eq!(remove(&h2, STREAM_SOURCE), b"NATS/1.0\r\nA: b\r\n\r\n");
        assert_eq!(
            remove(&h2, "A"),
            b"NATS/1.0\r\nNats-Stream-Source: S 5\r\n\r\n"
        );
        assert_eq!(remove(&h2, "Nope"), h2);
    }
}

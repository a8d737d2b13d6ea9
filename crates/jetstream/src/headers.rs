//! Reading JetStream's headers from a NATS header block (`NATS/1.0\r\nKey: v\r\n\r\n`).
//! Keys match exactly, as nats-server's `getHeader` matches them.

pub const MSG_ID: &str = "Nats-Msg-Id";
pub const EXPECTED_STREAM: &str = "Nats-Expected-Stream";
pub const EXPECTED_LAST_SEQ: &str = "Nats-Expected-Last-Sequence";
pub const EXPECTED_LAST_SUBJECT_SEQ: &str = "Nats-Expected-Last-Subject-Sequence";
pub const EXPECTED_LAST_MSG_ID: &str = "Nats-Expected-Last-Msg-Id";
pub const ROLLUP: &str = "Nats-Rollup";

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
}

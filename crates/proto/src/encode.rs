//! Writers for server-originated control lines. Each appends to `out` and never allocates
//! beyond growing `out`: numbers go through a stack `itoa::Buffer`, and each writer reserves
//! the exact line length once so a line costs at most one reallocation.
//!
//! Invariant: what a writer emits, [`crate::Parser`] of the matching [`crate::Kind`] parses
//! back to the same fields (pinned by the round-trip property tests).

/// `PING\r\n`
pub const PING: &[u8] = b"PING\r\n";
/// `PONG\r\n`
pub const PONG: &[u8] = b"PONG\r\n";
/// `+OK\r\n`
pub const OK: &[u8] = b"+OK\r\n";
/// Line terminator, also the payload trailer.
pub const CRLF: &[u8] = b"\r\n";

/// `MSG <subject> <sid> [reply] <len>\r\n` or, when `hdr_len` is `Some`,
/// `HMSG <subject> <sid> [reply] <hdr> <total>\r\n`. The caller appends payload and `\r\n`.
pub fn msg_line(
    out: &mut Vec<u8>,
    subject: &[u8],
    sid: &[u8],
    reply: Option<&[u8]>,
    hdr_len: Option<usize>,
    total_len: usize,
) {
    let mut total = itoa::Buffer::new();
    let total = total.format(total_len).as_bytes();
    let mut hdr = itoa::Buffer::new();
    let hdr = hdr_len.map(|h| hdr.format(h).as_bytes());
    let op: &[u8] = if hdr.is_some() { b"HMSG " } else { b"MSG " };

    out.reserve(
        op.len()
            + subject.len()
            + 1
            + sid.len()
            + 1
            + reply.map_or(0, |r| r.len() + 1)
            + hdr.map_or(0, |h| h.len() + 1)
            + total.len()
            + 2,
    );
    out.extend_from_slice(op);
    out.extend_from_slice(subject);
    out.push(b' ');
    out.extend_from_slice(sid);
    out.push(b' ');
    if let Some(r) = reply {
        out.extend_from_slice(r);
        out.push(b' ');
    }
    if let Some(h) = hdr {
        out.extend_from_slice(h);
        out.push(b' ');
    }
    out.extend_from_slice(total);
    out.extend_from_slice(CRLF);
}

/// `RMSG <account> <subject> [reply | + reply q… | | q…] <len>\r\n` or the route `HMSG`
/// form with `<hdr> <total>`. The caller appends payload and `\r\n`.
pub fn rmsg_line(
    out: &mut Vec<u8>,
    account: &[u8],
    subject: &[u8],
    reply: Option<&[u8]>,
    queues: &[&[u8]],
    hdr_len: Option<usize>,
    total_len: usize,
) {
    let mut total = itoa::Buffer::new();
    let total = total.format(total_len).as_bytes();
    let mut hdr = itoa::Buffer::new();
    let hdr = hdr_len.map(|h| hdr.format(h).as_bytes());
    let op: &[u8] = if hdr.is_some() { b"HMSG " } else { b"RMSG " };
    // With queues the reply position needs a marker so the receiver can tell a reply from
    // a queue name: `+` = reply follows, `|` = no reply.
    let marker: &[u8] = match (queues.is_empty(), reply.is_some()) {
        (true, _) => b"",
        (false, true) => b"+ ",
        (false, false) => b"| ",
    };

    out.reserve(
        op.len()
            + account.len()
            + 1
            + subject.len()
            + 1
            + marker.len()
            + reply.map_or(0, |r| r.len() + 1)
            + queues.iter().map(|q| q.len() + 1).sum::<usize>()
            + hdr.map_or(0, |h| h.len() + 1)
            + total.len()
            + 2,
    );
    out.extend_from_slice(op);
    out.extend_from_slice(account);
    out.push(b' ');
    out.extend_from_slice(subject);
    out.push(b' ');
    out.extend_from_slice(marker);
    if let Some(r) = reply {
        out.extend_from_slice(r);
        out.push(b' ');
    }
    for q in queues {
        out.extend_from_slice(q);
        out.push(b' ');
    }
    if let Some(h) = hdr {
        out.extend_from_slice(h);
        out.push(b' ');
    }
    out.extend_from_slice(total);
    out.extend_from_slice(CRLF);
}

/// `RS+ <account> <subject>\r\n` or `RS+ <account> <subject> <queue> <weight>\r\n`.
pub fn rs_plus(out: &mut Vec<u8>, account: &[u8], subject: &[u8], queue: Option<(&[u8], u32)>) {
    let mut w = itoa::Buffer::new();
    let queue = queue.map(|(q, weight)| (q, w.format(weight).as_bytes()));
    out.reserve(
        4 + account.len() + 1 + subject.len() + queue.map_or(0, |(q, w)| q.len() + w.len() + 2) + 2,
    );
    out.extend_from_slice(b"RS+ ");
    out.extend_from_slice(account);
    out.push(b' ');
    out.extend_from_slice(subject);
    if let Some((q, w)) = queue {
        out.push(b' ');
        out.extend_from_slice(q);
        out.push(b' ');
        out.extend_from_slice(w);
    }
    out.extend_from_slice(CRLF);
}

/// `RS- <account> <subject>\r\n` or `RS- <account> <subject> <queue>\r\n`.
pub fn rs_minus(out: &mut Vec<u8>, account: &[u8], subject: &[u8], queue: Option<&[u8]>) {
    out.reserve(4 + account.len() + 1 + subject.len() + queue.map_or(0, |q| q.len() + 1) + 2);
    out.extend_from_slice(b"RS- ");
    out.extend_from_slice(account);
    out.push(b' ');
    out.extend_from_slice(subject);
    if let Some(q) = queue {
        out.push(b' ');
        out.extend_from_slice(q);
    }
    out.extend_from_slice(CRLF);
}

/// `-ERR '<text>'\r\n`
pub fn err_line(out: &mut Vec<u8>, text: &str) {
    out.reserve(6 + text.len() + 3);
    out.extend_from_slice(b"-ERR '");
    out.extend_from_slice(text.as_bytes());
    out.extend_from_slice(b"'\r\n");
}

/// `INFO <json> \r\n` (with the space before CRLF, as nats-server writes it).
pub fn info_line(out: &mut Vec<u8>, json: &[u8]) {
    out.reserve(5 + json.len() + 3);
    out.extend_from_slice(b"INFO ");
    out.extend_from_slice(json);
    out.extend_from_slice(b" \r\n");
}

/// `INFO <json>\r\n` without the space: the form nats-server uses when it forwards a
/// peer's INFO to its other routes (gossip). Parsers accept both.
pub fn info_line_gossip(out: &mut Vec<u8>, json: &[u8]) {
    out.reserve(5 + json.len() + 2);
    out.extend_from_slice(b"INFO ");
    out.extend_from_slice(json);
    out.extend_from_slice(CRLF);
}

/// `CONNECT <json>\r\n`, as a server sends it when dialling a route.
pub fn connect_line(out: &mut Vec<u8>, json: &[u8]) {
    out.reserve(8 + json.len() + 2);
    out.extend_from_slice(b"CONNECT ");
    out.extend_from_slice(json);
    out.extend_from_slice(CRLF);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(f: impl FnOnce(&mut Vec<u8>)) -> String {
        let mut v = b"x".to_vec(); // writers append, never overwrite
        f(&mut v);
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn msg_lines() {
        assert_eq!(
            w(|o| msg_line(o, b"foo", b"1", None, None, 5)),
            "xMSG foo 1 5\r\n"
        );
        assert_eq!(
            w(|o| msg_line(o, b"foo", b"22", Some(b"_INBOX.a"), None, 0)),
            "xMSG foo 22 _INBOX.a 0\r\n"
        );
        assert_eq!(
            w(|o| msg_line(o, b"foo", b"1", None, Some(16), 16)),
            "xHMSG foo 1 16 16\r\n"
        );
        assert_eq!(
            w(|o| msg_line(o, b"foo", b"1", Some(b"r"), Some(26), 28)),
            "xHMSG foo 1 r 26 28\r\n"
        );
    }

    #[test]
    fn rmsg_forms() {
        let rm = |reply, queues: &[&[u8]], hdr| {
            w(|o| rmsg_line(o, b"$G", b"work", reply, queues, hdr, 3))
        };
        assert_eq!(rm(None, &[], None), "xRMSG $G work 3\r\n");
        assert_eq!(
            rm(Some(b"r".as_slice()), &[], None),
            "xRMSG $G work r 3\r\n"
        );
        assert_eq!(
            rm(Some(b"r".as_slice()), &[b"q1", b"q2"], None),
            "xRMSG $G work + r q1 q2 3\r\n"
        );
        assert_eq!(
            rm(None, &[b"q1", b"q2"], None),
            "xRMSG $G work | q1 q2 3\r\n"
        );
        assert_eq!(rm(None, &[], Some(2)), "xHMSG $G work 2 3\r\n");
        assert_eq!(
            rm(Some(b"r".as_slice()), &[], Some(2)),
            "xHMSG $G work r 2 3\r\n"
        );
        assert_eq!(
            rm(Some(b"r".as_slice()), &[b"q"], Some(0)),
            "xHMSG $G work + r q 0 3\r\n"
        );
        assert_eq!(rm(None, &[b"q"], Some(1)), "xHMSG $G work | q 1 3\r\n");
    }

    #[test]
    fn interest_and_misc_lines() {
        assert_eq!(
            w(|o| rs_plus(o, b"$G", b"foo.>", None)),
            "xRS+ $G foo.>\r\n"
        );
        assert_eq!(
            w(|o| rs_plus(o, b"$G", b"work", Some((b"workers", 2)))),
            "xRS+ $G work workers 2\r\n"
        );
        assert_eq!(w(|o| rs_minus(o, b"$G", b"foo", None)), "xRS- $G foo\r\n");
        assert_eq!(
            w(|o| rs_minus(o, b"$G", b"foo", Some(b"q"))),
            "xRS- $G foo q\r\n"
        );
        assert_eq!(
            w(|o| err_line(o, crate::errors::UNKNOWN_OP)),
            "x-ERR 'Unknown Protocol Operation'\r\n"
        );
        assert_eq!(w(|o| info_line(o, b"{}")), "xINFO {} \r\n");
        assert_eq!(w(|o| info_line_gossip(o, b"{}")), "xINFO {}\r\n");
        assert_eq!(w(|o| connect_line(o, b"{}")), "xCONNECT {}\r\n");
    }

    #[test]
    fn reserve_is_exact() {
        let mut v = Vec::new();
        rmsg_line(
            &mut v,
            b"$G",
            b"a.b",
            Some(b"r"),
            &[b"q1", b"q2"],
            Some(12),
            1234,
        );
        assert_eq!(v.len(), v.capacity());
        let mut v = Vec::new();
        msg_line(&mut v, b"a", b"1", Some(b"r"), Some(1), 99);
        assert_eq!(v.len(), v.capacity());
    }
}

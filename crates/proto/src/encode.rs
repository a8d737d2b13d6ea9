//! Writers for server-originated control lines. Each appends to `out` and never allocates
//! beyond growing `out`.
//!
//! STUB: signatures fixed; bodies to be written.

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
    let _ = (out, subject, sid, reply, hdr_len, total_len);
    todo!()
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
    let _ = (out, account, subject, reply, queues, hdr_len, total_len);
    todo!()
}

/// `RS+ <account> <subject>\r\n` or `RS+ <account> <subject> <queue> <weight>\r\n`.
pub fn rs_plus(out: &mut Vec<u8>, account: &[u8], subject: &[u8], queue: Option<(&[u8], u32)>) {
    let _ = (out, account, subject, queue);
    todo!()
}

/// `RS- <account> <subject>\r\n` or `RS- <account> <subject> <queue>\r\n`.
pub fn rs_minus(out: &mut Vec<u8>, account: &[u8], subject: &[u8], queue: Option<&[u8]>) {
    let _ = (out, account, subject, queue);
    todo!()
}

/// `-ERR '<text>'\r\n`
pub fn err_line(out: &mut Vec<u8>, text: &str) {
    let _ = (out, text);
    todo!()
}

/// `INFO <json> \r\n` (with the space before CRLF, as nats-server writes it).
pub fn info_line(out: &mut Vec<u8>, json: &[u8]) {
    let _ = (out, json);
    todo!()
}

//! Every `-ERR '…'` text a peer can see, worded exactly as nats-server 2.9.10 words it.
//! Tests pin these strings: clients match on them.
//!
//! Texts that quote a subject or name use [`go_quote`], which reproduces Go's `%q`
//! (`strconv.Quote`) rather than Rust's `{:?}`: the two differ for control characters and
//! invalid UTF-8, and a client comparing error strings sees the difference.

pub const UNKNOWN_OP: &str = "Unknown Protocol Operation";
pub const AUTH_VIOLATION: &str = "Authorization Violation";
pub const AUTH_TIMEOUT: &str = "Authentication Timeout";
pub const USER_AUTH_EXPIRED: &str = "User Authentication Expired";
pub const ACCOUNT_AUTH_EXPIRED: &str = "Account Authentication Expired";
pub const USER_AUTH_REVOKED: &str = "User Authentication Revoked";
pub const MAX_PAYLOAD: &str = "Maximum Payload Violation";
pub const MAX_CONTROL_LINE: &str = "maximum control line exceeded";
pub const INVALID_PROTOCOL: &str = "invalid client protocol";
pub const NO_RESPONDERS_NEEDS_HEADERS: &str = "no responders requires headers support";
pub const MAX_CONNECTIONS: &str = "maximum connections exceeded";
pub const MAX_ACCOUNT_CONNECTIONS: &str = "maximum account active connections exceeded";
pub const STALE_CONNECTION: &str = "Stale Connection";
pub const TLS_REQUIRED: &str = "Secure Connection - TLS Required";
pub const CONNECTION_THROTTLING: &str = "Connection throttling is active. Please try again later.";
pub const FAILED_ACCOUNT_REGISTRATION: &str = "Failed Account Registration";
pub const ROUTE_PORT: &str = "attempted to connect to route port";
pub const INVALID_SUBJECT: &str = "Invalid Subject";
pub const INVALID_PUB_SUBJECT: &str = "Invalid Publish Subject";
pub const MAX_SUBSCRIPTIONS: &str = "maximum subscriptions exceeded";
pub const INVALID_SUBSCRIPTION: &str = "Invalid Subscription";

/// `Rejecting connection, cluster name "<theirs>" does not match "<ours>"`
pub fn cluster_name_mismatch(theirs: &str, ours: &str) -> String {
    format!(
        "Rejecting connection, cluster name {} does not match {}",
        go_quote(theirs.as_bytes()),
        go_quote(ours.as_bytes())
    )
}

/// `Rejecting connection from gateway "<name>" on the Route port`
pub fn gateway_on_route_port(gateway: &str) -> String {
    format!(
        "Rejecting connection from gateway {} on the Route port",
        go_quote(gateway.as_bytes())
    )
}

/// `Permissions Violation for Publish to "<subject>"`
pub fn pub_violation(subject: &str) -> String {
    format!(
        "Permissions Violation for Publish to {}",
        go_quote(subject.as_bytes())
    )
}

/// `Permissions Violation for Publish with Reply of "<reply>"`
pub fn pub_reply_violation(reply: &str) -> String {
    format!(
        "Permissions Violation for Publish with Reply of {}",
        go_quote(reply.as_bytes())
    )
}

/// `Permissions Violation for Subscription to "<subject>"`
pub fn sub_violation(subject: &str) -> String {
    format!(
        "Permissions Violation for Subscription to {}",
        go_quote(subject.as_bytes())
    )
}

/// `Permissions Violation for Subscription to "<subject>" using queue "<queue>"`
pub fn sub_queue_violation(subject: &str, queue: &str) -> String {
    format!(
        "Permissions Violation for Subscription to {} using queue {}",
        go_quote(subject.as_bytes()),
        go_quote(queue.as_bytes())
    )
}

/// `Permissions Violation for Subscription to "<subject>", too many tokens`
pub fn sub_too_many_tokens(subject: &str) -> String {
    format!(
        "Permissions Violation for Subscription to {}, too many tokens",
        go_quote(subject.as_bytes())
    )
}

/// `Permissions Violation for Subscription to "<subject>" (sid "<sid>")`: sent when a
/// permission reload removes an existing subscription.
pub fn sub_removed_violation(subject: &str, sid: &str) -> String {
    format!(
        "Permissions Violation for Subscription to {} (sid {})",
        go_quote(subject.as_bytes()),
        go_quote(sid.as_bytes())
    )
}

/// Go's `%q` of a byte string (`strconv.Quote` semantics): printable text as is, `"` and
/// `\` escaped, `\a \b \f \n \r \t \v`, other control bytes and invalid UTF-8 as `\xNN`.
/// Non-printable non-ASCII characters are approximated by Rust's `char::is_control`.
pub fn go_quote(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() + 2);
    out.push('"');
    push_go_quoted(&mut out, bytes);
    out.push('"');
    out
}

fn push_go_quoted(out: &mut String, mut bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let push_hex = |out: &mut String, b: u8| {
        out.push_str("\\x");
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 0xf)]));
    };
    while let Some((&b, rest)) = bytes.split_first() {
        if b < 0x80 {
            match b {
                b'"' => out.push_str("\\\""),
                b'\\' => out.push_str("\\\\"),
                0x07 => out.push_str("\\a"),
                0x08 => out.push_str("\\b"),
                0x0c => out.push_str("\\f"),
                b'\n' => out.push_str("\\n"),
                b'\r' => out.push_str("\\r"),
                b'\t' => out.push_str("\\t"),
                0x0b => out.push_str("\\v"),
                0x20..=0x7e => out.push(char::from(b)),
                _ => push_hex(out, b),
            }
            bytes = rest;
            continue;
        }
        // Decode one UTF-8 sequence; an invalid lead byte is escaped on its own, as Go does.
        let width = match b {
            0xc2..=0xdf => 2,
            0xe0..=0xef => 3,
            0xf0..=0xf4 => 4,
            _ => 0,
        };
        let decoded = bytes
            .get(..width)
            .and_then(|s| std::str::from_utf8(s).ok())
            .and_then(|s| s.chars().next());
        match decoded {
            Some(c) if !c.is_control() => {
                out.push(c);
                bytes = bytes.get(width..).unwrap_or_default();
            }
            Some(c) => {
                let cp = u32::from(c);
                if cp <= 0xffff {
                    out.push_str(&format!("\\u{cp:04x}"));
                } else {
                    out.push_str(&format!("\\U{cp:08x}"));
                }
                bytes = bytes.get(width..).unwrap_or_default();
            }
            None => {
                push_hex(out, b);
                bytes = rest;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_are_pinned() {
        assert_eq!(UNKNOWN_OP, "Unknown Protocol Operation");
        assert_eq!(MAX_CONTROL_LINE, "maximum control line exceeded");
        assert_eq!(MAX_PAYLOAD, "Maximum Payload Violation");
        assert_eq!(
            cluster_name_mismatch("a", "b"),
            r#"Rejecting connection, cluster name "a" does not match "b""#
        );
        assert_eq!(
            pub_violation("foo"),
            r#"Permissions Violation for Publish to "foo""#
        );
        assert_eq!(
            pub_reply_violation("_R_.x"),
            r#"Permissions Violation for Publish with Reply of "_R_.x""#
        );
        assert_eq!(
            sub_violation("foo.*"),
            r#"Permissions Violation for Subscription to "foo.*""#
        );
        assert_eq!(
            sub_queue_violation("foo", "q"),
            r#"Permissions Violation for Subscription to "foo" using queue "q""#
        );
        assert_eq!(
            sub_too_many_tokens("a.b"),
            r#"Permissions Violation for Subscription to "a.b", too many tokens"#
        );
        assert_eq!(
            sub_removed_violation("foo", "1"),
            r#"Permissions Violation for Subscription to "foo" (sid "1")"#
        );
        assert_eq!(
            gateway_on_route_port("gw"),
            r#"Rejecting connection from gateway "gw" on the Route port"#
        );
    }

    #[test]
    fn go_quote_matches_strconv_quote() {
        assert_eq!(go_quote(b"PUB foo 1\r"), r#""PUB foo 1\r""#);
        assert_eq!(go_quote(b"a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(go_quote(b"\x00\x7f\x1b"), r#""\x00\x7f\x1b""#);
        assert_eq!(go_quote(b"\x07\x08\x0c\x0b\t\n"), r#""\a\b\f\v\t\n""#);
        assert_eq!(go_quote("héllo €".as_bytes()), "\"héllo €\"");
        assert_eq!(go_quote(b"\xff\xc3"), r#""\xff\xc3""#);
        assert_eq!(go_quote("\u{85}".as_bytes()), r#""\u0085""#);
        assert_eq!(go_quote(b""), r#""""#);
    }
}

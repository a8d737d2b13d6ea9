//! Redaction of secrets before anything is traced or logged.
//!
//! Every trace or log line that may carry a credential goes through this module:
//! the CONNECT JSON of clients and routes (`connect_json`) and route URLs with a
//! `user:password@` part (`url`).
//!
//! `connect_json` keeps the text as it came and replaces only the *value* of a secret key
//! with `"[REDACTED]"`, which is what nats-server 2.9.10 prints for `pass`:
//! `{"user":"a","pass":"[REDACTED]"}`. Unlike nats-server (which matches the exact key
//! `pass`/`password` only), keys are matched case-insensitively, as Go's `encoding/json`
//! matches them when it reads a CONNECT, escaped keys are decoded before matching, and
//! tokens, nkey signatures (`sig`) and JWTs are hidden as well (an nkey user's `nkey`
//! is its public key: shown, as nats-server shows it). The scanner is tolerant: on malformed
//! JSON it still hides every value that follows a secret key, up to the end of the text
//! when the value never ends.

/// The value written in place of a secret, with its quotes (Go's text).
pub const REDACTED: &str = "\"[REDACTED]\"";

/// CONNECT keys whose values are secrets, lower case.
const SECRET_KEYS: &[&str] = &["pass", "password", "auth_token", "token", "sig", "jwt"];

/// Is this JSON key (already unescaped) one whose value must not be logged?
pub fn is_secret_key(key: &str) -> bool {
    SECRET_KEYS.iter().any(|k| k.eq_ignore_ascii_case(key))
}

/// The CONNECT JSON text with every secret value replaced by `"[REDACTED]"`.
pub fn connect_json(json: &str) -> String {
    let b = json.as_bytes();
    let mut out = String::with_capacity(json.len());
    let mut copied = 0; // bytes of `json` already copied to `out`
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'"' {
            i += 1;
            continue;
        }
        let end = string_end(b, i);
        let Some(end) = end else { break };
        // A string followed by `:` is a key.
        let mut j = end;
        while j < b.len() && b[j].is_ascii_whitespace() {
            j += 1;
        }
        if j < b.len() && b[j] == b':' && key_is_secret(&json[i..end]) {
            j += 1;
            while j < b.len() && b[j].is_ascii_whitespace() {
                j += 1;
            }
            let vend = value_end(b, j);
            out.push_str(&json[copied..j]);
            out.push_str(REDACTED);
            copied = vend;
            i = vend;
        } else {
            i = end;
        }
    }
    out.push_str(&json[copied..]);
    out
}

/// Decode a quoted key (with its quotes) and check it against the secret list.
fn key_is_secret(quoted: &str) -> bool {
    match serde_json::from_str::<String>(quoted) {
        Ok(k) => is_secret_key(&k),
        // An undecodable key: compare the raw text, so that nothing slips through.
        Err(_) => is_secret_key(quoted.trim_matches('"')),
    }
}

/// Given `b[start] == b'"'`, the index just past the closing quote, if there is one.
fn string_end(b: &[u8], start: usize) -> Option<usize> {
    let mut i = start + 1;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b'"' => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

/// The end of the JSON value starting at `start` (a string, or anything up to the next
/// `,` or `}` outside brackets). An unterminated value runs to the end of the text.
fn value_end(b: &[u8], start: usize) -> usize {
    if start < b.len() && b[start] == b'"' {
        return string_end(b, start).unwrap_or(b.len());
    }
    let mut depth = 0usize;
    let mut i = start;
    while i < b.len() {
        match b[i] {
            b'"' => {
                i = string_end(b, i).unwrap_or(b.len());
                continue;
            }
            b'[' | b'{' => depth += 1,
            b']' | b'}' if depth > 0 => depth -= 1,
            b',' | b'}' if depth == 0 => {
                // Keep trailing whitespace before the delimiter out of the value.
                let mut e = i;
                while e > start && b[e - 1].is_ascii_whitespace() {
                    e -= 1;
                }
                return e;
            }
            _ => {}
        }
        i += 1;
    }
    b.len()
}

/// The URL with its password replaced by `xxxxx`, as Go's `url.Redacted`, for logs.
pub fn url(url: &url::Url) -> String {
    let mut u = url.clone();
    if u.password().is_some() {
        let _ = u.set_password(Some("xxxxx"));
    }
    u.to_string()
}

/// A JSON decoding error without the value it may quote (serde says "invalid type:
/// integer `12345`"; that integer could be a password).
pub fn json_error(e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let what = match e.classify() {
        Category::Io => "I/O error",
        Category::Syntax => "invalid JSON",
        Category::Data => "invalid value",
        Category::Eof => "unexpected end of JSON",
    };
    format!("{what} at line {} column {}", e.line(), e.column())
}

/// Percent-decode a URL's user or password (`%2B` → `+`, `%26` → `&`, `+` stays `+`).
pub fn url_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pass_is_redacted_in_place_as_go_prints_it() {
        // Go 2.9.10 with -V printed exactly this for the same CONNECT.
        assert_eq!(
            connect_json(r#"{"user":"a", "pass":"s3cret","verbose":false}"#),
            r#"{"user":"a", "pass":"[REDACTED]","verbose":false}"#
        );
    }

    #[test]
    fn every_secret_key_in_any_case() {
        let j = r#"{"Pass":"p1","PASS":"p2","password":"p3","Auth_Token":"t1","auth_token":"t2","sig":"s1","JWT":"j1","user":"u","p\u0061ss":"p4","pass" : 12345 ,"token":{"a":["x"]}}"#;
        let r = connect_json(j);
        for s in [
            "p1", "p2", "p3", "t1", "t2", "s1", "j1", "p4", "12345", "\"x\"",
        ] {
            assert!(!r.contains(s), "{s} leaked in {r}");
        }
        assert!(r.contains(r#""user":"u""#));
        assert!(r.contains(r#""pass" : "[REDACTED]" ,"#), "{r}");
    }

    #[test]
    fn nkey_signature_is_hidden_the_public_key_kept() {
        // The CONNECT async-nats sends for an nkey user (`ConnectOptions::nkey`).
        let kp = nkeys::KeyPair::new_user();
        let sig = {
            use base64::Engine;
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .encode(kp.sign(b"nonce123456789a").unwrap())
        };
        let pk = kp.public_key();
        let j = format!(
            r#"{{"verbose":false,"pedantic":false,"nkey":"{pk}","sig":"{sig}","tls_required":false,"name":"x","lang":"rust","version":"0.42.0","protocol":1,"echo":true,"headers":true,"no_responders":true}}"#
        );
        let r = connect_json(&j);
        assert!(!r.contains(&sig), "{r}");
        assert!(
            r.contains(&format!(
                r#""nkey":"{pk}","sig":"[REDACTED]","tls_required""#
            )),
            "{r}"
        );
        // Whatever the case of the key, and with spaces around the colon.
        let r = connect_json(&format!(r#"{{"SIG" :  "{sig}" }}"#));
        assert_eq!(r, r#"{"SIG" :  "[REDACTED]" }"#);
    }

    #[test]
    fn escaped_quotes_and_malformed_text() {
        let r = connect_json(r#"{"pass":"a\"b\"c","x":1}"#);
        assert_eq!(r, r#"{"pass":"[REDACTED]","x":1}"#);
        let r = connect_json(r#"{"pass":"never ends"#);
        assert_eq!(r, r#"{"pass":"[REDACTED]""#);
        let r = connect_json(r#"{"pass":secret"#);
        assert!(!r.contains("secret"), "{r}");
        assert_eq!(connect_json("not json"), "not json");
    }

    #[test]
    fn json_errors_do_not_quote_values() {
        let e = serde_json::from_str::<nats_proto::info::ConnectInfo>(r#"{"pass":987654}"#)
            .unwrap_err();
        assert!(e.to_string().contains("987654"), "serde quotes it: {e}");
        let m = json_error(&e);
        assert!(!m.contains("987654"), "{m}");
        assert!(m.starts_with("invalid value at line 1"), "{m}");
    }

    #[test]
    fn urls() {
        let u = url::Url::parse("nats-route://ruser:p%2Bw@127.0.0.1:4248").unwrap();
        assert_eq!(url(&u), "nats-route://ruser:xxxxx@127.0.0.1:4248");
        let plain = url::Url::parse("nats://h:1").unwrap();
        assert_eq!(url(&plain), "nats://h:1");
        assert_eq!(url_decode("a+b%26c%252Bd%2B"), "a+b&c%2Bd+");
        assert_eq!(url_decode("%é%"), "%é%");
    }
}

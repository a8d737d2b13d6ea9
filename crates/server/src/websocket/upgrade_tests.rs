use super::*;

fn req(extra: &str) -> Request {
    let text = format!(
        "GET / HTTP/1.1\r\nHost: localhost:8080\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n{extra}\r\n"
    );
    match parse(text.as_bytes()) {
        Parsed::Complete(r, n) => {
            assert_eq!(n, text.len());
            r
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn rfc_accept_key() {
    assert_eq!(
        accept_key("dGhlIHNhbXBsZSBub25jZQ=="),
        "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
    );
}

#[test]
fn a_good_request_upgrades_as_go_answers() {
    let a = check(&req(""), &OriginPolicy::default(), false, false).unwrap();
    assert_eq!(
        switching(&a),
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n".to_vec()
    );
}

#[test]
fn compression_only_when_offered_and_enabled() {
    let r = req("Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n");
    assert!(
        check(&r, &OriginPolicy::default(), true, false)
            .unwrap()
            .compress
    );
    assert!(
        !check(&r, &OriginPolicy::default(), false, false)
            .unwrap()
            .compress
    );
    assert!(
        !check(&req(""), &OriginPolicy::default(), true, false)
            .unwrap()
            .compress
    );
}

#[test]
fn refusals_in_go_order() {
    let p = OriginPolicy::default();
    let bad = |text: &str| match parse(text.as_bytes()) {
        Parsed::Complete(r, _) => check(&r, &p, false, false).unwrap_err(),
        other => panic!("{other:?}"),
    };
    assert_eq!(bad("POST / HTTP/1.1\r\nHost: x\r\n\r\n").status, 405);
    assert_eq!(
        bad("GET / HTTP/1.1\r\nHost: x\r\n\r\n").reason,
        "invalid value for header 'Upgrade'"
    );
    assert_eq!(
        bad("GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\r\n").reason,
        "invalid value for header 'Connection'"
    );
    assert_eq!(
        bad("GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
            .reason,
        "key missing"
    );
    assert_eq!(
        bad("GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: k\r\n\r\n").reason,
        "invalid version"
    );
    assert_eq!(
        bad("GET / HTTP/1.1\r\nUpgrade: websocket\r\n\r\n").status,
        0
    );
}

#[test]
fn origins() {
    let same = OriginPolicy::new(true, &[]);
    assert!(
        check(&req(""), &same, false, false).is_ok(),
        "no origin: allowed"
    );
    assert!(check(
        &req("Origin: http://localhost:8080\r\n"),
        &same,
        false,
        false
    )
    .is_ok());
    let e = check(&req("Origin: http://other:8080\r\n"), &same, false, false).unwrap_err();
    assert_eq!(
        (e.status, e.reason.as_str()),
        (403, "origin not allowed: not same origin")
    );
    let list = OriginPolicy::new(false, &["https://app.example.com".to_string()]);
    assert!(check(
        &req("Origin: https://app.example.com\r\n"),
        &list,
        false,
        false
    )
    .is_ok());
    assert!(check(
        &req("Origin: https://app.example.com:443\r\n"),
        &list,
        false,
        false
    )
    .is_ok());
    let e = check(
        &req("Origin: http://app.example.com\r\n"),
        &list,
        false,
        false,
    )
    .unwrap_err();
    assert_eq!(e.reason, "origin not allowed: not in the allowed list");
}

#[test]
fn refusal_bytes() {
    let r = Rejected {
        status: 400,
        reason: "x".into(),
        close: false,
    };
    let got = String::from_utf8(refusal(&r, false, "Sat, 05 Dec 2026 07:02:59 GMT")).unwrap();
    assert_eq!(got, "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nSec-Websocket-Version: 13\r\nX-Content-Type-Options: nosniff\r\nDate: Sat, 05 Dec 2026 07:02:59 GMT\r\nContent-Length: 12\r\n\r\nBad Request\n");
    assert_eq!(
        server_error_close(400, None),
        b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n400 Bad Request".to_vec()
    );
}

#[test]
fn heads_too_large_or_malformed() {
    assert!(matches!(parse(b"garbage\r\n\r\n"), Parsed::Malformed));
    assert!(matches!(
        parse(b"GET / HTTP/1.1\r\nHost: x\r\n"),
        Parsed::Partial
    ));
    let mut big = b"GET / HTTP/1.1\r\nX: ".to_vec();
    big.extend(std::iter::repeat_n(b'a', MAX_HEAD + 10));
    assert!(matches!(parse(&big), Parsed::TooLarge));
}

#[test]
fn jwt_cookie_found_as_go_finds_it() {
    let r = req("Cookie: a=1; jwt=eyJ.x.y\r\nCookie: jwt=second\r\n");
    assert_eq!(cookie(&r, "jwt").as_deref(), Some("eyJ.x.y"));
    assert_eq!(cookie(&r, "a").as_deref(), Some("1"));
    assert_eq!(cookie(&r, "JWT"), None);
    assert_eq!(
        cookie(&req("Cookie: jwt=\"q\"\r\n"), "jwt").as_deref(),
        Some("q")
    );
    assert_eq!(cookie(&req(""), "jwt"), None);
}

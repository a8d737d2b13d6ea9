use super::*;
use proptest::prelude::*;

/// A client frame as a browser would send it: masked with `key`.
fn client_frame(op: u8, fin: bool, rsv1: bool, key: [u8; 4], payload: &[u8]) -> Vec<u8> {
    let mut b0 = op;
    if fin {
        b0 |= 0x80;
    }
    if rsv1 {
        b0 |= 0x40;
    }
    let mut out = vec![b0];
    let len = payload.len();
    if len <= 125 {
        out.push(0x80 | len as u8);
    } else if len < 65536 {
        out.push(0x80 | 126);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(0x80 | 127);
        out.extend_from_slice(&(len as u64).to_be_bytes());
    }
    out.extend_from_slice(&key);
    out.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i & 3]));
    out
}

#[derive(Debug, PartialEq)]
enum Got {
    Msg(Vec<u8>, bool),
    Ping(Vec<u8>),
    Pong,
    Close(Vec<u8>),
}

/// Feed `wire` to a decoder in pieces of the given sizes (cycled), as reads would.
fn decode_in_pieces(wire: &[u8], pieces: &[usize]) -> Result<Vec<Got>, ProtocolError> {
    let mut d = Decoder::new(true);
    let mut buf: Vec<u8> = Vec::new();
    let mut out = Vec::new();
    let mut msg = Vec::new();
    let mut fed = 0;
    let mut i = 0;
    while fed < wire.len() || !buf.is_empty() {
        if fed < wire.len() {
            let n = pieces[i % pieces.len()].max(1).min(wire.len() - fed);
            i += 1;
            buf.extend_from_slice(&wire[fed..fed + n]);
            fed += n;
        }
        while let Some((used, f)) = d.next(&mut buf)? {
            match f {
                Frame::Data {
                    payload,
                    compressed,
                    message_done,
                } => {
                    msg.extend_from_slice(payload);
                    if message_done {
                        out.push(Got::Msg(std::mem::take(&mut msg), compressed));
                    }
                }
                Frame::Ping(p) => out.push(Got::Ping(p.to_vec())),
                Frame::Pong => out.push(Got::Pong),
                Frame::Close(p) => out.push(Got::Close(p.to_vec())),
            }
            buf.drain(..used);
            if buf.is_empty() {
                break;
            }
        }
        if fed == wire.len() && !buf.is_empty() {
            // Whatever is left cannot be decoded: an incomplete frame.
            if d.next(&mut buf)?.is_none() {
                break;
            }
        }
    }
    Ok(out)
}

#[test]
fn a_masked_binary_frame_is_unmasked() {
    let wire = client_frame(2, true, false, [1, 2, 3, 4], b"PING\r\n");
    let got = decode_in_pieces(&wire, &[100]).unwrap();
    assert_eq!(got, vec![Got::Msg(b"PING\r\n".to_vec(), false)]);
}

#[test]
fn lengths_of_each_header_size() {
    for len in [0usize, 1, 125, 126, 127, 65535, 65536, 70000] {
        let p: Vec<u8> = (0..len).map(|i| (i * 7) as u8).collect();
        let wire = client_frame(2, true, false, [9, 8, 7, 6], &p);
        let got = decode_in_pieces(&wire, &[4096]).unwrap();
        assert_eq!(got, vec![Got::Msg(p, false)], "len {len}");
    }
}

#[test]
fn fragmented_message_with_control_frames_between() {
    let mut wire = client_frame(2, false, false, [1, 1, 1, 1], b"PUB a 5\r\n");
    wire.extend(client_frame(9, true, false, [2, 2, 2, 2], b"hi"));
    wire.extend(client_frame(0, false, false, [3, 3, 3, 3], b"hel"));
    wire.extend(client_frame(10, true, false, [2, 2, 2, 2], b""));
    wire.extend(client_frame(0, true, false, [4, 4, 4, 4], b"lo\r\n"));
    let got = decode_in_pieces(&wire, &[1]).unwrap();
    assert_eq!(
        got,
        vec![
            Got::Ping(b"hi".to_vec()),
            Got::Pong,
            Got::Msg(b"PUB a 5\r\nhello\r\n".to_vec(), false)
        ]
    );
}

#[test]
fn go_protocol_errors() {
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (vec![0x82, 0x01, b'x'], "mask bit missing"),
        (
            client_frame(9, true, false, [0; 4], &[0u8; 126]),
            "control frame length bigger than maximum allowed of 125 bytes",
        ),
        (
            client_frame(9, false, false, [0; 4], b""),
            "control frame does not have final bit set",
        ),
        (
            client_frame(0, true, false, [0; 4], b"x"),
            "invalid continuation frame",
        ),
        (
            client_frame(3, true, false, [0; 4], b"x"),
            "unknown opcode 3",
        ),
        (
            [
                client_frame(2, false, false, [0; 4], b"x"),
                client_frame(2, true, false, [0; 4], b"y"),
            ]
            .concat(),
            "new message started before final frame for previous message was received",
        ),
        (
            [
                client_frame(2, false, true, [0; 4], b"x"),
                client_frame(0, true, true, [0; 4], b"y"),
            ]
            .concat(),
            "invalid continuation frame",
        ),
    ];
    for (wire, want) in cases {
        assert_eq!(
            decode_in_pieces(&wire, &[1000]).unwrap_err().0,
            want,
            "{wire:?}"
        );
    }
}

#[test]
fn unmasked_frames_pass_when_masking_is_off() {
    let mut d = Decoder::new(false);
    let mut wire = vec![0x82, 0x03, b'a', b'b', b'c'];
    let (n, f) = d.next(&mut wire).unwrap().unwrap();
    assert_eq!(n, 5);
    assert_eq!(
        f,
        Frame::Data {
            payload: b"abc",
            compressed: false,
            message_done: true
        }
    );
}

#[test]
fn close_payloads_as_go_builds_them() {
    assert_eq!(close_reply(&[]), vec![0x03, 0xed]);
    assert_eq!(
        close_reply(&[0x03, 0xe8, b'b', b'y']),
        b"\x03\xe8by".to_vec()
    );
    assert_eq!(
        close_reply(&[0x03, 0xe8, 0xff]),
        [&[0x03, 0xef][..], b"invalid utf8 body in close frame"].concat()
    );
    let long = "x".repeat(200);
    let p = close_payload(1000, &long);
    assert_eq!(p.len(), 2 + 120 + 3);
    assert!(p.ends_with(b"..."));
}

#[test]
fn server_headers() {
    let mut h = [0u8; 10];
    assert_eq!(header(&mut h, OpCode::Binary, true, false, 5), 2);
    assert_eq!(&h[..2], &[0x82, 5]);
    assert_eq!(header(&mut h, OpCode::Binary, true, true, 300), 4);
    assert_eq!(&h[..4], &[0xc2, 126, 1, 44]);
    assert_eq!(header(&mut h, OpCode::Binary, true, false, 70000), 10);
    assert_eq!(&h[..2], &[0x82, 127]);
}

proptest! {
    /// Any sequence of fragmented, masked messages with control frames between decodes
    /// to the same messages however the bytes are split into reads.
    #[test]
    fn every_split_decodes_the_same(
        msgs in proptest::collection::vec(
            (proptest::collection::vec(any::<u8>(), 0..300), 1usize..4, any::<[u8; 4]>()),
            1..6),
        pieces in proptest::collection::vec(1usize..64, 1..8),
    ) {
        let mut wire = Vec::new();
        let mut want = Vec::new();
        for (m, frags, key) in &msgs {
            let step = m.len().div_ceil(*frags).max(1);
            let parts: Vec<&[u8]> = if m.is_empty() { vec![&m[..]] } else { m.chunks(step).collect() };
            for (i, p) in parts.iter().enumerate() {
                let op = if i == 0 { 2 } else { 0 };
                let last = i + 1 == parts.len();
                wire.extend(client_frame(op, last, false, *key, p));
                if last {
                    want.push(Got::Msg(m.clone(), false));
                }
                if i == 0 {
                    wire.extend(client_frame(9, true, false, *key, b"p"));
                    want.push(Got::Ping(b"p".to_vec()));
                }
            }
        }
        let got = decode_in_pieces(&wire, &pieces).unwrap();
        prop_assert_eq!(got, want);
    }

    /// Garbage never panics the decoder.
    #[test]
    fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let mut d = Decoder::new(true);
        let mut b = bytes;
        let mut off = 0;
        while off < b.len() {
            match d.next(&mut b[off..]) {
                Ok(Some((n, _))) if n > 0 => off += n,
                _ => break,
            }
        }
    }

    #[test]
    fn unmask_matches_the_naive_xor(key in any::<[u8; 4]>(), pos in 0usize..4,
                                    data in proptest::collection::vec(any::<u8>(), 0..100)) {
        let mut fast = data.clone();
        unmask_with(&key, pos, &mut fast);
        let naive: Vec<u8> = data.iter().enumerate().map(|(i, b)| b ^ key[(pos + i) & 3]).collect();
        prop_assert_eq!(fast, naive);
    }
}

#![no_main]
//! Websocket frame decoder (`crates/server/src/websocket/frame.rs`, included by path so
//! this target does not build the whole server): arbitrary bytes never panic, and the
//! decoded stream (payload bytes and control frames, or the first error) is the same
//! whole, split in two at the first byte's position, and fed byte by byte.

use libfuzzer_sys::fuzz_target;

#[allow(dead_code)]
#[path = "../../crates/server/src/websocket/frame.rs"]
mod frame;

#[derive(Debug, PartialEq)]
enum Ev {
    Data(Vec<u8>, bool, bool),
    Ping(Vec<u8>),
    Pong,
    Close(Vec<u8>),
    Err(String),
}

fn run(data: &[u8], pieces: &[usize]) -> Vec<Ev> {
    let mut d = frame::Decoder::new(data.first().is_some_and(|b| b & 1 == 0));
    let mut buf = Vec::new();
    let mut out = Vec::new();
    let mut fed = 0;
    let mut i = 0;
    let mut data_acc: Vec<u8> = Vec::new();
    while fed < data.len() {
        let n = pieces[i % pieces.len()].max(1).min(data.len() - fed);
        i += 1;
        buf.extend_from_slice(&data[fed..fed + n]);
        fed += n;
        loop {
            let len = buf.len();
            match d.next(&mut buf) {
                Ok(None) => break,
                Ok(Some((used, f))) => {
                    assert!(used > 0 && used <= len);
                    match f {
                        frame::Frame::Data { payload, compressed, message_done } => {
                            data_acc.extend_from_slice(payload);
                            if message_done {
                                out.push(Ev::Data(std::mem::take(&mut data_acc), compressed, true));
                            }
                        }
                        frame::Frame::Ping(p) => out.push(Ev::Ping(p.to_vec())),
                        frame::Frame::Pong => out.push(Ev::Pong),
                        frame::Frame::Close(p) => out.push(Ev::Close(p.to_vec())),
                    }
                    buf.drain(..used);
                }
                Err(e) => {
                    out.push(Ev::Err(e.0));
                    return out;
                }
            }
        }
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let whole = run(data, &[data.len().max(1)]);
    let split = run(data, &[*data.first().unwrap_or(&1) as usize % 17 + 1]);
    let bytewise = run(data, &[1]);
    assert_eq!(whole, split);
    assert_eq!(whole, bytewise);
});

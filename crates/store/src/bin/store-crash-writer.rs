//! Test helper for `tests/crash.rs`: appends numbered messages to a file store and
//! prints each sequence once `store` has returned (the moment a server would send the
//! publish acknowledgement), until it is killed.
//!
//!   store-crash-writer <dir> <count>

use std::io::Write;

use nats_store::{FileStore, FileStoreConfig, Store};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = args
        .next()
        .ok_or("usage: store-crash-writer <dir> <count>")?;
    let count: u64 = args.next().ok_or("missing count")?.parse()?;
    let mut cfg = FileStoreConfig::new(dir);
    cfg.block_size = 64 * 1024;
    let (mut store, _) = FileStore::open(cfg)?;
    let out = std::io::stdout();
    let mut out = out.lock();
    for _ in 0..count {
        let seq = store.state().last_seq + 1;
        let data = format!("message {seq} ").repeat((seq % 7 + 1) as usize);
        let got = store.store(
            &format!("crash.{}", seq % 3),
            b"",
            data.as_bytes(),
            seq as i64,
        )?;
        assert_eq!(got, seq);
        writeln!(out, "{seq}")?;
        out.flush()?;
    }
    Ok(())
}

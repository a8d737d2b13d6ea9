//! kill -9 while writing: every acknowledged message is there after the restart, the
//! sequence has no gap, and a torn or damaged tail is cut, never served.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use nats_store::{FileStore, FileStoreConfig, Store};
use proptest::prelude::*;

fn expected(seq: u64) -> (String, Vec<u8>) {
    (
        format!("crash.{}", seq % 3),
        format!("message {seq} ")
            .repeat((seq % 7 + 1) as usize)
            .into_bytes(),
    )
}

fn cfg(dir: &std::path::Path) -> FileStoreConfig {
    let mut c = FileStoreConfig::new(dir);
    c.block_size = 64 * 1024;
    c
}

/// Checks that the store holds exactly 1..=last, each message as written.
fn verify(dir: &std::path::Path, acked: u64) -> u64 {
    let (store, _) = FileStore::open(cfg(dir)).expect("reopen");
    let st = store.state();
    assert!(
        st.last_seq >= acked,
        "acked {acked} but the store ends at {}",
        st.last_seq
    );
    assert_eq!(st.msgs, st.last_seq, "a gap: {st:?}");
    assert_eq!(st.first_seq, 1);
    for seq in 1..=st.last_seq {
        let m = store
            .get(seq)
            .unwrap()
            .unwrap_or_else(|| panic!("message {seq} lost"));
        let (subject, data) = expected(seq);
        assert_eq!(m.subject, subject);
        assert_eq!(&m.data[..], &data[..], "message {seq}");
    }
    st.last_seq
}

#[test]
fn kill_9_loses_no_acknowledged_message() {
    let dir = tempfile::tempdir().unwrap();
    let mut last = 0;
    // Several crashes in a row on the same store, each at a different point.
    for (round, kill_after) in [1500u64, 3100, 777, 2500].into_iter().enumerate() {
        let mut child = Command::new(env!("CARGO_BIN_EXE_store-crash-writer"))
            .arg(dir.path())
            .arg("1000000")
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the writer");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut acked = last;
        for _ in 0..kill_after {
            let line = lines.next().expect("writer output").expect("read");
            acked = line.parse().expect("a sequence");
        }
        child.kill().expect("kill -9");
        child.wait().expect("reap");
        // Whatever the writer printed before dying is acknowledged too.
        for line in lines.map_while(Result::ok) {
            acked = line.parse().expect("a sequence");
        }
        assert!(acked >= last + kill_after, "round {round}");
        last = verify(dir.path(), acked);
    }
}

/// The block files (not the index snapshot beside them).
fn blocks(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(dir.join("blocks"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "blk"))
        .collect();
    v.sort();
    v
}

fn fill(dir: &std::path::Path, n: u64) {
    let (mut s, _) = FileStore::open(cfg(dir)).unwrap();
    for seq in 1..=n {
        let (subject, data) = expected(seq);
        s.store(&subject, b"", &data, seq as i64).unwrap();
    }
}

#[test]
fn torn_tail_is_cut_and_writing_resumes() {
    let dir = tempfile::tempdir().unwrap();
    fill(dir.path(), 500);
    let last_block = blocks(dir.path()).pop().unwrap();
    let len = std::fs::metadata(&last_block).unwrap().len();
    // Cut the last record in half, as a crash in the middle of write(2) would.
    std::fs::OpenOptions::new()
        .write(true)
        .open(&last_block)
        .unwrap()
        .set_len(len - 20)
        .unwrap();
    let (mut s, rec) = FileStore::open(cfg(dir.path())).unwrap();
    assert!(rec.truncated > 0 && rec.damaged.is_empty(), "{rec:?}");
    assert_eq!(s.state().last_seq, 499);
    assert!(s.get(500).unwrap().is_none());
    let (subject, data) = expected(500);
    assert_eq!(s.store(&subject, b"", &data, 500).unwrap(), 500);
    drop(s);
    verify(dir.path(), 500);
}

#[test]
fn garbage_after_the_tail_is_cut() {
    let dir = tempfile::tempdir().unwrap();
    fill(dir.path(), 300);
    let last_block = blocks(dir.path()).pop().unwrap();
    let mut bytes = std::fs::read(&last_block).unwrap();
    bytes.extend_from_slice(&[0xAB; 77]);
    std::fs::write(&last_block, bytes).unwrap();
    let (_, rec) = FileStore::open(cfg(dir.path())).unwrap();
    assert_eq!(rec.truncated, 77);
    assert_eq!(verify(dir.path(), 300), 300);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Damage anywhere: opening never panics, and whatever is served is what was written.
    #[test]
    fn damaged_blocks_never_serve_garbage(n in 50u64..400, hits in proptest::collection::vec((any::<u64>(), any::<u8>()), 1..6)) {
        let dir = tempfile::tempdir().unwrap();
        fill(dir.path(), n);
        let files = blocks(dir.path());
        for (at, byte) in hits {
            let f = &files[(at % files.len() as u64) as usize];
            let mut bytes = std::fs::read(f).unwrap();
            if bytes.is_empty() { continue; }
            let i = (at / 7 % bytes.len() as u64) as usize;
            bytes[i] ^= byte | 1;
            std::fs::write(f, bytes).unwrap();
        }
        let (s, _) = FileStore::open(cfg(dir.path())).unwrap();
        for seq in 0..=n + 1 {
            // A read may fail (the block changed under us), but never returns wrong bytes.
            if let Ok(Some(m)) = s.get(seq) {
                let (subject, data) = expected(seq);
                prop_assert_eq!(m.subject, subject);
                prop_assert_eq!(&m.data[..], &data[..]);
            }
        }
    }
}

//! JetStream's message store: one stream's messages by sequence number, in memory
//! ([`MemStore`]) or in block files with crash recovery ([`FileStore`]), behind one trait
//! ([`Store`]). No sockets, no clocks: every input (timestamps, `now` for age limits,
//! explicit sequences) comes from the caller, so the same calls give the same state —
//! what a replication log will need. The format and the recovery rules are in
//! `docs/STORE.md`.

mod file;
mod index;
mod limits;
mod mem;
mod pending;

use bytes::Bytes;

pub use file::{FileStore, FileStoreConfig, Recovery};
pub use limits::{enforce, Limits};
pub use mem::MemStore;

/// A stored message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredMsg {
    pub seq: u64,
    /// Unix nanoseconds, as given to `store`.
    pub ts: i64,
    pub subject: String,
    /// The NATS header block (`NATS/1.0\r\n…\r\n\r\n`), empty without headers.
    pub hdr: Bytes,
    pub data: Bytes,
}

/// What one message counts against byte limits and in `state.bytes` in a memory
/// stream: nats-server's `memStoreMsgSize` (subject, headers, payload, 16).
pub fn mem_msg_size(subject: usize, hdr: usize, data: usize) -> u64 {
    (subject + hdr + data + 16) as u64
}

/// The same in a file stream: nats-server's `fileStoreMsgSize` (its record framing:
/// 22 bytes, 4 more with headers, and an 8-byte hash), so that `bytes` and `max_bytes`
/// agree with Go's whatever our own record layout is.
pub fn file_msg_size(subject: usize, hdr: usize, data: usize) -> u64 {
    let framing = if hdr == 0 { 22 + 8 } else { 22 + 4 + 8 };
    (framing + subject + hdr + data) as u64
}

/// The numbers `STREAM.INFO` reports as `state`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StreamState {
    pub msgs: u64,
    pub bytes: u64,
    /// The first sequence still held (or `last_seq + 1` when empty).
    pub first_seq: u64,
    pub first_ts: i64,
    pub last_seq: u64,
    pub last_ts: i64,
    /// Gaps between `first_seq` and `last_seq`.
    pub num_deleted: u64,
    pub num_subjects: u64,
}

/// The options of `$JS.API.STREAM.PURGE.<stream>`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Purge {
    /// Only messages on subjects matching this filter (wildcards allowed).
    pub filter: Option<String>,
    /// Only messages below this sequence.
    pub up_to: Option<u64>,
    /// Keep this many of the newest (matching) messages (0: no effect, as in Go).
    pub keep: Option<u64>,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("sequence {seq} is not after the last sequence {last}")]
    SequenceTooLow { seq: u64, last: u64 },
    #[error("message too large for the store ({0} bytes)")]
    TooLarge(usize),
    #[error("store I/O: {0}")]
    Io(#[from] std::io::Error),
    #[error("store is corrupt: {0}")]
    Corrupt(String),
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// One stream's messages. Both stores implement it the same way; `tests/model.rs`
/// checks them against a naive model and against each other.
pub trait Store: Send {
    /// Appends at `last_seq + 1` and returns that sequence.
    fn store(&mut self, subject: &str, hdr: &[u8], data: &[u8], ts: i64) -> Result<u64>;

    /// Appends at `seq`, which must be after `last_seq`; the sequences between are
    /// skipped (gaps), as when a mirror or a replica applies another store's sequences.
    fn store_at(&mut self, seq: u64, subject: &str, hdr: &[u8], data: &[u8], ts: i64)
        -> Result<()>;

    /// Consumes sequences up to `seq` without messages (no-op if `seq <= last_seq`).
    fn skip(&mut self, seq: u64) -> Result<()>;

    /// Deletes one message; `erase` also overwrites it where it is kept. False if there
    /// was no message at `seq`.
    fn remove(&mut self, seq: u64, erase: bool) -> Result<bool>;

    /// Removes what the purge request selects; returns how many messages went.
    fn purge(&mut self, req: &Purge) -> Result<u64>;

    /// Removes every message below `seq`; returns how many went.
    fn compact(&mut self, seq: u64) -> Result<u64>;

    fn get(&self, seq: u64) -> Result<Option<StoredMsg>>;

    /// The first message at or after `start` whose subject matches `filter` (all with
    /// `None`).
    fn next(&self, start: u64, filter: Option<&str>) -> Result<Option<StoredMsg>>;

    /// The newest message whose subject matches `filter`.
    fn last_by_subject(&self, filter: &str) -> Result<Option<StoredMsg>>;

    fn state(&self) -> StreamState;

    /// Message counts per subject matching `filter` (STREAM.INFO `subjects_filter`).
    fn subjects(&self, filter: &str) -> Vec<(String, u64)>;

    /// Messages at or after `start` matching `filter` (a consumer's pending count).
    fn num_pending(&self, start: u64, filter: Option<&str>) -> u64;

    /// The sequence and timestamp of the oldest message, for age limits.
    fn first_ts(&self) -> Option<(u64, i64)>;

    /// The oldest message on `subject` (a literal), for per-subject limits; and how many
    /// messages that subject holds.
    fn subject_first(&self, subject: &str) -> Option<(u64, u64)>;

    /// Makes everything written so far durable (fsync for the file store).
    fn flush(&mut self) -> Result<()>;
}

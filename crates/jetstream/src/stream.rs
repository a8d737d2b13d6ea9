//! One stream: its configuration, its store, and what a publish to it does — the checks
//! of nats-server 2.9.10's `processJetStreamMsg` in its order (sealed, expected stream,
//! duplicate ids, expected last sequences and id, rollups, sizes, discard-new limits),
//! then the store, the discard-old limits and the acknowledgement, byte for byte as Go
//! writes it. Time comes from the caller: the same calls give the same stream.

use std::collections::{HashMap, VecDeque};

use nats_store::{enforce, Limits, Purge, Store, StoreError, StreamState};
use serde::Serialize;

use crate::config::{Discard, Retention, StreamConfig};
use crate::error::ApiError;
use crate::headers;
use crate::time::GoTime;

/// What a publish produced.
#[derive(Debug, PartialEq, Eq)]
pub struct Published {
    /// The stored sequence (None when refused, or a duplicate).
    pub seq: Option<u64>,
    /// The acknowledgement body for the reply subject (None: Go sends nothing).
    pub ack: Option<Vec<u8>>,
    /// What `republish` sends on (before the acknowledgement, as Go).
    pub republish: Option<Republished>,
}

/// A stored message published again under the stream's `republish` rule.
#[derive(Debug, PartialEq, Eq)]
pub struct Republished {
    pub subject: String,
    /// A full header block (`NATS/1.0\r\n…\r\n\r\n`).
    pub hdr: Vec<u8>,
    /// Empty with `headers_only`.
    pub data: Vec<u8>,
}

pub struct Stream {
    cfg: StreamConfig,
    created: i64,
    store: Box<dyn Store>,
    /// `Nats-Msg-Id` → (sequence, time) inside the duplicate window.
    dedup: HashMap<String, (u64, i64)>,
    dedup_order: VecDeque<(i64, String)>,
    last_msg_id: String,
    /// Consumers that exist (interest retention skips messages nobody wants).
    consumers: usize,
    /// `republish`'s subject transform, compiled once.
    republish: Option<nats_sublist::transform::Transform>,
}

/// `state` in STREAM.INFO, with Go's field names and its zero forms.
#[derive(Debug, Serialize)]
pub struct StateJson {
    pub messages: u64,
    pub bytes: u64,
    pub first_seq: u64,
    pub first_ts: GoTime,
    pub last_seq: u64,
    pub last_ts: GoTime,
    #[serde(skip_serializing_if = "is_zero")]
    pub num_subjects: u64,
    /// Per-subject counts, when STREAM.INFO asked with `subjects_filter`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subjects: Option<std::collections::BTreeMap<String, u64>>,
    #[serde(skip_serializing_if = "is_zero")]
    pub num_deleted: u64,
    pub consumer_count: usize,
}

/// A mirror's or source's progress in STREAM.INFO (Go's `StreamSourceInfo`).
#[derive(Clone, Debug, Serialize)]
pub struct SourceInfo {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external: Option<crate::config::ExternalStream>,
    pub lag: u64,
    /// Nanoseconds since the origin was last heard from; -1 when never.
    pub active: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ApiError>,
}

fn is_zero(v: &u64) -> bool {
    *v == 0
}

impl Stream {
    /// A stream over `store` with an already normalized config, created at `created`
    /// (Unix nanoseconds).
    pub fn new(cfg: StreamConfig, store: Box<dyn Store>, created: i64) -> Stream {
        Stream {
            republish: cfg.republish.as_ref().and_then(|r| r.transform()),
            cfg,
            created,
            store,
            dedup: HashMap::new(),
            dedup_order: VecDeque::new(),
            last_msg_id: String::new(),
            consumers: 0,
        }
    }

    pub fn config(&self) -> &StreamConfig {
        &self.cfg
    }

    /// A new configuration (STREAM.UPDATE, already checked by the caller).
    pub fn set_config(&mut self, cfg: StreamConfig) {
        self.republish = cfg.republish.as_ref().and_then(|r| r.transform());
        self.cfg = cfg;
    }

    pub fn created(&self) -> i64 {
        self.created
    }

    pub fn store(&self) -> &dyn Store {
        self.store.as_ref()
    }

    pub fn store_mut(&mut self) -> &mut dyn Store {
        self.store.as_mut()
    }

    pub fn set_consumers(&mut self, n: usize) {
        self.consumers = n;
    }

    pub fn state_json(&self) -> StateJson {
        let st = self.store.state();
        let empty_ever = st.last_seq == 0;
        StateJson {
            messages: st.msgs,
            bytes: st.bytes,
            // A stream that never held a message shows 0/0, as Go's.
            first_seq: if empty_ever { 0 } else { st.first_seq },
            first_ts: GoTime(if st.msgs == 0 { 0 } else { st.first_ts }),
            last_seq: st.last_seq,
            last_ts: GoTime(st.last_ts),
            num_subjects: st.num_subjects,
            subjects: None,
            num_deleted: st.num_deleted,
            consumer_count: self.consumers,
        }
    }

    pub fn state(&self) -> StreamState {
        self.store.state()
    }

    fn ack(&self, seq: u64, duplicate: bool) -> Vec<u8> {
        // Go writes the success acknowledgement by hand, with a space after the comma.
        let name = serde_json::to_string(&self.cfg.name).unwrap_or_default();
        let mut s = format!("{{\"stream\":{name}, \"seq\":{seq}");
        s.push_str(if duplicate {
            ",\"duplicate\": true}"
        } else {
            "}"
        });
        s.into_bytes()
    }

    /// A publish refused before it reached the stream (e.g. the account is over its
    /// limits): the error acknowledgement, in Go's form.
    pub fn refuse(&self, err: ApiError) -> Published {
        #[derive(Serialize)]
        struct Resp<'a> {
            error: ApiError,
            stream: &'a str,
            seq: u64,
        }
        let body = serde_json::to_vec(&Resp {
            error: err,
            stream: &self.cfg.name,
            seq: 0,
        })
        .unwrap_or_default();
        Published {
            seq: None,
            ack: Some(body),
            republish: None,
        }
    }

    fn expire_dedup(&mut self, now: i64) {
        let window = self.cfg.duplicate_window;
        while let Some((ts, _)) = self.dedup_order.front() {
            if now - ts < window {
                break;
            }
            if let Some((_, id)) = self.dedup_order.pop_front() {
                self.dedup.remove(&id);
            }
        }
    }

    /// A message published to one of the stream's subjects, at `now`. `reply` says
    /// whether the publisher asked for an acknowledgement.
    pub fn publish(
        &mut self,
        subject: &str,
        hdr: &[u8],
        data: &[u8],
        now: i64,
        reply: bool,
    ) -> Published {
        let mut out = self.process(subject, hdr, data, now);
        if !reply || self.cfg.no_ack {
            out.ack = None;
        }
        out
    }

    fn process(&mut self, subject: &str, hdr: &[u8], data: &[u8], now: i64) -> Published {
        if self.cfg.sealed {
            return self.refuse(ApiError::sealed());
        }
        let last_seq = self.store.state().last_seq;
        let mut msg_id = String::new();
        let mut rollup = None;
        if !hdr.is_empty() {
            if let Some(name) = headers::get(hdr, headers::EXPECTED_STREAM) {
                if !name.is_empty() && name != self.cfg.name {
                    return self.refuse(ApiError::stream_not_match());
                }
            }
            if let Some(id) = headers::get(hdr, headers::MSG_ID).filter(|id| !id.is_empty()) {
                self.expire_dedup(now);
                if let Some(&(seq, _)) = self.dedup.get(id) {
                    return Published {
                        seq: None,
                        ack: Some(self.ack(seq, true)),
                        republish: None,
                    };
                }
                msg_id = id.to_string();
            }
            if let Some(want) = headers::get_u64(hdr, headers::EXPECTED_LAST_SUBJECT_SEQ) {
                let have = self
                    .store
                    .last_by_subject(subject)
                    .ok()
                    .flatten()
                    .map_or(0, |m| m.seq);
                if want != Some(have) {
                    return self.refuse(ApiError::wrong_last_sequence(have));
                }
            }
            if let Some(want) = headers::get_u64(hdr, headers::EXPECTED_LAST_SEQ) {
                if want != Some(last_seq) {
                    return self.refuse(ApiError::wrong_last_sequence(last_seq));
                }
            }
            if let Some(want) = headers::get(hdr, headers::EXPECTED_LAST_MSG_ID) {
                if !want.is_empty() && want != self.last_msg_id {
                    let last = self.last_msg_id.clone();
                    return self.refuse(ApiError::wrong_last_msg_id(&last));
                }
            }
            if let Some(r) = headers::get(hdr, headers::ROLLUP).filter(|r| !r.is_empty()) {
                if !self.cfg.allow_rollup_hdrs || self.cfg.deny_purge {
                    return self.refuse(ApiError::rollup_failed("rollup not permitted"));
                }
                match r {
                    "sub" | "all" => rollup = Some(r == "all"),
                    // Go drops the message without an answer.
                    _ => {
                        return Published {
                            seq: None,
                            ack: None,
                            republish: None,
                        }
                    }
                }
            }
        }
        if self.cfg.max_msg_size >= 0 && (hdr.len() + data.len()) as i64 > self.cfg.max_msg_size {
            return self.refuse(ApiError::message_exceeds_maximum());
        }
        if hdr.len() > u16::MAX as usize {
            return self.refuse(ApiError::header_exceeds_maximum());
        }
        if self.cfg.retention == Retention::Interest && self.consumers == 0 {
            // Nobody would ever read it: the sequence is used, the message not kept.
            let seq = last_seq + 1;
            if let Err(e) = self.store.skip(seq) {
                return self.refuse(ApiError::store_failed(&e.to_string()));
            }
            self.remember(msg_id, seq, now);
            return Published {
                seq: Some(seq),
                ack: Some(self.ack(seq, false)),
                republish: None,
            };
        }
        if let Some(why) = self.discard_new_refusal(subject, hdr.len() + data.len()) {
            return self.refuse(ApiError::store_failed(why));
        }
        // The subject's previous sequence, for the republished copy (lets a reader of
        // the copies alone see gaps).
        let republish_to = self.republish.as_ref().and_then(|tr| {
            nats_sublist::transform::source_matches(tr.source(), subject.as_bytes())
                .then(|| tr.apply_str(subject))
        });
        let last_on_subject = match republish_to {
            Some(_) => self
                .store
                .last_by_subject(subject)
                .ok()
                .flatten()
                .map_or(0, |m| m.seq),
            None => 0,
        };
        let seq = match self.store.store(subject, hdr, data, now) {
            Ok(seq) => seq,
            Err(e) => return self.refuse(ApiError::store_failed(&store_error_text(&e))),
        };
        self.remember(msg_id, seq, now);
        let limits = self.limits();
        let _ = enforce(self.store.as_mut(), &limits, Some(subject), now);
        match rollup {
            Some(false) => {
                let _ = self.store.purge(&Purge {
                    filter: Some(subject.to_string()),
                    keep: Some(1),
                    ..Default::default()
                });
            }
            Some(true) => {
                let _ = self.store.purge(&Purge {
                    keep: Some(1),
                    ..Default::default()
                });
            }
            None => {}
        }
        let republish = republish_to.map(|to| {
            let headers_only = self.cfg.republish.as_ref().is_some_and(|r| r.headers_only);
            self.republished(to, subject, hdr, data, seq, last_on_subject, headers_only)
        });
        Published {
            seq: Some(seq),
            ack: Some(self.ack(seq, false)),
            republish,
        }
    }

    /// Go's republished message: the original headers (or a fresh block) with the
    /// stream, subject, sequence and the subject's previous sequence appended.
    #[allow(clippy::too_many_arguments)]
    fn republished(
        &self,
        to: String,
        subject: &str,
        hdr: &[u8],
        data: &[u8],
        seq: u64,
        last: u64,
        headers_only: bool,
    ) -> Republished {
        let mut h = headers::append(hdr, "Nats-Stream", &self.cfg.name);
        h = headers::append(&h, "Nats-Subject", subject);
        h = headers::append(&h, "Nats-Sequence", &seq.to_string());
        h = headers::append(&h, "Nats-Last-Sequence", &last.to_string());
        if headers_only {
            h = headers::append(&h, "Nats-Msg-Size", &data.len().to_string());
        }
        Republished {
            subject: to,
            hdr: h,
            data: if headers_only {
                Vec::new()
            } else {
                data.to_vec()
            },
        }
    }

    fn remember(&mut self, msg_id: String, seq: u64, now: i64) {
        self.last_msg_id = msg_id.clone();
        if !msg_id.is_empty() && self.cfg.duplicate_window > 0 {
            self.dedup.insert(msg_id.clone(), (seq, now));
            self.dedup_order.push_back((now, msg_id));
        }
    }

    /// The limits the store enforces after each message by dropping the oldest. Go does
    /// this whatever the discard policy: under `discard: new` the checks before storing
    /// compare the payload, not its stored size, so the totals may still overflow by one
    /// message, and the oldest then goes.
    fn limits(&self) -> Limits {
        Limits {
            max_msgs: self.cfg.max_msgs,
            max_bytes: self.cfg.max_bytes,
            max_msgs_per_subject: self.cfg.max_msgs_per_subject,
            max_age: self.cfg.max_age,
        }
    }

    /// Go's store-level refusals under `discard: new`, with its error texts and in its
    /// order: a subject at its own limit makes room by dropping its oldest message (so
    /// the totals are then not in the way), unless `discard_new_per_subject`.
    fn discard_new_refusal(&self, subject: &str, size: usize) -> Option<&'static str> {
        if self.cfg.discard != Discard::New {
            return None;
        }
        let st = self.store.state();
        let per = self.cfg.max_msgs_per_subject;
        let mut at_subject_limit = None;
        if per > 0 {
            if let Some((first, n)) = self.store.subject_first(subject) {
                if n >= per as u64 {
                    if self.cfg.discard_new_per_subject {
                        return Some("maximum messages per subject exceeded");
                    }
                    at_subject_limit = Some(first);
                }
            }
        }
        if self.cfg.max_msgs > 0
            && st.msgs >= self.cfg.max_msgs as u64
            && at_subject_limit.is_none()
        {
            return Some("maximum messages exceeded");
        }
        if self.cfg.max_bytes > 0 && st.bytes + size as u64 >= self.cfg.max_bytes as u64 {
            let freed = at_subject_limit
                .and_then(|seq| self.store.get(seq).ok().flatten())
                .map_or(0, |m| self.stored_size(&m));
            if at_subject_limit.is_none() || freed <= size as u64 {
                return Some("maximum bytes exceeded");
            }
        }
        None
    }

    /// What `m` counts in this stream's byte totals.
    fn stored_size(&self, m: &nats_store::StoredMsg) -> u64 {
        let (s, h, d) = (m.subject.len(), m.hdr.len(), m.data.len());
        match self.cfg.storage {
            crate::Storage::File => nats_store::file_msg_size(s, h, d),
            crate::Storage::Memory => nats_store::mem_msg_size(s, h, d),
        }
    }

    /// A message read from source `iname` (origin sequence `origin_seq`): published to
    /// this stream like any other, with its origin in `Nats-Stream-Source` (replacing the
    /// one it may carry from a source further up).
    pub fn publish_sourced(
        &mut self,
        iname: &str,
        origin_seq: u64,
        msg: &nats_store::StoredMsg,
        now: i64,
    ) -> Published {
        let h = headers::remove(&msg.hdr, headers::STREAM_SOURCE);
        let h = headers::append(&h, headers::STREAM_SOURCE, &format!("{iname} {origin_seq}"));
        self.publish(&msg.subject, &h, &msg.data, now, false)
    }

    /// A mirror's copy of its origin's message: kept at the origin's sequence and time
    /// (what lies between is skipped). False when this stream is already past it.
    pub fn store_mirrored(
        &mut self,
        msg: &nats_store::StoredMsg,
        now: i64,
    ) -> Result<bool, ApiError> {
        if msg.seq <= self.store.state().last_seq {
            return Ok(false);
        }
        self.store
            .store_at(msg.seq, &msg.subject, &msg.hdr, &msg.data, msg.ts)
            .map_err(|e| ApiError::store_failed(&store_error_text(&e)))?;
        let limits = self.limits();
        let _ = enforce(self.store.as_mut(), &limits, Some(&msg.subject), now);
        Ok(true)
    }

    /// The last origin sequence this stream holds from source `iname`, read back from
    /// the newest message (Go's `setStartingSequenceForSource`).
    pub fn last_sourced(&self, iname: &str) -> Option<u64> {
        let st = self.store.state();
        if st.msgs == 0 {
            return None;
        }
        (st.first_seq..=st.last_seq).rev().find_map(|seq| {
            let m = self.store.get(seq).ok().flatten()?;
            let v = headers::get(&m.hdr, headers::STREAM_SOURCE)?;
            let mut f = v.split_whitespace();
            match (f.next(), f.next().and_then(|n| n.parse().ok()), f.next()) {
                (Some(name), Some(n), None) if name == iname => Some(n),
                _ => None,
            }
        })
    }

    /// Age limits between publishes (the server calls this on a timer).
    pub fn expire(&mut self, now: i64) -> u64 {
        let lim = Limits {
            max_age: self.cfg.max_age,
            ..Default::default()
        };
        enforce(self.store.as_mut(), &lim, None, now).unwrap_or(0)
    }

    /// `$JS.API.STREAM.PURGE`: how many messages went.
    pub fn purge(&mut self, req: &Purge) -> Result<u64, ApiError> {
        if self.cfg.sealed {
            return Err(ApiError::sealed());
        }
        if self.cfg.deny_purge {
            return Err(ApiError::purge_failed("purge not permitted"));
        }
        self.store
            .purge(req)
            .map_err(|e| ApiError::purge_failed(&e.to_string()))
    }

    /// `$JS.API.STREAM.MSG.DELETE`.
    pub fn delete_msg(&mut self, seq: u64, erase: bool) -> Result<bool, ApiError> {
        if self.cfg.sealed {
            return Err(ApiError::sealed());
        }
        if self.cfg.deny_delete {
            return Err(ApiError::msg_delete_failed("message delete not permitted"));
        }
        self.store
            .remove(seq, erase)
            .map_err(|e| ApiError::msg_delete_failed(&e.to_string()))
    }
}

fn store_error_text(e: &StoreError) -> String {
    match e {
        StoreError::TooLarge(_) => "message too large".into(),
        other => other.to_string(),
    }
}

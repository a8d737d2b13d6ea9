//! One consumer: which stream messages it hands out next, what is waiting for an ack,
//! what is due again, and the pull requests waiting for messages — nats-server 2.9.10's
//! consumer rules without the I/O. The server calls [`Consumer::next`] to get the next
//! message to send (and where), [`Consumer::ack`] with what came back on the ack
//! subject, and [`Consumer::tick`] with the time; every input, the clock included,
//! comes from the caller, so a replication layer can replay the same calls on a
//! follower and get the same state. [`ConsumerState`] is what has to survive a restart.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use nats_store::{Store, StoredMsg};
use serde::{Deserialize, Serialize};

use crate::advisory::ConsumerEvent;
use crate::consumer_config::{AckPolicy, ConsumerConfig, DeliverPolicy};
use crate::time::GoTime;

/// A (consumer sequence, stream sequence) pair, as Go's `SequencePair`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeqPair {
    pub consumer: u64,
    pub stream: u64,
}

/// A delivered message still waiting for its ack.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    /// The consumer sequence of its latest delivery.
    pub cseq: u64,
    /// When it is due again (Unix ns): delivery time plus `ack_wait`, or a NAK's delay.
    pub due: i64,
    /// When it was delivered (Unix ns; 0 in state saved before this was kept), for
    /// sampled ack times.
    #[serde(default)]
    pub at: i64,
}

/// What survives a restart: Go's `ConsumerState`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsumerState {
    /// The last delivered pair.
    pub delivered: SeqPair,
    pub ack_floor: SeqPair,
    /// By stream sequence.
    pub pending: BTreeMap<u64, Pending>,
    /// Delivery counts above one, by stream sequence.
    pub redelivered: BTreeMap<u64, u64>,
}

/// A waiting pull request (`$JS.API.CONSUMER.MSG.NEXT`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PullRequest {
    pub reply: String,
    /// Messages still wanted.
    pub batch: u64,
    /// Bytes still allowed (0: no limit).
    pub max_bytes: u64,
    /// Deadline (Unix ns), 0 for none.
    pub expires: i64,
    pub no_wait: bool,
    /// Idle heartbeat interval (ns), 0 for none, and when the next one is due.
    pub heartbeat: i64,
    pub next_heartbeat: i64,
    /// Messages already sent for it.
    pub sent: u64,
}

/// The body of a pull request.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct NextRequest {
    pub batch: i64,
    pub max_bytes: i64,
    pub expires: i64,
    pub no_wait: bool,
    pub idle_heartbeat: i64,
}

/// One message to send.
#[derive(Debug, PartialEq, Eq)]
pub struct Outgoing {
    pub msg: StoredMsg,
    /// Consumer sequence and delivery count.
    pub cseq: u64,
    pub dc: u64,
    /// Messages still pending for the consumer after this one.
    pub pending: u64,
    /// The pull request's reply subject; `None` for a push consumer's deliver subject.
    pub to: Option<String>,
}

impl Outgoing {
    /// The reply subject acks come back on:
    /// `$JS.ACK.<stream>.<consumer>.<dc>.<sseq>.<cseq>.<ts>.<pending>`.
    pub fn ack_subject(&self, stream: &str, consumer: &str) -> String {
        format!(
            "$JS.ACK.{stream}.{consumer}.{}.{}.{}.{}.{}",
            self.dc, self.msg.seq, self.cseq, self.msg.ts, self.pending
        )
    }
}

/// What an ack subject's body asks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AckKind {
    /// `+ACK` (or an empty body), `+NXT`.
    Ack,
    /// `-NAK`, optionally with a delay in ns.
    Nak(i64),
    /// `+WPI`: still working, reset the timer.
    Progress,
    /// `+TERM`: never deliver again.
    Term,
}

impl AckKind {
    /// Parse an ack body; `None` for something that is not an ack.
    pub fn parse(body: &[u8]) -> Option<AckKind> {
        let b = body.trim_ascii();
        if b.is_empty() || b.starts_with(b"+ACK") || b.starts_with(b"+NXT") {
            return Some(AckKind::Ack);
        }
        if b.starts_with(b"+WPI") {
            return Some(AckKind::Progress);
        }
        if b.starts_with(b"+TERM") {
            return Some(AckKind::Term);
        }
        if let Some(rest) = b.strip_prefix(b"-NAK") {
            let rest = rest.trim_ascii();
            // `-NAK {"delay": <ns>}`; anything else is a plain NAK.
            let delay = serde_json::from_slice::<serde_json::Value>(rest)
                .ok()
                .and_then(|v| v.get("delay").and_then(|d| d.as_i64()))
                .unwrap_or(0);
            return Some(AckKind::Nak(delay));
        }
        None
    }
}

/// Why a pull request ended without being filled: the status line Go sends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Status {
    pub reply: String,
    /// The whole header block (`NATS/1.0 408 Request Timeout\r\n…\r\n\r\n`).
    pub hdr: String,
}

fn pending_hdr(code: u16, text: &str, msgs: u64, bytes: u64) -> String {
    format!(
        "NATS/1.0 {code} {text}\r\nNats-Pending-Messages: {msgs}\r\nNats-Pending-Bytes: {bytes}\r\n\r\n"
    )
}

pub fn status_hdr(code: u16, text: &str) -> String {
    format!("NATS/1.0 {code} {text}\r\n\r\n")
}

pub struct Consumer {
    stream: String,
    name: String,
    cfg: ConsumerConfig,
    created: i64,
    state: ConsumerState,
    /// The next stream sequence to look at for new messages.
    sseq: u64,
    /// Sequences due again, in order.
    rdq: BTreeSet<u64>,
    /// For `last_per_subject`: the sequences still to hand out before `sseq`.
    lps: VecDeque<u64>,
    waiting: VecDeque<PullRequest>,
    /// Whether the state changed since [`Consumer::take_dirty`].
    dirty: bool,
    /// When something was last delivered and last acknowledged (Unix ns, 0: never), for
    /// INFO's `last_active`.
    last_delivered: i64,
    last_acked: i64,
    /// No pending message is due before this (a lower bound; `i64::MAX`: none), so
    /// that [`Consumer::tick`] scans the pending set only when something may be due.
    next_due: i64,
    /// Advisories and ack metrics not yet taken by the server.
    events: Vec<ConsumerEvent>,
    /// Acks counted for `sample_freq` (every `100 / freq`-th one is sampled).
    acks_counted: u64,
}

impl Consumer {
    /// A new consumer on a stream whose store is `store`, starting where its deliver
    /// policy says (Go's `selectStartingSeqNo`).
    pub fn new(
        stream: &str,
        name: &str,
        cfg: ConsumerConfig,
        created: i64,
        store: &dyn Store,
    ) -> Consumer {
        let st = store.state();
        let filter = (!cfg.filter_subject.is_empty()).then_some(cfg.filter_subject.as_str());
        let mut lps = VecDeque::new();
        let sseq = match cfg.deliver_policy {
            DeliverPolicy::All => st.first_seq.max(1),
            DeliverPolicy::Last => match filter {
                Some(f) => store
                    .last_by_subject(f)
                    .ok()
                    .flatten()
                    .map_or(st.last_seq + 1, |m| m.seq),
                None if st.msgs > 0 => st.last_seq,
                None => st.last_seq + 1,
            },
            DeliverPolicy::New => st.last_seq + 1,
            DeliverPolicy::ByStartSequence => cfg.opt_start_seq.max(1),
            DeliverPolicy::ByStartTime => {
                let at = cfg.opt_start_time.map_or(0, |t| t.0);
                let mut seq = st.first_seq.max(1);
                loop {
                    match store.next(seq, None) {
                        Ok(Some(m)) if m.ts < at => seq = m.seq + 1,
                        Ok(Some(m)) => break m.seq,
                        _ => break st.last_seq + 1,
                    }
                }
            }
            DeliverPolicy::LastPerSubject => {
                let mut seqs: Vec<u64> = store
                    .subjects(filter.unwrap_or(">"))
                    .into_iter()
                    .filter_map(|(s, _)| store.last_by_subject(&s).ok().flatten())
                    .map(|m| m.seq)
                    .collect();
                seqs.sort_unstable();
                lps.extend(seqs);
                st.last_seq + 1
            }
        };
        // Into the stream's range, as Go clamps it (an empty stream starts at 1).
        let sseq = if st.first_seq == 0 || st.last_seq == 0 {
            sseq.max(1)
        } else {
            sseq.clamp(st.first_seq, st.last_seq + 1)
        };
        let start = lps.front().copied().unwrap_or(sseq);
        let delivered = SeqPair {
            consumer: 0,
            stream: start.saturating_sub(1),
        };
        Consumer {
            stream: stream.to_string(),
            name: name.to_string(),
            cfg,
            created,
            // Go reports a zero ack floor until the first ack.
            state: ConsumerState {
                delivered,
                ..Default::default()
            },
            sseq,
            rdq: BTreeSet::new(),
            lps,
            waiting: VecDeque::new(),
            dirty: true,
            last_delivered: 0,
            last_acked: 0,
            next_due: i64::MAX,
            events: Vec::new(),
            acks_counted: 0,
        }
    }

    /// A consumer recovered with its saved state: what was pending is due again from
    /// `now` on (the server's clock restarted), nothing is lost.
    pub fn restore(
        stream: &str,
        name: &str,
        cfg: ConsumerConfig,
        created: i64,
        mut state: ConsumerState,
        now: i64,
    ) -> Consumer {
        let wait = cfg.ack_wait.max(0);
        for p in state.pending.values_mut() {
            p.due = p.due.min(now + wait);
        }
        let sseq = state.delivered.stream + 1;
        let mut c = Consumer {
            stream: stream.to_string(),
            name: name.to_string(),
            cfg,
            created,
            state,
            sseq,
            rdq: BTreeSet::new(),
            lps: VecDeque::new(),
            waiting: VecDeque::new(),
            dirty: false,
            last_delivered: 0,
            last_acked: 0,
            next_due: i64::MAX,
            events: Vec::new(),
            acks_counted: 0,
        };
        c.next_due = 0;
        c
    }

    pub fn name(&self) -> &str {
        &self.name
    }
    pub fn stream_name(&self) -> &str {
        &self.stream
    }
    pub fn config(&self) -> &ConsumerConfig {
        &self.cfg
    }
    /// A durable's allowed changes (limits, timers, description).
    pub fn set_config(&mut self, cfg: ConsumerConfig) {
        self.cfg = cfg;
        self.dirty = true;
    }
    pub fn created(&self) -> i64 {
        self.created
    }
    pub fn state(&self) -> &ConsumerState {
        &self.state
    }
    pub fn waiting(&self) -> usize {
        self.waiting.len()
    }

    /// Whether the state changed since the last call (to save it).
    pub fn take_dirty(&mut self) -> bool {
        std::mem::take(&mut self.dirty)
    }

    fn filter(&self) -> Option<&str> {
        (!self.cfg.filter_subject.is_empty()).then_some(self.cfg.filter_subject.as_str())
    }

    /// Messages not yet delivered (Go's `num_pending`).
    pub fn num_pending(&self, store: &dyn Store) -> u64 {
        store.num_pending(self.sseq, self.filter()) + self.lps.len() as u64
    }

    /// Whether a new message could go out now (ack pending below its limit).
    pub fn below_max_ack_pending(&self) -> bool {
        self.cfg.ack_policy == AckPolicy::None
            || self.cfg.max_ack_pending <= 0
            || (self.state.pending.len() as i64) < self.cfg.max_ack_pending
    }

    /// The next message to hand out and its delivery count, without choosing where it
    /// goes: redeliveries first, then `last_per_subject` leftovers, then new messages.
    fn next_msg(&mut self, store: &dyn Store, now: i64) -> Option<(StoredMsg, u64)> {
        while let Some(seq) = self.rdq.pop_first() {
            if !self.state.pending.contains_key(&seq) {
                continue;
            }
            let dc = self.state.redelivered.get(&seq).copied().unwrap_or(1) + 1;
            if self.cfg.max_deliver > 0 && dc as i64 > self.cfg.max_deliver {
                // Delivered as often as allowed: no longer ours to wait for.
                self.events.push(ConsumerEvent::MaxDeliveries {
                    stream_seq: seq,
                    deliveries: dc - 1,
                });
                self.state.pending.remove(&seq);
                self.state.redelivered.remove(&seq);
                self.update_floor();
                continue;
            }
            match store.get(seq) {
                Ok(Some(m)) => {
                    self.state.redelivered.insert(seq, dc);
                    return Some((m, dc));
                }
                _ => {
                    // Gone from the stream (limits, purge): nothing to wait for.
                    self.state.pending.remove(&seq);
                    self.state.redelivered.remove(&seq);
                    self.update_floor();
                }
            }
        }
        if !self.below_max_ack_pending() {
            return None;
        }
        while let Some(seq) = self.lps.pop_front() {
            if let Ok(Some(m)) = store.get(seq) {
                return Some((m, 1));
            }
        }
        let _ = now;
        let m = store.next(self.sseq, self.filter()).ok().flatten()?;
        self.sseq = m.seq + 1;
        Some((m, 1))
    }

    /// Record a delivery of `m` (count `dc`) at `now`.
    fn delivered(
        &mut self,
        m: StoredMsg,
        dc: u64,
        now: i64,
        to: Option<String>,
        store: &dyn Store,
    ) -> Outgoing {
        let cseq = self.state.delivered.consumer + 1;
        self.state.delivered = SeqPair {
            consumer: cseq,
            stream: self.state.delivered.stream.max(m.seq),
        };
        match self.cfg.ack_policy {
            AckPolicy::None => self.state.ack_floor = self.state.delivered,
            _ => {
                let due = now + self.ack_wait_for(dc);
                self.state
                    .pending
                    .insert(m.seq, Pending { cseq, due, at: now });
                self.next_due = self.next_due.min(due);
            }
        }
        self.dirty = true;
        self.last_delivered = now;
        let pending = self.num_pending(store);
        Outgoing {
            msg: m,
            cseq,
            dc,
            pending,
            to,
        }
    }

    /// How long delivery number `dc` may go unacknowledged: `backoff[dc-1]` (the last
    /// entry beyond its end) or `ack_wait`.
    fn ack_wait_for(&self, dc: u64) -> i64 {
        if self.cfg.backoff.is_empty() {
            return self.cfg.ack_wait;
        }
        let i = (dc.saturating_sub(1) as usize).min(self.cfg.backoff.len() - 1);
        self.cfg.backoff[i]
    }

    /// The next message for a push consumer, if one can go out.
    pub fn next_push(&mut self, store: &dyn Store, now: i64) -> Option<Outgoing> {
        let (m, dc) = self.next_msg(store, now)?;
        Some(self.delivered(m, dc, now, None, store))
    }

    /// The next message for the oldest waiting pull request that can take it, and the
    /// requests that ended on the way (max bytes exceeded).
    pub fn next_pull(
        &mut self,
        store: &dyn Store,
        now: i64,
        ended: &mut Vec<Status>,
    ) -> Option<Outgoing> {
        if self.waiting.is_empty() {
            return None;
        }
        let (m, dc) = self.next_msg(store, now)?;
        let size = (m.subject.len() + m.hdr.len() + m.data.len()) as u64;
        while let Some(mut req) = self.waiting.pop_front() {
            if req.max_bytes > 0 {
                if size > req.max_bytes {
                    ended.push(Status {
                        reply: req.reply,
                        hdr: pending_hdr(
                            409,
                            "Message Size Exceeds MaxBytes",
                            req.batch,
                            req.max_bytes,
                        ),
                    });
                    continue;
                }
                req.max_bytes -= size;
                if req.max_bytes == 0 {
                    req.batch = 1;
                }
            }
            req.batch -= 1;
            req.sent += 1;
            req.next_heartbeat = if req.heartbeat > 0 {
                now + req.heartbeat
            } else {
                0
            };
            let to = req.reply.clone();
            if req.batch > 0 {
                self.waiting.push_front(req);
            }
            return Some(self.delivered(m, dc, now, Some(to), store));
        }
        // Nobody could take it: hand it out again later.
        self.unget(m.seq, dc);
        None
    }

    /// Put back a message taken by [`Consumer::next_msg`] but not sent.
    fn unget(&mut self, seq: u64, dc: u64) {
        if dc > 1 {
            self.rdq.insert(seq);
            let prev = dc - 1;
            if prev > 1 {
                self.state.redelivered.insert(seq, prev);
            } else {
                self.state.redelivered.remove(&seq);
            }
        } else if seq >= self.sseq.saturating_sub(1) {
            self.sseq = self.sseq.min(seq);
        } else {
            self.lps.push_front(seq);
        }
    }

    /// A pull request arrived at `now`: queued, or answered at once with a status
    /// (Go's `processNextMsgReq` checks, in its order).
    pub fn add_request(
        &mut self,
        reply: &str,
        req: NextRequest,
        store: &dyn Store,
        now: i64,
    ) -> Option<Status> {
        let err = |code, text: &str| {
            Some(Status {
                reply: reply.to_string(),
                hdr: status_hdr(code, text),
            })
        };
        if !self.cfg.is_pull() {
            return err(409, "Consumer is push based");
        }
        let batch = req.batch.max(1) as u64;
        if self.cfg.max_batch > 0 && batch as i64 > self.cfg.max_batch {
            return err(
                409,
                &format!("Exceeded MaxRequestBatch of {}", self.cfg.max_batch),
            );
        }
        if self.cfg.max_expires > 0 && (req.expires == 0 || req.expires > self.cfg.max_expires) {
            return err(
                409,
                &format!(
                    "Exceeded MaxRequestExpires of {}",
                    crate::time::go_duration(self.cfg.max_expires)
                ),
            );
        }
        if self.cfg.max_bytes > 0 && req.max_bytes > self.cfg.max_bytes {
            return err(
                409,
                &format!("Exceeded MaxRequestMaxBytes of {}", self.cfg.max_bytes),
            );
        }
        // Go: a heartbeat must be under half the request's expiry (and needs one).
        if req.idle_heartbeat > 0 && req.idle_heartbeat * 2 > req.expires {
            return err(400, "Bad Request - heartbeat value too large");
        }
        if req.no_wait {
            let available = self.num_pending(store) + self.rdq.len() as u64;
            if available == 0 && req.expires == 0 {
                return err(404, "No Messages");
            }
        }
        if self.cfg.max_waiting > 0 && self.waiting.len() as i64 >= self.cfg.max_waiting {
            self.expire_requests(now, &mut Vec::new());
            if self.waiting.len() as i64 >= self.cfg.max_waiting {
                return err(409, "Exceeded MaxWaiting");
            }
        }
        self.waiting.push_back(PullRequest {
            reply: reply.to_string(),
            batch,
            max_bytes: req.max_bytes.max(0) as u64,
            expires: if req.expires > 0 {
                now + req.expires
            } else {
                0
            },
            no_wait: req.no_wait,
            heartbeat: req.idle_heartbeat.max(0),
            next_heartbeat: if req.idle_heartbeat > 0 {
                now + req.idle_heartbeat
            } else {
                0
            },
            sent: 0,
        });
        None
    }

    /// End requests past their deadline: 408 Request Timeout with what they still
    /// wanted (Go's `processWaiting`). No-wait requests end in [`Consumer::end_no_wait`].
    pub fn expire_requests(&mut self, now: i64, ended: &mut Vec<Status>) {
        self.waiting.retain(|r| {
            if r.expires > 0 && now >= r.expires {
                ended.push(Status {
                    reply: r.reply.clone(),
                    hdr: pending_hdr(408, "Request Timeout", r.batch, r.max_bytes),
                });
                return false;
            }
            true
        });
    }

    /// After delivering what there was: end the no-wait requests (nothing more to send
    /// right now).
    pub fn end_no_wait(&mut self, store: &dyn Store, ended: &mut Vec<Status>) {
        if self.num_pending(store) > 0 && self.below_max_ack_pending() {
            return;
        }
        self.waiting.retain(|r| {
            if !r.no_wait {
                return true;
            }
            if r.sent == 0 && r.expires > 0 {
                return true;
            }
            ended.push(Status {
                reply: r.reply.clone(),
                hdr: if r.sent == 0 {
                    status_hdr(404, "No Messages")
                } else {
                    pending_hdr(408, "Request Timeout", r.batch, r.max_bytes)
                },
            });
            false
        });
    }

    /// Pull requests whose idle heartbeat is due: (reply, header).
    pub fn heartbeats(&mut self, now: i64) -> Vec<Status> {
        let (c, s) = (self.state.delivered.consumer, self.state.delivered.stream);
        let mut out = Vec::new();
        for r in self.waiting.iter_mut() {
            if r.heartbeat > 0 && now >= r.next_heartbeat {
                r.next_heartbeat = now + r.heartbeat;
                out.push(Status {
                    reply: r.reply.clone(),
                    hdr: idle_heartbeat_hdr(c, s),
                });
            }
        }
        out
    }

    /// Drop waiting requests whose requester is gone (`alive` says whether anyone still
    /// listens on a reply subject), as Go does before serving one.
    pub fn retain_requests(&mut self, mut alive: impl FnMut(&str) -> bool) {
        self.waiting.retain(|r| alive(&r.reply));
    }

    /// Every waiting request (the consumer is going away): 409 Consumer Deleted.
    pub fn drain_requests(&mut self) -> Vec<Status> {
        self.waiting
            .drain(..)
            .map(|r| Status {
                reply: r.reply,
                hdr: status_hdr(409, "Consumer Deleted"),
            })
            .collect()
    }

    /// Advisories and ack metrics since the last call.
    pub fn take_events(&mut self) -> Vec<ConsumerEvent> {
        std::mem::take(&mut self.events)
    }

    /// What an ack subject's tokens and body say, at `now`. Returns the stream sequences
    /// that are now done with (for interest and work-queue retention).
    pub fn ack(&mut self, sseq: u64, cseq: u64, kind: AckKind, now: i64) -> Vec<u64> {
        let dc = self.state.redelivered.get(&sseq).copied().unwrap_or(1);
        self.ack_with(sseq, cseq, dc, kind, now)
    }

    /// [`Consumer::ack`] with the delivery count the ack subject carries (what Go's
    /// advisories report).
    pub fn ack_with(&mut self, sseq: u64, cseq: u64, dc: u64, kind: AckKind, now: i64) -> Vec<u64> {
        match kind {
            AckKind::Nak(_) if self.state.pending.contains_key(&sseq) => {
                self.events.push(ConsumerEvent::Nak {
                    consumer_seq: cseq,
                    stream_seq: sseq,
                    deliveries: dc,
                })
            }
            AckKind::Term => self.events.push(ConsumerEvent::Terminated {
                consumer_seq: cseq,
                stream_seq: sseq,
                deliveries: dc,
            }),
            AckKind::Ack => {
                let freq = self.cfg.sample_frequency();
                if let (true, Some(p)) = (freq > 0, self.state.pending.get(&sseq)) {
                    self.acks_counted += 1;
                    let every = (100 / freq.clamp(1, 100)) as u64;
                    if p.at > 0 && self.acks_counted.is_multiple_of(every) {
                        self.events.push(ConsumerEvent::AckSample {
                            consumer_seq: cseq,
                            stream_seq: sseq,
                            deliveries: dc,
                            ack_time: now - p.at,
                        });
                    }
                }
            }
            _ => {}
        }
        let mut done = Vec::new();
        if matches!(kind, AckKind::Ack | AckKind::Term) {
            self.last_acked = now;
        }
        match kind {
            AckKind::Progress => {
                if let Some(p) = self.state.pending.get_mut(&sseq) {
                    p.due = now + self.cfg.ack_wait;
                    self.next_due = self.next_due.min(p.due);
                    self.dirty = true;
                }
            }
            AckKind::Nak(delay) => {
                if let Some(p) = self.state.pending.get_mut(&sseq) {
                    if delay > 0 {
                        p.due = now + delay;
                        self.next_due = self.next_due.min(p.due);
                    } else {
                        self.rdq.insert(sseq);
                    }
                    self.dirty = true;
                }
            }
            AckKind::Ack | AckKind::Term => match self.cfg.ack_policy {
                AckPolicy::None => {}
                AckPolicy::Explicit => {
                    // Go's processAckMsg: the floor moves only when the ack is the next
                    // delivery above it (then up to the next pending message), or
                    // when nothing is pending any more.
                    let mut dseq = cseq;
                    if let Some(p) = self.state.pending.remove(&sseq) {
                        dseq = p.cseq;
                        self.state.redelivered.remove(&sseq);
                        self.rdq.remove(&sseq);
                        done.push(sseq);
                    }
                    if self.state.pending.is_empty() {
                        self.state.ack_floor = SeqPair {
                            consumer: self.state.delivered.consumer,
                            stream: self.sseq.saturating_sub(1),
                        };
                    } else if dseq == self.state.ack_floor.consumer + 1 {
                        self.state.ack_floor = SeqPair {
                            consumer: dseq,
                            stream: sseq,
                        };
                        if let Some((ss, p)) = self.state.pending.range(sseq + 1..).next() {
                            self.state.ack_floor = SeqPair {
                                consumer: p.cseq.saturating_sub(1),
                                stream: ss - 1,
                            };
                        }
                    }
                    self.dirty = true;
                }
                AckPolicy::All => {
                    let floor = self.state.ack_floor;
                    if cseq <= floor.consumer || sseq <= floor.stream {
                        return done;
                    }
                    self.state.ack_floor = SeqPair {
                        consumer: cseq,
                        stream: sseq,
                    };
                    let acked: Vec<u64> = self
                        .state
                        .pending
                        .range(floor.stream + 1..=sseq)
                        .map(|(s, _)| *s)
                        .collect();
                    for s in acked {
                        self.state.pending.remove(&s);
                        self.state.redelivered.remove(&s);
                        self.rdq.remove(&s);
                        done.push(s);
                    }
                    self.dirty = true;
                }
            },
        }
        done
    }

    /// The ack floor after pending changed: everything below the first pending message
    /// is acknowledged.
    fn update_floor(&mut self) {
        self.dirty = true;
        self.state.ack_floor = match self.state.pending.iter().next() {
            None => self.state.delivered,
            Some((sseq, p)) => SeqPair {
                consumer: p.cseq.saturating_sub(1),
                stream: sseq.saturating_sub(1),
            },
        };
    }

    /// Move pending messages whose time is up to the redelivery queue; returns the
    /// earliest time something else will be due (for the caller's timer).
    pub fn tick(&mut self, now: i64) -> Option<i64> {
        let mut next: Option<i64> = None;
        if now >= self.next_due {
            let mut earliest = i64::MAX;
            for (seq, p) in &self.state.pending {
                if p.due <= now {
                    self.rdq.insert(*seq);
                } else {
                    earliest = earliest.min(p.due);
                }
            }
            self.next_due = earliest;
        }
        if self.next_due != i64::MAX {
            next = Some(self.next_due);
        }
        for r in &self.waiting {
            for t in [r.expires, r.next_heartbeat] {
                if t > 0 {
                    next = Some(next.map_or(t, |n| n.min(t)));
                }
            }
        }
        next
    }

    /// Whether anything is queued for redelivery.
    pub fn has_redeliveries(&self) -> bool {
        !self.rdq.is_empty()
    }

    /// The stream sequence this consumer still needs `seq` for (interest retention).
    pub fn needs(&self, seq: u64, subject: &str) -> bool {
        if seq <= self.state.ack_floor.stream {
            return false;
        }
        if seq < self.sseq && !self.state.pending.contains_key(&seq) && !self.lps.contains(&seq) {
            return false;
        }
        self.cfg.filter_subject.is_empty()
            || nats_subject_matches(&self.cfg.filter_subject, subject)
    }

    /// `CONSUMER.INFO`'s body.
    pub fn info(&self, store: &dyn Store, now: i64) -> ConsumerInfo {
        let _ = now;
        let at = |t: i64| (t > 0).then_some(GoTime(t));
        ConsumerInfo {
            stream_name: self.stream.clone(),
            name: self.name.clone(),
            created: GoTime(self.created),
            config: Some(self.cfg.clone()),
            delivered: SeqInfo {
                consumer_seq: self.state.delivered.consumer,
                stream_seq: self.state.delivered.stream,
                last_active: at(self.last_delivered),
            },
            ack_floor: SeqInfo {
                consumer_seq: self.state.ack_floor.consumer,
                stream_seq: self.state.ack_floor.stream,
                last_active: at(self.last_acked),
            },
            num_ack_pending: self.state.pending.len(),
            num_redelivered: self.state.redelivered.len(),
            num_waiting: self.waiting.len(),
            num_pending: self.num_pending(store),
            push_bound: false,
        }
    }
}

/// The idle heartbeat's header (Go's `sendIdleHeartbeat`).
pub fn idle_heartbeat_hdr(cseq: u64, sseq: u64) -> String {
    format!(
        "NATS/1.0 100 Idle Heartbeat\r\nNats-Last-Consumer: {cseq}\r\nNats-Last-Stream: {sseq}\r\n\r\n"
    )
}

/// Token-wise subject match with `*` and `>` in the pattern.
pub fn nats_subject_matches(pattern: &str, subject: &str) -> bool {
    let mut p = pattern.split('.');
    let mut s = subject.split('.');
    loop {
        match (p.next(), s.next()) {
            (Some(">"), Some(_)) => return true,
            (Some("*"), Some(_)) => {}
            (Some(a), Some(b)) if a == b => {}
            (None, None) => return true,
            _ => return false,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct SeqInfo {
    pub consumer_seq: u64,
    pub stream_seq: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_active: Option<GoTime>,
}

/// Go's `ConsumerInfo` (single server: no cluster).
#[derive(Debug, Serialize)]
pub struct ConsumerInfo {
    pub stream_name: String,
    pub name: String,
    pub created: GoTime,
    /// Always there in the API; `/jsz` leaves it out unless asked for it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config: Option<ConsumerConfig>,
    pub delivered: SeqInfo,
    pub ack_floor: SeqInfo,
    pub num_ack_pending: usize,
    pub num_redelivered: usize,
    pub num_waiting: usize,
    pub num_pending: u64,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub push_bound: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use nats_store::MemStore;

    const S: i64 = 1_000_000_000;

    fn store(n: u64) -> MemStore {
        let mut st = MemStore::new();
        for i in 1..=n {
            st.store(
                &format!("s.{}", i % 3),
                b"",
                format!("m{i}").as_bytes(),
                i as i64,
            )
            .unwrap();
        }
        st
    }

    fn explicit() -> ConsumerConfig {
        ConsumerConfig {
            durable_name: "d".into(),
            ack_policy: AckPolicy::Explicit,
            ack_wait: 30 * S,
            max_ack_pending: 1000,
            max_deliver: -1,
            max_waiting: 512,
            ..Default::default()
        }
    }

    #[test]
    fn pull_batch_acks_and_floor() {
        let st = store(5);
        let mut c = Consumer::new("S", "d", explicit(), 0, &st);
        assert_eq!(
            c.add_request(
                "r1",
                NextRequest {
                    batch: 3,
                    ..Default::default()
                },
                &st,
                0
            ),
            None
        );
        let mut ended = Vec::new();
        let got: Vec<u64> = std::iter::from_fn(|| c.next_pull(&st, 0, &mut ended))
            .map(|o| o.msg.seq)
            .collect();
        assert_eq!(got, [1, 2, 3]);
        assert_eq!(c.waiting(), 0);
        assert_eq!(c.num_pending(&st), 2);
        c.ack(2, 2, AckKind::Ack, 1);
        assert_eq!(
            c.state().ack_floor,
            SeqPair {
                consumer: 0,
                stream: 0
            }
        );
        c.ack(1, 1, AckKind::Ack, 1);
        assert_eq!(
            c.state().ack_floor,
            SeqPair {
                consumer: 2,
                stream: 2
            }
        );
        c.ack(3, 3, AckKind::Ack, 1);
        assert_eq!(
            c.state().ack_floor,
            SeqPair {
                consumer: 3,
                stream: 3
            }
        );
        assert!(c.state().pending.is_empty());
    }

    #[test]
    fn redelivery_after_ack_wait_and_nak_and_max_deliver() {
        let st = store(2);
        let mut cfg = explicit();
        cfg.max_deliver = 2;
        let mut c = Consumer::new("S", "d", cfg, 0, &st);
        let o = c.next_push(&st, 0).unwrap();
        assert_eq!((o.msg.seq, o.dc, o.cseq), (1, 1, 1));
        assert_eq!(o.ack_subject("S", "d"), "$JS.ACK.S.d.1.1.1.1.1");
        // Not yet due.
        assert_eq!(c.tick(29 * S), Some(30 * S));
        assert_eq!(c.next_push(&st, 29 * S).unwrap().msg.seq, 2);
        c.ack(2, 2, AckKind::Nak(0), 29 * S);
        let o = c.next_push(&st, 29 * S).unwrap();
        assert_eq!((o.msg.seq, o.dc, o.cseq), (2, 2, 3));
        c.tick(31 * S);
        let o = c.next_push(&st, 31 * S).unwrap();
        assert_eq!((o.msg.seq, o.dc), (1, 2));
        // A third delivery would exceed max_deliver: the message is given up.
        c.tick(100 * S);
        assert_eq!(c.next_push(&st, 100 * S), None);
        assert!(c.state().pending.is_empty());
    }

    #[test]
    fn no_wait_and_expiry_statuses() {
        let st = store(1);
        let mut c = Consumer::new("S", "d", explicit(), 0, &st);
        let nw = NextRequest {
            batch: 5,
            no_wait: true,
            ..Default::default()
        };
        assert_eq!(c.add_request("a", nw.clone(), &st, 0), None);
        let mut ended = Vec::new();
        assert_eq!(c.next_pull(&st, 0, &mut ended).unwrap().msg.seq, 1);
        assert!(c.next_pull(&st, 0, &mut ended).is_none());
        c.end_no_wait(&st, &mut ended);
        assert_eq!(ended[0].hdr, "NATS/1.0 408 Request Timeout\r\nNats-Pending-Messages: 4\r\nNats-Pending-Bytes: 0\r\n\r\n");
        let st2 = store(0);
        let mut c2 = Consumer::new("S", "d", explicit(), 0, &st2);
        assert_eq!(
            c2.add_request("b", nw, &st2, 0).unwrap().hdr,
            "NATS/1.0 404 No Messages\r\n\r\n"
        );
        let ex = NextRequest {
            batch: 1,
            expires: S,
            ..Default::default()
        };
        assert_eq!(c2.add_request("c", ex, &st2, 0), None);
        let mut ended = Vec::new();
        c2.expire_requests(2 * S, &mut ended);
        assert_eq!(ended.len(), 1);
        assert!(ended[0].hdr.starts_with("NATS/1.0 408 Request Timeout\r\n"));
    }

    #[test]
    fn deliver_policies() {
        let st = store(6);
        let mk = |p: DeliverPolicy, f: &str| {
            let mut cfg = explicit();
            cfg.deliver_policy = p;
            cfg.filter_subject = f.into();
            cfg.opt_start_seq = 4;
            let mut c = Consumer::new("S", "d", cfg, 0, &st);
            std::iter::from_fn(|| c.next_push(&st, 0))
                .map(|o| o.msg.seq)
                .collect::<Vec<_>>()
        };
        assert_eq!(mk(DeliverPolicy::All, ""), [1, 2, 3, 4, 5, 6]);
        assert_eq!(mk(DeliverPolicy::All, "s.1"), [1, 4]);
        assert_eq!(mk(DeliverPolicy::Last, ""), [6]);
        assert_eq!(mk(DeliverPolicy::Last, "s.1"), [4]);
        assert_eq!(mk(DeliverPolicy::New, ""), Vec::<u64>::new());
        assert_eq!(mk(DeliverPolicy::ByStartSequence, ""), [4, 5, 6]);
        assert_eq!(mk(DeliverPolicy::LastPerSubject, ""), [4, 5, 6]);
    }

    #[test]
    fn ack_all_and_max_ack_pending() {
        let st = store(5);
        let mut cfg = explicit();
        cfg.ack_policy = AckPolicy::All;
        cfg.max_ack_pending = 2;
        let mut c = Consumer::new("S", "d", cfg, 0, &st);
        assert!(c.next_push(&st, 0).is_some());
        assert!(c.next_push(&st, 0).is_some());
        assert!(c.next_push(&st, 0).is_none(), "two pending is the limit");
        assert_eq!(c.ack(2, 2, AckKind::Ack, 0), [1, 2]);
        assert_eq!(c.next_push(&st, 0).unwrap().msg.seq, 3);
    }

    #[test]
    fn ack_bodies() {
        assert_eq!(AckKind::parse(b""), Some(AckKind::Ack));
        assert_eq!(AckKind::parse(b"+ACK"), Some(AckKind::Ack));
        assert_eq!(AckKind::parse(b"+NXT {\"batch\":1}"), Some(AckKind::Ack));
        assert_eq!(AckKind::parse(b"-NAK"), Some(AckKind::Nak(0)));
        assert_eq!(
            AckKind::parse(b"-NAK {\"delay\": 5}"),
            Some(AckKind::Nak(5))
        );
        assert_eq!(AckKind::parse(b"+WPI"), Some(AckKind::Progress));
        assert_eq!(AckKind::parse(b"+TERM reason"), Some(AckKind::Term));
        assert_eq!(AckKind::parse(b"junk"), None);
    }
}

//! `$JS.API` requests and their answers, with nats-server 2.9.10's JSON shapes
//! (`type`, field order, errors with `code`/`err_code`/`description`).

use std::sync::atomic::Ordering;
use std::sync::Arc;

use base64::Engine;
use nats_jetstream::advisory::Action;
use nats_jetstream::time::{rfc3339, GoTime};
use nats_jetstream::{ApiError, StateJson, Stream, StreamConfig};
use nats_store::{Purge, StoredMsg};
use serde::{Deserialize, Serialize};

use super::{count_api, create_store, install, now_nanos, unsubscribe_stream, write_meta};
use super::{JetStream, Job, JsAccount, StreamHandle};
use crate::account::Account;
use crate::deliver::{Delivery, Msg};
use crate::monitor::format::to_json_compact;
use crate::server::Server;

const PREFIX: &str = "$JS.API.";
/// Page sizes of STREAM.NAMES and STREAM.LIST (nats-server's).
const NAMES_LIMIT: usize = 1024;
const LIST_LIMIT: usize = 256;

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// An answer: `{"type": …, <error or body>}`.
#[derive(Serialize)]
struct Resp<'a, T: Serialize> {
    #[serde(rename = "type")]
    kind: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<ApiError>,
    #[serde(flatten)]
    body: T,
}

#[derive(Serialize)]
struct Nothing {}

#[derive(Serialize)]
struct Paged {
    total: usize,
    offset: usize,
    limit: usize,
}

#[derive(Serialize)]
struct Info {
    config: StreamConfig,
    created: GoTime,
    state: StateJson,
    #[serde(skip_serializing_if = "Option::is_none")]
    mirror: Option<nats_jetstream::SourceInfo>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    sources: Vec<nats_jetstream::SourceInfo>,
}

#[derive(Serialize)]
struct InfoPaged {
    #[serde(flatten)]
    page: Paged,
    #[serde(flatten)]
    info: Info,
}

/// STREAM.CREATE's answer. Go sets `did_create` on a single server even when the stream
/// already existed with the same config.
#[derive(Serialize)]
struct CreateOut {
    #[serde(flatten)]
    info: Info,
    did_create: bool,
}

#[derive(Serialize)]
struct Success {
    success: bool,
}

#[derive(Serialize)]
struct Purged {
    success: bool,
    purged: u64,
}

#[derive(Serialize)]
struct Names {
    #[serde(flatten)]
    page: Paged,
    /// `null` when the page is empty (Go's nil slice; STREAM.LIST and the consumer
    /// pages start from an empty one and say `[]`).
    streams: Option<Vec<String>>,
}

#[derive(Serialize)]
struct List {
    #[serde(flatten)]
    page: Paged,
    streams: Vec<Info>,
}

#[derive(Serialize)]
struct MsgJson {
    subject: String,
    seq: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    hdrs: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<String>,
    time: GoTime,
}

#[derive(Serialize)]
struct GotMsg {
    message: MsgJson,
}

#[derive(Serialize)]
struct Limits {
    max_memory: i64,
    max_storage: i64,
    max_streams: i64,
    max_consumers: i64,
    max_ack_pending: i64,
    memory_max_stream_bytes: i64,
    storage_max_stream_bytes: i64,
    max_bytes_required: bool,
}

#[derive(Serialize)]
struct ApiStats {
    total: u64,
    errors: u64,
}

#[derive(Serialize)]
struct AccountInfo {
    memory: u64,
    storage: u64,
    // Not sent by Go 2.9.10 (2.10 added them), but clients such as async-nats 0.42 refuse
    // an account info without them, and so could not create a key-value bucket.
    reserved_memory: u64,
    reserved_storage: u64,
    streams: usize,
    consumers: usize,
    limits: Limits,
    #[serde(skip_serializing_if = "String::is_empty")]
    domain: String,
    api: ApiStats,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct PageReq {
    offset: usize,
    subject: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct InfoReq {
    subjects_filter: String,
    offset: usize,
}

/// At most this many subjects in one STREAM.INFO answer (Go's `JSMaxSubjectDetails`).
const MAX_SUBJECT_DETAILS: usize = 100_000;

#[derive(Deserialize, Default)]
#[serde(default)]
struct PurgeReq {
    filter: String,
    seq: u64,
    keep: u64,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct GetReq {
    seq: u64,
    last_by_subj: String,
    next_by_subj: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct DeleteReq {
    seq: u64,
    no_erase: bool,
}

/// Parse a request body; an empty body is the default request.
fn parse<T: for<'de> Deserialize<'de> + Default>(body: &[u8]) -> Result<T, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    // `null` is an empty request too (Go's json.Unmarshal leaves the struct alone).
    nats_jetstream::from_go_json::<Option<T>>(body)
        .map(Option::unwrap_or_default)
        .map_err(|_| ApiError::invalid_json())
}

fn info(h: &StreamHandle, s: &Stream) -> Info {
    let links = h.links.lock();
    Info {
        config: s.config().clone(),
        created: GoTime(s.created()),
        state: s.state_json(),
        mirror: links.iter().find(|l| l.mirror).map(|l| l.info()),
        sources: links
            .iter()
            .filter(|l| !l.mirror)
            .map(|l| l.info())
            .collect(),
    }
}

/// One `$JS.API` request, on the JetStream task.
pub(super) fn handle(srv: &Arc<Server>, js: &Arc<JetStream>, job: Job) {
    let Some(reply) = job.reply.as_deref() else {
        return;
    };
    let body = job.data.get(job.hdr_len.unwrap_or(0)..).unwrap_or_default();
    // `$JS.API.<op>`, or `$JS.<domain>.API.<op>` when a domain is set.
    let op = job
        .subject
        .strip_prefix(PREFIX)
        .or_else(|| {
            job.subject
                .strip_prefix("$JS.")?
                .strip_prefix(js.domain.as_str())
                .filter(|_| !js.domain.is_empty())?
                .strip_prefix(".API.")
        })
        .unwrap_or_default();
    // A pull request is answered by the consumer with messages or a status, outside
    // the API layer (and its statistics), as in Go.
    if let Some(rest) = op.strip_prefix("CONSUMER.MSG.NEXT.") {
        if let Some((stream_name, consumer)) = rest.split_once('.') {
            if let Ok(sh) = stream(&job.account, stream_name) {
                let ch = sh.consumers.lock().get(consumer).cloned();
                if let Some(ch) = ch {
                    super::consumers::next_request(srv, &sh, &ch, reply, body);
                    return;
                }
            }
        }
        // Go has no subscription for a consumer that does not exist: the requester
        // gets no-responders.
        let hdr = b"NATS/1.0 503\r\n\r\n";
        js.publish(srv, &job.account.account, reply, Some(hdr.len()), hdr);
        return;
    }
    let mut after = None;
    let (answer, failed) = answer(srv, js, &job.account, op, body, &mut after);
    let tracked = !untracked(op, failed);
    if tracked {
        count_api(js, failed);
    }
    js.publish(srv, &job.account.account, reply, None, &answer);
    // A snapshot's chunks, or a restore's task, once the answer is out.
    if let Some(after) = after {
        after();
    }
    if let (Some(client), true) = (&job.client, tracked) {
        super::advise_api(
            srv,
            &job.account.account,
            client,
            &job.subject,
            body,
            &answer,
        );
    }
}

/// Answers Go leaves out of the account's API statistics: a message it found for
/// MSG.GET (sent around its API layer). MSG.DELETE's own failure is counted as a
/// success, as Go's; `answer` reports it so.
fn untracked(op: &str, failed: bool) -> bool {
    op.starts_with("STREAM.MSG.GET.") && !failed
}

/// The JSON answer to `op` (the subject after `$JS.API.`), and whether Go counts it as
/// an error.
fn answer(
    srv: &Arc<Server>,
    js: &Arc<JetStream>,
    ja: &Arc<JsAccount>,
    op: &str,
    body: &[u8],
    after: &mut Option<super::snapshot::After>,
) -> (Vec<u8>, bool) {
    let mut tokens = op.splitn(3, '.');
    let (a, b, rest) = (
        tokens.next().unwrap_or_default(),
        tokens.next().unwrap_or_default(),
        tokens.next().unwrap_or_default(),
    );
    macro_rules! reply {
        ($kind:literal, $result:expr) => {{
            let kind = concat!("io.nats.jetstream.api.v1.", $kind);
            match $result {
                Ok(body) => (
                    to_json_compact(&Resp {
                        kind,
                        error: None,
                        body,
                    }),
                    false,
                ),
                Err(e) => (
                    to_json_compact(&Resp {
                        kind,
                        error: Some(e),
                        body: Nothing {},
                    }),
                    true,
                ),
            }
        }};
    }
    match (a, b) {
        ("INFO", "") => reply!(
            "account_info_response",
            Ok::<_, ApiError>(account_info(js, ja))
        ),
        ("STREAM", "CREATE") => reply!("stream_create_response", create(srv, js, ja, rest, body)),
        ("STREAM", "UPDATE") => reply!("stream_update_response", update(srv, js, ja, rest, body)),
        ("STREAM", "INFO") => {
            let kind = "io.nats.jetstream.api.v1.stream_info_response";
            let r = stream(ja, rest).and_then(|h| {
                let req: InfoReq = parse(body)?;
                let s = h.stream.lock();
                let mut out = info(&h, &s);
                let mut page = Paged {
                    total: 0,
                    offset: 0,
                    limit: 0,
                };
                if !req.subjects_filter.is_empty() {
                    // Sorted, then one page from `offset`, as Go pages them.
                    let mut all = s.store().subjects(&req.subjects_filter);
                    if !all.is_empty() {
                        all.sort_unstable();
                        let offset = req.offset.min(all.len());
                        let end = (offset + MAX_SUBJECT_DETAILS).min(all.len());
                        page = Paged {
                            total: all.len(),
                            offset,
                            limit: MAX_SUBJECT_DETAILS,
                        };
                        if end > offset {
                            out.state.subjects = Some(all.drain(offset..end).collect());
                        }
                    }
                }
                Ok((out, page))
            });
            match r {
                Ok((info, page)) => {
                    let body = InfoPaged { page, info };
                    (
                        to_json_compact(&Resp {
                            kind,
                            error: None,
                            body,
                        }),
                        false,
                    )
                }
                // Go's error form of INFO keeps the paging fields after the error.
                Err(e) => {
                    let body = Paged {
                        total: 0,
                        offset: 0,
                        limit: 0,
                    };
                    (
                        to_json_compact(&Resp {
                            kind,
                            error: Some(e),
                            body,
                        }),
                        true,
                    )
                }
            }
        }
        ("STREAM", "DELETE") => reply!("stream_delete_response", delete(srv, ja, rest)),
        ("STREAM", "PURGE") => reply!(
            "stream_purge_response",
            stream(ja, rest).and_then(|h| {
                let req: PurgeReq = parse(body)?;
                let purge = Purge {
                    filter: (!req.filter.is_empty()).then_some(req.filter),
                    up_to: (req.seq > 0).then_some(req.seq),
                    keep: (req.keep > 0).then_some(req.keep),
                };
                let n = h.stream.lock().purge(&purge)?;
                Ok(Purged {
                    success: true,
                    purged: n,
                })
            })
        ),
        ("STREAM", "NAMES") => reply!("stream_names_response", names(ja, body)),
        ("STREAM", "SNAPSHOT") => reply!(
            "stream_snapshot_response",
            if super::snapshot::is_empty_request(body) {
                Err(ApiError::bad_request())
            } else {
                stream(ja, rest)
                    .and_then(|h| super::snapshot::snapshot(srv, ja, h, body))
                    .map(|(out, start)| {
                        *after = Some(start);
                        out
                    })
            }
        ),
        ("STREAM", "RESTORE") => {
            let kind = "io.nats.jetstream.api.v1.stream_restore_response";
            let r = super::snapshot::restore(
                srv,
                js,
                ja,
                rest,
                body,
                |cfg| check_config(ja, cfg),
                |name| stream(ja, name).is_ok(),
            );
            let (error, body) = match r {
                Ok((out, start)) => {
                    *after = Some(start);
                    (None, out)
                }
                Err(e) => (
                    Some(e),
                    super::snapshot::RestoreOut {
                        deliver_subject: String::new(),
                    },
                ),
            };
            let failed = error.is_some();
            (to_json_compact(&Resp { kind, error, body }), failed)
        }
        ("STREAM", "LIST") => {
            let r = parse::<PageReq>(body);
            match r {
                Err(e) => reply!("stream_list_response", Err::<Nothing, _>(e)),
                Ok(req) => {
                    let handles = matching(ja, &req.subject);
                    let total = handles.len();
                    let streams = handles
                        .iter()
                        .skip(req.offset)
                        .take(LIST_LIMIT)
                        .map(|h| info(h, &h.stream.lock()))
                        .collect();
                    reply!(
                        "stream_list_response",
                        Ok::<_, ApiError>(List {
                            page: Paged {
                                total,
                                offset: req.offset.min(total),
                                limit: LIST_LIMIT
                            },
                            streams
                        })
                    )
                }
            }
        }
        ("STREAM", "MSG") => {
            let (what, name) = rest.split_once('.').unwrap_or((rest, ""));
            match what {
                "GET" => reply!("stream_msg_get_response", msg_get(ja, name, body)),
                "DELETE" => {
                    let mut deleted = false;
                    let (json, _) = reply!(
                        "stream_msg_delete_response",
                        stream(ja, name).and_then(|h| {
                            let req: DeleteReq = parse(body)?;
                            // The outcome of the delete itself, either way, Go reports
                            // through its API layer as a success.
                            deleted = true;
                            match h.stream.lock().delete_msg(req.seq, !req.no_erase)? {
                                true => Ok(Success { success: true }),
                                false => Err(ApiError::msg_delete_failed("no message found")),
                            }
                        })
                    );
                    (json, !deleted)
                }
                _ => reply!("error_response", Err::<Nothing, _>(ApiError::bad_request())),
            }
        }
        ("CONSUMER", "CREATE") => {
            // CREATE.<stream>[.<name>[.<filter>]]
            let mut t = rest.splitn(3, '.');
            let (sn, name, filter) = (t.next().unwrap_or_default(), t.next(), t.next());
            reply!(
                "consumer_create_response",
                consumer_create(srv, ja, sn, name, filter, false, body)
            )
        }
        ("CONSUMER", "DURABLE") => {
            // DURABLE.CREATE.<stream>.<durable>
            let mut t = rest.splitn(3, '.');
            let (what, sn, name) = (
                t.next().unwrap_or_default(),
                t.next().unwrap_or_default(),
                t.next(),
            );
            if what != "CREATE" {
                return reply!("error_response", Err::<Nothing, _>(ApiError::bad_request()));
            }
            reply!(
                "consumer_create_response",
                consumer_create(srv, ja, sn, name, None, true, body)
            )
        }
        ("CONSUMER", "INFO") => reply!(
            "consumer_info_response",
            consumer_of(ja, rest).map(|(sh, ch)| consumer_info(&sh, &ch))
        ),
        ("CONSUMER", "DELETE") => reply!(
            "consumer_delete_response",
            consumer_of(ja, rest).map(|(sh, ch)| {
                let name = ch.consumer.lock().name().to_string();
                super::consumers::delete(srv, &sh, &name);
                Success { success: true }
            })
        ),
        ("CONSUMER", "NAMES") => reply!(
            "consumer_names_response",
            stream(ja, rest).and_then(|sh| {
                let req: PageReq = parse(body)?;
                let all: Vec<String> = sh.consumers.lock().keys().cloned().collect();
                Ok(ConsumerNames {
                    page: Paged {
                        total: all.len(),
                        offset: req.offset.min(all.len()),
                        limit: NAMES_LIMIT,
                    },
                    consumers: all.into_iter().skip(req.offset).take(NAMES_LIMIT).collect(),
                })
            })
        ),
        ("CONSUMER", "LIST") => reply!(
            "consumer_list_response",
            stream(ja, rest).and_then(|sh| {
                let req: PageReq = parse(body)?;
                let all: Vec<_> = sh.consumers.lock().values().cloned().collect();
                Ok(ConsumerList {
                    page: Paged {
                        total: all.len(),
                        offset: req.offset.min(all.len()),
                        limit: LIST_LIMIT,
                    },
                    consumers: all
                        .iter()
                        .skip(req.offset)
                        .take(LIST_LIMIT)
                        .map(|ch| consumer_info(&sh, ch))
                        .collect(),
                })
            })
        ),
        _ => reply!("error_response", Err::<Nothing, _>(ApiError::bad_request())),
    }
}

#[derive(Serialize)]
struct ConsumerNames {
    #[serde(flatten)]
    page: Paged,
    consumers: Vec<String>,
}

#[derive(Serialize)]
struct ConsumerList {
    #[serde(flatten)]
    page: Paged,
    consumers: Vec<nats_jetstream::consumer::ConsumerInfo>,
}

fn consumer_create(
    srv: &Arc<Server>,
    ja: &Arc<JsAccount>,
    stream_name: &str,
    name: Option<&str>,
    filter: Option<&str>,
    durable_api: bool,
    body: &[u8],
) -> Result<nats_jetstream::consumer::ConsumerInfo, ApiError> {
    use super::consumers;
    let req: consumers::CreateReq =
        nats_jetstream::from_go_json(body).map_err(|_| ApiError::invalid_json())?;
    if req.stream_name != stream_name {
        return Err(ApiError::stream_mismatch());
    }
    let sh = stream(ja, stream_name)?;
    if durable_api && name.is_none() {
        return Err(ApiError::consumer_durable_name_not_in_subject());
    }
    let ch = consumers::create(srv, ja, &sh, req, name, filter, durable_api)?;
    Ok(consumer_info(&sh, &ch))
}

/// `<stream>.<consumer>` of an INFO or DELETE subject.
fn consumer_of(
    ja: &JsAccount,
    rest: &str,
) -> Result<(Arc<StreamHandle>, Arc<super::consumers::ConsumerHandle>), ApiError> {
    let (sn, cn) = rest.split_once('.').unwrap_or((rest, ""));
    let sh = stream(ja, sn)?;
    let ch = sh
        .consumers
        .lock()
        .get(cn)
        .cloned()
        .ok_or_else(ApiError::consumer_not_found)?;
    Ok((sh, ch))
}

fn consumer_info(
    sh: &StreamHandle,
    ch: &super::consumers::ConsumerHandle,
) -> nats_jetstream::consumer::ConsumerInfo {
    // A push consumer is bound while someone listens on its deliver subject (asked
    // before taking the consumer's lock, which `bound` takes too).
    let bound = ch.bound();
    let c = ch.consumer.lock();
    let s = sh.stream.lock();
    let mut info = c.info(s.store(), now_nanos());
    info.push_bound = bound;
    info
}

fn stream(ja: &JsAccount, name: &str) -> Result<Arc<StreamHandle>, ApiError> {
    ja.streams
        .lock()
        .get(name)
        .cloned()
        .ok_or_else(ApiError::stream_not_found)
}

/// Streams whose subjects collide with `filter` (all without one), by name.
fn matching(ja: &JsAccount, filter: &str) -> Vec<Arc<StreamHandle>> {
    ja.streams
        .lock()
        .values()
        .filter(|h| {
            filter.is_empty()
                || h.stream
                    .lock()
                    .config()
                    .subjects
                    .iter()
                    .any(|s| nats_sublist::subject::subjects_collide(s, filter))
        })
        .cloned()
        .collect()
}

fn account_info(js: &JetStream, ja: &JsAccount) -> AccountInfo {
    let (memory, storage, streams) = js.usage(ja);
    AccountInfo {
        memory,
        storage,
        reserved_memory: 0,
        reserved_storage: 0,
        streams,
        consumers: ja
            .streams
            .lock()
            .values()
            .map(|h| h.consumers.lock().len())
            .sum(),
        limits: Limits {
            max_memory: ja.limits.max_memory,
            max_storage: ja.limits.max_store,
            max_streams: ja.limits.max_streams,
            max_consumers: ja.limits.max_consumers,
            max_ack_pending: ja.limits.max_ack_pending,
            memory_max_stream_bytes: ja.limits.memory_max_stream_bytes,
            storage_max_stream_bytes: ja.limits.store_max_stream_bytes,
            max_bytes_required: ja.limits.max_bytes_required,
        },
        domain: js.domain.clone(),
        api: ApiStats {
            total: js.api_total.load(Ordering::Relaxed),
            errors: js.api_errors.load(Ordering::Relaxed),
        },
    }
}

fn read_config(ja: &JsAccount, name: &str, body: &[u8]) -> Result<StreamConfig, ApiError> {
    if name.contains(['/', '\\']) {
        return Err(ApiError::name_contains_path_separators());
    }
    let cfg: StreamConfig =
        nats_jetstream::from_go_json(body).map_err(|_| ApiError::invalid_json())?;
    if cfg.name != name {
        return Err(ApiError::stream_mismatch());
    }
    check_config(ja, cfg)
}

/// Go's `checkStreamCfg` on a parsed config: normalized, with the checks of its origin
/// streams, replicas and mirror-direct.
fn check_config(ja: &JsAccount, cfg: StreamConfig) -> Result<StreamConfig, ApiError> {
    // The account's other streams, for the checks of a mirror's or source's origin.
    let cfg = cfg.normalized_with(|other| {
        let h = ja.streams.lock().get(other).cloned()?;
        let c = h.stream.lock().config().clone();
        Some(c)
    })?;
    if cfg.num_replicas > 1 {
        return Err(ApiError::replicas_not_supported());
    }
    if cfg.mirror_direct && cfg.mirror.is_none() {
        return Err(ApiError::invalid_config(
            "stream has no mirror but does have mirror direct",
        ));
    }
    Ok(cfg)
}

/// Another stream of the account already takes one of `cfg`'s subjects.
pub(super) fn overlaps(ja: &JsAccount, cfg: &StreamConfig) -> bool {
    ja.streams.lock().values().any(|h| {
        let s = h.stream.lock();
        let other = s.config();
        other.name != cfg.name
            && other.subjects.iter().any(|a| {
                cfg.subjects
                    .iter()
                    .any(|b| nats_sublist::subject::subjects_collide(a, b))
            })
    })
}

fn create(
    srv: &Arc<Server>,
    js: &JetStream,
    ja: &Arc<JsAccount>,
    name: &str,
    body: &[u8],
) -> Result<CreateOut, ApiError> {
    let cfg = read_config(ja, name, body)?;
    if let Ok(h) = stream(ja, name) {
        let s = h.stream.lock();
        if *s.config() != cfg {
            return Err(ApiError::stream_name_exists());
        }
        // The same config again: the existing stream, as Go answers (its create answer
        // leaves out the mirror and sources).
        let mut out = info(&h, &s);
        out.mirror = None;
        out.sources.clear();
        return Ok(CreateOut {
            info: out,
            did_create: true,
        });
    }
    if overlaps(ja, &cfg) {
        return Err(ApiError::subject_overlap());
    }
    ja.check_new_stream(&cfg)?;
    let created = now_nanos();
    let (store, dir) = create_store(js, ja, &cfg, created).map_err(|e| ApiError::general(&e))?;
    let h = install(srv, ja, Stream::new(cfg, store, created), dir);
    super::advise_stream(srv, &ja.account, name, Action::Create);
    let mut out = info(&h, &h.stream.lock());
    out.mirror = None;
    out.sources.clear();
    Ok(CreateOut {
        info: out,
        did_create: true,
    })
}

fn update(
    srv: &Arc<Server>,
    _js: &JetStream,
    ja: &Arc<JsAccount>,
    name: &str,
    body: &[u8],
) -> Result<Info, ApiError> {
    let cfg = read_config(ja, name, body)?;
    let h = stream(ja, name)?;
    {
        let s = h.stream.lock();
        let old = s.config();
        // Go's `checkStreamUpdate`, in its order.
        let refusal = if old.max_consumers != cfg.max_consumers {
            Some("stream configuration update can not change MaxConsumers")
        } else if old.storage != cfg.storage {
            Some("stream configuration update can not change storage type")
        } else if old.retention != cfg.retention {
            Some("stream configuration update can not change retention policy")
        } else if old.sealed && !cfg.sealed {
            Some("stream configuration update can not unseal a sealed stream")
        } else if old.deny_delete && !cfg.deny_delete {
            Some("stream configuration update can not cancel deny message deletes")
        } else if old.deny_purge && !cfg.deny_purge {
            Some("stream configuration update can not cancel deny purge")
        } else if old.mirror != cfg.mirror {
            return Err(ApiError::mirror_not_updatable());
        } else if old.republish != cfg.republish {
            Some("stream configuration update can not change RePublish")
        } else {
            None
        };
        if let Some(why) = refusal {
            return Err(ApiError::invalid_config(why));
        }
    }
    if overlaps(ja, &cfg) {
        return Err(ApiError::subject_overlap());
    }
    if let Some(dir) = &h.dir {
        let created = h.stream.lock().created();
        write_meta(dir, &cfg, created).map_err(|e| ApiError::general(&e))?;
    }
    unsubscribe_stream(srv, &h);
    let relink = h.stream.lock().config().sources != cfg.sources;
    h.stream.lock().set_config(cfg);
    super::subscribe_stream(srv, ja, &h);
    if relink {
        super::sourcing::start(srv, ja, &h);
    }
    super::advise_stream(srv, &ja.account, name, Action::Modify);
    let out = info(&h, &h.stream.lock());
    Ok(out)
}

fn delete(srv: &Server, ja: &JsAccount, name: &str) -> Result<Success, ApiError> {
    let h = ja
        .streams
        .lock()
        .remove(name)
        .ok_or_else(ApiError::stream_not_found)?;
    super::sourcing::stop(&h);
    unsubscribe_stream(srv, &h);
    let consumers: Vec<_> = std::mem::take(&mut *h.consumers.lock())
        .into_values()
        .collect();
    for ch in consumers {
        super::consumers::stop(srv, &ch, false);
        super::consumers::advise_deleted(srv, &ch);
    }
    if let Some(dir) = &h.dir {
        if let Err(e) = std::fs::remove_dir_all(dir) {
            crate::error!(
                srv.log,
                "JetStream could not remove {:?}: {}",
                dir.display().to_string(),
                e
            );
        }
    }
    super::advise_stream(srv, &ja.account, name, Action::Delete);
    Ok(Success { success: true })
}

fn names(ja: &JsAccount, body: &[u8]) -> Result<Names, ApiError> {
    let req: PageReq = parse(body)?;
    let all: Vec<String> = matching(ja, &req.subject)
        .iter()
        .map(|h| h.stream.lock().config().name.clone())
        .collect();
    Ok(Names {
        page: Paged {
            total: all.len(),
            offset: req.offset.min(all.len()),
            limit: NAMES_LIMIT,
        },
        streams: Some(all.into_iter().skip(req.offset).take(NAMES_LIMIT).collect())
            .filter(|v: &Vec<String>| !v.is_empty()),
    })
}

/// The message a MSG.GET or DIRECT.GET request selects.
fn select(s: &Stream, req: &GetReq) -> Result<Option<StoredMsg>, ApiError> {
    let store = s.store();
    let got = if !req.last_by_subj.is_empty() {
        store.last_by_subject(&req.last_by_subj)
    } else if !req.next_by_subj.is_empty() {
        store.next(req.seq, Some(&req.next_by_subj))
    } else {
        store.get(req.seq)
    };
    got.map_err(|e| ApiError::general(&e.to_string()))
}

fn msg_get(ja: &JsAccount, name: &str, body: &[u8]) -> Result<GotMsg, ApiError> {
    let h = stream(ja, name)?;
    let req: GetReq = parse(body)?;
    if req.seq == 0 && req.last_by_subj.is_empty() && req.next_by_subj.is_empty() {
        return Err(ApiError::bad_request());
    }
    let s = h.stream.lock();
    let m = select(&s, &req)?.ok_or_else(ApiError::no_message_found)?;
    Ok(GotMsg {
        message: MsgJson {
            subject: m.subject,
            seq: m.seq,
            hdrs: (!m.hdr.is_empty()).then(|| b64(&m.hdr)),
            data: (!m.data.is_empty()).then(|| b64(&m.data)),
            time: GoTime(m.ts),
        },
    })
}

/// `$JS.API.DIRECT.GET.<stream>[.<subject>]`: the message itself, with `Nats-Stream`,
/// `Nats-Subject`, `Nats-Sequence` and `Nats-Time-Stamp` headers, or a 404/408 status.
/// Answered on the requester's task: it is one read.
pub(super) fn direct_get(
    srv: &Server,
    d: &mut Delivery,
    acc: &Arc<Account>,
    h: &StreamHandle,
    m: Msg<'_>,
) {
    let Some(reply) = m.reply else { return };
    let body = m.data.get(m.hdr_len.unwrap_or(0)..).unwrap_or_default();
    let subject = String::from_utf8_lossy(m.subject);
    let name_len = {
        let s = h.stream.lock();
        "$JS.API.DIRECT.GET.".len() + s.config().name.len()
    };
    let req = match subject.get(name_len..).and_then(|t| t.strip_prefix('.')) {
        Some(last_by) if !last_by.is_empty() => Ok(GetReq {
            last_by_subj: last_by.to_string(),
            ..Default::default()
        }),
        _ => parse::<GetReq>(body),
    };
    let found = match req {
        Err(_) => Err("NATS/1.0 408 Bad Request\r\n\r\n"),
        Ok(req) => {
            let s = h.stream.lock();
            match select(&s, &req) {
                Ok(Some(msg)) => Ok((s.config().name.clone(), msg)),
                _ => Err("NATS/1.0 404 Message Not Found\r\n\r\n"),
            }
        }
    };
    let (hdr, payload) = match found {
        Err(status) => (status.as_bytes().to_vec(), Vec::new()),
        Ok((name, msg)) => {
            let mut hdr = if msg.hdr.is_empty() {
                b"NATS/1.0\r\n".to_vec()
            } else {
                // The message's own headers, without their closing blank line.
                let h = &msg.hdr[..];
                h.strip_suffix(b"\r\n").unwrap_or(h).to_vec()
            };
            hdr.extend_from_slice(
                format!(
                    "Nats-Stream: {name}\r\nNats-Subject: {}\r\nNats-Sequence: {}\r\nNats-Time-Stamp: {}\r\n\r\n",
                    msg.subject,
                    msg.seq,
                    rfc3339(msg.ts)
                )
                .as_bytes(),
            );
            (hdr, msg.data.to_vec())
        }
    };
    let mut data = hdr.clone();
    data.extend_from_slice(&payload);
    d.publish(
        srv,
        acc,
        None,
        true,
        Msg {
            subject: reply,
            reply: None,
            hdr_len: Some(hdr.len()),
            data: &data,
        },
    );
}

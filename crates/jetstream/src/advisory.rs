//! JetStream's advisories and ack metrics as nats-server 2.9.10 publishes them (in the
//! stream's account): the subject and the JSON body, given an id and a time from the
//! caller. Stream and consumer actions (created, updated, deleted), consumer deliveries
//! given up (`max_deliver`), NAKs, terminations, and sampled ack times.

use serde::Serialize;

use crate::time::GoTime;

/// What a consumer reports, drained by the server after each operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConsumerEvent {
    /// Delivered `deliveries` times without an ack: given up.
    MaxDeliveries { stream_seq: u64, deliveries: u64 },
    Nak {
        consumer_seq: u64,
        stream_seq: u64,
        deliveries: u64,
    },
    Terminated {
        consumer_seq: u64,
        stream_seq: u64,
        deliveries: u64,
    },
    /// A sampled ack (`sample_freq`): how long after its delivery it came.
    AckSample {
        consumer_seq: u64,
        stream_seq: u64,
        deliveries: u64,
        ack_time: i64,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Create,
    Modify,
    Delete,
}

impl Action {
    fn as_str(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Modify => "modify",
            Action::Delete => "delete",
        }
    }

    fn stream_subject(self) -> &'static str {
        match self {
            Action::Create => "CREATED",
            Action::Modify => "UPDATED",
            Action::Delete => "DELETED",
        }
    }
}

/// The `type`, `id` and `timestamp` every advisory starts with.
#[derive(Serialize)]
struct Typed<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    id: &'a str,
    timestamp: GoTime,
}

#[derive(Serialize)]
struct StreamAction<'a> {
    #[serde(flatten)]
    t: Typed<'a>,
    stream: &'a str,
    action: &'static str,
    #[serde(skip_serializing_if = "str::is_empty")]
    domain: &'a str,
}

#[derive(Serialize)]
struct ConsumerAction<'a> {
    #[serde(flatten)]
    t: Typed<'a>,
    stream: &'a str,
    consumer: &'a str,
    action: &'static str,
    #[serde(skip_serializing_if = "str::is_empty")]
    domain: &'a str,
}

#[derive(Serialize)]
struct Delivery<'a> {
    #[serde(flatten)]
    t: Typed<'a>,
    stream: &'a str,
    consumer: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    consumer_seq: Option<u64>,
    stream_seq: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    ack_time: Option<i64>,
    deliveries: u64,
    #[serde(skip_serializing_if = "str::is_empty")]
    domain: &'a str,
}

/// `$JS.EVENT.ADVISORY.API`: one JetStream API request and its answer.
#[derive(Serialize)]
struct ApiAudit<'a, C: Serialize> {
    #[serde(flatten)]
    t: Typed<'a>,
    server: &'a str,
    client: &'a C,
    subject: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    request: &'a str,
    response: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    domain: &'a str,
}

/// Where advisories carry their context: the stream, the event's id and time, the
/// JetStream domain.
pub struct Context<'a> {
    pub stream: &'a str,
    pub id: &'a str,
    pub now: i64,
    pub domain: &'a str,
}

impl Context<'_> {
    fn typed(&self, kind: &'static str) -> Typed<'_> {
        Typed {
            kind,
            id: self.id,
            timestamp: GoTime(self.now),
        }
    }

    /// `$JS.EVENT.ADVISORY.API`: the audit of an API request on `subject` (`request` its
    /// body, `response` the answer), from `client` (Go's `ClientInfo` as the request
    /// carried it into the API) on server `server`.
    pub fn api_audit<C: Serialize>(
        &self,
        server: &str,
        client: &C,
        subject: &str,
        request: &str,
        response: &str,
    ) -> (String, Vec<u8>) {
        let body = ApiAudit {
            t: self.typed("io.nats.jetstream.advisory.v1.api_audit"),
            server,
            client,
            subject,
            request,
            response,
            domain: self.domain,
        };
        (
            "$JS.EVENT.ADVISORY.API".to_string(),
            serde_json::to_vec(&body).unwrap_or_default(),
        )
    }

    /// `$JS.EVENT.ADVISORY.STREAM.{CREATED,UPDATED,DELETED}.<stream>`.
    pub fn stream_action(&self, action: Action) -> (String, Vec<u8>) {
        let body = StreamAction {
            t: self.typed("io.nats.jetstream.advisory.v1.stream_action"),
            stream: self.stream,
            action: action.as_str(),
            domain: self.domain,
        };
        (
            format!(
                "$JS.EVENT.ADVISORY.STREAM.{}.{}",
                action.stream_subject(),
                self.stream
            ),
            serde_json::to_vec(&body).unwrap_or_default(),
        )
    }

    /// `$JS.EVENT.ADVISORY.CONSUMER.{CREATED,DELETED}.<stream>.<consumer>`.
    pub fn consumer_action(&self, consumer: &str, action: Action) -> (String, Vec<u8>) {
        let body = ConsumerAction {
            t: self.typed("io.nats.jetstream.advisory.v1.consumer_action"),
            stream: self.stream,
            consumer,
            action: action.as_str(),
            domain: self.domain,
        };
        (
            format!(
                "$JS.EVENT.ADVISORY.CONSUMER.{}.{}.{consumer}",
                action.stream_subject(),
                self.stream
            ),
            serde_json::to_vec(&body).unwrap_or_default(),
        )
    }

    /// A consumer's event: its subject and body.
    pub fn consumer_event(&self, consumer: &str, ev: ConsumerEvent) -> (String, Vec<u8>) {
        let (kind, prefix, consumer_seq, stream_seq, deliveries, ack_time) = match ev {
            ConsumerEvent::MaxDeliveries {
                stream_seq,
                deliveries,
            } => (
                "io.nats.jetstream.advisory.v1.max_deliver",
                "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES",
                None,
                stream_seq,
                deliveries,
                None,
            ),
            ConsumerEvent::Nak {
                consumer_seq,
                stream_seq,
                deliveries,
            } => (
                "io.nats.jetstream.advisory.v1.nak",
                "$JS.EVENT.ADVISORY.CONSUMER.MSG_NAKED",
                Some(consumer_seq),
                stream_seq,
                deliveries,
                None,
            ),
            ConsumerEvent::Terminated {
                consumer_seq,
                stream_seq,
                deliveries,
            } => (
                "io.nats.jetstream.advisory.v1.terminated",
                "$JS.EVENT.ADVISORY.CONSUMER.MSG_TERMINATED",
                Some(consumer_seq),
                stream_seq,
                deliveries,
                None,
            ),
            ConsumerEvent::AckSample {
                consumer_seq,
                stream_seq,
                deliveries,
                ack_time,
            } => (
                "io.nats.jetstream.metric.v1.consumer_ack",
                "$JS.EVENT.METRIC.CONSUMER.ACK",
                Some(consumer_seq),
                stream_seq,
                deliveries,
                Some(ack_time),
            ),
        };
        let body = Delivery {
            t: self.typed(kind),
            stream: self.stream,
            consumer,
            consumer_seq,
            stream_seq,
            ack_time,
            deliveries,
            domain: self.domain,
        };
        (
            format!("{prefix}.{}.{consumer}", self.stream),
            serde_json::to_vec(&body).unwrap_or_default(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_as_go() {
        let cx = Context {
            stream: "S",
            id: "ID",
            now: 1_000_000_000,
            domain: "",
        };
        let (s, b) = cx.stream_action(Action::Create);
        assert_eq!(s, "$JS.EVENT.ADVISORY.STREAM.CREATED.S");
        assert_eq!(
            String::from_utf8(b).unwrap(),
            r#"{"type":"io.nats.jetstream.advisory.v1.stream_action","id":"ID","timestamp":"1970-01-01T00:00:01Z","stream":"S","action":"create"}"#
        );
        let (s, b) = cx.consumer_event(
            "C",
            ConsumerEvent::AckSample {
                consumer_seq: 2,
                stream_seq: 3,
                deliveries: 1,
                ack_time: 5,
            },
        );
        assert_eq!(s, "$JS.EVENT.METRIC.CONSUMER.ACK.S.C");
        assert_eq!(
            String::from_utf8(b).unwrap(),
            r#"{"type":"io.nats.jetstream.metric.v1.consumer_ack","id":"ID","timestamp":"1970-01-01T00:00:01Z","stream":"S","consumer":"C","consumer_seq":2,"stream_seq":3,"ack_time":5,"deliveries":1}"#
        );
    }
}

//! Every `-ERR '…'` text a peer can see, worded exactly as nats-server 2.9.10 words it.
//! Tests pin these strings: clients match on them.

pub const UNKNOWN_OP: &str = "Unknown Protocol Operation";
pub const AUTH_VIOLATION: &str = "Authorization Violation";
pub const AUTH_TIMEOUT: &str = "Authentication Timeout";
pub const MAX_PAYLOAD: &str = "Maximum Payload Violation";
pub const MAX_CONTROL_LINE: &str = "maximum control line exceeded";
pub const INVALID_PROTOCOL: &str = "invalid client protocol";
pub const NO_RESPONDERS_NEEDS_HEADERS: &str = "no responders requires headers support";
pub const MAX_CONNECTIONS: &str = "maximum connections exceeded";
pub const STALE_CONNECTION: &str = "Stale Connection";
pub const ROUTE_PORT: &str = "attempted to connect to route port";
pub const INVALID_SUBJECT: &str = "Invalid Subject";
pub const INVALID_PUB_SUBJECT: &str = "Invalid Publish Subject";
pub const MAX_SUBSCRIPTIONS: &str = "maximum subscriptions exceeded";
pub const INVALID_SUBSCRIPTION: &str = "Invalid Subscription";

/// `Rejecting connection, cluster name "<theirs>" does not match "<ours>"`
pub fn cluster_name_mismatch(theirs: &str, ours: &str) -> String {
    format!("Rejecting connection, cluster name {theirs:?} does not match {ours:?}")
}

/// `Permissions Violation for Publish to "<subject>"`
pub fn pub_violation(subject: &str) -> String {
    format!("Permissions Violation for Publish to {subject:?}")
}

/// `Permissions Violation for Publish with Reply of "<reply>"`
pub fn pub_reply_violation(reply: &str) -> String {
    format!("Permissions Violation for Publish with Reply of {reply:?}")
}

/// `Permissions Violation for Subscription to "<subject>"`
pub fn sub_violation(subject: &str) -> String {
    format!("Permissions Violation for Subscription to {subject:?}")
}

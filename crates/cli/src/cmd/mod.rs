//! One module per `nats` subcommand, plus the few helpers they share: building headers
//! from `-H K:V` flags and reading a body from stdin.

pub mod bench;
pub mod consumer;
pub mod kv;
pub mod object;
pub mod pub_;
pub mod reply;
pub mod req;
pub mod server;
pub mod stream;
pub mod sub;

use std::io::{IsTerminal, Read};

use anyhow::{bail, Context};
use async_nats::HeaderMap;

use crate::opts::split_header;
use crate::template::{self, Ctx};

/// Builds headers from `-H K:V` flags; values may use body templates (natscli does the
/// same). `None` when there are no flags, so plain `PUB` is sent rather than `HPUB`.
pub fn build_headers(raw: &[String], ctx: &Ctx<'_>) -> anyhow::Result<Option<HeaderMap>> {
    if raw.is_empty() {
        return Ok(None);
    }
    let mut headers = HeaderMap::new();
    for item in raw {
        let (key, value) = split_header(item)?;
        if key.chars().any(|c| c.is_whitespace() || c.is_control()) {
            bail!("invalid header name {key:?}");
        }
        let value = template::expand(&value, ctx)
            .map_err(|e| anyhow::anyhow!("failed to parse Header template for {key}: {e}"))?;
        if value.contains(['\r', '\n']) {
            bail!("invalid header value for {key}: line breaks are not allowed");
        }
        headers.append(key.as_str(), value);
    }
    Ok(Some(headers))
}

/// natscli's rule for where a body comes from when none is given on the command line:
/// stdin when it is piped in or `--force-stdin` is set; otherwise an empty body.
pub fn body_from_stdin(force: bool) -> anyhow::Result<Option<String>> {
    let stdin = std::io::stdin();
    if !force && stdin.is_terminal() {
        return Ok(None);
    }
    crate::out::log("Reading payload from STDIN");
    let mut buf = Vec::new();
    stdin
        .lock()
        .read_to_end(&mut buf)
        .context("reading stdin")?;
    Ok(Some(String::from_utf8_lossy(&buf).into_owned()))
}

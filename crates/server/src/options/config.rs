//! Mapping a parsed config file onto [`Options`].
//!
//! STUB: the public API below is fixed; the implementation is to be written.

use super::Options;
use std::path::Path;

/// Problems found in a config file. nats-server reports all of them, one per line, each as
/// `file:line:col: message`; warnings (keys that newer Go servers added) do not stop it.
#[derive(Debug, Default)]
pub struct ConfigReport {
    pub errors: Vec<String>,
    pub warnings: Vec<String>,
}

/// Read `path` and apply it to `opts`.
pub fn apply_file(opts: &mut Options, path: &Path) -> Result<ConfigReport, String> {
    let _ = (opts, path);
    todo!()
}

/// Apply an already parsed config to `opts` (used by tests and by reload).
pub fn apply_map(opts: &mut Options, map: &nats_conf::Map) -> ConfigReport {
    let _ = (opts, map);
    todo!()
}

//! Go `flag`-compatible command line parsing for `nats-server`.
//!
//! STUB: the public API below is fixed; the implementation is to be written.

use super::Options;

/// What `main` should do.
#[derive(Debug)]
pub enum Command {
    /// Run a server with these options (config file already applied, flags on top).
    Run(Box<Options>),
    /// `-t`: the config file is valid. `main` prints `message` on stderr and exits 0.
    CheckConfig { message: String },
    /// `-v`, `version`: print `message` on stdout and exit 0.
    Version { message: String },
    /// `-h`, `help`, or a flag error that Go answers with the usage text: print `text` on
    /// stderr (after `error`, if any) and exit with `code`.
    Usage {
        error: Option<String>,
        text: String,
        code: i32,
    },
    /// `-sl/--signal cmd[=pid|pidfile]`.
    Signal { command: String, target: Option<String> },
}

/// A fatal configuration error: `main` prints `nats-server: <error>` and exits 1.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigureError(pub String);

/// Parse `args` (without the program name), load the config file if one is named, apply
/// the flags over it, and validate the result as nats-server does.
pub fn configure(args: &[String]) -> Result<Command, ConfigureError> {
    let _ = args;
    todo!()
}

//! natscli's body templates: `{{Count}}`, `{{TimeStamp}}`, `{{Unix}}`, `{{UnixNano}}`,
//! `{{Time}}`, `{{ID}}`, `{{Random 10 100}}` and, in `nats reply`, `{{Request}}`.
//!
//! natscli runs bodies through Go's `text/template`; we implement only those actions
//! (with or without the leading dot, e.g. `{{.Count}}`), which is all its help text
//! promises. As in natscli, a body that does not parse is sent as written and a warning
//! is logged. Text without `{{` is returned untouched and without allocation work.

use std::cell::Cell;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};

/// Values a template may refer to.
pub struct Ctx<'a> {
    /// 1-based message number (0-based in `nats reply`, as in natscli).
    pub count: u64,
    /// The request body, for `nats reply`.
    pub request: Option<&'a str>,
}

/// Expands `text`; on an unknown action returns the error text natscli would show.
pub fn expand(text: &str, ctx: &Ctx<'_>) -> Result<String, String> {
    if !text.contains("{{") {
        return Ok(text.to_string());
    }
    let now = chrono::Local::now();
    let mut out = String::with_capacity(text.len() + 16);
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find("}}")
            .ok_or_else(|| "unclosed action".to_string())?;
        let action = after[..end]
            .trim_start_matches('-')
            .trim_end_matches('-')
            .trim();
        let mut words = action.split_whitespace();
        let name = words.next().unwrap_or("").trim_start_matches('.');
        let args: Vec<&str> = words.collect();
        match name {
            "Count" | "Cnt" => out.push_str(&ctx.count.to_string()),
            "Unix" => out.push_str(&now.timestamp().to_string()),
            "UnixNano" => out.push_str(&now.timestamp_nanos_opt().unwrap_or(0).to_string()),
            "TimeStamp" => out.push_str(&now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
            "Time" => out.push_str(&now.format("%-I:%M%p").to_string()),
            "ID" => out.push_str(&unique_id()),
            "Random" => {
                let (min, max) = random_bounds(&args)?;
                out.push_str(&random_string(min, max));
            }
            "Request" => match ctx.request {
                Some(r) => out.push_str(r),
                None => return Err("function \"Request\" not defined".into()),
            },
            other => return Err(format!("function {other:?} not defined")),
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Expands and, if that fails, logs natscli's warning and falls back to the raw text.
pub fn expand_or_warn(text: &str, ctx: &Ctx<'_>, what: &str) -> String {
    match expand(text, ctx) {
        Ok(s) => s,
        Err(err) => {
            crate::out::log(&format!("Could not parse {what} template: {err}"));
            text.to_string()
        }
    }
}

fn random_bounds(args: &[&str]) -> Result<(usize, usize), String> {
    let parse = |s: &str| {
        s.parse::<usize>()
            .map_err(|_| format!("bad Random argument {s:?}"))
    };
    match args {
        [min, max] => {
            let (min, max) = (parse(min)?, parse(max)?);
            Ok((min.min(max), min.max(max)))
        }
        _ => Err("Random needs two arguments: min and max".into()),
    }
}

thread_local! {
    static RNG: Cell<u64> = Cell::new(seed());
}

fn seed() -> u64 {
    // RandomState is seeded from the OS per process; good enough for test payloads.
    let mut h = RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    h.finish() | 1
}

/// xorshift64*: fast, non-cryptographic; used for payloads and ids only.
pub fn next_u64() -> u64 {
    RNG.with(|cell| {
        let mut x = cell.get();
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        cell.set(x);
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    })
}

const ALPHANUM: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// A random alphanumeric string between `min` and `max` characters long.
pub fn random_string(min: usize, max: usize) -> String {
    let len = if max > min {
        min + (next_u64() as usize) % (max - min + 1)
    } else {
        min
    };
    (0..len)
        .map(|_| ALPHANUM[(next_u64() % ALPHANUM.len() as u64) as usize] as char)
        .collect()
}

/// A 22-character base62 id, the shape of a NATS nuid.
pub fn unique_id() -> String {
    random_string(22, 22)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(count: u64) -> Ctx<'static> {
        Ctx {
            count,
            request: None,
        }
    }

    #[test]
    fn count_with_and_without_dot() {
        assert_eq!(
            expand("m {{Count}} {{ .Count }} {{Cnt}}", &ctx(7)),
            Ok("m 7 7 7".into())
        );
        assert_eq!(expand("plain", &ctx(1)), Ok("plain".into()));
    }

    #[test]
    fn other_actions() {
        let unix: i64 = expand("{{Unix}}", &ctx(1))
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        assert!(unix > 1_600_000_000);
        assert_eq!(expand("{{ID}}", &ctx(1)).map(|s| s.len()), Ok(22));
        let r = expand("{{ Random 3 5 }}", &ctx(1)).unwrap_or_default();
        assert!((3..=5).contains(&r.len()));
        let req = Ctx {
            count: 0,
            request: Some("ping"),
        };
        assert_eq!(expand("re: {{Request}}", &req), Ok("re: ping".into()));
    }

    #[test]
    fn errors() {
        assert!(expand("{{Nope}}", &ctx(1)).is_err());
        assert!(expand("{{Count", &ctx(1)).is_err());
        assert!(expand("{{Request}}", &ctx(1)).is_err());
    }
}

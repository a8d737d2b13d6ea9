//! Query-string parameters, decoded the way nats-server's handlers decode them, down to
//! the text of the HTTP 400 answers (`Error decoding boolean for 'subs':
//! strconv.ParseBool: parsing "x": invalid syntax`), since scripts match on those.
//!
//! As with Go's `URL.Query().Get`, a parameter's first value counts, `+` is a space, and a
//! missing or empty parameter means "not given".

/// The decoded query string of one request.
#[derive(Debug, Default)]
pub struct Query(Vec<(String, String)>);

/// Which connections `/connz` lists (`state=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnState {
    Open,
    Closed,
    All,
}

impl Query {
    pub fn parse(raw: Option<&str>) -> Query {
        let pairs = raw
            .map(|q| {
                url::form_urlencoded::parse(q.as_bytes())
                    .into_owned()
                    .collect()
            })
            .unwrap_or_default();
        Query(pairs)
    }

    /// The options of a system-account request (`{"subscriptions": true, "acc": "A"}`,
    /// Go's JSON names for each endpoint's options) as the query parameters the HTTP
    /// handler of the same endpoint reads. `account`: the account of an
    /// `$SYS.REQ.ACCOUNT.<acc>.<endpoint>` request, which overrides any in the body.
    pub fn from_event_options(
        endpoint: &str,
        opts: &serde_json::Map<String, serde_json::Value>,
        account: Option<&str>,
    ) -> Query {
        use serde_json::Value;
        let text = |v: &Value| match v {
            Value::String(s) => s.clone(),
            Value::Bool(b) => b.to_string(),
            Value::Number(n) => n.to_string(),
            _ => String::new(),
        };
        let truthy = |k: &str| opts.get(k).and_then(Value::as_bool).unwrap_or(false);
        let mut q = Vec::new();
        let mut put = |k: &str, v: String| {
            if !v.is_empty() {
                q.push((k.to_string(), v));
            }
        };
        // Options every endpoint names the same way.
        for k in [
            "offset",
            "limit",
            "sort",
            "cid",
            "user",
            "mqtt_client",
            "test",
        ] {
            if let Some(v) = opts.get(k) {
                put(k, text(v));
            }
        }
        if truthy("subscriptions_detail") {
            put("subs", "detail".into());
        } else if truthy("subscriptions") {
            put("subs", "true".into());
        }
        if truthy("auth") {
            put("auth", "true".into());
        }
        if truthy("include_unused") {
            put("unused", "true".into());
        }
        // `/connz`'s state is a number in the options (Go's ConnState).
        match opts.get("state").and_then(Value::as_u64) {
            Some(1) => put("state", "closed".into()),
            Some(2) => put("state", "any".into()),
            _ => {}
        }
        // The account: `acc` for connz, `account` for subsz and accountz, `accounts`
        // (a list) for the account STATZ.
        let acc = account.map(str::to_string).or_else(|| {
            ["acc", "account"]
                .iter()
                .find_map(|k| opts.get(*k).map(text))
                .or_else(|| {
                    let list = opts.get("accounts")?.as_array()?;
                    Some(list.iter().map(text).collect::<Vec<_>>().join(","))
                })
        });
        if let Some(a) = acc {
            put("acc", a);
        }
        if endpoint == "SUBSZ" && account.is_some() {
            put("subs", "true".into());
        }
        Query(q)
    }

    /// The first value of `key`, or `""`.
    pub fn get(&self, key: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map_or("", |(_, v)| v.as_str())
    }

    /// A boolean as Go's `strconv.ParseBool` reads it; absent is false.
    pub fn bool(&self, key: &str) -> Result<bool, String> {
        let v = self.get(key);
        match v {
            "" => Ok(false),
            "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(true),
            "0" | "f" | "F" | "FALSE" | "false" | "False" => Ok(false),
            _ => Err(format!(
                "Error decoding boolean for '{key}': strconv.ParseBool: parsing {}: invalid syntax",
                go_quote(v)
            )),
        }
    }

    /// A signed integer as Go's `strconv.Atoi` reads it; absent is 0.
    pub fn int(&self, key: &str) -> Result<i64, String> {
        let v = self.get(key);
        if v.is_empty() {
            return Ok(0);
        }
        let (neg, digits) = match v.as_bytes()[0] {
            b'+' => (false, &v[1..]),
            b'-' => (true, &v[1..]),
            _ => (false, v),
        };
        let err = |why: &str| {
            format!(
                "Error decoding int for '{key}': strconv.Atoi: parsing {}: {why}",
                go_quote(v)
            )
        };
        let mag = parse_digits(digits).map_err(err)?;
        let max = i64::MAX as u64 + u64::from(neg);
        if mag > max {
            return Err(err("value out of range"));
        }
        Ok(if neg {
            0i64.wrapping_sub_unsigned(mag)
        } else {
            mag as i64
        })
    }

    /// An unsigned integer as Go's `strconv.ParseUint(s, 10, 64)` reads it; absent is 0.
    pub fn uint64(&self, key: &str) -> Result<u64, String> {
        let v = self.get(key);
        if v.is_empty() {
            return Ok(0);
        }
        parse_digits(v).map_err(|why| {
            format!(
                "Error decoding uint64 for '{key}': strconv.ParseUint: parsing {}: {why}",
                go_quote(v)
            )
        })
    }

    /// `state=open|closed|any|all`, any case; absent is open.
    pub fn state(&self) -> Result<ConnState, String> {
        let v = self.get("state");
        match v.to_lowercase().as_str() {
            "" | "open" => Ok(ConnState::Open),
            "closed" => Ok(ConnState::Closed),
            "any" | "all" => Ok(ConnState::All),
            _ => Err(format!("Error decoding state for {v}")),
        }
    }

    /// `subs=detail` (any case) or a boolean: (list subjects, list details).
    pub fn subs(&self) -> Result<(bool, bool), String> {
        if self.get("subs").eq_ignore_ascii_case("detail") {
            return Ok((false, true));
        }
        Ok((self.bool("subs")?, false))
    }
}

/// Decimal digits only, checked for overflow; the error is Go's `NumError` reason.
fn parse_digits(s: &str) -> Result<u64, &'static str> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err("invalid syntax");
    }
    s.bytes()
        .try_fold(0u64, |n, b| {
            n.checked_mul(10)?.checked_add(u64::from(b - b'0'))
        })
        .ok_or("value out of range")
}

/// A string quoted as Go's `strconv.Quote` does for the values we echo back.
pub fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(s: &str) -> Query {
        Query::parse(Some(s))
    }

    #[test]
    fn first_value_and_plus_as_space() {
        let q = q("a=1&a=2&b=x+y&c=%41");
        assert_eq!(q.get("a"), "1");
        assert_eq!(q.get("b"), "x y");
        assert_eq!(q.get("c"), "A");
        assert_eq!(q.get("missing"), "");
        assert_eq!(Query::parse(None).get("a"), "");
    }

    #[test]
    fn bools_as_go() {
        for t in ["1", "t", "T", "true", "TRUE", "True"] {
            assert_eq!(q(&format!("subs={t}")).bool("subs"), Ok(true));
        }
        for f in ["", "0", "f", "false", "FALSE", "False"] {
            assert_eq!(q(&format!("subs={f}")).bool("subs"), Ok(false));
        }
        assert_eq!(
            q("subs=x").bool("subs").unwrap_err(),
            "Error decoding boolean for 'subs': strconv.ParseBool: parsing \"x\": invalid syntax"
        );
        assert!(q("subs=yes").bool("subs").is_err());
    }

    #[test]
    fn ints_as_go() {
        assert_eq!(q("limit=5").int("limit"), Ok(5));
        assert_eq!(q("limit=-3").int("limit"), Ok(-3));
        assert_eq!(q("limit=%2B7").int("limit"), Ok(7));
        assert_eq!(q("").int("limit"), Ok(0));
        assert_eq!(
            q("limit=x").int("limit").unwrap_err(),
            "Error decoding int for 'limit': strconv.Atoi: parsing \"x\": invalid syntax"
        );
        // `+` in a query is a space, which Atoi rejects.
        assert_eq!(
            q("limit=+5").int("limit").unwrap_err(),
            "Error decoding int for 'limit': strconv.Atoi: parsing \" 5\": invalid syntax"
        );
        assert_eq!(
            q("offset=99999999999999999999").int("offset").unwrap_err(),
            "Error decoding int for 'offset': strconv.Atoi: parsing \"99999999999999999999\": value out of range"
        );
        assert_eq!(q("o=-9223372036854775808").int("o"), Ok(i64::MIN));
    }

    #[test]
    fn uints_as_go() {
        assert_eq!(q("cid=12").uint64("cid"), Ok(12));
        assert_eq!(
            q("cid=-1").uint64("cid").unwrap_err(),
            "Error decoding uint64 for 'cid': strconv.ParseUint: parsing \"-1\": invalid syntax"
        );
    }

    #[test]
    fn state_and_subs() {
        assert_eq!(q("").state(), Ok(ConnState::Open));
        assert_eq!(q("state=CLOSED").state(), Ok(ConnState::Closed));
        assert_eq!(q("state=any").state(), Ok(ConnState::All));
        assert_eq!(q("state=all").state(), Ok(ConnState::All));
        assert_eq!(
            q("state=x").state().unwrap_err(),
            "Error decoding state for x"
        );
        assert_eq!(q("subs=Detail").subs(), Ok((false, true)));
        assert_eq!(q("subs=1").subs(), Ok((true, false)));
        assert_eq!(q("").subs(), Ok((false, false)));
        assert!(q("subs=x").subs().is_err());
    }

    #[test]
    fn quoting() {
        assert_eq!(go_quote("a\"b\\c\n\u{1}"), "\"a\\\"b\\\\c\\n\\x01\"");
        assert_eq!(go_quote("µ"), "\"µ\"");
    }
}

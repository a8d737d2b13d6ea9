//! The top-level `mappings {}` (alias `maps`) block: subject mappings of the global
//! account, as nats-server 2.9.10's `parseAccountMappings` reads them.
//!
//! Each entry is `source: "dest"`, `source: {destination, weight, cluster}` or a list of
//! such maps. Every mapping is compiled here (with `nats_sublist::mapping::Mappings`), so a
//! bad one is a config error with Go's wording; the options keep only the plain data, and
//! the server compiles it again when it starts or reloads.

use nats_conf::{Item, Pos, Value};
use nats_sublist::mapping::{MapDest, Mappings};
use nats_sublist::transform::is_valid_source;

use super::value::{effective, go_quote, Diag};
use super::Options;

pub(super) fn parse(o: &mut Options, pos: &Pos, v: &Value, d: &mut Diag) {
    parse_into(&mut o.mappings, pos, v, d);
}

/// The same block inside an account (`accounts { A { mappings {…} } }`).
pub(super) fn parse_into(
    list: &mut Vec<(String, Vec<MapDest>)>,
    pos: &Pos,
    v: &Value,
    d: &mut Diag,
) {
    let Some(map) = d.map(pos, v) else { return };
    let mut check = Mappings::new();
    for e in effective(map) {
        let subj = e.key.as_str();
        if !is_valid_source(subj) {
            d.error(
                pos,
                format!("Subject {} is not a valid subject", go_quote(subj)),
            );
            continue;
        }
        let vpos = &e.key_pos;
        let (dests, shown) = match &e.item.value {
            Value::String(s) => (vec![MapDest::new(s.clone(), 100)], Some(s.as_str())),
            Value::Array(items) => {
                let mut dests = Vec::new();
                let mut bad = false;
                for it in items {
                    match dest(it, d) {
                        Some(m) => dests.push(m),
                        None => bad = true,
                    }
                }
                if bad && dests.is_empty() {
                    continue;
                }
                (dests, None)
            }
            Value::Map(_) => match dest(&e.item, d) {
                Some(m) => (vec![m], None),
                None => continue,
            },
            _ => {
                d.error(vpos, "Expected an entry for the mapping destination");
                continue;
            }
        };
        if let Err(err) = check.add_weighted(subj, &dests) {
            // Go prints the destination only for a plain string; for a list or a map its
            // message is a type-assertion panic, so we print ours without it.
            match shown {
                Some(s) => d.error(
                    vpos,
                    format!(
                        "Error adding mapping for {} to {} : {err}",
                        go_quote(subj),
                        go_quote(s)
                    ),
                ),
                None => d.error(
                    vpos,
                    format!("Error adding mapping for {} : {err}", go_quote(subj)),
                ),
            }
            continue;
        }
        match list.iter_mut().find(|(s, _)| s == subj) {
            Some(slot) => slot.1 = dests,
            None => list.push((subj.to_string(), dests)),
        }
    }
}

/// One `{destination: …, weight: …, cluster: …}` (Go's `parseAccountMapDest`).
fn dest(it: &Item, d: &mut Diag) -> Option<MapDest> {
    let Value::Map(m) = &it.value else {
        d.error(&it.pos, "Expected an entry for the mapping destination");
        return None;
    };
    let mut md = MapDest::new(String::new(), 0);
    let mut weight_set = false;
    for e in effective(m) {
        let (pos, v) = (&e.key_pos, &e.item.value);
        match e.key.to_ascii_lowercase().as_str() {
            "dest" | "destination" => md.subject = d.string(pos, v)?,
            "weight" => {
                let w = match v {
                    Value::String(s) => {
                        let t = s.strip_suffix('%').unwrap_or(s);
                        match t.parse::<i64>() {
                            Ok(w) => w,
                            Err(_) => {
                                d.error(
                                    pos,
                                    format!(
                                        "Invalid weight {} for mapping destination",
                                        go_quote(t)
                                    ),
                                );
                                return None;
                            }
                        }
                    }
                    Value::Int(i) => *i,
                    other => {
                        d.error(
                            pos,
                            format!(
                                "Unknown entry type for weight of {}",
                                super::value::go_display(other)
                            ),
                        );
                        return None;
                    }
                };
                if !(0..=100).contains(&w) {
                    d.error(pos, format!("Invalid weight {w} for mapping destination"));
                    return None;
                }
                md.weight = w as u8;
                weight_set = true;
            }
            "cluster" => md.cluster = Some(d.string(pos, v)?),
            _ => {
                d.error(
                    pos,
                    format!("Unknown field {} for mapping destination", go_quote(&e.key)),
                );
                return None;
            }
        }
    }
    if !weight_set {
        d.error(
            &it.pos,
            format!(
                "Missing weight for mapping destination {}",
                go_quote(&md.subject)
            ),
        );
        return None;
    }
    Some(md)
}

//! Scoped signing key templates (nats-server 2.9.10's `processUserPermissionsTemplate`):
//! a subject token written `{{name()}}`, `{{subject()}}`, `{{account-name()}}`,
//! `{{account-subject()}}`, `{{tag(key)}}` or `{{account-tag(key)}}` is replaced by the
//! user's or account's value. A tag may have several values: the subject is emitted once
//! per combination. In allow lists, subjects that come out invalid are dropped (and an
//! allow list that ends up empty becomes a deny of `>`); in deny lists they refuse the
//! user.

use nats_sublist::subject::is_valid_subject;

/// What the functions of a template read.
pub struct TemplateInput<'a> {
    pub user_name: &'a str,
    pub user_key: &'a str,
    pub user_tags: &'a [String],
    pub account_name: &'a str,
    pub account_key: &'a str,
    pub account_tags: &'a [String],
}

fn is_template(tok: &str) -> bool {
    tok.starts_with("{{") && tok.ends_with("}}")
}

/// The values of the tags named `prefix:` (lower case), without the prefix.
fn tag_values(tags: &[String], key: &str) -> Vec<String> {
    let prefix = format!("{key}:");
    tags.iter()
        .filter_map(|t| t.strip_prefix(&prefix).map(str::to_string))
        .collect()
}

/// A deny list of a template produced an invalid subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidSubject;

/// Expand one list. `Err` when a deny list yields an invalid subject.
pub fn apply(
    list: &[String],
    inp: &TemplateInput<'_>,
    strict: bool,
) -> Result<Vec<String>, InvalidSubject> {
    if !list.iter().any(|s| s.split('.').any(is_template)) {
        return Ok(list.to_vec());
    }
    let mut out = Vec::with_capacity(list.len());
    for subj in list {
        // Each token: a fixed text, or the values a tag function gives.
        let mut toks: Vec<Vec<String>> = Vec::new();
        for tk in subj.split('.') {
            if !is_template(tk) {
                toks.push(vec![tk.to_string()]);
                continue;
            }
            let op = tk[2..tk.len() - 2].to_ascii_lowercase();
            let one = |s: &str| vec![s.to_string()];
            let vals = match op.as_str() {
                "name()" => one(inp.user_name),
                "subject()" => one(inp.user_key),
                "account-name()" => one(inp.account_name),
                "account-subject()" => one(inp.account_key),
                _ if op.starts_with("account-tag(") && op.ends_with(')') => {
                    tag_values(inp.account_tags, &op["account-tag(".len()..op.len() - 1])
                }
                _ if op.starts_with("tag(") && op.ends_with(')') => {
                    tag_values(inp.user_tags, &op["tag(".len()..op.len() - 1])
                }
                // Unknown functions make the subject invalid, as in Go.
                _ => one(" "),
            };
            // A tag with no value leaves the token empty (an invalid subject).
            toks.push(if vals.is_empty() { one("") } else { vals });
        }
        // The cartesian product of the tokens' values.
        let mut subjects = vec![String::new()];
        for (i, vals) in toks.iter().enumerate() {
            let mut next = Vec::with_capacity(subjects.len() * vals.len());
            for s in &subjects {
                for v in vals {
                    next.push(if i == 0 {
                        v.clone()
                    } else {
                        format!("{s}.{v}")
                    });
                }
            }
            subjects = next;
        }
        for s in subjects {
            if is_valid_subject(s.as_bytes()) {
                out.push(s);
            } else if strict {
                return Err(InvalidSubject);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_names_and_tags() {
        let tags = vec![
            "dept:a".to_string(),
            "dept:b".to_string(),
            "x:y".to_string(),
        ];
        let inp = TemplateInput {
            user_name: "bob",
            user_key: "UKEY",
            user_tags: &tags,
            account_name: "acc",
            account_key: "AKEY",
            account_tags: &[],
        };
        let l = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            apply(&l(&["foo.{{name()}}.>", "plain"]), &inp, false).unwrap(),
            l(&["foo.bob.>", "plain"])
        );
        assert_eq!(
            apply(&l(&["{{tag(dept)}}.{{subject()}}"]), &inp, false).unwrap(),
            l(&["a.UKEY", "b.UKEY"])
        );
        assert_eq!(
            apply(
                &l(&["{{account-name()}}.{{account-subject()}}"]),
                &inp,
                false
            )
            .unwrap(),
            l(&["acc.AKEY"])
        );
        // No such tag: the subject is invalid; dropped from allow, fatal in deny.
        assert_eq!(
            apply(&l(&["{{account-tag(none)}}.x"]), &inp, false).unwrap(),
            Vec::<String>::new()
        );
        assert!(apply(&l(&["{{bogus()}}"]), &inp, true).is_err());
    }
}

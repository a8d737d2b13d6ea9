//! Stream limits over any [`Store`]: the `discard: old` side of `max_msgs`, `max_bytes`,
//! `max_msgs_per_subject` and `max_age`, applied after each store and on a timer for age.
//! (`discard: new` refuses before storing; that is the stream's decision, not the store's.)

use crate::{Result, Store};

/// Zero or negative means unlimited, as in a stream config (`-1`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Limits {
    pub max_msgs: i64,
    pub max_bytes: i64,
    pub max_msgs_per_subject: i64,
    /// Nanoseconds.
    pub max_age: i64,
}

fn limit(v: i64) -> Option<u64> {
    (v > 0).then_some(v as u64)
}

/// Removes the oldest messages until the store is within `lim`, given the subject just
/// stored (for the per-subject limit) and the current time in Unix nanoseconds (for the
/// age limit). Returns how many messages went.
pub fn enforce<S: Store + ?Sized>(
    store: &mut S,
    lim: &Limits,
    subject: Option<&str>,
    now: i64,
) -> Result<u64> {
    let mut gone = 0;
    if let (Some(max), Some(subject)) = (limit(lim.max_msgs_per_subject), subject) {
        while let Some((first, n)) = store.subject_first(subject) {
            if n <= max {
                break;
            }
            store.remove(first, false)?;
            gone += 1;
        }
    }
    if let Some(max) = limit(lim.max_msgs) {
        let st = store.state();
        if st.msgs > max {
            gone += drop_oldest(store, st.msgs - max)?;
        }
    }
    if let Some(max) = limit(lim.max_bytes) {
        while store.state().bytes > max {
            let Some((first, _)) = store.first_ts() else {
                break;
            };
            store.remove(first, false)?;
            gone += 1;
        }
    }
    if lim.max_age > 0 {
        let cutoff = now.saturating_sub(lim.max_age);
        while let Some((first, ts)) = store.first_ts() {
            if ts > cutoff {
                break;
            }
            store.remove(first, false)?;
            gone += 1;
        }
    }
    Ok(gone)
}

/// Removes the `n` oldest messages.
fn drop_oldest<S: Store + ?Sized>(store: &mut S, n: u64) -> Result<u64> {
    let mut gone = 0;
    while gone < n {
        let Some((first, _)) = store.first_ts() else {
            break;
        };
        store.remove(first, false)?;
        gone += 1;
    }
    Ok(gone)
}

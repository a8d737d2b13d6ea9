//! Pending counts carried forward. A consumer asks how many of its messages lie at or
//! after its next sequence after every delivery, a little further on each time; counting
//! from there to the end each time makes draining a filtered consumer quadratic. Each
//! store remembers its last answer per filter and corrects it by what the consumer passed
//! and what arrived since — as long as nothing was removed in between and both steps are
//! short (then it counts afresh).

use std::cell::RefCell;
use std::collections::HashMap;

/// How far a count is carried forward before it is counted again.
const STRIDE: u64 = 65_536;
/// Filters remembered at once (consumers of one stream; more and they start over).
const FILTERS: usize = 1024;

/// `count` messages at or after `start`, when `last` was the last sequence and
/// `removals` messages had been removed.
struct Memo {
    start: u64,
    last: u64,
    removals: u64,
    count: u64,
}

#[derive(Default)]
pub(crate) struct PendingMemo {
    by_filter: RefCell<HashMap<Box<str>, Memo>>,
}

impl PendingMemo {
    /// The selected messages at or after `start` for filter `key`, now that `last` is the
    /// last sequence and `removals` have happened. `range(a, b)` counts the selected
    /// messages in `a..=b` (0 when `a > b`); `full()` counts from `start` outright.
    /// Nothing is pending past `last`.
    pub fn count(
        &self,
        key: &str,
        (start, last, removals): (u64, u64, u64),
        range: impl Fn(u64, u64) -> u64,
        full: impl FnOnce() -> u64,
    ) -> u64 {
        if start > last {
            // Nothing is pending, and a memo from past the end would not carry forward
            // (it counts from `start` on, and `last` grows below it).
            return 0;
        }
        let mut memo = self.by_filter.borrow_mut();
        let n = match memo.get(key) {
            Some(m)
                if m.removals == removals
                    && start >= m.start
                    && start - m.start <= STRIDE
                    && m.last <= last
                    && last - m.last <= STRIDE =>
            {
                // Added first: `start` may lie past `m.last`, and what it passed then
                // includes some of what arrived.
                m.count + range(m.last + 1, last) - range(m.start, start - 1)
            }
            _ => full(),
        };
        if memo.len() >= FILTERS && !memo.contains_key(key) {
            memo.clear();
        }
        memo.insert(
            key.into(),
            Memo {
                start,
                last,
                removals,
                count: n,
            },
        );
        n
    }
}

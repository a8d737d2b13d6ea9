//! A large subject index for `nats bench subs`: subscribe time and publish rate.
//!
//! One raw connection creates `count` subscriptions — `<prefix>.sub.<i>` literals for
//! the first half (rounded up) and `<prefix>.*.<j>` wildcards for the rest — in one
//! pipelined write followed by a PING; the time until the PONG is the subscribe time.
//! A second connection then publishes to subjects that match: `<prefix>.sub.<k>`
//! matches the literal `k` and, when `k` is below the wildcard count, the wildcard `k`
//! too. With `spread` > 1 the publisher cycles over that many such subjects (spread
//! evenly over the literals) to defeat the server's match cache. The subscribing
//! connection receives and counts every delivery; the count must equal
//! [`Layout::expected`] exactly.

use std::fmt::Write as _;

/// Which subscriptions exist and which subjects are published to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    pub prefix: String,
    /// Literal subscriptions `<prefix>.sub.0 …`.
    pub literal: usize,
    /// Wildcard subscriptions `<prefix>.*.0 …`.
    pub wildcard: usize,
    /// Indices `k` of the published subjects `<prefix>.sub.<k>`.
    pub targets: Vec<usize>,
}

impl Layout {
    /// Half literal (rounded up), half wildcard; `spread` targets spaced evenly.
    pub fn new(prefix: &str, count: usize, spread: usize) -> anyhow::Result<Layout> {
        if count == 0 {
            anyhow::bail!("--count must be at least 1");
        }
        let literal = count - count / 2;
        let wildcard = count / 2;
        let spread = spread.clamp(1, literal);
        // With one target, pick the middle of the range both kinds cover.
        let targets = if spread == 1 {
            vec![(wildcard.max(1) - 1) / 2]
        } else {
            (0..spread).map(|j| j * literal / spread).collect()
        };
        Ok(Layout {
            prefix: prefix.to_string(),
            literal,
            wildcard,
            targets,
        })
    }

    pub fn count(&self) -> usize {
        self.literal + self.wildcard
    }

    /// The SUB lines for every subscription (sids 1…count), then a PING.
    pub fn sub_frames(&self) -> Vec<u8> {
        let mut s = String::with_capacity(self.count() * (self.prefix.len() + 28) + 8);
        let mut sid = 0usize;
        for i in 0..self.literal {
            sid += 1;
            let _ = write!(s, "SUB {}.sub.{i} {sid}\r\n", self.prefix);
        }
        for j in 0..self.wildcard {
            sid += 1;
            let _ = write!(s, "SUB {}.*.{j} {sid}\r\n", self.prefix);
        }
        s.push_str("PING\r\n");
        s.into_bytes()
    }

    /// The subjects the publisher cycles through.
    pub fn subjects(&self) -> Vec<String> {
        self.targets
            .iter()
            .map(|k| format!("{}.sub.{k}", self.prefix))
            .collect()
    }

    /// Subscriptions that match `<prefix>.sub.<k>`.
    pub fn matches(&self, k: usize) -> u64 {
        u64::from(k < self.literal) + u64::from(k < self.wildcard)
    }

    /// Deliveries `msgs` publishes cause, cycling through the targets in order.
    pub fn expected(&self, msgs: u64) -> u64 {
        let n = self.targets.len() as u64;
        self.targets
            .iter()
            .enumerate()
            .map(|(j, &k)| {
                // Messages that go to target j: every n-th one starting at j.
                let sent = msgs / n + u64::from((j as u64) < msgs % n);
                sent * self.matches(k)
            })
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_literal_half_wildcard() {
        let l = Layout::new("bench", 5, 1).expect("layout");
        assert_eq!((l.literal, l.wildcard), (3, 2));
        let text = String::from_utf8(l.sub_frames()).expect("utf8");
        assert_eq!(
            text,
            "SUB bench.sub.0 1\r\nSUB bench.sub.1 2\r\nSUB bench.sub.2 3\r\n\
             SUB bench.*.0 4\r\nSUB bench.*.1 5\r\nPING\r\n"
        );
        assert_eq!(l.subjects(), vec!["bench.sub.0".to_string()]);
        assert_eq!(l.matches(0), 2);
        assert_eq!(l.expected(10), 20);
    }

    #[test]
    fn single_subscription_is_literal() {
        let l = Layout::new("b", 1, 1).expect("layout");
        assert_eq!((l.literal, l.wildcard), (1, 0));
        assert_eq!(l.targets, vec![0]);
        assert_eq!(l.expected(7), 7);
    }

    #[test]
    fn spread_targets_and_expected_counts() {
        let l = Layout::new("b", 100_000, 4).expect("layout");
        assert_eq!(l.targets, vec![0, 12_500, 25_000, 37_500]);
        assert!(l.targets.iter().all(|&k| l.matches(k) == 2));
        assert_eq!(l.expected(10), 20);
        // Odd count: the last literal has no wildcard twin.
        let l = Layout::new("b", 5, 3).expect("layout");
        assert_eq!(l.targets, vec![0, 1, 2]);
        assert_eq!(l.matches(2), 1);
        // 7 msgs → targets get 3, 2, 2 → 3*2 + 2*2 + 2*1.
        assert_eq!(l.expected(7), 12);
        assert!(Layout::new("b", 0, 1).is_err());
    }
}

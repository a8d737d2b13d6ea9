//! natscli's "columns" writer, used by `stream info`, `consumer info` and `kv add`:
//! a heading, a blank line, then `Label: value` rows with the labels right-aligned to
//! the longest one (plus two spaces), grouped under section titles (`Options:`).
//! Values are formatted by the caller (see [`crate::out`] for Go's number and
//! duration shapes).

use std::fmt::Write as _;

enum Row {
    Title(String),
    Pair(String, String),
    Blank,
}

pub struct Columns {
    heading: String,
    rows: Vec<Row>,
}

impl Columns {
    pub fn new(heading: impl Into<String>) -> Columns {
        Columns {
            heading: heading.into(),
            rows: Vec::new(),
        }
    }

    pub fn title(&mut self, t: &str) {
        self.rows.push(Row::Title(t.to_string()));
    }

    pub fn row(&mut self, label: &str, value: impl ToString) {
        self.rows
            .push(Row::Pair(label.to_string(), value.to_string()));
    }

    pub fn row_if(&mut self, label: &str, value: impl ToString, cond: bool) {
        if cond {
            self.row(label, value);
        }
    }

    /// natscli's `cols.Println()`: a blank line (skipped right after a title).
    pub fn blank(&mut self) {
        self.rows.push(Row::Blank);
    }

    pub fn render(&self) -> String {
        let longest = self
            .rows
            .iter()
            .filter_map(|r| match r {
                Row::Pair(l, _) => Some(l.chars().count()),
                _ => None,
            })
            .max()
            .unwrap_or(0);
        let mut s = String::new();
        if !self.heading.is_empty() {
            let _ = writeln!(s, "{}\n", self.heading);
        }
        // 0: nothing yet, 1: title, 2: row, 3: blank line
        let mut prev = 0;
        for (i, row) in self.rows.iter().enumerate() {
            match row {
                Row::Title(t) => {
                    if i != 0 && prev != 1 && prev != 3 {
                        s.push('\n');
                    }
                    let colon = if t.ends_with(':') { "" } else { ":" };
                    let _ = writeln!(s, "{t}{colon}\n");
                    prev = 1;
                }
                Row::Pair(l, v) => {
                    let pad = longest - l.chars().count() + 2;
                    if l.is_empty() {
                        let _ = writeln!(s, "{} {v}", " ".repeat(pad + 1));
                    } else {
                        let _ = writeln!(s, "{}{l}: {v}", " ".repeat(pad));
                    }
                    prev = 2;
                }
                Row::Blank => {
                    if prev == 1 {
                        continue;
                    }
                    s.push('\n');
                    prev = 3;
                }
            }
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shape_like_natscli() {
        let mut c = Columns::new("Information for Stream X");
        c.row("Subjects", "a, b");
        c.row("Replicas", 1);
        c.title("Options");
        c.row("Retention", "Limits");
        c.blank();
        c.title("State");
        c.row("Messages", 0);
        assert_eq!(
            c.render(),
            "Information for Stream X\n\n   Subjects: a, b\n   Replicas: 1\n\nOptions:\n\n  Retention: Limits\n\nState:\n\n   Messages: 0\n"
        );
    }
}

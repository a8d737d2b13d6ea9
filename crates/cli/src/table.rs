//! Tables drawn the way natscli draws them (go-pretty's rounded style, as natscli
//! configures it): an optional centred title in its own box, a header row, body rows, an
//! optional footer, each part separated by a rule, one space of padding in every cell.
//!
//! Alignment follows go-pretty's rule: a column whose body cells are all numbers
//! ([`Cell::Num`]) is right-aligned — header and footer included — and every other column
//! is left-aligned. natscli passes most numbers pre-formatted as strings (`1,234`), which
//! makes them text, so callers choose per cell exactly as natscli does. Widths count
//! characters, not bytes (`µs`).

/// One table cell: text (left-aligned) or a number (right-aligned when the whole column is).
#[derive(Clone, Debug)]
pub enum Cell {
    Text(String),
    Num(String),
}

impl Cell {
    pub fn num(v: impl ToString) -> Cell {
        Cell::Num(v.to_string())
    }

    fn text(&self) -> &str {
        match self {
            Cell::Text(s) | Cell::Num(s) => s,
        }
    }
}

impl From<String> for Cell {
    fn from(s: String) -> Cell {
        Cell::Text(s)
    }
}

impl From<&str> for Cell {
    fn from(s: &str) -> Cell {
        Cell::Text(s.to_string())
    }
}

impl From<&String> for Cell {
    fn from(s: &String) -> Cell {
        Cell::Text(s.clone())
    }
}

#[derive(Default)]
pub struct Table {
    title: String,
    header: Vec<String>,
    rows: Vec<Vec<Cell>>,
    footer: Option<Vec<Cell>>,
}

impl Table {
    pub fn new(title: impl Into<String>) -> Table {
        Table {
            title: title.into(),
            ..Default::default()
        }
    }

    pub fn header(&mut self, names: &[&str]) {
        self.header = names.iter().map(|s| s.to_string()).collect();
    }

    pub fn row(&mut self, cells: Vec<Cell>) {
        self.rows.push(cells);
    }

    pub fn footer(&mut self, cells: Vec<Cell>) {
        self.footer = Some(cells);
    }

    /// The table, each line ending in a newline (natscli prints `fmt.Sprintln(render)`).
    pub fn render(&self) -> String {
        let ncols = std::iter::once(self.header.len())
            .chain(self.rows.iter().map(Vec::len))
            .chain(self.footer.iter().map(Vec::len))
            .max()
            .unwrap_or(0);
        if ncols == 0 {
            return String::new();
        }
        let width = |s: &str| s.chars().count();
        let mut widths = vec![0usize; ncols];
        let mut numeric = vec![true; ncols];
        for (i, h) in self.header.iter().enumerate() {
            widths[i] = widths[i].max(width(h));
        }
        for row in self.rows.iter().chain(self.footer.iter()) {
            for (i, c) in row.iter().enumerate() {
                widths[i] = widths[i].max(width(c.text()));
            }
        }
        for row in &self.rows {
            for (i, c) in row.iter().enumerate() {
                if matches!(c, Cell::Text(_)) {
                    numeric[i] = false;
                }
            }
        }
        // Inner width between the outer borders: cells with padding plus separators.
        let inner: usize = widths.iter().map(|w| w + 2).sum::<usize>() + ncols - 1;

        let rule = |left: &str, mid: &str, right: &str| {
            let parts: Vec<String> = widths.iter().map(|w| "─".repeat(w + 2)).collect();
            format!("{left}{}{right}\n", parts.join(mid))
        };
        let line = |cells: &[String]| {
            let mut s = String::from("│");
            for (i, w) in widths.iter().enumerate() {
                let text = cells.get(i).map(String::as_str).unwrap_or("");
                let pad = w.saturating_sub(width(text));
                if numeric[i] {
                    s.push_str(&format!(" {}{text} │", " ".repeat(pad)));
                } else {
                    s.push_str(&format!(" {text}{} │", " ".repeat(pad)));
                }
            }
            s.push('\n');
            s
        };

        let mut out = String::new();
        if self.title.is_empty() {
            out.push_str(&rule("╭", "┬", "╮"));
        } else {
            out.push_str(&format!("╭{}╮\n", "─".repeat(inner)));
            let room = inner.saturating_sub(2);
            let pad = room.saturating_sub(width(&self.title));
            // go-pretty centres with the odd space on the left.
            let (l, r) = (pad - pad / 2, pad / 2);
            out.push_str(&format!(
                "│ {}{}{} │\n",
                " ".repeat(l),
                self.title,
                " ".repeat(r)
            ));
            out.push_str(&rule("├", "┬", "┤"));
        }
        if !self.header.is_empty() {
            out.push_str(&line(&self.header));
            out.push_str(&rule("├", "┼", "┤"));
        }
        for row in &self.rows {
            let cells: Vec<String> = row.iter().map(|c| c.text().to_string()).collect();
            out.push_str(&line(&cells));
        }
        if let Some(footer) = &self.footer {
            if !self.rows.is_empty() {
                out.push_str(&rule("├", "┼", "┤"));
            }
            let cells: Vec<String> = footer.iter().map(|c| c.text().to_string()).collect();
            out.push_str(&line(&cells));
        }
        out.push_str(&rule("╰", "┴", "╯"));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounded_with_title_and_footer() {
        let mut t = Table::new("Overview");
        t.header(&["Name", "N"]);
        t.row(vec!["alpha".into(), Cell::num(7)]);
        t.row(vec!["b".into(), Cell::num(12)]);
        t.footer(vec!["".into(), Cell::num(19)]);
        let want = "\
╭────────────╮
│  Overview  │
├───────┬────┤
│ Name  │  N │
├───────┼────┤
│ alpha │  7 │
│ b     │ 12 │
├───────┼────┤
│       │ 19 │
╰───────┴────╯
";
        assert_eq!(t.render(), want);
    }

    #[test]
    fn odd_padding_goes_left_and_text_columns_stay_left() {
        let mut t = Table::new("Hi");
        t.header(&["Col"]);
        t.row(vec!["1,000".into()]);
        let r = t.render();
        assert!(r.contains("│   Hi  │\n"), "{r}");
        assert!(r.contains("│ Col   │\n"), "{r}");
    }
}

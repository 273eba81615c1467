//! Small statistics and markdown tables whose columns line up in a terminal too.

/// Median, minimum and maximum of a set of samples.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Stats {
    pub n: usize,
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

/// `None` for no samples.
pub fn stats(samples: &[f64]) -> Option<Stats> {
    if samples.is_empty() {
        return None;
    }
    let mut s = samples.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    let median = if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    };
    Some(Stats {
        n,
        median,
        min: s[0],
        max: s[n - 1],
    })
}

/// Milliseconds with one decimal below 10 ms, whole above.
pub fn ms(x: f64) -> String {
    if x < 9.95 {
        format!("{x:.1}")
    } else {
        format!("{x:.0}")
    }
}

/// `median (min–max)`, `median` alone for one sample, `–` for none; with
/// `[k/n]` when fewer samples than runs made it.
pub fn cell(s: Option<Stats>, runs: usize) -> String {
    let Some(s) = s else {
        return "–".into();
    };
    let mut out = if s.n == 1 || s.min == s.max {
        ms(s.median)
    } else {
        format!("{} ({}–{})", ms(s.median), ms(s.min), ms(s.max))
    };
    if s.n < runs {
        out += &format!(" [{}/{runs}]", s.n);
    }
    out
}

/// `a/b` of the medians, `–` when either is missing or `b` is (close to) zero.
pub fn ratio(a: Option<Stats>, b: Option<Stats>) -> String {
    match (a, b) {
        (Some(a), Some(b)) if b.median >= 0.05 => format!("{:.2}", a.median / b.median),
        _ => "–".into(),
    }
}

/// A markdown table, padded so it also reads well as plain text.
pub struct Table {
    header: Vec<String>,
    right: Vec<bool>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// Columns named `header`; `right[i]` aligns column `i` to the right.
    pub fn new(header: &[&str], right: &[bool]) -> Table {
        Table {
            header: header.iter().map(|h| (*h).to_owned()).collect(),
            right: right.to_vec(),
            rows: Vec::new(),
        }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    pub fn render(&self) -> String {
        let cols = self.header.len();
        let width = |i: usize| {
            self.rows
                .iter()
                .map(|r| r.get(i).map_or(0, |c| c.chars().count()))
                .chain([self.header[i].chars().count(), 3])
                .max()
                .unwrap_or(3)
        };
        let widths: Vec<usize> = (0..cols).map(width).collect();
        let line = |cells: &[String]| {
            let mut s = String::from("|");
            for (i, w) in widths.iter().enumerate() {
                let c = cells.get(i).map_or("", String::as_str);
                let pad = w - c.chars().count();
                if self.right.get(i).copied().unwrap_or(false) {
                    s += &format!(" {}{c} |", " ".repeat(pad));
                } else {
                    s += &format!(" {c}{} |", " ".repeat(pad));
                }
            }
            s + "\n"
        };
        let mut out = line(&self.header);
        out += "|";
        for (i, w) in widths.iter().enumerate() {
            if self.right.get(i).copied().unwrap_or(false) {
                out += &format!(" {}: |", "-".repeat(w - 1));
            } else {
                out += &format!(" {} |", "-".repeat(*w));
            }
        }
        out += "\n";
        for r in &self.rows {
            out += &line(r);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_min_max() {
        let s = stats(&[3.0, 1.0, 2.0, 10.0]).unwrap();
        assert_eq!((s.n, s.median, s.min, s.max), (4, 2.5, 1.0, 10.0));
        assert_eq!(stats(&[5.0]).unwrap().median, 5.0);
        assert_eq!(stats(&[]), None);
        assert_eq!(
            cell(stats(&[372.4, 361.0, 380.2]), 5),
            "372 (361–380) [3/5]"
        );
        assert_eq!(cell(stats(&[0.0, 0.0]), 2), "0.0");
        assert_eq!(ratio(stats(&[2.0]), stats(&[4.0])), "0.50");
        assert_eq!(ratio(stats(&[2.0]), stats(&[0.0])), "–");
    }

    #[test]
    fn aligned_markdown() {
        let mut t = Table::new(&["a", "bb"], &[false, true]);
        t.row(vec!["xyz".into(), "1".into()]);
        assert_eq!(t.render(), "| a   |  bb |\n| --- | --: |\n| xyz |   1 |\n");
    }
}

//! The results as Markdown: one table per section and a summary of the targets. The
//! same text is printed and written to `BENCHMARKS.md`, so what a developer sees in the terminal
//! is what gets committed.

use std::fmt::Write;

/// A Markdown table.
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(header: &[&str]) -> Table {
        Table {
            header: header.iter().map(|h| h.to_string()).collect(),
            rows: Vec::new(),
        }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        assert_eq!(cells.len(), self.header.len(), "table row width");
        self.rows.push(cells);
    }

    fn render(&self, out: &mut String) {
        let line = |cells: &[String]| format!("| {} |\n", cells.join(" | "));
        out.push_str(&line(&self.header));
        out.push_str(&line(&vec!["---".to_string(); self.header.len()]));
        for row in &self.rows {
            out.push_str(&line(row));
        }
    }
}

/// One of the targets, checked against a measured value.
pub struct Target {
    pub what: String,
    pub measured: String,
    pub goal: String,
    pub met: bool,
}

/// Sections in run order plus the targets they checked.
#[derive(Default)]
pub struct Report {
    sections: Vec<(String, String, Table)>,
    pub targets: Vec<Target>,
}

impl Report {
    /// Adds a section: a title, a sentence on how it was measured, and its table.
    pub fn section(&mut self, title: &str, how: &str, table: Table) {
        self.sections.push((title.into(), how.into(), table));
    }

    pub fn target(&mut self, what: &str, measured: String, goal: &str, met: bool) {
        self.targets.push(Target {
            what: what.into(),
            measured,
            goal: goal.into(),
            met,
        });
    }

    /// The results part of `BENCHMARKS.md`: targets first, then each section.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let mut summary = Table::new(&["target", "measured", "goal", "status"]);
        for t in &self.targets {
            let status = if t.met { "met" } else { "**MISSED**" };
            summary.row(vec![
                t.what.clone(),
                t.measured.clone(),
                t.goal.clone(),
                status.into(),
            ]);
        }
        out.push_str("## Targets\n\n");
        summary.render(&mut out);
        for (title, how, table) in &self.sections {
            let _ = write!(out, "\n## {title}\n\n{how}\n\n");
            table.render(&mut out);
        }
        out
    }
}

/// Milliseconds with a precision that suits the magnitude.
pub fn ms(seconds: f64) -> String {
    let ms = seconds * 1000.0;
    if ms < 10.0 {
        format!("{ms:.2} ms")
    } else if ms < 1000.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{seconds:.2} s")
    }
}

pub fn mib(mib: f64) -> String {
    format!("{mib:.1} MiB")
}

pub fn ratio(r: f64) -> String {
    format!("{r:.2}x")
}

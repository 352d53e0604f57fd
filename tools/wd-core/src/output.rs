//! Output formats shared by every tool: `--format json|table|csv|markdown`.
//!
//! JSON is the contract (default when stdout is not a terminal); `table` is for people
//! (default on a terminal); `csv` prints a document's primary table; `markdown` a report.

use crate::docs::{to_json, Document};
use crate::error::{WdError, WdResult};
use std::io::{IsTerminal, Write};
use tabled::builder::Builder;
use tabled::settings::Style;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Json,
    Table,
    Csv,
    Markdown,
}

impl Format {
    /// JSON when stdout is piped or redirected, a table on a terminal.
    pub fn default_for_stdout() -> Format {
        Self::default_for(std::io::stdout().is_terminal())
    }
    pub fn default_for(stdout_is_tty: bool) -> Format {
        if stdout_is_tty {
            Format::Table
        } else {
            Format::Json
        }
    }
}

/// One table of a document's human view.
#[derive(Debug, Clone, Default)]
pub struct Table {
    pub title: String,
    pub headers: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(title: &str, headers: &[&str]) -> Self {
        Table {
            title: title.into(),
            headers: headers.iter().map(|h| h.to_string()).collect(),
            rows: vec![],
        }
    }
    pub fn row(&mut self, cells: Vec<String>) {
        debug_assert_eq!(cells.len(), self.headers.len());
        self.rows.push(cells);
    }
}

/// The human views of a document. The first table is the primary one (used for CSV).
pub trait View: Document {
    fn tables(&self) -> Vec<Table>;
    /// A Markdown report; by default a heading and the tables.
    fn markdown(&self) -> String {
        let mut s = format!("# {}\n", Self::KIND);
        for t in self.tables() {
            s.push_str(&format!("\n## {}\n\n", t.title));
            s.push_str(&markdown_table(&t));
        }
        s
    }
}

/// Renders a document in a format.
pub fn render<T: View>(doc: &T, format: Format) -> WdResult<String> {
    Ok(match format {
        Format::Json => to_json(doc),
        Format::Table => {
            let colour = crate::term::colour_allowed(std::io::stdout().is_terminal());
            let mut s = String::new();
            // Secondary tables with no rows (no problems, no pending secrets) are left out.
            for (i, t) in doc.tables().into_iter().enumerate() {
                if i > 0 && t.rows.is_empty() {
                    continue;
                }
                s.push_str(&crate::term::paint(crate::term::BOLD, &t.title, colour));
                s.push('\n');
                s.push_str(&text_table(&t));
                s.push_str("\n\n");
            }
            s
        }
        Format::Csv => {
            let tables = doc.tables();
            let t = tables.first().cloned().unwrap_or_default();
            csv_table(&t)?
        }
        Format::Markdown => doc.markdown(),
    })
}

/// Writes a document to stdout in a format.
pub fn emit<T: View>(doc: &T, format: Format) -> WdResult<()> {
    let text = render(doc, format)?;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        Ok(()) => Ok(()),
        // A closed pipe (`wd-inventory | head`) is not an error of ours.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(WdError::input(format!("<stdout>: cannot write ({e})"))),
    }
}

/// Ends stdout once a tool has written its document: stdout now writes to /dev/null (fd 1 is
/// replaced in one `dup2`, so no file opened later can take its number). A pipe reader
/// (`wd-inventory | wd-render`) sees the end of its input at once instead of after this process
/// has exited, which tears down its memory before it closes its files: 0.2–0.4 ms of the
/// users-33 pipe (docs/benchmarks-notes/pipe.md). Call it only after the last write to stdout;
/// anything written later is dropped. Best effort: if /dev/null cannot be opened, stdout stays
/// as it was.
pub fn end_stdout() {
    let _ = std::io::stdout().lock().flush();
    if let Ok(null) = std::fs::OpenOptions::new().write(true).open("/dev/null") {
        let _ = rustix::stdio::dup2_stdout(&null);
    }
}

/// Longest cell in a terminal table; JSON/CSV/Markdown carry the full text.
const MAX_CELL: usize = 72;

fn cell(s: &str) -> String {
    let flat = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() > MAX_CELL {
        let cut: String = flat.chars().take(MAX_CELL - 1).collect();
        format!("{cut}…")
    } else {
        flat
    }
}

pub fn text_table(t: &Table) -> String {
    let mut b = Builder::default();
    b.push_record(t.headers.iter().cloned());
    for r in &t.rows {
        b.push_record(r.iter().map(|c| cell(c)));
    }
    let mut table = b.build();
    table.with(Style::sharp());
    table.to_string()
}

pub fn csv_table(t: &Table) -> WdResult<String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let err = |e: csv::Error| WdError::input(format!("<stdout>: cannot write CSV ({e})"));
    w.write_record(&t.headers).map_err(err)?;
    for r in &t.rows {
        w.write_record(r).map_err(err)?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| WdError::input(format!("<stdout>: cannot write CSV ({e})")))?;
    Ok(String::from_utf8(bytes).expect("csv of UTF-8 strings is UTF-8"))
}

/// A GitHub-flavoured Markdown table; `|` and newlines in cells are escaped.
pub fn markdown_table(t: &Table) -> String {
    let esc = |c: &str| c.replace('|', "\\|").replace('\n', "<br>");
    let mut s = String::new();
    s.push_str(&format!(
        "| {} |\n",
        t.headers
            .iter()
            .map(|h| esc(h))
            .collect::<Vec<_>>()
            .join(" | ")
    ));
    s.push_str(&format!("|{}\n", "---|".repeat(t.headers.len())));
    for r in &t.rows {
        s.push_str(&format!(
            "| {} |\n",
            r.iter().map(|c| esc(c)).collect::<Vec<_>>().join(" | ")
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_format_follows_the_terminal() {
        assert_eq!(Format::default_for(true), Format::Table);
        assert_eq!(Format::default_for(false), Format::Json);
    }

    #[test]
    fn csv_quotes_commas_and_markdown_escapes_pipes() {
        let mut t = Table::new("t", &["a", "b"]);
        t.row(vec!["x,y".into(), "p|q".into()]);
        assert_eq!(csv_table(&t).unwrap(), "a,b\n\"x,y\",p|q\n");
        assert!(markdown_table(&t).contains("| x,y | p\\|q |"));
    }
}

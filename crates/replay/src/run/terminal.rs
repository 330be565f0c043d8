//! The CLI's sink: records to stdout, `--explain` lines to stderr.

use crate::input::Problem;
use crate::judge::{Event, Explanation, Fate, Sink};
use crate::lines;
use selfscrape_rule::Reason;
use std::io::{self, Write};
use std::path::Path;

/// The CLI's sink: what Fluent Bit passes on to stdout, one JSON object per
/// line; with `--explain`, one line per record and unreadable line to
/// stderr.
pub(super) struct Terminal<'a> {
    pub(super) out: &'a mut dyn Write,
    pub(super) err: &'a mut dyn Write,
    pub(super) explain: bool,
}

impl Sink for Terminal<'_> {
    fn record(&mut self, e: &Event<'_>) -> io::Result<()> {
        if self.explain {
            let fate = match e.fate {
                Fate::Lost(loss) => format!("LOST ({loss})"),
                Fate::Keep => "keep".to_owned(),
                Fate::Drop => "drop".to_owned(),
                Fate::Mark => "mark".to_owned(),
                Fate::Modify => "modify".to_owned(),
            };
            let at = format!("{}:{}", e.file, e.line);
            let line = explain_line(&at, &fate, e.explains, e.explanation);
            let _ = self.err.write_all(line.as_bytes());
        }
        if e.fate.passes_on() {
            self.out.write_all(e.reply)?;
            self.out.write_all(b"\n")?;
        }
        Ok(())
    }

    fn unreadable(&mut self, file: &str, line: u64, problem: &Problem) {
        if self.explain {
            let _ = writeln!(self.err, "{file}:{line}: UNREADABLE {problem}");
        }
    }
}

pub(super) fn display_name(name: &Path) -> String {
    if lines::is_stdin(name) {
        "<stdin>".into()
    } else {
        name.display().to_string()
    }
}

/// One `--explain` line: `file:line: drop own_node_refused node=N: text`,
/// or only `file:line: drop` when the module does not explain.
pub(super) fn explain_line(
    at: &str,
    fate: &str,
    explains: bool,
    e: Option<&Explanation<'_>>,
) -> String {
    match e {
        Some(e) => {
            let describe =
                Reason::from_code(&e.reason).map_or("unknown reason code", |r| r.describe());
            let node = if e.node.is_empty() {
                String::new()
            } else {
                format!(" node={}", e.node)
            };
            format!("{at}: {fate} {}{node}: {describe}\n", e.reason)
        }
        None if !explains => format!("{at}: {fate}\n"),
        None => format!("{at}: {fate} (no explanation: see the host errors)\n"),
    }
}

//! The classic format (`.conf`): one reader for every use. It keeps every
//! line as written, so that an edit ([`Document::edited`]) leaves each line
//! it does not touch byte for byte, and it notes, without stopping, where
//! the text breaks the rules Fluent Bit reads it by
//! (src/config_format/flb_cf_fluentbit.c): `#` comments at column 0 or at
//! the indentation; `[SECTION]` at column 0 and a known kind; one
//! indentation for every key line; `key value` split at the first space; a
//! key without a value stops Fluent Bit. [`Document::strict`] turns the
//! first such note into an error; the Fargate router's reading (trimmed
//! lines) takes the sections as they are.

use crate::section::{Entry, Section, Span};
use std::path::Path;

/// A directive of a classic file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Directive {
    /// `@INCLUDE path` and its line.
    Include(String, usize),
    /// `@SET KEY=VALUE` and its line.
    Set(String, String, usize),
}

/// The sections of a classic file that holds no directives (a parsers
/// file, a ConfigMap's `filters.conf`): `@INCLUDE`/`@SET` are errors there.
pub fn parse_sections(text: &str) -> Result<Vec<Section>, String> {
    let doc = Document::strict(text, Path::new(""))?;
    match doc.directives.first() {
        Some(Directive::Include(_, l) | Directive::Set(_, _, l)) => {
            Err(format!("line {l}: @INCLUDE/@SET cannot be used here"))
        }
        None => Ok(doc.sections),
    }
}

/// A classic file: its lines, its sections, its directives.
#[derive(Debug, Clone)]
pub struct Document {
    /// Every line as written, without its line break.
    pub lines: Vec<String>,
    pub sections: Vec<Section>,
    pub directives: Vec<Directive>,
    /// The indentation of the first section header and of the first key.
    pub header_indent: Option<String>,
    pub key_indent: Option<String>,
    /// Where Fluent Bit would stop reading: (1-based line, what).
    pub problems: Vec<(usize, String)>,
    /// Whether the text ended with a line break.
    pub trailing_newline: bool,
    /// The indentation of the first indented line, comments included: the
    /// one Fluent Bit holds every other to.
    first_indent: Option<String>,
}

const KINDS: &[&str] = &[
    "SERVICE",
    "INPUT",
    "FILTER",
    "OUTPUT",
    "PARSER",
    "MULTILINE_PARSER",
    "PLUGINS",
    "CUSTOM",
    "UPSTREAM",
    "NODE",
    "STREAM_TASK",
];

fn indent_of(line: &str) -> &str {
    &line[..line.len() - line.trim_start().len()]
}

impl Document {
    /// Reads `text`, read from `file` (for the sections' `file`).
    pub fn parse(text: &str, file: &Path) -> Document {
        let mut doc = Document {
            lines: text.lines().map(str::to_string).collect(),
            sections: Vec::new(),
            directives: Vec::new(),
            header_indent: None,
            key_indent: None,
            problems: Vec::new(),
            trailing_newline: text.ends_with('\n'),
            first_indent: None,
        };
        for i in 0..doc.lines.len() {
            doc.read_line(i, file);
        }
        doc.place_spans();
        doc
    }

    /// Reads `text` as Fluent Bit would, or says where and why it would not
    /// start (`line N: what: "the line"`).
    pub fn strict(text: &str, file: &Path) -> Result<Document, String> {
        let doc = Document::parse(text, file);
        match doc.problems.first() {
            Some((line, what)) => Err(format!(
                "line {line}: {what}: {:?}",
                doc.lines.get(line - 1).map_or("", String::as_str)
            )),
            None => Ok(doc),
        }
    }

    fn problem(&mut self, line: usize, what: &str) {
        self.problems.push((line, what.to_string()));
    }

    fn read_line(&mut self, i: usize, file: &Path) {
        let raw = self.lines[i].clone();
        let line_no = i + 1;
        let t = raw.trim();
        if t.is_empty() || raw.starts_with('#') {
            return;
        }
        let lead = indent_of(&raw).to_string();
        if let Some(rest) = t.strip_prefix('@') {
            self.directive(rest, line_no);
            return;
        }
        if let Some(kind) = t.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
            self.header(kind, &lead, line_no, file);
            return;
        }
        if t.starts_with('[') {
            self.problem(
                line_no,
                if lead.is_empty() {
                    "bad section header"
                } else {
                    "malformed key"
                },
            );
        }
        self.key_line(t, &lead, line_no);
    }

    fn directive(&mut self, rest: &str, line_no: usize) {
        let (directive, arg) = rest.split_once([' ', '\t']).unwrap_or((rest, ""));
        let arg = arg.trim();
        match directive.to_ascii_uppercase().as_str() {
            "INCLUDE" if !arg.is_empty() => {
                self.directives
                    .push(Directive::Include(arg.into(), line_no));
            }
            "SET" => match arg.split_once('=') {
                Some((k, v)) if !k.trim().is_empty() => {
                    let set = Directive::Set(k.trim().into(), v.trim().into(), line_no);
                    self.directives.push(set);
                }
                _ => self.problem(line_no, "@SET needs KEY=VALUE"),
            },
            _ => self.problem(line_no, "unknown or incomplete @ directive"),
        }
    }

    fn header(&mut self, kind: &str, lead: &str, line_no: usize, file: &Path) {
        self.header_indent.get_or_insert_with(|| lead.to_string());
        if !lead.is_empty() {
            self.problem(line_no, "malformed key");
        }
        let kind = kind.trim().to_ascii_uppercase();
        if !KINDS.contains(&kind.as_str()) {
            self.problem(line_no, "unknown section");
        }
        self.sections.push(Section {
            kind: kind.to_ascii_lowercase(),
            file: file.to_path_buf(),
            line: line_no,
            entries: Vec::new(),
            span: Some(Span::default()),
        });
    }

    fn key_line(&mut self, t: &str, lead: &str, line_no: usize) {
        if lead.is_empty() {
            self.problem(line_no, "key outside of the indentation");
        } else if lead.contains('\t') {
            self.problem(line_no, "tab in indentation");
        }
        match &self.first_indent {
            None => self.first_indent = Some(lead.to_string()),
            Some(ind) if ind != lead && !lead.is_empty() => {
                self.problem(line_no, "indentation differs from the file's first");
            }
            Some(_) => {}
        }
        if t.starts_with('#') {
            return;
        }
        self.key_indent.get_or_insert_with(|| lead.to_string());
        let (key, value) = t.split_once([' ', '\t']).unwrap_or((t, ""));
        let value = value.trim();
        if t.split_once(' ').is_none() {
            self.problem(line_no, "key without a value");
        } else if value.is_empty() {
            self.problem(line_no, "key with an empty value");
        } else if key.contains('\t') {
            self.problem(line_no, "malformed key");
        }
        let Some(section) = self.sections.last_mut() else {
            self.problem(line_no, "key before any section");
            return;
        };
        section.entries.push(Entry {
            key: key.to_string(),
            value: value.to_string(),
            line: line_no,
        });
    }

    /// A section runs from the comments right above its header to the
    /// comments that head the next one.
    fn place_spans(&mut self) {
        let n = self.sections.len();
        let header = |s: &Section| s.line - 1;
        let comment = |lines: &[String], i: usize| lines[i].trim().starts_with('#');
        for k in 0..n {
            let mut start = header(&self.sections[k]);
            let floor = if k == 0 {
                0
            } else {
                header(&self.sections[k - 1]) + 1
            };
            while start > floor && comment(&self.lines, start - 1) {
                start -= 1;
            }
            let end = if k + 1 == n { self.lines.len() } else { 0 };
            self.sections[k].span = Some(Span { start, end });
            if k > 0 {
                if let Some(prev) = self.sections[k - 1].span.as_mut() {
                    prev.end = start;
                }
            }
        }
    }

    /// The span of section `n`.
    pub fn span(&self, n: usize) -> Span {
        self.sections[n].span.unwrap_or_default()
    }

    /// The indices of the sections that `pred` picks.
    pub fn indices(&self, pred: impl Fn(&Section) -> bool) -> Vec<usize> {
        self.sections
            .iter()
            .enumerate()
            .filter(|(_, s)| pred(s))
            .map(|(i, _)| i)
            .collect()
    }

    /// Where text goes in front of the first section: before the comment
    /// lines right above its header.
    pub fn front(&self) -> usize {
        self.sections
            .first()
            .map_or(self.lines.len(), |_| self.span(0).start)
    }

    /// The indentation for sections written into this file: the file's
    /// own, else `fallback`'s, else none for headers and four spaces more
    /// for keys.
    pub fn indents(&self, fallback: Option<&Document>) -> (String, String) {
        let header = self
            .header_indent
            .clone()
            .or_else(|| fallback.and_then(|f| f.header_indent.clone()))
            .unwrap_or_default();
        let key = self
            .key_indent
            .clone()
            .or_else(|| fallback.and_then(|f| f.key_indent.clone()))
            .unwrap_or_else(|| format!("{header}    "));
        (header, key)
    }

    /// Inserts `line` before line index `at`: the sections, spans and
    /// entries after it move down one line; a section that ends at `at`
    /// takes the new line.
    pub fn insert_line(&mut self, at: usize, line: String) {
        self.lines.insert(at, line);
        for s in &mut self.sections {
            if s.line > at {
                s.line += 1;
            }
            for e in &mut s.entries {
                if e.line > at {
                    e.line += 1;
                }
            }
            if let Some(span) = s.span.as_mut() {
                if span.start >= at {
                    span.start += 1;
                }
                if span.end >= at {
                    span.end += 1;
                }
            }
        }
    }

    /// Puts `line` in place of line index `at` (its entry, if any, keeps
    /// its place and takes nothing of the new text: read again to see it).
    pub fn replace_line(&mut self, at: usize, line: String) {
        self.lines[at] = line;
    }

    /// The line index after section `n`'s last entry (after its header
    /// when it has none).
    pub fn after_entries(&self, n: usize) -> usize {
        let s = &self.sections[n];
        s.entries.last().map_or(s.line, |e| e.line)
    }

    /// The text with `text` inserted before line `at` and the sections
    /// whose indices are in `drop` left out; every other line as it was.
    pub fn edited(&self, at: usize, text: &str, drop: &[usize], trailing_newline: bool) -> String {
        let dropped = |i: usize| {
            drop.iter().any(|&n| {
                let s = self.span(n);
                (s.start..s.end).contains(&i)
            })
        };
        let mut out = String::new();
        for (i, line) in self.lines.iter().enumerate() {
            if i == at {
                out.push_str(text);
            }
            if !dropped(i) {
                out.push_str(line);
                out.push('\n');
            }
        }
        if at >= self.lines.len() {
            out.push_str(text);
        }
        if !trailing_newline && out.ends_with('\n') {
            out.pop();
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strict(text: &str) -> Result<Document, String> {
        Document::strict(text, Path::new("t.conf"))
    }

    #[test]
    fn reads_by_fluent_bit_rules() {
        let ok = "# c\n[SERVICE]\n    Flush 1\n    # c\n\n[INPUT]\n    Name tail\n    Path /a b\n";
        let d = strict(ok).unwrap();
        assert_eq!(d.sections.len(), 2);
        assert_eq!(d.sections[1].get("path"), Some("/a b"));
        assert_eq!(d.sections[1].entries[1].line, 8);
        assert_eq!(d.sections[1].kind, "input");
        for (bad, line) in [
            ("[INPUT]\n    Name\n", 2),
            ("[INPUT]\n    Name tail\n  Path /x\n", 3),
            ("[INPUT]\nName tail\n", 2),
            ("[INPUT\n    Name tail\n", 1),
            ("[NOPE]\n    Name tail\n", 1),
            ("    Name tail\n", 1),
            ("[INPUT]\n\tName tail\n", 2),
            ("@NOPE x\n", 1),
        ] {
            let e = strict(bad).expect_err(bad);
            assert!(e.starts_with(&format!("line {line}:")), "{bad:?}: {e}");
        }
        let d = strict("@SET a=b\n@INCLUDE x.conf\n").unwrap();
        assert_eq!(
            d.directives,
            vec![
                Directive::Set("a".into(), "b".into(), 1),
                Directive::Include("x.conf".into(), 2)
            ]
        );
    }

    #[test]
    fn reads_sections_indentation_and_the_front_and_edits_nothing_else() {
        let text = "# mine\n  [FILTER]\n      Name parser\n      Match *\n\n  # the next one\n  [FILTER]\n      name grep\n";
        let c = Document::parse(text, Path::new("filters.conf"));
        assert_eq!(c.sections.len(), 2);
        assert_eq!(c.span(0), Span { start: 0, end: 5 });
        assert_eq!(c.span(1), Span { start: 5, end: 8 });
        assert_eq!(c.sections[1].name(), "grep");
        assert_eq!(c.header_indent.as_deref(), Some("  "));
        assert_eq!(c.key_indent.as_deref(), Some("      "));
        assert_eq!(c.front(), 0);
        assert!(
            !c.problems.is_empty(),
            "indented headers are the router's, not Fluent Bit's"
        );
        let edited = c.edited(c.front(), "X\n", &[1], true);
        assert_eq!(
            edited,
            "X\n# mine\n  [FILTER]\n      Name parser\n      Match *\n\n"
        );
        assert_eq!(c.edited(c.lines.len(), "", &[], true), text);
        // A line inserted after the first section's keys is the first's.
        let mut d = c.clone();
        let at = d.after_entries(0);
        assert_eq!(at, 4);
        d.insert_line(at, "      Reserve_Data On".into());
        assert_eq!(d.span(0), Span { start: 0, end: 6 });
        assert_eq!(d.span(1), Span { start: 6, end: 9 });
        assert_eq!(d.sections[1].line, 8);
        assert_eq!(d.sections[1].entries[0].line, 9);
        assert_eq!(d.lines[d.sections[1].line - 1], "  [FILTER]");
        let dropped = d.edited(d.lines.len(), "", &[0], true);
        assert_eq!(dropped, "  # the next one\n  [FILTER]\n      name grep\n");
    }
}

//! The one section type: a `[SECTION]` of a classic file, a YAML plugin, a
//! section of a ConfigMap's `filters.conf`, the rule's own sections. Keys
//! are kept as written and compared as Fluent Bit compares them
//! (case-insensitively); values as written, trimmed; every entry keeps its
//! line.

use std::path::PathBuf;

/// One `key value` of a section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// As written.
    pub key: String,
    pub value: String,
    /// 1-based, in the file (or text) the section was read from.
    pub line: usize,
}

impl Entry {
    /// Whether it is `key`, as Fluent Bit compares keys.
    pub fn is(&self, key: &str) -> bool {
        self.key.eq_ignore_ascii_case(key)
    }
}

/// Where a classic section sits in its text, for edits that keep every
/// other byte: 0-based line indices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    /// The first of the comment lines right above the header (the header's
    /// own when there are none).
    pub start: usize,
    /// One past the section's last line (blank and comment lines up to the
    /// next section's comments included).
    pub end: usize,
}

/// A section of a Fluent Bit config: a plugin, the service, a parser...
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// Lower case: service, input, filter, output, parser,
    /// multiline_parser, custom, ...
    pub kind: String,
    /// The file it was read from (empty for text given without one).
    pub file: PathBuf,
    /// 1-based: the header's line (YAML: the plugin's first key's).
    pub line: usize,
    /// In order; repeated keys kept.
    pub entries: Vec<Entry>,
    /// Classic sections only.
    pub span: Option<Span>,
}

impl Section {
    /// The first entry of `key` (any case).
    pub fn entry(&self, key: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.is(key))
    }

    /// The first value of `key` (any case).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entry(key).map(|e| e.value.as_str())
    }

    /// Every value of `key` (any case), in order.
    pub fn all(&self, key: &str) -> Vec<&str> {
        self.entries
            .iter()
            .filter(|e| e.is(key))
            .map(|e| e.value.as_str())
            .collect()
    }

    /// The `Name`, lower case.
    pub fn name(&self) -> String {
        self.get("name").unwrap_or("").to_ascii_lowercase()
    }

    /// Whether it is the `kind` plugin named `name` (both lower case).
    pub fn is(&self, kind: &str, name: &str) -> bool {
        self.kind == kind && self.name() == name
    }

    /// The line of `key`, else of the section.
    pub fn line_of(&self, key: &str) -> usize {
        self.entry(key).map_or(self.line, |e| e.line)
    }

    /// A boolean key as Fluent Bit reads it (`on`, `true`, `yes`, any case).
    pub fn flag(&self, key: &str, default: bool) -> bool {
        match self.get(key).map(str::to_ascii_lowercase).as_deref() {
            Some("on" | "true" | "yes") => true,
            Some(_) => false,
            None => default,
        }
    }
}

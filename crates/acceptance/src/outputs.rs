//! What an `out_file` output wrote, and the module's verdict on a record.

use std::collections::BTreeMap;
use std::path::Path;

use selfscrape_rule::{Scratch, evaluate};

/// The records an `out_file` directory holds: tag -> `[time, record]` lines
/// as Fluent Bit wrote them.
pub fn read_outputs(dir: &Path) -> BTreeMap<String, Vec<String>> {
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let tag = entry.file_name().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
        let prefix = format!("{tag}: ");
        let lines = text
            .lines()
            .map(|l| l.strip_prefix(&prefix).unwrap_or(l).to_string())
            .collect();
        out.insert(tag, lines);
    }
    out
}

/// The record of an `out_file` line `[time, {...}]`.
pub fn record_of(line: &str) -> &str {
    line.split_once(", ")
        .map(|(_, r)| r.strip_suffix(']').unwrap_or(r))
        .unwrap_or(line)
}

/// Whether the module drops the record (the native rule, which the module
/// runs).
pub fn module_drops(record: &str) -> bool {
    evaluate(record.as_bytes(), &mut Scratch::new()).drops()
}

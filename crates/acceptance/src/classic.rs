//! Fluent Bit config text as the runs edit it: classic-format sections (an
//! aws-logging ConfigMap's files) changed in place and written back with
//! every line that is not touched as it was (indentation, key case,
//! comments), and the `data:` of an aws-logging ConfigMap (through
//! `selfscrape-check`'s YAML reader). Moved here as they were from the
//! benches; a config model of the product's is to replace them.

use std::collections::BTreeMap;
use std::path::Path;

use crate::env;

/// One `[SECTION]`: its header line and the lines up to the next.
pub struct Section {
    pub lines: Vec<String>,
}

fn key_of(line: &str) -> Option<(&str, &str)> {
    let t = line.trim();
    if t.is_empty() || t.starts_with('#') || t.starts_with('[') {
        return None;
    }
    Some(
        t.split_once([' ', '\t'])
            .map_or((t, ""), |(k, v)| (k, v.trim())),
    )
}

impl Section {
    /// `FILTER`, `OUTPUT`, ...
    pub fn kind(&self) -> String {
        self.lines[0]
            .trim()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .trim()
            .to_ascii_uppercase()
    }

    /// The first value of `key` (case-insensitive).
    pub fn get(&self, key: &str) -> Option<String> {
        self.lines
            .iter()
            .filter_map(|l| key_of(l))
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.to_string())
    }

    /// `Name`, lower case.
    pub fn name(&self) -> String {
        self.get("name").unwrap_or_default().to_ascii_lowercase()
    }

    /// The indentation of the section's keys.
    fn indent(&self) -> String {
        self.lines
            .iter()
            .skip(1)
            .find(|l| key_of(l).is_some())
            .map_or("    ".into(), |l| {
                l[..l.len() - l.trim_start().len()].to_string()
            })
    }

    /// Replaces every `key` line by one `key value` (the key as first
    /// written), or adds it after the last key line.
    pub fn set(&mut self, key: &str, value: &str) {
        let indent = self.indent();
        let at = self
            .lines
            .iter()
            .position(|l| key_of(l).is_some_and(|(k, _)| k.eq_ignore_ascii_case(key)));
        let written = at
            .and_then(|i| key_of(&self.lines[i]).map(|(k, _)| k.to_string()))
            .unwrap_or_else(|| key.to_string());
        self.remove(key);
        let line = format!("{indent}{written} {value}");
        match at {
            Some(i) => self.lines.insert(i, line),
            None => {
                let last = self
                    .lines
                    .iter()
                    .rposition(|l| key_of(l).is_some())
                    .unwrap_or(0);
                self.lines.insert(last + 1, line);
            }
        }
    }

    pub fn remove(&mut self, key: &str) {
        self.lines
            .retain(|l| !key_of(l).is_some_and(|(k, _)| k.eq_ignore_ascii_case(key)));
    }

    /// The output's stand-in: `out_file` into `dir` (a file per tag),
    /// with the output's own `Match` and `Match_Regex` lines.
    pub fn make_file_output(&mut self, dir: &Path) {
        self.replace_output("file", &[("Path", dir.display().to_string())]);
    }

    /// The output replaced by a `name` output with `keys`, its own
    /// `Match` and `Match_Regex` lines kept.
    pub fn replace_output(&mut self, name: &str, keys: &[(&str, String)]) {
        let indent = self.indent();
        let mut lines = vec![self.lines[0].clone(), format!("{indent}Name {name}")];
        lines.extend(
            self.lines
                .iter()
                .filter(|l| {
                    key_of(l).is_some_and(|(k, _)| {
                        k.eq_ignore_ascii_case("match") || k.eq_ignore_ascii_case("match_regex")
                    })
                })
                .cloned(),
        );
        lines.extend(keys.iter().map(|(k, v)| format!("{indent}{k} {v}")));
        self.lines = lines;
    }
}

/// `text` with `f` applied to each section.
pub fn map(text: &str, mut f: impl FnMut(&mut Section)) -> String {
    let mut head: Vec<String> = Vec::new();
    let mut sections: Vec<Section> = Vec::new();
    for line in text.lines() {
        if line.trim_start().starts_with('[') {
            sections.push(Section {
                lines: vec![line.to_string()],
            });
        } else if let Some(s) = sections.last_mut() {
            s.lines.push(line.to_string());
        } else {
            head.push(line.to_string());
        }
    }
    for s in &mut sections {
        f(s);
    }
    let mut out = String::new();
    for l in head.iter().chain(sections.iter().flat_map(|s| &s.lines)) {
        out.push_str(l);
        out.push('\n');
    }
    out
}

/// The `data:` entries of an aws-logging ConfigMap file.
pub fn configmap(path: &Path) -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| env::fail(&format!("{}: {e}", path.display())));
    configmap_data(&text).unwrap_or_else(|e| env::fail(&format!("{}: {e}", path.display())))
}

/// The `data:` entries of the aws-logging ConfigMap in a YAML text
/// (one document, or the ConfigMap among `---`-separated ones).
pub fn configmap_data(text: &str) -> Result<BTreeMap<String, String>, String> {
    let mut docs = vec![String::new()];
    for line in text.lines() {
        if line.trim_end() == "---" || line.starts_with("--- ") {
            docs.push(String::new());
        } else {
            let d = docs.last_mut().expect("a document");
            d.push_str(line);
            d.push('\n');
        }
    }
    let mut first_error = None;
    for d in docs.iter().filter(|d| !d.trim().is_empty()) {
        match selfscrape_check::yaml::parse_yaml(d) {
            Ok(doc) if selfscrape_check::router::is_router_configmap(&doc) => {
                return Ok(selfscrape_check::router::data_entries(&doc)
                    .into_iter()
                    .filter_map(|(k, v, _)| Some((k, v?)))
                    .collect());
            }
            Ok(_) => {}
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    Err(first_error.unwrap_or_else(|| "no aws-logging ConfigMap in it".into()))
}

//! Fluent Bit config text as the runs edit it: classic-format sections (an
//! aws-logging ConfigMap's files) changed in place and written back with
//! every line that is not touched as it was (indentation, key case,
//! comments), and the `data:` of an aws-logging ConfigMap. Both are read by
//! the product's config model (`selfscrape-fbconf`); only the edits are
//! this file's.

use std::collections::BTreeMap;
use std::path::Path;

use selfscrape_fbconf::Document;
use selfscrape_fbconf::yaml::parse_yaml_documents;

use crate::env;

/// One `[SECTION]`: its header line and the lines up to the next, and the
/// section as the model reads them (read again after each edit).
pub struct Section {
    lines: Vec<String>,
    model: selfscrape_fbconf::Section,
}

impl Section {
    fn new(lines: Vec<String>) -> Section {
        let model = Document::parse(&lines.join("\n"), Path::new(""))
            .sections
            .into_iter()
            .next()
            .expect("a section starts with its header");
        Section { lines, model }
    }

    /// The section with `lines` in place of its own.
    fn reread(&mut self, lines: Vec<String>) {
        *self = Section::new(lines);
    }

    /// `FILTER`, `OUTPUT`, ...
    pub fn kind(&self) -> String {
        self.model.kind.to_ascii_uppercase()
    }

    /// The first value of `key` (case-insensitive).
    pub fn get(&self, key: &str) -> Option<String> {
        self.model.get(key).map(str::to_string)
    }

    /// `Name`, lower case.
    pub fn name(&self) -> String {
        self.model.name()
    }

    /// The indentation of the section's keys.
    fn indent(&self) -> String {
        self.model.entries.first().map_or("    ".into(), |e| {
            let l = &self.lines[e.line - 1];
            l[..l.len() - l.trim_start().len()].to_string()
        })
    }

    /// Replaces every `key` line by one `key value` (the key as first
    /// written), or adds it after the last key line.
    pub fn set(&mut self, key: &str, value: &str) {
        let line = format!(
            "{}{} {value}",
            self.indent(),
            self.model.entry(key).map_or(key, |e| &e.key)
        );
        let at = match self.model.entry(key) {
            Some(e) => e.line - 1,
            None => self.model.entries.last().map_or(0, |e| e.line - 1) + 1,
        };
        let mut lines = self.without(key);
        lines.insert(at, line);
        self.reread(lines);
    }

    /// The lines without those of `key`.
    fn without(&self, key: &str) -> Vec<String> {
        let gone: Vec<usize> = self
            .model
            .entries
            .iter()
            .filter(|e| e.is(key))
            .map(|e| e.line - 1)
            .collect();
        (0..self.lines.len())
            .filter(|i| !gone.contains(i))
            .map(|i| self.lines[i].clone())
            .collect()
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
            self.model
                .entries
                .iter()
                .filter(|e| e.is("match") || e.is("match_regex"))
                .map(|e| self.lines[e.line - 1].clone()),
        );
        lines.extend(keys.iter().map(|(k, v)| format!("{indent}{k} {v}")));
        self.reread(lines);
    }
}

/// `text` with `f` applied to each section.
pub fn map(text: &str, mut f: impl FnMut(&mut Section)) -> String {
    let doc = Document::parse(text, Path::new(""));
    let headers: Vec<usize> = doc.sections.iter().map(|s| s.line - 1).collect();
    let first = headers.first().copied().unwrap_or(doc.lines.len());
    let mut sections: Vec<Section> = headers
        .iter()
        .enumerate()
        .map(|(n, &h)| {
            Section::new(
                doc.lines[h..headers.get(n + 1).copied().unwrap_or(doc.lines.len())].to_vec(),
            )
        })
        .collect();
    for s in &mut sections {
        f(s);
    }
    let mut out = String::new();
    for l in doc.lines[..first]
        .iter()
        .chain(sections.iter().flat_map(|s| &s.lines))
    {
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
    let docs = parse_yaml_documents(text)?;
    let doc = docs
        .iter()
        .map(|(d, _)| d)
        .find(|d| selfscrape_check::router::is_router_configmap(d))
        .ok_or("no aws-logging ConfigMap in it")?;
    Ok(selfscrape_check::router::data_entries(doc)
        .into_iter()
        .filter_map(|(k, v, _)| Some((k, v?)))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::map;

    #[test]
    fn edits_touch_only_their_lines() {
        let text = "# head\n[FILTER]\n    Name kubernetes\n    BUFFER_SIZE 0\n    Match kube.*\n\n# out\n[OUTPUT]\n    Name cloudwatch_logs\n    Match kube.*\n    Match_Regex ^x\n    region eu\n";
        let out = map(text, |s| match s.kind().as_str() {
            "FILTER" => {
                s.set("buffer_size", "32k");
                s.set("Kube_URL", "https://127.0.0.1:1");
            }
            _ => s.make_file_output(std::path::Path::new("/o")),
        });
        assert_eq!(
            out,
            "# head\n[FILTER]\n    Name kubernetes\n    BUFFER_SIZE 32k\n    Match kube.*\n    Kube_URL https://127.0.0.1:1\n\n# out\n[OUTPUT]\n    Name file\n    Match kube.*\n    Match_Regex ^x\n    Path /o\n"
        );
        assert_eq!(map(text, |_| {}), text);
    }
}

//! Fluent Bit configs, classic (`.conf`, with `@INCLUDE` and `@SET`) and YAML
//! (with `includes:` and `env:`), read into one model, as flb_cf does:
//! sections in pipeline order, each with its entries and the file and line
//! they come from. Included files are read through the caller's [`Files`]:
//! the model touches no file system of its own.

use crate::classic::{Directive, Document};
use crate::section::{Entry, Section};
use crate::yaml::{Yaml, parse_yaml};
use std::path::{Path, PathBuf};

/// Where included files come from: a disk, a map of texts, a browser's
/// dropped files.
pub trait Files {
    /// The text of `path`.
    fn read(&self, path: &Path) -> Result<String, ReadError>;
    /// The files directly in `dir` (for an include's `*`).
    fn list(&self, dir: &Path) -> Result<Vec<PathBuf>, String>;
    /// Whether `path` names a file.
    fn is_file(&self, path: &Path) -> bool;
}

/// No files: a config whose includes are refused.
pub struct NoFiles;

impl Files for NoFiles {
    fn read(&self, path: &Path) -> Result<String, ReadError> {
        Err(ReadError::at(path, None, "includes cannot be read here"))
    }
    fn list(&self, dir: &Path) -> Result<Vec<PathBuf>, String> {
        Err(format!("{}: includes cannot be read here", dir.display()))
    }
    fn is_file(&self, _: &Path) -> bool {
        false
    }
}

/// A whole config: the file given and everything it includes.
#[derive(Debug, Clone, Default)]
pub struct Config {
    pub plugins: Vec<Section>,
    /// `@SET` and YAML `env:` variables, in order.
    pub vars: Vec<(String, String)>,
    /// Every file read, the given one first.
    pub files: Vec<PathBuf>,
}

/// Why a config could not be read: the file, the line when known, what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadError {
    pub file: PathBuf,
    pub line: Option<usize>,
    pub message: String,
}

impl ReadError {
    /// From a parser message that starts with `line N: `.
    pub fn parse(file: &Path, message: String) -> ReadError {
        let line = message
            .strip_prefix("line ")
            .and_then(|r| r.split_once(':'))
            .and_then(|(n, _)| n.parse().ok());
        let message = match line {
            Some(_) => message
                .split_once(": ")
                .map_or(message.clone(), |(_, m)| m.to_string()),
            None => message,
        };
        ReadError {
            file: file.to_path_buf(),
            line,
            message,
        }
    }

    pub fn at(file: &Path, line: Option<usize>, message: impl Into<String>) -> ReadError {
        ReadError {
            file: file.to_path_buf(),
            line,
            message: message.into(),
        }
    }
}

/// Whether a path names a YAML file.
pub fn is_yaml(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("yaml") || e.eq_ignore_ascii_case("yml"))
}

const MAX_INCLUDE_DEPTH: usize = 16;

/// Reads a classic config and what it includes.
pub fn read_classic(path: &Path, text: &str, files: &dyn Files) -> Result<Config, ReadError> {
    let mut config = Config::default();
    classic_into(path, text, &mut config, files, 0)?;
    Ok(config)
}

fn classic_into(
    path: &Path,
    text: &str,
    config: &mut Config,
    files: &dyn Files,
    depth: usize,
) -> Result<(), ReadError> {
    config.files.push(path.to_path_buf());
    let doc = Document::strict(text, path).map_err(|e| ReadError::parse(path, e))?;
    // Directives and sections in the order of their lines.
    let mut sections = doc.sections.into_iter().peekable();
    for directive in doc.directives {
        let at = match &directive {
            Directive::Include(_, l) | Directive::Set(_, _, l) => *l,
        };
        while let Some(s) = sections.next_if(|s| s.line < at) {
            config.plugins.push(s);
        }
        match directive {
            Directive::Set(k, v, _) => config.vars.push((k, v)),
            Directive::Include(pattern, line) => {
                for file in resolve_include(path, &pattern, line, files, depth)? {
                    let text = files.read(&file)?;
                    classic_into(&file, &text, config, files, depth + 1)?;
                }
            }
        }
    }
    config.plugins.extend(sections);
    Ok(())
}

/// The files an include names, relative to the including file's directory;
/// `*` in the file name matches as in a shell glob (Fluent Bit takes globs).
fn resolve_include(
    from: &Path,
    pattern: &str,
    line: usize,
    files: &dyn Files,
    depth: usize,
) -> Result<Vec<PathBuf>, ReadError> {
    if depth >= MAX_INCLUDE_DEPTH {
        return Err(ReadError::at(
            from,
            Some(line),
            format!("includes nested deeper than {MAX_INCLUDE_DEPTH} (a loop?)"),
        ));
    }
    let base = from.parent().unwrap_or(Path::new("."));
    let target = base.join(pattern);
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if !name.contains('*') {
        if !files.is_file(&target) {
            return Err(ReadError::at(
                from,
                Some(line),
                format!("included file {} does not exist", target.display()),
            ));
        }
        return Ok(vec![target]);
    }
    let dir = target.parent().unwrap_or(base);
    let mut found: Vec<PathBuf> = files
        .list(dir)
        .map_err(|e| ReadError::at(from, Some(line), e))?
        .into_iter()
        .filter(|p| {
            files.is_file(p)
                && p.file_name()
                    .is_some_and(|n| crate::tag::wildcard(&name, &n.to_string_lossy()))
        })
        .collect();
    found.sort();
    Ok(found)
}

/// Top-level YAML keys of a Fluent Bit config that hold no pipeline.
const YAML_OTHER_SECTIONS: &[&str] = &[
    "parsers",
    "multiline_parsers",
    "customs",
    "plugins",
    "upstream_servers",
    "stream_processor",
];

/// Whether a YAML document is a Fluent Bit config (not a manifest).
pub fn is_yaml_config(doc: &Yaml) -> bool {
    ["service", "pipeline", "includes"]
        .iter()
        .any(|k| doc.get(k).is_some())
        && doc.get("kind").is_none()
}

/// Reads a YAML Fluent Bit config and what it includes.
pub fn read_yaml_config(path: &Path, doc: &Yaml, files: &dyn Files) -> Result<Config, ReadError> {
    let mut config = Config::default();
    yaml_into(path, doc, &mut config, files, 0)?;
    Ok(config)
}

/// A YAML plugin as a section.
fn yaml_section(kind: &str, path: &Path, line: usize, entries: Vec<Entry>) -> Section {
    Section {
        kind: kind.into(),
        file: path.to_path_buf(),
        line: entries.first().map_or(line, |e| e.line),
        entries,
        span: None,
    }
}

fn yaml_props(path: &Path, m: &Yaml, line: usize) -> Result<Vec<Entry>, ReadError> {
    let Yaml::Map(entries) = m else {
        return Err(ReadError::at(path, Some(line), "a plugin is not a mapping"));
    };
    let mut props = Vec::new();
    for (k, v, l) in entries {
        let key = k.clone();
        match v {
            Yaml::Str(s) => props.push(Entry {
                key,
                value: s.clone(),
                line: *l,
            }),
            Yaml::Seq(items) => {
                for item in items {
                    // processors: lists of mappings, not properties.
                    if let Some(s) = item.as_str() {
                        props.push(Entry {
                            key: key.clone(),
                            value: s.to_string(),
                            line: *l,
                        });
                    }
                }
            }
            // processors and other nested settings: not properties.
            Yaml::Map(_) => {}
        }
    }
    Ok(props)
}

fn yaml_into(
    path: &Path,
    doc: &Yaml,
    config: &mut Config,
    files: &dyn Files,
    depth: usize,
) -> Result<(), ReadError> {
    config.files.push(path.to_path_buf());
    let Yaml::Map(top) = doc else {
        return Err(ReadError::at(path, Some(1), "not a mapping"));
    };
    for (key, value, line) in top {
        match key.as_str() {
            "service" => {
                let mut service =
                    yaml_section("service", path, *line, yaml_props(path, value, *line)?);
                service.line = *line;
                config.plugins.push(service);
            }
            "env" => {
                if let Yaml::Map(vars) = value {
                    for (k, v, _) in vars {
                        config
                            .vars
                            .push((k.clone(), v.as_str().unwrap_or("").to_string()));
                    }
                }
            }
            "includes" => {
                let items: Vec<&Yaml> = match value {
                    Yaml::Seq(items) => items.iter().collect(),
                    other => vec![other],
                };
                for item in items {
                    let Some(pattern) = item.as_str() else {
                        return Err(ReadError::at(
                            path,
                            Some(*line),
                            "includes: not a file name",
                        ));
                    };
                    for file in resolve_include(path, pattern, *line, files, depth)? {
                        let text = files.read(&file)?;
                        let inc = parse_yaml(&text).map_err(|e| ReadError::parse(&file, e))?;
                        yaml_into(&file, &inc, config, files, depth + 1)?;
                    }
                }
            }
            "pipeline" => {
                let Yaml::Map(sections) = value else {
                    return Err(ReadError::at(
                        path,
                        Some(*line),
                        "pipeline is not a mapping",
                    ));
                };
                for (section, list, sline) in sections {
                    let kind = match section.as_str() {
                        "inputs" => "input",
                        "filters" => "filter",
                        "outputs" => "output",
                        other => {
                            return Err(ReadError::at(
                                path,
                                Some(*sline),
                                format!("pipeline.{other} is not inputs, filters or outputs"),
                            ));
                        }
                    };
                    let Yaml::Seq(items) = list else {
                        return Err(ReadError::at(
                            path,
                            Some(*sline),
                            format!("pipeline.{section} is not a list"),
                        ));
                    };
                    for item in items {
                        let props = yaml_props(path, item, *sline)?;
                        config.plugins.push(yaml_section(kind, path, *sline, props));
                    }
                }
            }
            other if YAML_OTHER_SECTIONS.contains(&other) => {}
            // Fluent Bit reads any other top-level mapping as a section of
            // its own (5.1.1's `extensions:`, a custom section) and starts
            // with it (measured: 4.2.2 and 5.1.1); not read here.
            _ if matches!(value, Yaml::Map(_)) => {}
            other => {
                return Err(ReadError::at(
                    path,
                    Some(*line),
                    format!("top-level {other:?} is not a Fluent Bit config section"),
                ));
            }
        }
    }
    Ok(())
}

/// `# fluent-bit: ...` or `# image: ...` in the leading comment block, and
/// its line.
pub fn header(text: &str, key: &str) -> Option<(String, usize)> {
    text.lines()
        .enumerate()
        .take_while(|(_, l)| l.starts_with('#') || l.trim().is_empty())
        .find_map(|(i, l)| {
            l.trim_start_matches('#')
                .trim()
                .strip_prefix(key)
                .and_then(|r| r.strip_prefix(':'))
                .map(|r| (r.trim().to_string(), i + 1))
        })
}

/// `${NAME}` expanded from `vars` (then the environment given); `None` when
/// a variable is unset.
pub fn expand(value: &str, vars: &[(String, String)], env: &[(String, String)]) -> Option<String> {
    let mut out = String::new();
    let mut rest = value;
    while let Some(at) = rest.find("${") {
        out.push_str(&rest[..at]);
        let after = &rest[at + 2..];
        let end = after.find('}')?;
        let name = &after[..end];
        let v = vars
            .iter()
            .rev()
            .chain(env.iter())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())?;
        out.push_str(v);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// Files held in memory, as a browser or a test gives them.
    struct InMemory(BTreeMap<PathBuf, String>);

    impl Files for InMemory {
        fn read(&self, path: &Path) -> Result<String, ReadError> {
            self.0
                .get(path)
                .cloned()
                .ok_or_else(|| ReadError::at(path, None, "no such file"))
        }
        fn list(&self, dir: &Path) -> Result<Vec<PathBuf>, String> {
            Ok(self
                .0
                .keys()
                .filter(|p| p.parent() == Some(dir))
                .cloned()
                .collect())
        }
        fn is_file(&self, path: &Path) -> bool {
            self.0.contains_key(path)
        }
    }

    #[test]
    fn includes_come_through_the_callers_files_in_order() {
        let files = InMemory(BTreeMap::from([
            (
                PathBuf::from("/c/inputs/a.conf"),
                "[INPUT]\n    Name tail\n".to_string(),
            ),
            (
                PathBuf::from("/c/inputs/b.conf"),
                "[INPUT]\n    Name forward\n".to_string(),
            ),
            (
                PathBuf::from("/c/out.yaml"),
                "pipeline:\n  outputs:\n    - name: stdout\n      match: '*'\n".to_string(),
            ),
        ]));
        let main = "[SERVICE]\n    Flush 1\n@INCLUDE inputs/*.conf\n@SET x=1\n[OUTPUT]\n    Name null\n    Match *\n";
        let c = read_classic(Path::new("/c/main.conf"), main, &files).unwrap();
        let names: Vec<String> = c
            .plugins
            .iter()
            .map(|p| format!("{}:{}", p.kind, p.name()))
            .collect();
        assert_eq!(
            names,
            ["service:", "input:tail", "input:forward", "output:null"]
        );
        assert_eq!(c.plugins[1].file, PathBuf::from("/c/inputs/a.conf"));
        assert_eq!(c.vars, vec![("x".to_string(), "1".to_string())]);
        let missing = read_classic(Path::new("/c/main.conf"), "@INCLUDE gone.conf\n", &files);
        assert_eq!(missing.unwrap_err().line, Some(1));
        let doc = parse_yaml("includes:\n  - out.yaml\n").unwrap();
        let y = read_yaml_config(Path::new("/c/main.yaml"), &doc, &files).unwrap();
        assert_eq!(y.plugins[0].name(), "stdout");
        assert_eq!(y.plugins[0].get("Match"), Some("*"));
        // Without files, an include is refused, not skipped.
        assert!(read_classic(Path::new("/c/main.conf"), main, &NoFiles).is_err());
    }

    #[test]
    fn variables_expand_or_say_unset() {
        let vars = vec![("A".to_string(), "1".to_string())];
        let env = vec![("B".to_string(), "2".to_string())];
        assert_eq!(expand("x${A}y${B}", &vars, &env).as_deref(), Some("x1y2"));
        assert_eq!(expand("${C}", &vars, &env), None);
        assert_eq!(expand("plain", &vars, &env).as_deref(), Some("plain"));
    }
}

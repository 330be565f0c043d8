//! Fluent Bit configs, classic (`.conf`, with `@INCLUDE` and `@SET`) and YAML
//! (with `includes:` and `env:`), read into one model: plugins in pipeline
//! order, each with its properties and the file and line they come from.
//!
//! Classic format, by the rules of src/config_format/flb_cf_fluentbit.c:
//! `#` comments at column 0 or at the indentation; `[SECTION]` at column 0;
//! one indentation for every key line of a file; `key value` split at the
//! first space; a key without a value stops Fluent Bit.

use super::yaml::{Yaml, parse_yaml};
use std::path::{Path, PathBuf};

/// One `[SECTION]` of a classic file.
#[derive(Debug, Clone)]
pub struct Section {
    /// Upper case: SERVICE, INPUT, FILTER, OUTPUT, PARSER, ...
    pub kind: String,
    pub line: usize,
    /// (key as written, value, line)
    pub entries: Vec<(String, String, usize)>,
}

impl Section {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|(k, _, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v, _)| v.as_str())
    }

    /// The `Name`, lower case.
    pub fn name(&self) -> String {
        self.get("name").unwrap_or("").to_ascii_lowercase()
    }
}

/// What a classic file holds, in order.
#[derive(Debug, Clone)]
pub enum Item {
    Section(Section),
    /// `@INCLUDE path` and its line.
    Include(String, usize),
    /// `@SET KEY=VALUE` and its line.
    Set(String, String, usize),
}

const SECTIONS: &[&str] = &[
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

/// Parses a classic file; errors start with `line N:`.
pub fn parse_classic_items(text: &str) -> Result<Vec<Item>, String> {
    let mut items: Vec<Item> = Vec::new();
    let mut indent: Option<String> = None;
    for (i, raw) in text.lines().enumerate() {
        let line_no = i + 1;
        let line = raw.trim_end();
        let err = |m: &str| Err(format!("line {line_no}: {m}: {raw:?}"));
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(rest) = line.strip_prefix('@') {
            let (directive, arg) = rest.split_once([' ', '\t']).unwrap_or((rest, ""));
            let arg = arg.trim();
            match directive.to_ascii_uppercase().as_str() {
                "INCLUDE" if !arg.is_empty() => items.push(Item::Include(arg.into(), line_no)),
                "SET" => match arg.split_once('=') {
                    Some((k, v)) if !k.trim().is_empty() => {
                        items.push(Item::Set(k.trim().into(), v.trim().into(), line_no))
                    }
                    _ => return err("@SET needs KEY=VALUE"),
                },
                _ => return err("unknown or incomplete @ directive"),
            }
            continue;
        }
        if let Some(rest) = line.strip_prefix('[') {
            let Some(name) = rest.strip_suffix(']') else {
                return err("bad section header");
            };
            let kind = name.trim().to_ascii_uppercase();
            if !SECTIONS.contains(&kind.as_str()) {
                return err("unknown section");
            }
            items.push(Item::Section(Section {
                kind,
                line: line_no,
                entries: Vec::new(),
            }));
            continue;
        }
        let lead: String = line
            .chars()
            .take_while(|c| *c == ' ' || *c == '\t')
            .collect();
        if lead.is_empty() {
            return err("key outside of the indentation");
        }
        if lead.contains('\t') {
            return err("tab in indentation");
        }
        match &indent {
            None => indent = Some(lead.clone()),
            Some(ind) if *ind != lead => return err("indentation differs from the file's first"),
            Some(_) => {}
        }
        let body = &line[lead.len()..];
        if body.starts_with('#') {
            continue;
        }
        let Some(Item::Section(section)) = items.last_mut() else {
            return err("key before any section");
        };
        let Some((key, value)) = body.split_once(' ') else {
            return err("key without a value");
        };
        let value = value.trim();
        if value.is_empty() {
            return err("key with an empty value");
        }
        if key.contains('\t') || key.starts_with('[') {
            return err("malformed key");
        }
        section
            .entries
            .push((key.to_string(), value.to_string(), line_no));
    }
    Ok(items)
}

/// The sections of a classic file without directives (a parsers file, a
/// ConfigMap's `filters.conf`): `@INCLUDE`/`@SET` are errors there.
pub fn parse_classic(text: &str) -> Result<Vec<Section>, String> {
    parse_classic_items(text)?
        .into_iter()
        .map(|item| match item {
            Item::Section(s) => Ok(s),
            Item::Include(_, l) | Item::Set(_, _, l) => {
                Err(format!("line {l}: @INCLUDE/@SET cannot be used here"))
            }
        })
        .collect()
}

/// One property of a plugin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prop {
    /// Lower case.
    pub key: String,
    pub value: String,
    pub line: usize,
}

/// A plugin (or the service, a parser...) of a config.
#[derive(Debug, Clone)]
pub struct Plugin {
    /// service, input, filter, output, parser, multiline_parser, custom, ...
    pub kind: String,
    pub file: PathBuf,
    pub line: usize,
    /// Repeated keys kept in order.
    pub props: Vec<Prop>,
}

impl Plugin {
    /// The `name`, lower case.
    pub fn name(&self) -> String {
        self.get("name").unwrap_or("").to_ascii_lowercase()
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.prop(key).map(|p| p.value.as_str())
    }

    pub fn prop(&self, key: &str) -> Option<&Prop> {
        self.props.iter().find(|p| p.key == key)
    }

    pub fn all(&self, key: &str) -> Vec<&str> {
        self.props
            .iter()
            .filter(|p| p.key == key)
            .map(|p| p.value.as_str())
            .collect()
    }

    /// The line of `key`, else of the plugin.
    pub fn line_of(&self, key: &str) -> usize {
        self.prop(key).map_or(self.line, |p| p.line)
    }

    pub fn is(&self, kind: &str, name: &str) -> bool {
        self.kind == kind && self.name() == name
    }
}

/// A whole config: the file given and everything it includes.
#[derive(Debug, Clone, Default)]
pub struct Config {
    pub plugins: Vec<Plugin>,
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

pub fn read_text(path: &Path) -> Result<String, ReadError> {
    let bytes = std::fs::read(path).map_err(|e| ReadError::at(path, None, e.to_string()))?;
    String::from_utf8(bytes).map_err(|e| {
        let upto = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let line = upto.iter().filter(|b| **b == b'\n').count() + 1;
        ReadError::at(path, Some(line), "not UTF-8 text")
    })
}

/// Whether a path names a YAML file.
pub fn is_yaml(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("yaml") || e.eq_ignore_ascii_case("yml"))
}

const MAX_INCLUDE_DEPTH: usize = 16;

/// Reads a classic config and what it includes.
pub fn read_classic(path: &Path, text: &str) -> Result<Config, ReadError> {
    let mut config = Config::default();
    classic_into(path, text, &mut config, 0)?;
    Ok(config)
}

fn classic_into(
    path: &Path,
    text: &str,
    config: &mut Config,
    depth: usize,
) -> Result<(), ReadError> {
    config.files.push(path.to_path_buf());
    let items = parse_classic_items(text).map_err(|e| ReadError::parse(path, e))?;
    for item in items {
        match item {
            Item::Section(s) => config.plugins.push(Plugin {
                kind: s.kind.to_ascii_lowercase(),
                file: path.to_path_buf(),
                line: s.line,
                props: s
                    .entries
                    .into_iter()
                    .map(|(k, v, l)| Prop {
                        key: k.to_ascii_lowercase(),
                        value: v,
                        line: l,
                    })
                    .collect(),
            }),
            Item::Set(k, v, _) => config.vars.push((k, v)),
            Item::Include(pattern, line) => {
                for file in resolve_include(path, &pattern, line, depth)? {
                    let text = read_text(&file)?;
                    classic_into(&file, &text, config, depth + 1)?;
                }
            }
        }
    }
    Ok(())
}

/// The files an include names, relative to the including file's directory;
/// `*` in the file name matches as in a shell glob (Fluent Bit takes globs).
fn resolve_include(
    from: &Path,
    pattern: &str,
    line: usize,
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
        if !target.is_file() {
            return Err(ReadError::at(
                from,
                Some(line),
                format!("included file {} does not exist", target.display()),
            ));
        }
        return Ok(vec![target]);
    }
    let dir = target.parent().unwrap_or(base);
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| ReadError::at(from, Some(line), format!("{}: {e}", dir.display())))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.is_file()
                && p.file_name()
                    .is_some_and(|n| super::tag::wildcard(&name, &n.to_string_lossy()))
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
pub fn read_yaml_config(path: &Path, doc: &Yaml) -> Result<Config, ReadError> {
    let mut config = Config::default();
    yaml_into(path, doc, &mut config, 0)?;
    Ok(config)
}

fn yaml_props(path: &Path, m: &Yaml, line: usize) -> Result<Vec<Prop>, ReadError> {
    let Yaml::Map(entries) = m else {
        return Err(ReadError::at(path, Some(line), "a plugin is not a mapping"));
    };
    let mut props = Vec::new();
    for (k, v, l) in entries {
        let key = k.to_ascii_lowercase();
        match v {
            Yaml::Str(s) => props.push(Prop {
                key,
                value: s.clone(),
                line: *l,
            }),
            Yaml::Seq(items) => {
                for item in items {
                    // processors: lists of mappings, not properties.
                    if let Some(s) = item.as_str() {
                        props.push(Prop {
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

fn yaml_into(path: &Path, doc: &Yaml, config: &mut Config, depth: usize) -> Result<(), ReadError> {
    config.files.push(path.to_path_buf());
    let Yaml::Map(top) = doc else {
        return Err(ReadError::at(path, Some(1), "not a mapping"));
    };
    for (key, value, line) in top {
        match key.as_str() {
            "service" => {
                let props = yaml_props(path, value, *line)?;
                config.plugins.push(Plugin {
                    kind: "service".into(),
                    file: path.to_path_buf(),
                    line: *line,
                    props,
                });
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
                    for file in resolve_include(path, pattern, *line, depth)? {
                        let text = read_text(&file)?;
                        let inc = parse_yaml(&text).map_err(|e| ReadError::parse(&file, e))?;
                        yaml_into(&file, &inc, config, depth + 1)?;
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
                        let line = props.first().map_or(*sline, |p| p.line);
                        config.plugins.push(Plugin {
                            kind: kind.into(),
                            file: path.to_path_buf(),
                            line,
                            props,
                        });
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

    #[test]
    fn classic_parser_follows_fluent_bit_rules() {
        let ok = "# c\n[SERVICE]\n    Flush 1\n    # c\n\n[INPUT]\n    Name tail\n    Path /a b\n";
        let s = parse_classic(ok).unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(s[1].get("path"), Some("/a b"));
        assert_eq!(s[1].entries[1].2, 8);
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
            let e = parse_classic(bad).expect_err(bad);
            assert!(e.starts_with(&format!("line {line}:")), "{bad:?}: {e}");
        }
        let items = parse_classic_items("@SET a=b\n@INCLUDE x.conf\n").unwrap();
        assert!(matches!(&items[0], Item::Set(k, v, 1) if k == "a" && v == "b"));
        assert!(matches!(&items[1], Item::Include(p, 2) if p == "x.conf"));
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

//! `selfscrape check`: every way a Fluent Bit config, an `aws-logging`
//! ConfigMap or a manifest would lose records, stop Fluent Bit from
//! starting, or cost more than it should, found before deploying.
//!
//! - the config model, its tag routing, size syntax and tables are
//!   `selfscrape-fbconf`'s; [`files`] reads included files from disk;
//! - [`module`]: the module's exports, and probes on the project's host
//!   (the `module` feature, on by default; without it the checks that run
//!   the module say the CLI runs them, and the crate builds for wasm32);
//! - [`router`]: the Fargate router's rules;
//! - [`rules`]: the findings for a Fluent Bit config;
//! - [`figures`]: every figure the project states about itself.
//!
//! Severity: an error loses records or stops Fluent Bit from starting; a
//! warning is a cost or a doubt. Exit status of the command: 0 clean, 1
//! warnings only, 2 errors, 3 the check could not run (see [`Report::exit_code`]).

pub mod figures;
pub mod files;
pub mod module;
pub mod route;
pub mod router;
pub mod rules;

pub use router::router_rule_violations;
pub use selfscrape_fbconf::Version;

use files::{Disk, read_text};
use selfscrape_fbconf::config::{self, ReadError, header, is_yaml, is_yaml_config};
use selfscrape_fbconf::tables::{self, ImageFluentBit, image_fluent_bit};
use selfscrape_fbconf::yaml::{self, Yaml};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// A cost, or a doubt the check cannot settle.
    Warning,
    /// Records lost, or Fluent Bit will not start.
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// One finding: where, how bad, what, and the fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub file: PathBuf,
    pub line: Option<usize>,
    pub severity: Severity,
    /// Stable identifier, e.g. `wasm-msgpack-format` (docs/check.md).
    pub code: &'static str,
    pub message: String,
    pub fix: String,
}

/// What to check against.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// `--fluent-bit`: the Fluent Bit the configs will run on.
    pub fluent_bit: Option<Version>,
    /// `--image`: the aws-for-fluent-bit tag (or full image reference).
    pub image: Option<String>,
    /// `--wasm`: the module file WASM_Path will point at when deployed.
    pub wasm: Option<PathBuf>,
    /// Variables for `${NAME}` in paths (the process environment).
    pub env: Vec<(String, String)>,
}

/// The outcome of checking files.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub findings: Vec<Finding>,
    /// Files the check could not read or parse.
    pub failures: Vec<ReadError>,
    pub files: Vec<PathBuf>,
    /// The Fluent Bit versions each checked file was judged against (empty:
    /// none named, or a manifest).
    pub fluent_bit: Vec<(PathBuf, Vec<Version>)>,
}

impl Report {
    pub fn errors(&self) -> usize {
        self.count(Severity::Error)
    }

    pub fn warnings(&self) -> usize {
        self.count(Severity::Warning)
    }

    fn count(&self, s: Severity) -> usize {
        self.findings.iter().filter(|f| f.severity == s).count()
    }

    /// 3 when a file could not be checked, else 2 with an error, 1 with
    /// warnings only, 0 when clean.
    pub fn exit_code(&self) -> u8 {
        if !self.failures.is_empty() {
            3
        } else if self.errors() > 0 {
            2
        } else if self.warnings() > 0 {
            1
        } else {
            0
        }
    }

    /// `file:line: severity[code]: message` and an indented `fix:` line per
    /// finding, then a summary line.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for f in &self.findings {
            let _ = writeln!(
                out,
                "{}: {}[{}]: {}\n    fix: {}",
                place(&f.file, f.line),
                f.severity.as_str(),
                f.code,
                f.message,
                f.fix
            );
        }
        for e in &self.failures {
            let _ = writeln!(
                out,
                "{}: cannot check: {}",
                place(&e.file, e.line),
                e.message
            );
        }
        let _ = writeln!(
            out,
            "{} error(s), {} warning(s) in {} file(s){}",
            self.errors(),
            self.warnings(),
            self.files.len(),
            if self.failures.is_empty() {
                String::new()
            } else {
                format!("; {} could not be checked", self.failures.len())
            }
        );
        out
    }

    /// Every Fluent Bit version some file was judged against, oldest first.
    pub fn fluent_bit_versions(&self) -> Vec<Version> {
        let mut all: Vec<Version> = self
            .fluent_bit
            .iter()
            .flat_map(|(_, vs)| vs.iter().copied())
            .collect();
        all.sort();
        all.dedup();
        all
    }

    /// The report as one JSON object (docs/check.md has its shape).
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::json;
        let versions = |vs: &[Version]| vs.iter().map(Version::to_string).collect::<Vec<_>>();
        json!({
            "exit_code": self.exit_code(),
            "errors": self.errors(),
            "warnings": self.warnings(),
            "files": self.files.iter().map(|f| f.display().to_string()).collect::<Vec<_>>(),
            "fluent_bit": versions(&self.fluent_bit_versions()),
            "fluent_bit_by_file": self.fluent_bit.iter().map(|(f, vs)| json!({
                "file": f.display().to_string(),
                "fluent_bit": versions(vs),
            })).collect::<Vec<_>>(),
            "findings": self.findings.iter().map(|f| json!({
                "file": f.file.display().to_string(),
                "line": f.line,
                "severity": f.severity.as_str(),
                "code": f.code,
                "message": f.message,
                "fix": f.fix,
            })).collect::<Vec<_>>(),
            "failures": self.failures.iter().map(|e| json!({
                "file": e.file.display().to_string(),
                "line": e.line,
                "message": e.message,
            })).collect::<Vec<_>>(),
        })
    }
}

fn place(file: &Path, line: Option<usize>) -> String {
    match line {
        Some(l) => format!("{}:{l}", file.display()),
        None => file.display().to_string(),
    }
}

/// Checks each file on its own.
pub fn check_paths(paths: &[PathBuf], opts: &Options) -> Report {
    let mut report = Report::default();
    for path in paths {
        report.add(path, check_file_against(path, opts));
    }
    report
}

impl Report {
    /// Adds what checking one file (or a text under that name) found.
    pub fn add(&mut self, path: &Path, checked: Result<(Vec<Finding>, Target), ReadError>) {
        self.files.push(path.to_path_buf());
        match checked {
            Ok((mut findings, target)) => {
                self.findings.append(&mut findings);
                self.fluent_bit
                    .push((path.to_path_buf(), target.versions()));
            }
            Err(e) => self.failures.push(e),
        }
    }
}

/// What a file is, once read.
enum Kind {
    Classic,
    YamlConfig(Yaml),
    Router(Yaml),
    Manifest,
}

/// The findings of one file (`-`: standard input), or why it cannot be
/// checked.
pub fn check_file(path: &Path, opts: &Options) -> Result<Vec<Finding>, ReadError> {
    check_file_against(path, opts).map(|(findings, _)| findings)
}

/// The findings of one file and the Fluent Bit versions it was judged
/// against.
pub fn check_file_against(
    path: &Path,
    opts: &Options,
) -> Result<(Vec<Finding>, Target), ReadError> {
    if path == Path::new("-") {
        let stdin = Path::new("<stdin>");
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin().lock(), &mut bytes)
            .map_err(|e| ReadError::at(stdin, None, e.to_string()))?;
        let text =
            String::from_utf8(bytes).map_err(|_| ReadError::at(stdin, None, "not UTF-8 text"))?;
        // A classic config starts with a section, a comment or an @-command.
        let classic = text
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty() && !l.starts_with('#'))
            .is_some_and(|l| l.starts_with('[') || l.starts_with('@'));
        return check_text_against(stdin, &text, !classic, opts);
    }
    if path.is_dir() {
        return Err(ReadError::at(path, None, "is a directory, not a file"));
    }
    let text = read_text(path)?;
    check_text_against(path, &text, is_yaml(path), opts)
}

/// The findings of `text`, read from `path` (YAML when `yaml`).
pub fn check_text(
    path: &Path,
    text: &str,
    yaml: bool,
    opts: &Options,
) -> Result<Vec<Finding>, ReadError> {
    check_text_against(path, text, yaml, opts).map(|(findings, _)| findings)
}

/// [`check_text`], and the Fluent Bit versions the text was judged against.
pub fn check_text_against(
    path: &Path,
    text: &str,
    yaml: bool,
    opts: &Options,
) -> Result<(Vec<Finding>, Target), ReadError> {
    let kind = if yaml {
        let mut docs = yaml::parse_yaml_documents(text).map_err(|e| ReadError::parse(path, e))?;
        if let Some(i) = docs
            .iter()
            .position(|(d, _)| router::is_router_configmap(d))
        {
            Kind::Router(docs.swap_remove(i).0)
        } else if docs.len() == 1 && is_yaml_config(&docs[0].0) {
            Kind::YamlConfig(docs.swap_remove(0).0)
        } else {
            Kind::Manifest
        }
    } else {
        Kind::Classic
    };
    let mut out = Vec::new();
    let target = match kind {
        Kind::Classic => {
            let config = config::read_classic(path, text, &Disk)?;
            let target = target(path, text, opts, &mut out);
            rules::check_config(&config, &target, opts, &mut out);
            target
        }
        Kind::YamlConfig(doc) => {
            let config = config::read_yaml_config(path, &doc, &Disk)?;
            let target = target(path, text, opts, &mut out);
            rules::check_config(&config, &target, opts, &mut out);
            target
        }
        Kind::Router(doc) => {
            // The router's Fluent Bit is AWS's: only a header names it.
            let target = target(path, text, &Options::default(), &mut out);
            rules::check_router(path, text, &doc, &target, &mut out);
            target
        }
        Kind::Manifest => {
            rules::check_images(path, text, &mut out);
            Target::Unknown
        }
    };
    Ok((out, target))
}

/// The Fluent Bit versions a config is checked against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// One version: a deployment.
    Exact(Version),
    /// `# fluent-bit: >=X`: every tabulated version from X (compatibility).
    From(Version, Vec<Version>),
    /// None named.
    Unknown,
}

impl Target {
    pub fn versions(&self) -> Vec<Version> {
        match self {
            Target::Exact(v) => vec![*v],
            Target::From(_, vs) => vs.clone(),
            Target::Unknown => Vec::new(),
        }
    }
}

/// From `--fluent-bit`, `--image`, or the file's `# fluent-bit:` / `# image:`
/// header, in that order.
fn target(path: &Path, text: &str, opts: &Options, out: &mut Vec<Finding>) -> Target {
    if let Some(v) = opts.fluent_bit {
        return Target::Exact(v);
    }
    if let Some(image) = &opts.image {
        return image_target(path, None, image, out);
    }
    if let Some((spec, line)) = header(text, "fluent-bit") {
        let (min, range) = match spec.strip_prefix(">=") {
            Some(m) => (m.trim(), true),
            None => (spec.as_str(), false),
        };
        return match Version::parse(min.split_whitespace().next().unwrap_or("")) {
            Some(v) if range => Target::From(v, tables::tabulated_from(v)),
            Some(v) => Target::Exact(v),
            None => {
                out.push(Finding {
                    file: path.to_path_buf(),
                    line: Some(line),
                    severity: Severity::Warning,
                    code: "version-unknown",
                    message: format!("`# fluent-bit: {spec}` names no version (X.Y.Z or >=X.Y.Z)"),
                    fix: "write `# fluent-bit: 4.2.2`, or pass --fluent-bit".into(),
                });
                Target::Unknown
            }
        };
    }
    if let Some((image, line)) = header(text, "image") {
        return image_target(path, Some(line), &image, out);
    }
    Target::Unknown
}

/// `[registry/]aws-for-fluent-bit:TAG [...]` or a bare tag.
pub fn image_tag(image: &str) -> &str {
    let reference = image.split_whitespace().next().unwrap_or("");
    match reference.rsplit_once(':') {
        Some((repo, tag)) if !tag.contains('/') && !repo.is_empty() => {
            tag.split('@').next().unwrap_or(tag)
        }
        _ => reference,
    }
}

fn image_target(path: &Path, line: Option<usize>, image: &str, out: &mut Vec<Finding>) -> Target {
    let tag = image_tag(image);
    match image_fluent_bit(tag) {
        ImageFluentBit::Known(v) => Target::Exact(v),
        // Every 2.x ships Fluent Bit 1.9 or older: judged as 1.9.10.
        ImageFluentBit::Line2 => Target::Exact(Version(1, 9, 10)),
        ImageFluentBit::Unknown => {
            out.push(Finding {
                file: path.to_path_buf(),
                line,
                severity: Severity::Warning,
                code: "image-unknown",
                message: format!(
                    "aws-for-fluent-bit {tag} is not in the image table: the Fluent Bit it ships is unknown, so version checks did not run"
                ),
                fix: "pin a tabulated release (docs/check.md), or pass --fluent-bit with the version its release notes name".into(),
            });
            Target::Unknown
        }
    }
}

//! `selfscrape router`: the rule merged into a user's own `aws-logging`
//! ConfigMap, the one the EKS Fargate built-in log router runs.
//!
//! The rule goes in front of the user's filters ([`rule`] says why that
//! makes it independent of everything the user does after it), its parsers
//! at the end of `parsers.conf`; every other line of the user's files stays
//! as it was, and the result must fit the router's 5,300 characters and
//! pass the router's rules (`selfscrape check`). Fields the API server sets
//! are left out, so the output is ready for `kubectl apply -f -`.
//!
//! A merge is four stages on the config model (`selfscrape-fbconf`), none
//! of which writes text another one reads back: [`read`] (the ConfigMap and
//! its documents), [`plan`] (what to replace, copy, adapt), [`edit`] (the
//! rule written into the documents) and [`verify`] (the router's limits on
//! the result). The aggregator variant ([`aggregator`]) plans and edits
//! `output.conf` instead.

mod aggregator;
mod edit;
mod emit;
mod plan;
mod read;
pub mod rule;
mod stderr;
mod verify;

pub use stderr::error_text;

use plan::Plan;
use read::Input;
use rule::RuleOptions;
use selfscrape_fbconf::tables::ROUTER_MAX_CHARS;

/// AWS's documented `aws-logging` ConfigMap (EKS user guide, "Fargate
/// logging", CloudWatch Logs): what `selfscrape router` merges into when it
/// is given no file.
pub const AWS_DEFAULT: &str = include_str!("aws-default.yaml");

/// The most characters the rule's own part may take, so that a user's
/// ConfigMap of 2,000 characters still fits the router's 5,300 with it.
pub const RULE_BUDGET: usize = 3000;

/// What to merge.
#[derive(Debug, Clone)]
pub struct Options {
    /// Mark own-node refusals (`"self_scrape": true`) instead of dropping.
    pub dry_run: bool,
    /// metrics-server's container name.
    pub container: String,
    /// Only the shapes this metrics-server release (major, minor) writes.
    pub metrics_server: Option<(u32, u32)>,
    /// The aggregator variant: metrics-server's records go to the selfscrape
    /// aggregator at (host, port) instead of through the rule's filters.
    pub aggregator: Option<(String, u16)>,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            dry_run: false,
            container: "metrics-server".into(),
            metrics_server: None,
            aggregator: None,
        }
    }
}

/// Why no ConfigMap was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The input is not a ConfigMap the router reads (exit status 3).
    BadInput(String),
    /// The rule cannot be merged safely or does not fit (exit status 2).
    Refused(String),
}

impl Error {
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::BadInput(_) => 3,
            Error::Refused(_) => 2,
        }
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::BadInput(m) | Error::Refused(m) => f.write_str(m),
        }
    }
}

/// The merged ConfigMap and what the merge did.
#[derive(Debug, Clone)]
pub struct Merged {
    /// The ConfigMap, ready for `kubectl apply -f -`.
    pub yaml: String,
    /// Where it put what, and what it adapted to.
    pub report: Vec<String>,
    pub warnings: Vec<String>,
    /// The whole ConfigMap's characters, as the router counts them.
    pub chars: usize,
    /// The characters the rule added.
    pub rule_chars: usize,
}

impl Merged {
    /// 0 merged, 1 merged with warnings.
    pub fn exit_code(&self) -> u8 {
        u8::from(!self.warnings.is_empty())
    }
}

/// Merges the rule into the ConfigMap in `input` (AWS's documented one
/// when `None`).
pub fn merge(input: Option<&str>, opts: &Options) -> Result<Merged, Error> {
    let input = read::read(input.unwrap_or(AWS_DEFAULT), opts)?;
    let common = plan::common(&input, opts)?;
    if let Some((host, port)) = &opts.aggregator {
        return aggregator::merge(&input, common, &opts.container, host, *port);
    }
    let plan = plan::plan(&input, opts, common);
    let data = edit::merged_data(&input, &plan, opts, plan.shapes.clone());
    let yaml = input.with_data(&data);
    let chars = yaml.chars().count();
    let users = edit::users_chars(&input, &plan);
    let rule_chars = chars.saturating_sub(users);
    if chars > ROUTER_MAX_CHARS {
        let size_with = |shapes| {
            let data = edit::merged_data(&input, &plan, opts, shapes);
            input.with_data(&data).chars().count()
        };
        return Err(verify::too_long(
            chars,
            rule_chars,
            users,
            &plan.shapes,
            size_with,
        ));
    }
    verify::rules(chars, &data)?;
    let report = report(&input, &plan, opts, chars, rule_chars);
    Ok(Merged {
        yaml,
        report,
        warnings: plan.warnings,
        chars,
        rule_chars,
    })
}

/// What the merge did, in the order a reader checks it.
fn report(
    input: &Input,
    plan: &Plan,
    opts: &Options,
    chars: usize,
    rule_chars: usize,
) -> Vec<String> {
    let n_filters = rule::filters(&RuleOptions {
        matcher: String::new(),
        shapes: plan.shapes.clone(),
        dry_run: opts.dry_run,
        kubernetes: Vec::new(),
    })
    .len();
    let mut report = vec![
        format!(
            "filters.conf: {n_filters} filters in front of your {} (they see each record first, as the tail read it, and hand it on unchanged)",
            match plan.common.user_filters.len() {
                0 => "(no filters of yours)".to_string(),
                1 => "1 filter".to_string(),
                n => format!("{n} filters"),
            }
        ),
        format!(
            "parsers.conf: {} parsers appended ({}){}",
            plan.shapes.len() + usize::from(opts.dry_run),
            plan.shapes
                .iter()
                .map(|s| format!("{}: {}", s.parser, s.releases))
                .collect::<Vec<_>>()
                .join("; "),
            if input.get("parsers.conf").is_none() {
                ", as a new parsers.conf"
            } else {
                ""
            }
        ),
    ];
    report.extend(plan.common.report.iter().cloned());
    let ((fh, fk), _) = edit::indents(input);
    report.push(format!(
        "outages: while your output is down, other nodes' refusals wait in the rule's last rewrite_tag emitter (Emitter_Mem_Buf_Limit {}, what your tail input would hold of them otherwise); a burst past that is lost on Fluent Bit before 3.0.2 (the aws-for-fluent-bit 2.x line) and from 5.0.9: docs/router.md, \"Output outages\"",
        rule::EMITTER_MEM_BUF_LIMIT
    ));
    report.push(format!(
        "indentation: sections at {fh:?}, keys at {fk:?}, as your files have them"
    ));
    report.push(format!(
        "size: {chars} of the router's {ROUTER_MAX_CHARS} characters (the rule: {rule_chars})"
    ));
    report
}

/// `--aggregator` values: `HOST` or `HOST:PORT` (9200, the aggregator
/// Service's port, when left out); the error is the command's and the
/// page's.
pub fn parse_aggregator(s: &str) -> Result<(String, u16), String> {
    let read = || {
        let (host, port) = match s.rsplit_once(':') {
            Some((h, p)) => (h, p.parse().ok().filter(|p| *p > 0)?),
            None => (s, 9200),
        };
        let ok = !host.is_empty()
            && host.len() <= 253
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
        ok.then(|| (host.to_string(), port))
    };
    read().ok_or_else(|| format!("{s:?} is not HOST or HOST:PORT"))
}

/// `--metrics-server` values: `0.7`, `v0.7.2`, `0.6.4`; the error is the
/// command's and the page's.
pub fn parse_release(s: &str) -> Result<(u32, u32), String> {
    let read = || {
        let t = s.strip_prefix('v').unwrap_or(s);
        let mut parts = t.split('.');
        let major = parts.next()?.parse().ok()?;
        let minor = parts.next()?.parse().ok()?;
        if parts.clone().count() > 1 || !parts.all(|p| p.parse::<u32>().is_ok()) {
            return None;
        }
        Some((major, minor))
    };
    read().ok_or_else(|| format!("{s:?} is not a metrics-server release (e.g. 0.7 or v0.6.4)"))
}

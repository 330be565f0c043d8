//! `selfscrape router`: the rule merged into a user's own `aws-logging`
//! ConfigMap, the one the EKS Fargate built-in log router runs.
//!
//! The rule goes in front of the user's filters ([`rule`] says why that
//! makes it independent of everything the user does after it), its parsers
//! at the end of `parsers.conf`; every other line of the user's files stays
//! as it was, and the result must fit the router's 5,300 characters and
//! pass the router's rules (`selfscrape check`). Fields the API server sets
//! are left out, so the output is ready for `kubectl apply -f -`.

mod aggregator;
mod conf;
mod emit;
pub mod rule;
mod stderr;

pub use stderr::error_text;

use conf::Conf;
use rule::{HELPER_KEYS, KUBERNETES_COPIED, KUBERNETES_DEFAULT, RuleOptions, SHAPES, Shape};
use selfscrape_check::router::{is_selfscrape_value, router_rules};
use selfscrape_check::tables::ROUTER_MAX_CHARS;
use selfscrape_check::tag::TagMatch;
use selfscrape_check::yaml::{Yaml, parse_yaml_documents};

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

/// A tag of metrics-server's records under the router's tail input.
fn metrics_server_tag(container: &str) -> String {
    format!(
        "kube.var.log.containers.metrics-server-6d94bc8694-x7kqp_kube-system_{container}-{}.log",
        "0123456789abcdef".repeat(4)
    )
}

/// The ConfigMap the router reads, out of whatever YAML holds it.
fn find_configmap(input: &str) -> Result<Yaml, Error> {
    let docs =
        parse_yaml_documents(input).map_err(|e| Error::BadInput(format!("not valid YAML: {e}")))?;
    let mut maps = Vec::new();
    for (doc, _) in docs {
        match doc.get("kind").and_then(Yaml::as_str) {
            Some("ConfigMap") => maps.push(doc),
            // `kubectl get configmap -o yaml` of several objects.
            Some("List") => {
                if let Some(Yaml::Seq(items)) = doc.get("items") {
                    maps.extend(
                        items
                            .iter()
                            .filter(|i| i.get("kind").and_then(Yaml::as_str) == Some("ConfigMap"))
                            .cloned(),
                    );
                }
            }
            _ => {}
        }
    }
    let id = |m: &Yaml| {
        let meta = m.get("metadata");
        let get = |k| meta.and_then(|x| x.get(k)).and_then(Yaml::as_str);
        (
            get("namespace").unwrap_or("").to_string(),
            get("name").unwrap_or("").to_string(),
        )
    };
    let ours: Vec<&Yaml> = maps
        .iter()
        .filter(|m| id(m) == ("aws-observability".into(), "aws-logging".into()))
        .collect();
    match (ours.as_slice(), maps.as_slice()) {
        ([one], _) => Ok((*one).clone()),
        ([], []) => Err(Error::BadInput(
            "no ConfigMap in the input: give the aws-logging ConfigMap (a manifest, or `kubectl get configmap aws-logging -n aws-observability -o yaml`)".into(),
        )),
        ([], others) => {
            let names: Vec<String> = others
                .iter()
                .map(|m| {
                    let (ns, n) = id(m);
                    format!("{}/{n}", if ns.is_empty() { "(no namespace)" } else { &ns })
                })
                .collect();
            Err(Error::BadInput(format!(
                "no aws-observability/aws-logging ConfigMap in the input (found {}): the Fargate router reads only that one",
                names.join(", ")
            )))
        }
        (more, _) => Err(Error::BadInput(format!(
            "{} aws-observability/aws-logging ConfigMaps in the input: give one",
            more.len()
        ))),
    }
}

/// The data entries, each a string.
fn data_of(cm: &Yaml) -> Result<Vec<(String, String)>, Error> {
    match cm.get("data") {
        None => Ok(Vec::new()),
        Some(Yaml::Map(m)) => m
            .iter()
            .map(|(k, v, line)| match v {
                Yaml::Str(s) => Ok((k.clone(), s.clone())),
                _ => Err(Error::BadInput(format!(
                    "line {line}: data key {k} is not a string"
                ))),
            })
            .collect(),
        Some(Yaml::Str(s)) if s.is_empty() => Ok(Vec::new()),
        Some(_) => Err(Error::BadInput("data is not a mapping".into())),
    }
}

/// Markers of an earlier selfscrape rule in a filter (the ones this command
/// writes and the ones older releases shipped).
fn is_selfscrape_filter(s: &conf::Section) -> bool {
    // Only where the rule puts its filters: a filter of the user's that
    // happens to use one of the keys is theirs (and refused below).
    let scoped = s.get("match").is_some_and(|m| {
        m == "zz.never"
            || m.starts_with("ss.")
            || m.starts_with("scrape-refused.")
            || (m.starts_with("kube.*_") && m.ends_with("-*"))
    });
    scoped && s.entries.iter().any(|(_, v, _)| is_selfscrape_value(v))
}

fn is_selfscrape_parser(name: &str) -> bool {
    name.starts_with("ms_refused_")
        || SHAPES.iter().any(|s| s.parser == name)
        || name == rule::MARK_PARSER
}

/// Whether a section's Match/Match_Regex takes `tag`.
pub(crate) fn takes(s: &conf::Section, tag: &str) -> bool {
    TagMatch::new(s.get("match"), s.get("match_regex")).matches(tag)
}

fn shapes_for(release: Option<(u32, u32)>) -> Vec<&'static Shape> {
    SHAPES
        .iter()
        .filter(|s| match release {
            None => true,
            Some((0, minor)) => (s.written_by)(minor),
            Some(_) => (s.written_by)(u32::MAX),
        })
        .collect()
}

/// Merges the rule into the ConfigMap in `input` (AWS's documented one
/// when `None`).
pub fn merge(input: Option<&str>, opts: &Options) -> Result<Merged, Error> {
    let cm = find_configmap(input.unwrap_or(AWS_DEFAULT))?;
    let data = data_of(&cm)?;
    let before = emit::configmap(&cm, &data);
    let problems = router_rules(
        &before,
        &selfscrape_check::yaml::parse_yaml(&before).map_err(|e| {
            Error::Refused(format!(
                "internal error: the ConfigMap as read is not YAML again: {e}"
            ))
        })?,
    );
    if !problems.is_empty() {
        let list: Vec<String> = problems
            .iter()
            .map(|p| format!("  - {}", p.message))
            .collect();
        return Err(Error::Refused(format!(
            "the router would refuse your ConfigMap as it is already:\n{}\nfix these first (`selfscrape check` says where)",
            list.join("\n")
        )));
    }
    if opts.container.is_empty()
        || !opts
            .container
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Err(Error::BadInput(format!(
            "--container {:?} is not a container name (lower-case letters, digits and -)",
            opts.container
        )));
    }

    let mut report = Vec::new();
    let mut warnings = Vec::new();
    let get = |k: &str| {
        data.iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
    };
    let filters = Conf::parse(get("filters.conf").unwrap_or(""));
    let parsers = Conf::parse(get("parsers.conf").unwrap_or(""));
    if get("output.conf").is_none() {
        return Err(Error::Refused(
            "the ConfigMap has no output.conf: the router delivers nothing, so there is nothing to filter".into(),
        ));
    }

    // An earlier selfscrape rule (pasted or merged) is replaced.
    let old_filters: Vec<usize> = filters
        .sections
        .iter()
        .enumerate()
        .filter(|(i, s)| {
            is_selfscrape_filter(s)
                || (s.name() == "kubernetes"
                    && s.get("match")
                        .is_some_and(|m| m.starts_with("kube.*_") && m.ends_with("-*"))
                    && filters
                        .sections
                        .get(i + 1)
                        .is_some_and(|n| is_selfscrape_filter(n) && n.name() == "parser"))
        })
        .map(|(i, _)| i)
        .collect();
    let old_parsers = parsers.indices(|s| is_selfscrape_parser(s.get("name").unwrap_or_default()));
    if !old_filters.is_empty() || !old_parsers.is_empty() {
        report.push(format!(
            "replaced the selfscrape rule already there: {} filters, {} parsers",
            old_filters.len(),
            old_parsers.len()
        ));
    }
    let user_filters: Vec<&conf::Section> = filters
        .sections
        .iter()
        .enumerate()
        .filter(|(i, s)| !old_filters.contains(i) && s.kind == "FILTER")
        .map(|(_, s)| s)
        .collect();
    for s in &user_filters {
        for (k, v, _) in &s.entries {
            if let Some(h) = HELPER_KEYS
                .iter()
                .find(|h| v.contains(*h) || k.contains(*h))
            {
                return Err(Error::Refused(format!(
                    "your filter {} (filters.conf line {}) uses the key {h}, which the rule uses for itself; if it is part of a selfscrape rule pasted by hand, remove that rule first, the command writes a new one",
                    s.name(),
                    s.line + 1
                )));
            }
        }
    }

    // What the user's own filters do to metrics-server's records.
    let tag = metrics_server_tag(&opts.container);
    let on_tag: Vec<&&conf::Section> = user_filters.iter().filter(|s| takes(s, &tag)).collect();
    let kube = on_tag.iter().find(|s| s.name() == "kubernetes");
    if let Some((host, port)) = &opts.aggregator {
        if kube.is_none() {
            return Err(Error::Refused(
                "none of your filters adds pod metadata (kubernetes.host) to metrics-server's records, and the aggregator's module needs it to tell the pod's own node: use the router variant (`selfscrape router` without --aggregator), which reads it itself".into(),
            ));
        }
        return aggregator::merge(aggregator::Merge {
            cm: &cm,
            data: &data,
            filters: &filters,
            old_filters: &old_filters,
            parsers: &parsers,
            old_parsers: &old_parsers,
            tag: &tag,
            container: &opts.container,
            host,
            port: *port,
            report,
        });
    }

    let kubernetes: Vec<(String, String)> = match kube {
        Some(k) => {
            let copied: Vec<(String, String)> = k
                .entries
                .iter()
                .filter(|(key, _, _)| KUBERNETES_COPIED.contains(&key.as_str()))
                .map(|(key, v, line)| {
                    let raw = filters.lines[*line].trim_start();
                    (raw[..key.len()].to_string(), v.clone())
                })
                .collect();
            report.push(format!(
                "kubernetes: the rule reads the pod's node with its own kubernetes filter, scoped to metrics-server, with your kubernetes filter's settings ({}; filters.conf line {})",
                if copied.is_empty() {
                    "none to copy".to_string()
                } else {
                    copied.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>().join(", ")
                },
                k.line + 1
            ));
            copied
        }
        None => {
            report.push(
                "kubernetes: none of your filters adds pod metadata to metrics-server's records; the rule adds what it needs with its own kubernetes filter, scoped to metrics-server, and takes it off again".into(),
            );
            KUBERNETES_DEFAULT
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        }
    };

    // The dry run's mark must outlive the user's filters.
    let mut reserve_at = None;
    if opts.dry_run {
        for (i, s) in on_tag.iter().enumerate() {
            let drops_keys = match s.name().as_str() {
                "parser" => !s.flag("reserve_data", false),
                "record_modifier" => {
                    s.get("allowlist_key").is_some() || s.get("whitelist_key").is_some()
                }
                _ => false,
            };
            if !drops_keys {
                continue;
            }
            if i == 0 && s.name() == "parser" {
                reserve_at = Some(*s);
                report.push(format!(
                    "dry run: Reserve_Data On added to your parser filter (filters.conf line {}), so that the mark survives it; it is the first of your filters on metrics-server's records, which then hold only `log`, so nothing else changes",
                    s.line + 1
                ));
            } else {
                warnings.push(format!(
                    "dry run: your {} filter (filters.conf line {}) keeps only the keys it names, so the `self_scrape` mark may not reach your outputs",
                    s.name(),
                    s.line + 1
                ));
            }
        }
    }

    // Every shape, or those of one release.
    let shapes = shapes_for(opts.metrics_server);
    let (fh, fk) = filters.indents(Some(&parsers));
    let (ph, pk) = parsers.indents(Some(&filters));
    let render = |shapes: Vec<&Shape>| {
        let o = RuleOptions {
            matcher: rule::container_match(&opts.container),
            shapes,
            dry_run: opts.dry_run,
            kubernetes: kubernetes.clone(),
        };
        let ftext: String = rule::filters(&o)
            .iter()
            .map(|s| s.render(&fh, &fk))
            .collect();
        let ptext: String = rule::parsers(&o)
            .iter()
            .map(|s| s.render(&ph, &pk))
            .collect();
        let mut new_filters = filters.clone();
        if let Some(p) = reserve_at {
            let last = p.entries.last().map_or(p.line, |(_, _, l)| *l);
            new_filters
                .lines
                .insert(last + 1, format!("{fk}Reserve_Data On"));
            for s in &mut new_filters.sections {
                if s.line > last {
                    s.start += 1;
                    s.line += 1;
                }
                if s.end > last {
                    s.end += 1;
                }
            }
        }
        let ends_nl = |k: &str| get(k).is_none_or(|t| t.ends_with('\n') || t.is_empty());
        let ftext = new_filters.edited(
            new_filters.front(),
            &ftext,
            &old_filters,
            ends_nl("filters.conf"),
        );
        let ptext = parsers.edited(parsers.lines.len(), &ptext, &old_parsers, true);
        let mut data = data.clone();
        for (key, text) in [("filters.conf", ftext), ("parsers.conf", ptext)] {
            match data.iter_mut().find(|(k, _)| k == key) {
                Some(entry) => entry.1 = text,
                None => data.push((key.to_string(), text)),
            }
        }
        emit::configmap(&cm, &data)
    };
    let yaml = render(shapes.clone());
    let chars = yaml.chars().count();
    let without = {
        let mut data = data.clone();
        let strip = |c: &Conf, drop: &[usize]| c.edited(c.lines.len(), "", drop, true);
        for (key, text) in [
            ("filters.conf", strip(&filters, &old_filters)),
            ("parsers.conf", strip(&parsers, &old_parsers)),
        ] {
            if let Some(e) = data.iter_mut().find(|(k, _)| k == key) {
                e.1 = text;
            }
        }
        emit::configmap(&cm, &data).chars().count()
    };
    let rule_chars = chars.saturating_sub(without);
    if chars > ROUTER_MAX_CHARS {
        let mut options = Vec::new();
        for (release, minor) in [
            ("0.7 or later", 7),
            ("0.5 or 0.6", 5),
            ("0.4", 4),
            ("0.3", 3),
        ] {
            let subset = shapes_for(Some((0, minor)));
            if subset.len() < shapes.len() {
                let n = render(subset.clone()).chars().count();
                let left_out: Vec<&str> = shapes
                    .iter()
                    .filter(|s| !subset.iter().any(|t| t.parser == s.parser))
                    .map(|s| s.parser)
                    .collect();
                options.push(format!(
                    "  --metrics-server {release}: leaves out {} ({n} characters{})",
                    left_out.join(", "),
                    if n <= ROUTER_MAX_CHARS {
                        ", fits"
                    } else {
                        ", still too long"
                    }
                ));
            }
        }
        return Err(Error::Refused(format!(
            "the merged ConfigMap has {chars} characters, {} more than the router's {ROUTER_MAX_CHARS} (the rule takes {rule_chars}, your ConfigMap {without}).\nShorten your own part (comments, unused keys), or recognise only your metrics-server release's lines:\n{}",
            chars - ROUTER_MAX_CHARS,
            if options.is_empty() {
                "  (already only one release's shapes)".to_string()
            } else {
                options.join("\n")
            }
        )));
    }
    verify(&yaml)?;

    let n_filters = rule::filters(&RuleOptions {
        matcher: String::new(),
        shapes: shapes.clone(),
        dry_run: opts.dry_run,
        kubernetes: Vec::new(),
    })
    .len();
    report.insert(
        0,
        format!(
            "filters.conf: {n_filters} filters in front of your {} (they see each record first, as the tail read it, and hand it on unchanged)",
            match user_filters.len() {
                0 => "(no filters of yours)".to_string(),
                1 => "1 filter".to_string(),
                n => format!("{n} filters"),
            }
        ),
    );
    report.insert(
        1,
        format!(
            "parsers.conf: {} parsers appended ({}){}",
            shapes.len() + usize::from(opts.dry_run),
            shapes
                .iter()
                .map(|s| format!("{}: {}", s.parser, s.releases))
                .collect::<Vec<_>>()
                .join("; "),
            if get("parsers.conf").is_none() {
                ", as a new parsers.conf"
            } else {
                ""
            }
        ),
    );
    report.push(format!(
        "outages: while your output is down, other nodes' refusals wait in the rule's last rewrite_tag emitter (Emitter_Mem_Buf_Limit {}, what your tail input would hold of them otherwise); a burst past that is lost on Fluent Bit before 3.0.2 (the aws-for-fluent-bit 2.x line) and from 5.0.9: docs/router.md, \"Output outages\"",
        rule::EMITTER_MEM_BUF_LIMIT
    ));
    report.push(format!(
        "indentation: sections at {:?}, keys at {:?}, as your files have them",
        fh, fk
    ));
    report.push(format!(
        "size: {chars} of the router's {ROUTER_MAX_CHARS} characters (the rule: {rule_chars})"
    ));
    Ok(Merged {
        yaml,
        report,
        warnings,
        chars,
        rule_chars,
    })
}

/// The merged ConfigMap must pass the router's rules (a failure here is a
/// bug of this command: the input passed them).
pub(crate) fn verify(yaml: &str) -> Result<(), Error> {
    let doc = selfscrape_check::yaml::parse_yaml(yaml)
        .map_err(|e| Error::Refused(format!("internal error: the output is not YAML: {e}")))?;
    let after = router_rules(yaml, &doc);
    if after.is_empty() {
        return Ok(());
    }
    let list: Vec<String> = after.iter().map(|p| format!("  - {}", p.message)).collect();
    Err(Error::Refused(format!(
        "internal error: the merged ConfigMap breaks the router's rules:\n{}",
        list.join("\n")
    )))
}

/// `--aggregator` values: `HOST` or `HOST:PORT` (9200, the aggregator
/// Service's port, when left out).
pub fn parse_aggregator(s: &str) -> Option<(String, u16)> {
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
}

/// `--metrics-server` values: `0.7`, `v0.7.2`, `0.6.4`.
pub fn parse_release(s: &str) -> Option<(u32, u32)> {
    let t = s.strip_prefix('v').unwrap_or(s);
    let mut parts = t.split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    if parts.clone().count() > 1 || !parts.all(|p| p.parse::<u32>().is_ok()) {
        return None;
    }
    Some((major, minor))
}

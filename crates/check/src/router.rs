//! The EKS Fargate built-in log router's `aws-logging` ConfigMap: the rules
//! AWS documents (EKS user guide, "Fargate logging") and the project's
//! scoping rule for its own filters.

use super::route::Route;
use selfscrape_fbconf::tables::{ROUTER_FILTERS, ROUTER_MAX_CHARS, ROUTER_OUTPUTS};
use selfscrape_fbconf::tag::APP_TAG;
use selfscrape_fbconf::yaml::{Yaml, parse_yaml};
use selfscrape_fbconf::{Document, Section};
use std::collections::BTreeSet;
use std::path::Path;

/// One thing the router would refuse, or a cost: a finding code, the line
/// in the ConfigMap file when known, the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouterIssue {
    pub code: &'static str,
    pub line: Option<usize>,
    pub message: String,
}

/// The sections of one `data` entry, read as the router reads them
/// (trimmed lines, `key value` split at the first blank); `first_line` is
/// the file line of the block's first line, and the sections' lines are
/// the file's.
pub fn sections(text: &str, first_line: usize) -> Vec<Section> {
    let mut doc = Document::parse(text, Path::new(""));
    let shift = first_line.saturating_sub(1);
    for s in &mut doc.sections {
        s.line += shift;
        for e in &mut s.entries {
            e.line += shift;
        }
    }
    doc.sections
}

/// The `data:` entries: (key, value, line of the value's first line).
pub fn data_entries(doc: &Yaml) -> Vec<(String, Option<String>, usize)> {
    match doc.get("data") {
        Some(Yaml::Map(m)) => m
            .iter()
            .map(|(k, v, l)| {
                // A `|` block starts on the line after its key.
                let first = if v.as_str().is_some_and(|s| s.contains('\n')) {
                    l + 1
                } else {
                    *l
                };
                (k.clone(), v.as_str().map(str::to_string), first)
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// Whether a YAML document is the router's ConfigMap.
pub fn is_router_configmap(doc: &Yaml) -> bool {
    let meta = doc.get("metadata");
    doc.get("kind").and_then(Yaml::as_str) == Some("ConfigMap")
        && (meta.and_then(|m| m.get("name")).and_then(Yaml::as_str) == Some("aws-logging")
            || meta.and_then(|m| m.get("namespace")).and_then(Yaml::as_str)
                == Some("aws-observability"))
}

/// What the router refuses in the ConfigMap `text` (parsed as `doc`).
pub fn router_rules(text: &str, doc: &Yaml) -> Vec<RouterIssue> {
    data_rules(text.chars().count(), &data_entries(doc))
}

/// What the router refuses in a ConfigMap of `chars` characters whose
/// `data` is `data` ([`data_entries`]): what `selfscrape router` checks its
/// model of a ConfigMap against, before and after the merge.
pub fn data_rules(chars: usize, data: &[(String, Option<String>, usize)]) -> Vec<RouterIssue> {
    let mut bad = Issues::default();
    // The router counts the characters of the whole ConfigMap.
    if chars > ROUTER_MAX_CHARS {
        bad.push(
            "router-too-long",
            None,
            format!("{chars} characters, the router accepts at most {ROUTER_MAX_CHARS}"),
        );
    }
    data_keys(data, &mut bad);
    let expected = [
        ("filters.conf", "FILTER"),
        ("output.conf", "OUTPUT"),
        ("parsers.conf", "PARSER"),
    ];
    for (file, kind) in expected {
        let Some((_, Some(text), first)) = data.iter().find(|(k, _, _)| k == file) else {
            if file == "output.conf" {
                bad.push(
                    "router-data",
                    None,
                    "no output.conf: the router needs one output".into(),
                );
            }
            continue;
        };
        indentation(file, text, *first, &mut bad);
        for s in sections(text, *first) {
            section_rules(file, kind, &s, &mut bad);
        }
    }
    bad.0
}

/// The issues found so far.
#[derive(Default)]
struct Issues(Vec<RouterIssue>);

impl Issues {
    fn push(&mut self, code: &'static str, line: Option<usize>, message: String) {
        self.0.push(RouterIssue {
            code,
            line,
            message,
        });
    }
}

/// The data's keys and values (YAML comments never reach the router).
fn data_keys(data: &[(String, Option<String>, usize)], bad: &mut Issues) {
    for (_, value, first) in data {
        if let Some(i) = value
            .as_deref()
            .and_then(|v| v.lines().position(|l| l.contains("${")))
        {
            bad.push(
                "router-env",
                Some(first + i),
                "contains ${...}: the router allows no environment variables".into(),
            );
        }
    }
    for (key, value, line) in data {
        if !["filters.conf", "output.conf", "parsers.conf", "flb_log_cw"].contains(&key.as_str()) {
            bad.push(
                "router-data",
                Some(*line),
                format!("unexpected data key {key}"),
            );
        }
        if value.is_none() {
            bad.push(
                "router-data",
                Some(*line),
                format!("data key {key} is not a string"),
            );
        }
        if key == "flb_log_cw" && !matches!(value.as_deref(), Some("true" | "false")) {
            bad.push(
                "router-data",
                Some(*line),
                "flb_log_cw must be \"true\" or \"false\"".into(),
            );
        }
    }
}

/// Same indentation for every directive, and for every key, deeper.
fn indentation(file: &str, text: &str, first: usize, bad: &mut Issues) {
    let (mut dir_indent, mut key_indent) = (BTreeSet::new(), BTreeSet::new());
    for (i, line) in text.lines().enumerate() {
        // Fluent Bit skips a comment in the first column before it
        // looks at indentation (an indented one must be indented right).
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let indent = line.len() - line.trim_start().len();
        if line.trim_start().starts_with('[') {
            dir_indent.insert(indent);
        } else {
            key_indent.insert(indent);
        }
        if line.contains('\t') {
            bad.push(
                "router-indentation",
                Some(first + i),
                format!("{file}: tab in {line:?}"),
            );
        }
    }
    if dir_indent.len() > 1 || key_indent.len() > 1 {
        bad.push(
            "router-indentation",
            Some(first),
            format!("{file}: mixed indentation {dir_indent:?} {key_indent:?}"),
        );
    }
    if let (Some(d), Some(k)) = (dir_indent.first(), key_indent.first()) {
        if k <= d {
            bad.push(
                "router-indentation",
                Some(first),
                format!("{file}: keys are not indented more than directives"),
            );
        }
    }
}

/// One section of `file`, which holds `kind` sections only.
fn section_rules(file: &str, kind: &str, s: &Section, bad: &mut Issues) {
    if !s.kind.eq_ignore_ascii_case(kind) {
        bad.push(
            "router-section",
            Some(s.line),
            format!(
                "{file}: [{}] section, only [{kind}] belongs there",
                s.kind.to_ascii_uppercase()
            ),
        );
    }
    let required: &[&str] = if kind == "PARSER" {
        &["name", "format"]
    } else {
        &["name", "match"]
    };
    for r in required {
        if s.all(r).is_empty() {
            bad.push(
                "router-missing-key",
                Some(s.line),
                format!("{file}: a [{kind}] without {r}"),
            );
        }
    }
    let name = s.name();
    let (allowed, code): (&[&str], _) = match s.kind.as_str() {
        "filter" => (ROUTER_FILTERS, "router-filter-not-allowed"),
        "output" => (ROUTER_OUTPUTS, "router-output-not-allowed"),
        _ => (&[], ""),
    };
    if !allowed.is_empty() && !allowed.contains(&name.as_str()) {
        bad.push(
            code,
            Some(s.line),
            format!(
                "{file}: {} {name} is not one the router accepts",
                s.kind.to_ascii_uppercase()
            ),
        );
    }
    if name == "kubernetes" {
        for k in [
            "kube_url",
            "kube_ca_file",
            "kube_token_command",
            "kube_token_file",
        ] {
            if !s.all(k).is_empty() {
                bad.push(
                    "router-kubernetes-owned",
                    Some(s.line),
                    format!("{file}: kubernetes {k} is owned by the service"),
                );
            }
        }
    }
}

/// The router's rules as messages: what tests/fargate_router.rs asserts on.
pub fn router_rule_violations(yaml: &str) -> Vec<String> {
    match parse_yaml(yaml) {
        Ok(doc) => router_rules(yaml, &doc)
            .into_iter()
            .map(|i| i.message)
            .collect(),
        Err(e) => vec![format!("not valid YAML: {e}")],
    }
}

/// Markers of selfscrape's router filters: its parsers, helper keys (the
/// shipped ConfigMap's `ss_*`, earlier ones' `selfscrape_*`) and helper
/// tags (`scrape-refused.`, `ss.`). AWS's default filters (`parser crio`,
/// `kubernetes`) and the user's own have none.
pub const SELFSCRAPE_MARKERS: &[&str] = &[
    "ms_refused_",
    "ss_klog",
    "ss_v0",
    "selfscrape_",
    "scrape-refused",
    "ss_cand",
    "ss_node",
    "ss_nd",
    "ss_json",
    "ss_k8s",
    "ss_mark",
    r"\Ass\.",
];

/// The prefix of the rule's helper keys, as its last filter removes them
/// (`Remove_wildcard ss_`).
pub const HELPER_PREFIX: &str = "ss_";

/// Whether a filter's value marks it as one of selfscrape's: a marker, the
/// helper prefix its last filter removes, a helper tag.
pub fn is_selfscrape_value(v: &str) -> bool {
    SELFSCRAPE_MARKERS.iter().any(|m| v.contains(m))
        || v == HELPER_PREFIX
        || v.starts_with("ss.")
        || v.contains(" ss.")
}

/// Whether a filter is one of selfscrape's.
pub fn is_selfscrape_filter(s: &Section) -> bool {
    s.entries.iter().any(|e| is_selfscrape_value(&e.value))
}

/// selfscrape filters whose Match or Match_Regex takes application logs:
/// each such filter runs on every record of every pod in the cluster.
pub fn unscoped_filters(doc: &Yaml) -> Vec<RouterIssue> {
    let mut out = Vec::new();
    for (key, value, first) in data_entries(doc) {
        let (Some(text), "filters.conf") = (value, key.as_str()) else {
            continue;
        };
        let all = sections(&text, first);
        for (i, s) in all.iter().enumerate() {
            // selfscrape router's kubernetes filter heads its parser filter
            // (whose parsers are named ss_...).
            let heads_rule = s.name() == "kubernetes"
                && all.get(i + 1).is_some_and(|n| {
                    n.name() == "parser" && n.all("parser").iter().any(|p| p.starts_with("ss_"))
                });
            if s.kind != "filter" || !(is_selfscrape_filter(s) || heads_rule) {
                continue;
            }
            let m = Route::of(s);
            if m.matches(APP_TAG) {
                let how = match (s.all("match").first(), s.all("match_regex").first()) {
                    (Some(w), None) => format!("Match {w}"),
                    (None, Some(r)) => format!("Match_Regex {r}"),
                    (Some(w), Some(r)) => format!("Match {w} / Match_Regex {r}"),
                    (None, None) => "no Match".into(),
                };
                let approx = match m.refused() {
                    Some(why) => format!(" (as far as the check can tell: {why})"),
                    None => String::new(),
                };
                out.push(RouterIssue {
                    code: "router-unscoped",
                    line: Some(s.line),
                    message: format!(
                        "selfscrape filter {} ({how}) takes application logs too{approx} (it matches {APP_TAG}), not only metrics-server's",
                        s.name()
                    ),
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const CM: &str = "kind: ConfigMap\napiVersion: v1\nmetadata:\n  name: aws-logging\n  namespace: aws-observability\ndata:\n  flb_log_cw: \"false\"\n  filters.conf: |\n    [FILTER]\n        Name parser\n        Match kube.*\n        Key_Name log\n        Parser crio\n    [FILTER]\n        Name modify\n        Match kube.*_metrics-server-*\n        Remove selfscrape_node\n  output.conf: |\n    [OUTPUT]\n        Name cloudwatch_logs\n        Match *\n        region eu-west-2\n";

    #[test]
    fn a_good_configmap_passes_and_lines_are_right() {
        let doc = parse_yaml(CM).unwrap();
        assert!(is_router_configmap(&doc));
        assert_eq!(router_rules(CM, &doc), vec![]);
        assert_eq!(unscoped_filters(&doc), vec![]);
        let s = sections(
            doc.get("data")
                .unwrap()
                .get("filters.conf")
                .unwrap()
                .as_str()
                .unwrap(),
            9,
        );
        assert_eq!(s[1].line, 14);
        assert_eq!(CM.lines().nth(13), Some("    [FILTER]"));
    }

    #[test]
    fn unscoped_selfscrape_filters_are_found() {
        let bad = CM.replace("Match kube.*_metrics-server-*", "Match kube.*");
        let doc = parse_yaml(&bad).unwrap();
        let found = unscoped_filters(&doc);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].line, Some(14));
        // AWS's own parser filter with Match kube.* is not selfscrape's.
        assert!(found[0].message.contains("modify"));
        let regex = CM.replace("Match kube.*_metrics-server-*", r"Match_Regex ^kube\.");
        assert_eq!(unscoped_filters(&parse_yaml(&regex).unwrap()).len(), 1);
        let helper = CM.replace("Match kube.*_metrics-server-*", r"Match ss.*");
        assert_eq!(unscoped_filters(&parse_yaml(&helper).unwrap()), vec![]);
    }
}

//! `selfscrape router --aggregator HOST[:PORT]`: the aggregator variant in
//! the user's own ConfigMap. No rule runs in the router: metrics-server's
//! records leave, after the user's own filters, through an `es` output to
//! the selfscrape aggregator (fluent-bit-conf/aggregator/), which runs the
//! module and delivers to CloudWatch Logs; the user's output that took them
//! leaves them out (its `Match` becomes a `Match_Regex` with a negative
//! lookahead for metrics-server's tag). Everything else stays as it was.

use crate::edit::{replaced_existing, without};
use crate::plan::{Common, takes, user_kubernetes};
use crate::read::Input;
use crate::{Error, Merged};
use selfscrape_fbconf::tables::ROUTER_MAX_CHARS;
use selfscrape_fbconf::{Document, Section};

/// The `es` output's settings besides Name, Match, Host and Port: the
/// aggregator's elasticsearch input takes the tag back from `Tag_Key`. A
/// connection per flush (`net.keepalive off`): an idle kept-alive connection
/// outlives the aggregator input's idle timeout, which closes it and logs an
/// `[error]` once per scrape cycle. `Retry_Limit 15` rides out an aggregator
/// restart (fluent-bit-conf/aggregator/README.md has the measured outage).
pub const ES_SETTINGS: &[(&str, &str)] = &[
    ("Index", "selfscrape"),
    ("Suppress_Type_Name", "On"),
    ("Include_Tag_Key", "On"),
    ("Tag_Key", "_selfscrape_tag"),
    ("Retry_Limit", "15"),
    ("net.keepalive", "off"),
];

/// Whether an output is the aggregator's `es` output (this command's, or
/// the shipped aggregator ConfigMap's).
fn is_aggregator_output(s: &Section) -> bool {
    s.name() == "es" && s.get("tag_key") == Some("_selfscrape_tag")
}

/// A `Match` wildcard as an Onigmo regex body (`*` any run, the rest
/// literal).
fn wildcard_regex(w: &str) -> String {
    let mut out = String::new();
    for c in w.chars() {
        match c {
            '*' => out.push_str(".*"),
            c if "\\.+?()[]{}|^$#".contains(c) => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// The aggregator's elasticsearch input (fluent-bit-conf/aggregator), the
/// port its pods listen on whatever Service port the router dials.
const AGGREGATOR_PORT: u16 = 9200;

/// What to lock down once the aggregator runs: its port takes records from
/// anyone who reaches it (no authentication, the tag from the request body),
/// and its CloudWatch output writes every tag into its own stream.
fn lock_down() -> [String; 2] {
    [
        format!(
            "aggregator: its port {AGGREGATOR_PORT} takes records from anyone who reaches it, and writes them into CloudWatch Logs under any tag the sender names, with the aggregator's IAM role; the shipped config keeps only metrics-server's tags (its first filter, grep metrics_server_only, in fluent-bit-conf/aggregator/fluent-bit.conf): keep that filter if you change the config"
        ),
        format!(
            "aggregator: let only metrics-server's pods reach port {AGGREGATOR_PORT}: security groups for pods on Fargate (fluent-bit-conf/aggregator/security-group-policy.yaml), a NetworkPolicy where one is enforced (networkpolicy.yaml); fluent-bit-conf/aggregator/README.md, \"Who can write here\""
        ),
    ]
}

/// The user's one output that takes metrics-server's records (index), or
/// why the aggregator variant cannot be used.
fn users_output(outputs: &Document, old: &[usize], tag: &str) -> Result<usize, Error> {
    let mut users = Vec::new();
    for (i, s) in outputs.sections.iter().enumerate() {
        if !old.contains(&i) && s.kind == "output" && takes(s, tag)? {
            users.push(i);
        }
    }
    let at = match users.as_slice() {
        [] => {
            return Err(Error::Refused(
                "none of your outputs takes metrics-server's records: there is nothing to send to the aggregator".into(),
            ));
        }
        [one] => *one,
        more => {
            let names: Vec<String> = more
                .iter()
                .map(|&i| {
                    let s = &outputs.sections[i];
                    format!("{} (output.conf line {})", s.name(), s.line)
                })
                .collect();
            return Err(Error::Refused(format!(
                "{} of your outputs take metrics-server's records ({}); the aggregator delivers them to one CloudWatch Logs group, so the others would lose them: use the router variant (`selfscrape router` without --aggregator), which keeps every output",
                more.len(),
                names.join(", ")
            )));
        }
    };
    let out = &outputs.sections[at];
    if !matches!(out.name().as_str(), "cloudwatch_logs" | "cloudwatch") {
        return Err(Error::Refused(format!(
            "your output that takes metrics-server's records is {} (output.conf line {}); the aggregator delivers to CloudWatch Logs only: use the router variant (`selfscrape router` without --aggregator)",
            out.name(),
            out.line
        )));
    }
    Ok(at)
}

/// The `Match_Regex` that takes what `out` took before except
/// metrics-server's tag.
fn all_but_metrics_server(out: &Section, container: &str) -> String {
    let mut took: Vec<String> = Vec::new();
    if let Some(r) = out.get("match_regex") {
        took.push(r.trim_start_matches('^').to_string());
    }
    if let Some(w) = out.get("match") {
        took.push(wildcard_regex(w));
    }
    let not_ms = format!(r"^(?!kube\..*_{}-)", wildcard_regex(container));
    format!("{not_ms}(?:{})$", took.join("|"))
}

/// `output.conf` with the user's output leaving metrics-server's records
/// to the aggregator (`Match` matches nothing, `Match_Regex` takes the
/// rest) and the aggregator's `es` output in front.
fn edit_outputs(
    outputs: &Document,
    at: usize,
    regex: &str,
    container: &str,
    host: &str,
    port: u16,
) -> String {
    let (oh, ok) = outputs.indents(None);
    let out = &outputs.sections[at];
    let mut edited = outputs.clone();
    let has_regex = out.get("match_regex").is_some();
    for e in out
        .entries
        .iter()
        .filter(|e| e.is("match") || e.is("match_regex"))
    {
        // The entry's line now (an inserted line above moves it).
        let index = edited.sections[at]
            .entries
            .iter()
            .find(|n| n.key == e.key && n.value == e.value)
            .map_or(e.line, |n| n.line)
            - 1;
        let value = if e.is("match") { "zz.never" } else { regex };
        edited.replace_line(index, format!("{ok}{} {value}", e.key));
        if e.is("match") && !has_regex {
            edited.insert_line(index + 1, format!("{ok}Match_Regex {regex}"));
        }
    }
    if out.get("match").is_none() {
        let last = edited.after_entries(at);
        edited.insert_line(last, format!("{ok}Match zz.never"));
    }
    let mut es = format!(
        "{oh}[OUTPUT]\n{ok}Name es\n{ok}Match {}\n{ok}Host {host}\n{ok}Port {port}\n",
        crate::rule::container_match(container)
    );
    for (k, v) in ES_SETTINGS {
        es.push_str(&format!("{ok}{k} {v}\n"));
    }
    let old = edited.indices(is_aggregator_output);
    edited.edited(edited.front(), &es, &old, true)
}

/// The aggregator variant of the merge.
pub fn merge(
    input: &Input,
    common: Common,
    container: &str,
    host: &str,
    port: u16,
) -> Result<Merged, Error> {
    if user_kubernetes(input, &common).is_none() {
        return Err(Error::Refused(
            "none of your filters adds pod metadata (kubernetes.host) to metrics-server's records, and the aggregator's module needs it to tell the pod's own node: use the router variant (`selfscrape router` without --aggregator), which reads it itself".into(),
        ));
    }
    let Common {
        old_filters,
        old_parsers,
        tag,
        mut report,
        ..
    } = common;
    let original = input.with_data(&input.data).chars().count();
    let outputs = &input.outputs;
    let old_outputs = outputs.indices(is_aggregator_output);
    let at = users_output(outputs, &old_outputs, &tag)?;
    let out = &outputs.sections[at];
    let regex = all_but_metrics_server(out, container);
    let data = replaced_existing(
        input,
        vec![
            (
                "output.conf",
                edit_outputs(outputs, at, &regex, container, host, port),
            ),
            ("filters.conf", without(&input.filters, &old_filters)),
            ("parsers.conf", without(&input.parsers, &old_parsers)),
        ],
    );
    if !old_filters.is_empty() || !old_parsers.is_empty() || !old_outputs.is_empty() {
        report.push(format!(
            "replaced what selfscrape had there: {} filters, {} parsers, {} aggregator outputs",
            old_filters.len(),
            old_parsers.len(),
            old_outputs.len()
        ));
    }
    let yaml = input.with_data(&data);
    let chars = yaml.chars().count();
    if chars > ROUTER_MAX_CHARS {
        return Err(Error::Refused(format!(
            "the merged ConfigMap has {chars} characters, {} more than the router's {ROUTER_MAX_CHARS}: shorten your own part (comments, unused keys)",
            chars - ROUTER_MAX_CHARS
        )));
    }
    crate::verify::rules(chars, &data)?;
    Ok(Merged {
        yaml,
        report: report_lines(report, out, &regex, host, port, chars),
        warnings: Vec::new(),
        chars,
        rule_chars: chars.saturating_sub(original),
    })
}

/// What the aggregator variant did, and what is left to do.
fn report_lines(
    mut report: Vec<String>,
    out: &Section,
    regex: &str,
    host: &str,
    port: u16,
    chars: usize,
) -> Vec<String> {
    let field = |k: &str| out.get(k).unwrap_or("(not set)").to_string();
    report.insert(
        0,
        format!(
            "output.conf: an es output in front of your outputs sends metrics-server's records, after your filters, to the aggregator at {host}:{port}"
        ),
    );
    report.insert(
        1,
        format!(
            "output.conf: your {} output (line {}) no longer takes them: Match zz.never, Match_Regex {regex}",
            out.name(),
            out.line
        ),
    );
    report.push(format!(
        "aggregator: set AWS_REGION={}, LOG_GROUP_NAME={}, LOG_STREAM_PREFIX={} in fluent-bit-conf/aggregator/kustomization.yaml, so that the records it keeps land in the same streams",
        field("region"),
        field("log_group_name"),
        field("log_stream_prefix"),
    ));
    report.extend(lock_down());
    report.push(format!(
        "size: {chars} of the router's {ROUTER_MAX_CHARS} characters"
    ));
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_report_says_what_to_lock_down() {
        let opts = crate::Options {
            aggregator: Some((
                "selfscrape-aggregator.kube-system.svc.cluster.local".into(),
                9200,
            )),
            ..crate::Options::default()
        };
        let m = crate::merge(None, &opts).expect("merged");
        let lines = lock_down();
        for line in &lines {
            assert!(m.report.contains(line), "{:?}", m.report);
        }
        // Before the size, the report's last line.
        assert!(m.report.last().unwrap().starts_with("size: "));
        // The report only: nothing of it in the ConfigMap.
        assert!(!m.yaml.contains("metrics_server_only"), "{}", m.yaml);
        // What it names is there.
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../fluent-bit-conf/aggregator");
        let read = |f: &str| std::fs::read_to_string(dir.join(f)).unwrap_or_default();
        assert!(read("fluent-bit.conf").contains("Alias  metrics_server_only"));
        assert!(read("fluent-bit.conf").contains(&format!("Port             {AGGREGATOR_PORT}")));
        assert!(read("README.md").contains("\n## Who can write here\n"));
        assert!(read("security-group-policy.yaml").contains("SecurityGroupPolicy"));
        assert!(read("networkpolicy.yaml").contains("NetworkPolicy"));
    }
}

//! `selfscrape router --aggregator HOST[:PORT]`: the aggregator variant in
//! the user's own ConfigMap. No rule runs in the router: metrics-server's
//! records leave, after the user's own filters, through an `es` output to
//! the selfscrape aggregator (fluent-bit-conf/aggregator/), which runs the
//! module and delivers to CloudWatch Logs; the user's output that took them
//! leaves them out (its `Match` becomes a `Match_Regex` with a negative
//! lookahead for metrics-server's tag). Everything else stays as it was.

use crate::conf::{Conf, Section};
use crate::{Error, Merged, emit, takes};
use selfscrape_check::tables::ROUTER_MAX_CHARS;
use selfscrape_check::yaml::Yaml;

/// What the aggregator variant needs of the merge so far.
pub struct Merge<'a> {
    pub cm: &'a Yaml,
    pub data: &'a [(String, String)],
    pub filters: &'a Conf,
    /// Section indices of an earlier selfscrape rule, removed.
    pub old_filters: &'a [usize],
    pub parsers: &'a Conf,
    pub old_parsers: &'a [usize],
    /// A metrics-server tag under the router's tail.
    pub tag: &'a str,
    pub container: &'a str,
    pub host: &'a str,
    pub port: u16,
    pub report: Vec<String>,
}

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

pub fn merge(m: Merge) -> Result<Merged, Error> {
    let Merge {
        cm,
        data,
        filters,
        old_filters,
        parsers,
        old_parsers,
        tag,
        container,
        host,
        port,
        mut report,
    } = m;
    let get = |k: &str| {
        data.iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
    };
    let original = emit::configmap(cm, data).chars().count();
    let outputs = Conf::parse(get("output.conf").unwrap_or(""));
    let old_outputs = outputs.indices(is_aggregator_output);
    let users: Vec<(usize, &Section)> = outputs
        .sections
        .iter()
        .enumerate()
        .filter(|(i, s)| !old_outputs.contains(i) && s.kind == "OUTPUT" && takes(s, tag))
        .collect();
    let (at, out) = match users.as_slice() {
        [] => {
            return Err(Error::Refused(
                "none of your outputs takes metrics-server's records: there is nothing to send to the aggregator".into(),
            ));
        }
        [one] => *one,
        more => {
            let names: Vec<String> = more
                .iter()
                .map(|(_, s)| format!("{} (output.conf line {})", s.name(), s.line + 1))
                .collect();
            return Err(Error::Refused(format!(
                "{} of your outputs take metrics-server's records ({}); the aggregator delivers them to one CloudWatch Logs group, so the others would lose them: use the router variant (`selfscrape router` without --aggregator), which keeps every output",
                more.len(),
                names.join(", ")
            )));
        }
    };
    if !matches!(out.name().as_str(), "cloudwatch_logs" | "cloudwatch") {
        return Err(Error::Refused(format!(
            "your output that takes metrics-server's records is {} (output.conf line {}); the aggregator delivers to CloudWatch Logs only: use the router variant (`selfscrape router` without --aggregator)",
            out.name(),
            out.line + 1
        )));
    }

    // The user's output leaves metrics-server's records to the aggregator:
    // `Match` (which the router requires) matches nothing, `Match_Regex`
    // takes what it took before except metrics-server's tag.
    let mut took: Vec<String> = Vec::new();
    if let Some(r) = out.get("match_regex") {
        took.push(r.trim_start_matches('^').to_string());
    }
    if let Some(w) = out.get("match") {
        took.push(wildcard_regex(w));
    }
    let not_ms = format!(r"^(?!kube\..*_{}-)", wildcard_regex(container));
    let regex = format!("{not_ms}(?:{})$", took.join("|"));
    let (oh, ok) = outputs.indents(None);
    let mut edited = outputs.clone();
    let mut inserted = 0;
    for (key, line) in out
        .entries
        .iter()
        .filter(|(k, _, _)| k == "match" || k == "match_regex")
        .map(|(k, _, l)| (k.clone(), *l))
        .collect::<Vec<_>>()
    {
        let raw = outputs.lines[line].trim_start();
        let written = &raw[..key.len()];
        edited.lines[line + inserted] = format!(
            "{ok}{written} {}",
            if key == "match" { "zz.never" } else { &regex }
        );
        if key == "match" && out.get("match_regex").is_none() {
            edited
                .lines
                .insert(line + 1, format!("{ok}Match_Regex {regex}"));
            inserted += 1;
        }
    }
    if out.get("match").is_none() {
        let last = out.entries.last().map_or(out.line, |(_, _, l)| *l);
        edited
            .lines
            .insert(last + 1 + inserted, format!("{ok}Match zz.never"));
    }
    let edited = Conf::parse(&edited.lines.join("\n"));
    let es = {
        let mut s = format!(
            "{oh}[OUTPUT]\n{ok}Name es\n{ok}Match {}\n{ok}Host {host}\n{ok}Port {port}\n",
            crate::rule::container_match(container)
        );
        for (k, v) in ES_SETTINGS {
            s.push_str(&format!("{ok}{k} {v}\n"));
        }
        s
    };
    let old_now = edited.indices(is_aggregator_output);
    let otext = edited.edited(edited.front(), &es, &old_now, true);
    let mut data = data.to_vec();
    let strip = |c: &Conf, drop: &[usize]| c.edited(c.lines.len(), "", drop, true);
    for (key, text) in [
        ("output.conf", otext),
        ("filters.conf", strip(filters, old_filters)),
        ("parsers.conf", strip(parsers, old_parsers)),
    ] {
        if let Some(e) = data.iter_mut().find(|(k, _)| k == key) {
            e.1 = text;
        }
    }
    if !old_filters.is_empty() || !old_parsers.is_empty() || !old_outputs.is_empty() {
        report.push(format!(
            "replaced what selfscrape had there: {} filters, {} parsers, {} aggregator outputs",
            old_filters.len(),
            old_parsers.len(),
            old_outputs.len()
        ));
    }
    let yaml = emit::configmap(cm, &data);
    let chars = yaml.chars().count();
    if chars > ROUTER_MAX_CHARS {
        return Err(Error::Refused(format!(
            "the merged ConfigMap has {chars} characters, {} more than the router's {ROUTER_MAX_CHARS}: shorten your own part (comments, unused keys)",
            chars - ROUTER_MAX_CHARS
        )));
    }
    crate::verify(&yaml)?;
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
            at + 1
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
    Ok(Merged {
        yaml,
        report,
        warnings: Vec::new(),
        chars,
        rule_chars: chars.saturating_sub(original),
    })
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

//! The findings: for a Fluent Bit config (keys by version, the wasm filter
//! and its module, scoping, the node the module compares with), for the
//! router's ConfigMap, and for images in manifests.

use super::route::{self as route, Route};
use super::{Finding, Options, Severity, Target, image_tag, router};
use selfscrape_fbconf::Section;
use selfscrape_fbconf::config::{Config, expand};
use selfscrape_fbconf::tables::{
    self, ES_INPUT_IDLE_TIMEOUT, ES_INPUT_IDLE_TIMEOUT_SINCE, ImageFluentBit,
    KEEPALIVE_IDLE_TIMEOUT, KEEPALIVE_SLACK, Known, LEAKY_HOSTS, PROPERTY_ERROR_FATAL_SINCE,
    REWRITE_TAG_EMITTER_BUFFER, REWRITE_TAG_KEEPS_ON_ERROR_SINCE, REWRITE_TAG_PAUSES_INPUT_SINCE,
    Version, image_fluent_bit, key_known, plugin_known,
};
use selfscrape_fbconf::tag::{APP_TAG, METRICS_SERVER_TAG};
use selfscrape_fbconf::yaml::Yaml;
use std::path::Path;

mod wasm_module;

fn finding(
    p: &Section,
    line: usize,
    severity: Severity,
    code: &'static str,
    message: String,
    fix: impl Into<String>,
) -> Finding {
    Finding {
        file: p.file.clone(),
        line: Some(line),
        severity,
        code,
        message,
        fix: fix.into(),
    }
}

/// The first tabulated version that knows `key` in `scope`.
fn key_since(scope: &str, key: &str) -> Option<Version> {
    tables::tabulated_from(Version(0, 0, 0))
        .into_iter()
        .find(|v| key_known(scope, key, *v) == Known::Yes)
}

fn list(vs: &[Version]) -> String {
    vs.iter()
        .map(Version::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The values `log_level` takes (flb_log_get_level_str, case-insensitive:
/// the same list in 1.9.10 and 5.1.1).
const LOG_LEVELS: &[&str] = &["off", "error", "warn", "warning", "info", "debug", "trace"];

/// A plugin's `log_level` that Fluent Bit cannot read: its set_property
/// fails, and from 4.0.3 Fluent Bit does not start (before, it logs an
/// error and starts). Found by running Fluent Bit 5.1.1's own test configs
/// through its --dry-run.
fn check_log_levels(config: &Config, target: &Target, out: &mut Vec<Finding>) {
    let versions = target.versions();
    let fatal: Vec<Version> = versions
        .iter()
        .copied()
        .filter(|v| *v >= PROPERTY_ERROR_FATAL_SINCE)
        .collect();
    for p in &config.plugins {
        if !matches!(p.kind.as_str(), "input" | "filter" | "output") {
            continue;
        }
        for prop in p.entries.iter().filter(|prop| prop.is("log_level")) {
            let v = prop.value.trim();
            if v.contains("${") || LOG_LEVELS.iter().any(|l| l.eq_ignore_ascii_case(v)) {
                continue;
            }
            let what = format!(
                "log_level {v} is none of off, error, warn, info, debug, trace: Fluent Bit cannot configure the {} plugin {}",
                p.kind,
                p.name()
            );
            let (severity, message) = if !fatal.is_empty() {
                (
                    Severity::Error,
                    format!("{what}, and Fluent Bit {} will not start", list(&fatal)),
                )
            } else if versions.is_empty() {
                (
                    Severity::Warning,
                    format!(
                        "{what}: from Fluent Bit 4.0.3 it will not start (before, it logs an error and starts)"
                    ),
                )
            } else {
                (
                    Severity::Warning,
                    format!(
                        "{what}: Fluent Bit {} logs an error and starts (from 4.0.3 it would not start)",
                        list(&versions)
                    ),
                )
            };
            out.push(finding(
                p,
                prop.line,
                severity,
                "log-level-invalid",
                message,
                "write one of off, error, warn, info, debug, trace",
            ));
        }
    }
}

/// Sections and keys the target versions do not know.
fn check_versions(config: &Config, target: &Target, out: &mut Vec<Finding>) {
    let versions = target.versions();
    if versions.is_empty() {
        return;
    }
    for p in &config.plugins {
        // Sections ([SERVICE]: Fluent Bit starts with any key there) and
        // parsers are not judged.
        let scope = match p.kind.as_str() {
            "input" | "filter" | "output" => format!("{}:{}", p.kind, p.name()),
            _ => continue,
        };
        let missing: Vec<Version> = versions
            .iter()
            .copied()
            .filter(|v| plugin_known(&scope, *v) == Known::No)
            .collect();
        if !missing.is_empty() {
            let since = tables::PLUGINS
                .iter()
                .find(|(s, _, _)| *s == scope)
                .map_or("", |(_, s, _)| *s);
            out.push(finding(
                p,
                p.line_of("name"),
                Severity::Error,
                "unknown-plugin",
                format!(
                    "Fluent Bit {} has no {} plugin {}: it will not start",
                    list(&missing),
                    p.kind,
                    p.name()
                ),
                format!("run Fluent Bit {since} or later (an aws-for-fluent-bit 3.x image)"),
            ));
            continue;
        }
        if versions
            .iter()
            .all(|v| plugin_known(&scope, *v) == Known::NotTabulated)
        {
            continue;
        }
        for entry in &p.entries {
            // Messages name keys as Fluent Bit compares them.
            let key = entry.key.to_ascii_lowercase();
            if key == "name" {
                continue;
            }
            let mut unknown = Vec::new();
            let mut doubts = Vec::new();
            for v in &versions {
                match key_known(&scope, &key, *v) {
                    Known::No => unknown.push(*v),
                    Known::Doubt(why) => doubts.push(why),
                    Known::Yes | Known::NotTabulated => {}
                }
            }
            if !unknown.is_empty() {
                let fix = match key_since(&scope, &key) {
                    Some(since) => format!(
                        "remove {}, or run Fluent Bit {since} or later, where it exists",
                        key
                    ),
                    None => format!("remove {} (no tabulated Fluent Bit knows it: a typo?)", key),
                };
                out.push(finding(
                    p,
                    entry.line,
                    Severity::Error,
                    "unknown-key",
                    format!(
                        "Fluent Bit {} does not know the {scope} key {}: it will not start",
                        list(&unknown),
                        key
                    ),
                    fix,
                ));
            } else if let Some(why) = doubts.first() {
                out.push(finding(
                    p,
                    entry.line,
                    Severity::Warning,
                    "version-doubt",
                    format!(
                        "whether this Fluent Bit knows the {scope} key {} is not tabulated: {why}",
                        key
                    ),
                    "check the key in the documentation of your exact version, or target a tabulated version (docs/check.md)",
                ));
            }
        }
    }
}

/// A Fluent Bit time value (`30`, `30s`, `1m`, `2h`, `1d`) in seconds.
fn seconds(value: &str) -> Option<u64> {
    let v = value.trim().to_ascii_lowercase();
    let (n, unit) = match v.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => v.split_at(i),
        None => (v.as_str(), ""),
    };
    let n: u64 = n.parse().ok()?;
    let unit = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86400,
        _ => return None,
    };
    Some(n * unit)
}

/// A Fluent Bit boolean; `None` when it is none.
fn boolean(value: &str) -> Option<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "on" | "true" | "yes" | "1" => Some(true),
        "off" | "false" | "no" | "0" => Some(false),
        _ => None,
    }
}

/// Whether an `es` output sends to the selfscrape aggregator: its Host
/// names it, it hands the tag over as the aggregator's input reads it
/// (`Tag_Key _selfscrape_tag`), or it takes metrics-server's records and no
/// application's (the routing of `fluent-bit-conf/aggregator/aws-logging.yaml`)
/// without signing its requests for Amazon OpenSearch (`AWS_Auth On`: a
/// domain, not the aggregator).
fn to_aggregator(p: &Section) -> bool {
    let m = Route::of(p);
    p.get("host")
        .is_some_and(|h| h.to_ascii_lowercase().contains("selfscrape-aggregator"))
        || p.get("tag_key") == Some("_selfscrape_tag")
        || (m.matches(METRICS_SERVER_TAG)
            && !m.matches(APP_TAG)
            && p.get("aws_auth").and_then(boolean) != Some(true))
}

/// How long an output keeps an idle connection open, in seconds (with the
/// engine's slack); `None` without keep-alive.
fn keepalive_seconds(p: &Section) -> Option<u64> {
    if p.get("net.keepalive").and_then(boolean) == Some(false) {
        return None;
    }
    let idle = p
        .get("net.keepalive_idle_timeout")
        .map_or(Some(KEEPALIVE_IDLE_TIMEOUT), seconds)?;
    Some(idle + KEEPALIVE_SLACK)
}

/// `es` outputs to the aggregator that keep an idle connection open longer
/// than an aggregator on Fluent Bit 5.0.6+ allows by default: it closes
/// the connection and logs an `[error]`, once per metrics-server cycle.
fn check_es_keepalive(plugins: &[Section], out: &mut Vec<Finding>) {
    for p in plugins
        .iter()
        .filter(|p| p.is("output", "es") && to_aggregator(p))
    {
        let Some(open) = keepalive_seconds(p) else {
            continue;
        };
        if open <= ES_INPUT_IDLE_TIMEOUT {
            continue;
        }
        let how = match p.get("net.keepalive_idle_timeout") {
            Some(v) => format!("net.keepalive_idle_timeout {v}"),
            None => format!("{KEEPALIVE_IDLE_TIMEOUT} s, the default net.keepalive_idle_timeout"),
        };
        let line = p
            .entry("net.keepalive_idle_timeout")
            .map_or(p.line, |k| k.line);
        out.push(finding(
            p,
            line,
            Severity::Warning,
            "aggregator-keepalive",
            format!(
                "this es output keeps an idle connection to the aggregator open ({how}); an aggregator on Fluent Bit {ES_INPUT_IDLE_TIMEOUT_SINCE} or later (aws-for-fluent-bit 3.4.4 or later) closes it after {ES_INPUT_IDLE_TIMEOUT} s unless its input sets a longer net.io_timeout, and logs `[error] [downstream] connection #N from ... timed out after {ES_INPUT_IDLE_TIMEOUT} seconds (IO timeout)`: one error line per metrics-server scrape cycle, which its own log router ships to CloudWatch"
            ),
            "add `net.keepalive off` to this output (Fluent Bit 1.9.10 and later; a connection per flush costs nothing at metrics-server's rate), as fluent-bit-conf/aggregator/aws-logging.yaml does",
        ));
    }
}

/// How long an `elasticsearch` input lets a connection idle at `v`, in
/// seconds; `None` when it never closes one.
fn es_input_idle_seconds(p: &Section, v: Version) -> Option<u64> {
    if let Some(t) = p.get("net.io_timeout").and_then(seconds).filter(|t| *t > 0) {
        return Some(t);
    }
    if v < ES_INPUT_IDLE_TIMEOUT_SINCE {
        return None;
    }
    match p.get("http_server.idle_timeout") {
        Some(t) => seconds(t).filter(|t| *t > 0),
        None => Some(ES_INPUT_IDLE_TIMEOUT),
    }
}

/// `elasticsearch` inputs (the aggregator's) that close idle connections
/// before a router's `es` output with the default keep-alive gives them up.
fn check_es_input_timeout(config: &Config, target: &Target, out: &mut Vec<Finding>) {
    let versions = target.versions();
    for p in config
        .plugins
        .iter()
        .filter(|p| p.is("input", "elasticsearch"))
    {
        let short: Vec<(Version, u64)> = versions
            .iter()
            .filter_map(|v| Some((*v, es_input_idle_seconds(p, *v)?)))
            .filter(|(_, t)| *t < KEEPALIVE_IDLE_TIMEOUT + KEEPALIVE_SLACK)
            .collect();
        let Some((_, t)) = short.first() else {
            continue;
        };
        let line = p
            .entry("net.io_timeout")
            .or_else(|| p.entry("http_server.idle_timeout"))
            .map_or(p.line, |k| k.line);
        out.push(finding(
            p,
            line,
            Severity::Warning,
            "aggregator-keepalive",
            format!(
                "on Fluent Bit {}, this elasticsearch input closes a connection idle for {t} s and logs `[error] [downstream] connection #N from ... timed out after {t} seconds (IO timeout)`; a router's es output keeps one idle for {KEEPALIVE_IDLE_TIMEOUT} s by default: one error line per metrics-server scrape cycle, which this Fluent Bit's own log router ships to CloudWatch",
                list(&short.iter().map(|(v, _)| *v).collect::<Vec<_>>())
            ),
            "set `net.io_timeout 60s` on this input (longer than any router's keep-alive), and `net.keepalive off` on the router's es output, as fluent-bit-conf/aggregator does",
        ));
    }
}

/// The tag a sender who reaches the aggregator's port gives its record to
/// land in another pod's stream: an application's container log.
pub const FORGED_TAG: &str = "kube.var.log.containers.payments-7d9f8b6c5d-x2x9p_shop_api-9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08.log";

/// The shipped aggregator's first filter (fluent-bit-conf/aggregator/
/// fluent-bit.conf, grep `metrics_server_only`): keeps a record only when
/// its tag key names a container log of metrics-server.
pub const AGGREGATOR_GREP_REGEX: &str = r"\Akube\.var\.log\.containers\.metrics-server-[a-z0-9.-]*_kube-system_metrics-server-[0-9a-f]{64}\.log\z";

/// How a grep rule judges a probe record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Seen {
    Match,
    NoMatch,
    /// The sender decides: a key it writes itself (not the tag key), or a
    /// regex the check cannot read exactly as Onigmo does.
    Chosen,
}

/// Whether a grep filter keeps a record whose tag key (`tag_key`, `None`
/// when the input has none) holds `value` (`None`: absent), when the sender
/// writes the rest of the record. filter_grep (1.9.10 to 5.1.1): each
/// `Regex`/`Exclude` is `KEY REGEX` (split at the first space, KEY read as
/// `$KEY`), REGEX searched in the value (onig_search) of a key that must
/// exist; by default (`Logical_Op legacy`) the first rule that decides wins
/// (a Regex that matches keeps, one that does not drops, an Exclude that
/// matches drops); `Logical_Op and`/`or` combine rules of one kind.
fn grep_keeps(f: &Section, tag_key: Option<&str>, value: Option<&str>) -> bool {
    let rules: Vec<(bool, Seen)> = f
        .entries
        .iter()
        .filter(|p| p.is("regex") || p.is("exclude"))
        .filter_map(|p| {
            let (key, re) = p.value.trim().split_once(' ')?;
            let key = key.strip_prefix('$').unwrap_or(key);
            let seen = if tag_key != Some(key) {
                Seen::Chosen
            } else {
                match value {
                    None => Seen::NoMatch,
                    Some(v) => match route::search(re.trim(), v) {
                        None => Seen::Chosen,
                        Some(true) => Seen::Match,
                        Some(false) => Seen::NoMatch,
                    },
                }
            };
            Some((p.is("regex"), seen))
        })
        .collect();
    // What the sender picks: a Regex that matches, an Exclude that does not.
    let matched = |(regex, seen): (bool, Seen)| match seen {
        Seen::Match => true,
        Seen::NoMatch => false,
        Seen::Chosen => regex,
    };
    let op = f.get("logical_op").map(str::to_ascii_lowercase);
    match (op.as_deref(), rules.first()) {
        (_, None) => true,
        (Some("and" | "or"), Some((regex, _))) => {
            let found = if op.as_deref() == Some("and") {
                rules.iter().all(|r| matched(*r))
            } else {
                rules.iter().any(|r| matched(*r))
            };
            if *regex { found } else { !found }
        }
        _ => {
            for r in &rules {
                let m = matched(*r);
                if r.0 {
                    return m;
                }
                if m {
                    return false;
                }
            }
            true
        }
    }
}

/// The CloudWatch output a record with `tag` (and `value` in the tag key)
/// reaches after the grep filters, in order; `None` when one drops it. A
/// grep filter whose Match_Regex the check cannot read exactly is taken not
/// to apply (not to drop).
fn reaches_cloudwatch<'a>(
    config: &'a Config,
    tag: &str,
    tag_key: Option<&str>,
    value: Option<&str>,
) -> Option<&'a Section> {
    for f in config.plugins.iter().filter(|f| f.is("filter", "grep")) {
        let m = Route::of(f);
        if m.matches(tag) && m.refused().is_none() && !grep_keeps(f, tag_key, value) {
            return None;
        }
    }
    config.plugins.iter().find(|o| {
        (o.is("output", "cloudwatch_logs") || o.is("output", "cloudwatch"))
            && Route::of(o).matches(tag)
    })
}

/// `Match X` / `Match_Regex Y` of a plugin, for messages.
fn routing(p: &Section) -> String {
    match (p.get("match"), p.get("match_regex")) {
        (Some(w), Some(r)) => format!("Match {w}, Match_Regex {r}"),
        (Some(w), None) => format!("Match {w}"),
        (None, Some(r)) => format!("Match_Regex {r}"),
        (None, None) => "no Match".into(),
    }
}

/// An aggregator (an `elasticsearch` input, a CloudWatch output) that
/// delivers records under tags other than metrics-server's: whoever reaches
/// its port writes into any stream. Decided by sending probes through the
/// grep filters and the outputs' Match: a record whose tag key names an
/// application's log, and one without the tag key; a metrics-server record
/// must still arrive (a config that drops those too has another problem).
fn check_aggregator_open(config: &Config, out: &mut Vec<Finding>) {
    let inputs: Vec<&Section> = config
        .plugins
        .iter()
        .filter(|p| p.kind == "input")
        .collect();
    for (index, p) in inputs.iter().enumerate() {
        if p.name() != "elasticsearch" {
            continue;
        }
        // Without Tag, an input's records are tagged with its instance name.
        let default_tag = format!("elasticsearch.{index}");
        let tag = p.get("tag").unwrap_or(&default_tag);
        let key = p.get("tag_key");
        let port = p.get("port").unwrap_or("9200");
        if key.is_some()
            && reaches_cloudwatch(config, METRICS_SERVER_TAG, key, Some(METRICS_SERVER_TAG))
                .is_none()
        {
            continue;
        }
        let forged =
            key.and_then(|_| reaches_cloudwatch(config, FORGED_TAG, key, Some(FORGED_TAG)));
        let untagged = reaches_cloudwatch(config, tag, key, None);
        let key_name = key.unwrap_or("_selfscrape_tag");
        let message = match (forged, untagged) {
            (None, None) => continue,
            (Some(o), untagged) => format!(
                "anyone who reaches port {port} can write any line into another pod's CloudWatch Logs stream, with the aggregator's IAM role: this elasticsearch input tags each record with its {key_name}, and a record whose {key_name} is {FORGED_TAG} passes every filter to the {} output ({}), which writes it into the stream named after that tag{}",
                o.name(),
                routing(o),
                match untagged {
                    Some(_) => format!("; a record without {key_name} arrives too, as {tag}"),
                    None => String::new(),
                }
            ),
            (None, Some(o)) => format!(
                "anyone who reaches port {port} can write any line into the CloudWatch Logs stream of {tag}, with the aggregator's IAM role: a record {} gets that tag from this elasticsearch input and passes every filter to the {} output ({})",
                if key.is_some() {
                    format!("without {key_name}")
                } else {
                    "of any body".into()
                },
                o.name(),
                routing(o)
            ),
        };
        out.push(finding(
            p,
            p.line,
            Severity::Warning,
            "aggregator-open",
            message,
            format!(
                "keep only metrics-server's tags before any output, as fluent-bit-conf/aggregator/fluent-bit.conf does (its first filter: grep, Match *, Regex {key_name} {AGGREGATOR_GREP_REGEX}), and let only metrics-server's pods reach port {port}: security groups for pods on Fargate, a NetworkPolicy elsewhere (fluent-bit-conf/aggregator/README.md, \"Who can write here\")"
            ),
        ));
    }
}

/// Whether a filter is one of selfscrape's router rule's (its markers).
fn is_selfscrape(p: &Section) -> bool {
    p.entries
        .iter()
        .any(|x| router::is_selfscrape_value(&x.value))
}

/// The user's own rewrite_tag rules with `keep false`: on a Fluent Bit
/// before 5.0.9, a record the emitter cannot take (its buffer full) is lost,
/// copy and original. `router`: the Fargate router's ConfigMap, whose Fluent
/// Bit is AWS's (1.9.10 possibly) unless a header names it. selfscrape's own
/// rule is reported by `selfscrape router`.
fn check_rewrite_tag_drops(
    plugins: &[Section],
    target: &Target,
    router: bool,
    out: &mut Vec<Finding>,
) {
    let versions = target.versions();
    let old: Vec<Version> = versions
        .iter()
        .copied()
        .filter(|v| *v < REWRITE_TAG_KEEPS_ON_ERROR_SINCE)
        .collect();
    const SENDING: &str = "the input keeps sending, so every record the rule matches is lost while the buffer stays full";
    const PAUSED: &str = "the input is paused with the emitter, but the records already on their way through the filter are lost";
    let (who, how) = if !old.is_empty() {
        let paused = old
            .iter()
            .filter(|v| **v >= REWRITE_TAG_PAUSES_INPUT_SINCE)
            .count();
        let how = if paused == 0 {
            SENDING.to_string()
        } else if paused == old.len() {
            PAUSED.to_string()
        } else {
            format!(
                "before {REWRITE_TAG_PAUSES_INPUT_SINCE} {SENDING}; from {REWRITE_TAG_PAUSES_INPUT_SINCE} {PAUSED}"
            )
        };
        (format!("Fluent Bit {}", list(&old)), how)
    } else if router && versions.is_empty() {
        (
            "the router's Fluent Bit (AWS's, which may be 1.9.10)".to_string(),
            format!("on 1.9.10 {SENDING}"),
        )
    } else {
        return;
    };
    let keeps = |k: &str| {
        ["true", "on", "yes"]
            .iter()
            .any(|t| t.eq_ignore_ascii_case(k))
    };
    for p in plugins
        .iter()
        .filter(|p| p.is("filter", "rewrite_tag") && !is_selfscrape(p))
    {
        let limit = match p.get("emitter_mem_buf_limit") {
            Some(l) => format!("Emitter_Mem_Buf_Limit {l}"),
            None => format!("Emitter_Mem_Buf_Limit, {REWRITE_TAG_EMITTER_BUFFER} by default"),
        };
        for rule in p.entries.iter().filter(|r| r.is("rule")) {
            let words: Vec<&str> = rule.value.split_whitespace().collect();
            let Some(keep) = words.last().filter(|_| words.len() >= 4) else {
                continue;
            };
            if keeps(keep) || keep.contains("${") {
                continue;
            }
            let fix = if router {
                "`keep true` where the record may also stay under its old tag (delivered twice: the original and the copy), or a larger Emitter_Mem_Buf_Limit (more memory)".to_string()
            } else {
                format!(
                    "`keep true` where the record may also stay under its old tag (delivered twice: the original and the copy), or a larger Emitter_Mem_Buf_Limit (more memory), or Fluent Bit {REWRITE_TAG_KEEPS_ON_ERROR_SINCE} or later, which keeps a record it cannot re-emit under its old tag"
                )
            };
            out.push(finding(
                p,
                rule.line,
                Severity::Warning,
                "rewrite-tag-drops",
                format!(
                    "rewrite_tag rule `{}` removes the original record (keep {keep}): under an output outage with a burst larger than the emitter's buffer ({limit}), {who} drops the records it cannot re-emit, neither the copy nor the original is delivered ({how})",
                    rule.value
                ),
                fix,
            ));
        }
    }
}

/// Everything about one Fluent Bit config.
pub fn check_config(config: &Config, target: &Target, opts: &Options, out: &mut Vec<Finding>) {
    check_versions(config, target, out);
    check_log_levels(config, target, out);
    check_es_keepalive(&config.plugins, out);
    check_es_input_timeout(config, target, out);
    check_aggregator_open(config, out);
    check_rewrite_tag_drops(&config.plugins, target, false, out);
    let wasm: Vec<(usize, &Section)> = config
        .plugins
        .iter()
        .enumerate()
        .filter(|(_, p)| p.is("filter", "wasm"))
        .collect();
    if wasm.is_empty() {
        return;
    }
    // An unknown image already said so.
    if *target == Target::Unknown && !out.iter().any(|f| f.code == "image-unknown") {
        let p = wasm[0].1;
        out.push(finding(
            p,
            p.line,
            Severity::Warning,
            "version-unknown",
            "no Fluent Bit version named: keys, the leaky hosts and reference types were not checked".into(),
            "pass --fluent-bit VERSION or --image aws-for-fluent-bit:TAG (or add a `# fluent-bit: X.Y.Z` header)",
        ));
    }
    if let Target::Exact(v) = target {
        if LEAKY_HOSTS.contains(&v.to_string().as_str()) {
            let p = wasm[0].1;
            out.push(finding(
                p,
                p.line,
                Severity::Error,
                "wasm-leaky-host",
                format!(
                    "Fluent Bit {v} (aws-for-fluent-bit 3.0.0/3.0.1) never frees the copies of tag and record it makes for every wasm call: memory grows with every record until the container is killed (measured {})",
                    crate::figures::LEAKY_HOST_GROWTH
                ),
                "run Fluent Bit 4.1.2 or later (aws-for-fluent-bit 3.0.2 or later)",
            ));
        }
    }
    for (i, p) in wasm {
        check_wasm_filter(config, i, p, target, opts, out);
    }
}

fn check_wasm_filter(
    config: &Config,
    index: usize,
    p: &Section,
    target: &Target,
    opts: &Options,
    out: &mut Vec<Finding>,
) {
    if let Some(fmt) = p.get("event_format") {
        if fmt.eq_ignore_ascii_case("msgpack") {
            out.push(finding(
                p,
                p.line_of("event_format"),
                Severity::Error,
                "wasm-msgpack-format",
                "Event_Format msgpack: Fluent Bit cuts every reply at its first 0x00 byte, which most msgpack records contain, so kept records are truncated and corrupt the ones after them".into(),
                "remove Event_Format or set it to json",
            ));
        }
    }
    check_scope(config, index, p, out);
    check_node_source(config, index, p, out);
    let function = p.get("function_name");
    if function.is_none() {
        out.push(finding(
            p,
            p.line,
            Severity::Error,
            "wasm-function-missing",
            "no Function_Name: Fluent Bit has no function to call".into(),
            "add `Function_Name drop_self_scrape` (or mark_self_scrape for a dry run)",
        ));
    }
    let Some(path) = p.get("wasm_path") else {
        out.push(finding(
            p,
            p.line,
            Severity::Error,
            "wasm-path-missing",
            "no WASM_Path: Fluent Bit has no module to load".into(),
            "add `WASM_Path /absolute/path/selfscrape_filter.wasm`",
        ));
        return;
    };
    let line = p.line_of("wasm_path");
    let expanded = expand(path, &config.vars, &opts.env);
    match &expanded {
        Some(e) if !e.starts_with('/') => out.push(finding(
            p,
            line,
            Severity::Error,
            "wasm-path-relative",
            format!("WASM_Path {path} is relative: Fluent Bit resolves it against its working directory, which is not the config's"),
            "use an absolute path",
        )),
        None if opts.wasm.is_none() => out.push(finding(
            p,
            line,
            Severity::Warning,
            "wasm-path-unresolved",
            format!("WASM_Path {path} uses a variable that is not set here: the module was not checked"),
            "set the variable, or pass --wasm with the module you deploy",
        )),
        _ => {}
    }
    let (file, given) = match (&opts.wasm, &expanded) {
        (Some(w), _) => (w.clone(), true),
        (None, Some(e)) => (e.into(), false),
        (None, None) => return,
    };
    let bytes = match std::fs::read(&file) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::Unsupported => {
            out.push(wasm_module::unreadable_here(p, line, &file));
            return;
        }
        Err(e) => {
            let (severity, fix) = if given {
                (Severity::Error, "pass --wasm a module file that exists")
            } else {
                (
                    Severity::Error,
                    "build the module there, or, for a config deployed elsewhere, pass --wasm with the module file you deploy",
                )
            };
            out.push(finding(
                p,
                line,
                severity,
                "wasm-path-missing",
                format!("the module {} cannot be read: {e}", file.display()),
                fix,
            ));
            return;
        }
    };
    wasm_module::check(p, &bytes, function, target, out);
}

/// `Match *`, or a Match that takes application logs.
fn check_scope(config: &Config, _index: usize, p: &Section, out: &mut Vec<Finding>) {
    let _ = config;
    let (w, r) = (p.get("match"), p.get("match_regex"));
    if w.is_none() && r.is_none() {
        out.push(finding(
            p,
            p.line,
            Severity::Warning,
            "wasm-no-match",
            "no Match or Match_Regex: the filter gets no record, so nothing is dropped".into(),
            "add `Match` with metrics-server's tag",
        ));
        return;
    }
    let m = Route::new(w, r);
    if m.matches(APP_TAG) {
        let how = match (w, r) {
            (Some(w), _) => format!("Match {w}"),
            (None, Some(r)) => format!("Match_Regex {r}"),
            (None, None) => String::new(),
        };
        let line = p.line_of(if w.is_some() { "match" } else { "match_regex" });
        out.push(finding(
            p,
            line,
            Severity::Warning,
            "wasm-match-wide",
            format!(
                "{how} sends application logs through the module (e.g. {APP_TAG}): {}",
                crate::figures::wasm_cost()
            ),
            "match only metrics-server's tag, e.g. `Match kube.var.log.containers.metrics-server-*`",
        ));
    }
}

/// The top-level keys a filter puts into records.
fn added_keys(p: &Section) -> Vec<String> {
    let mut keys = Vec::new();
    if p.is("filter", "modify") {
        for k in ["add", "set", "hard_copy", "copy", "rename", "hard_rename"] {
            for v in p.all(k) {
                let mut parts = v.split_whitespace();
                let first = parts.next().unwrap_or("");
                let target = if k.contains("copy") || k.contains("rename") {
                    parts.next().unwrap_or("")
                } else {
                    first
                };
                keys.push(target.to_string());
            }
        }
    }
    if p.is("filter", "record_modifier") {
        for v in p.all("record") {
            keys.push(v.split_whitespace().next().unwrap_or("").to_string());
        }
    }
    keys
}

/// The keys a plain line (a tail input without a parser) gets under
/// `kubernetes` from the filters before the module; `None` when a
/// kubernetes filter adds the whole map.
fn kubernetes_keys(filters: &[&Section]) -> Option<Vec<String>> {
    let mut flat: Vec<String> = Vec::new();
    let mut nested: Vec<String> = Vec::new();
    for f in filters {
        if f.is("filter", "kubernetes") {
            return None;
        }
        flat.extend(added_keys(f));
        if f.is("filter", "nest")
            && f.get("operation")
                .is_some_and(|o| o.eq_ignore_ascii_case("nest"))
            && f.get("nest_under") == Some("kubernetes")
        {
            let wildcards = f.all("wildcard");
            let prefix = f.get("remove_prefix").unwrap_or("");
            let (moved, kept): (Vec<String>, Vec<String>) = flat.into_iter().partition(|k| {
                wildcards
                    .iter()
                    .any(|w| selfscrape_fbconf::tag::wildcard(w, k))
            });
            nested.extend(
                moved
                    .into_iter()
                    .map(|k| k.strip_prefix(prefix).unwrap_or(&k).to_string()),
            );
            flat = kept;
        }
    }
    Some(nested)
}

/// The node the module compares with: `kubernetes.host`, or the
/// `kubernetes.pod_ip` fallback.
fn check_node_source(config: &Config, index: usize, p: &Section, out: &mut Vec<Finding>) {
    let m = Route::of(p);
    for input in config.plugins.iter().filter(|i| i.kind == "input") {
        // Only plain lines: a tail input without a parser. Other inputs
        // (the router's es output, forward, a JSON parser) bring records
        // whose keys this check cannot see.
        if input.name() != "tail" || input.get("parser").is_some() {
            continue;
        }
        let tag = input
            .get("tag")
            .unwrap_or("tail.0")
            .replace('*', "var.log.x.log");
        if !m.matches(&tag) {
            continue;
        }
        let before: Vec<&Section> = config.plugins[..index]
            .iter()
            .filter(|f| f.kind == "filter" && Route::of(f).matches(&tag))
            .collect();
        let Some(keys) = kubernetes_keys(&before) else {
            continue;
        };
        if keys.iter().any(|k| k == "host") || keys.iter().any(|k| k == "pod_ip") {
            continue;
        }
        let path = input.get("path").unwrap_or("?");
        if keys.is_empty() {
            out.push(finding(
                p,
                p.line,
                Severity::Warning,
                "no-kubernetes-host",
                format!(
                    "records of the tail input on {path} (tag {tag}) reach the module without kubernetes.host: it cannot tell the pod's own node, so it drops nothing"
                ),
                "add the node before the module, as the shipped sidecar does: a modify filter with `Add k8s_host ${NODE_NAME}` (NODE_NAME from the downward API, spec.nodeName) and a nest filter (Operation nest, Wildcard k8s_*, Nest_under kubernetes, Remove_prefix k8s_)",
            ));
        } else {
            out.push(finding(
                p,
                p.line,
                Severity::Warning,
                "pod-ip-fallback",
                format!(
                    "records of the tail input on {path} (tag {tag}) get a kubernetes map ({}) without host, so the module falls back to kubernetes.pod_ip, which they do not have either: it drops nothing",
                    keys.join(", ")
                ),
                "add `k8s_host ${NODE_NAME}` (or at least `k8s_pod_ip ${POD_IP}`, from status.podIP) to the keys nested under kubernetes",
            ));
        }
    }
}

/// The router's ConfigMap.
pub fn check_router(path: &Path, text: &str, doc: &Yaml, target: &Target, out: &mut Vec<Finding>) {
    for issue in router::router_rules(text, doc) {
        let fix = match issue.code {
            "router-too-long" => "shorten the ConfigMap (comments count too)",
            "router-env" => "write the value itself: the router expands no variables",
            "router-filter-not-allowed" => {
                "the router takes only grep, parser, record_modifier, rewrite_tag, throttle, nest, modify and kubernetes: run other filters (wasm) in a Fluent Bit of your own (fluent-bit-conf/aggregator)"
            }
            "router-output-not-allowed" => {
                "use cloudwatch_logs, es/opensearch, firehose or kinesis"
            }
            _ => "follow the router's rules (EKS user guide, Fargate logging)",
        };
        out.push(Finding {
            file: path.to_path_buf(),
            line: issue.line,
            severity: Severity::Error,
            code: issue.code,
            message: format!(
                "{}: the router rejects the ConfigMap and new pods get no logging",
                issue.message
            ),
            fix: fix.into(),
        });
    }
    for issue in router::unscoped_filters(doc) {
        out.push(Finding {
            file: path.to_path_buf(),
            line: issue.line,
            severity: Severity::Warning,
            code: issue.code,
            message: format!(
                "{}: {}",
                issue.message,
                crate::figures::router_unscoped_cost()
            ),
            fix: "use `Match kube.*_metrics-server-*` (or a Match_Regex that only takes metrics-server's tags) on every selfscrape filter, and the helper tag prefix on the ones after rewrite_tag".into(),
        });
    }
    let mut config = Config::default();
    for (key, value, first) in router::data_entries(doc) {
        let (Some(v), true) = (value, key == "filters.conf" || key == "output.conf") else {
            continue;
        };
        for mut s in router::sections(&v, first) {
            s.file = path.to_path_buf();
            config.plugins.push(s);
        }
    }
    // Keys, when a header names the router's Fluent Bit.
    if *target != Target::Unknown {
        check_versions(&config, target, out);
    }
    check_log_levels(&config, target, out);
    check_es_keepalive(&config.plugins, out);
    check_rewrite_tag_drops(&config.plugins, target, true, out);
}

/// aws-for-fluent-bit images in a manifest.
pub fn check_images(path: &Path, text: &str, out: &mut Vec<Finding>) {
    for (i, line) in text.lines().enumerate() {
        let t = line.trim().trim_start_matches("- ");
        let Some(image) = t.strip_prefix("image:") else {
            continue;
        };
        let image = image.trim().trim_matches(['"', '\'']);
        if !image.contains("aws-for-fluent-bit") {
            continue;
        }
        let tag = image_tag(image);
        let at = |severity, code, message: String, fix: &str| Finding {
            file: path.to_path_buf(),
            line: Some(i + 1),
            severity,
            code,
            message,
            fix: fix.into(),
        };
        match image_fluent_bit(tag) {
            ImageFluentBit::Known(v) if LEAKY_HOSTS.contains(&v.to_string().as_str()) => {
                out.push(at(
                    Severity::Error,
                    "wasm-leaky-host",
                    format!("aws-for-fluent-bit {tag} ships Fluent Bit {v}, which never frees the copies of tag and record of a wasm call: memory grows with every record"),
                    "use aws-for-fluent-bit 3.0.2 or later",
                ))
            }
            ImageFluentBit::Known(_) => {}
            ImageFluentBit::Line2 => out.push(at(
                Severity::Warning,
                "image-no-wasm",
                format!("aws-for-fluent-bit {tag} ships Fluent Bit 1.9: it has no wasm filter, so it cannot run the module"),
                "use aws-for-fluent-bit 3.2.1 or later for a Fluent Bit that runs the module",
            )),
            ImageFluentBit::Unknown => out.push(at(
                Severity::Warning,
                "image-unknown",
                format!("aws-for-fluent-bit {tag} is not in the image table: the Fluent Bit it ships is unknown"),
                "pin a tabulated release (docs/check.md)",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use selfscrape_fbconf::Entry;

    fn plugin(kind: &str, props: &[(&str, &str)]) -> Section {
        Section {
            kind: kind.into(),
            file: "x.conf".into(),
            line: 1,
            span: None,
            entries: props
                .iter()
                .enumerate()
                .map(|(i, (k, v))| Entry {
                    key: (*k).into(),
                    value: (*v).into(),
                    line: i + 2,
                })
                .collect(),
        }
    }

    const MS: &str = "kube.var.log.containers.metrics-server-*_kube-system_metrics-server-*";

    fn es_findings(props: &[(&str, &str)]) -> usize {
        let mut out = Vec::new();
        check_es_keepalive(&[plugin("output", props)], &mut out);
        out.len()
    }

    #[test]
    fn es_outputs_to_the_aggregator_that_keep_connections_idle_are_found() {
        let to = |extra: &[(&'static str, &'static str)]| {
            let mut p = vec![("name", "es"), ("match", MS)];
            p.extend_from_slice(extra);
            es_findings(&p)
        };
        // The default keep-alive (30 s) outlives the input's 10 s.
        assert_eq!(to(&[]), 1);
        assert_eq!(to(&[("net.keepalive_idle_timeout", "30s")]), 1);
        assert_eq!(to(&[("net.keepalive_idle_timeout", "9")]), 1);
        // Off, or gone before the aggregator closes it (with the slack).
        assert_eq!(to(&[("net.keepalive", "off")]), 0);
        assert_eq!(to(&[("net.keepalive", "False")]), 0);
        assert_eq!(to(&[("net.keepalive_idle_timeout", "5s")]), 0);
        assert_eq!(to(&[("net.keepalive_idle_timeout", "8")]), 0);
        // Another es output (OpenSearch for every pod) is not the aggregator's.
        assert_eq!(es_findings(&[("name", "es"), ("match", "kube.*")]), 0);
        // ... unless its Host names it.
        assert_eq!(
            es_findings(&[
                ("name", "es"),
                ("match", "kube.*"),
                (
                    "host",
                    "selfscrape-aggregator.kube-system.svc.cluster.local"
                )
            ]),
            1
        );
        assert_eq!(
            es_findings(&[("name", "cloudwatch_logs"), ("match", MS)]),
            0
        );
    }

    #[test]
    fn the_input_closes_idle_connections_only_where_that_holds() {
        let at = |s: &str| Version::parse(s).unwrap();
        let input = |props: &[(&str, &str)]| {
            let mut p = vec![("name", "elasticsearch")];
            p.extend_from_slice(props);
            plugin("input", &p)
        };
        let plain = input(&[]);
        assert_eq!(es_input_idle_seconds(&plain, at("4.2.2")), None);
        assert_eq!(es_input_idle_seconds(&plain, at("5.0.5")), None);
        assert_eq!(es_input_idle_seconds(&plain, at("5.0.6")), Some(10));
        assert_eq!(es_input_idle_seconds(&plain, at("5.1.1")), Some(10));
        let longer = input(&[("net.io_timeout", "60s")]);
        assert_eq!(es_input_idle_seconds(&longer, at("4.2.2")), Some(60));
        assert_eq!(es_input_idle_seconds(&longer, at("5.1.1")), Some(60));
        let idle = input(&[("http_server.idle_timeout", "1m")]);
        assert_eq!(es_input_idle_seconds(&idle, at("5.1.1")), Some(60));
        assert_eq!(es_input_idle_seconds(&idle, at("4.2.2")), None);
        let findings = |p: Section, target: Target| {
            let config = Config {
                plugins: vec![p],
                ..Config::default()
            };
            let mut out = Vec::new();
            check_es_input_timeout(&config, &target, &mut out);
            out
        };
        assert_eq!(findings(input(&[]), Target::Exact(at("5.1.1"))).len(), 1);
        assert!(findings(input(&[]), Target::Exact(at("4.2.2"))).is_empty());
        assert!(findings(input(&[]), Target::Unknown).is_empty());
        assert!(findings(longer.clone(), Target::Exact(at("5.1.1"))).is_empty());
        let range = Target::From(at("4.2.2"), tables::tabulated_from(at("4.2.2")));
        let found = findings(input(&[]), range);
        assert_eq!(found.len(), 1);
        assert!(
            found[0]
                .message
                .starts_with("on Fluent Bit 5.0.7, 5.0.9, 5.1.1,"),
            "{}",
            found[0].message
        );
    }

    fn open_findings(plugins: Vec<Section>) -> Vec<Finding> {
        let config = Config {
            plugins,
            ..Config::default()
        };
        let mut out = Vec::new();
        check_aggregator_open(&config, &mut out);
        out
    }

    fn es_input(props: &[(&str, &str)]) -> Section {
        let mut p = vec![("name", "elasticsearch"), ("port", "9200")];
        p.extend_from_slice(props);
        plugin("input", &p)
    }

    const TAGGED: &[(&str, &str)] = &[
        ("tag", "selfscrape.untagged"),
        ("tag_key", "_selfscrape_tag"),
    ];

    fn grep(props: &[(&str, &str)]) -> Section {
        let mut p = vec![("name", "grep"), ("match", "*")];
        p.extend_from_slice(props);
        plugin("filter", &p)
    }

    fn cloudwatch(m: &str) -> Section {
        plugin("output", &[("name", "cloudwatch_logs"), ("match", m)])
    }

    #[test]
    fn the_shipped_aggregator_keeps_only_metrics_servers_tags() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fluent-bit-conf/aggregator");
        for file in ["fluent-bit.conf", "fluent-bit.yaml"] {
            let path = dir.join(file);
            let text = std::fs::read_to_string(&path).unwrap();
            // The fix quotes the shipped filter.
            assert!(text.contains(AGGREGATOR_GREP_REGEX), "{file}");
            let config = if file.ends_with(".conf") {
                selfscrape_fbconf::config::read_classic(&path, &text, &crate::files::Disk).unwrap()
            } else {
                let doc = selfscrape_fbconf::yaml::parse_yaml(&text).unwrap();
                selfscrape_fbconf::config::read_yaml_config(&path, &doc, &crate::files::Disk)
                    .unwrap()
            };
            let mut out = Vec::new();
            check_aggregator_open(&config, &mut out);
            assert_eq!(out, vec![], "{file}");
            // Without its grep filter it is open.
            let mut open = config.clone();
            open.plugins.retain(|p| !p.is("filter", "grep"));
            check_aggregator_open(&open, &mut out);
            assert_eq!(out.len(), 1, "{file}");
            assert!(out[0].message.contains(FORGED_TAG), "{}", out[0].message);
            assert!(out[0].message.contains("as selfscrape.untagged"));
        }
    }

    #[test]
    fn an_aggregator_is_open_when_a_probe_reaches_cloudwatch() {
        let shipped = format!("_selfscrape_tag {AGGREGATOR_GREP_REGEX}");
        let with = |filters: Vec<Section>, out: Section| {
            let mut p = vec![es_input(TAGGED)];
            p.extend(filters);
            p.push(out);
            open_findings(p).len()
        };
        assert_eq!(with(vec![], cloudwatch("*")), 1);
        assert_eq!(with(vec![grep(&[("regex", &shipped)])], cloudwatch("*")), 0);
        // `$KEY` is the same key.
        let dollar = format!("${shipped}");
        assert_eq!(with(vec![grep(&[("regex", &dollar)])], cloudwatch("*")), 0);
        // A grep whose Match does not take the forged tag does not judge it.
        let scoped = vec![plugin(
            "filter",
            &[
                ("name", "grep"),
                ("match", "selfscrape.*"),
                ("regex", &shipped),
            ],
        )];
        assert_eq!(with(scoped, cloudwatch("*")), 1);
        // An output that takes only metrics-server's tags: nothing else
        // arrives (records without the key keep selfscrape.untagged).
        assert_eq!(with(vec![], cloudwatch(MS)), 0);
        // Excluding applications' tags lets records without the key through.
        let exclude = grep(&[(
            "exclude",
            r"_selfscrape_tag \Akube\.var\.log\.containers\.payments-",
        )]);
        assert_eq!(with(vec![exclude], cloudwatch("*")), 1);
        // A key the sender writes itself decides nothing.
        assert_eq!(with(vec![grep(&[("regex", "log .")])], cloudwatch("*")), 1);
        // Legacy mode: the first Regex that matches keeps the record.
        let first = grep(&[("regex", "log ."), ("regex", &shipped)]);
        assert_eq!(with(vec![first], cloudwatch("*")), 1);
        let and = grep(&[
            ("logical_op", "AND"),
            ("regex", "log ."),
            ("regex", &shipped),
        ]);
        assert_eq!(with(vec![and], cloudwatch("*")), 0);
        let or = grep(&[
            ("logical_op", "or"),
            ("regex", "log ."),
            ("regex", &shipped),
        ]);
        assert_eq!(with(vec![or], cloudwatch("*")), 1);
        // A search, not a match at the start: `metrics-server` anywhere.
        let search = grep(&[("regex", "_selfscrape_tag _kube-system_metrics-server-")]);
        assert_eq!(with(vec![search], cloudwatch("*")), 0);
        // Lookarounds are read as Onigmo reads them.
        let look = grep(&[(
            "regex",
            r"_selfscrape_tag \A(?=kube\.var\.log\.containers\.metrics-server-)kube\.",
        )]);
        assert_eq!(with(vec![look], cloudwatch("*")), 0);
        // A regex the check cannot translate is taken to keep.
        let absent = grep(&[("regex", r"_selfscrape_tag \A(?~x)kube\.")]);
        assert_eq!(with(vec![absent], cloudwatch("*")), 1);
        // A config that drops metrics-server's records too is another mistake.
        let none = grep(&[("regex", r"_selfscrape_tag \Anothing\z")]);
        assert_eq!(with(vec![none], cloudwatch("*")), 0);
        // Other outputs are not CloudWatch streams.
        assert_eq!(
            with(
                vec![],
                plugin("output", &[("name", "stdout"), ("match", "*")])
            ),
            0
        );
        assert_eq!(
            with(
                vec![],
                plugin("output", &[("name", "cloudwatch"), ("match", "*")])
            ),
            1
        );
        // Without Tag_Key every record gets the input's Tag (or its name).
        let found = open_findings(vec![es_input(&[]), cloudwatch("*")]);
        assert_eq!(found.len(), 1);
        assert!(
            found[0].message.contains("stream of elasticsearch.0"),
            "{}",
            found[0].message
        );
        assert!(found[0].message.contains("of any body"));
        let found = open_findings(vec![
            es_input(TAGGED),
            grep(&[("exclude", &shipped)]),
            cloudwatch("*"),
        ]);
        assert_eq!(
            found,
            vec![],
            "metrics-server's own records dropped: not this finding"
        );
    }

    fn drops(plugins: Vec<Section>, target: Target, router: bool) -> Vec<Finding> {
        let mut out = Vec::new();
        check_rewrite_tag_drops(&plugins, &target, router, &mut out);
        out
    }

    fn rewrite(rules: &[&str]) -> Section {
        let mut p = vec![("name", "rewrite_tag"), ("match", "kube.*")];
        p.extend(rules.iter().map(|r| ("rule", *r)));
        plugin("filter", &p)
    }

    #[test]
    fn rewrite_tag_keep_false_drops_before_5_0_9() {
        let at = |s: &str| Target::Exact(Version::parse(s).unwrap());
        let stderr = "$stream ^stderr$ errors.$TAG false";
        let found = drops(vec![rewrite(&[stderr])], at("1.9.10"), false);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].line, Some(4));
        assert!(
            found[0].message.contains("Fluent Bit 1.9.10 drops"),
            "{}",
            found[0].message
        );
        assert!(found[0].message.contains("the input keeps sending"));
        assert!(
            found[0]
                .message
                .contains("Emitter_Mem_Buf_Limit, 10M by default")
        );
        assert!(found[0].fix.contains("5.0.9 or later"));
        let found = drops(vec![rewrite(&[stderr])], at("5.0.8"), false);
        assert!(
            found[0].message.contains("paused with the emitter"),
            "{}",
            found[0].message
        );
        assert_eq!(drops(vec![rewrite(&[stderr])], at("3.0.1"), false).len(), 1);
        // From the bound, and with keep true, nothing to report.
        assert_eq!(drops(vec![rewrite(&[stderr])], at("5.0.9"), false), vec![]);
        assert_eq!(drops(vec![rewrite(&[stderr])], at("5.1.1"), false), vec![]);
        for keep in ["true", "On", "YES"] {
            let rule = format!("$stream ^stderr$ errors.$TAG {keep}");
            assert_eq!(drops(vec![rewrite(&[&rule])], at("1.9.10"), false), vec![]);
        }
        // Anything but true/on/yes removes the original (flb_utils_bool: -1).
        let odd = "$stream ^stderr$ errors.$TAG maybe";
        assert_eq!(drops(vec![rewrite(&[odd])], at("1.9.10"), false).len(), 1);
        // One finding per rule that removes the original.
        let two = rewrite(&["$log ^AUDIT audit.$TAG true", stderr, "$log x x.$TAG off"]);
        assert_eq!(drops(vec![two], at("4.2.2"), false).len(), 2);
        // A config of no named version: not judged; the router: AWS's.
        assert_eq!(
            drops(vec![rewrite(&[stderr])], Target::Unknown, false),
            vec![]
        );
        let found = drops(vec![rewrite(&[stderr])], Target::Unknown, true);
        assert_eq!(found.len(), 1);
        assert!(
            found[0].message.contains("may be 1.9.10"),
            "{}",
            found[0].message
        );
        assert!(!found[0].fix.contains("5.0.9"), "{}", found[0].fix);
        // A range names the versions before the bound, both behaviours.
        let range = Target::From(at_v("1.9.10"), tables::tabulated_from(at_v("1.9.10")));
        let found = drops(vec![rewrite(&[stderr])], range, false);
        assert!(
            found[0].message.contains("Fluent Bit 1.9.10, 2.0.0, 3.0.0, 3.1.5, 3.2.10, 4.0.14, 4.1.0, 4.1.1, 4.2.0, 4.2.2, 5.0.5, 5.0.7 drops"),
            "{}",
            found[0].message
        );
        assert!(
            found[0]
                .message
                .contains("before 3.0.2 the input keeps sending")
        );
        // selfscrape's own rule is `selfscrape router`'s to report.
        let own = rewrite(&["$ss_node . ss.$TAG,$kubernetes['host'],$ss_node false"]);
        assert_eq!(drops(vec![own], at("1.9.10"), true), vec![]);
        // A larger buffer is named, and still finite.
        let mut big = rewrite(&[stderr]);
        big.entries.push(Entry {
            key: "emitter_mem_buf_limit".into(),
            value: "64M".into(),
            line: 9,
        });
        let found = drops(vec![big], at("1.9.10"), false);
        assert!(found[0].message.contains("(Emitter_Mem_Buf_Limit 64M)"));
    }

    fn at_v(s: &str) -> Version {
        Version::parse(s).unwrap()
    }

    #[test]
    fn time_and_boolean_values() {
        assert_eq!(seconds("30"), Some(30));
        assert_eq!(seconds("30s"), Some(30));
        assert_eq!(seconds("2M"), Some(120));
        assert_eq!(seconds("1h"), Some(3600));
        assert_eq!(seconds("soon"), None);
        assert_eq!(boolean("Off"), Some(false));
        assert_eq!(boolean("on"), Some(true));
        assert_eq!(boolean("maybe"), None);
    }
}

//! Every Fluent Bit config shipped in fluent-bit-conf/{sidecar,aggregator,local}:
//! it parses as the format it claims (classic `.conf` by Fluent Bit's own rules,
//! YAML as YAML), names the Fluent Bit version it targets in a comment header
//! (`# fluent-bit: 4.2.2` or `# fluent-bit: >=3.0.0`), uses only plugins and
//! keys that every such version knows (a key the running version does not know
//! stops Fluent Bit from starting), loads the module from an absolute path,
//! calls a function the built module exports, in JSON event format, on
//! metrics-server's records only; the classic and YAML twins say the same; the
//! Fargate router's ConfigMap fits the router's limits; images are pinned to
//! an aws-for-fluent-bit that ships the named Fluent Bit.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use std::path::{Path, PathBuf};

// ---------------------------------------------------------------------------
// Which keys each Fluent Bit version knows.
//
// Read from fluent/fluent-bit at each tag: the plugins' config_map tables
// (plugins/<plugin>/*.c), the properties every input/filter/output takes
// (src/flb_input.c, src/flb_filter.c, src/flb_output.c: prop_key_check and
// their config maps) and the [SERVICE] keys (service_configs in
// src/flb_config.c). Only the plugins the shipped configs use. Keys are valid
// at the tabulated versions from `since` up to, not including, `until`; the
// table says nothing about untabulated versions, so a config must name a
// tabulated one. Fluent Bit compares keys case-insensitively.
// ---------------------------------------------------------------------------

#[rustfmt::skip]
const VERSIONS: &[&str] = &["1.9.10", "2.0.0", "3.0.0", "3.1.5", "3.2.10", "4.0.14", "4.1.0", "4.1.1", "4.2.0", "4.2.2", "5.1.1"];

/// Plugins and the tabulated versions that have them.
#[rustfmt::skip]
const PLUGINS: &[(&str, &str, &str)] = &[
    ("input:tail", "1.9.10", ""),
    ("filter:modify", "1.9.10", ""),
    ("filter:nest", "1.9.10", ""),
    ("filter:kubernetes", "1.9.10", ""),
    ("output:cloudwatch_logs", "1.9.10", ""),
    ("output:es", "1.9.10", ""),
    ("output:stdout", "1.9.10", ""),
    ("filter:wasm", "2.0.0", ""),
    ("input:elasticsearch", "3.0.0", ""),
];

/// (scope, since, until (first tabulated version without them; "" = none), keys).
#[rustfmt::skip]
const KEYS: &[(&str, &str, &str, &[&str])] = &[
    ("service", "1.9.10", "", &["coro_stack_size", "daemon", "dns.mode", "dns.prefer_ipv4", "dns.resolver", "flush", "grace", "hc_errors_count", "hc_period", "hc_retry_failure_count", "health_check", "http_listen", "http_port", "http_server", "log_file", "log_level", "parsers_file", "plugins_file", "scheduler.base", "scheduler.cap", "storage.backlog.mem_limit", "storage.checksum", "storage.max_chunks_up", "storage.metrics", "storage.path", "storage.sync", "streams_file"]),
    ("service", "2.0.0", "", &["enable_chunk_trace", "json.convert_nan_to_null"]),
    ("service", "3.0.0", "", &["dns.prefer_ipv6", "hot_reload", "hot_reload.ensure_thread_safety", "sp.convert_from_str_to_num", "storage.trim_files"]),
    ("service", "4.0.14", "", &["hot_reload.timeout", "storage.inherit", "storage.type", "windows.maxstdio"]),
    ("service", "4.1.0", "", &["json.escape_unicode", "multiline_buffer_limit"]),
    ("service", "4.2.0", "", &["storage.keep.rejected", "storage.rejected.path"]),
    ("service", "5.1.1", "", &["flush.adaptive", "flush.adaptive.down_steps", "flush.adaptive.high_pressure", "flush.adaptive.low_pressure", "flush.adaptive.max_interval", "flush.adaptive.medium_pressure", "flush.adaptive.min_interval", "flush.adaptive.up_steps", "security.fips_mode", "storage.rejected.limit"]),
    ("input", "1.9.10", "", &["alias", "host", "ipv6", "listen", "log_level", "mem_buf_limit", "port", "routable", "storage.pause_on_chunks_overlimit", "storage.type", "tag"]),
    ("input", "2.0.0", "", &["threaded", "tls", "tls.ca_file", "tls.ca_path", "tls.crt_file", "tls.debug", "tls.key_file", "tls.key_passwd", "tls.verify", "tls.vhost"]),
    ("input", "3.0.0", "", &["log_suppress_interval"]),
    ("input", "3.1.5", "", &["tls.verify_hostname"]),
    ("input", "4.0.14", "", &["tls.ciphers", "tls.max_version", "tls.min_version"]),
    ("input", "4.1.0", "", &["thread.ring_buffer.capacity", "thread.ring_buffer.window"]),
    ("input", "5.1.1", "", &["rate_gate", "rate_gate.backpressure", "rate_gate.max_bytes", "rate_gate.max_records", "rate_gate.resume_ratio", "rate_window", "tls.verify_client_cert"]),
    ("filter", "1.9.10", "", &["alias", "log_level", "match", "match_regex"]),
    ("filter", "3.0.0", "", &["log_suppress_interval"]),
    ("output", "1.9.10", "", &["alias", "host", "ipv6", "log_level", "match", "match_regex", "port", "retry_limit", "storage.total_limit_size", "tls", "tls.ca_file", "tls.ca_path", "tls.crt_file", "tls.debug", "tls.key_file", "tls.key_passwd", "tls.verify", "tls.vhost", "workers"]),
    ("output", "3.0.0", "", &["log_suppress_interval"]),
    ("output", "3.1.5", "", &["tls.verify_hostname"]),
    ("output", "4.0.14", "", &["tls.ciphers", "tls.max_version", "tls.min_version", "tls.windows.certstore_name", "tls.windows.use_enterprise_store"]),
    ("output", "4.2.0", "", &["tls.windows.client_thumbprints"]),
    ("output", "5.1.1", "", &["tls.proxy.ca_file", "tls.proxy.ca_path", "tls.proxy.verify", "tls.proxy.verify_hostname"]),
    ("input:tail", "1.9.10", "", &["buffer_chunk_size", "buffer_max_size", "db", "db.journal_mode", "db.locking", "db.sync", "docker_mode", "docker_mode_flush", "docker_mode_parser", "event_batch_size", "exclude_path", "exit_on_eof", "ignore_older", "inotify_watcher", "key", "multiline", "multiline.parser", "multiline_flush", "offset_key", "parser", "parser_", "parser_firstline", "path", "path_key", "read_from_head", "refresh_interval", "rotate_wait", "skip_empty_lines", "skip_long_lines", "static_batch_size", "tag_regex", "watcher_interval"]),
    ("input:tail", "3.0.0", "", &["progress_check_interval", "progress_check_interval_nsec"]),
    ("input:tail", "3.1.5", "", &["db.compare_filename", "file_cache_advise"]),
    ("input:tail", "3.2.10", "", &["ignore_active_older_files"]),
    ("input:tail", "4.0.14", "", &["generic.encoding", "read_newly_discovered_files_from_head", "unicode.encoding"]),
    ("input:tail", "4.2.0", "", &["truncate_long_lines"]),
    ("input:tail", "5.1.1", "", &["windows.path_encoding"]),
    ("filter:modify", "1.9.10", "", &["add", "condition", "copy", "hard_copy", "hard_rename", "remove", "remove_regex", "remove_wildcard", "rename", "set"]),
    ("filter:modify", "2.0.0", "", &["move_to_end", "move_to_start"]),
    ("filter:nest", "1.9.10", "", &["add_prefix", "nest_under", "nested_under", "operation", "remove_prefix", "wildcard"]),
    ("filter:kubernetes", "1.9.10", "", &["annotations", "buffer_size", "cache_use_docker_id", "dns_retries", "dns_wait_time", "dummy_meta", "k8s-logging.exclude", "k8s-logging.parser", "keep_log", "kube_ca_file", "kube_ca_path", "kube_meta_cache_ttl", "kube_meta_preload_cache_dir", "kube_tag_prefix", "kube_token_command", "kube_token_file", "kube_token_ttl", "kube_url", "kubelet_host", "kubelet_port", "labels", "merge_log", "merge_log_key", "merge_log_trim", "merge_parser", "regex_parser", "tls.debug", "tls.verify", "tls.vhost", "use_journal", "use_kubelet", "use_tag_for_meta"]),
    ("filter:kubernetes", "3.0.0", "", &["kube_meta_namespace_cache_ttl", "namespace_annotations", "namespace_labels"]),
    ("filter:kubernetes", "3.1.5", "", &["namespace_metadata_only", "tls.verify_hostname"]),
    ("filter:kubernetes", "3.2.10", "", &["owner_references"]),
    ("filter:kubernetes", "4.1.0", "", &["aws_pod_association_endpoint", "aws_pod_association_host", "aws_pod_association_host_client_cert_file", "aws_pod_association_host_client_key_file", "aws_pod_association_host_server_ca_file", "aws_pod_association_host_tls_debug", "aws_pod_association_host_tls_verify", "aws_pod_association_port", "aws_pod_service_map_refresh_interval", "aws_pod_service_map_ttl", "aws_pod_service_preload_cache_dir", "aws_use_pod_association", "set_platform", "use_pod_association"]),
    ("filter:kubernetes", "5.1.1", "", &["kube_namespace_file"]),
    ("output:cloudwatch_logs", "1.9.10", "", &["auto_create_group", "auto_retry_requests", "endpoint", "external_id", "extra_user_agent", "log_format", "log_group_name", "log_group_template", "log_key", "log_retention_days", "log_stream_name", "log_stream_prefix", "log_stream_template", "metric_dimensions", "metric_namespace", "region", "role_arn", "sts_endpoint"]),
    ("output:cloudwatch_logs", "3.0.0", "", &["profile"]),
    ("output:cloudwatch_logs", "3.1.5", "", &["log_group_class"]),
    ("output:cloudwatch_logs", "4.0.14", "", &["add_entity"]),
    ("output:es", "1.9.10", "", &["aws_auth", "aws_external_id", "aws_region", "aws_role_arn", "aws_sts_endpoint", "buffer_size", "cloud_auth", "cloud_id", "current_time_index", "generate_id", "http_passwd", "http_user", "id_key", "include_tag_key", "index", "logstash_dateformat", "logstash_format", "logstash_prefix", "logstash_prefix_key", "path", "pipeline", "replace_dots", "suppress_type_name", "tag_key", "time_key", "time_key_format", "time_key_nanos", "trace_error", "trace_output", "type", "write_operation"]),
    ("output:es", "2.0.0", "", &["compress"]),
    ("output:es", "3.0.0", "", &["aws_profile", "aws_service_name", "logstash_prefix_separator"]),
    ("output:es", "4.0.14", "", &["http_api_key"]),
    ("output:es", "5.1.1", "", &["upstream"]),
    ("output:stdout", "1.9.10", "", &["format", "json_date_format", "json_date_key"]),
    ("filter:wasm", "2.0.0", "", &["accessible_paths", "function_name", "wasm_path"]),
    ("filter:wasm", "3.0.0", "", &["event_format"]),
    ("filter:wasm", "3.1.5", "", &["wasm_heap_size", "wasm_stack_size"]),
    ("input:elasticsearch", "3.0.0", "5.1.1", &["buffer_chunk_size", "buffer_max_size", "http2"]),
    ("input:elasticsearch", "3.0.0", "", &["hostname", "meta_key", "tag_key", "version"]),
];

/// aws-for-fluent-bit releases and the Fluent Bit they ship.
const AWS_FOR_FLUENT_BIT: &[(&str, &str)] = &[
    ("3.0.0", "4.1.0"),
    ("3.0.1", "4.1.1"),
    ("3.0.2", "4.2.0"),
    ("3.1.1", "4.2.0"),
    ("3.2.1", "4.2.2"),
];

/// Fluent Bit 4.1.0 and 4.1.1 never free the record copies of a wasm filter.
const LEAKY_HOSTS: &[&str] = &["4.1.0", "4.1.1"];

use common::{ROUTER_FILTERS, ROUTER_OUTPUTS};
const ROUTER_MAX_CHARS: usize = 5300;

/// The exports a shipped config may name, and the one it must use.
const SHIPPED_FUNCTION: &str = "drop_self_scrape";
const DRY_RUN_FUNCTION: &str = "mark_self_scrape";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn version_index(v: &str) -> Option<usize> {
    VERSIONS.iter().position(|x| *x == v)
}

/// The versions a `# fluent-bit:` header names: one tabulated version, or
/// `>=X`, every tabulated version from X on.
fn target_versions(spec: &str) -> Result<Vec<&'static str>, String> {
    let spec = spec.trim();
    if let Some(min) = spec.strip_prefix(">=") {
        let i = version_index(min.trim())
            .ok_or_else(|| format!("{min:?} is not a tabulated version {VERSIONS:?}"))?;
        Ok(VERSIONS[i..].to_vec())
    } else {
        let i = version_index(spec)
            .ok_or_else(|| format!("{spec:?} is not a tabulated version {VERSIONS:?}"))?;
        Ok(vec![VERSIONS[i]])
    }
}

fn in_range(v: &str, since: &str, until: &str) -> bool {
    let i = version_index(v).expect("tabulated");
    let s = version_index(since).expect("tabulated since");
    let u = if until.is_empty() {
        VERSIONS.len()
    } else {
        version_index(until).expect("tabulated until")
    };
    s <= i && i < u
}

fn plugin_known(scope: &str, version: &str) -> bool {
    PLUGINS
        .iter()
        .any(|(p, since, until)| *p == scope && in_range(version, since, until))
}

fn key_known(scope: &str, key: &str, version: &str) -> bool {
    let key = key.to_ascii_lowercase();
    KEYS.iter().any(|(s, since, until, keys)| {
        *s == scope && keys.contains(&key.as_str()) && in_range(version, since, until)
    })
}

#[test]
fn key_table_is_consistent() {
    for (scope, since, until, keys) in KEYS {
        assert!(version_index(since).is_some(), "{scope}: since {since}");
        assert!(
            until.is_empty() || version_index(until) > version_index(since),
            "{scope}: until {until}"
        );
        for k in *keys {
            assert_eq!(*k, k.to_ascii_lowercase(), "{scope}: keys are lower case");
        }
    }
    // Facts the shipped configs rely on (fluent-bit-wasm-host.md).
    assert!(!plugin_known("filter:wasm", "1.9.10"));
    assert!(plugin_known("filter:wasm", "2.0.0"));
    assert!(!key_known("filter:wasm", "event_format", "2.0.0"));
    assert!(key_known("filter:wasm", "Event_Format", "3.0.0"));
    assert!(!key_known("filter:wasm", "wasm_stack_size", "3.0.0"));
    assert!(key_known("filter:wasm", "wasm_heap_size", "3.1.5"));
    assert!(!key_known(
        "input:elasticsearch",
        "buffer_max_size",
        "5.1.1"
    ));
    assert!(!key_known("filter:wasm", "no_such_key", "4.2.2"));
}

// ---------------------------------------------------------------------------
// Classic format, by the rules of src/config_format/flb_cf_fluentbit.c:
// `#` comments at column 0 or at the indentation; `[SECTION]` at column 0;
// one indentation for every key line in the file; `key value` split at the
// first space; a key without a value stops Fluent Bit.
// ---------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct Section {
    /// Upper case: SERVICE, INPUT, FILTER, OUTPUT, PARSER.
    kind: String,
    line: usize,
    /// (key as written, value, line)
    entries: Vec<(String, String, usize)>,
}

impl Section {
    fn get(&self, key: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|(k, _, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v, _)| v.as_str())
    }

    fn name(&self) -> String {
        self.get("name").unwrap_or("").to_ascii_lowercase()
    }
}

fn parse_classic(text: &str) -> Result<Vec<Section>, String> {
    let mut sections: Vec<Section> = Vec::new();
    let mut indent: Option<String> = None;
    for (i, raw) in text.lines().enumerate() {
        let line_no = i + 1;
        let line = raw.trim_end();
        let err = |m: &str| Err(format!("line {line_no}: {m}: {raw:?}"));
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if line.starts_with('@') {
            return err("@INCLUDE/@SET are not used by the shipped configs");
        }
        if let Some(rest) = line.strip_prefix('[') {
            let Some(name) = rest.strip_suffix(']') else {
                return err("bad section header");
            };
            let kind = name.trim().to_ascii_uppercase();
            if !["SERVICE", "INPUT", "FILTER", "OUTPUT", "PARSER"].contains(&kind.as_str()) {
                return err("unknown section");
            }
            if let Some(prev) = sections.last() {
                if prev.entries.is_empty() {
                    return Err(format!("line {}: section without keys", prev.line));
                }
            }
            sections.push(Section {
                kind,
                line: line_no,
                entries: Vec::new(),
            });
            continue;
        }
        let lead: String = line
            .chars()
            .take_while(|c| *c == ' ' || *c == '\t')
            .collect();
        if lead.is_empty() {
            return err("key outside of the indentation");
        }
        match &indent {
            None => indent = Some(lead.clone()),
            Some(ind) if *ind != lead => return err("indentation differs from the file's first"),
            Some(_) => {}
        }
        if lead.contains('\t') {
            return err("tab in indentation");
        }
        let body = &line[lead.len()..];
        if body.starts_with('#') {
            continue;
        }
        let Some(section) = sections.last_mut() else {
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
    if let Some(last) = sections.last() {
        if last.entries.is_empty() {
            return Err(format!("line {}: section without keys", last.line));
        }
    }
    Ok(sections)
}

#[test]
fn classic_parser_follows_fluent_bit_rules() {
    let ok = "# c\n[SERVICE]\n    Flush 1\n    # c\n\n[INPUT]\n    Name tail\n    Path /a b\n";
    let s = parse_classic(ok).unwrap();
    assert_eq!(s.len(), 2);
    assert_eq!(s[1].get("path"), Some("/a b"));
    for bad in [
        "[INPUT]\n    Name\n",
        "[INPUT]\n    Name tail\n  Path /x\n",
        "[INPUT]\nName tail\n",
        "[INPUT]\n",
        "[INPUT\n    Name tail\n",
        "[NOPE]\n    Name tail\n",
        "    Name tail\n",
        "[INPUT]\n\tName tail\n",
    ] {
        assert!(parse_classic(bad).is_err(), "accepted {bad:?}");
    }
}

// ---------------------------------------------------------------------------
// YAML: a strict parser for the subset the shipped files use (block mappings
// and sequences, plain and quoted scalars, flow sequences of scalars, `|`
// literal blocks, comments). It rejects what it does not know (tabs, anchors,
// aliases, tags, flow mappings, documents, duplicate keys, plain scalars that
// start with a YAML indicator such as `*` or `@`), so whatever it accepts is
// valid YAML with the same meaning.
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq)]
enum Yaml {
    Str(String),
    Seq(Vec<Yaml>),
    Map(Vec<(String, Yaml)>),
}

impl Yaml {
    fn get(&self, key: &str) -> Option<&Yaml> {
        match self {
            Yaml::Map(m) => m.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    fn as_str(&self) -> Option<&str> {
        match self {
            Yaml::Str(s) => Some(s),
            _ => None,
        }
    }
}

struct YamlParser<'a> {
    /// (indent, text without indent and trailing spaces, line number); `None`
    /// text for lines that are blank or only a comment.
    lines: Vec<(usize, &'a str, usize)>,
    raw: Vec<&'a str>,
    pos: usize,
}

fn parse_yaml(text: &str) -> Result<Yaml, String> {
    let raw: Vec<&str> = text.lines().collect();
    let mut lines = Vec::new();
    for (i, l) in raw.iter().enumerate() {
        let body = l.trim_start_matches(' ');
        if body.starts_with('\t') {
            return Err(format!("line {}: tab in indentation", i + 1));
        }
        lines.push((l.len() - body.len(), body.trim_end(), i + 1));
    }
    let mut p = YamlParser { lines, raw, pos: 0 };
    p.skip_blank();
    if p.pos >= p.lines.len() {
        return Err("empty document".into());
    }
    let indent = p.lines[p.pos].0;
    if indent != 0 {
        return Err(format!("line {}: document is indented", p.lines[p.pos].2));
    }
    let node = p.node(0)?;
    p.skip_blank();
    if p.pos < p.lines.len() {
        let (_, t, n) = p.lines[p.pos];
        return Err(format!("line {n}: unexpected {t:?}"));
    }
    Ok(node)
}

fn is_blank(t: &str) -> bool {
    t.is_empty() || t.starts_with('#')
}

/// Splits `key: rest` at the first `: ` (or a final `:`) outside quotes.
fn split_key(t: &str) -> Option<(&str, &str)> {
    let bytes = t.as_bytes();
    if bytes.first() == Some(&b'"') || bytes.first() == Some(&b'\'') {
        let q = bytes[0];
        let end = t[1..].find(q as char)? + 1;
        let after = &t[end + 1..];
        return if after == ":" {
            Some((&t[..=end], ""))
        } else {
            after.strip_prefix(": ").map(|r| (&t[..=end], r))
        };
    }
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b':' && (i + 1 == bytes.len() || bytes[i + 1] == b' ') {
            return Some((&t[..i], t[i + 1..].trim_start()));
        }
        if bytes[i] == b' ' && bytes.get(i + 1) == Some(&b'#') {
            return None;
        }
        i += 1;
    }
    None
}

fn scalar(t: &str, line: usize) -> Result<Yaml, String> {
    let err = |m: &str| Err(format!("line {line}: {m}: {t:?}"));
    let t = t.trim();
    if let Some(rest) = t.strip_prefix('"') {
        let mut out = String::new();
        let mut chars = rest.chars();
        loop {
            match chars.next() {
                None => return err("unterminated double quote"),
                Some('"') => break,
                Some('\\') => match chars.next() {
                    Some('"') => out.push('"'),
                    Some('\\') => out.push('\\'),
                    Some('n') => out.push('\n'),
                    Some('t') => out.push('\t'),
                    Some('/') => out.push('/'),
                    _ => return err("unsupported escape"),
                },
                Some(c) => out.push(c),
            }
        }
        let tail = chars.as_str().trim();
        if !(tail.is_empty() || tail.starts_with('#')) {
            return err("text after a quoted scalar");
        }
        return Ok(Yaml::Str(out));
    }
    if let Some(rest) = t.strip_prefix('\'') {
        let mut out = String::new();
        let mut rest = rest;
        loop {
            let Some(q) = rest.find('\'') else {
                return err("unterminated single quote");
            };
            out.push_str(&rest[..q]);
            if rest[q + 1..].starts_with('\'') {
                out.push('\'');
                rest = &rest[q + 2..];
            } else {
                rest = &rest[q + 1..];
                break;
            }
        }
        let tail = rest.trim();
        if !(tail.is_empty() || tail.starts_with('#')) {
            return err("text after a quoted scalar");
        }
        return Ok(Yaml::Str(out));
    }
    if let Some(inner) = t.strip_prefix('[') {
        let inner = inner
            .split_once(']')
            .filter(|(_, tail)| tail.trim().is_empty() || tail.trim().starts_with('#'))
            .map(|(i, _)| i)
            .ok_or_else(|| format!("line {line}: unterminated flow sequence: {t:?}"))?;
        let mut items = Vec::new();
        // Items are quoted or plain scalars without commas inside.
        let mut rest = inner.trim();
        while !rest.is_empty() {
            let (item, tail) = if rest.starts_with('"') || rest.starts_with('\'') {
                let q = rest.as_bytes()[0] as char;
                let end = rest[1..]
                    .find(q)
                    .ok_or_else(|| format!("line {line}: unterminated quote in {t:?}"))?
                    + 2;
                (&rest[..end], &rest[end..])
            } else {
                let end = rest.find(',').unwrap_or(rest.len());
                (&rest[..end], &rest[end..])
            };
            items.push(scalar(item, line)?);
            let tail = tail.trim_start();
            rest = match tail.strip_prefix(',') {
                Some(r) => r.trim_start(),
                None if tail.is_empty() => "",
                None => return err("malformed flow sequence"),
            };
        }
        return Ok(Yaml::Seq(items));
    }
    // A plain scalar: no comment, no `: `, no leading indicator.
    let t = match t.find(" #") {
        Some(i) => t[..i].trim_end(),
        None => t,
    };
    if let Some(c) = t.chars().next() {
        if "{}[],&*!|>%@`".contains(c) {
            return err("plain scalar starts with a YAML indicator (quote it)");
        }
        if (c == '-' || c == '?' || c == ':') && t[1..].starts_with(' ') {
            return err("plain scalar starts with an indicator");
        }
    }
    if t.contains(": ") || t.ends_with(':') {
        return err("plain scalar contains `: `");
    }
    Ok(Yaml::Str(t.to_string()))
}

impl<'a> YamlParser<'a> {
    fn skip_blank(&mut self) {
        while self.pos < self.lines.len() && is_blank(self.lines[self.pos].1) {
            self.pos += 1;
        }
    }

    fn peek(&mut self) -> Option<(usize, &'a str, usize)> {
        self.skip_blank();
        self.lines.get(self.pos).copied()
    }

    fn node(&mut self, indent: usize) -> Result<Yaml, String> {
        let (ind, t, n) = self.peek().ok_or("unexpected end")?;
        if ind != indent {
            return Err(format!(
                "line {n}: expected indentation {indent}, got {ind}"
            ));
        }
        if t == "---" || t == "..." || t.starts_with("--- ") {
            return Err(format!("line {n}: multi-document YAML is not used"));
        }
        if t == "-" || t.starts_with("- ") {
            self.seq(indent)
        } else if split_key(t).is_some() {
            self.map(indent)
        } else {
            self.pos += 1;
            scalar(t, n)
        }
    }

    fn value_after_key(&mut self, indent: usize, rest: &str, n: usize) -> Result<Yaml, String> {
        let rest = rest.trim();
        if rest.is_empty() || rest.starts_with('#') {
            match self.peek() {
                Some((ind, _, _)) if ind > indent => self.node(ind),
                Some((ind, t, _)) if ind == indent && (t == "-" || t.starts_with("- ")) => {
                    self.seq(indent)
                }
                _ => Ok(Yaml::Str(String::new())),
            }
        } else if rest == "|" || rest == "|-" {
            Ok(Yaml::Str(self.literal(indent, rest == "|-")))
        } else if rest.starts_with('>') || rest.starts_with('|') {
            Err(format!(
                "line {n}: only `|` and `|-` block scalars are used"
            ))
        } else if rest.starts_with('{') {
            Err(format!("line {n}: flow mappings are not used"))
        } else {
            scalar(rest, n)
        }
    }

    /// A `|` literal block: the raw lines indented deeper than `indent`.
    fn literal(&mut self, indent: usize, strip: bool) -> String {
        let start = self.pos;
        let mut end = start;
        let mut block_indent = None;
        while end < self.lines.len() {
            let (ind, t, _) = self.lines[end];
            if t.is_empty() {
                end += 1;
                continue;
            }
            if ind <= indent {
                break;
            }
            block_indent.get_or_insert(ind);
            end += 1;
        }
        // Trailing blank lines belong to the block only up to its last text.
        while end > start && self.lines[end - 1].1.is_empty() {
            end -= 1;
        }
        let bi = block_indent.unwrap_or(indent + 1);
        let mut out = String::new();
        for i in start..end {
            let raw = self.raw[i];
            out.push_str(raw.get(bi..).unwrap_or("").trim_end_matches(' '));
            out.push('\n');
        }
        self.pos = end;
        if strip {
            while out.ends_with('\n') {
                out.pop();
            }
        }
        out
    }

    fn map(&mut self, indent: usize) -> Result<Yaml, String> {
        let mut entries: Vec<(String, Yaml)> = Vec::new();
        while let Some((ind, t, n)) = self.peek() {
            if ind < indent || (ind == indent && (t == "-" || t.starts_with("- "))) {
                break;
            }
            if ind > indent {
                return Err(format!("line {n}: unexpected indentation"));
            }
            let (k, rest) = split_key(t).ok_or_else(|| format!("line {n}: expected `key:`"))?;
            let key = match scalar(k, n)? {
                Yaml::Str(s) => s,
                _ => return Err(format!("line {n}: non-scalar key")),
            };
            if entries.iter().any(|(e, _)| *e == key) {
                return Err(format!("line {n}: duplicate key {key:?}"));
            }
            self.pos += 1;
            let v = self.value_after_key(indent, rest, n)?;
            entries.push((key, v));
        }
        Ok(Yaml::Map(entries))
    }

    fn seq(&mut self, indent: usize) -> Result<Yaml, String> {
        let mut items = Vec::new();
        while let Some((ind, t, n)) = self.peek() {
            if ind != indent || !(t == "-" || t.starts_with("- ")) {
                if ind > indent {
                    return Err(format!("line {n}: unexpected indentation"));
                }
                break;
            }
            let rest = t[1..].trim_start();
            if rest.is_empty() {
                self.pos += 1;
                match self.peek() {
                    Some((ci, _, _)) if ci > indent => items.push(self.node(ci)?),
                    _ => items.push(Yaml::Str(String::new())),
                }
            } else if split_key(rest).is_some() && !rest.starts_with('[') {
                // `- key: value`: a mapping whose keys sit where `key` does.
                let inner = ind + (t.len() - rest.len());
                self.lines[self.pos] = (inner, rest, n);
                items.push(self.map(inner)?);
            } else {
                self.pos += 1;
                items.push(scalar(rest, n)?);
            }
        }
        Ok(Yaml::Seq(items))
    }
}

#[test]
fn yaml_parser_accepts_the_subset_and_rejects_the_rest() {
    let doc = "a: 1 # c\nb:\n  - x\n  - name: y\n    v: '*'\n  - [\"p\", q]\nc: |\n  [X]\n      k v\n\n  k2 v2\nd:\n- z\n";
    let y = parse_yaml(doc).unwrap();
    assert_eq!(y.get("a"), Some(&Yaml::Str("1".into())));
    let Some(Yaml::Seq(b)) = y.get("b") else {
        panic!("{y:?}")
    };
    assert_eq!(b[0], Yaml::Str("x".into()));
    assert_eq!(b[1].get("v"), Some(&Yaml::Str("*".into())));
    assert_eq!(
        b[2],
        Yaml::Seq(vec![Yaml::Str("p".into()), Yaml::Str("q".into())])
    );
    assert_eq!(
        y.get("c").and_then(Yaml::as_str),
        Some("[X]\n    k v\n\nk2 v2\n")
    );
    assert_eq!(y.get("d"), Some(&Yaml::Seq(vec![Yaml::Str("z".into())])));
    for bad in [
        "a: *x\n",
        "a: @meta\n",
        "a: 1\na: 2\n",
        "a:\n\t- x\n",
        "a: {b: 1}\n",
        "a: b: c\n",
        "a: 'x\n",
        "a: 1\n   b: 2\n",
        "---\na: 1\n",
    ] {
        assert!(parse_yaml(bad).is_err(), "accepted {bad:?}");
    }
}

// ---------------------------------------------------------------------------
// A config, whatever its format: plugins in order, each with its properties.
// ---------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct Plugin {
    /// service, input, filter, output, parser
    kind: String,
    /// (lower-case key, value), repeated keys kept in order.
    props: Vec<(String, String)>,
}

impl Plugin {
    fn name(&self) -> &str {
        self.get("name").unwrap_or("")
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.props
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    fn all(&self, key: &str) -> Vec<&str> {
        self.props
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

fn from_classic(sections: &[Section]) -> Vec<Plugin> {
    sections
        .iter()
        .map(|s| Plugin {
            kind: s.kind.to_ascii_lowercase(),
            props: s
                .entries
                .iter()
                .map(|(k, v, _)| (k.to_ascii_lowercase(), v.clone()))
                .collect(),
        })
        .collect()
}

fn from_yaml(doc: &Yaml) -> Result<Vec<Plugin>, String> {
    let Yaml::Map(top) = doc else {
        return Err("not a mapping".into());
    };
    let mut out = Vec::new();
    let props = |m: &Yaml| -> Result<Vec<(String, String)>, String> {
        let Yaml::Map(entries) = m else {
            return Err(format!("plugin is not a mapping: {m:?}"));
        };
        let mut props = Vec::new();
        for (k, v) in entries {
            match v {
                Yaml::Str(s) => props.push((k.to_ascii_lowercase(), s.clone())),
                Yaml::Seq(items) => {
                    for item in items {
                        let s = item
                            .as_str()
                            .ok_or_else(|| format!("{k}: list of non-scalars"))?;
                        props.push((k.to_ascii_lowercase(), s.to_string()));
                    }
                }
                Yaml::Map(_) => return Err(format!("{k}: nested mappings are not used")),
            }
        }
        Ok(props)
    };
    for (key, value) in top {
        match key.as_str() {
            "service" => out.push(Plugin {
                kind: "service".into(),
                props: props(value)?,
            }),
            "pipeline" => {
                let Yaml::Map(sections) = value else {
                    return Err("pipeline is not a mapping".into());
                };
                for (section, list) in sections {
                    let kind = match section.as_str() {
                        "inputs" => "input",
                        "filters" => "filter",
                        "outputs" => "output",
                        other => return Err(format!("pipeline.{other} is not used")),
                    };
                    let Yaml::Seq(items) = list else {
                        return Err(format!("pipeline.{section} is not a list"));
                    };
                    for item in items {
                        out.push(Plugin {
                            kind: kind.into(),
                            props: props(item)?,
                        });
                    }
                }
            }
            other => return Err(format!("top-level {other:?} is not used")),
        }
    }
    Ok(out)
}

/// `# fluent-bit: ...` and `# image: ...` from the leading comment block.
fn header(text: &str, key: &str) -> Option<String> {
    text.lines()
        .take_while(|l| l.starts_with('#') || l.trim().is_empty())
        .find_map(|l| {
            l.trim_start_matches('#')
                .trim()
                .strip_prefix(key)
                .and_then(|r| r.strip_prefix(':'))
                .map(|r| r.trim().to_string())
        })
}

/// Fluent Bit's tag match (src/flb_router.c): `*` matches any run.
fn tag_matches(tag: &str, pattern: &str) -> bool {
    match pattern.find('*') {
        None => tag == pattern,
        Some(i) => {
            let (head, rest) = (&pattern[..i], &pattern[i + 1..]);
            let Some(tail) = tag.strip_prefix(head) else {
                return false;
            };
            (0..=tail.len()).any(|j| tail.is_char_boundary(j) && tag_matches(&tail[j..], rest))
        }
    }
}

const METRICS_SERVER_TAG: &str = "kube.var.log.containers.metrics-server-6d94bc8694-7xk2p_kube-system_metrics-server-3f1c0e9d2b7a.log";
const OTHER_TAGS: &[&str] = &[
    "kube.var.log.containers.coredns-5b9dfbf96-8kq2v_kube-system_coredns-77aa01.log",
    "kube.var.log.containers.checkout-api-6c5f9d7b8-p4mzx_shop_api-91bb02.log",
];

/// The names of the functions a wasm binary exports.
fn wasm_function_exports(wasm: &[u8]) -> Vec<String> {
    fn leb(b: &[u8], i: &mut usize) -> u32 {
        let (mut r, mut s) = (0u32, 0);
        loop {
            let byte = b[*i];
            *i += 1;
            r |= u32::from(byte & 0x7f) << s;
            if byte & 0x80 == 0 {
                return r;
            }
            s += 7;
        }
    }
    assert_eq!(&wasm[..8], b"\0asm\x01\0\0\0", "not a wasm module");
    let mut i = 8;
    let mut names = Vec::new();
    while i < wasm.len() {
        let id = wasm[i];
        i += 1;
        let size = leb(wasm, &mut i) as usize;
        let end = i + size;
        if id == 7 {
            let mut j = i;
            for _ in 0..leb(wasm, &mut j) {
                let len = leb(wasm, &mut j) as usize;
                let name = String::from_utf8_lossy(&wasm[j..j + len]).into_owned();
                j += len;
                let kind = wasm[j];
                j += 1;
                leb(wasm, &mut j);
                if kind == 0 {
                    names.push(name);
                }
            }
        }
        i = end;
    }
    names
}

fn is_bool_true(v: &str) -> bool {
    ["on", "true", "yes"].contains(&v.to_ascii_lowercase().as_str())
}

fn normalized(v: &str) -> String {
    match v.to_ascii_lowercase().as_str() {
        "on" | "true" | "yes" => "true".into(),
        "off" | "false" | "no" => "false".into(),
        _ => v.to_string(),
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Role {
    /// A Fluent Bit that runs the module.
    Module,
    /// A parsers file.
    Parsers,
    /// The Fargate built-in router: no module, no ${ENV}.
    Router,
}

/// Everything wrong with one config, as messages.
fn check_plugins(
    what: &str,
    versions: &[&str],
    plugins: &[Plugin],
    role: Role,
    local: bool,
    exports: &[String],
) -> Vec<String> {
    let mut errs = Vec::new();
    let mut wasm_filters = 0;
    for p in plugins {
        let at = format!("{what}: {} {}", p.kind, p.name());
        match p.kind.as_str() {
            "service" => {
                for (k, _) in &p.props {
                    for v in versions {
                        if !key_known("service", k, v) {
                            errs.push(format!("{at}: [SERVICE] key {k} unknown to Fluent Bit {v}"));
                        }
                    }
                }
            }
            "parser" => {
                if role != Role::Parsers {
                    errs.push(format!("{at}: parsers belong in a parsers file"));
                }
                for k in ["name", "format"] {
                    if p.get(k).is_none() {
                        errs.push(format!("{at}: parser without {k}"));
                    }
                }
                for (k, _) in &p.props {
                    if !["name", "format"].contains(&k.as_str()) {
                        errs.push(format!("{at}: parser key {k} not in the table"));
                    }
                }
            }
            kind => {
                let scope = format!("{kind}:{}", p.name().to_ascii_lowercase());
                if p.get("name").is_none() {
                    errs.push(format!("{at}: no Name"));
                    continue;
                }
                for v in versions {
                    if !plugin_known(&scope, v) {
                        errs.push(format!(
                            "{at}: plugin {scope} unknown to Fluent Bit {v} (or not in the table)"
                        ));
                        continue;
                    }
                    for (k, _) in &p.props {
                        if k != "name" && !key_known(kind, k, v) && !key_known(&scope, k, v) {
                            errs.push(format!("{at}: key {k} unknown to Fluent Bit {v}"));
                        }
                    }
                }
                if (kind == "filter" || kind == "output")
                    && p.get("match").is_none()
                    && p.get("match_regex").is_none()
                {
                    errs.push(format!("{at}: no Match"));
                }
            }
        }
        for (k, v) in &p.props {
            if role == Role::Router && v.contains("${") {
                errs.push(format!(
                    "{at}: the Fargate router has no ${{ENV}} ({k} {v})"
                ));
            }
            if ["path", "db", "wasm_path", "parsers_file"].contains(&k.as_str()) {
                let absolute = v.starts_with('/')
                    || (local
                        && ["${SELFSCRAPE_ROOT}/", "${SELFSCRAPE_TARGET}/"]
                            .iter()
                            .any(|var| v.starts_with(var)));
                if !absolute {
                    errs.push(format!("{at}: {k} {v} is not an absolute path"));
                }
            }
        }
        if p.kind == "filter" && p.name().eq_ignore_ascii_case("wasm") {
            wasm_filters += 1;
            if role != Role::Module {
                errs.push(format!("{at}: a wasm filter cannot run here"));
            }
            match p.get("wasm_path") {
                Some(path) if path.ends_with("/selfscrape_filter.wasm") => {}
                other => errs.push(format!("{at}: WASM_Path {other:?} is not the module")),
            }
            match p.get("function_name") {
                Some(f) if f == SHIPPED_FUNCTION && exports.iter().any(|e| e == f) => {}
                other => errs.push(format!(
                    "{at}: Function_Name {other:?}: ship {SHIPPED_FUNCTION} (exported: {exports:?})"
                )),
            }
            if let Some(fmt) = p.get("event_format") {
                if !fmt.eq_ignore_ascii_case("json") {
                    errs.push(format!("{at}: Event_Format {fmt}: JSON only"));
                }
            }
            if p.get("match_regex").is_some() {
                errs.push(format!("{at}: use Match, scoped to metrics-server's tag"));
            }
            match p.get("match") {
                Some("*") | None => errs.push(format!(
                    "{at}: the module must only see metrics-server's records"
                )),
                Some(m) if !local && !m.contains("metrics-server") => {
                    errs.push(format!("{at}: Match {m} is not metrics-server's tag"))
                }
                Some(_) => {}
            }
        }
    }
    if role == Role::Module && wasm_filters != 1 {
        errs.push(format!("{what}: {wasm_filters} wasm filters, want 1"));
    }
    errs
}

/// One Fluent Bit config file of a directory, parsed and checked.
struct Checked {
    file: PathBuf,
    versions: Vec<&'static str>,
    exact: Option<String>,
    plugins: Vec<Plugin>,
}

fn conf_dir(dir: &str) -> PathBuf {
    root().join("fluent-bit-conf").join(dir)
}

fn files(dir: &str, ext: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(conf_dir(dir))
        .unwrap_or_else(|e| panic!("fluent-bit-conf/{dir}: {e}"))
        .map(|e| e.expect("readable").path())
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .collect();
    v.sort();
    v
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn exports() -> Vec<String> {
    wasm_function_exports(&common::module_bytes())
}

/// Parses and checks every Fluent Bit config (not the router's) in `dir`.
fn check_dir(dir: &str, errs: &mut Vec<String>) -> Vec<Checked> {
    let exports = exports();
    let local = dir == "local";
    let mut out = Vec::new();
    let mut candidates = files(dir, "conf");
    candidates.extend(files(dir, "yaml"));
    for file in candidates {
        let text = read(&file);
        let what = format!(
            "fluent-bit-conf/{dir}/{}",
            file.file_name().unwrap().to_string_lossy()
        );
        let is_yaml = file.extension().is_some_and(|e| e == "yaml");
        let plugins = if is_yaml {
            let doc = match parse_yaml(&text) {
                Ok(d) => d,
                Err(e) => {
                    errs.push(format!("{what}: not valid YAML: {e}"));
                    continue;
                }
            };
            if doc.get("pipeline").is_none() && doc.get("service").is_none() {
                continue; // a Kubernetes manifest: checked elsewhere
            }
            match from_yaml(&doc) {
                Ok(p) => p,
                Err(e) => {
                    errs.push(format!("{what}: {e}"));
                    continue;
                }
            }
        } else {
            match parse_classic(&text) {
                Ok(s) => from_classic(&s),
                Err(e) => {
                    errs.push(format!("{what}: not valid classic config: {e}"));
                    continue;
                }
            }
        };
        let Some(spec) = header(&text, "fluent-bit") else {
            errs.push(format!("{what}: no `# fluent-bit: <version>` header"));
            continue;
        };
        let versions = match target_versions(&spec) {
            Ok(v) => v,
            Err(e) => {
                errs.push(format!("{what}: {e}"));
                continue;
            }
        };
        let exact = (!spec.starts_with(">=")).then(|| spec.clone());
        if let Some(image) = header(&text, "image") {
            match image_ships(&image) {
                Ok(fb) if Some(fb.to_string()) == exact => {}
                Ok(fb) => errs.push(format!(
                    "{what}: image {image} ships Fluent Bit {fb}, header names {spec}"
                )),
                Err(e) => errs.push(format!("{what}: {e}")),
            }
        }
        let role = if plugins.iter().all(|p| p.kind == "parser") {
            Role::Parsers
        } else {
            Role::Module
        };
        errs.extend(check_plugins(
            &what, &versions, &plugins, role, local, &exports,
        ));
        for v in &versions {
            // A range states compatibility; a deployment names one version.
            if LEAKY_HOSTS.contains(v) && role == Role::Module && exact.is_some() {
                errs.push(format!(
                    "{what}: targets Fluent Bit {v}, which leaks every wasm record copy"
                ));
            }
        }
        let documented = text.contains(DRY_RUN_FUNCTION);
        if role == Role::Module && !documented {
            errs.push(format!(
                "{what}: does not mention the dry run ({DRY_RUN_FUNCTION})"
            ));
        }
        out.push(Checked {
            file,
            versions,
            exact,
            plugins,
        });
    }
    out
}

/// `public.ecr.aws/aws-observability/aws-for-fluent-bit:TAG ...` -> the Fluent Bit it ships.
fn image_ships(image: &str) -> Result<&'static str, String> {
    let reference = image.split_whitespace().next().unwrap_or("");
    let Some((_, tag)) = reference.rsplit_once("aws-for-fluent-bit:") else {
        return Err(format!("{image}: not an aws-for-fluent-bit image"));
    };
    let tag = tag.split('@').next().unwrap_or(tag);
    let Some((_, fb)) = AWS_FOR_FLUENT_BIT.iter().find(|(a, _)| *a == tag) else {
        return Err(format!(
            "{image}: aws-for-fluent-bit {tag} is not a known 3.x release"
        ));
    };
    if LEAKY_HOSTS.contains(fb) {
        return Err(format!(
            "{image}: ships Fluent Bit {fb}, which leaks every wasm record copy"
        ));
    }
    Ok(fb)
}

fn assert_clean(errs: Vec<String>) {
    assert!(
        errs.is_empty(),
        "{} problems:\n{}",
        errs.len(),
        errs.join("\n")
    );
}

/// The classic config and its YAML twin say the same thing.
fn assert_twins(dir: &str, checked: &[Checked], errs: &mut Vec<String>) {
    let conf = checked.iter().find(|c| c.file.ends_with("fluent-bit.conf"));
    let yaml = checked.iter().find(|c| c.file.ends_with("fluent-bit.yaml"));
    let (Some(conf), Some(yaml)) = (conf, yaml) else {
        errs.push(format!(
            "fluent-bit-conf/{dir}: needs fluent-bit.conf and fluent-bit.yaml"
        ));
        return;
    };
    if conf.versions != yaml.versions {
        errs.push(format!(
            "fluent-bit-conf/{dir}: the twins target different versions"
        ));
    }
    let norm = |ps: &[Plugin]| -> Vec<(String, Vec<(String, String)>)> {
        ps.iter()
            .map(|p| {
                let mut props: Vec<(String, String)> = p
                    .props
                    .iter()
                    .map(|(k, v)| (k.clone(), normalized(v)))
                    .collect();
                props.sort();
                (p.kind.clone(), props)
            })
            .collect()
    };
    let (a, b) = (norm(&conf.plugins), norm(&yaml.plugins));
    if a != b {
        for (x, y) in a.iter().zip(&b).filter(|(x, y)| x != y) {
            errs.push(format!(
                "fluent-bit-conf/{dir}: twins differ:\n  conf {x:?}\n  yaml {y:?}"
            ));
        }
        if a.len() != b.len() {
            errs.push(format!(
                "fluent-bit-conf/{dir}: twins have {} and {} plugins",
                a.len(),
                b.len()
            ));
        }
    }
}

/// Strings found under `key` anywhere in a YAML document.
fn yaml_values<'y>(doc: &'y Yaml, key: &str, out: &mut Vec<&'y Yaml>) {
    match doc {
        Yaml::Map(m) => {
            for (k, v) in m {
                if k == key {
                    out.push(v);
                }
                yaml_values(v, key, out);
            }
        }
        Yaml::Seq(items) => items.iter().for_each(|i| yaml_values(i, key, out)),
        Yaml::Str(_) => {}
    }
}

fn strings(v: &Yaml) -> Vec<String> {
    match v {
        Yaml::Str(s) => vec![s.clone()],
        Yaml::Seq(items) => items.iter().flat_map(strings).collect(),
        Yaml::Map(_) => Vec::new(),
    }
}

/// The Kubernetes side of a deployment directory: every YAML parses, images
/// are pinned to an aws-for-fluent-bit that ships the configs' Fluent Bit, the
/// container loads a config of the ConfigMap, the module's mount is where
/// WASM_Path points.
fn check_manifests(dir: &str, checked: &[Checked], errs: &mut Vec<String>) {
    let mut images = Vec::new();
    let mut mounts = Vec::new();
    let mut args = Vec::new();
    let mut generated = Vec::new();
    for file in files(dir, "yaml") {
        let what = format!(
            "fluent-bit-conf/{dir}/{}",
            file.file_name().unwrap().to_string_lossy()
        );
        let doc = match parse_yaml(&read(&file)) {
            Ok(d) => d,
            Err(e) => {
                errs.push(format!("{what}: not valid YAML: {e}"));
                continue;
            }
        };
        let mut found = Vec::new();
        yaml_values(&doc, "image", &mut found);
        images.extend(found.iter().flat_map(|v| strings(v)));
        let mut found = Vec::new();
        yaml_values(&doc, "mountPath", &mut found);
        mounts.extend(found.iter().flat_map(|v| strings(v)));
        let mut found = Vec::new();
        yaml_values(&doc, "args", &mut found);
        args.extend(found.iter().flat_map(|v| strings(v)));
        if let Some(Yaml::Seq(gens)) = doc.get("configMapGenerator") {
            for g in gens {
                if let Some(fs) = g.get("files") {
                    generated.extend(strings(fs));
                }
            }
        }
    }
    let exact: Vec<&str> = checked.iter().filter_map(|c| c.exact.as_deref()).collect();
    let fb_images: Vec<&String> = images.iter().filter(|i| i.contains("fluent-bit")).collect();
    if fb_images.is_empty() {
        errs.push(format!(
            "fluent-bit-conf/{dir}: no Fluent Bit image in the manifests"
        ));
    }
    for image in fb_images {
        match image_ships(image) {
            Ok(fb) if exact.iter().all(|e| *e == fb) && !exact.is_empty() => {}
            Ok(fb) => errs.push(format!(
                "fluent-bit-conf/{dir}: image {image} ships {fb}, configs name {exact:?}"
            )),
            Err(e) => errs.push(format!("fluent-bit-conf/{dir}: {e}")),
        }
    }
    for needed in [
        "fluent-bit.conf",
        "fluent-bit.yaml",
        "selfscrape_filter.wasm",
    ] {
        if !generated.iter().any(|g| g == needed) {
            errs.push(format!(
                "fluent-bit-conf/{dir}: {needed} is not in a configMapGenerator"
            ));
        }
    }
    let loaded: Vec<&String> = args.iter().filter(|a| a.starts_with('/')).collect();
    if loaded.is_empty() {
        errs.push(format!(
            "fluent-bit-conf/{dir}: no `-c <config>` in the container args"
        ));
    }
    for path in loaded {
        let (mount, file) = path.rsplit_once('/').unwrap_or(("", path));
        if !mounts.iter().any(|m| m == mount) || !generated.iter().any(|g| g == file) {
            errs.push(format!(
                "fluent-bit-conf/{dir}: -c {path} is not a mounted generated config"
            ));
        }
    }
    for c in checked {
        for p in c.plugins.iter().filter(|p| p.name() == "wasm") {
            let path = p.get("wasm_path").unwrap_or("");
            let (mount, file) = path.rsplit_once('/').unwrap_or(("", path));
            if !mounts.iter().any(|m| m == mount) || !generated.iter().any(|g| g == file) {
                errs.push(format!(
                    "{}: WASM_Path {path} is not where the module's ConfigMap is mounted",
                    c.file.display()
                ));
            }
        }
    }
}

fn plugin<'p>(c: &'p Checked, kind: &str, name: &str) -> Vec<&'p Plugin> {
    c.plugins
        .iter()
        .filter(|p| p.kind == kind && p.name().eq_ignore_ascii_case(name))
        .collect()
}

fn position(c: &Checked, kind: &str, name: &str) -> Option<usize> {
    c.plugins
        .iter()
        .position(|p| p.kind == kind && p.name().eq_ignore_ascii_case(name))
}

#[test]
fn sidecar_configs_and_manifests() {
    let mut errs = Vec::new();
    let checked = check_dir("sidecar", &mut errs);
    assert_twins("sidecar", &checked, &mut errs);
    check_manifests("sidecar", &checked, &mut errs);
    let patch = read(&conf_dir("sidecar").join("deployment-patch.yaml"));
    let args = read(&conf_dir("sidecar").join("args-patch.yaml"));
    for c in &checked {
        let what = c.file.display().to_string();
        // kubernetes.host from the downward API, built before the module runs.
        let modify = plugin(c, "filter", "modify");
        let adds: Vec<&str> = modify.iter().flat_map(|p| p.all("add")).collect();
        if !adds.contains(&"k8s_host ${NODE_NAME}") {
            errs.push(format!(
                "{what}: no `Add k8s_host ${{NODE_NAME}}`: {adds:?}"
            ));
        }
        match plugin(c, "filter", "nest").first() {
            Some(n)
                if n.get("operation") == Some("nest")
                    && n.get("wildcard") == Some("k8s_*")
                    && n.get("nest_under") == Some("kubernetes")
                    && n.get("remove_prefix") == Some("k8s_") => {}
            other => errs.push(format!("{what}: nest must make kubernetes.host: {other:?}")),
        }
        let (m, n, w) = (
            position(c, "filter", "modify"),
            position(c, "filter", "nest"),
            position(c, "filter", "wasm"),
        );
        if !(m < n && n < w) {
            errs.push(format!("{what}: modify, nest, wasm must run in that order"));
        }
        // The file metrics-server writes is the file the sidecar tails.
        for tail in plugin(c, "input", "tail") {
            let path = tail.get("path").unwrap_or("");
            if !args.contains(&format!("--log_file={path}")) {
                errs.push(format!(
                    "{what}: tails {path}, which args-patch.yaml does not write"
                ));
            }
            let dir = path.rsplit_once('/').map_or("", |(d, _)| d);
            if !patch.contains(&format!("mountPath: {dir}\n")) {
                errs.push(format!("{what}: {dir} is not the shared emptyDir mount"));
            }
        }
    }
    for needed in [
        "fieldPath: spec.nodeName",
        "name: NODE_NAME",
        "--logtostderr=false",
    ] {
        if !patch.contains(needed) && !args.contains(needed) {
            errs.push(format!("sidecar manifests lack {needed}"));
        }
    }
    assert_clean(errs);
}

#[test]
fn aggregator_configs_and_manifests() {
    let mut errs = Vec::new();
    let checked = check_dir("aggregator", &mut errs);
    assert_twins("aggregator", &checked, &mut errs);
    check_manifests("aggregator", &checked, &mut errs);
    let router = router_outputs();
    for c in &checked {
        let what = c.file.display().to_string();
        let inputs = plugin(c, "input", "elasticsearch");
        let Some(input) = inputs.first() else {
            errs.push(format!("{what}: no elasticsearch input"));
            continue;
        };
        let tag_key = input.get("tag_key").unwrap_or("");
        let es = router.iter().find(|p| p.name() == "es");
        match es {
            Some(es) => {
                if es.get("tag_key") != Some(tag_key)
                    || !es.get("include_tag_key").is_some_and(is_bool_true)
                {
                    errs.push(format!(
                        "{what}: the router's es output must send the tag in {tag_key}"
                    ));
                }
                if es.get("port") != input.get("port") {
                    errs.push(format!("{what}: router sends to port {:?}", es.get("port")));
                }
            }
            None => errs.push("aws-logging.yaml: no es output".into()),
        }
        // What the elasticsearch input adds must not reach CloudWatch.
        let removed: Vec<&str> = plugin(c, "filter", "modify")
            .iter()
            .flat_map(|p| p.all("remove"))
            .collect();
        for key in ["@meta", "@timestamp", tag_key] {
            if !removed.contains(&key) {
                errs.push(format!("{what}: {key} is not removed before CloudWatch"));
            }
        }
        if position(c, "filter", "modify") > position(c, "filter", "wasm") {
            errs.push(format!("{what}: strip the extra keys before the module"));
        }
        for w in plugin(c, "filter", "wasm") {
            let m = w.get("match").unwrap_or("");
            if !tag_matches(METRICS_SERVER_TAG, m) || OTHER_TAGS.iter().any(|t| tag_matches(t, m)) {
                errs.push(format!(
                    "{what}: wasm Match {m} is not metrics-server's tag"
                ));
            }
        }
    }
    let service =
        parse_yaml(&read(&conf_dir("aggregator").join("service.yaml"))).expect("service.yaml");
    let name = service
        .get("metadata")
        .and_then(|m| m.get("name"))
        .and_then(Yaml::as_str)
        .unwrap_or("");
    let host = router
        .iter()
        .find(|p| p.name() == "es")
        .and_then(|p| p.get("host"))
        .unwrap_or("");
    if host != format!("{name}.kube-system.svc.cluster.local") {
        errs.push(format!(
            "aws-logging.yaml: es Host {host} is not the Service {name}"
        ));
    }
    assert_clean(errs);
}

/// The router's outputs from aws-logging.yaml (parsed by the test below).
fn router_outputs() -> Vec<Plugin> {
    let doc = parse_yaml(&read(&conf_dir("aggregator").join("aws-logging.yaml")))
        .expect("aws-logging.yaml is YAML");
    let text = doc
        .get("data")
        .and_then(|d| d.get("output.conf"))
        .and_then(Yaml::as_str)
        .expect("output.conf");
    from_classic(&parse_classic(text).expect("output.conf is classic"))
}

#[test]
fn router_configmap_fits_the_fargate_router() {
    let path = conf_dir("aggregator").join("aws-logging.yaml");
    let text = read(&path);
    let mut errs = Vec::new();
    let doc = parse_yaml(&text).expect("aws-logging.yaml is YAML");
    let meta = doc.get("metadata");
    assert_eq!(doc.get("kind").and_then(Yaml::as_str), Some("ConfigMap"));
    assert_eq!(
        meta.and_then(|m| m.get("name")).and_then(Yaml::as_str),
        Some("aws-logging")
    );
    assert_eq!(
        meta.and_then(|m| m.get("namespace")).and_then(Yaml::as_str),
        Some("aws-observability")
    );
    let versions = target_versions(&header(&text, "fluent-bit").expect("# fluent-bit: header"))
        .expect("tabulated version");
    let Some(Yaml::Map(data)) = doc.get("data") else {
        panic!("aws-logging.yaml: no data")
    };
    let mut chars = 0;
    let mut plugins = Vec::new();
    for (key, value) in data {
        let v = value.as_str().expect("data values are strings");
        chars += v.chars().count();
        if v.contains("${") {
            errs.push(format!("data.{key}: the router has no ${{ENV}}"));
        }
        match key.as_str() {
            "flb_log_cw" => assert!(["true", "false"].contains(&v), "flb_log_cw {v}"),
            "filters.conf" | "output.conf" | "parsers.conf" => match parse_classic(v) {
                Ok(s) => {
                    let ps = from_classic(&s);
                    let (kind, allowed) = match key.as_str() {
                        "filters.conf" => ("filter", ROUTER_FILTERS),
                        "output.conf" => ("output", ROUTER_OUTPUTS),
                        _ => ("parser", &[][..]),
                    };
                    for p in &ps {
                        if p.kind != kind {
                            errs.push(format!("data.{key}: a {} section", p.kind));
                        } else if kind != "parser"
                            && !allowed.contains(&p.name().to_ascii_lowercase().as_str())
                        {
                            errs.push(format!(
                                "data.{key}: the router does not allow {}",
                                p.name()
                            ));
                        }
                    }
                    plugins.extend(ps);
                }
                Err(e) => errs.push(format!("data.{key}: not valid classic config: {e}")),
            },
            other => errs.push(format!("data.{other}: not a key the router reads")),
        }
    }
    if chars > ROUTER_MAX_CHARS {
        errs.push(format!(
            "{chars} characters of data, the router allows {ROUTER_MAX_CHARS}"
        ));
    }
    errs.extend(check_plugins(
        "aws-logging.yaml",
        &versions,
        &plugins,
        Role::Router,
        false,
        &[],
    ));
    // metrics-server's records go to the aggregator and nowhere else.
    for p in plugins.iter().filter(|p| p.kind == "output") {
        let to_aggregator = p.name() == "es";
        let m = p.get("match").unwrap_or("");
        let hits_ms = (!m.is_empty() && tag_matches(METRICS_SERVER_TAG, m))
            || p.get("match_regex")
                .is_some_and(|r| !r.contains(r"(?!kube\.var\.log\.containers\.metrics-server-"));
        if to_aggregator != hits_ms {
            errs.push(format!(
                "output {}: metrics-server's records must go to the aggregator only (Match {m:?}, Match_Regex {:?})",
                p.name(),
                p.get("match_regex")
            ));
        }
        if to_aggregator && OTHER_TAGS.iter().any(|t| tag_matches(t, m)) {
            errs.push(format!("output es: Match {m} also sends other pods' logs"));
        }
    }
    let filters: Vec<&Plugin> = plugins.iter().filter(|p| p.kind == "filter").collect();
    if !filters.iter().any(|p| p.name() == "kubernetes") {
        errs.push("filters.conf: no kubernetes filter, so no kubernetes.host".into());
    }
    assert_clean(errs);
}

#[test]
fn local_configs_tail_every_example() {
    // The variables scripts/fluent-bit-local runs Fluent Bit with.
    let env = std::process::Command::new(root().join("scripts/fluent-bit-local"))
        .arg("env")
        .output()
        .expect("scripts/fluent-bit-local runs");
    assert!(env.status.success(), "{env:?}");
    let local_env: Vec<(String, String)> = String::from_utf8_lossy(&env.stdout)
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    let mut errs = Vec::new();
    let checked = check_dir("local", &mut errs);
    assert_twins("local", &checked, &mut errs);
    let examples = root().join("examples");
    let mut logs: Vec<String> = std::fs::read_dir(&examples)
        .expect("examples/")
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".log"))
        .collect();
    logs.sort();
    assert!(!logs.is_empty());
    for c in checked.iter().filter(|c| !c.file.ends_with("parsers.conf")) {
        let what = c.file.display().to_string();
        let tails = plugin(c, "input", "tail");
        for log in &logs {
            let expect = read(&examples.join(format!("{log}.expect")));
            let field = |k: &str| {
                expect
                    .lines()
                    .find_map(|l| l.strip_prefix(&format!("# {k}: ")))
                    .unwrap_or("")
                    .to_string()
            };
            let (node, envelope) = (field("node"), field("envelope"));
            let want_path = format!("${{SELFSCRAPE_ROOT}}/examples/{log}");
            let Some(tail) = tails
                .iter()
                .find(|t| t.get("path") == Some(want_path.as_str()))
            else {
                errs.push(format!("{what}: no tail input for examples/{log}"));
                continue;
            };
            let want_ml = match envelope.as_str() {
                "cri" => Some("cri"),
                "docker" => Some("docker"),
                _ => None,
            };
            if tail.get("multiline.parser") != want_ml {
                errs.push(format!(
                    "{what}: examples/{log} ({envelope}) needs multiline.parser {want_ml:?}"
                ));
            }
            let tag = tail.get("tag").unwrap_or("");
            let adds: Vec<&str> = plugin(c, "filter", "modify")
                .iter()
                .filter(|p| p.get("match") == Some(tag))
                .flat_map(|p| p.all("add"))
                .collect();
            if adds != [format!("k8s_host {node}").as_str()] {
                errs.push(format!(
                    "{what}: examples/{log} must get kubernetes.host {node}, gets {adds:?}"
                ));
            }
        }
        if !tails
            .iter()
            .any(|t| t.get("path") == Some("${SELFSCRAPE_ROOT}/examples/*.ndjson"))
        {
            errs.push(format!("{what}: no tail input for examples/*.ndjson"));
        }
        for t in &tails {
            let path = t.get("path").unwrap_or("");
            let rel = path.trim_start_matches("${SELFSCRAPE_ROOT}/");
            if !rel.contains('*') && !root().join(rel).is_file() {
                errs.push(format!("{what}: {path} does not exist"));
            }
        }
        let parsers = c
            .plugins
            .iter()
            .find(|p| p.kind == "service")
            .and_then(|s| s.get("parsers_file"))
            .unwrap_or("");
        let rel = parsers.trim_start_matches("${SELFSCRAPE_ROOT}/");
        match parse_classic(&std::fs::read_to_string(root().join(rel)).unwrap_or_default()) {
            Ok(ps) => {
                let names: Vec<String> = ps.iter().map(Section::name).collect();
                for t in &tails {
                    if let Some(p) = t.get("parser") {
                        if !names.contains(&p.to_ascii_lowercase()) {
                            errs.push(format!("{what}: parser {p} is not in {parsers}"));
                        }
                    }
                }
            }
            Err(e) => errs.push(format!("{what}: {parsers}: {e}")),
        }
        let wasm = plugin(c, "filter", "wasm");
        let path = wasm.first().and_then(|w| w.get("wasm_path")).unwrap_or("");
        let built = common::module_path();
        let resolved = local_env.iter().fold(path.to_owned(), |p, (var, value)| {
            p.replace(&format!("${{{var}}}"), value)
        });
        if Path::new(&resolved) != built {
            errs.push(format!(
                "{what}: WASM_Path {path} is not {}",
                built.display()
            ));
        }
    }
    assert_clean(errs);
}

#[test]
fn module_fits_a_configmap() {
    let bytes = common::module_bytes();
    // binaryData is base64 (4/3) inside an object etcd caps at 1 MiB.
    assert!(
        bytes.len() < 700 * 1024,
        "the module is {} bytes: too large for a ConfigMap, ship it in an image",
        bytes.len()
    );
    let exports = wasm_function_exports(&bytes);
    for f in [
        SHIPPED_FUNCTION,
        DRY_RUN_FUNCTION,
        "explain_self_scrape",
        "malloc",
        "free",
    ] {
        assert!(
            exports.iter().any(|e| e == f),
            "{f} not exported: {exports:?}"
        );
    }
}

#[test]
fn checks_catch_bad_configs() {
    let exports = vec![SHIPPED_FUNCTION.to_string()];
    let conf = |body: &str| from_classic(&parse_classic(body).expect("parses"));
    let good = "[INPUT]\n    Name tail\n    Path /x\n    Tag metrics-server\n[FILTER]\n    Name wasm\n    Match metrics-server\n    WASM_Path /m/selfscrape_filter.wasm\n    Function_Name drop_self_scrape\n";
    assert_eq!(
        check_plugins("t", &["2.0.0"], &conf(good), Role::Module, false, &exports),
        Vec::<String>::new()
    );
    let cases = [
        (
            good.replace("Function_Name drop_self_scrape", "Function_Name nope"),
            "2.0.0",
        ),
        (good.replace("/m/selfscrape", "m/selfscrape"), "2.0.0"),
        (good.replace("Match metrics-server\n", "Match *\n"), "2.0.0"),
        (format!("{good}    Event_Format json\n"), "2.0.0"),
        (format!("{good}    Event_Format msgpack\n"), "4.2.2"),
        (format!("{good}    Wasm_Stack_Size 64k\n"), "3.0.0"),
        (good.replace("Path /x", "Pth /x"), "4.2.2"),
        (good.to_string(), "1.9.10"),
    ];
    for (body, v) in cases {
        assert!(
            !check_plugins("t", &[v], &conf(&body), Role::Module, false, &exports).is_empty(),
            "accepted on {v}:\n{body}"
        );
    }
    assert!(tag_matches(
        METRICS_SERVER_TAG,
        "kube.var.log.containers.metrics-server-*_kube-system_metrics-server-*"
    ));
    assert!(!tag_matches(
        OTHER_TAGS[0],
        "kube.var.log.containers.metrics-server-*"
    ));
    assert!(image_ships("public.ecr.aws/aws-observability/aws-for-fluent-bit:3.0.1").is_err());
    assert_eq!(
        image_ships("public.ecr.aws/aws-observability/aws-for-fluent-bit:3.2.1"),
        Ok("4.2.2")
    );
}

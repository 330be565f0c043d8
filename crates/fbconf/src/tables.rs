//! Product data: which keys each Fluent Bit version knows, which Fluent Bit
//! each aws-for-fluent-bit image ships, and what the Fargate log router
//! accepts.
//!
//! Sources:
//! - Keys: fluent/fluent-bit at each tabulated tag: the plugins' config_map
//!   tables (plugins/<plugin>/*.c), the properties every input, filter and
//!   output takes (src/flb_input.c, src/flb_filter.c, src/flb_output.c:
//!   prop_key_check and their config maps), the `net.*` maps
//!   (src/flb_upstream.c, src/flb_downstream.c) and the http_server keys of
//!   5.x's HTTP inputs. Only the plugins the shipped configs use; other
//!   plugins, and `[SERVICE]` (Fluent Bit 1.9.10 to 5.1.1 start with any
//!   key there), are not judged. Keys are valid at the tabulated versions
//!   from `since` up to, not including, `until`. Fluent Bit compares keys
//!   case-insensitively. A key of a judged plugin the running version does
//!   not know stops Fluent Bit from starting ("unknown configuration
//!   property"; `--dry-run` says so only from 5.x, a start always).
//! - Images: the aws-for-fluent-bit release notes ("AWS Fluent Bit image
//!   X: fluent-bit: vY", github.com/aws/aws-for-fluent-bit/releases/tag/vX).
//! - The wasm host's behaviour by version (the leak, reference types, the
//!   stack/heap keys): docs/check.md and the project's notes on the host,
//!   read from plugins/filter_wasm and src/wasm in each version and measured
//!   on real Fluent Bit 3.2.10, 4.0.14, 4.1.0 and 5.1.1.
//! - The Fargate router: the EKS user guide, "Fargate logging" (allowed
//!   filters and outputs, no environment variables, 5300 characters).

use std::cmp::Ordering;
use std::fmt;

/// A Fluent Bit (or image) version, `major.minor.patch`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version(pub u32, pub u32, pub u32);

impl Version {
    /// `4.2.2`, `v4.2.2`, `4.2` (patch 0). Anything else: `None`.
    pub fn parse(s: &str) -> Option<Version> {
        let s = s.trim();
        let s = s.strip_prefix('v').unwrap_or(s);
        let mut parts = s.split('.');
        let mut next = |required: bool| -> Option<u32> {
            match parts.next() {
                Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => p.parse().ok(),
                None if !required => Some(0),
                _ => None,
            }
        };
        let v = Version(next(true)?, next(true)?, next(false)?);
        parts.next().is_none().then_some(v)
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.0, self.1, self.2)
    }
}

fn v(s: &str) -> Version {
    Version::parse(s).unwrap_or(Version(0, 0, 0))
}

#[rustfmt::skip]
pub const VERSIONS: &[&str] = &["1.9.10", "2.0.0", "3.0.0", "3.1.5", "3.2.10", "4.0.14", "4.1.0", "4.1.1", "4.2.0", "4.2.2", "5.0.5", "5.0.7", "5.0.9", "5.1.1"];

/// Plugins and the tabulated versions that have them.
#[rustfmt::skip]
pub const PLUGINS: &[(&str, &str, &str)] = &[
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
/// Scopes: `input`, `filter`, `output` (what every plugin of that kind
/// takes: the literals of flb_<kind>_set_property, and the keys
/// flb_config_map_properties_check accepts for any plugin), a plugin
/// (`input:tail`: its config_map, the Linux build's: `#ifdef
/// FLB_SYSTEM_WINDOWS` entries left out), and the `net.*` maps
/// (`net:upstream`, src/flb_upstream.c, for outputs; `net:downstream`,
/// src/flb_downstream.c, for a server input such as elasticsearch). A key
/// ending in `*` is a prefix (FLB_CONFIG_MAP_STR_PREFIX, `parser_*`; or a
/// family the check does not judge key by key, such as an input's `net.*`
/// or `oauth2*`). Read from each tag by a script, checked against the
/// "properties are allowed" list of real 1.9.10, 4.2.2 and 5.1.1 binaries.
#[rustfmt::skip]
pub const KEYS: &[(&str, &str, &str, &[&str])] = &[
    ("input", "1.9.10", "", &["alias", "host", "ipv6", "listen", "log_level", "mem_buf_limit", "port", "routable", "storage.pause_on_chunks_overlimit", "storage.type", "tag"]),
    ("input", "2.0.0", "", &["net.*", "threaded", "tls", "tls.ca_file", "tls.ca_path", "tls.crt_file", "tls.debug", "tls.key_file", "tls.key_passwd", "tls.verify", "tls.vhost"]),
    ("input", "3.0.0", "", &["active", "log_suppress_interval"]),
    ("input", "3.1.5", "", &["tls.verify_hostname"]),
    ("input", "4.0.14", "", &["condition", "tls.ciphers", "tls.max_version", "tls.min_version"]),
    ("input", "4.1.0", "", &["thread.ring_buffer.capacity", "thread.ring_buffer.window"]),
    ("input", "5.0.5", "", &["oauth2*", "tls.verify_client_cert"]),
    ("input", "5.1.1", "", &["rate_gate", "rate_gate.backpressure", "rate_gate.max_bytes", "rate_gate.max_records", "rate_gate.resume_ratio", "rate_window"]),
    ("filter", "1.9.10", "", &["alias", "log_level", "match", "match_regex"]),
    ("filter", "3.0.0", "", &["active", "log_suppress_interval"]),
    ("filter", "4.0.14", "", &["condition"]),
    ("output", "1.9.10", "", &["alias", "host", "ipv6", "log_level", "match", "match_regex", "port", "retry_limit", "storage.total_limit_size", "tls", "tls.ca_file", "tls.ca_path", "tls.crt_file", "tls.debug", "tls.key_file", "tls.key_passwd", "tls.verify", "tls.vhost", "workers"]),
    ("output", "3.0.0", "", &["active", "log_suppress_interval"]),
    ("output", "3.1.5", "", &["tls.verify_hostname"]),
    ("output", "4.0.14", "", &["condition", "tls.ciphers", "tls.max_version", "tls.min_version", "tls.windows.certstore_name", "tls.windows.use_enterprise_store"]),
    ("output", "4.2.0", "", &["tls.windows.client_thumbprints"]),
    ("output", "5.0.5", "", &["oauth2*"]),
    ("output", "5.1.1", "", &["tls.proxy.ca_file", "tls.proxy.ca_path", "tls.proxy.verify", "tls.proxy.verify_hostname"]),
    ("input:tail", "1.9.10", "", &["buffer_chunk_size", "buffer_max_size", "db", "db.journal_mode", "db.locking", "db.sync", "docker_mode", "docker_mode_flush", "docker_mode_parser", "event_batch_size", "exclude_path", "exit_on_eof", "ignore_older", "inotify_watcher", "key", "multiline", "multiline.parser", "multiline_flush", "offset_key", "parser", "parser_*", "parser_firstline", "path", "path_key", "read_from_head", "refresh_interval", "rotate_wait", "skip_empty_lines", "skip_long_lines", "static_batch_size", "tag_regex", "watcher_interval"]),
    ("input:tail", "3.0.0", "", &["progress_check_interval", "progress_check_interval_nsec"]),
    ("input:tail", "3.1.5", "", &["db.compare_filename", "file_cache_advise"]),
    ("input:tail", "3.2.10", "", &["ignore_active_older_files"]),
    ("input:tail", "4.0.14", "", &["generic.encoding", "read_newly_discovered_files_from_head", "unicode.encoding"]),
    ("input:tail", "4.2.0", "", &["truncate_long_lines"]),
    ("filter:modify", "1.9.10", "", &["add", "condition", "copy", "hard_copy", "hard_rename", "remove", "remove_regex", "remove_wildcard", "rename", "set"]),
    ("filter:modify", "2.0.0", "", &["move_to_end", "move_to_start"]),
    ("filter:nest", "1.9.10", "", &["add_prefix", "nest_under", "nested_under", "operation", "remove_prefix", "wildcard"]),
    ("filter:kubernetes", "1.9.10", "", &["annotations", "buffer_size", "cache_use_docker_id", "dns_retries", "dns_wait_time", "dummy_meta", "k8s-logging.exclude", "k8s-logging.parser", "keep_log", "kube_ca_file", "kube_ca_path", "kube_meta_cache_ttl", "kube_meta_preload_cache_dir", "kube_tag_prefix", "kube_token_command", "kube_token_file", "kube_token_ttl", "kube_url", "kubelet_host", "kubelet_port", "labels", "merge_log", "merge_log_key", "merge_log_trim", "merge_parser", "regex_parser", "tls.debug", "tls.verify", "tls.vhost", "use_journal", "use_kubelet", "use_tag_for_meta"]),
    ("filter:kubernetes", "3.0.0", "", &["kube_meta_namespace_cache_ttl", "namespace_annotations", "namespace_labels"]),
    ("filter:kubernetes", "3.1.5", "", &["namespace_metadata_only", "tls.verify_hostname"]),
    ("filter:kubernetes", "3.2.10", "", &["owner_references"]),
    ("filter:kubernetes", "4.1.0", "", &["aws_pod_association_endpoint", "aws_pod_association_host", "aws_pod_association_host_client_cert_file", "aws_pod_association_host_client_key_file", "aws_pod_association_host_server_ca_file", "aws_pod_association_host_tls_debug", "aws_pod_association_host_tls_verify", "aws_pod_association_port", "aws_pod_service_map_refresh_interval", "aws_pod_service_map_ttl", "aws_pod_service_preload_cache_dir", "aws_use_pod_association", "set_platform", "use_pod_association"]),
    ("filter:kubernetes", "5.0.9", "", &["kube_namespace_file"]),
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
    ("input:elasticsearch", "3.0.0", "", &["buffer_chunk_size", "buffer_max_size", "hostname", "http2", "meta_key", "tag_key", "version"]),
    ("input:elasticsearch", "5.0.5", "", &["http_server.*", "max_connections", "workers"]),
    ("net:upstream", "1.9.10", "", &["net.connect_timeout", "net.connect_timeout_log_error", "net.dns.mode", "net.dns.prefer_ipv4", "net.dns.resolver", "net.keepalive", "net.keepalive_idle_timeout", "net.keepalive_max_recycle", "net.source_address"]),
    ("net:upstream", "2.0.0", "", &["net.io_timeout"]),
    ("net:upstream", "3.0.0", "", &["net.dns.prefer_ipv6", "net.max_worker_connections"]),
    ("net:upstream", "3.2.10", "", &["net.tcp_keepalive", "net.tcp_keepalive_interval", "net.tcp_keepalive_probes", "net.tcp_keepalive_time"]),
    ("net:upstream", "4.0.14", "", &["net.proxy_env_ignore"]),
    ("net:downstream", "2.0.0", "", &["net.accept_timeout", "net.accept_timeout_log_error", "net.io_timeout"]),
    ("net:downstream", "3.0.0", "", &["net.share_port"]),
    ("net:downstream", "3.1.5", "", &["net.keepalive"]),
    ("net:downstream", "4.0.14", "", &["net.backlog"]),
];

/// From Fluent Bit 5.0.6 the `elasticsearch` input (like every input on
/// the shared HTTP server) closes a connection idle for
/// `http_server.idle_timeout` (default 10 s) unless `net.io_timeout` is set,
/// and logs `[error] [downstream] connection #N from ... timed out after 10
/// seconds (IO timeout)` for each (src/http_server/flb_http_server.c:
/// the idle timeout becomes the downstream's io_timeout; src/flb_downstream.c).
/// Before, `net.io_timeout` defaults to 0: idle connections are never closed.
/// Measured: router 1.9.10 -> aggregator 5.1.1 logged one such line per
/// connection; -> 4.2.2 none.
pub const ES_INPUT_IDLE_TIMEOUT_SINCE: Version = Version(5, 0, 6);
/// `http_server.idle_timeout`'s default, in seconds.
pub const ES_INPUT_IDLE_TIMEOUT: u64 = 10;
/// An output's `net.keepalive_idle_timeout` default (1.9.10 to 5.1.1), in
/// seconds: how long it keeps an idle connection for the next flush.
pub const KEEPALIVE_IDLE_TIMEOUT: u64 = 30;
/// How long past its `net.keepalive_idle_timeout` an idle connection may
/// stay open: the engine drops them on a 1.5 s timer, in whole seconds
/// (src/flb_engine.c, src/flb_upstream.c).
pub const KEEPALIVE_SLACK: u64 = 2;

/// Fluent Bit 4.1.0 and 4.1.1 keep one wasm instance for the process's life
/// and never free the copies of tag and record they make for each call: an
/// unbounded leak (measured: +202 MiB peak RSS between 50k and 500k records).
pub const LEAKY_HOSTS: &[&str] = &["4.1.0", "4.1.1"];

/// The first Fluent Bit whose WAMR has reference types (rustc 1.82+ emits
/// them for wasm32 by default).
pub const REFERENCE_TYPES_SINCE: Version = Version(4, 0, 3);

/// The first Fluent Bit that stops at start when a plugin property cannot be
/// set (a `log_level` it cannot read): src/flb_config.c gained `goto error`
/// after "could not configure property" in 4.0.3; before, it logs the error
/// and starts (measured: 1.9.10 starts, 4.2.2 and 5.1.1 exit 1).
pub const PROPERTY_ERROR_FATAL_SINCE: Version = Version(4, 0, 3);

/// The first Fluent Bit with the wasm filter.
pub const WASM_FILTER_SINCE: Version = Version(2, 0, 0);

/// rewrite_tag re-emits a record through its own emitter input, whose
/// memory buffer is `Emitter_Mem_Buf_Limit` (this default; rewrite_tag.h:30
/// from 1.9.10 to 5.0.9). When the buffer is full (an output down, a burst)
/// the emitter is paused and the record cannot be re-emitted; with `keep
/// false` Fluent Bit before [`REWRITE_TAG_KEEPS_ON_ERROR_SINCE`] loses it:
/// - 1.9.10 to 3.0.1: rewrite_tag.c sets `*matched = FLB_TRUE` before
///   in_emitter_add_record (v1.9.10:346, v3.0.1:389), which fails with -1
///   (src/flb_input_chunk.c: a paused input "cannot append records",
///   v1.9.10:1484-1487, v3.0.1:1504-1507; in_emitter/emitter.c
///   v1.9.10:116-126, v3.0.1:89-98); process_record then returns FLB_FALSE
///   (v1.9.10:366, v3.0.1:416), and the caller re-encodes the original only
///   when `keep == FLB_TRUE || is_matched != FLB_TRUE` (v1.9.10:433,
///   v3.0.1:504): neither the copy nor the original. The source input keeps
///   reading, so every matching record is lost while the buffer stays full.
/// - 3.0.2 to 5.0.8: the emitter pauses its source inputs with it
///   (emitter.c v3.0.2:158-162 and 356-367 cb_emitter_pause), see
///   [`REWRITE_TAG_PAUSES_INPUT_SINCE`]; but a record that still reaches the
///   filter while it is paused gets FLB_EMITTER_BUSY, -2 (emitter.c
///   v3.0.2:166-170, v5.0.8:166-169), which process_record does not take for
///   an error (`if (ret == -1)`, rewrite_tag.c v3.0.2:417, v5.0.8:417): it
///   counts as emitted and the original is removed (v5.0.8:505). Fewer
///   records, still lost.
pub const REWRITE_TAG_EMITTER_BUFFER: &str = "10M";

/// From 5.0.9 rewrite_tag keeps a record it cannot re-emit under its old tag
/// (`if (ret < 0) { *keep = FLB_TRUE; ...}`, rewrite_tag.c v5.0.9:417-419,
/// commit 6fa58ffa6), and the emitter buffers a record that arrives while it
/// is paused instead of refusing it (emitter.c v5.0.9:217-220 and 248-251,
/// commits 39ab99c55 and b0fdb50a0). v5.0.8 has neither.
pub const REWRITE_TAG_KEEPS_ON_ERROR_SINCE: Version = Version(5, 0, 9);

/// From 3.0.2 a full emitter pauses the inputs that feed it (emitter.c
/// v3.0.2:356-367; v3.0.1 has no cb_pause), so the loss is limited to the
/// records already on their way through the filter.
pub const REWRITE_TAG_PAUSES_INPUT_SINCE: Version = Version(3, 0, 2);

/// aws-for-fluent-bit releases and the Fluent Bit they ship (release notes).
/// Every 2.x ships Fluent Bit 1.9 or older (no wasm filter): see
/// [`image_fluent_bit`]. Lines: 3.0 (4.1.0, 4.1.1, 4.2.0), 3.1 (4.2.0),
/// 3.2 (4.2.2), 3.4 (5.0.5 to 5.0.9), 3.5 (5.1.2 to 5.1.5). No 3.3 release
/// note was found; a 3.3 tag is reported as unknown.
#[rustfmt::skip]
pub const AWS_FOR_FLUENT_BIT: &[(&str, &str)] = &[
    ("3.0.0", "4.1.0"), ("3.0.1", "4.1.1"), ("3.0.2", "4.2.0"),
    ("3.1.1", "4.2.0"),
    ("3.2.1", "4.2.2"),
    ("3.4.2", "5.0.5"), ("3.4.3", "5.0.5"), ("3.4.4", "5.0.7"), ("3.4.5", "5.0.7"),
    ("3.4.7", "5.0.7"), ("3.4.8", "5.0.7"), ("3.4.10", "5.0.9"), ("3.4.11", "5.0.9"),
    ("3.4.12", "5.0.9"), ("3.4.14", "5.0.9"), ("3.4.15", "5.0.9"),
    ("3.5.0", "5.1.2"), ("3.5.8", "5.1.5"), ("3.5.10", "5.1.5"),
];

/// What the EKS Fargate built-in log router accepts in the `aws-logging`
/// ConfigMap: filters, outputs (C and Go plugin names), size.
pub const ROUTER_FILTERS: &[&str] = &[
    "grep",
    "parser",
    "record_modifier",
    "rewrite_tag",
    "throttle",
    "nest",
    "modify",
    "kubernetes",
];
pub const ROUTER_OUTPUTS: &[&str] = &[
    "cloudwatch_logs",
    "cloudwatch",
    "es",
    "opensearch",
    "firehose",
    "kinesis_firehose",
    "kinesis_streams",
    "kinesis",
];
/// The router's limit on the ConfigMap, in characters.
pub const ROUTER_MAX_CHARS: usize = 5300;

/// What an image tag tells about the Fluent Bit inside.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageFluentBit {
    /// The release notes name it (or both neighbouring releases ship it).
    Known(Version),
    /// aws-for-fluent-bit 2.x: Fluent Bit 1.9 or older.
    Line2,
    /// Not in the table.
    Unknown,
}

/// The Fluent Bit of an aws-for-fluent-bit tag (`3.2.1`, `v3.2.1`,
/// `stable`/`latest` are unknown). A tag between two tabulated releases that
/// ship the same Fluent Bit ships it too (releases only move forward).
pub fn image_fluent_bit(tag: &str) -> ImageFluentBit {
    let tag = tag.split('@').next().unwrap_or(tag);
    let Some(t) = Version::parse(tag) else {
        // 2.x tags carry a fourth, date part: 2.34.3.20260818.
        let major = tag.trim_start_matches('v').split('.').next();
        return if major == Some("2") {
            ImageFluentBit::Line2
        } else {
            ImageFluentBit::Unknown
        };
    };
    if t.0 == 2 {
        return ImageFluentBit::Line2;
    }
    let rows: Vec<(Version, Version)> = AWS_FOR_FLUENT_BIT
        .iter()
        .map(|(a, f)| (v(a), v(f)))
        .collect();
    if let Some((_, fb)) = rows.iter().find(|(a, _)| *a == t) {
        return ImageFluentBit::Known(*fb);
    }
    let below = rows.iter().filter(|(a, _)| *a < t).max_by_key(|(a, _)| *a);
    let above = rows.iter().filter(|(a, _)| *a > t).min_by_key(|(a, _)| *a);
    match (below, above) {
        (Some((_, lo)), Some((_, hi))) if lo == hi => ImageFluentBit::Known(*lo),
        _ => ImageFluentBit::Unknown,
    }
}

/// Whether the table knows a plugin or key at a version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Known {
    Yes,
    No,
    /// The plugin is not in the table: not judged.
    NotTabulated,
    /// The version is not tabulated and its neighbours disagree (or it is
    /// newer than the table): the reason.
    Doubt(String),
}

fn tabulated() -> Vec<Version> {
    VERSIONS.iter().map(|s| v(s)).collect()
}

/// The newest tabulated version.
pub fn newest_tabulated() -> Version {
    tabulated().last().copied().unwrap_or(Version(0, 0, 0))
}

/// `has(t)` at a tabulated version; at another, what its neighbours say.
fn at_version(version: Version, has: impl Fn(usize) -> bool) -> Known {
    let vs = tabulated();
    if let Some(i) = vs.iter().position(|t| *t == version) {
        return if has(i) { Known::Yes } else { Known::No };
    }
    let below = vs.iter().rposition(|t| *t < version);
    let above = vs.iter().position(|t| *t > version);
    match (below, above) {
        (Some(lo), Some(hi)) => match (has(lo), has(hi)) {
            (true, true) => Known::Yes,
            (false, false) => Known::No,
            _ => Known::Doubt(format!(
                "it changed between {} and {}, the tabulated versions around {version}",
                vs[lo], vs[hi]
            )),
        },
        (Some(lo), None) => {
            if has(lo) {
                Known::Yes
            } else {
                Known::Doubt(format!(
                    "{version} is newer than the table, whose newest version {} lacks it",
                    vs[lo]
                ))
            }
        }
        (None, Some(hi)) => {
            if has(hi) {
                Known::Doubt(format!(
                    "{version} is older than the table, which starts at {}",
                    vs[hi]
                ))
            } else {
                Known::No
            }
        }
        (None, None) => Known::NotTabulated,
    }
}

fn in_range(i: usize, since: &str, until: &str) -> bool {
    let vs = VERSIONS;
    let s = vs.iter().position(|x| *x == since).unwrap_or(usize::MAX);
    let u = if until.is_empty() {
        vs.len()
    } else {
        vs.iter().position(|x| *x == until).unwrap_or(vs.len())
    };
    s <= i && i < u
}

/// `scope` is `input:tail`, `filter:wasm`, ... (lower case).
pub fn plugin_known(scope: &str, version: Version) -> Known {
    if !PLUGINS.iter().any(|(p, _, _)| *p == scope) {
        return Known::NotTabulated;
    }
    at_version(version, |i| {
        PLUGINS
            .iter()
            .any(|(p, since, until)| *p == scope && in_range(i, since, until))
    })
}

/// A key of a plugin (`scope` = `input:tail`): one of its own, or one
/// every plugin of its kind takes; `net.*` keys of an output or of the
/// elasticsearch input are read from the upstream or downstream map.
/// Section keys (`service`) are not judged: Fluent Bit starts with any
/// key there (measured on 1.9.10, 4.2.2 and 5.1.1).
pub fn key_known(scope: &str, key: &str, version: Version) -> Known {
    let key = key.to_ascii_lowercase();
    let kind = scope.split(':').next().unwrap_or(scope);
    if !matches!(kind, "input" | "filter" | "output") {
        return Known::NotTabulated;
    }
    let net = match (key.starts_with("net."), kind, scope) {
        (true, "output", _) => Some("net:upstream"),
        (true, _, "input:elasticsearch") => Some("net:downstream"),
        _ => None,
    };
    let matches = |k: &str| match k.strip_suffix('*') {
        Some(prefix) => key.len() > prefix.len() && key.starts_with(prefix),
        None => k == key,
    };
    let has = |s: &str, i: usize| {
        KEYS.iter().any(|(sc, since, until, keys)| {
            *sc == s && keys.iter().any(|k| matches(k)) && in_range(i, since, until)
        })
    };
    at_version(version, |i| match net {
        Some(map) => has(map, i),
        None => has(scope, i) || has(kind, i),
    })
}

/// The tabulated versions from `min` on (a `# fluent-bit: >=X` header).
pub fn tabulated_from(min: Version) -> Vec<Version> {
    tabulated().into_iter().filter(|t| *t >= min).collect()
}

/// Orders versions (for callers that only have strings).
pub fn compare(a: &str, b: &str) -> Ordering {
    v(a).cmp(&v(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_table_is_consistent() {
        for (scope, since, until, keys) in KEYS {
            assert!(VERSIONS.contains(since), "{scope}: since {since}");
            assert!(
                until.is_empty() || compare(until, since) == Ordering::Greater,
                "{scope}: until {until}"
            );
            for k in *keys {
                assert_eq!(*k, k.to_ascii_lowercase(), "{scope}: keys are lower case");
            }
        }
        let at = |s: &str| Version::parse(s).unwrap();
        assert_eq!(plugin_known("filter:wasm", at("1.9.10")), Known::No);
        assert_eq!(plugin_known("filter:wasm", at("2.0.0")), Known::Yes);
        assert_eq!(plugin_known("filter:lua", at("4.2.2")), Known::NotTabulated);
        // [SERVICE] is not judged: 1.9.10, 4.2.2 and 5.1.1 start with
        // http_monitor, hot_reload.watch or any key there.
        for key in [
            "http_monitor",
            "storage.delete_irrecoverable_chunks",
            "flush",
        ] {
            assert_eq!(key_known("service", key, at("5.1.1")), Known::NotTabulated);
        }
        // (scope, key, version, known): at tabulated versions, then between
        // them (agreement, or no agreement: doubt, checked below).
        for (scope, key, version, known) in [
            ("filter:wasm", "event_format", "2.0.0", false),
            ("filter:wasm", "Event_Format", "3.0.0", true),
            ("filter:wasm", "wasm_stack_size", "3.0.0", false),
            ("filter:wasm", "wasm_heap_size", "3.1.5", true),
            ("filter:wasm", "match", "3.1.5", true),
            ("input:elasticsearch", "buffer_max_size", "5.1.1", true),
            (
                "input:elasticsearch",
                "http_server.idle_timeout",
                "4.2.2",
                false,
            ),
            ("input:elasticsearch", "net.io_timeout", "4.2.2", true),
            ("output:es", "net.keepalive", "1.9.10", true),
            ("output:es", "net.io_timeout", "1.9.10", false),
            ("filter:wasm", "no_such_key", "4.2.2", false),
            ("filter:wasm", "wasm_path", "4.0.3", true),
            ("filter:wasm", "wasm_heap_size", "2.1.0", false),
            // Regressions, each measured on the real binary: 5.x's HTTP
            // server keys on the elasticsearch input ...
            ("input:elasticsearch", "http2", "5.1.1", true),
            (
                "input:elasticsearch",
                "http_server.idle_timeout",
                "5.0.9",
                true,
            ),
            ("input:elasticsearch", "workers", "4.2.2", false),
            // ... net.* from the downstream map for a server input, from
            // the upstream map for an output ...
            ("input:elasticsearch", "net.connect_timeout", "5.1.1", false),
            ("output:es", "net.connect_timeout", "1.9.10", true),
            ("output:cloudwatch_logs", "net.keepalive", "5.1.1", true),
            ("output:stdout", "net.nothing", "4.2.2", false),
            // ... tail's `parser_` is a prefix (FLB_CONFIG_MAP_STR_PREFIX):
            // parser_1 is a key, parser_ alone is not ...
            ("input:tail", "Parser_1", "1.9.10", true),
            ("input:tail", "parser_", "5.1.1", false),
            // ... a Windows-only key is no key of the Linux build ...
            ("input:tail", "windows.path_encoding", "5.1.1", false),
            // ... 5.0.x (aws-for-fluent-bit 3.4.x) key by key.
            ("filter:kubernetes", "kube_namespace_file", "5.0.9", true),
            ("filter:kubernetes", "kube_namespace_file", "5.0.7", false),
            ("filter:modify", "condition", "4.0.14", true),
        ] {
            let want = if known { Known::Yes } else { Known::No };
            assert_eq!(
                key_known(scope, key, at(version)),
                want,
                "{scope} {key} {version}"
            );
        }
        for (scope, key, version) in [
            ("filter:wasm", "wasm_heap_size", "3.1.0"),
            ("input:elasticsearch", "http_server.idle_timeout", "4.2.5"),
            ("filter:wasm", "no_such_key", "9.0.0"),
        ] {
            assert!(
                matches!(key_known(scope, key, at(version)), Known::Doubt(_)),
                "{scope} {key} {version}"
            );
        }
    }

    #[test]
    fn images_ship_what_their_release_notes_say() {
        let k = |s: &str| ImageFluentBit::Known(Version::parse(s).unwrap());
        assert_eq!(image_fluent_bit("3.0.1"), k("4.1.1"));
        assert_eq!(image_fluent_bit("v3.2.1"), k("4.2.2"));
        assert_eq!(image_fluent_bit("3.4.15"), k("5.0.9"));
        assert_eq!(image_fluent_bit("3.5.10"), k("5.1.5"));
        // Bracketed by two releases with the same Fluent Bit.
        assert_eq!(image_fluent_bit("3.4.6"), k("5.0.7"));
        assert_eq!(image_fluent_bit("3.3.0"), ImageFluentBit::Unknown);
        assert_eq!(image_fluent_bit("3.9.0"), ImageFluentBit::Unknown);
        assert_eq!(image_fluent_bit("latest"), ImageFluentBit::Unknown);
        assert_eq!(image_fluent_bit("2.34.3.20260818"), ImageFluentBit::Line2);
        assert_eq!(image_fluent_bit("2.32.0"), ImageFluentBit::Line2);
        // Every line of the table names a version the parser reads.
        for (a, f) in AWS_FOR_FLUENT_BIT {
            assert!(Version::parse(a).is_some() && Version::parse(f).is_some());
        }
    }

    #[test]
    fn versions_parse() {
        assert_eq!(Version::parse("v4.2.2"), Some(Version(4, 2, 2)));
        assert_eq!(Version::parse("4.2"), Some(Version(4, 2, 0)));
        for bad in ["", "4", "4.x.1", "4.2.2.1", "-1.2.3"] {
            assert_eq!(Version::parse(bad), None, "{bad}");
        }
    }
}

//! The rule as the Fargate router's own filters: what `selfscrape router`
//! puts in front of the user's filters, and the parsers it appends.
//!
//! The rule runs first, on the record as the router's tail input reads it:
//! `{"log": "<time> <stream> <P|F> <line>"}` under the tag
//! `kube.var.log.containers.<pod>_<namespace>_<container>-<id>.log`. Nothing
//! of the user's has run yet, so the rule needs no knowledge of their
//! parsers, keys or tags, and every record leaves it exactly as it came in:
//!
//! 1. `kubernetes`, scoped to metrics-server's tag: `kubernetes.host` (the
//!    pod's node) and `kubernetes.pod_name`.
//! 2. `parser` on `log` with the refusal shapes (Reserve_Data, Preserve_Key):
//!    a complete (`F`) line that is a refused scrape gets `ss_cand`, the
//!    failing node. Partial (`P`) lines never match.
//! 3. `modify`: judged only once (no `ss_k8s` yet), only with a host that
//!    can stand in a tag and a pod name without dots (the tag is cut at
//!    dots in step 7): `ss_cand` becomes `ss_nd`.
//! 4. `rewrite_tag`: a judged record leaves under `ss.<tag>,<host>,<node>`.
//! 5. `grep` on tags whose host and node halves are equal (a backreference
//!    in `Match_Regex`, the only place the router's filters compare two
//!    values): the own-node refusal is dropped (dry run: marked).
//! 6. `modify` on `ss.*`: `kubernetes` becomes `ss_k8s` (the "judged" mark).
//! 7. `rewrite_tag` on `ss.*`: back under its own tag (`$TAG[5]` is the file
//!    name without `.log`), into the chain again from its start. Its
//!    emitter holds the kept refusals while the output is down
//!    (`EMITTER_MEM_BUF_LIMIT`).
//! 8. `modify`: every helper key and the `kubernetes` map of step 1 go, so
//!    the user's filters see the tail's record, once.

use selfscrape_check::router::HELPER_PREFIX;
use selfscrape_fbconf::{Entry, Section};
use std::path::PathBuf;

/// The buffer of step 7's emitter, where the kept refusals wait while the
/// output is down (the records the user's ConfigMap would hold in its tail
/// input's buffer). Fluent Bit before 3.0.2 drops what it cannot re-emit
/// once this is full (before 5.0.9, a few on their way); 10M by default.
/// 16M: the most the rule may add to the router's peak memory (the records
/// leave the tail's buffer, which then reads on; docs/router.md, "Output
/// outages").
pub const EMITTER_MEM_BUF_LIMIT: &str = "16M";

/// The parsers for the refusal shapes, each with the metrics-server
/// releases that write it.
pub struct Shape {
    pub parser: &'static str,
    pub releases: &'static str,
    /// Whether a metrics-server release (major 0, minor `minor`) writes it.
    pub written_by: fn(u32) -> bool,
    pub regex: &'static str,
}

/// The router's tail line up to the container's text: a complete line.
const CRI: &str = r"\A[^ ]+ std(?:out|err) F ";
/// klog's header (`E0912 01:02:03.456789       1 scraper.go:140] `).
const KLOG: &str = r"(?:E[0-9]{4} [0-9:]{8}\.[0-9]+ +[0-9]+ [^ \]]+:[0-9]+\] )?";
/// The refused dial in Go's error text.
const DIAL: &str = r"dial tcp[46]? [^ ]+:[0-9]+: connect: connection refused";

pub const SHAPES: &[Shape] = &[
    Shape {
        parser: "ss_klog",
        releases: "v0.5 to v0.9 text logging",
        written_by: |minor| minor >= 5,
        regex: r#"{CRI}{KLOG}"Failed to scrape node" err="(?:[^"\\]|\\.)*Get \\"[^"\\ ]+\\": dial tcp[46]? [^ "\\]+:[0-9]+: connect: connection refused" node="(?<ss_cand>[a-z0-9.-]+)"\r?\z"#,
    },
    Shape {
        parser: "ss_json",
        releases: "v0.7 and later, --logging-format=json",
        written_by: |minor| minor >= 7,
        regex: r#"{CRI}\{(?:"[a-z_]+":(?:"(?:[^"\\]|\\.)*"|[0-9.eE+-]+),)*"msg":"Failed to scrape node","node":\{"name":"(?<ss_cand>[a-z0-9.-]+)"\},"err":"(?:[^"\\]|\\.)*Get \\"[^"\\ ]+\\": dial tcp[46]? [^ "\\]+:[0-9]+: connect: connection refused"(?:,"[a-z_]+":(?:"(?:[^"\\]|\\.)*"|[0-9.eE+-]+))*\}\r?\z"#,
    },
    Shape {
        parser: "ss_v04",
        releases: "v0.4",
        written_by: |minor| minor == 4,
        regex: r#"{CRI}{KLOG}unable to fully scrape metrics: unable to fully scrape metrics from node (?<ss_cand>[a-z0-9.-]+): unable to fetch metrics from node \k<ss_cand>: Get "[^" ]+": {DIAL}\r?\z"#,
    },
    Shape {
        parser: "ss_v03",
        releases: "v0.3",
        written_by: |minor| minor <= 3,
        regex: r#"{CRI}{KLOG}unable to fully collect metrics: unable to fully scrape metrics from source kubelet_summary:(?<ss_cand>[a-z0-9.-]+): unable to fetch metrics from Kubelet \k<ss_cand> \([^()]*\): Get (?:"[^" ]+"|[^" ]+): {DIAL}\r?\z"#,
    },
];

impl Shape {
    /// The regex as the parser section writes it.
    pub fn regex(&self) -> String {
        self.regex
            .replace("{CRI}", CRI)
            .replace("{KLOG}", KLOG)
            .replace("{DIAL}", DIAL)
    }
}

/// Every helper key and parser name the rule uses: a user's ConfigMap that
/// already has one of them cannot take the rule as is.
pub const HELPER_KEYS: &[&str] = &["ss_cand", "ss_nd", "ss_k8s", "ss_m"];
pub const MARK_PARSER: &str = "ss_mark";

/// A section the rule writes: `kind` and `(key, value)` entries, in order.
fn section(kind: &str, entries: &[(&str, &str)]) -> Section {
    let mut s = Section {
        kind: kind.into(),
        file: PathBuf::new(),
        line: 0,
        entries: Vec::new(),
        span: None,
    };
    for (k, v) in entries {
        push(&mut s, k, v);
    }
    s
}

fn push(s: &mut Section, key: &str, value: &str) {
    s.entries.push(Entry {
        key: key.into(),
        value: value.into(),
        line: 0,
    });
}

/// A section's text with a file's own indentation.
pub fn render(s: &Section, header: &str, key: &str) -> String {
    let mut out = format!("{header}[{}]\n", s.kind.to_ascii_uppercase());
    for e in &s.entries {
        out.push_str(&format!("{key}{} {}\n", e.key, e.value));
    }
    out
}

/// What the rule's sections depend on.
pub struct RuleOptions<'a> {
    /// The tag pattern of metrics-server's records.
    pub matcher: String,
    /// The shapes to recognise.
    pub shapes: Vec<&'a Shape>,
    /// Mark own-node refusals instead of dropping them.
    pub dry_run: bool,
    /// The kubernetes filter's settings (copied from the user's, or the
    /// router's usual ones).
    pub kubernetes: Vec<(String, String)>,
}

/// The tag pattern of a container's records under the router's tail.
pub fn container_match(container: &str) -> String {
    format!("kube.*_{container}-*")
}

/// The tag of a judged record whose host and node halves are equal.
const OWN_NODE_TAG: &str = r"\Ass\.[^,]+,([a-z0-9.-]+),\1\z";

/// The filters, in the order they go in front of the user's.
pub fn filters(o: &RuleOptions) -> Vec<Section> {
    let mut out = judged(o);
    out.extend(verdict(o));
    out.extend(returned(o));
    out
}

/// Steps 1 to 4: a refused scrape leaves under `ss.<tag>,<host>,<node>`.
fn judged(o: &RuleOptions) -> Vec<Section> {
    let m = o.matcher.as_str();
    let mut kube = section("filter", &[("Name", "kubernetes"), ("Match", m)]);
    for (k, v) in &o.kubernetes {
        push(&mut kube, k, v);
    }
    let mut parser = section(
        "filter",
        &[("Name", "parser"), ("Match", m), ("Key_Name", "log")],
    );
    for s in &o.shapes {
        push(&mut parser, "Parser", s.parser);
    }
    push(&mut parser, "Reserve_Data", "On");
    push(&mut parser, "Preserve_Key", "On");
    vec![
        kube,
        parser,
        section(
            "filter",
            &[
                ("Name", "modify"),
                ("Match", m),
                (
                    "Condition",
                    r"Key_value_matches $kubernetes['host'] \A[a-z0-9.-]+\z",
                ),
                (
                    "Condition",
                    r"Key_value_does_not_match $kubernetes['pod_name'] \.",
                ),
                ("Condition", "Key_does_not_exist ss_k8s"),
                ("Rename", "ss_cand ss_nd"),
            ],
        ),
        section(
            "filter",
            &[
                ("Name", "rewrite_tag"),
                ("Match", m),
                ("Rule", "$ss_nd . ss.$TAG,$kubernetes['host'],$ss_nd false"),
            ],
        ),
    ]
}

/// Step 5: the own-node refusal dropped (dry run: marked).
fn verdict(o: &RuleOptions) -> Vec<Section> {
    if o.dry_run {
        return vec![
            section(
                "filter",
                &[
                    ("Name", "modify"),
                    ("Match", "zz.never"),
                    ("Match_Regex", OWN_NODE_TAG),
                    ("Add", r#"ss_m {"self_scrape":true}"#),
                ],
            ),
            section(
                "filter",
                &[
                    ("Name", "parser"),
                    ("Match", "ss.*"),
                    ("Key_Name", "ss_m"),
                    ("Parser", MARK_PARSER),
                    ("Reserve_Data", "On"),
                ],
            ),
        ];
    }
    vec![section(
        "filter",
        &[
            ("Name", "grep"),
            ("Match", "zz.never"),
            ("Match_Regex", OWN_NODE_TAG),
            ("Exclude", "$kubernetes['host'] ."),
        ],
    )]
}

/// Steps 6 to 8: back under its own tag, judged, without the helper keys.
fn returned(o: &RuleOptions) -> Vec<Section> {
    let m = o.matcher.as_str();
    vec![
        section(
            "filter",
            &[
                ("Name", "modify"),
                ("Match", "ss.*"),
                ("Rename", "kubernetes ss_k8s"),
                ("Remove", "ss_nd"),
            ],
        ),
        section(
            "filter",
            &[
                ("Name", "rewrite_tag"),
                ("Match", "ss.*"),
                (
                    "Rule",
                    "$ss_k8s['host'] . kube.var.log.containers.$TAG[5].log false",
                ),
                ("Emitter_Mem_Buf_Limit", EMITTER_MEM_BUF_LIMIT),
            ],
        ),
        section(
            "filter",
            &[
                ("Name", "modify"),
                ("Match", m),
                ("Remove", "kubernetes"),
                // ss_k8s and ss_cand: the tail's record has no other key.
                ("Remove_wildcard", HELPER_PREFIX),
            ],
        ),
    ]
}

/// The parsers the filters name.
pub fn parsers(o: &RuleOptions) -> Vec<Section> {
    let mut out: Vec<Section> = o
        .shapes
        .iter()
        .map(|s| {
            section(
                "parser",
                &[
                    ("Name", s.parser),
                    ("Format", "Regex"),
                    ("Regex", &s.regex()),
                ],
            )
        })
        .collect();
    if o.dry_run {
        out.push(section(
            "parser",
            &[("Name", MARK_PARSER), ("Format", "json")],
        ));
    }
    out
}

/// The kubernetes filter's keys that say where and how metadata is read
/// (copied from the user's own kubernetes filter): never what it does to
/// the record (Merge_Log, Keep_Log, K8S-Logging.*, Labels, Annotations).
pub const KUBERNETES_COPIED: &[&str] = &[
    "buffer_size",
    "kube_meta_cache_ttl",
    "kube_tag_prefix",
    "kube_token_ttl",
    "kube_meta_preload_cache_dir",
    "use_kubelet",
    "kubelet_port",
    "kubelet_host",
    "tls.verify",
    "tls.debug",
    "dns_retries",
    "dns_wait_time",
];

/// The router's usual kubernetes settings (AWS's documented ConfigMap),
/// for a ConfigMap without a kubernetes filter of its own.
pub const KUBERNETES_DEFAULT: &[(&str, &str)] =
    &[("Buffer_Size", "0"), ("Kube_Meta_Cache_TTL", "300s")];

//! The engine-independent case corpus: `tests/corpus/*.toml`.
//!
//! Each file holds `[[case]]` tables:
//!
//! ```toml
//! [[case]]
//! name = "v06-cri-own-refused"   # unique across the corpus
//! why = "what this case guards"
//! record = '''{"log":"..."}'''    # the record body as Fluent Bit's JSON mode passes it
//! verdict = "drop"                # or "keep"
//! reason = "own_node_refused"     # optional: a `Reason::code()`
//! node = "fargate-ip-..."         # optional: the failing node `explain` reports
//! ```
//!
//! In a `record`, `${kubernetes}` stands for the usual `"kubernetes":{...}`
//! map of the own metrics-server pod ([`KUBERNETES`]: the kubernetes
//! filter's keys, `host` [`OWN`], `pod_ip` [`OWN_IP`]) and
//! `${kubernetes_without_host}` for the same map without `host`
//! ([`KUBERNETES_WITHOUT_HOST`]); a case that needs another map writes it out.
//!
//! Instead of `record`, a case may give `record_hex` (arbitrary bytes, for
//! invalid UTF-8, NUL, msgpack) or `gen = { kind = "...", ... }`, a
//! deterministic generator defined below (hostile sizes and shapes).
//!
//! A file may also hold a `[matrix]`: every `[[matrix.line]]` (a failed-scrape
//! line, `${node}` and `${ip}` for the failing node) in every
//! `[[matrix.envelope]]` (a record, `${line}` for the line as JSON string
//! content, `${kubernetes}` for the map), for each of the four [`VARIANTS`]
//! (own node by `host`, own node by `pod_ip`, another node with and without
//! `host`): the cases `m-<line>-<envelope>-<variant>` (tests/corpus/matrix.toml).
//!
//! Running: [`run`] checks every case an engine is given through one closure,
//! collects the findings and fails with all of them; `SELFSCRAPE_CASE`
//! ([`CASE_VAR`]) narrows every run to the cases it names.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde::Deserialize;

/// What the filter must do with a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Drop,
    Keep,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Drop => "drop",
            Verdict::Keep => "keep",
        }
    }
}

/// One case, loaded and generated.
#[derive(Debug, Clone)]
pub struct Case {
    /// `shapes_klog.toml`, ...
    pub file: String,
    pub name: String,
    pub why: String,
    /// The record body, without the NUL the host appends.
    pub record: Vec<u8>,
    pub verdict: Verdict,
    /// Expected `Reason::code()`, when the case pins it.
    pub reason: Option<String>,
    /// Expected failing node in `explain_self_scrape`, when the case pins it.
    pub node: Option<String>,
    /// How the record was given: "record", "record_hex" or "gen:<kind>".
    pub source: String,
}

impl Case {
    /// True when Fluent Bit could send this record in its JSON event format:
    /// UTF-8 text without NUL (the host's buffer is NUL-terminated text).
    /// Other records can only arrive raw (msgpack format, a broken host).
    pub fn json_mode(&self) -> bool {
        !self.record.contains(&0) && std::str::from_utf8(&self.record).is_ok()
    }

    /// `file:name`, for failure reports.
    pub fn id(&self) -> String {
        format!("{}:{}", self.file, self.name)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    case: Vec<RawCase>,
    matrix: Option<Matrix>,
}

/// Lines x envelopes x [`VARIANTS`].
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Matrix {
    line: Vec<MatrixLine>,
    envelope: Vec<MatrixEnvelope>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MatrixLine {
    id: String,
    /// The start of each case's why: "v0.7 klog (scraper.go:149)".
    what: String,
    /// The line as metrics-server prints it, `${node}` and `${ip}` for the
    /// failing node.
    text: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MatrixEnvelope {
    id: String,
    /// The middle of each case's why: "in the CRI multiline log".
    what: String,
    /// The record, `${line}` for the line (JSON string content) and
    /// `${kubernetes}` for the map.
    record: String,
}

/// One of the four ways a matrix line meets the pod's `kubernetes` map.
pub struct Variant {
    pub id: &'static str,
    /// The end of the case's why.
    pub what: &'static str,
    /// The failing node in the line, and its IP.
    pub node: &'static str,
    pub ip: &'static str,
    /// Whether the map has `host` (else only `pod_ip`).
    pub host: bool,
    pub verdict: Verdict,
    pub reason: &'static str,
}

/// The matrix's variants, in the order of each envelope's cases.
pub const VARIANTS: [Variant; 4] = [
    Variant {
        id: "own-host",
        what: "own node by kubernetes.host",
        node: OWN,
        ip: OWN_IP,
        host: true,
        verdict: Verdict::Drop,
        reason: "own_node_refused",
    },
    Variant {
        id: "own-podip",
        what: "own node by pod_ip (no host)",
        node: OWN,
        ip: OWN_IP,
        host: false,
        verdict: Verdict::Drop,
        reason: "own_node_refused",
    },
    Variant {
        id: "other",
        what: "another node refused (a kubelet down)",
        node: OTHER,
        ip: OTHER_IP,
        host: true,
        verdict: Verdict::Keep,
        reason: "other_node_refused",
    },
    Variant {
        id: "other-podip",
        what: "another node refused, no host, pod_ip is ours",
        node: OTHER,
        ip: OTHER_IP,
        host: false,
        verdict: Verdict::Keep,
        reason: "other_node_refused",
    },
];

impl Matrix {
    fn cases(&self, file: &str) -> Vec<RawCase> {
        let mut out = Vec::new();
        for line in &self.line {
            for envelope in &self.envelope {
                for v in &VARIANTS {
                    let text = line.text.replace("${node}", v.node).replace("${ip}", v.ip);
                    let map = if v.host {
                        KUBERNETES.to_string()
                    } else {
                        kubernetes_without_host()
                    };
                    let record = envelope
                        .record
                        .replace("${line}", &json_escape(&text))
                        .replace("${kubernetes}", &map);
                    assert!(
                        !record.contains("${"),
                        "{file}: matrix envelope {} leaves a placeholder: {record}",
                        envelope.id
                    );
                    out.push(RawCase {
                        name: format!("m-{}-{}-{}", line.id, envelope.id, v.id),
                        why: format!("{} {}, {}", line.what, envelope.what, v.what),
                        record: Some(record),
                        record_hex: None,
                        generator: None,
                        verdict: v.verdict.as_str().to_string(),
                        reason: Some(v.reason.to_string()),
                        node: (v.verdict == Verdict::Drop).then(|| v.node.to_string()),
                    });
                }
            }
        }
        out
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCase {
    name: String,
    why: String,
    record: Option<String>,
    record_hex: Option<String>,
    #[serde(rename = "gen")]
    generator: Option<Gen>,
    verdict: String,
    reason: Option<String>,
    node: Option<String>,
}

/// Bracket style for [`Gen::Nested`].
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Bracket {
    /// `[[[...]]]`
    Array,
    /// `{"log":{"kubernetes":{"host":...}}}`: keys the rule reads, nested
    Object,
    /// arrays and objects alternating
    Mixed,
}

/// The generator kinds. Every one is deterministic; sizes are of the part
/// named, the whole record is a little larger.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Gen {
    /// `{"deep":<depth levels>}`, then the symptom keys when `with_line`.
    /// With `closed = false` the levels are never closed (invalid JSON) and
    /// the symptom keys, if any, come first.
    Nested {
        depth: usize,
        bracket: Bracket,
        with_line: bool,
        #[serde(default = "yes")]
        closed: bool,
    },
    /// `{"log":"<bytes of plain text>[<symptom line>]","kubernetes":{own}}`.
    BigLog {
        bytes: usize,
        #[serde(default)]
        line_at_end: bool,
    },
    /// `{"filler":"<bytes of x>",<symptom keys>}` (or without the symptom).
    BigValue { bytes: usize, with_line: bool },
    /// `{"k0":"v0",...,"k<count-1>":"v..."[,<symptom keys>]}`.
    ManyKeys { count: usize, with_line: bool },
    /// `count` repetitions of `"log":"<symptom line>"`, then kubernetes.
    DupLog { count: usize },
    /// `{"<bytes of k>":"v"[,<symptom keys>]}`.
    BigKey { bytes: usize, with_line: bool },
    /// `bytes` of JSON text `\"\\` repeated: in log (no symptom), or in an
    /// unrelated value before the symptom keys.
    QuotesBackslashes { bytes: usize, with_line: bool },
    /// An unrelated string holding `count` escaped copies of the symptom
    /// keys' text; the real log is harmless.
    FakeKeysInString { count: usize },
    /// The symptom with a node name of `bytes` bytes (63-byte labels) that
    /// kubernetes.host repeats.
    LongNode { bytes: usize },
    /// `{"log":"\u00e9..."}`: `bytes` of escapes.
    UnicodeEscapes { bytes: usize },
    /// The symptom whose kubernetes map has `count` labels before host.
    BigLabels { count: usize },
    /// `bytes` pseudo-random bytes (the tests' one generator, `seed`), after a `{` when `brace`.
    RandomBytes {
        bytes: usize,
        seed: u64,
        #[serde(default)]
        brace: bool,
    },
    /// log holds the symptom line `count` times, joined by `\n`.
    RepeatLine { count: usize },
}

fn yes() -> bool {
    true
}

/// The own node of the generated records (same as in the TOML cases).
pub const OWN: &str = "fargate-ip-10-6-194-69.eu-west-2.compute.internal";
pub const OWN_IP: &str = "10.6.194.69";
/// Another Fargate node (its kubelet is another pod's).
pub const OTHER: &str = "fargate-ip-10-6-130-17.eu-west-2.compute.internal";
pub const OTHER_IP: &str = "10.6.130.17";

/// `${kubernetes}` in a case's record: the map Fluent Bit's kubernetes filter
/// adds to the own metrics-server pod's records, as most cases carry it.
pub const KUBERNETES: &str = concat!(
    r#""kubernetes":{"pod_name":"metrics-server-6d94bc8694-x7kqp","namespace_name":"kube-system","#,
    r#""pod_id":"3f1c2a9e-5b7d-4e1a-9c2f-8d6e0b4a7c11","labels":{"app.kubernetes.io/instance":"metrics-server","#,
    r#""app.kubernetes.io/name":"metrics-server","eks.amazonaws.com/fargate-profile":"fp-kube-system","#,
    r#""pod-template-hash":"6d94bc8694"},"annotations":{"CapacityProvisioned":"0.25vCPU 0.5GB","#,
    r#""Logging":"LoggingEnabled"},"host":"fargate-ip-10-6-194-69.eu-west-2.compute.internal","#,
    r#""pod_ip":"10.6.194.69","container_name":"metrics-server","#,
    r#""docker_id":"9b2e6f0c4d1a8e7b3c5f2a9d6e1b4c8f7a3d0e5b2c9f6a1d4e7b0c3f8a5d2e9b","#,
    r#""container_hash":"registry.k8s.io/metrics-server/metrics-server@sha256:ffcb2bf004d6aa0a17d90e0247cf94f2865c8901dcab4427034c341951c239f9","#,
    r#""container_image":"registry.k8s.io/metrics-server/metrics-server:v0.7.2"}"#
);

/// `${kubernetes_without_host}`: [`KUBERNETES`] without its `host` key (a
/// kubernetes filter that could not read the node, or before it was added).
pub fn kubernetes_without_host() -> String {
    KUBERNETES.replacen(&format!("\"host\":\"{OWN}\","), "", 1)
}

/// `record` with the `${kubernetes}` shorthands written out.
fn expand(record: &str) -> String {
    if !record.contains("${kubernetes") {
        return record.to_string();
    }
    record
        .replace("${kubernetes_without_host}", &kubernetes_without_host())
        .replace("${kubernetes}", KUBERNETES)
}

/// The v0.7 klog symptom line (text, not yet JSON-escaped) for `node`.
pub fn symptom_line(node: &str) -> String {
    format!(
        "E1128 06:00:05.123456       1 scraper.go:149] \"Failed to scrape node\" \
         err=\"Get \\\"https://{OWN_IP}:10250/metrics/resource\\\": dial tcp {OWN_IP}:10250: \
         connect: connection refused\" node=\"{}\"",
        node.replace('\\', "\\\\").replace('"', "\\\"")
    )
}

/// JSON string content for `s` (no surrounding quotes), escaped the way
/// Fluent Bit escapes: `"`, `\`, control characters, non-ASCII as `\uXXXX`.
pub fn json_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || (c as u32) > 0x7e => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
            c => out.push(c),
        }
    }
    out
}

/// `"log":"<symptom line>","kubernetes":{"host":"<node>","pod_ip":"<own ip>"}`
fn symptom_keys(node: &str) -> String {
    format!(
        "\"log\":\"{}\",\"kubernetes\":{{\"host\":\"{}\",\"pod_ip\":\"{OWN_IP}\"}}",
        json_escape(&symptom_line(node)),
        json_escape(node)
    )
}

fn own_kubernetes() -> String {
    format!("\"kubernetes\":{{\"host\":\"{OWN}\",\"pod_ip\":\"{OWN_IP}\"}}")
}

/// Plain text filler of exactly `bytes` bytes.
fn filler(bytes: usize) -> String {
    const UNIT: &str =
        "I1128 06:00:05.123456       1 httplog.go:132] HTTP verb=GET URI=/livez resp=200 ";
    UNIT.chars().cycle().take(bytes).collect()
}

impl Gen {
    /// The record bytes.
    pub fn generate(&self) -> Vec<u8> {
        let record = match *self {
            Gen::Nested {
                depth,
                bracket,
                with_line,
                closed,
            } => nested(depth, bracket, with_line, closed),
            Gen::BigLog { bytes, line_at_end } => {
                let mut log = filler(bytes);
                if line_at_end {
                    log.push_str(&json_escape(&symptom_line(OWN)));
                }
                format!("{{\"log\":\"{log}\",{}}}", own_kubernetes())
            }
            Gen::BigValue { bytes, with_line } => {
                object(&format!("\"filler\":\"{}\"", "x".repeat(bytes)), with_line)
            }
            Gen::ManyKeys { count, with_line } => object(&many_keys(count), with_line),
            Gen::DupLog { count } => {
                let log = format!("\"log\":\"{}\",", json_escape(&symptom_line(OWN)));
                format!("{{{}{}}}", log.repeat(count), own_kubernetes())
            }
            Gen::BigKey { bytes, with_line } => {
                object(&format!("\"{}\":\"v\"", "k".repeat(bytes)), with_line)
            }
            Gen::QuotesBackslashes { bytes, with_line } => quotes_backslashes(bytes, with_line),
            Gen::FakeKeysInString { count } => {
                // The text `","log":"..","kubernetes":{..},"x":"`, escaped
                // once more so that it stays inside the string.
                let fake = json_escape(&format!("\",{},\"x\":\"", symptom_keys(OWN)));
                format!(
                    "{{\"x\":\"{}\",\"log\":\"all good\",{}}}",
                    fake.repeat(count),
                    own_kubernetes()
                )
            }
            Gen::LongNode { bytes } => format!("{{{}}}", symptom_keys(&long_node_name(bytes))),
            Gen::UnicodeEscapes { bytes } => format!(
                "{{\"log\":\"{}\",{}}}",
                "\\u00e9".repeat(bytes / 6),
                own_kubernetes()
            ),
            Gen::BigLabels { count } => big_labels(count),
            Gen::RandomBytes { bytes, seed, brace } => return random_bytes(bytes, seed, brace),
            Gen::RepeatLine { count } => {
                let line = json_escape(&symptom_line(OWN));
                let log = vec![line; count].join("\\n");
                format!("{{\"log\":\"{log}\",{}}}", own_kubernetes())
            }
        };
        record.into_bytes()
    }

    fn kind(&self) -> &'static str {
        match self {
            Gen::Nested { .. } => "nested",
            Gen::BigLog { .. } => "big_log",
            Gen::BigValue { .. } => "big_value",
            Gen::ManyKeys { .. } => "many_keys",
            Gen::DupLog { .. } => "dup_log",
            Gen::BigKey { .. } => "big_key",
            Gen::QuotesBackslashes { .. } => "quotes_backslashes",
            Gen::FakeKeysInString { .. } => "fake_keys_in_string",
            Gen::LongNode { .. } => "long_node",
            Gen::UnicodeEscapes { .. } => "unicode_escapes",
            Gen::BigLabels { .. } => "big_labels",
            Gen::RandomBytes { .. } => "random_bytes",
            Gen::RepeatLine { .. } => "repeat_line",
        }
    }
}

/// `{<members>}`, then the symptom keys after the members when `with_line`.
fn object(members: &str, with_line: bool) -> String {
    let mut s = String::with_capacity(members.len() + 1024);
    s.push('{');
    s.push_str(members);
    if with_line {
        if !members.is_empty() {
            s.push(',');
        }
        s.push_str(&symptom_keys(OWN));
    }
    s.push('}');
    s
}

/// [`Gen::Nested`]: `depth` levels around the own node's name, under `deep`.
fn nested(depth: usize, bracket: Bracket, with_line: bool, closed: bool) -> String {
    const KEYS: [&str; 3] = ["log", "kubernetes", "host"];
    let mut open = String::with_capacity(depth * 16);
    let mut close = String::with_capacity(depth * 2);
    for i in 0..depth {
        let object = match bracket {
            Bracket::Array => false,
            Bracket::Object => true,
            Bracket::Mixed => i % 2 == 1,
        };
        if object {
            let _ = write!(open, "{{\"{}\":", KEYS[i % 3]);
            close.push('}');
        } else {
            open.push('[');
            close.push(']');
        }
    }
    let deep = format!("\"deep\":{open}\"{OWN}\"");
    let close: String = close.chars().rev().collect();
    match (closed, with_line) {
        (true, _) => object(&format!("{deep}{close}"), with_line),
        (false, true) => format!("{{{},{deep}", symptom_keys(OWN)),
        (false, false) => format!("{{{deep}"),
    }
}

/// [`Gen::ManyKeys`]'s members: `"k0":"v0",...` (`count` of them).
fn many_keys(count: usize) -> String {
    let mut s = String::with_capacity(count * 16);
    for i in 0..count {
        if i > 0 {
            s.push(',');
        }
        let _ = write!(s, "\"k{i}\":\"v{i}\"");
    }
    s
}

/// [`Gen::QuotesBackslashes`].
fn quotes_backslashes(bytes: usize, with_line: bool) -> String {
    // `\"\\` is a quote and a backslash; the string ends on an escaped
    // backslash right before its closing quote.
    let units = "\\\"\\\\".repeat(bytes / 4);
    if with_line {
        format!("{{\"x\":\"{units}\",{}}}", symptom_keys(OWN))
    } else {
        format!("{{\"log\":\"{units}\",{}}}", own_kubernetes())
    }
}

/// A valid node name of exactly `bytes` bytes: 63-byte labels of `a`, and
/// a `b` where a cut would leave a trailing dot.
fn long_node_name(bytes: usize) -> String {
    let label = "a".repeat(63);
    let mut node = String::with_capacity(bytes + 64);
    while node.len() < bytes {
        if !node.is_empty() {
            node.push('.');
        }
        node.push_str(&label);
    }
    node.truncate(bytes);
    while node.ends_with('.') {
        node.pop();
        node.push('b');
    }
    node
}

/// [`Gen::BigLabels`].
fn big_labels(count: usize) -> String {
    let mut labels = String::with_capacity(count * 24);
    for i in 0..count {
        if i > 0 {
            labels.push(',');
        }
        let _ = write!(labels, "\"example.com/label-{i}\":\"value-{i}\"");
    }
    format!(
        "{{\"log\":\"{}\",\"kubernetes\":{{\"labels\":{{{labels}}},\"host\":\"{OWN}\",\"pod_ip\":\"{OWN_IP}\"}}}}",
        json_escape(&symptom_line(OWN))
    )
}

/// [`Gen::RandomBytes`].
fn random_bytes(bytes: usize, seed: u64, brace: bool) -> Vec<u8> {
    let len = bytes + usize::from(brace);
    let mut out = Vec::with_capacity(len);
    if brace {
        out.push(b'{');
    }
    let mut rng = crate::Rng::new(seed);
    while out.len() < len {
        out.extend_from_slice(&rng.next().to_le_bytes());
    }
    out.truncate(len);
    out
}

/// `tests/corpus` of this checkout.
pub fn corpus_dir() -> PathBuf {
    // This crate is <checkout>/crates/testkit.
    let checkout = Path::new(env!("CARGO_MANIFEST_DIR")).ancestors().nth(2);
    checkout.unwrap_or(Path::new(".")).join("tests/corpus")
}

fn decode_hex(s: &str) -> Result<Vec<u8>, String> {
    let s: String = s.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    if s.len() % 2 != 0 {
        return Err("odd number of hex digits".into());
    }
    (0..s.len())
        .step_by(2)
        .map(|i| {
            s.get(i..i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| format!("bad hex at {i}"))
        })
        .collect()
}

/// Loads every `tests/corpus/*.toml`, in file name order, generating the
/// generated records. Panics (fails the test) on any malformed case: a
/// corpus that does not load must not pass for an empty one.
pub fn load() -> Vec<Case> {
    let dir = corpus_dir();
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    paths.sort();
    assert!(!paths.is_empty(), "no corpus files in {}", dir.display());
    let mut cases = Vec::new();
    let mut problems = Vec::new();
    let mut seen = std::collections::HashMap::new();
    for path in paths {
        let file = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
        let parsed: File =
            toml::from_str(&text).unwrap_or_else(|e| panic!("parsing {}: {e}", path.display()));
        let mut raws = parsed.case;
        if let Some(matrix) = &parsed.matrix {
            raws.extend(matrix.cases(&file));
        }
        assert!(!raws.is_empty(), "{file} has no [[case]] and no [matrix]");
        for raw in raws {
            let id = format!("{file}:{}", raw.name);
            if let Some(first) = seen.insert(raw.name.clone(), file.clone()) {
                problems.push(format!("{id}: name already used in {first}"));
            }
            if raw.why.trim().is_empty() {
                problems.push(format!("{id}: empty why"));
            }
            let verdict = match raw.verdict.as_str() {
                "drop" => Verdict::Drop,
                "keep" => Verdict::Keep,
                other => {
                    problems.push(format!("{id}: verdict {other:?} is not drop/keep"));
                    continue;
                }
            };
            if verdict == Verdict::Drop
                && raw
                    .reason
                    .as_deref()
                    .is_some_and(|r| r != "own_node_refused")
            {
                problems.push(format!(
                    "{id}: a drop can only have reason own_node_refused"
                ));
            }
            if verdict == Verdict::Keep && raw.reason.as_deref() == Some("own_node_refused") {
                problems.push(format!("{id}: keep with reason own_node_refused"));
            }
            let (record, source) = match (raw.record, raw.record_hex, raw.generator) {
                (Some(r), None, None) => (expand(&r).into_bytes(), "record".to_string()),
                (None, Some(h), None) => match decode_hex(&h) {
                    Ok(b) => (b, "record_hex".to_string()),
                    Err(e) => {
                        problems.push(format!("{id}: record_hex: {e}"));
                        continue;
                    }
                },
                (None, None, Some(g)) => (g.generate(), format!("gen:{}", g.kind())),
                _ => {
                    problems.push(format!("{id}: give exactly one of record, record_hex, gen"));
                    continue;
                }
            };
            cases.push(Case {
                file: file.clone(),
                name: raw.name,
                why: raw.why,
                record,
                verdict,
                reason: raw.reason,
                node: raw.node,
                source,
            });
        }
    }
    assert!(
        problems.is_empty(),
        "malformed corpus:\n{}",
        problems.join("\n")
    );
    cases
}

/// Every case, loaded once per process (the generated records are large):
/// [`load`]'s cases, shared by every test of a test binary.
pub fn all() -> &'static [Case] {
    static ALL: OnceLock<Vec<Case>> = OnceLock::new();
    ALL.get_or_init(load)
}

/// The environment variable that narrows every corpus run to some cases:
/// `SELFSCRAPE_CASE=v07-cri-own-refused cargo test`. Names are separated by
/// commas; a name may be `file:name`, and a trailing `*` matches a prefix
/// (`SELFSCRAPE_CASE='m-v07-*'`). A name no case has fails the run.
pub const CASE_VAR: &str = "SELFSCRAPE_CASE";

/// The filter of `SELFSCRAPE_CASE`, if set and not empty.
pub fn case_filter() -> Option<String> {
    std::env::var(CASE_VAR)
        .ok()
        .filter(|v| !v.trim().is_empty())
}

/// True when `pattern` (one name of the filter) names `case`.
fn names(pattern: &str, case: &Case) -> bool {
    let id = case.id();
    match pattern.strip_suffix('*') {
        Some(prefix) => case.name.starts_with(prefix) || id.starts_with(prefix),
        None => case.name == pattern || id == pattern,
    }
}

/// The cases of `cases` that `filter` (as in [`CASE_VAR`]) names. Panics
/// when one of its names matches no case of the whole corpus: a typo must
/// not pass for a run that checked nothing.
pub fn select<'a>(cases: &'a [Case], filter: Option<&str>) -> Vec<&'a Case> {
    let Some(filter) = filter else {
        return cases.iter().collect();
    };
    let patterns: Vec<&str> = filter
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect();
    for p in &patterns {
        assert!(
            all().iter().any(|c| names(p, c)),
            "{CASE_VAR}: no corpus case is named {p:?} (a name, file:name, or a prefix*)"
        );
    }
    cases
        .iter()
        .filter(|c| patterns.iter().any(|p| names(p, c)))
        .collect()
}

/// The cases a run checks: every case, or those `SELFSCRAPE_CASE` names.
pub fn selected() -> Vec<&'static Case> {
    select(all(), case_filter().as_deref())
}

/// The one corpus runner every engine uses: `check` judges each selected
/// case (every case, or those `SELFSCRAPE_CASE` names) through the engine
/// and adds a finding for each disagreement; then the run fails with all
/// of them, or prints how many cases agreed. `what` names the engine in
/// both. Returns the number of cases checked.
pub fn run(what: &str, check: impl FnMut(&Case, &mut Failures)) -> usize {
    run_cases(what, &selected(), check)
}

/// [`run`] over `cases` (already selected, e.g. a subset an engine can take).
pub fn run_cases(
    what: &str,
    cases: &[&Case],
    mut check: impl FnMut(&Case, &mut Failures),
) -> usize {
    let mut failures = Failures::default();
    for case in cases {
        check(case, &mut failures);
    }
    failures.assert_none(what, cases.len());
    match case_filter() {
        Some(filter) => println!(
            "{what}: {} corpus cases agree ({CASE_VAR}={filter})",
            cases.len()
        ),
        None => println!("{what}: {} corpus cases agree", cases.len()),
    }
    cases.len()
}

/// Collects failures and reports them all at once.
#[derive(Debug, Default)]
pub struct Failures {
    lines: Vec<String>,
    failed_cases: std::collections::BTreeSet<String>,
}

impl Failures {
    pub fn add(&mut self, case: &Case, what: impl std::fmt::Display) {
        self.failed_cases.insert(case.id());
        self.lines.push(format!(
            "{} [{}] ({}): {what}",
            case.id(),
            case.verdict.as_str(),
            case.why
        ));
    }

    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// Panics with every failure when there is any.
    pub fn assert_none(&self, what: &str, total: usize) {
        if !self.lines.is_empty() {
            panic!(
                "{what}: {} of {total} cases disagree ({} findings):\n{}",
                self.failed_cases.len(),
                self.lines.len(),
                self.lines.join("\n")
            );
        }
    }
}

/// A short, printable excerpt of bytes for messages.
pub fn excerpt(bytes: &[u8]) -> String {
    let head: Vec<u8> = bytes.iter().copied().take(160).collect();
    let mut s = String::from_utf8_lossy(&head).into_owned();
    if bytes.len() > head.len() {
        let _ = write!(s, "... ({} bytes)", bytes.len());
    }
    s
}

/// Checks that `out` is `record` with exactly `"self_scrape":true` added at
/// the top level (as JSON values; by text when `record` is deeper than
/// serde_json's recursion limit).
pub fn check_marked(record: &[u8], out: &[u8]) -> Result<(), String> {
    use serde_json::Value;
    let Ok(input) = serde_json::from_slice::<Value>(record) else {
        let close = record.iter().rposition(|&b| b == b'}').unwrap_or(0);
        let ok = out.starts_with(&record[..close])
            && out.ends_with(b"\"self_scrape\":true}")
            && out.len() <= close + b",\"self_scrape\":true}".len();
        return if ok {
            Ok(())
        } else {
            Err(format!(
                "mark output is not the input plus \"self_scrape\":true: ...{}",
                String::from_utf8_lossy(&out[out.len().saturating_sub(120)..])
            ))
        };
    };
    let Value::Object(mut want) = input else {
        return Err("a marked record that is not a JSON object".into());
    };
    if want.contains_key("self_scrape") {
        return Err("the input already has self_scrape; the case is unusable".into());
    }
    let got: Value = serde_json::from_slice(out)
        .map_err(|e| format!("mark output is not JSON ({e}): {}", excerpt(out)))?;
    want.insert("self_scrape".into(), Value::Bool(true));
    if got != Value::Object(want) {
        return Err(format!(
            "mark output is not the input plus \"self_scrape\":true: {}",
            excerpt(out)
        ));
    }
    Ok(())
}

/// What `explain_self_scrape` said.
#[derive(Debug, Clone)]
pub struct Explained {
    pub verdict: String,
    pub reason: String,
    pub node: String,
}

/// Parses an `explain_self_scrape` reply.
pub fn parse_explain(out: &[u8]) -> Result<Explained, String> {
    use serde_json::Value;
    let v: Value = serde_json::from_slice(out)
        .map_err(|e| format!("explain output is not JSON ({e}): {}", excerpt(out)))?;
    let field = |k: &str| {
        v.get(k)
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| format!("explain output has no string {k}: {}", excerpt(out)))
    };
    Ok(Explained {
        verdict: field("verdict")?,
        reason: field("reason")?,
        node: field("node")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_matrix_is_every_line_in_every_envelope_four_ways() {
        let matrix: Vec<&Case> = all().iter().filter(|c| c.file == "matrix.toml").collect();
        assert_eq!(matrix.len(), 7 * 5 * VARIANTS.len());
        let named = |name: &str| matrix.iter().find(|c| c.name == name).copied();
        let own = named("m-v07-cri-own-host").expect("m-v07-cri-own-host");
        assert_eq!(own.verdict, Verdict::Drop);
        assert_eq!(own.node.as_deref(), Some(OWN));
        let text = String::from_utf8_lossy(&own.record);
        assert!(text.ends_with(&format!(",{KUBERNETES}}}")), "{text}");
        let other = named("m-json-docker-other-podip").expect("m-json-docker-other-podip");
        assert_eq!(other.verdict, Verdict::Keep);
        assert_eq!(other.node, None);
        let text = String::from_utf8_lossy(&other.record);
        assert!(
            text.contains(OTHER_IP) && !text.contains("\"host\""),
            "{text}"
        );
    }

    #[test]
    fn no_record_keeps_a_shorthand() {
        for c in all() {
            assert!(
                !String::from_utf8_lossy(&c.record).contains("${kubernetes"),
                "{}",
                c.id()
            );
        }
        assert!(!kubernetes_without_host().contains("\"host\""));
        assert_eq!(
            kubernetes_without_host().len() + format!("\"host\":\"{OWN}\",").len(),
            KUBERNETES.len()
        );
    }

    #[test]
    fn the_case_filter_takes_names_ids_and_prefixes() {
        let cases = all();
        assert_eq!(select(cases, None).len(), cases.len());
        let one = select(cases, Some("v07-cri-own-refused"));
        assert_eq!(one.len(), 1);
        assert_eq!(one[0].id(), "shapes_klog.toml:v07-cri-own-refused");
        let two = select(
            cases,
            Some("shapes_klog.toml:v07-cri-own-refused, m-v07-cri-other"),
        );
        assert_eq!(two.len(), 2);
        assert_eq!(select(cases, Some("m-v07-cri-*")).len(), VARIANTS.len());
        assert_eq!(select(cases, Some("matrix.toml:*")).len(), 140);
    }

    #[test]
    #[should_panic(expected = "no corpus case is named \"no-such-case\"")]
    fn a_filter_that_names_no_case_fails() {
        select(all(), Some("v07-cri-own-refused,no-such-case"));
    }
}

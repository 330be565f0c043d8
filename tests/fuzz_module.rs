//! Seeded fuzzing of the built module through the WAMR host at Fluent Bit's
//! default stack and heap (8 KiB each), in every `cargo test`:
//!
//! - arbitrary JSON objects (random keys, nesting to several hundred levels,
//!   long strings, every JSON escape and `\uXXXX` form, numbers of every
//!   shape), as Fluent Bit prints them (`fluent_bit_json`), some carrying real
//!   failed-scrape lines at random places;
//! - real failed-scrape records in every shape and envelope, mutated (nodes
//!   swapped, lines truncated, extra quotes, escaped quotes inside node names,
//!   other causes, severities, partial flags, own-node identity changes...);
//! - the same records mutated as raw text (cut, bytes inserted, keys
//!   duplicated), and arbitrary bytes, through `call_raw`.
//!
//! Oracle for every case: no trap (no lost record of any kind); a kept reply
//! is byte-identical to the input; a drop agrees with the rule's plain
//! specification, `rule::spec` (crates/rule/src/spec.rs). For records Fluent Bit can
//! send (the first two families) the reverse holds too: the spec's drops are
//! the module's drops. The native `rule::evaluate` (one persistent `Scratch`,
//! as the module keeps) is held to the same oracle, so that the rule
//! is fuzzed natively too. The raw families only check that nothing unsafe
//! happens (raw text may hide the rule's words behind escapes a Fluent Bit
//! never writes, which the module may keep).
//!
//! Counts: `SELFSCRAPE_FUZZ_CASES` (per family, default below) and
//! `SELFSCRAPE_FUZZ_SEED`; every run prints its seed, cases, traps, altered
//! keeps and drop disagreements.
use crate::common;

use crate::common::Rng;
use selfscrape_host::{Host, HostConfig};
use selfscrape_replay::fluent_bit_json;
use selfscrape_rule::guest::Export;
use selfscrape_rule::{self as rule, Scratch, spec};
use serde_json::{Map, Number, Value, json};
use std::fmt::Write as _;

const FUNCTION: &str = Export::Drop.name();
const TAG: &str = "kube.var.log.containers.metrics-server";

/// Cases per family in a plain `cargo test`.
const DEFAULT_CASES: usize = 3000;

fn cases() -> usize {
    std::env::var("SELFSCRAPE_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_CASES)
}

fn seed(family: u64) -> u64 {
    let base = std::env::var("SELFSCRAPE_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x5e1f_5c4a_9e00_0001);
    base ^ family.wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

/// Runs `f` on a thread with a large stack: serde_json values recurse once per nesting level.
fn big_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(512 << 20)
        .spawn(f)
        .unwrap()
        .join()
        .unwrap_or_else(|e| std::panic::resume_unwind(e))
}

// ------------------------------------------------------------- oracle ----

/// What the fuzz run saw.
#[derive(Default)]
struct FuzzTally {
    family: &'static str,
    cases: u64,
    kept: u64,
    dropped: u64,
    traps: u64,
    /// Any other loss (invalid return, missing function): also data loss.
    other_losses: u64,
    altered_keeps: u64,
    /// Module drops that the spec keeps: lines lost.
    unsafe_drops: u64,
    /// Reference drops the module keeps (checked for Fluent Bit records only).
    missed_drops: u64,
    /// Calls to mark/explain (every third Fluent Bit record), and the ones
    /// that disagreed with the drop export or were lost.
    side_calls: u64,
    side_failures: u64,
    /// The native `rule::evaluate` (persistent scratch, as the module keeps):
    /// records where it and the spec disagree (both ways for Fluent Bit
    /// records; only its drops otherwise).
    native_disagreements: u64,
    scratch: Scratch,
    report: String,
}

impl FuzzTally {
    fn new(family: &'static str) -> FuzzTally {
        FuzzTally {
            family,
            ..FuzzTally::default()
        }
    }

    fn note(&mut self, what: &str, record: &[u8]) {
        if self.report.len() < 20_000 {
            let _ = writeln!(self.report, "  {what}: {}", excerpt(record));
        }
    }

    /// One record through the module. `both_ways`: also require the
    /// spec's drops to be the module's.
    fn check(&mut self, host: &mut Host, record: &[u8], both_ways: bool) {
        self.check_call(host, record, true, both_ways);
    }

    /// The dry run and the explanation of a Fluent Bit record agree with
    /// the drop export's verdict, without a trap: `mark_self_scrape` returns
    /// the record unchanged, or with `"self_scrape":true` appended when
    /// dropped; `explain_self_scrape` says "drop" exactly then.
    fn check_mark_and_explain(&mut self, host: &mut Host, record: &[u8], dropped: bool) {
        self.side_calls += 2;
        match host.call_raw(Export::Mark.name(), TAG, 0, 0, record, true) {
            Ok(out) => {
                let want = if dropped {
                    let close = record.iter().rposition(|&b| b == b'}').unwrap_or(0);
                    let head = &record[..close];
                    let mut w = head.to_vec();
                    if head.iter().rev().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
                        w.push(b',');
                    }
                    w.extend_from_slice(b"\"self_scrape\":true}");
                    w
                } else {
                    record.to_vec()
                };
                if out != want {
                    self.side_failures += 1;
                    self.note(
                        &format!("mark_self_scrape replied {}", excerpt(&out)),
                        record,
                    );
                }
            }
            Err(loss) => {
                self.traps += u64::from(matches!(loss, selfscrape_host::Loss::Trap(_)));
                self.side_failures += 1;
                self.note(&format!("mark_self_scrape LOST ({loss})"), record);
            }
        }
        match host.call_raw(Export::Explain.name(), TAG, 0, 0, record, true) {
            Ok(out) => {
                let verdict = serde_json::from_slice::<Value>(&out)
                    .ok()
                    .and_then(|v| v.get("verdict").and_then(Value::as_str).map(str::to_string));
                let want = if dropped { "drop" } else { "keep" };
                if verdict.as_deref() != Some(want) {
                    self.side_failures += 1;
                    self.note(
                        &format!("explain_self_scrape replied {}", excerpt(&out)),
                        record,
                    );
                }
            }
            Err(loss) => {
                self.traps += u64::from(matches!(loss, selfscrape_host::Loss::Trap(_)));
                self.side_failures += 1;
                self.note(&format!("explain_self_scrape LOST ({loss})"), record);
            }
        }
    }

    /// `nul`: JSON mode (NUL-terminated input); false: msgpack mode's call.
    fn check_call(&mut self, host: &mut Host, record: &[u8], nul: bool, both_ways: bool) {
        self.cases += 1;
        self.check_native(record, both_ways);
        let reply = host.call_raw(FUNCTION, TAG, 1_764_309_605, 123_456_789, record, nul);
        match reply {
            Err(loss) => {
                if matches!(loss, selfscrape_host::Loss::Trap(_)) {
                    self.traps += 1;
                } else {
                    self.other_losses += 1;
                }
                self.note(&format!("LOST ({loss})"), record);
            }
            Ok(reply) => {
                let sample = both_ways && self.cases % 3 == 0;
                if sample && (unchanged(record, &reply) || reply.is_empty()) {
                    self.check_mark_and_explain(host, record, reply.is_empty());
                }
                if unchanged(record, &reply) {
                    self.kept += 1;
                    if both_ways && spec::drops(record) {
                        self.missed_drops += 1;
                        self.note("kept, the spec drops it", record);
                    }
                } else if reply.is_empty() {
                    self.dropped += 1;
                    if !spec::drops(record) {
                        self.unsafe_drops += 1;
                        self.note("dropped, the spec keeps it", record);
                    }
                } else {
                    self.kept += 1;
                    self.altered_keeps += 1;
                    self.note(&format!("kept but ALTERED to {}", excerpt(&reply)), record);
                }
            }
        }
    }

    /// The fast rule as compiled natively against the spec.
    fn check_native(&mut self, record: &[u8], both_ways: bool) {
        let fast = rule::evaluate(record, &mut self.scratch).drops();
        let plain = spec::drops(record);
        if fast != plain && (both_ways || fast) {
            self.native_disagreements += 1;
            self.note(
                &format!("native rule::evaluate drops: {fast}, spec drops: {plain}"),
                record,
            );
        }
    }

    fn finish(self) {
        println!(
            "fuzz {}: {} cases ({} kept, {} dropped); traps {}, other losses {}, altered keeps {}, \
             unsafe drops {}, missed drops {}; mark/explain calls {}, disagreements {}; \
             native rule vs spec disagreements {}",
            self.family,
            self.cases,
            self.kept,
            self.dropped,
            self.traps,
            self.other_losses,
            self.altered_keeps,
            self.unsafe_drops,
            self.missed_drops,
            self.side_calls,
            self.side_failures,
            self.native_disagreements
        );
        let bad = self.traps
            + self.other_losses
            + self.altered_keeps
            + self.unsafe_drops
            + self.missed_drops
            + self.side_failures
            + self.native_disagreements;
        assert!(
            bad == 0,
            "fuzz {}: {bad} failures:\n{}",
            self.family,
            self.report
        );
    }
}

/// The module's reply to a msgpack map containing 0x00 (crates/rule/src/guest.rs): no
/// reply can carry such a record past the host's NUL cut, so the module says
/// why in a msgpack map instead. Never seen for a JSON-mode record.
const MSGPACK_PLACEHOLDER: &[u8] =
    b"\x81\xb0selfscrape_error\xd9\x3amsgpack event_format is unsupported: use event_format json";

/// Whether `reply` is the record kept unchanged, as the host reads it (up to
/// the first NUL, as Fluent Bit does): all of any record Fluent Bit sends in
/// JSON mode; the documented placeholder for a msgpack map holding 0x00.
fn unchanged(record: &[u8], reply: &[u8]) -> bool {
    let until_nul = record.split(|&b| b == 0).next().unwrap_or_default();
    reply == until_nul
        || (record.contains(&0)
            && matches!(record.first(), Some(0x80..=0x8f | 0xde | 0xdf))
            && reply == MSGPACK_PLACEHOLDER)
}

fn excerpt(b: &[u8]) -> String {
    let s = String::from_utf8_lossy(b);
    if s.len() <= 1200 {
        return s.into_owned();
    }
    let head: String = s.chars().take(800).collect();
    let tail: String = s
        .chars()
        .rev()
        .take(300)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!("{head} ...[{} bytes]... {tail}", b.len())
}

fn default_host() -> Host {
    let config = HostConfig::default();
    assert_eq!(config.effective().stack_size, 8192);
    assert_eq!(config.effective().heap_size, 8192);
    Host::new(&common::module_bytes(), config).expect("module loads")
}

// ------------------------------------------------- real failed scrapes ----

/// The parts of one failed-scrape line that the mutations play with.
#[derive(Debug, Clone)]
struct Scrape {
    node: String,
    ip: String,
    err: String,
}

const OWN_IP: &str = "10.6.194.69";
const OWN: &str = "fargate-ip-10-6-194-69.eu-west-2.compute.internal";
const OTHER_IP: &str = "10.6.130.17";
const OTHER: &str = "fargate-ip-10-6-130-17.eu-west-2.compute.internal";

fn refused(ip: &str, port: u16, path: &str, quoted_url: bool) -> String {
    let host = if ip.contains(':') {
        format!("[{ip}]")
    } else {
        ip.to_string()
    };
    if quoted_url {
        format!(
            "Get \"https://{host}:{port}{path}\": dial tcp {host}:{port}: connect: connection refused"
        )
    } else {
        format!(
            "Get https://{host}:{port}{path}: dial tcp {host}:{port}: connect: connection refused"
        )
    }
}

/// Errors that are not an own-node refusal, as metrics-server prints them.
fn lookalike(rng: &mut Rng, ip: &str) -> String {
    let url = format!("Get \"https://{ip}:10250/metrics/resource\"");
    match rng.below(12) {
        0 => format!("{url}: context deadline exceeded"),
        1 => format!("{url}: dial tcp {ip}:10250: i/o timeout"),
        2 => format!("{url}: dial tcp {ip}:10250: connect: no route to host"),
        3 => format!("{url}: dial tcp: lookup node-x on 10.100.0.10:53: no such host"),
        4 => format!("{url}: x509: certificate is valid for 127.0.0.1, not {ip}"),
        5 => format!("{url}: remote error: tls: internal error"),
        6 => "request failed, status: \"403 Forbidden\"".to_string(),
        7 => {
            format!("{url}: proxyconnect tcp: dial tcp 10.0.0.5:3128: connect: connection refused")
        }
        8 => format!("{url}: dial tcp {ip}:10250: connect: connection refused; retrying"),
        9 => format!("{url}: dial tcp {ip}:10250: connect: connection reset by peer"),
        10 => format!("{url}: net/http: TLS handshake timeout"),
        _ => "connect: connection refused".to_string(),
    }
}

/// Go's `strconv.Quote` body (what klog prints between quotes), ASCII only
/// escapes: enough for the lines metrics-server writes.
fn go_quote(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

/// A failed-scrape line in one of metrics-server's text shapes.
fn text_line(rng: &mut Rng, s: &Scrape) -> String {
    let hms = format!(
        "{:02}:{:02}:{:02}",
        rng.below(24),
        rng.below(60),
        rng.below(60)
    );
    match rng.below(6) {
        // v0.5 to v0.9 klog, structured.
        0..=2 => {
            let file = rng.pick(&["scraper.go:149", "scraper.go:140", "scraper.go:139"]);
            let mut line = format!(
                "E1128 {hms}.123456       1 {file}] \"Failed to scrape node\" err=\"{}\" node=\"{}\"",
                go_quote(&s.err),
                go_quote(&s.node)
            );
            if rng.one_in(4) {
                line = format!(
                    "E1128 {hms}.123456       1 {file}] \"Failed to scrape node\" node=\"{}\" err=\"{}\"",
                    go_quote(&s.node),
                    go_quote(&s.err)
                );
            }
            line
        }
        // v0.7+ timeout variant (never a refusal).
        3 => format!(
            "E1128 {hms}.123456       1 scraper.go:147] \"Failed to scrape node, timeout to access kubelet\" err=\"{}\" node=\"{}\" timeout=\"10s\"",
            go_quote(&s.err),
            go_quote(&s.node)
        ),
        // v0.4 aggregate.
        4 => {
            let one = format!(
                "unable to fully scrape metrics from node {n}: unable to fetch metrics from node {n}: {e}",
                n = s.node,
                e = s.err
            );
            let body = if rng.one_in(3) {
                let other = format!(
                    "unable to fully scrape metrics from node {n}: unable to fetch metrics from node {n}: {e}",
                    n = OTHER,
                    e = refused(
                        OTHER_IP,
                        10250,
                        "/stats/summary?only_cpu_and_memory=true",
                        true
                    )
                );
                format!("[{one}, {other}]")
            } else {
                one
            };
            format!(
                "E0518 {hms}.060171       1 server.go:132] unable to fully scrape metrics: {body}"
            )
        }
        // v0.3 aggregate.
        _ => format!(
            "E0306 {hms}.940331       1 manager.go:111] unable to fully collect metrics: unable to fully scrape metrics from source kubelet_summary:{n}: unable to fetch metrics from Kubelet {n} ({ip}): {e}",
            n = s.node,
            ip = s.ip,
            e = s.err
        ),
    }
}

/// The JSON-logging (`--logging-format=json`) object for a failed scrape.
fn json_logging(s: &Scrape) -> Value {
    json!({
        "ts": 1_764_312_065_431.281_7,
        "caller": "scraper/scraper.go:149",
        "msg": "Failed to scrape node",
        "node": {"name": s.node},
        "err": s.err,
    })
}

fn kubernetes(rng: &mut Rng, host: &str, ip: &str) -> Value {
    let mut k = Map::new();
    k.insert("pod_name".into(), json!("metrics-server-6d94bc8694-x7kqp"));
    k.insert("namespace_name".into(), json!("kube-system"));
    match rng.below(8) {
        0 => {} // no host: pod_ip decides
        1 => {
            k.insert("host".into(), json!(null));
        }
        _ => {
            k.insert("host".into(), json!(host));
        }
    }
    if !rng.one_in(4) {
        k.insert("pod_ip".into(), json!(ip));
    }
    k.insert("container_name".into(), json!("metrics-server"));
    k.insert(
        "container_image".into(),
        json!("registry.k8s.io/metrics-server/metrics-server:v0.7.2"),
    );
    Value::Object(k)
}

/// A record carrying `line` (a klog text line) in one of the envelopes.
fn envelope(rng: &mut Rng, line: &str, k8s: Option<Value>) -> Value {
    let mut r = Map::new();
    // Timestamps vary (in length too): the module remembers records but for
    // their timestamps, and must still agree with the spec.
    let time = format!(
        "2026-11-28T06:{:02}:{:02}.{}Z",
        rng.below(60),
        rng.below(60),
        rng.below(1_000_000_000)
    );
    match rng.below(5) {
        0 => {
            r.insert("time".into(), json!(time));
            r.insert("stream".into(), json!("stderr"));
            r.insert("_p".into(), json!("F"));
            r.insert("log".into(), json!(line));
        }
        1 => {
            r.insert("message".into(), json!(line));
            r.insert("logtag".into(), json!("F"));
        }
        2 => {
            r.insert("log".into(), json!(format!("{line}\n")));
            r.insert("stream".into(), json!("stderr"));
            r.insert("time".into(), json!(time));
        }
        3 => {
            r.insert(
                "log".into(),
                json!(format!("2026-11-28T06:00:00.123456789Z stderr F {line}")),
            );
        }
        _ => {
            r.insert(
                "log".into(),
                json!(format!("2026-11-28T06:00:00.123Z {line}")),
            );
        }
    }
    if let Some(k) = k8s {
        r.insert("kubernetes".into(), k);
    }
    Value::Object(r)
}

/// A record carrying a JSON-logging line: in `log`, merged at the root, or
/// under a Merge_Log_Key.
fn json_envelope(rng: &mut Rng, s: &Scrape, k8s: Option<Value>) -> Value {
    let obj = json_logging(s);
    let text = serde_json::to_string(&obj).unwrap();
    let mut r = Map::new();
    match rng.below(4) {
        0 => {
            r.insert("log".into(), json!(text));
            r.insert("stream".into(), json!("stderr"));
        }
        1 => {
            if let Value::Object(m) = obj {
                r.extend(m);
            }
        }
        2 => {
            r.insert("log".into(), json!(text));
            if let Value::Object(m) = obj {
                r.extend(m);
            }
        }
        _ => {
            r.insert("log".into(), json!(text));
            r.insert("log_processed".into(), obj);
        }
    }
    if let Some(k) = k8s {
        r.insert("kubernetes".into(), k);
    }
    Value::Object(r)
}

/// A real failed-scrape record, mostly droppable before mutation.
fn real_record(rng: &mut Rng) -> Value {
    let s = Scrape {
        node: OWN.to_string(),
        ip: OWN_IP.to_string(),
        err: refused(
            OWN_IP,
            10250,
            rng.pick(&[
                "/metrics/resource",
                "/stats/summary?only_cpu_and_memory=true",
            ]),
            true,
        ),
    };
    mutated_record(rng, s, 0)
}

/// Builds a record from `s` after `rounds` random mutations of its parts and
/// envelope.
fn mutated_record(rng: &mut Rng, mut s: Scrape, rounds: usize) -> Value {
    let mut host = OWN.to_string();
    let mut own_ip = OWN_IP.to_string();
    let mut line_edit: Option<usize> = None;
    let mut severity: Option<char> = None;
    let mut partial = false;
    let mut no_k8s = false;
    for _ in 0..rounds {
        match rng.below(16) {
            // Swapped nodes: the line names another node...
            0 => {
                s.node = OTHER.into();
                s.ip = OTHER_IP.into();
                s.err = refused(OTHER_IP, 10250, "/metrics/resource", true);
            }
            // ...or the pod sits on another node.
            1 => {
                host = OTHER.into();
                own_ip = OTHER_IP.into();
            }
            // Escaped quotes (and other characters) inside the node name.
            2 => {
                let mut at = rng.below(s.node.len() + 1);
                while !s.node.is_char_boundary(at) {
                    at -= 1;
                }
                let what = rng.pick(&["\"", "\\", "\\\"", "'", " ", "\n", "A", "_", "é"]);
                s.node.insert_str(at, what);
            }
            3 => s.err = lookalike(rng, &s.ip.clone()),
            4 => line_edit = Some(rng.below(6)),
            5 => severity = Some(rng.pick(&['I', 'W', 'F', 'e'])),
            6 => partial = true,
            7 => no_k8s = true,
            // The dialled IP and the pod's IP disagree.
            8 => s.err = refused(OTHER_IP, 10250, "/metrics/resource", true),
            9 => {
                let p = rng.pick(&[1u16, 443, 10255, 65535]);
                let v6 = rng.one_in(2);
                s.ip = if v6 { "fd00::a".into() } else { s.ip.clone() };
                own_ip = s.ip.clone();
                s.err = refused(&s.ip, p, "/x", rng.one_in(2));
            }
            10 => {
                s.err = s.err.replace(
                    "dial tcp ",
                    rng.pick(&[
                        "dial tcp4 ",
                        "dial tcp6 ",
                        "dial udp ",
                        "dial tcp46 ",
                        "dial  tcp ",
                    ]),
                )
            }
            11 => s
                .err
                .push_str(rng.pick(&[" ", "\n", ".", "\"", "; retrying"])),
            12 => s.node = s.node.to_uppercase(),
            13 => {
                s.node = s.node.replace(
                    ".compute.internal",
                    rng.pick(&["", ".", "-", "..x", ".ec2.internal"]),
                )
            }
            14 => host = host.replace("fargate-", rng.pick(&["", "Fargate-", "fargate-ip-"])),
            _ => {
                s.err = s.err.replacen(
                    &s.ip,
                    rng.pick(&["", " ", "10.6.194.69 ", "[10.6.194.69"]),
                    1,
                )
            }
        }
    }
    let k8s = (!no_k8s).then(|| kubernetes(rng, &host, &own_ip));
    let mut record = if rng.one_in(4) {
        json_envelope(rng, &s, k8s)
    } else {
        let mut line = text_line(rng, &s);
        if let Some(c) = severity {
            line.replace_range(..1, &c.to_string());
        }
        if let Some(kind) = line_edit {
            line = edit_line(rng, &line, kind);
        }
        envelope(rng, &line, k8s)
    };
    if partial {
        if let Value::Object(m) = &mut record {
            let key = if m.contains_key("logtag") {
                "logtag"
            } else {
                "_p"
            };
            m.insert(key.into(), json!("P"));
        }
    }
    record
}

/// Text edits of a whole line.
fn edit_line(rng: &mut Rng, line: &str, kind: usize) -> String {
    let chars: Vec<char> = line.chars().collect();
    let at = rng.below(chars.len() + 1);
    let (head, tail): (String, String) =
        (chars[..at].iter().collect(), chars[at..].iter().collect());
    match kind {
        0 => head,                        // truncated
        1 => format!("{head}\"{tail}"),   // an extra quote
        2 => format!("{head}\\\"{tail}"), // an escaped quote
        3 => format!(
            "{head}{}",
            chars
                .get(at + 1..)
                .map(|c| c.iter().collect::<String>())
                .unwrap_or_default()
        ), // a character lost
        4 => format!("{head} {tail}"),
        _ => format!(
            "{head}{}{tail}",
            rng.pick(&[
                "\\",
                "=",
                "\\x41",
                "\\u0041",
                "\\",
                "\u{0}",
                "\u{7f}",
                "\u{1F600}"
            ])
        ),
    }
}

// ---------------------------------------------------- arbitrary JSON ----

const KEYS: &[&str] = &[
    "log",
    "message",
    "kubernetes",
    "msg",
    "err",
    "node",
    "name",
    "host",
    "pod_ip",
    "_p",
    "logtag",
    "time",
    "stream",
    "log_processed",
    "ts",
    "caller",
    "",
    " ",
    "\"",
    "\\",
    "\u{0}",
    "\u{1f}",
    "\u{7f}",
    "é",
    "\u{2028}",
    "\u{FFFF}",
    "\u{1F600}",
    "k\"e\\y",
    "/",
];

/// A string that uses every escape Fluent Bit writes, non-ASCII in every
/// width, and sometimes the rule's own words.
fn any_string(rng: &mut Rng, max: usize) -> String {
    let len = match rng.below(10) {
        0 => rng.below(max + 1),
        1..=3 => 0,
        _ => rng.below(24),
    };
    let mut s = String::with_capacity(len);
    while s.len() < len {
        match rng.below(14) {
            0 => s.push(char::from(rng.below(0x20) as u8)),
            1 => s.push(rng.pick(&['"', '\\', '/', '\u{7f}', '\u{8}', '\u{c}', '\n', '\r', '\t'])),
            2 => s.push(char::from_u32(0x80 + rng.below(0x780) as u32).unwrap_or('x')),
            3 => s.push(char::from_u32(0x800 + rng.below(0xd000) as u32).unwrap_or('x')),
            4 => s.push(char::from_u32(0xe000 + rng.below(0x2000) as u32).unwrap_or('x')),
            5 => s.push(char::from_u32(0x10000 + rng.below(0x100000) as u32).unwrap_or('x')),
            6 => s.push_str(rng.pick(&[
                ": connect: connection refused",
                "Failed to scrape node",
                "\"Failed to scrape node\" err=\"",
                "dial tcp 10.6.194.69:10250",
                OWN,
                " node=\"",
                "E1128 06:00:05.123456       1 scraper.go:149] ",
            ])),
            _ => s.push(char::from(b' ' + rng.below(95) as u8)),
        }
    }
    s
}

fn any_number(rng: &mut Rng) -> Value {
    match rng.below(12) {
        0 => json!(0),
        1 => json!(rng.next()),
        2 => json!(-(rng.below(1 << 40) as i64)),
        3 => json!(u64::MAX),
        4 => json!(i64::MIN),
        5 => json!(-0.0),
        6 => Value::Number(
            Number::from_f64(f64::from_bits(
                rng.next() & !(0x7ff << 52) | (rng.below(0x7fe) as u64 + 1) << 52,
            ))
            .unwrap_or_else(|| Number::from(1)),
        ),
        7 => json!(1e-300 * rng.below(1000) as f64),
        8 => json!(1.5e300),
        9 => json!(rng.below(100_000) as f64),
        10 => json!(f64::MIN_POSITIVE),
        _ => json!(rng.below(1000) as f64 / 7.0),
    }
}

fn any_value(rng: &mut Rng, depth: usize, budget: &mut usize) -> Value {
    if *budget == 0 {
        return json!(null);
    }
    *budget -= 1;
    match rng.below(if depth > 6 { 6 } else { 9 }) {
        0 => json!(null),
        1 => json!(rng.one_in(2)),
        2 => any_number(rng),
        3..=5 => Value::String(any_string(rng, 4096)),
        6 | 7 => {
            let n = rng.below(6);
            Value::Object(
                (0..n)
                    .map(|_| (any_key(rng), any_value(rng, depth + 1, budget)))
                    .collect(),
            )
        }
        _ => {
            let n = rng.below(6);
            Value::Array((0..n).map(|_| any_value(rng, depth + 1, budget)).collect())
        }
    }
}

fn any_key(rng: &mut Rng) -> String {
    if rng.one_in(2) {
        rng.pick(KEYS).to_string()
    } else {
        any_string(rng, 64)
    }
}

/// A chain of `depth` arrays/objects around `inner`.
fn nest(rng: &mut Rng, depth: usize, inner: Value) -> Value {
    let mut v = inner;
    for _ in 0..depth {
        v = if rng.one_in(2) {
            json!([v])
        } else {
            let mut m = Map::new();
            m.insert(rng.pick(KEYS).to_string(), v);
            Value::Object(m)
        };
    }
    v
}

fn any_record(rng: &mut Rng) -> Value {
    let mut budget = 60;
    let mut root = Map::new();
    for _ in 0..rng.below(8) {
        root.insert(any_key(rng), any_value(rng, 1, &mut budget));
    }
    // Deep nesting somewhere.
    if rng.one_in(3) {
        let depth = rng.below(500);
        let inner = any_value(rng, 10, &mut budget);
        root.insert(any_key(rng), nest(rng, depth, inner));
    }
    // A long string somewhere.
    if rng.one_in(8) {
        let n = rng.below(200_000);
        root.insert(any_key(rng), Value::String(any_string(rng, n)));
    }
    // Real failed scrapes in the middle of it all.
    if rng.one_in(3) {
        if let Value::Object(real) = real_record(rng) {
            for (k, v) in real {
                if rng.one_in(5) {
                    // Tucked away inside a nested value instead.
                    let d = rng.below(300);
                    root.insert(any_key(rng), nest(rng, d, v));
                } else {
                    root.insert(k, v);
                }
            }
        }
    }
    Value::Object(root)
}

// ------------------------------------------------------ raw mutations ----

fn raw_mutation(rng: &mut Rng, mut bytes: Vec<u8>) -> Vec<u8> {
    for _ in 0..1 + rng.below(3) {
        let at = rng.below(bytes.len() + 1);
        match rng.below(9) {
            0 => bytes.truncate(at),
            1 => bytes.insert(at, b'"'),
            2 => bytes.insert(at, b'\\'),
            3 => {
                if at < bytes.len() {
                    bytes.remove(at);
                }
            }
            4 => {
                if at < bytes.len() {
                    bytes[at] = rng.next() as u8;
                }
            }
            // A key the rule reads, repeated (Fluent Bit can print
            // duplicate keys from a msgpack map).
            5 => {
                if bytes.first() == Some(&b'{') {
                    let dup: &[u8] = rng.pick(&[
                        &br#""log":"x","#[..],
                        br#""kubernetes":{"host":"fargate-ip-10-6-194-69.eu-west-2.compute.internal"},"#,
                        br#""msg":"Failed to scrape node","#,
                        br#""_p":"F","#,
                        br#""time":"t","#,
                    ]);
                    bytes.splice(1..1, dup.iter().copied());
                }
            }
            6 => bytes.extend_from_slice(rng.pick(&[&b" "[..], b"}", b",", b"\n", b"x", b"{}"])),
            7 => {
                let s: &[u8] = rng.pick(&[
                    &b"\\u0000"[..],
                    b"\\ud800",
                    b"\\udc00",
                    b"\\u00e9",
                    b"\\/",
                    b"\\x",
                ]);
                bytes.splice(at..at, s.iter().copied());
            }
            _ => {
                let n = rng.below(64);
                let junk: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
                bytes.splice(at..at, junk);
            }
        }
    }
    bytes
}

fn any_bytes(rng: &mut Rng) -> Vec<u8> {
    let n = match rng.below(10) {
        0 => rng.below(100_000),
        _ => rng.below(600),
    };
    let alphabet: &[u8] = match rng.below(3) {
        0 => b"{}[]\":,\\ntrufalse0123456789.eE+- \t\r\nu",
        1 => b"{}\":,\\ abcdefghijklmnopqrstuvwxyz:[]",
        _ => &[],
    };
    (0..n)
        .map(|_| {
            if alphabet.is_empty() {
                rng.next() as u8
            } else {
                rng.pick(alphabet)
            }
        })
        .collect()
}

// --------------------------------------------------------------- tests ----

#[test]
fn spec_self_checks() {
    let drop = |v: Value| spec::drops(&fluent_bit_json(&v));
    let line = format!(
        "E1128 06:00:05.123456       1 scraper.go:149] \"Failed to scrape node\" err=\"{}\" node=\"{OWN}\"",
        go_quote(&refused(OWN_IP, 10250, "/metrics/resource", true))
    );
    assert!(drop(json!({"log": line, "kubernetes": {"host": OWN}})));
    assert!(drop(json!({"log": line, "kubernetes": {"pod_ip": OWN_IP}})));
    assert!(!drop(json!({"log": line, "kubernetes": {"host": OTHER}})));
    assert!(!drop(json!({"log": line})));
    assert!(!drop(
        json!({"log": line, "_p": "P", "kubernetes": {"host": OWN}})
    ));
    assert!(!drop(
        json!({"log": line.replacen('E', "I", 1), "kubernetes": {"host": OWN}})
    ));
    assert!(!spec::drops(b"{\"log\":1,\"log\":2}"));
    assert!(spec::parse(b"{\"a\":[1,-0.5e+3,true,null,\"\\ud83d\\ude00\"]}").is_some());
    assert!(spec::parse(b"{\"a\":01}").is_none());
    assert!(spec::parse(b"{\"a\":\"\x01\"}").is_none());
    // Nesting deeper than the rule reads is checked, not kept, and never
    // recursed on: a million levels on this thread's stack.
    let deep = [
        &b"{\"a\":"[..],
        &[b'['; 1_000_000],
        &[b']'; 1_000_000],
        b"}",
    ]
    .concat();
    assert!(matches!(spec::parse(&deep), Some(spec::Json::Object(_))));
    assert!(spec::parse(&deep[..deep.len() - 2]).is_none());
}

/// Family 1: arbitrary JSON objects as Fluent Bit prints them.
#[test]
fn arbitrary_json_objects() {
    let n = cases();
    big_stack(move || {
        let mut host = default_host();
        let mut rng = Rng::new(seed(1));
        let mut t = FuzzTally::new("arbitrary JSON objects");
        let mut deepest = 0usize;
        for _ in 0..n {
            let v = any_record(&mut rng);
            let record = fluent_bit_json(&v);
            deepest = deepest.max(depth_of(&record));
            t.check(&mut host, &record, true);
        }
        println!(
            "  seed {:#x}, deepest record {deepest} levels, memory {} pages",
            seed(1),
            host.memory_pages()
        );
        assert!(
            deepest >= 300,
            "the generator must reach several hundred levels"
        );
        t.finish();
    });
}

/// Family 2: real failed-scrape records, mutated in their parts.
#[test]
fn mutated_failed_scrapes() {
    let n = cases();
    big_stack(move || {
        let mut host = default_host();
        let mut rng = Rng::new(seed(2));
        let mut t = FuzzTally::new("mutated failed scrapes");
        for i in 0..n {
            let s = Scrape {
                node: OWN.into(),
                ip: OWN_IP.into(),
                err: refused(OWN_IP, 10250, "/metrics/resource", rng.one_in(3)),
            };
            // A quarter unmutated: the drops must happen too.
            let rounds = if i % 4 == 0 { 0 } else { 1 + rng.below(3) };
            let v = mutated_record(&mut rng, s, rounds);
            t.check(&mut host, &fluent_bit_json(&v), true);
        }
        println!(
            "  seed {:#x}, memory {} pages",
            seed(2),
            host.memory_pages()
        );
        assert!(
            t.dropped * 10 >= t.cases,
            "too few drops to test the drop side: {}",
            t.dropped
        );
        t.finish();
    });
}

/// Family 3: the same records (and arbitrary objects) mutated as raw text.
#[test]
fn raw_text_mutations() {
    let n = cases();
    big_stack(move || {
        let mut host = default_host();
        let mut rng = Rng::new(seed(3));
        let mut t = FuzzTally::new("raw text mutations");
        for _ in 0..n {
            let v = if rng.one_in(4) {
                any_record(&mut rng)
            } else {
                let rounds = rng.below(2);
                let s = Scrape {
                    node: OWN.into(),
                    ip: OWN_IP.into(),
                    err: refused(OWN_IP, 10250, "/metrics/resource", true),
                };
                mutated_record(&mut rng, s, rounds)
            };
            let record = raw_mutation(&mut rng, fluent_bit_json(&v));
            t.check(&mut host, &record, false);
        }
        println!(
            "  seed {:#x}, memory {} pages",
            seed(3),
            host.memory_pages()
        );
        t.finish();
    });
}

/// Family 4: arbitrary bytes (also without the NUL, as msgpack mode passes).
#[test]
fn arbitrary_bytes() {
    let n = cases();
    big_stack(move || {
        let mut host = default_host();
        let mut rng = Rng::new(seed(4));
        let mut t = FuzzTally::new("arbitrary bytes");
        for i in 0..n {
            let bytes = any_bytes(&mut rng);
            // Odd cases as msgpack mode calls: no NUL, exact length.
            t.check_call(&mut host, &bytes, i % 2 == 0, false);
        }
        println!(
            "  seed {:#x}, memory {} pages",
            seed(4),
            host.memory_pages()
        );
        t.finish();
    });
}

/// Maximum bracket nesting of a JSON text (outside strings).
fn depth_of(text: &[u8]) -> usize {
    let (mut d, mut max, mut in_str, mut esc) = (0usize, 0usize, false, false);
    for &c in text {
        if in_str {
            match (esc, c) {
                (true, _) => esc = false,
                (false, b'\\') => esc = true,
                (false, b'"') => in_str = false,
                _ => {}
            }
            continue;
        }
        match c {
            b'"' => in_str = true,
            b'{' | b'[' => {
                d += 1;
                max = max.max(d);
            }
            b'}' | b']' => d = d.saturating_sub(1),
            _ => {}
        }
    }
    max
}

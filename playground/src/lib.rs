//! The browser playground's core: `selfscrape replay` without files, WAMR or
//! a terminal. Lines in, one row per record out (verdict, reason, failing
//! node), and the replay's own summary.
//!
//! Nothing here re-implements anything. The rule is `selfscrape_rule` (the
//! code the Fluent Bit module runs, through the per-call logic its exports
//! forward to). The line formats, the record Fluent Bit would build, the
//! loop body (tally, explanations, cross-checks), the savings arithmetic and
//! the summary text are `selfscrape_replay`'s, built without its `cli`
//! feature (no WAMR, no files): [`Session`] feeds the replay's
//! [`Judge`] with [`RuleEngine`] and turns its events into [`Row`]s.
//!
//! The ConfigMap view ([`configmap`]) is `selfscrape router` and
//! `selfscrape check` on a pasted `aws-logging` ConfigMap, as the CLI runs them.
//!
//! This API has no wasm-bindgen in it (`web`, wasm32 only, wraps it for
//! JavaScript), so the agreement tests call it natively.

pub use selfscrape_replay::RuleEngine;
pub use selfscrape_replay::{input, savings, summary, time};
pub use selfscrape_rule as rule;

pub mod configmap;
#[cfg(target_arch = "wasm32")]
mod web;

use input::{Format, Parsed, Parser, Problem};
use rule::Reason;
use selfscrape_replay::{Engine, Event, Fate, Filtered, Function, Judge, Sink};
use selfscrape_rule::guest::Export;
use serde_json::{Map, Value, json};
use summary::Summary;

/// What the summary calls the engine (its first line).
pub const ENGINE: &str = "browser playground: the same rule, compiled to wasm";

/// The verdict, reason and failing node of one record, as the module's
/// `drop_self_scrape` and `explain_self_scrape` exports decide them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Judgement {
    /// What `drop_self_scrape` does: drop (the empty reply) or keep.
    pub drops: bool,
    /// The reason `explain_self_scrape` gives.
    pub reason: Reason,
    /// The failing node `explain_self_scrape` reports (empty when none).
    pub node: String,
}

/// Judges one record (Fluent Bit's JSON text of its body, as the module
/// receives it) as `selfscrape replay` asks the module: one
/// `drop_self_scrape` call and one `explain_self_scrape` call.
pub fn judge(record: &[u8], engine: &mut RuleEngine) -> Judgement {
    let mut reply = Vec::new();
    let drops = engine.filter(Export::Drop.name(), 0, 0, record, &mut reply) == Filtered::Drop;
    let explained = engine.explain(0, 0, record, &mut reply);
    let explanation = explained.ok().and_then(|()| {
        serde_json::from_slice::<selfscrape_replay::judge::Explanation<'_>>(&reply).ok()
    });
    judgement(drops, explanation.as_ref(), &reply)
}

/// The judgement a row shows: the verdict, and the explanation's reason and
/// node (or why there is none).
fn judgement(
    drops: bool,
    explanation: Option<&selfscrape_replay::judge::Explanation<'_>>,
    reply: &[u8],
) -> Judgement {
    match explanation.and_then(|e| Some((Reason::from_code(&e.reason)?, &e.node))) {
        Some((reason, node)) => Judgement {
            drops,
            reason,
            node: node.to_string(),
        },
        None => Judgement {
            drops,
            reason: Reason::Unreadable,
            node: format!("no explanation: {}", String::from_utf8_lossy(reply)),
        },
    }
}

/// One row of the table: a record and what the filter does with it, or a
/// line that is not a record.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// The line the record starts on (1-based).
    pub line: u64,
    /// How the record was found (`NDJSON`, `CRI`, ...); empty for unreadable lines.
    pub format: &'static str,
    /// The record's judgement; `None` for a line that is not a record.
    pub judgement: Option<Judgement>,
    /// The record as the filter saw it (Fluent Bit's JSON text), or the
    /// problem with an unreadable line.
    pub text: String,
    /// The own node the rule compared with: the record's `kubernetes.host`,
    /// or the typed-in node when it was added; empty when neither.
    pub own_node: String,
    /// Whether `own_node` was added from the typed-in node.
    pub node_added: bool,
    /// Billed size (UTF-8 + 26 bytes) of the record.
    pub billed: u64,
}

impl Row {
    /// `drop`, `keep` or `unreadable`.
    pub fn verdict(&self) -> &'static str {
        match &self.judgement {
            Some(j) if j.drops => "drop",
            Some(_) => "keep",
            None => "unreadable",
        }
    }

    /// The row as a JSON object for the page (short keys: 100k rows).
    pub fn to_json(&self) -> Value {
        let (reason, describe, node) = match &self.judgement {
            Some(j) => (j.reason.code(), j.reason.describe(), j.node.as_str()),
            None => ("", "", ""),
        };
        json!({
            "l": self.line,
            "f": self.format,
            "v": self.verdict(),
            "r": reason,
            "d": describe,
            "n": node,
            "h": self.own_node,
            "a": self.node_added,
            "t": self.text,
            "b": self.billed,
        })
    }
}

/// A replay of one pasted or dropped text, fed in chunks of whole lines.
#[derive(Debug)]
pub struct Session {
    parser: Parser,
    engine: RuleEngine,
    judge: Judge,
    line_no: u64,
    finished: bool,
}

/// The playground's sink: one row per record and per unreadable line.
#[derive(Default)]
struct Rows(Vec<Row>);

impl Sink for Rows {
    fn record(&mut self, e: &Event<'_>) -> std::io::Result<()> {
        let own_node = match e.value.and_then(|v| v.get("kubernetes")?.get("host")) {
            Some(Value::String(h)) => h.clone(),
            _ => String::new(),
        };
        let drops = *e.fate == Fate::Drop;
        self.0.push(Row {
            line: e.line,
            format: e.format.name(),
            judgement: Some(judgement(drops, e.explanation, b"")),
            text: String::from_utf8_lossy(e.record).into_owned(),
            own_node,
            node_added: e.node_added,
            billed: savings::billed_size(e.record.len()),
        });
        Ok(())
    }

    fn unreadable(&mut self, _file: &str, line: u64, problem: &Problem) {
        self.0.push(Row {
            line,
            format: "",
            judgement: None,
            text: problem.to_string(),
            own_node: String::new(),
            node_added: false,
            billed: 0,
        });
    }
}

impl Session {
    /// `node`: the node the logs come from, added as `kubernetes.host` to
    /// records without `kubernetes` metadata (the replay's `--node`); empty
    /// for none. `klog_year`: the year assumed for klog headers. `price`:
    /// USD per GB ingested.
    pub fn new(node: &str, klog_year: i64, price: f64) -> Session {
        let node = node.trim();
        let summary = Summary {
            function: Export::Drop.name().into(),
            module: ENGINE.into(),
            node: (!node.is_empty()).then(|| node.to_owned()),
            price,
            inputs: 1,
            klog_year,
            ..Summary::default()
        };
        Session {
            parser: Parser::new(klog_year),
            engine: RuleEngine::new(),
            judge: Judge::new(Function::Drop, true, summary),
            line_no: 0,
            finished: false,
        }
    }

    /// Feeds whole lines (`\n`-separated; a trailing `\r` is ignored, a
    /// final line without `\n` counts). Chunks must be cut after a `\n`.
    /// Returns the rows of the records completed by these lines.
    pub fn feed(&mut self, text: &str) -> Vec<Row> {
        let mut rows = Rows::default();
        for line in text.split_terminator('\n') {
            self.line_no += 1;
            self.judge.summary_mut().lines += 1;
            match self.parser.parse(line.as_bytes(), self.line_no) {
                Parsed::Record(rec) => self.judge.record(&mut self.engine, rec, INPUT, &mut rows),
                Parsed::Held => {}
                Parsed::Blank => self.judge.summary_mut().blank += 1,
                Parsed::Unreadable(p) => self.judge.unreadable(INPUT, self.line_no, &p, &mut rows),
            }
        }
        rows.0
    }

    /// Ends the input: CRI partial groups still open become records (as
    /// Fluent Bit flushes them). Further calls return nothing.
    pub fn finish(&mut self) -> Vec<Row> {
        let mut rows = Rows::default();
        if self.finished {
            return rows.0;
        }
        self.finished = true;
        for rec in self.parser.finish() {
            self.judge.record(&mut self.engine, rec, INPUT, &mut rows);
        }
        self.judge.summary_mut().partial_lines += self.parser.partial_lines;
        rows.0
    }

    /// The tally so far.
    pub fn summary(&self) -> &Summary {
        self.judge.summary()
    }

    /// Changes the price of the savings estimate.
    pub fn set_price(&mut self, price: f64) {
        self.judge.summary_mut().price = price;
    }

    /// The summary as `selfscrape replay` prints it.
    pub fn summary_text(&self) -> String {
        self.summary().render()
    }

    /// The summary's figures for the page.
    pub fn summary_json(&self) -> Value {
        let s = self.summary();
        let mut reasons: Vec<(&String, &u64)> = s.reasons.iter().collect();
        reasons.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        let reasons: Vec<Value> = reasons
            .into_iter()
            .map(|(code, n)| {
                let r = Reason::from_code(code);
                json!({
                    "code": code,
                    "count": n,
                    "verdict": r.map_or("?", |r| if r.drops() { "drop" } else { "keep" }),
                    "describe": r.map_or("", |r| r.describe()),
                })
            })
            .collect();
        let estimate = match s.estimate() {
            savings::Estimate::NoTimestamps => json!({"kind": "no_timestamps"}),
            savings::Estimate::ZeroSpan => json!({"kind": "zero_span"}),
            savings::Estimate::Monthly {
                span_secs,
                gb,
                usd,
                events,
            } => json!({
                "kind": "monthly",
                "span_secs": span_secs,
                "span": savings::human_duration(span_secs),
                "gb": gb,
                "usd": usd,
                "events": events,
            }),
        };
        let mut formats = Map::new();
        for f in Format::ALL {
            let n = s.formats[f.index()];
            if n > 0 {
                formats.insert(f.name().into(), n.into());
            }
        }
        json!({
            "lines": s.lines,
            "blank": s.blank,
            "partial_lines": s.partial_lines,
            "records": s.records,
            "kept": s.kept,
            "dropped": s.dropped,
            "dropped_bytes": s.dropped_bytes,
            "dropped_billed": s.dropped_billed,
            "dropped_human": savings::human_bytes(s.dropped_billed as f64),
            "node": s.node,
            "node_added": s.node_added,
            "unreadable": s.unreadable.count,
            "self_scraping": s.self_scraping.count,
            "host_errors": s.host_errors.count,
            "formats": formats,
            "reasons": reasons,
            "price": s.price,
            "estimate": estimate,
            "span_min": s.span.min.map(time::format_rfc3339),
            "span_max": s.span.max.map(time::format_rfc3339),
            "klog_timestamps": s.span.klog,
            "klog_year": s.klog_year,
            "ok": s.success(),
        })
    }
}

/// How the summary names the pasted input in its examples.
const INPUT: &str = "input";

/// A whole CloudWatch JSON document as lines for the line parser, or `None`
/// when the text is not one (NDJSON, CRI, klog ...: read line by line):
///
/// - `aws logs filter-log-events` / `get-log-events` output,
///   `{"events":[...]}`, or a bare array of events or records: one compact
///   JSON line per element, which the parser unwraps like `jq -c '.events[]'`
///   output;
/// - a Logs Insights export (an array of rows with `@message`): each row's
///   `@message`, the text the CloudWatch output had sent (a record's JSON,
///   or a raw line).
pub fn expand_document(text: &str) -> Option<String> {
    let trimmed = text.trim_start();
    if !trimmed.starts_with('{') && !trimmed.starts_with('[') {
        return None;
    }
    let items = match serde_json::from_str::<Value>(trimmed).ok()? {
        Value::Object(mut map) => match map.remove("events") {
            Some(Value::Array(items)) if is_document_with_events(&map) => items,
            _ => return None,
        },
        Value::Array(items) => items,
        _ => return None,
    };
    let mut out = String::with_capacity(text.len());
    for item in items {
        match item.get("@message") {
            Some(Value::String(message)) => {
                out.push_str(message.strip_suffix('\n').unwrap_or(message));
            }
            _ => out.push_str(&item.to_string()),
        }
        out.push('\n');
    }
    Some(out)
}

/// The keys next to `events` in the AWS CLI's outputs: a record that merely
/// has an `events` key is a record, not a document.
fn is_document_with_events(rest: &Map<String, Value>) -> bool {
    const KEYS: [&str; 4] = [
        "nextToken",
        "nextForwardToken",
        "nextBackwardToken",
        "searchedLogStreams",
    ];
    rest.keys().all(|k| KEYS.contains(&k.as_str()))
}

/// A sample log of the repository (examples/), for the page's "load a
/// sample" menu: made-up logs in the real shapes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sample {
    /// The file name.
    pub name: &'static str,
    /// The pod's node for files whose lines do not carry it (empty otherwise).
    pub node: &'static str,
    /// The lines.
    pub text: &'static str,
}

macro_rules! samples {
    ($($name:literal),* $(,)?) => {
        [$((
            $name,
            include_str!(concat!("../../examples/", $name)),
            include_str!(concat!("../../examples/", $name, ".expect")),
        )),*]
    };
}

/// Every sample of examples/, with the node its `.expect` file names.
pub fn samples() -> Vec<Sample> {
    let files = samples!(
        "v0.7-cri.log",
        "cluster-mixed.ndjson",
        "v0.6-sidecar.log",
        "v0.5-docker.log",
        "v0.4-sidecar.log",
        "v0.7-json.ndjson",
        "v0.7-port10250-cri.log",
        "fargate-router.ndjson",
    );
    files
        .into_iter()
        .map(|(name, text, expect)| {
            let node = expect
                .lines()
                .find_map(|l| l.strip_prefix('#')?.trim().strip_prefix("node:"))
                .map(str::trim)
                .filter(|n| *n != "-")
                .unwrap_or("");
            Sample { name, node, text }
        })
        .collect()
}

/// Rows as a JSON array text.
pub fn rows_json(rows: &[Row]) -> String {
    Value::Array(rows.iter().map(Row::to_json).collect()).to_string()
}

#[cfg(test)]
mod own_tests {
    use super::*;

    const NODE: &str = "fargate-ip-10-20-33-4.eu-central-1.compute.internal";

    fn refused(node: &str) -> String {
        format!(
            "E1128 07:14:01.123456       1 scraper.go:149] \"Failed to scrape node\" err=\"Get \\\"https://10.20.33.4:10251/metrics/resource\\\": dial tcp 10.20.33.4:10251: connect: connection refused\" node=\"{node}\""
        )
    }

    #[test]
    fn typed_node_is_added_and_drops_own_refusals() {
        let mut s = Session::new(NODE, 2026, 0.5);
        let text = format!(
            "2026-11-28T07:14:01.123Z stderr F {}\n\nplain text\n",
            refused(NODE)
        );
        let mut rows = s.feed(&text);
        rows.extend(s.finish());
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].verdict(), "drop");
        assert_eq!(rows[0].format, "CRI");
        assert!(rows[0].node_added);
        assert_eq!(rows[0].own_node, NODE);
        assert_eq!(rows[1].verdict(), "keep");
        let sum = s.summary();
        assert_eq!((sum.lines, sum.blank, sum.records), (3, 1, 2));
        assert_eq!((sum.dropped, sum.kept), (1, 1));
        assert_eq!(sum.dropped_billed, rows[0].billed);
        assert!(s.summary_text().contains("1 dropped (50.0%)"));
    }

    #[test]
    fn without_a_node_klog_lines_are_kept_unknown() {
        let mut s = Session::new("  ", 2026, 0.5);
        let rows = s.feed(&refused(NODE));
        assert_eq!(rows[0].verdict(), "keep");
        assert_eq!(
            rows[0].judgement.as_ref().unwrap().reason,
            Reason::OwnNodeUnknown
        );
        assert!(!rows[0].node_added);
    }

    #[test]
    fn record_kubernetes_host_wins_over_the_typed_node() {
        let rec = json!({"log": refused(NODE), "kubernetes": {"host": "other"}});
        let mut s = Session::new(NODE, 2026, 0.5);
        let rows = s.feed(&rec.to_string());
        assert_eq!(rows[0].verdict(), "keep");
        assert_eq!(rows[0].own_node, "other");
        assert!(!rows[0].node_added);
    }

    #[test]
    fn unreadable_lines_are_rows_and_fail_the_summary() {
        let mut s = Session::new("", 2026, 0.5);
        let rows = s.feed("{\"log\": \n");
        assert_eq!(rows[0].verdict(), "unreadable");
        assert!(rows[0].text.contains("does not parse"));
        assert!(!s.summary().success());
        assert!(
            s.summary_text()
                .contains("ERROR: 1 unreadable line NOT replayed")
        );
    }

    #[test]
    fn chunks_cut_after_newlines_equal_one_feed() {
        let text = format!(
            "2026-11-28T07:14:01Z stderr P {}\n2026-11-28T07:14:01Z stderr F \nx\n",
            refused(NODE)
        );
        let mut one = Session::new(NODE, 2026, 0.5);
        let mut a = one.feed(&text);
        a.extend(one.finish());
        let mut two = Session::new(NODE, 2026, 0.5);
        let cut = text.find('\n').unwrap() + 1;
        let mut b = two.feed(&text[..cut]);
        b.extend(two.feed(&text[cut..]));
        b.extend(two.finish());
        assert_eq!(a, b);
        assert_eq!(a.len(), 2, "{a:?}");
        // The P and F lines joined into one record, which keeps `"_p":"P"`:
        // the rule keeps partial records.
        assert!(a[0].text.contains("connection refused"), "{a:?}");
        assert_eq!(a[0].judgement.as_ref().unwrap().reason, Reason::Ambiguous);
        assert_eq!(one.summary().partial_lines, 1);
        assert_eq!(one.summary_text(), two.summary_text());
    }

    #[test]
    fn samples_carry_their_nodes() {
        let all = samples();
        assert_eq!(all.len(), 8);
        let cri = all.iter().find(|s| s.name == "v0.7-cri.log").unwrap();
        assert_eq!(cri.node, NODE);
        assert!(cri.text.contains("connection refused"));
        let mixed = all
            .iter()
            .find(|s| s.name == "cluster-mixed.ndjson")
            .unwrap();
        assert_eq!(mixed.node, "");
    }

    #[test]
    fn cloudwatch_documents_expand_to_events() {
        let event = json!({
            "logStreamName": "s", "timestamp": 1_764_314_041_123_i64,
            "message": json!({"log": refused(NODE), "kubernetes": {"host": NODE}}).to_string(),
            "ingestionTime": 1_764_314_042_000_i64, "eventId": "1"
        });
        let doc = serde_json::to_string_pretty(&json!({
            "events": [event, event], "searchedLogStreams": []
        }))
        .unwrap();
        let lines = expand_document(&doc).unwrap();
        let mut s = Session::new("", 2026, 0.5);
        let rows = s.feed(&lines);
        assert_eq!(rows.len(), 2);
        assert!(
            rows.iter()
                .all(|r| r.verdict() == "drop" && r.format == "aws logs event")
        );
        assert_eq!(expand_document("{\"events\":[1],\"log\":\"x\"}"), None);
        assert_eq!(expand_document("{\"log\":\"a\"}\n{\"log\":\"b\"}"), None);
        assert_eq!(expand_document("I1128 klog"), None);
        assert_eq!(
            expand_document("[{\"log\":\"a\"}]").unwrap(),
            "{\"log\":\"a\"}\n"
        );
        // A Logs Insights export: the messages themselves.
        let insights = json!([
            {"@timestamp": "2026-11-28 07:14:01.123", "@message": event["message"]},
            {"@timestamp": "2026-11-28 07:14:02.000", "@message": "plain line\n"},
        ]);
        let lines = expand_document(&insights.to_string()).unwrap();
        let mut s = Session::new("", 2026, 0.5);
        let rows = s.feed(&lines);
        assert_eq!(rows.len(), 2, "{lines}");
        assert_eq!((rows[0].verdict(), rows[0].format), ("drop", "NDJSON"));
        assert_eq!(rows[1].text, "{\"log\":\"plain line\"}");
    }
}

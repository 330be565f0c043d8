//! Input formats: one log line in, the record Fluent Bit's pipeline would hand
//! the filter out. Detected per line, so mixed files work:
//!
//! - NDJSON records: Fluent Bit's `json_lines` output, docker json-file lines
//!   (`{"log":"..\n","stream":..,"time":..}`), metrics-server's JSON logging,
//!   and `aws logs` events (`{"timestamp":..,"message":"<record JSON>",..}`,
//!   as `jq -c '.events[]'` prints them), which are unwrapped to the record
//!   the CloudWatch output had sent.
//! - CRI container log lines `<RFC3339> <stdout|stderr> <P|F> <msg>`: the
//!   record `tail` + `multiline.parser cri` makes, `{"time","stream","_p","log"}`.
//!   As in Fluent Bit, `P` (partial) lines are joined per stream up to the next
//!   `F` line; the joined record keeps the first line's keys (so `"_p":"P"`).
//! - An RFC 3339 prefix followed by a JSON object (CloudWatch's S3 export,
//!   `aws logs tail`, `kubectl logs --timestamps` of JSON logging): the object.
//! - Any other text line (bare klog lines from metrics-server's stderr file):
//!   `{"log": line}`, what a sidecar's `tail` without a parser makes.
//!
//! Lines that cannot be a record are reported, never dropped silently:
//! invalid UTF-8, NUL bytes (binary garbage) and lines that start like a JSON
//! object but do not parse.

use super::time::{self, Nanos};
use serde_json::{Map, Value};
use std::fmt;

/// How a record was found in its line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// A JSON object line.
    Json,
    /// An `aws logs` event whose `message` was unwrapped.
    AwsEvent,
    /// A CRI line, or CRI partial lines joined.
    Cri,
    /// A JSON object behind an RFC 3339 prefix.
    PrefixedJson,
    /// A text line, wrapped as `{"log": line}`.
    Text,
}

impl Format {
    /// All formats, in summary order.
    pub const ALL: [Format; 5] = [
        Format::Json,
        Format::AwsEvent,
        Format::Cri,
        Format::PrefixedJson,
        Format::Text,
    ];

    /// Short name for the summary.
    pub const fn name(self) -> &'static str {
        match self {
            Format::Json => "NDJSON",
            Format::AwsEvent => "aws logs event",
            Format::Cri => "CRI",
            Format::PrefixedJson => "timestamp + JSON",
            Format::Text => "text (klog)",
        }
    }

    /// Index into [`Format::ALL`].
    pub const fn index(self) -> usize {
        self as usize
    }
}

/// Where a record's timestamp came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeSource {
    /// A full timestamp (RFC 3339 or epoch).
    Absolute,
    /// A klog header, which has no year: the caller's year was assumed.
    KlogNoYear,
}

/// One record, ready for the module.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// The record body (always a JSON object).
    pub value: Value,
    /// Its time, when the line or record says.
    pub time: Option<(Nanos, TimeSource)>,
    /// How it was found.
    pub format: Format,
    /// The line it starts on (1-based).
    pub line: u64,
}

/// Why a line is not a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// Not UTF-8.
    InvalidUtf8,
    /// Contains NUL bytes.
    Binary,
    /// Starts like a JSON object but does not parse.
    BadJson(String),
    /// Longer than the line limit; the length seen.
    TooLong(u64),
    /// Cut by a read error (truncated gzip, I/O error).
    Cut(String),
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::InvalidUtf8 => f.write_str("not UTF-8 (binary data?)"),
            Problem::Binary => f.write_str("contains NUL bytes (binary data?)"),
            Problem::BadJson(e) => write!(f, "starts like a JSON object but does not parse: {e}"),
            Problem::TooLong(n) => write!(
                f,
                "line longer than the {} MiB limit ({n} bytes or more), skipped",
                super::lines::MAX_LINE >> 20
            ),
            Problem::Cut(e) => write!(f, "last line cut by a read error ({e})"),
        }
    }
}

/// What one line gave.
#[derive(Debug, Clone, PartialEq)]
pub enum Parsed {
    /// A record.
    Record(Record),
    /// A CRI partial line, held until its final line.
    Held,
    /// An empty or blank line (Fluent Bit's tail skips those too).
    Blank,
    /// Not a record.
    Unreadable(Problem),
}

/// A CRI partial group waiting for its final line.
#[derive(Debug, Clone)]
struct Pending {
    time_text: String,
    time: Option<Nanos>,
    flag: &'static str,
    log: String,
    line: u64,
}

/// Per-input parser state (CRI partial lines are joined within one input).
#[derive(Debug)]
pub struct Parser {
    klog_year: i64,
    /// stdout, stderr.
    pending: [Option<Pending>; 2],
    /// Partial lines absorbed into joined records.
    pub partial_lines: u64,
}

impl Parser {
    /// A parser for one input; `klog_year` is assumed for klog headers.
    pub fn new(klog_year: i64) -> Parser {
        Parser {
            klog_year,
            pending: [None, None],
            partial_lines: 0,
        }
    }

    /// Parses one line (without its `\n`; a trailing `\r` is ignored).
    pub fn parse(&mut self, raw: &[u8], line: u64) -> Parsed {
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        let text = match std::str::from_utf8(raw) {
            Ok(t) => t,
            Err(_) => return Parsed::Unreadable(Problem::InvalidUtf8),
        };
        if raw.contains(&0) {
            return Parsed::Unreadable(Problem::Binary);
        }
        let trimmed = text.trim_start();
        if trimmed.is_empty() {
            return Parsed::Blank;
        }
        if trimmed.starts_with('{') {
            return match serde_json::from_str::<Value>(trimmed) {
                Ok(Value::Object(map)) => Parsed::Record(self.json_record(map, line)),
                Ok(_) => Parsed::Unreadable(Problem::BadJson("not an object".into())),
                Err(e) => Parsed::Unreadable(Problem::BadJson(e.to_string())),
            };
        }
        if let Some((nanos, used)) = time::parse_rfc3339_prefix(raw) {
            if raw.get(used) == Some(&b' ') {
                let time_text = &text[..used];
                let rest = &text[used + 1..];
                if let Some(parsed) = self.cri(time_text, nanos, rest, line) {
                    return parsed;
                }
                if let Some(map) = prefixed_json(rest) {
                    let mut rec = self.json_record_at(map, line, Some(nanos));
                    if rec.format == Format::Json {
                        rec.format = Format::PrefixedJson;
                    }
                    return Parsed::Record(rec);
                }
                let mut map = Map::with_capacity(1);
                map.insert("log".into(), Value::String(text.to_owned()));
                return Parsed::Record(Record {
                    value: Value::Object(map),
                    time: Some((nanos, TimeSource::Absolute)),
                    format: Format::Text,
                    line,
                });
            }
        }
        let time =
            time::parse_klog_header(raw, self.klog_year).map(|t| (t, TimeSource::KlogNoYear));
        let mut map = Map::with_capacity(1);
        map.insert("log".into(), Value::String(text.to_owned()));
        Parsed::Record(Record {
            value: Value::Object(map),
            time,
            format: Format::Text,
            line,
        })
    }

    /// The CRI partial groups still open at the end of the input, as records
    /// (Fluent Bit flushes them when its multiline timeout expires).
    pub fn finish(&mut self) -> Vec<Record> {
        let mut out: Vec<Record> = self
            .pending
            .iter_mut()
            .enumerate()
            .filter_map(|(i, p)| p.take().map(|p| cri_record(p, STREAMS[i])))
            .collect();
        out.sort_by_key(|r| r.line);
        out
    }

    fn json_record(&self, map: Map<String, Value>, line: u64) -> Record {
        self.json_record_at(map, line, None)
    }

    /// A record from a JSON object; `envelope` is the time of what carried
    /// it (an aws logs event, an RFC 3339 prefix), which ranks below the
    /// record's own time keys and above times read from its text.
    fn json_record_at(
        &self,
        map: Map<String, Value>,
        line: u64,
        envelope: Option<Nanos>,
    ) -> Record {
        if let Some((map, ts)) = unwrap_aws_event(&map) {
            let ts = time::from_epoch_json(&ts).or(envelope);
            let mut rec = self.json_record_at(map, line, ts);
            rec.format = Format::AwsEvent;
            return rec;
        }
        let time = key_time(&map)
            .or(envelope)
            .map(|t| (t, TimeSource::Absolute))
            .or_else(|| text_time(&map, self.klog_year));
        Record {
            value: Value::Object(map),
            time,
            format: Format::Json,
            line,
        }
    }

    fn cri(&mut self, time_text: &str, nanos: Nanos, rest: &str, line: u64) -> Option<Parsed> {
        let (stream_idx, after) = if let Some(r) = rest.strip_prefix("stdout ") {
            (0, r)
        } else if let Some(r) = rest.strip_prefix("stderr ") {
            (1, r)
        } else {
            return None;
        };
        let (flag, msg): (&'static str, &str) = if let Some(m) = after.strip_prefix("F ") {
            ("F", m)
        } else if let Some(m) = after.strip_prefix("P ") {
            ("P", m)
        } else {
            return None;
        };
        let slot = &mut self.pending[stream_idx];
        if flag == "P" {
            self.partial_lines += 1;
            match slot {
                Some(p) => p.log.push_str(msg),
                None => {
                    *slot = Some(Pending {
                        time_text: time_text.to_owned(),
                        time: Some(nanos),
                        flag,
                        log: msg.to_owned(),
                        line,
                    })
                }
            }
            return Some(Parsed::Held);
        }
        let pending = match slot.take() {
            Some(mut p) => {
                p.log.push_str(msg);
                p
            }
            None => Pending {
                time_text: time_text.to_owned(),
                time: Some(nanos),
                flag,
                log: msg.to_owned(),
                line,
            },
        };
        Some(Parsed::Record(cri_record(pending, STREAMS[stream_idx])))
    }
}

const STREAMS: [&str; 2] = ["stdout", "stderr"];

fn cri_record(p: Pending, stream: &str) -> Record {
    let mut map = Map::with_capacity(4);
    map.insert("time".into(), Value::String(p.time_text));
    map.insert("stream".into(), Value::String(stream.to_owned()));
    map.insert("_p".into(), Value::String(p.flag.to_owned()));
    map.insert("log".into(), Value::String(p.log));
    Record {
        value: Value::Object(map),
        time: p.time.map(|t| (t, TimeSource::Absolute)),
        format: Format::Cri,
        line: p.line,
    }
}

/// `{json}` or `<word> {json}` (aws logs tail prints the stream name first).
fn prefixed_json(rest: &str) -> Option<Map<String, Value>> {
    let rest = rest.trim_start();
    let candidate = if rest.starts_with('{') {
        rest
    } else {
        let (_, after) = rest.split_once(' ')?;
        let after = after.trim_start();
        if !after.starts_with('{') {
            return None;
        }
        after
    };
    match serde_json::from_str::<Value>(candidate) {
        Ok(Value::Object(map)) => Some(map),
        _ => None,
    }
}

const AWS_EVENT_KEYS: [&str; 6] = [
    "logStreamName",
    "logGroupName",
    "timestamp",
    "message",
    "ingestionTime",
    "eventId",
];

/// An `aws logs` event (only its own keys, a string `message` and a numeric
/// `timestamp`): the record inside and the event's timestamp.
fn unwrap_aws_event(map: &Map<String, Value>) -> Option<(Map<String, Value>, serde_json::Number)> {
    if map.len() < 3 || !map.keys().all(|k| AWS_EVENT_KEYS.contains(&k.as_str())) {
        return None;
    }
    let message = map.get("message")?.as_str()?;
    let ts = match map.get("timestamp")? {
        Value::Number(n) => n.clone(),
        _ => return None,
    };
    if !map.contains_key("ingestionTime") && !map.contains_key("eventId") {
        return None;
    }
    let inner = message.trim_start();
    if inner.starts_with('{') {
        if let Ok(Value::Object(m)) = serde_json::from_str::<Value>(inner) {
            return Some((m, ts));
        }
    }
    let mut m = Map::with_capacity(1);
    m.insert("log".into(), Value::String(message.to_owned()));
    Some((m, ts))
}

/// The top-level keys a record's time is read from, in order of preference.
pub const TIME_KEYS: [&str; 5] = ["time", "@timestamp", "timestamp", "ts", "date"];

/// The time a record carries: a top-level time key (RFC 3339 string or epoch
/// number), else an RFC 3339 or klog prefix of its `log` / `message` text.
pub fn record_time(map: &Map<String, Value>, klog_year: i64) -> Option<(Nanos, TimeSource)> {
    key_time(map)
        .map(|t| (t, TimeSource::Absolute))
        .or_else(|| text_time(map, klog_year))
}

/// A top-level time key: an RFC 3339 string or an epoch number.
fn key_time(map: &Map<String, Value>) -> Option<Nanos> {
    TIME_KEYS.iter().find_map(|key| match map.get(*key) {
        Some(Value::String(s)) => string_key_time(s),
        Some(Value::Number(n)) => time::from_epoch_json(n),
        _ => None,
    })
}

/// The time a string value of a time key gives: RFC 3339, or an epoch
/// number as text.
pub fn string_key_time(s: &str) -> Option<Nanos> {
    time::parse_rfc3339(s).or_else(|| {
        s.trim()
            .parse::<f64>()
            .ok()
            .and_then(time::from_epoch_number)
    })
}

/// An RFC 3339 or klog prefix of the `log` / `message` text.
fn text_time(map: &Map<String, Value>, klog_year: i64) -> Option<(Nanos, TimeSource)> {
    for key in ["log", "message"] {
        if let Some(Value::String(s)) = map.get(key) {
            let b = s.as_bytes();
            if let Some((t, _)) = time::parse_rfc3339_prefix(b) {
                return Some((t, TimeSource::Absolute));
            }
            if let Some(t) = time::parse_klog_header(b, klog_year) {
                return Some((t, TimeSource::KlogNoYear));
            }
        }
    }
    None
}

/// What the shipped sidecar config does with `modify` + `nest`: a record
/// without a `kubernetes` key gets `"kubernetes":{"host":NODE}` (appended
/// last). Returns whether it added one.
pub fn add_own_node(value: &mut Value, node: &str) -> bool {
    let Value::Object(map) = value else {
        return false;
    };
    if map.contains_key("kubernetes") {
        return false;
    }
    let mut k = Map::with_capacity(1);
    k.insert("host".into(), Value::String(node.to_owned()));
    map.insert("kubernetes".into(), Value::Object(k));
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record(line: &str) -> Record {
        match Parser::new(2026).parse(line.as_bytes(), 1) {
            Parsed::Record(r) => r,
            other => panic!("{line}: {other:?}"),
        }
    }

    const KLOG: &str = r#"E0912 01:02:03.456789       1 scraper.go:140] "Failed to scrape node" err="Get \"https://10.1.2.3:10250/metrics/resource\": dial tcp 10.1.2.3:10250: connect: connection refused" node="fargate-ip-10-1-2-3.eu-west-2.compute.internal""#;

    #[test]
    fn ndjson_record_kept_as_is_with_time() {
        let r = record(r#"{"date":1764312065.5,"log":"x","kubernetes":{"host":"n"}}"#);
        assert_eq!(r.format, Format::Json);
        assert_eq!(
            r.value,
            json!({"date":1764312065.5,"log":"x","kubernetes":{"host":"n"}})
        );
        assert_eq!(
            r.time,
            Some((1_764_312_065_500_000_000, TimeSource::Absolute))
        );
        // key order preserved
        let keys: Vec<_> = r.value.as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys, ["date", "log", "kubernetes"]);
    }

    #[test]
    fn docker_json_file_line() {
        let r = record(
            r#"{"log":"hello\n","stream":"stderr","time":"2026-11-28T06:00:00.000000001Z"}"#,
        );
        assert_eq!(r.format, Format::Json);
        assert_eq!(r.value["log"], "hello\n");
        assert_eq!(
            r.time.map(|t| t.0),
            Some(1_795_845_600_000_000_001),
            "time from the time key"
        );
    }

    #[test]
    fn metrics_server_json_logging_ts_in_ms() {
        let r = record(r#"{"ts":1764312065431.2817,"msg":"Failed to scrape node"}"#);
        let t = r.time.unwrap().0;
        assert!((t - 1_764_312_065_431_281_700).abs() < 1_000);
    }

    #[test]
    fn cri_line() {
        let line = format!("2026-11-28T06:00:00.123456789Z stderr F {KLOG}");
        let r = record(&line);
        assert_eq!(r.format, Format::Cri);
        assert_eq!(
            r.value,
            json!({"time":"2026-11-28T06:00:00.123456789Z","stream":"stderr","_p":"F","log":KLOG})
        );
        let keys: Vec<_> = r.value.as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys, ["time", "stream", "_p", "log"]);
        assert_eq!(r.time.unwrap().0, 1_795_845_600_123_456_789);
        // Empty message.
        let r = record("2026-11-28T06:00:00Z stdout F ");
        assert_eq!(r.value["log"], "");
    }

    #[test]
    fn cri_partials_join_per_stream() {
        let mut p = Parser::new(2026);
        assert_eq!(
            p.parse(b"2026-11-28T06:00:00Z stderr P abc", 1),
            Parsed::Held
        );
        assert_eq!(
            p.parse(b"2026-11-28T06:00:01Z stdout P out", 2),
            Parsed::Held
        );
        assert_eq!(
            p.parse(b"2026-11-28T06:00:02Z stderr P def", 3),
            Parsed::Held
        );
        let Parsed::Record(r) = p.parse(b"2026-11-28T06:00:03Z stderr F ghi", 4) else {
            panic!()
        };
        assert_eq!(
            r.value,
            json!({"time":"2026-11-28T06:00:00Z","stream":"stderr","_p":"P","log":"abcdefghi"})
        );
        assert_eq!(r.line, 1);
        let rest = p.finish();
        assert_eq!(rest.len(), 1);
        assert_eq!(rest[0].value["log"], "out");
        assert_eq!(rest[0].line, 2);
        assert_eq!(p.partial_lines, 3);
        assert!(p.finish().is_empty());
    }

    #[test]
    fn bare_klog_line() {
        let r = record(KLOG);
        assert_eq!(r.format, Format::Text);
        assert_eq!(r.value, json!({ "log": KLOG }));
        let (t, src) = r.time.unwrap();
        assert_eq!(src, TimeSource::KlogNoYear);
        assert_eq!(time::format_rfc3339(t), "2026-09-12T01:02:03Z");
    }

    #[test]
    fn text_without_time() {
        let r = record("  plain text, no time");
        assert_eq!(r.value, json!({"log":"  plain text, no time"}));
        assert_eq!(r.time, None);
        // CRLF
        let r = record("text\r");
        assert_eq!(r.value, json!({"log":"text"}));
    }

    #[test]
    fn aws_events_unwrapped() {
        let inner = r#"{"log":"x","kubernetes":{"host":"n"}}"#;
        let line = json!({"logStreamName":"s","timestamp":1764312065431u64,"message":inner,"ingestionTime":1764312066000u64,"eventId":"1"}).to_string();
        let r = record(&line);
        assert_eq!(r.format, Format::AwsEvent);
        assert_eq!(r.value, json!({"log":"x","kubernetes":{"host":"n"}}));
        assert_eq!(r.time.unwrap().0, 1_764_312_065_431_000_000);
        // The event's timestamp ranks above a klog header in the message.
        let inner = json!({ "log": KLOG }).to_string();
        let line =
            json!({"timestamp":1764312065431u64,"message":inner,"ingestionTime":1}).to_string();
        assert_eq!(
            record(&line).time,
            Some((1_764_312_065_431_000_000, TimeSource::Absolute))
        );
        // A text message becomes {"log": message}.
        let line =
            json!({"timestamp":1764312065431u64,"message":"plain","ingestionTime":1}).to_string();
        assert_eq!(record(&line).value, json!({"log":"plain"}));
        // A record that merely has a message key is not an event.
        let r = record(r#"{"timestamp":1,"message":"m","level":"info"}"#);
        assert_eq!(r.format, Format::Json);
    }

    #[test]
    fn prefixed_json_lines() {
        let r = record(r#"2026-11-28T06:00:00.000Z {"log":"x"}"#);
        assert_eq!(r.format, Format::PrefixedJson);
        assert_eq!(r.value, json!({"log":"x"}));
        assert_eq!(r.time.unwrap().0, 1_795_845_600_000_000_000);
        let r = record(r#"2026-11-28T06:00:00.000000+00:00 stream-name {"log":"y"}"#);
        assert_eq!(r.value, json!({"log":"y"}));
        // kubectl logs --timestamps of a klog line: kept whole as text.
        let line = format!("2026-11-28T06:00:00Z {KLOG}");
        let r = record(&line);
        assert_eq!(r.format, Format::Text);
        assert_eq!(r.value["log"], line.as_str());
        assert_eq!(r.time.unwrap().1, TimeSource::Absolute);
    }

    #[test]
    fn unreadable_lines() {
        let mut p = Parser::new(2026);
        assert_eq!(
            p.parse(b"\xff\xfe garbage", 1),
            Parsed::Unreadable(Problem::InvalidUtf8)
        );
        assert_eq!(p.parse(b"a\0b", 1), Parsed::Unreadable(Problem::Binary));
        assert!(matches!(
            p.parse(br#"{"log":"cut"#, 1),
            Parsed::Unreadable(Problem::BadJson(_))
        ));
        assert_eq!(p.parse(b"", 1), Parsed::Blank);
        assert_eq!(p.parse(b"  \t", 1), Parsed::Blank);
    }

    #[test]
    fn record_time_sources() {
        let m = |v: Value| v.as_object().unwrap().clone();
        assert_eq!(
            record_time(&m(json!({"@timestamp":"2026-11-28T06:00:00Z"})), 2026),
            Some((1_795_845_600_000_000_000, TimeSource::Absolute))
        );
        assert_eq!(
            record_time(&m(json!({"date":"1795845600"})), 2026),
            Some((1_795_845_600_000_000_000, TimeSource::Absolute))
        );
        assert_eq!(
            record_time(&m(json!({"log":"2026-11-28T06:00:00Z stderr F x"})), 2026),
            Some((1_795_845_600_000_000_000, TimeSource::Absolute))
        );
        assert_eq!(record_time(&m(json!({"time":"soon"})), 2026), None);
        assert_eq!(record_time(&m(json!({"log":7})), 2026), None);
    }

    #[test]
    fn own_node_added_only_without_kubernetes() {
        let mut v = json!({"log":"x"});
        assert!(add_own_node(&mut v, "fargate-ip-1"));
        assert_eq!(v, json!({"log":"x","kubernetes":{"host":"fargate-ip-1"}}));
        let keys: Vec<_> = v.as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys, ["log", "kubernetes"]);
        let mut v = json!({"kubernetes":{"pod_ip":"10.0.0.1"}});
        assert!(!add_own_node(&mut v, "n"));
        assert_eq!(v, json!({"kubernetes":{"pod_ip":"10.0.0.1"}}));
    }
}

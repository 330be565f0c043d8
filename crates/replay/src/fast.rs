//! The fast path for NDJSON lines that are already Fluent Bit's compact JSON
//! (what `json_lines` writes, and what the bench's workload is).
//!
//! Why it exists (the replay's one speed path): `cargo bench --bench replay`,
//! 200k mixed records of ~1 KiB, 5 runs, 2026-12-05: 1.61 s wall with it
//! (124,000 records/s), 2.45 s without it (81,600 records/s, short of the
//! replay's 100,000 records/s target).
//!
//! The slow path builds a `serde_json::Value` from the line
//! ([`input::Parser::parse`]) and prints it again as Fluent Bit would
//! ([`crate::fbjson::fluent_bit_json`]). For a line that is already exactly that text,
//! both steps give back the line's own bytes, so the fast path checks the
//! line once, without building anything, and hands the line itself to the
//! module. It says yes only when it can prove the slow path would produce
//! the same bytes, time and format; anything else (a doubt included) goes
//! the slow way. A line is taken only when all of these hold:
//!
//! - it is one JSON object from its first byte to its last (no leading or
//!   trailing whitespace, no `\r`), nested at most [`MAX_DEPTH`] deep;
//! - no whitespace between tokens (fbjson prints none);
//! - every byte is printable ASCII (fbjson escapes everything else), and
//!   strings contain only the escapes fbjson writes, in its spelling: `\"`,
//!   `\\`, `\n`, `\r`, `\t`, `\b`, `\f`, and lower-case `\u00XX` for the other
//!   control characters and DEL, lower-case `\uXXXX` for non-ASCII BMP
//!   characters and lower-case surrogate pairs above U+FFFF (so `\/`,
//!   `\u0041`, `\u00E9` and lone surrogates fall back);
//! - integers have no leading zeros and at most 18 digits (not `-0`); any
//!   other number is parsed as serde_json parses it and printed as fbjson
//!   prints it, and must come out as written (`0.5` does, `1e2` and `1.50` do
//!   not);
//! - no object repeats a key (a `Value` keeps one of them; since only
//!   fbjson's own escapes are accepted, equal keys are equal bytes), and no
//!   object has more than [`MAX_KEYS`] (the repeat check compares each key
//!   with the ones before it, so a hostile record with 100k keys goes the
//!   slow way, in linear time, instead of this one in quadratic time);
//! - it is not an `aws logs` event (those are unwrapped by the slow path).
//!
//! The record's time is found as the slow path finds it
//! ([`input::record_time`]) from the values of its time keys and its
//! `log`/`message`, decoded by serde_json.

use super::input::{self, TimeSource};
use super::time::Nanos;
use serde_json::{Map, Value};

/// Deeper nesting goes the slow way (serde_json refuses more than 128).
pub const MAX_DEPTH: u32 = 64;

/// Objects with more keys go the slow way (Fluent Bit records have dozens).
pub const MAX_KEYS: usize = 256;

/// What the slow path would have found in a line the fast path took (the
/// record's JSON text is the line itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fast {
    /// The record's time.
    pub time: Option<(Nanos, TimeSource)>,
    /// Whether the record has a top-level `kubernetes` key (then `--node`
    /// adds nothing).
    pub has_kubernetes: bool,
}

/// Top-level keys whose values the fast path reads (time keys first).
const TIME_KEYS: [&[u8]; 5] = [b"time", b"@timestamp", b"timestamp", b"ts", b"date"];
const TEXT_KEYS: [&[u8]; 2] = [b"log", b"message"];
const AWS_EVENT_KEYS: [&[u8]; 6] = [
    b"logStreamName",
    b"logGroupName",
    b"timestamp",
    b"message",
    b"ingestionTime",
    b"eventId",
];

/// A key's span in the line and a fingerprint of it (its length and first
/// bytes), so that most different keys differ without comparing bytes.
#[derive(Debug, Clone, Copy)]
struct Key {
    start: usize,
    end: usize,
    print: u64,
}

impl Key {
    fn new(b: &[u8], start: usize, end: usize) -> Key {
        let text = &b[start..end];
        let mut head = [0u8; 8];
        let n = text.len().min(7);
        head[..n].copy_from_slice(&text[..n]);
        head[7] = text.len() as u8;
        Key {
            start,
            end,
            print: u64::from_le_bytes(head),
        }
    }
}

/// Reusable buffers of the check (no allocation per line in steady state).
#[derive(Debug, Default)]
pub struct Checker {
    /// Key spans of the objects being checked, innermost last.
    keys: Vec<Key>,
    /// The root's members: key span, value span.
    top: Vec<((usize, usize), (usize, usize))>,
    /// fbjson's text of a number, for comparison.
    number: Vec<u8>,
}

impl Checker {
    /// A checker.
    pub fn new() -> Checker {
        Checker::default()
    }

    /// `Some` when the slow path would turn `line` (a whole line, without its
    /// `\n`) into a [`input::Format::Json`] record whose Fluent Bit JSON is
    /// exactly `line`: then its time and whether it has `kubernetes`.
    /// `None`: take the slow path.
    pub fn check(&mut self, line: &[u8], klog_year: i64) -> Option<Fast> {
        self.keys.clear();
        self.top.clear();
        if line.first() != Some(&b'{') {
            return None;
        }
        let end = self.object(line, 0, 1, true)?;
        if end != line.len() {
            return None;
        }
        let key = |(s, e): (usize, usize)| &line[s + 1..e - 1];
        let top = &self.top;
        if top.len() >= 3 && top.iter().all(|&(k, _)| AWS_EVENT_KEYS.contains(&key(k))) {
            return None;
        }
        let has_kubernetes = top.iter().any(|&(k, _)| key(k) == b"kubernetes");
        let decode = |map: &mut Map<String, Value>, names: &[&[u8]]| -> Option<()> {
            for &(k, (vs, ve)) in top {
                let name = key(k);
                if names.contains(&name) {
                    let value: Value = serde_json::from_slice(&line[vs..ve]).ok()?;
                    // Keys are plain ASCII here (no escapes in these names).
                    map.insert(String::from_utf8_lossy(name).into_owned(), value);
                }
            }
            Some(())
        };
        // The common case without building anything: the time keys that are
        // present hold strings without escapes. Otherwise, and when they
        // give no time (then the log text decides), the values are decoded
        // and read by the slow path's own code.
        let value = |name: &str| {
            top.iter()
                .find(|&&(k, _)| key(k) == name.as_bytes())
                .map(|&(_, (s, e))| &line[s..e])
        };
        let mut plain_keys = true;
        for name in input::TIME_KEYS {
            let Some(text) = value(name) else { continue };
            match plain_string(text) {
                Some(s) => {
                    if let Some(t) = input::string_key_time(s) {
                        return Some(Fast {
                            time: Some((t, TimeSource::Absolute)),
                            has_kubernetes,
                        });
                    }
                }
                None => {
                    plain_keys = false;
                    break;
                }
            }
        }
        let mut map = Map::new();
        let mut time = None;
        if !plain_keys {
            decode(&mut map, &TIME_KEYS)?;
            time = input::record_time(&map, klog_year);
        }
        if time.is_none() {
            decode(&mut map, &TEXT_KEYS)?;
            time = input::record_time(&map, klog_year);
        }
        Some(Fast {
            time,
            has_kubernetes,
        })
    }

    /// A value at `i`: its end.
    fn value(&mut self, b: &[u8], i: usize, depth: u32) -> Option<usize> {
        match *b.get(i)? {
            b'{' => self.object(b, i, depth + 1, false),
            b'[' => self.array(b, i, depth + 1),
            b'"' => string(b, i),
            b't' => literal(b, i, b"true"),
            b'f' => literal(b, i, b"false"),
            b'n' => literal(b, i, b"null"),
            b'-' | b'0'..=b'9' => self.number(b, i),
            _ => None,
        }
    }

    fn object(&mut self, b: &[u8], i: usize, depth: u32, root: bool) -> Option<usize> {
        if depth > MAX_DEPTH {
            return None;
        }
        let mut j = i + 1;
        if b.get(j) == Some(&b'}') {
            return Some(j + 1);
        }
        let base = self.keys.len();
        loop {
            if b.get(j) != Some(&b'"') {
                return None;
            }
            let key_end = string(b, j)?;
            let key = Key::new(b, j, key_end);
            if self.keys.len() - base >= MAX_KEYS {
                return None;
            }
            if self.keys[base..]
                .iter()
                .any(|k| k.print == key.print && b[k.start..k.end] == b[j..key_end])
            {
                return None;
            }
            self.keys.push(key);
            if b.get(key_end) != Some(&b':') {
                return None;
            }
            let value_end = self.value(b, key_end + 1, depth)?;
            if root {
                self.top.push(((j, key_end), (key_end + 1, value_end)));
            }
            j = value_end;
            match b.get(j) {
                Some(b',') => j += 1,
                Some(b'}') => break,
                _ => return None,
            }
        }
        self.keys.truncate(base);
        Some(j + 1)
    }

    fn array(&mut self, b: &[u8], i: usize, depth: u32) -> Option<usize> {
        if depth > MAX_DEPTH {
            return None;
        }
        let mut j = i + 1;
        if b.get(j) == Some(&b']') {
            return Some(j + 1);
        }
        loop {
            j = self.value(b, j, depth)?;
            match b.get(j) {
                Some(b',') => j += 1,
                Some(b']') => return Some(j + 1),
                _ => return None,
            }
        }
    }

    fn number(&mut self, b: &[u8], i: usize) -> Option<usize> {
        let mut j = i;
        let negative = b[j] == b'-';
        j += usize::from(negative);
        let int_start = j;
        match b.get(j) {
            Some(b'0') => j += 1,
            Some(b'1'..=b'9') => {
                while b.get(j).is_some_and(u8::is_ascii_digit) {
                    j += 1;
                }
            }
            _ => return None,
        }
        let int_digits = j - int_start;
        let mut plain = true;
        if b.get(j) == Some(&b'.') {
            plain = false;
            j = digit_run(b, j + 1)?;
        }
        if matches!(b.get(j), Some(b'e' | b'E')) {
            plain = false;
            j += 1;
            if matches!(b.get(j), Some(b'+' | b'-')) {
                j += 1;
            }
            j = digit_run(b, j)?;
        }
        if b.get(j).is_some_and(u8::is_ascii_digit) {
            return None; // a leading zero: `01`
        }
        let text = &b[i..j];
        if plain && int_digits <= 18 && text != b"-0" {
            // Fits an i64 / u64: printed back in decimal, as written.
            return Some(j);
        }
        // Anything else: as serde_json reads it, as fbjson prints it.
        let value: Value = serde_json::from_slice(text).ok()?;
        self.number.clear();
        self.number
            .extend_from_slice(&crate::fbjson::fluent_bit_json(&value));
        (self.number[..] == *text).then_some(j)
    }
}

/// The text of a JSON string without escapes (`"..."`, no backslash).
fn plain_string(json: &[u8]) -> Option<&str> {
    let inner = json.strip_prefix(b"\"")?.strip_suffix(b"\"")?;
    if inner.contains(&b'\\') {
        return None;
    }
    std::str::from_utf8(inner).ok()
}

fn literal(b: &[u8], i: usize, word: &[u8]) -> Option<usize> {
    b.get(i..i + word.len())
        .is_some_and(|w| w == word)
        .then_some(i + word.len())
}

/// Four lower-case hex digits at `i`.
fn hex4(b: &[u8], i: usize) -> Option<u32> {
    let digits = b.get(i..i + 4)?;
    let mut v = 0;
    for &d in digits {
        let n = match d {
            b'0'..=b'9' => d - b'0',
            b'a'..=b'f' => d - b'a' + 10,
            _ => return None,
        };
        v = v << 4 | u32::from(n);
    }
    Some(v)
}

/// A string at `i` (its opening quote) in fbjson's spelling: its end.
fn string(b: &[u8], i: usize) -> Option<usize> {
    let mut j = i + 1;
    loop {
        // Up to the next quote or backslash; what lies before it must be
        // plain (fbjson escapes control bytes, DEL and non-ASCII).
        let stop = j + memchr::memchr2(b'"', b'\\', b.get(j..)?)?;
        if !all_plain(&b[j..stop]) {
            return None;
        }
        match b[stop] {
            b'"' => return Some(stop + 1),
            _ => j = escape(b, stop)?,
        }
    }
}

/// Whether every byte is [`plain`]. Without an early exit, so the compiler
/// checks many bytes per step.
fn all_plain(bytes: &[u8]) -> bool {
    bytes.iter().fold(true, |ok, &c| ok & plain(c))
}

/// Whether a byte stands for itself in a string fbjson prints: printable
/// ASCII but `"` and `\`.
const fn plain(c: u8) -> bool {
    c >= 0x20 && c <= 0x7e && c != b'"' && c != b'\\'
}

/// The end of the run of ASCII digits at `j`; None when there is none.
fn digit_run(b: &[u8], mut j: usize) -> Option<usize> {
    let start = j;
    while b.get(j).is_some_and(u8::is_ascii_digit) {
        j += 1;
    }
    (j > start).then_some(j)
}

/// An escape at `i` (its backslash) as fbjson writes it: its end.
fn escape(b: &[u8], i: usize) -> Option<usize> {
    match *b.get(i + 1)? {
        b'"' | b'\\' | b'n' | b'r' | b't' | b'b' | b'f' => Some(i + 2),
        b'u' => {
            let v = hex4(b, i + 2)?;
            match v {
                // Short forms exist for these.
                0x08 | 0x09 | 0x0a | 0x0c | 0x0d => None,
                0x00..=0x1f | 0x7f => Some(i + 6),
                // Printable ASCII is written as itself.
                0x20..=0x7e => None,
                0xd800..=0xdbff => {
                    if b.get(i + 6..i + 8)? != b"\\u" {
                        return None;
                    }
                    let low = hex4(b, i + 8)?;
                    (0xdc00..=0xdfff).contains(&low).then_some(i + 12)
                }
                0xdc00..=0xdfff => None,
                _ => Some(i + 6),
            }
        }
        _ => None,
    }
}

/// The member fbjson prints for `"kubernetes":{"host":node}`, without the
/// braces around it, for [`add_own_node`].
pub fn own_node_member(node: &str) -> Vec<u8> {
    let mut k = Map::with_capacity(1);
    k.insert("host".into(), Value::String(node.to_owned()));
    let mut m = Map::with_capacity(1);
    m.insert("kubernetes".into(), Value::Object(k));
    let text = crate::fbjson::fluent_bit_json(&Value::Object(m));
    text[1..text.len() - 1].to_vec()
}

/// [`input::add_own_node`] on a record's fbjson text (a fast-path line
/// without `kubernetes`): the member appended last, as the slow path prints
/// it. `member` is from [`own_node_member`].
pub fn add_own_node(json: &mut Vec<u8>, member: &[u8]) {
    // A fast-path line is an object: it ends with its closing brace.
    if json.last() != Some(&b'}') {
        return;
    }
    json.pop();
    if json.len() > 1 {
        json.push(b',');
    }
    json.extend_from_slice(member);
    json.push(b'}');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fbjson::fluent_bit_json;
    use crate::input::{Format, Parsed, Parser};

    type Time = (Nanos, TimeSource);

    /// The slow path: the record's JSON text, time and whether it has
    /// `kubernetes`; None when it is not a plain NDJSON record.
    fn slow(line: &[u8]) -> Option<(Vec<u8>, Option<Time>, bool)> {
        match Parser::new(2026).parse(line, 1) {
            Parsed::Record(r) if r.format == Format::Json => {
                let k = r.value.get("kubernetes").is_some();
                Some((fluent_bit_json(&r.value), r.time, k))
            }
            _ => None,
        }
    }

    /// The fast path's answer, checked against the slow path's when it has
    /// one. Returns whether the fast path took the line.
    fn agrees(line: &[u8]) -> bool {
        let Some(fast) = Checker::new().check(line, 2026) else {
            return false;
        };
        let (json, time, k) = slow(line).unwrap_or_else(|| {
            panic!(
                "fast path took a line the slow path does not make a record of: {}",
                String::from_utf8_lossy(line)
            )
        });
        assert_eq!(
            String::from_utf8_lossy(&json),
            String::from_utf8_lossy(line),
            "fast path took a line fbjson prints differently"
        );
        assert_eq!(fast.time, time, "{}", String::from_utf8_lossy(line));
        assert_eq!(fast.has_kubernetes, k, "{}", String::from_utf8_lossy(line));
        true
    }

    #[test]
    fn takes_lines_in_fluent_bits_own_form() {
        let taken: &[&str] = &[
            r#"{}"#,
            r#"{"log":"x"}"#,
            r#"{"date":1764312065.5,"log":"x","kubernetes":{"host":"n"}}"#,
            r#"{"time":"2026-11-28T06:00:00.000000001Z","log":"hello\n","stream":"stderr"}"#,
            r#"{"log":"I1128 10:00:00.000811       1 x.go:1] \"quoted\" a\\b\t\r\b\f"}"#,
            r#"{"log":"caf\u00e9 \u00fc \u20ac \ud83d\ude00 \u0000 \u001f \u007f \u0080 \uffff"}"#,
            r#"{"a":[1,-2,0,-9,[],{},[{"b":null}],true,false],"c":{"d":{"e":"f"}}}"#,
            r#"{"n":123456789012345678,"m":-123456789012345678,"f":0.1,"g":3.0,"h":-2.25}"#,
            r#"{"big":18446744073709551615,"neg":-9223372036854775808,"e":1e-07,"p":1e+20}"#,
            r#"{"ts":1764312065431.282,"msg":"Failed to scrape node"}"#,
            r#"{"log":"E0912 01:02:03.456789       1 scraper.go:140] x"}"#,
            r#"{"message":"2026-11-28T06:00:00Z stderr F x"}"#,
            r#"{"time":"soon","log":"2026-11-28T06:00:00Z x"}"#,
            r#"{"timestamp":1,"message":"m","level":"info"}"#,
            r#"{"a":"/","b":"<>&'","k":"\\u0041"}"#,
            r#"{"kubernetes":7}"#,
            r#"{"kubernetes_a":1,"kubernetes_b":2,"kubernetes":3,"kubernete":4}"#,
            // Time keys in every form, in and out of order.
            r#"{"date":"1795845600.5","time":"x"}"#,
            r#"{"time":"2026-11-28T06:00:00\u00e9Z","ts":1795845600}"#,
            r#"{"time":"x","date":1795845600.5,"@timestamp":"2026-11-28T06:00:00Z"}"#,
            r#"{"ts":" 1795845600 ","log":"2026-11-28T06:00:00Z x"}"#,
            r#"{"time":"\n2026-11-28T06:00:00Z","log":"E0912 01:02:03.456789 1 x] y"}"#,
            r#"{"time":null,"message":"2026-11-28T06:00:01Z\tx"}"#,
        ];
        for line in taken {
            assert!(agrees(line.as_bytes()), "not taken: {line}");
        }
    }

    #[test]
    fn falls_back_where_the_slow_path_differs_or_decides_otherwise() {
        let fallback: &[&[u8]] = &[
            // Whitespace anywhere outside strings, CR, leading space.
            br#"{"log": "x"}"#,
            br#"{ "log":"x"}"#,
            br#"{"log":"x"} "#,
            b"{\"log\":\"x\"}\r",
            br#" {"log":"x"}"#,
            br#"{"a":[1, 2]}"#,
            // Escapes fbjson does not write, or writes otherwise.
            br#"{"log":"a\/b"}"#,
            br#"{"log":"\u0041"}"#,
            br#"{"log":"\u00E9"}"#,
            br#"{"log":"\u000a"}"#,
            br#"{"log":"\u0009"}"#,
            br#"{"log":"\ud83d"}"#,
            br#"{"log":"\ude00"}"#,
            br#"{"log":"\ud83d\u0041"}"#,
            br#"{"log":"\uD83D\uDE00"}"#,
            // Bytes fbjson escapes.
            "{\"log\":\"caf\u{e9}\"}".as_bytes(),
            b"{\"log\":\"a\x7fb\"}",
            b"{\"log\":\"a\tb\"}",
            // Numbers printed otherwise.
            br#"{"a":1e2}"#,
            br#"{"a":1.50}"#,
            br#"{"a":1.0e0}"#,
            br#"{"a":-0}"#,
            br#"{"a":-0.0e0}"#,
            br#"{"a":18446744073709551616}"#,
            br#"{"a":-9223372036854775809}"#,
            br#"{"a":1E+20}"#,
            // 17 significant digits: fbjson prints 16.
            br#"{"ts":1764312065431.2817,"msg":"Failed to scrape node"}"#,
            // Repeated keys, at any depth.
            br#"{"a":1,"a":2}"#,
            br#"{"k":{"host":"a","host":"b"}}"#,
            br#"{"k":[{"x":1,"y":2,"x":3}]}"#,
            br#"{"kubernetes_a":1,"kubernetes_b":2,"kubernetes_a":3}"#,
            // aws logs events are unwrapped by the slow path.
            br#"{"timestamp":1764312065431,"message":"{\"log\":\"x\"}","ingestionTime":1}"#,
            // Not an object, not JSON, cut, trailing text.
            br#"["a"]"#,
            br#"{"log":"cut"#,
            br#"{"a":1}x"#,
            br#"{"a":01}"#,
            br#"{"a":tru}"#,
            br#"{"a":.5}"#,
            br#"{"a":1.}"#,
            br#"{"a":1e}"#,
            br#"{"a",1}"#,
            br#"{"a":1,}"#,
            br#"{a:1}"#,
            br#"{"a":[1,]}"#,
            b"",
            b"x",
        ];
        for line in fallback {
            assert!(!agrees(line), "taken: {}", String::from_utf8_lossy(line));
        }
        // Nesting deeper than MAX_DEPTH goes the slow way; up to it, fast.
        let nest = |n: u32| {
            let mut s = String::from("{\"a\":");
            for _ in 1..n {
                s.push('[');
            }
            s.push('1');
            for _ in 1..n {
                s.push(']');
            }
            s.push('}');
            s
        };
        assert!(agrees(nest(MAX_DEPTH).as_bytes()));
        assert!(!agrees(nest(MAX_DEPTH + 1).as_bytes()));
        assert!(!agrees(nest(200).as_bytes()));
        // Keys of 256 bytes apart in length with the same first bytes.
        let (a, b) = ("k".repeat(3), "k".repeat(259));
        assert!(agrees(format!(r#"{{"{a}":1,"{b}":2}}"#).as_bytes()));
        assert!(!agrees(format!(r#"{{"{b}":1,"x":0,"{b}":2}}"#).as_bytes()));
        // Up to MAX_KEYS keys per object, fast; more (a hostile record of
        // 100k keys, say), the slow way, whose repeat check is not quadratic.
        let keys = |n: usize| {
            let members: Vec<String> = (0..n).map(|i| format!(r#""k{i}":{i}"#)).collect();
            format!(r#"{{"log":"x","m":{{{}}}}}"#, members.join(","))
        };
        assert!(agrees(keys(MAX_KEYS).as_bytes()));
        assert!(!agrees(keys(MAX_KEYS + 1).as_bytes()));
        assert!(!agrees(keys(100_000).as_bytes()));
    }

    use selfscrape_testkit::Rng;

    fn random_value(rng: &mut Rng, depth: u32) -> Value {
        const WORDS: [&str; 15] = [
            "2026-11-28T06:00:00.5Z",
            " 1764312065.25 ",
            "2026-11-28T06:00:00+01:00",
            "log",
            "time",
            "kubernetes",
            "host",
            "a\"b",
            "x\\y\n",
            "\u{1}\u{7f}",
            "café",
            "😀",
            "2026-11-28T06:00:00Z x",
            "E0912 01:02:03.456789 1 x] y",
            "",
        ];
        match rng.below(if depth > 3 { 5 } else { 7 }) {
            0 => Value::Null,
            1 => Value::Bool(rng.below(2) == 0),
            2 => Value::from(rng.next() as i64 >> rng.below(64)),
            3 => Value::from(
                (rng.next() as i64 >> rng.below(64)) as f64 / (1 + rng.below(1000)) as f64,
            ),
            4 => Value::String(WORDS[rng.below(15)].to_owned()),
            5 => Value::Array(
                (0..rng.below(4))
                    .map(|_| random_value(rng, depth + 1))
                    .collect(),
            ),
            _ => {
                let mut m = Map::new();
                for _ in 0..rng.below(5) {
                    let k = WORDS[rng.below(15)].to_owned();
                    m.insert(k, random_value(rng, depth + 1));
                }
                Value::Object(m)
            }
        }
    }

    #[test]
    fn agrees_with_the_slow_path_on_random_records_and_their_mutations() {
        let mut rng = Rng::new(0x9e37_79b9_7f4a_7c15);
        let mut taken = 0;
        let mut mutated_taken = 0;
        let noise = b" \t\"\\/{}[],:0123456789.eE+-uabcdefABCDEFtrnl\x7f\xc3\xa9";
        for _ in 0..3000 {
            let mut m = Map::new();
            for _ in 0..rng.below(6) {
                let k = ["log", "time", "ts", "date", "message", "kubernetes", "x"][rng.below(7)];
                m.insert(k.to_owned(), random_value(&mut rng, 1));
            }
            let line = fluent_bit_json(&Value::Object(m));
            // fbjson's own text: always taken, always identical.
            assert!(agrees(&line), "{}", String::from_utf8_lossy(&line));
            taken += 1;
            // Mutations: whatever the fast path takes must agree.
            for _ in 0..8 {
                let mut l = line.clone();
                for _ in 0..1 + rng.below(3) {
                    let at = rng.below(l.len());
                    let byte = noise[rng.below(noise.len())];
                    match rng.below(3) {
                        0 => l[at] = byte,
                        1 => l.insert(at, byte),
                        _ => {
                            l.remove(at);
                        }
                    }
                    if l.is_empty() {
                        break;
                    }
                }
                mutated_taken += usize::from(agrees(&l));
            }
        }
        assert_eq!(taken, 3000);
        // The mutations exercise the fast path, not only its refusals.
        assert!(mutated_taken > 2000, "{mutated_taken}");
    }

    #[test]
    fn string_ends_where_a_byte_by_byte_reading_ends() {
        // The reading before memchr: byte by byte, plain bytes, escapes,
        // the closing quote, and nothing else.
        fn bytewise(b: &[u8], i: usize) -> Option<usize> {
            let mut j = i + 1;
            loop {
                match *b.get(j)? {
                    b'"' => return Some(j + 1),
                    b'\\' => j = escape(b, j)?,
                    c if plain(c) => j += 1,
                    _ => return None,
                }
            }
        }
        for c in 0..=255u8 {
            for at in 1..40 {
                let mut s = vec![b'a'; 41];
                s[0] = b'"';
                s[40] = b'"';
                s[at] = c;
                assert_eq!(string(&s, 0), bytewise(&s, 0), "{c:#x} at {at}");
                s.truncate(40);
                assert_eq!(string(&s, 0), bytewise(&s, 0), "{c:#x} at {at}, open");
            }
        }
        let mut rng = Rng::new(0x1234_5678_9abc_def1);
        let pieces: [&[u8]; 8] = [
            b"abc",
            b"\\n",
            b"\\\"",
            b"\\u00e9",
            b"\\ud83d\\ude00",
            b"\\x",
            b"\x7f",
            b"\xc3\xa9",
        ];
        for _ in 0..20_000 {
            let mut s = b"\"".to_vec();
            for _ in 0..rng.below(12) {
                s.extend_from_slice(pieces[rng.below(8)]);
            }
            if rng.below(4) != 0 {
                s.push(b'"');
            }
            s.extend_from_slice(b"tail\"");
            assert_eq!(
                string(&s, 0),
                bytewise(&s, 0),
                "{:?}",
                String::from_utf8_lossy(&s)
            );
        }
    }

    #[test]
    fn own_node_as_the_slow_path_adds_it() {
        let member = own_node_member("fargate-ip-1 \"é\"");
        for line in [r#"{}"#, r#"{"log":"x"}"#, r#"{"log":"x","a":[1,{"b":2}]}"#] {
            let mut fast = line.as_bytes().to_vec();
            add_own_node(&mut fast, &member);
            let mut v: Value = serde_json::from_str(line).unwrap();
            assert!(input::add_own_node(&mut v, "fargate-ip-1 \"é\""));
            assert_eq!(
                String::from_utf8(fast).unwrap(),
                String::from_utf8(fluent_bit_json(&v)).unwrap()
            );
        }
    }
}

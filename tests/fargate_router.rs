//! The EKS Fargate router ConfigMap (`fluent-bit-conf/fargate-router/`)
//! against the module's rule.
//!
//! The ConfigMap is read as shipped: its `filters.conf` and `parsers.conf`
//! are parsed and executed by a small emulator of the Fluent Bit filters it
//! uses (parser, kubernetes, modify, rewrite_tag, grep, with Match and
//! Match_Regex routing and the re-emission of rewritten records). Onigmo
//! regexes run on the `regex` crate after a translation that accepts only
//! the syntax both engines read the same way; the one backreference that
//! Rust cannot express (`\1` in the grep Match_Regex, `\k<name>` in the
//! parsers) is emulated exactly. Every corpus case then gets two verdicts,
//! the module's `evaluate().drops()` and the config's, and they must agree
//! except for the cases listed in [`EXPECTED_DIFFERENCES`], each with the
//! reason why the config cannot see what the module sees.
//!
//! What the emulator models was read from Fluent Bit's source, 1.9.10 and
//! 5.1.1 (they differ only in filter_parser with a repeated key; the corpus
//! comparison runs both): filter_parser's Reserve_Data/Preserve_Key loop,
//! filter_kubernetes' Merge_Log/Keep_Log, filter_modify's conditions, Copy
//! and Remove, filter_rewrite_tag's rules and record accessor templates,
//! filter_grep's legacy rule order, and flb_router_match.
mod common;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt::Write as _;
use std::path::PathBuf;

use regex::Regex;
use selfscrape_rule::{Scratch, evaluate};

// ---------------------------------------------------------------------------
// The ConfigMap

fn configmap_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fluent-bit-conf/fargate-router/aws-logging.yaml")
}

fn configmap_text() -> String {
    let p = configmap_path();
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("reading {}: {e}", p.display()))
}

/// The `data:` entries of the ConfigMap: block scalars (`key: |`) dedented,
/// plain scalars as written. Only the YAML this file uses is understood;
/// anything else fails the test.
fn configmap_data(yaml: &str) -> BTreeMap<String, String> {
    let mut data = BTreeMap::new();
    let mut lines = yaml.lines().peekable();
    // Skip to `data:`.
    for line in lines.by_ref() {
        if line == "data:" {
            break;
        }
    }
    while let Some(line) = lines.next() {
        if line.trim().is_empty() {
            continue;
        }
        let indent = line.len() - line.trim_start().len();
        assert_eq!(indent, 2, "unexpected line in data: {line:?}");
        let (key, value) = line
            .trim()
            .split_once(':')
            .unwrap_or_else(|| panic!("not a key: {line:?}"));
        let value = value.trim();
        if value == "|" {
            let mut block = String::new();
            let mut block_indent = None;
            while let Some(next) = lines.peek() {
                let ni = next.len() - next.trim_start().len();
                if !next.trim().is_empty() && ni <= 2 {
                    break;
                }
                let next = lines.next().unwrap_or_default();
                if next.trim().is_empty() {
                    block.push('\n');
                    continue;
                }
                let bi = *block_indent.get_or_insert(ni);
                assert!(ni >= bi, "block {key} dedents: {next:?}");
                block.push_str(&next[bi..]);
                block.push('\n');
            }
            data.insert(key.to_string(), block);
        } else {
            data.insert(key.to_string(), value.trim_matches('"').to_string());
        }
    }
    data
}

/// One `[SECTION]` of a classic Fluent Bit config: its name, the raw lines
/// (for the indentation rules) and its entries in order (keys lowercased).
#[derive(Debug, Clone)]
struct Section {
    kind: String,
    entries: Vec<(String, String)>,
}

impl Section {
    fn all(&self, key: &str) -> Vec<&str> {
        self.entries
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    fn one(&self, key: &str) -> Option<&str> {
        let all = self.all(key);
        assert!(all.len() <= 1, "[{}] repeats {key}: {all:?}", self.kind);
        all.first().copied()
    }

    fn flag(&self, key: &str, default: bool) -> bool {
        match self.one(key).map(str::to_ascii_lowercase).as_deref() {
            None => default,
            Some("on" | "true" | "yes") => true,
            Some("off" | "false" | "no") => false,
            Some(other) => panic!("[{}] {key} {other:?} is not a boolean", self.kind),
        }
    }
}

fn parse_conf(text: &str) -> Vec<Section> {
    let mut sections: Vec<Section> = Vec::new();
    for line in text.lines() {
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        if let Some(kind) = t.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
            sections.push(Section {
                kind: kind.to_ascii_uppercase(),
                entries: Vec::new(),
            });
            continue;
        }
        let (k, v) = t.split_once([' ', '\t']).unwrap_or((t, ""));
        let section = sections
            .last_mut()
            .unwrap_or_else(|| panic!("key outside a section: {line:?}"));
        section
            .entries
            .push((k.to_ascii_lowercase(), v.trim().to_string()));
    }
    sections
}

/// The ConfigMap rules of the Fargate router, as AWS documents them: the
/// product's own check (`selfscrape check`).
use selfscrape_check::router_rule_violations;

// ---------------------------------------------------------------------------
// Records: JSON objects that keep repeated keys, like a msgpack map does.

#[derive(Debug, Clone, PartialEq)]
enum J {
    Null,
    Bool(bool),
    Num(String),
    Str(String),
    Arr(Vec<J>),
    Obj(Vec<(String, J)>),
}

type Map = Vec<(String, J)>;

/// Values nested deeper than this are checked for syntax but kept as a
/// placeholder: no filter of the config reads below the second level, and
/// serde_json's own depth limit (128) would refuse records Fluent Bit holds.
const KEEP_DEPTH: usize = 64;

/// A record as Fluent Bit could hold it, when the text is one JSON object.
fn parse_record(text: &str) -> Option<Map> {
    let mut p = JsonParser {
        s: text.as_bytes(),
        text,
        at: 0,
    };
    p.ws();
    let v = p.value(0)?;
    p.ws();
    match (v, p.at == p.s.len()) {
        (J::Obj(m), true) => Some(m),
        _ => None,
    }
}

struct JsonParser<'t> {
    s: &'t [u8],
    text: &'t str,
    at: usize,
}

impl JsonParser<'_> {
    fn ws(&mut self) {
        while self.s.get(self.at).is_some_and(|c| b" \t\r\n".contains(c)) {
            self.at += 1;
        }
    }

    fn eat(&mut self, c: u8) -> Option<()> {
        self.ws();
        (self.s.get(self.at) == Some(&c)).then(|| self.at += 1)
    }

    /// A string token, decoded by serde_json (escapes, surrogates, control
    /// characters: its rules).
    fn string(&mut self) -> Option<String> {
        self.ws();
        let start = self.at;
        if self.s.get(start) != Some(&b'"') {
            return None;
        }
        let mut i = start + 1;
        loop {
            match self.s.get(i)? {
                b'"' => break,
                b'\\' => i += 2,
                _ => i += 1,
            }
        }
        self.at = i + 1;
        serde_json::from_str::<String>(self.text.get(start..=i)?).ok()
    }

    fn value(&mut self, depth: usize) -> Option<J> {
        self.ws();
        if depth > KEEP_DEPTH && matches!(self.s.get(self.at), Some(b'{' | b'[')) {
            return self.skip().then_some(J::Null);
        }
        match *self.s.get(self.at)? {
            b'{' => {
                self.at += 1;
                let mut m = Vec::new();
                if self.eat(b'}').is_some() {
                    return Some(J::Obj(m));
                }
                loop {
                    let k = self.string()?;
                    self.eat(b':')?;
                    m.push((k, self.value(depth + 1)?));
                    if self.eat(b',').is_none() {
                        self.eat(b'}')?;
                        return Some(J::Obj(m));
                    }
                }
            }
            b'[' => {
                self.at += 1;
                let mut a = Vec::new();
                if self.eat(b']').is_some() {
                    return Some(J::Arr(a));
                }
                loop {
                    a.push(self.value(depth + 1)?);
                    if self.eat(b',').is_none() {
                        self.eat(b']')?;
                        return Some(J::Arr(a));
                    }
                }
            }
            b'"' => self.string().map(J::Str),
            _ => {
                let start = self.at;
                while self
                    .s
                    .get(self.at)
                    .is_some_and(|c| !b",:]} \t\r\n".contains(c))
                {
                    self.at += 1;
                }
                let tok = self.text.get(start..self.at)?;
                match tok {
                    "null" => Some(J::Null),
                    "true" => Some(J::Bool(true)),
                    "false" => Some(J::Bool(false)),
                    _ => serde_json::from_str::<serde_json::Number>(tok)
                        .ok()
                        .map(|n| J::Num(n.to_string())),
                }
            }
        }
    }

    /// Skips one nested value without recursion; false when it is not
    /// well-formed JSON.
    fn skip(&mut self) -> bool {
        let mut stack: Vec<u8> = Vec::new();
        // Expect a value next (after `[`, `:` or `,`), or a key (after `{`
        // or `,` in an object).
        loop {
            self.ws();
            let Some(&c) = self.s.get(self.at) else {
                return false;
            };
            match c {
                b'{' | b'[' => {
                    stack.push(if c == b'{' { b'}' } else { b']' });
                    self.at += 1;
                    if self.eat(stack[stack.len() - 1]).is_some() {
                        stack.pop();
                    } else if c == b'{' && (self.string().is_none() || self.eat(b':').is_none()) {
                        return false;
                    } else {
                        continue;
                    }
                }
                b'}' | b']' | b',' | b':' => return false,
                _ => {
                    if self.value(0).is_none() {
                        return false;
                    }
                }
            }
            // After a value: close containers or go on to the next member.
            loop {
                let Some(&close) = stack.last() else {
                    return true;
                };
                if self.eat(close).is_some() {
                    stack.pop();
                    continue;
                }
                if self.eat(b',').is_none() {
                    return false;
                }
                if close == b'}' && (self.string().is_none() || self.eat(b':').is_none()) {
                    return false;
                }
                break;
            }
        }
    }
}

/// The record accessor's lookup: the LAST key of that name at every level
/// (flb_ra_key.c `ra_key_val_id` walks maps backwards).
fn ra_get<'m>(map: &'m Map, path: &[String]) -> Option<&'m J> {
    let (first, rest) = path.split_first()?;
    let mut cur = &map.iter().rev().find(|(k, _)| k == first)?.1;
    for key in rest {
        let J::Obj(m) = cur else { return None };
        cur = &m.iter().rev().find(|(k, _)| k == key)?.1;
    }
    Some(cur)
}

/// `$key['a']['b']` (or a bare `key`) into its path.
fn ra_path(spec: &str) -> Vec<String> {
    let spec = spec.strip_prefix('$').unwrap_or(spec);
    let (root, mut rest) = match spec.find('[') {
        Some(i) => (&spec[..i], &spec[i..]),
        None => (spec, ""),
    };
    assert!(!root.is_empty(), "empty record accessor {spec:?}");
    let mut path = vec![root.to_string()];
    while !rest.is_empty() {
        let inner = rest
            .strip_prefix("['")
            .and_then(|r| r.split_once("']"))
            .unwrap_or_else(|| panic!("record accessor the emulator does not know: {spec:?}"));
        path.push(inner.0.to_string());
        rest = inner.1;
    }
    path
}

// ---------------------------------------------------------------------------
// Onigmo regexes on the regex crate

/// An Onigmo (Ruby syntax) pattern translated for the `regex` crate.
/// `\k<name>` becomes a second group with the referenced group's body, and a
/// match counts only when both captured the same text: exact when that body
/// is a character class repeated (the only form accepted here), followed by
/// a literal it cannot match, as in the shipped parsers.
#[derive(Debug, Clone)]
struct Onig {
    re: Regex,
    /// (group, its copy) that must capture the same text.
    equal: Vec<(String, String)>,
}

impl Onig {
    fn new(pattern: &str) -> Onig {
        let translated = translate(pattern).unwrap_or_else(|e| panic!("{e}"));
        let mut equal = Vec::new();
        let mut out = String::new();
        let mut rest = translated.as_str();
        let mut n = 0;
        while let Some(at) = rest.find("\\k<") {
            out.push_str(&rest[..at]);
            let after = &rest[at + 3..];
            let end = after.find('>').expect("\\k<name> unterminated");
            let name = &after[..end];
            let body = group_body(&translated, name);
            assert!(
                body.strip_suffix(['+', '*'])
                    .and_then(|b| b.strip_prefix('['))
                    .and_then(|b| b.strip_suffix(']'))
                    .is_some_and(|inner| !inner.is_empty() && !inner.contains(['[', ']'])),
                "backreference to {name} whose body {body:?} is not a plain class repeat"
            );
            n += 1;
            let copy = format!("{name}__again{n}");
            let _ = write!(out, "(?<{copy}>{body})");
            equal.push((name.to_string(), copy));
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        let re = Regex::new(&out).unwrap_or_else(|e| panic!("{pattern:?} -> {out:?}: {e}"));
        Onig { re, equal }
    }

    /// `onig_search` over `s`: the named captures of a match, `None` when no
    /// match. Empty captures are left out, as Fluent Bit's regex parser
    /// skips empty values.
    fn search(&self, s: &str) -> Option<Vec<(String, String)>> {
        let caps = self.re.captures(s)?;
        for (a, b) in &self.equal {
            if caps.name(a).map(|m| m.as_str()) != caps.name(b).map(|m| m.as_str()) {
                return None;
            }
        }
        Some(
            self.re
                .capture_names()
                .flatten()
                .filter(|n| !n.contains("__again"))
                .filter_map(|n| {
                    let v = caps.name(n)?.as_str();
                    (!v.is_empty()).then(|| (n.to_string(), v.to_string()))
                })
                .collect(),
        )
    }

    fn is_match(&self, s: &str) -> bool {
        self.search(s).is_some()
    }
}

/// The body of `(?<name>...)` in a translated pattern.
fn group_body(pattern: &str, name: &str) -> String {
    let open = format!("(?<{name}>");
    let start = pattern
        .find(&open)
        .expect("backreference to an unknown group")
        + open.len();
    let mut depth = 1;
    let mut chars = pattern[start..].char_indices();
    let mut in_class = false;
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => {
                chars.next();
            }
            '[' if !in_class => in_class = true,
            ']' if in_class => in_class = false,
            '(' if !in_class => depth += 1,
            ')' if !in_class => {
                depth -= 1;
                if depth == 0 {
                    return pattern[start..start + i].to_string();
                }
            }
            _ => {}
        }
    }
    panic!("unbalanced group {name}")
}

/// Onigmo Ruby syntax to `regex` syntax, for the subset both read alike:
/// `^`/`$` are line anchors in Ruby (so `(?m:^)`/`(?m:$)` here), `.` stops
/// at `\n` in both; escapes outside the list below fail the test, because
/// `\d`, `\s`, `\w`, `\h`, `\b` and friends differ between the engines.
fn translate(p: &str) -> Result<String, String> {
    let mut out = String::with_capacity(p.len() + 16);
    let mut chars = p.chars().peekable();
    let mut in_class = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let e = chars.next().ok_or(format!("trailing \\ in {p:?}"))?;
                match e {
                    'A' | 'z' if !in_class => out.extend(['\\', e]),
                    'x' => {
                        let hex: String =
                            [chars.next(), chars.next()].into_iter().flatten().collect();
                        if hex.len() != 2 || !hex.chars().all(|h| h.is_ascii_hexdigit()) {
                            return Err(format!("\\x needs two hex digits in {p:?}"));
                        }
                        let _ = write!(out, "\\x{hex}");
                    }
                    'k' if !in_class => out.push_str("\\k"),
                    '1'..='9' => {
                        return Err(format!(
                            "numbered backreference in {p:?}: only the tag emulation has one"
                        ));
                    }
                    '.' | '\\' | '"' | '[' | ']' | '(' | ')' | '{' | '}' | '-' | '+' | '*'
                    | '?' | '|' | '^' | '$' | '/' => out.extend(['\\', e]),
                    'r' | 'n' | 't' => out.extend(['\\', e]),
                    other => {
                        return Err(format!(
                            "escape \\{other} in {p:?} reads differently in Onigmo and regex"
                        ));
                    }
                }
            }
            '[' if !in_class => {
                in_class = true;
                out.push('[');
                if chars.peek() == Some(&'^') {
                    out.push(chars.next().unwrap_or('^'));
                }
                // A `]` right after `[` or `[^` is a literal in Onigmo; `[[`
                // opens a nested class or a POSIX bracket there.
                if matches!(chars.peek(), Some(']' | '[')) {
                    return Err(format!("leading ] or [ in a class in {p:?}"));
                }
            }
            '[' if in_class => return Err(format!("nested class in {p:?}")),
            ']' if in_class => {
                in_class = false;
                out.push(']');
            }
            '^' if !in_class => out.push_str("(?m:^)"),
            '$' if !in_class => out.push_str("(?m:$)"),
            '&' | '~' if in_class => out.extend(['\\', c]),
            c => out.push(c),
        }
    }
    if in_class {
        return Err(format!("unterminated class in {p:?}"));
    }
    Ok(out)
}

/// A tag matcher: `Match` (wildcards) or `Match_Regex`, either one matching
/// (flb_router_match). A Match_Regex with `\1` must have the form
/// `\A<prefix>(<group>)<literal>\1\z`, which is emulated exactly: Onigmo
/// backtracks over every split, so does this.
#[derive(Debug, Clone)]
struct TagMatch {
    wildcard: Option<String>,
    regex: Option<TagRegex>,
}

#[derive(Debug, Clone)]
enum TagRegex {
    Plain(Onig),
    Halves {
        /// Must match the whole text before the first half.
        prefix: Onig,
        group: Onig,
        separator: String,
    },
}

fn unescape_literal(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            let e = chars.next().unwrap_or('\\');
            assert!(e.is_ascii_punctuation(), "not a literal: {s:?}");
            out.push(e);
        } else {
            assert!(!".*+?()[]{}|^$".contains(c), "not a literal: {s:?}");
            out.push(c);
        }
    }
    out
}

impl TagRegex {
    fn new(p: &str) -> TagRegex {
        if !p.contains("\\1") {
            return TagRegex::Plain(Onig::new(p));
        }
        let body = p
            .strip_prefix("\\A")
            .or_else(|| p.strip_prefix('^'))
            .and_then(|b| b.strip_suffix("\\1\\z"))
            .unwrap_or_else(|| {
                panic!("Match_Regex {p:?}: only \\A<lit>(<group>)<lit>\\1\\z is emulated")
            });
        let open = body.find('(').expect("no group");
        let close = body.rfind(')').expect("no group");
        TagRegex::Halves {
            prefix: Onig::new(&format!("\\A(?:{})\\z", &body[..open])),
            group: Onig::new(&format!("\\A(?:{})\\z", &body[open + 1..close])),
            separator: unescape_literal(&body[close + 1..]),
        }
    }

    /// onig_match at the start of the tag (the router needs a non-empty match).
    fn matches(&self, tag: &str) -> bool {
        match self {
            TagRegex::Plain(re) => re
                .re
                .find(tag)
                .is_some_and(|m| m.start() == 0 && m.end() > 0),
            TagRegex::Halves {
                prefix,
                group,
                separator,
            } => {
                // tag = p + g + separator + g, p matching the prefix and g
                // the group, for some split.
                (1..=tag.len()).any(|len| {
                    let Some(head_len) = tag.len().checked_sub(2 * len + separator.len()) else {
                        return false;
                    };
                    let (head, rest) = tag.split_at_checked(head_len).unwrap_or_default();
                    rest.is_char_boundary(len)
                        && rest[len..].starts_with(separator.as_str())
                        && rest[..len] == rest[len + separator.len()..]
                        && group.is_match(&rest[..len])
                        && prefix.is_match(head)
                })
            }
        }
    }
}

/// flb_router_match's wildcard: `*` matches any run of characters.
fn wildcard(pattern: &str, tag: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == tag,
        Some((head, rest)) => {
            let Some(tail) = tag.strip_prefix(head) else {
                return false;
            };
            (0..=tail.len())
                .filter(|&i| tail.is_char_boundary(i))
                .any(|i| wildcard(rest, &tail[i..]))
        }
    }
}

impl TagMatch {
    fn of(s: &Section) -> TagMatch {
        TagMatch {
            wildcard: s.one("match").map(str::to_string),
            regex: s.one("match_regex").map(TagRegex::new),
        }
    }

    fn matches(&self, tag: &str) -> bool {
        self.regex.as_ref().is_some_and(|r| r.matches(tag))
            || self.wildcard.as_deref().is_some_and(|w| wildcard(w, tag))
    }
}

// ---------------------------------------------------------------------------
// The filters

#[derive(Debug, Clone)]
enum Cond {
    Exists(Vec<String>),
    NotExists(Vec<String>),
    Equals(Vec<String>, String),
    Matches(Vec<String>, Onig),
    DoesNotMatch(Vec<String>, Onig),
}

#[derive(Debug, Clone)]
enum ModRule {
    Copy(String, String),
    Rename(String, String),
    Add(String, String),
    Remove(String),
}

#[derive(Debug, Clone)]
enum Part {
    Lit(String),
    Key(Vec<String>),
    /// `$TAG`
    Tag,
    /// `$TAG[n]`: the n-th part of the tag split at dots.
    TagField(usize),
}

#[derive(Debug, Clone)]
struct RwRule {
    key: Vec<String>,
    regex: Onig,
    template: Vec<Part>,
    keep: bool,
}

#[derive(Debug, Clone)]
enum GrepRule {
    Regex(Vec<String>, Onig),
    Exclude(Vec<String>, Onig),
}

#[derive(Debug, Clone)]
struct RegexParser {
    /// `None`: a `Format json` parser (the value must be one JSON object).
    re: Option<Onig>,
    time_key: Option<String>,
    time_keep: bool,
}

#[derive(Debug, Clone)]
enum Kind {
    Parser {
        key: String,
        parsers: Vec<String>,
        reserve: bool,
        preserve: bool,
    },
    Kubernetes {
        merge_log: bool,
        keep_log: bool,
    },
    Modify {
        conds: Vec<Cond>,
        rules: Vec<ModRule>,
    },
    RewriteTag(Vec<RwRule>),
    Grep(Vec<GrepRule>),
}

#[derive(Debug, Clone)]
struct Filter {
    /// For messages.
    #[allow(dead_code)]
    name: String,
    matcher: TagMatch,
    kind: Kind,
}

/// The record accessor template parser (flb_record_accessor.c): a `$key`
/// ends at `.`, ` `, `,` or `"` outside quotes; `$TAG` is the tag and
/// `$TAG[n]` its n-th dot-separated part.
fn parse_template(t: &str) -> Vec<Part> {
    let mut parts = Vec::new();
    let b = t.as_bytes();
    let (mut i, mut lit) = (0, String::new());
    while i < b.len() {
        if b[i] != b'$' {
            lit.push(b[i] as char);
            i += 1;
            continue;
        }
        assert!(
            !b.get(i + 1).is_some_and(u8::is_ascii_digit),
            "template {t:?}: $N is not emulated"
        );
        if !lit.is_empty() {
            parts.push(Part::Lit(std::mem::take(&mut lit)));
        }
        if t[i..].starts_with("$TAG") {
            // `$TAG[n]` needs a character after the `[`, as in Fluent Bit.
            match t[i + 4..].strip_prefix('[').filter(|_| i + 5 < t.len()) {
                Some(rest) => {
                    let (n, _) = rest.split_once(']').expect("$TAG[ without ]");
                    parts.push(Part::TagField(n.parse().expect("$TAG[n] with a number")));
                    i += 4 + 1 + n.len() + 1;
                }
                None => {
                    parts.push(Part::Tag);
                    i += 4;
                }
            }
            continue;
        }
        let mut end = i + 1;
        let mut quotes = 0;
        while end < b.len() {
            match b[end] {
                b'\'' => quotes += 1,
                b'.' if quotes % 2 == 1 => {}
                b'.' | b' ' | b',' | b'"' => break,
                _ => {}
            }
            end += 1;
        }
        parts.push(Part::Key(ra_path(&t[i..end])));
        i = end;
    }
    if !lit.is_empty() {
        parts.push(Part::Lit(lit));
    }
    parts
}

fn build_filters(filters: &[Section]) -> Vec<Filter> {
    filters
        .iter()
        .map(|s| {
            let name = s
                .one("name")
                .expect("filter without Name")
                .to_ascii_lowercase();
            let known: &[&str];
            let kind = match name.as_str() {
                "parser" => {
                    known = &["key_name", "parser", "reserve_data", "preserve_key"];
                    Kind::Parser {
                        key: s
                            .one("key_name")
                            .expect("parser without Key_Name")
                            .to_string(),
                        parsers: s.all("parser").iter().map(|p| p.to_string()).collect(),
                        reserve: s.flag("reserve_data", false),
                        preserve: s.flag("preserve_key", false),
                    }
                }
                "kubernetes" => {
                    known = &[
                        "merge_log",
                        "keep_log",
                        "buffer_size",
                        "kube_meta_cache_ttl",
                    ];
                    assert!(
                        s.one("merge_log_key").is_none(),
                        "Merge_Log_Key is not emulated"
                    );
                    Kind::Kubernetes {
                        merge_log: s.flag("merge_log", false),
                        keep_log: s.flag("keep_log", true),
                    }
                }
                "modify" => {
                    known = &["condition", "copy", "rename", "add", "remove"];
                    let conds = s
                        .all("condition")
                        .iter()
                        .map(|c| {
                            let mut it = c.splitn(3, ' ');
                            let (op, key, val) = (
                                it.next().unwrap_or_default().to_ascii_lowercase(),
                                it.next().unwrap_or_default(),
                                it.next().unwrap_or_default(),
                            );
                            assert!(
                                !val.contains(' '),
                                "modify condition values with spaces fail on 1.9: {c:?}"
                            );
                            match op.as_str() {
                                "key_exists" => Cond::Exists(ra_path(key)),
                                "key_does_not_exist" => Cond::NotExists(ra_path(key)),
                                "key_value_equals" => Cond::Equals(ra_path(key), val.to_string()),
                                "key_value_matches" => Cond::Matches(ra_path(key), Onig::new(val)),
                                "key_value_does_not_match" => {
                                    Cond::DoesNotMatch(ra_path(key), Onig::new(val))
                                }
                                other => panic!("modify condition {other} is not emulated"),
                            }
                        })
                        .collect();
                    let rules = s
                        .entries
                        .iter()
                        .filter_map(|(k, v)| match k.as_str() {
                            "copy" | "rename" | "add" => {
                                let (a, b) = v.split_once(' ').expect("Copy/Rename/Add A B");
                                let (a, b) = (a.to_string(), b.trim().to_string());
                                Some(match k.as_str() {
                                    "copy" => ModRule::Copy(a, b),
                                    "rename" => ModRule::Rename(a, b),
                                    _ => ModRule::Add(a, b),
                                })
                            }
                            "remove" => Some(ModRule::Remove(v.clone())),
                            _ => None,
                        })
                        .collect();
                    Kind::Modify { conds, rules }
                }
                "rewrite_tag" => {
                    known = &["rule"];
                    Kind::RewriteTag(
                        s.all("rule")
                            .iter()
                            .map(|r| {
                                let f: Vec<&str> = r.split_whitespace().collect();
                                assert_eq!(
                                    f.len(),
                                    4,
                                    "rule {r:?}: KEY REGEX TAG KEEP, no spaces inside"
                                );
                                RwRule {
                                    key: ra_path(f[0]),
                                    regex: Onig::new(f[1]),
                                    template: parse_template(f[2]),
                                    keep: matches!(
                                        f[3].to_ascii_lowercase().as_str(),
                                        "true" | "on" | "yes"
                                    ),
                                }
                            })
                            .collect(),
                    )
                }
                "grep" => {
                    known = &["regex", "exclude"];
                    Kind::Grep(
                        s.entries
                            .iter()
                            .filter_map(|(k, v)| {
                                let (key, re) = v.split_once(' ')?;
                                match k.as_str() {
                                    "regex" => Some(GrepRule::Regex(ra_path(key), Onig::new(re))),
                                    "exclude" => {
                                        Some(GrepRule::Exclude(ra_path(key), Onig::new(re)))
                                    }
                                    _ => None,
                                }
                            })
                            .collect(),
                    )
                }
                other => panic!("filter {other} is not emulated"),
            };
            for (k, _) in &s.entries {
                assert!(
                    ["name", "match", "match_regex"].contains(&k.as_str())
                        || known.contains(&k.as_str()),
                    "{name}: key {k} is not emulated"
                );
            }
            Filter {
                name,
                matcher: TagMatch::of(s),
                kind,
            }
        })
        .collect()
}

fn build_parsers(parsers: &[Section]) -> BTreeMap<String, RegexParser> {
    parsers
        .iter()
        .map(|s| {
            let name = s.one("name").expect("parser without Name").to_string();
            let re = match s.one("format").map(str::to_ascii_lowercase).as_deref() {
                Some("regex") => Some(Onig::new(
                    s.one("regex").expect("regex parser without Regex"),
                )),
                Some("json") => None,
                _ => panic!("parser {name}: only regex and json parsers are emulated"),
            };
            (
                name,
                RegexParser {
                    re,
                    time_key: s.one("time_key").map(str::to_string),
                    time_keep: s.flag("time_keep", false),
                },
            )
        })
        .collect()
}

/// Where Fluent Bit 1.9.10 and 5.1.1 differ in what the emulator models:
/// only filter_parser with a repeated key (1.9 keeps the last successful
/// parse; 5.1 rewrites the record only when the last key it tried parsed,
/// and without Reserve_Data goes on past the first success).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FbVersion {
    V1_9,
    V5_1,
}

/// The shipped router config, ready to run.
#[derive(Clone)]
struct Router {
    version: FbVersion,
    /// The tag the router's tail input gives the records run through it.
    input_tag: String,
    /// How the user's ConfigMap may differ from the shipped one before our
    /// filters: no `crio` parser (the raw CRI line stays in `log`), and
    /// `Merge_Log Off` (JSON logging stays text in `log`). Records that
    /// re-enter the chain pass those filters again.
    no_crio: bool,
    merge_log_off: bool,
    filters: Vec<Filter>,
    parsers: BTreeMap<String, RegexParser>,
    outputs: Vec<TagMatch>,
}

impl Router {
    fn shipped() -> Router {
        Router::from_yaml(&configmap_text())
    }

    fn from_yaml(yaml: &str) -> Router {
        let data = configmap_data(yaml);
        let conf = |k: &str| parse_conf(data.get(k).map(String::as_str).unwrap_or_default());
        let router = Router {
            version: FbVersion::V1_9,
            input_tag: INPUT_TAG.to_string(),
            no_crio: false,
            merge_log_off: false,
            filters: build_filters(&conf("filters.conf")),
            parsers: build_parsers(&conf("parsers.conf")),
            outputs: conf("output.conf").iter().map(TagMatch::of).collect(),
        };
        for f in &router.filters {
            if let Kind::Parser { parsers, .. } = &f.kind {
                for p in parsers {
                    assert!(
                        router.parsers.contains_key(p),
                        "filter uses unknown parser {p}"
                    );
                }
            }
        }
        router
    }
}

/// What the router did with one record.
#[derive(Debug, Clone)]
struct Outcome {
    /// Records that reached an output: (tag, body).
    delivered: Vec<(String, Map)>,
    /// The record right after the kubernetes filter: what a user sees in
    /// CloudWatch for a kept record.
    after_kubernetes: Option<Map>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Start {
    Input,
    AfterKubernetes,
}

/// The tag the fixed tail input gives a container log (metrics-server as
/// the upstream manifest and the EKS add-on name it).
const INPUT_TAG: &str = "kube.var.log.containers.metrics-server-6d94bc8694-x7kqp_kube-system_metrics-server-9b2e6f0c4d1a8e7b3c5f2a9d6e1b4c8f7a3d0e5b2c9f6a1d4e7b0c3f8a5d2e9b.log";

/// Whether the kubernetes filter finds a pod in the tag: its default
/// Kube_Tag_Prefix and tag regex (filter_kubernetes/kube_regex.h).
fn kube_tag(tag: &str) -> bool {
    static RE: std::sync::LazyLock<Regex> = std::sync::LazyLock::new(|| {
        Regex::new(
            r"\Akube\.var\.log\.containers\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*_[^_]+_.+-[a-z0-9]{64}\.log\z",
        )
        .expect("the kubernetes tag regex")
    });
    RE.is_match(tag)
}

impl Router {
    /// Runs one record through the filters the way Fluent Bit does: in
    /// order, each filter on the tags it matches, records re-emitted by
    /// rewrite_tag entering the chain again from the first filter.
    ///
    /// `Start::AfterKubernetes`: the record is what the kubernetes filter
    /// put out (the corpus records are what a filter after it sees), so the
    /// first pass starts after that filter. `Start::Input`: the record is
    /// what the tail input read, except its `kubernetes` map, which stands
    /// for what the kubernetes filter adds and is set aside until it runs.
    fn run(&self, record: Map, start: Start) -> Outcome {
        let kube_at = self
            .filters
            .iter()
            .position(|f| matches!(f.kind, Kind::Kubernetes { .. }))
            .expect("the config has a kubernetes filter");
        // The metadata the kubernetes filter adds for this pod: the same
        // (from its cache) every time a record of the pod's tag passes it.
        let kube: Map = record
            .iter()
            .filter(|(k, _)| k == "kubernetes")
            .cloned()
            .collect();
        let (first, rec, mut after_kubernetes) = match start {
            Start::Input => {
                let rest: Map = record
                    .into_iter()
                    .filter(|(k, _)| k != "kubernetes")
                    .collect();
                (0, rest, None)
            }
            Start::AfterKubernetes => (kube_at + 1, record.clone(), Some(record)),
        };
        let mut queue = VecDeque::from([(self.input_tag.clone(), rec, first)]);
        let mut delivered = Vec::new();
        let mut rounds = 0;
        while let Some((tag, mut rec, first)) = queue.pop_front() {
            rounds += 1;
            assert!(rounds < 16, "records re-emitted in a loop");
            let mut alive = true;
            for f in self.filters.iter().skip(first) {
                if !f.matcher.matches(&tag) {
                    continue;
                }
                match &f.kind {
                    Kind::Parser { parsers, .. } if self.no_crio && parsers == &["crio"] => {}
                    Kind::Parser {
                        key,
                        parsers,
                        reserve,
                        preserve,
                    } => rec = self.parser_filter(rec, key, parsers, *reserve, *preserve),
                    Kind::Kubernetes {
                        merge_log,
                        keep_log,
                    } => {
                        // The tag must be a container log's (Kube_Tag_Prefix
                        // and the filter's tag regex), else nothing is added.
                        let meta = if kube_tag(&tag) {
                            kube.clone()
                        } else {
                            Map::new()
                        };
                        let merge_log = *merge_log && !self.merge_log_off;
                        rec = kubernetes_filter(rec, meta, merge_log, *keep_log);
                        after_kubernetes.get_or_insert_with(|| rec.clone());
                    }
                    Kind::Modify { conds, rules } => {
                        if conds.iter().all(|c| condition(&rec, c)) {
                            for r in rules {
                                modify_rule(&mut rec, r);
                            }
                        }
                    }
                    Kind::RewriteTag(rules) => {
                        if let Some(rule) = rules.iter().find(|r| {
                            matches!(ra_get(&rec, &r.key), Some(J::Str(s)) if r.regex.is_match(s))
                        }) {
                            match translate_template(&rule.template, &rec, &tag) {
                                Some(new_tag) => queue.push_back((new_tag, rec.clone(), 0)),
                                // The tag could not be composed: Fluent Bit
                                // neither emits nor keeps the record.
                                None => alive = false,
                            }
                            alive &= rule.keep;
                        }
                    }
                    Kind::Grep(rules) => alive &= grep_keeps(&rec, rules),
                }
                if !alive {
                    break;
                }
            }
            if alive && self.outputs.iter().any(|o| o.matches(&tag)) {
                delivered.push((tag, rec));
            }
        }
        Outcome {
            delivered,
            after_kubernetes,
        }
    }

    fn parser_filter(
        &self,
        rec: Map,
        key: &str,
        parsers: &[String],
        reserve: bool,
        preserve: bool,
    ) -> Map {
        let mut parsed: Option<Map> = None;
        // 5.1: the outcome of the last key tried decides whether the record
        // is rewritten at all (`out_buf != NULL && parse_ret >= 0`).
        let mut last_ok = false;
        let mut removed = BTreeSet::new();
        for (i, (k, v)) in rec.iter().enumerate() {
            let (true, J::Str(s)) = (k == key, v) else {
                continue;
            };
            let hit = parsers.iter().find_map(|name| {
                let p = &self.parsers[name];
                let Some(re) = &p.re else {
                    return parse_record(s);
                };
                let caps = re.search(s)?;
                Some(
                    caps.into_iter()
                        .filter(|(n, _)| p.time_keep || p.time_key.as_deref() != Some(n.as_str()))
                        .map(|(n, v)| (n, J::Str(v)))
                        .collect::<Map>(),
                )
            });
            last_ok = hit.is_some();
            if let Some(map) = hit {
                parsed = Some(map);
                // 1.9 stops at the first success without Reserve_Data.
                if !reserve && self.version == FbVersion::V1_9 {
                    break;
                }
                if !preserve {
                    removed.insert(i);
                }
            }
        }
        if self.version == FbVersion::V5_1 && !last_ok {
            parsed = None;
        }
        match parsed {
            None => rec,
            Some(p) if !reserve => p,
            Some(mut p) => {
                p.extend(
                    rec.into_iter()
                        .enumerate()
                        .filter(|(i, _)| !removed.contains(i))
                        .map(|(_, kv)| kv),
                );
                p
            }
        }
    }
}

fn kubernetes_filter(rec: Map, kube: Map, merge_log: bool, keep_log: bool) -> Map {
    let log_index = merge_log
        .then(|| rec.iter().position(|(k, _)| k == "log"))
        .flatten();
    let merged: Option<Map> = log_index.and_then(|i| match &rec[i].1 {
        J::Obj(m) => Some(m.clone()),
        // Merge_Log_Trim: trailing \n and \r of string values go.
        J::Str(s) => parse_record(s).map(|m| {
            m.into_iter()
                .map(|(k, v)| match v {
                    J::Str(s) => (k, J::Str(s.trim_end_matches(['\n', '\r']).to_string())),
                    other => (k, other),
                })
                .collect()
        }),
        _ => None,
    });
    let mut out: Map = rec
        .into_iter()
        .enumerate()
        .filter(|(i, _)| !(merged.is_some() && !keep_log && Some(*i) == log_index))
        .map(|(_, kv)| kv)
        .collect();
    out.extend(merged.unwrap_or_default());
    out.extend(kube);
    out
}

/// filter_modify's conditions: a value condition on a key that is not
/// there is false, `Key_value_does_not_match` included (it is "the key
/// exists and its value does not match"); only strings match a regex.
fn condition(rec: &Map, c: &Cond) -> bool {
    match c {
        Cond::Exists(k) => ra_get(rec, k).is_some(),
        Cond::NotExists(k) => ra_get(rec, k).is_none(),
        Cond::Equals(k, v) => matches!(ra_get(rec, k), Some(J::Str(s)) if s == v),
        Cond::Matches(k, re) => matches!(ra_get(rec, k), Some(J::Str(s)) if re.is_match(s)),
        Cond::DoesNotMatch(k, re) => {
            ra_get(rec, k).is_some_and(|v| !matches!(v, J::Str(s) if re.is_match(s)))
        }
    }
}

fn modify_rule(rec: &mut Map, r: &ModRule) {
    match r {
        ModRule::Copy(from, to) => {
            let found: Vec<usize> = rec
                .iter()
                .enumerate()
                .filter(|(_, (k, _))| k == from)
                .map(|(i, _)| i)
                .collect();
            if let ([at], false) = (found.as_slice(), rec.iter().any(|(k, _)| k == to)) {
                let value = rec[*at].1.clone();
                rec.insert(at + 1, (to.clone(), value));
            }
        }
        // filter_modify: Rename and Add act only when the target key is
        // absent; Rename renames every key of that name in place.
        ModRule::Rename(from, to) => {
            if !rec.iter().any(|(k, _)| k == to) {
                for (k, _) in rec.iter_mut().filter(|(k, _)| k == from) {
                    k.clone_from(to);
                }
            }
        }
        ModRule::Add(key, value) => {
            if !rec.iter().any(|(k, _)| k == key) {
                rec.push((key.clone(), J::Str(value.clone())));
            }
        }
        ModRule::Remove(key) => rec.retain(|(k, _)| k != key),
    }
}

fn translate_template(parts: &[Part], rec: &Map, current_tag: &str) -> Option<String> {
    let mut tag = String::new();
    for p in parts {
        match p {
            Part::Lit(s) => tag.push_str(s),
            Part::Tag => tag.push_str(current_tag),
            // A part that is not there adds nothing (ra_translate_tag_part).
            Part::TagField(n) => {
                if current_tag.contains('.') {
                    tag.push_str(current_tag.split('.').nth(*n).unwrap_or_default());
                }
            }
            Part::Key(path) => match ra_get(rec, path) {
                None => {}
                Some(J::Str(s)) => tag.push_str(s),
                Some(J::Num(n)) => tag.push_str(n),
                Some(J::Bool(b)) => tag.push_str(if *b { "true" } else { "false" }),
                Some(J::Null) => tag.push_str("null"),
                Some(J::Obj(_)) => tag.push_str("{...}"),
                Some(J::Arr(_)) => return None,
            },
        }
    }
    Some(tag)
}

/// filter_grep's legacy order: the first rule that decides, decides.
fn grep_keeps(rec: &Map, rules: &[GrepRule]) -> bool {
    for r in rules {
        let (path, re, exclude) = match r {
            GrepRule::Regex(p, re) => (p, re, false),
            GrepRule::Exclude(p, re) => (p, re, true),
        };
        let hit = matches!(ra_get(rec, path), Some(J::Str(s)) if re.is_match(s));
        match (hit, exclude) {
            (true, true) | (false, false) => return false,
            (true, false) => return true,
            (false, true) => {}
        }
    }
    true
}

// ---------------------------------------------------------------------------
// Verdicts

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Drop,
    Keep,
}

fn module_verdict(record: &[u8]) -> Verdict {
    if evaluate(record, &mut Scratch::new()).drops() {
        Verdict::Drop
    } else {
        Verdict::Keep
    }
}

/// The config's verdict, and a check that a kept record reaches CloudWatch
/// as the kubernetes filter left it (the helper keys gone, order intact),
/// under the tag it came in with (so in the container's usual stream).
fn config_verdict(router: &Router, record: &Map, start: Start) -> Result<Verdict, String> {
    let out = router.run(record.clone(), start);
    match out.delivered.as_slice() {
        [] => Ok(Verdict::Drop),
        [(tag, body)] => {
            if tag != &router.input_tag {
                return Err(format!("kept under another tag: {tag}"));
            }
            if Some(body) != out.after_kubernetes.as_ref() {
                return Err(format!("kept under {tag} but changed: {body:?}"));
            }
            Ok(Verdict::Keep)
        }
        more => Err(format!("delivered {} times", more.len())),
    }
}

/// Where the config and the module differ by design, with the reason. The
/// test fails when this list is not exactly the set of differing cases, so
/// a new corpus case that the config judges otherwise must be looked at.
/// `Input:` entries are of the second comparison (raw CRI lines through the
/// whole chain, crio parser included), `Raw:` ones of the third (records of
/// the `multiline.parser cri` shape turned back into the line the router's
/// tail reads, through the whole chain).
const EXPECTED_DIFFERENCES: &[(&str, &str)] = &[
    // The config keeps, the module drops.
    ("own-host-missing-pod-ip-equal", POD_IP),
    ("own-host-null-pod-ip-equal", POD_IP),
    ("own-host-number-pod-ip-equal", POD_IP),
    ("own-host-object-pod-ip-equal", POD_IP),
    ("own-pod-ip-ipv6-equal", POD_IP),
    ("own-pod-ip-url-hostname", POD_IP),
    ("json-merged-pod-ip-fallback", POD_IP),
    ("json-merged-ipv6-pod-ip-fallback", POD_IP),
    ("v03-own-pod-ip-fallback", POD_IP),
    ("v04-one-own-pod-ip-fallback", POD_IP),
    ("v08-fargate-raw-pod-ip-fallback", POD_IP),
    ("Input:v08-fargate-raw-pod-ip-fallback", POD_IP),
    ("env-cri-classic-message-own", MESSAGE_KEY),
    ("json-unmerged-classic-cri-message-own", MESSAGE_KEY),
    ("json-merged-key-log-processed-own", MERGE_KEY),
    ("json-merged-custom-merge-key", MERGE_KEY),
    ("v07-kv-order-node-first", KLOG_LAYOUT),
    ("v07-extra-kv-after-node", KLOG_LAYOUT),
    ("Raw:own-host-missing-pod-ip-equal", POD_IP),
    ("Raw:own-host-null-pod-ip-equal", POD_IP),
    ("Raw:own-host-number-pod-ip-equal", POD_IP),
    ("Raw:own-host-object-pod-ip-equal", POD_IP),
    ("Raw:own-pod-ip-ipv6-equal", POD_IP),
    ("Raw:own-pod-ip-url-hostname", POD_IP),
    ("Raw:v03-own-pod-ip-fallback", POD_IP),
    ("Raw:v04-one-own-pod-ip-fallback", POD_IP),
    ("Raw:v07-extra-kv-after-node", KLOG_LAYOUT),
    ("Raw:v07-kv-order-node-first", KLOG_LAYOUT),
    // tests/corpus/matrix.toml: every release line x envelope; the config cannot
    // fall back to pod_ip, and classic Parser cri puts the text in `message`.
    ("Input:m-json-fargate-own-podip", POD_IP),
    ("Input:m-v03-fargate-own-podip", POD_IP),
    ("Input:m-v04-fargate-own-podip", POD_IP),
    ("Input:m-v05-fargate-own-podip", POD_IP),
    ("Input:m-v06-fargate-own-podip", POD_IP),
    ("Input:m-v07-fargate-own-podip", POD_IP),
    ("Input:m-v09-fargate-own-podip", POD_IP),
    ("Raw:m-json-cri-own-podip", POD_IP),
    ("Raw:m-v03-cri-own-podip", POD_IP),
    ("Raw:m-v04-cri-own-podip", POD_IP),
    ("Raw:m-v05-cri-own-podip", POD_IP),
    ("Raw:m-v06-cri-own-podip", POD_IP),
    ("Raw:m-v07-cri-own-podip", POD_IP),
    ("Raw:m-v09-cri-own-podip", POD_IP),
    ("m-json-classic-own-host", MESSAGE_KEY),
    ("m-json-classic-own-podip", POD_IP),
    ("m-json-cri-own-podip", POD_IP),
    ("m-json-docker-own-podip", POD_IP),
    ("m-json-fargate-own-podip", POD_IP),
    ("m-json-kubectl-own-podip", POD_IP),
    ("m-v03-classic-own-host", MESSAGE_KEY),
    ("m-v03-classic-own-podip", POD_IP),
    ("m-v03-cri-own-podip", POD_IP),
    ("m-v03-docker-own-podip", POD_IP),
    ("m-v03-fargate-own-podip", POD_IP),
    ("m-v03-kubectl-own-podip", POD_IP),
    ("m-v04-classic-own-host", MESSAGE_KEY),
    ("m-v04-classic-own-podip", POD_IP),
    ("m-v04-cri-own-podip", POD_IP),
    ("m-v04-docker-own-podip", POD_IP),
    ("m-v04-fargate-own-podip", POD_IP),
    ("m-v04-kubectl-own-podip", POD_IP),
    ("m-v05-classic-own-host", MESSAGE_KEY),
    ("m-v05-classic-own-podip", POD_IP),
    ("m-v05-cri-own-podip", POD_IP),
    ("m-v05-docker-own-podip", POD_IP),
    ("m-v05-fargate-own-podip", POD_IP),
    ("m-v05-kubectl-own-podip", POD_IP),
    ("m-v06-classic-own-host", MESSAGE_KEY),
    ("m-v06-classic-own-podip", POD_IP),
    ("m-v06-cri-own-podip", POD_IP),
    ("m-v06-docker-own-podip", POD_IP),
    ("m-v06-fargate-own-podip", POD_IP),
    ("m-v06-kubectl-own-podip", POD_IP),
    ("m-v07-classic-own-host", MESSAGE_KEY),
    ("m-v07-classic-own-podip", POD_IP),
    ("m-v07-cri-own-podip", POD_IP),
    ("m-v07-docker-own-podip", POD_IP),
    ("m-v07-fargate-own-podip", POD_IP),
    ("m-v07-kubectl-own-podip", POD_IP),
    ("m-v09-classic-own-host", MESSAGE_KEY),
    ("m-v09-classic-own-podip", POD_IP),
    ("m-v09-cri-own-podip", POD_IP),
    ("m-v09-docker-own-podip", POD_IP),
    ("m-v09-fargate-own-podip", POD_IP),
    ("m-v09-kubectl-own-podip", POD_IP),
    // The config drops, the module keeps.
    ("env-dup-log", REPEATED),
    ("env-dup-log-same", REPEATED),
    ("h-dup-log-1000", REPEATED),
    ("own-dup-kubernetes", REPEATED),
    ("own-dup-host", REPEATED),
    ("own-dup-host-same-value", REPEATED),
    ("json-merged-dup-msg", REPEATED),
    ("env-log-and-message-both-lines", REPEATED),
    ("Raw:own-dup-host", REPEATED),
    ("Raw:own-dup-host-same-value", REPEATED),
];

const POD_IP: &str = "no string kubernetes.host: the module compares kubernetes.pod_ip with the dialled IP, \
    the config compares only the host (the router's kubernetes filter always sets host)";
const MESSAGE_KEY: &str = "the text is in `message` (fluent-bit's classic cri parser): the shipped crio parser \
    puts it in `log`, the only text key the config reads";
const MERGE_KEY: &str = "JSON logging merged under Merge_Log_Key or another nested object: \
    the config reads msg/err/node at the root only";
const KLOG_LAYOUT: &str = "the regex wants metrics-server's layout (err=, then node=, nothing after); \
    the module accepts the pairs in any order and extra pairs";
const REPEATED: &str = "the config DROPS where the module keeps out of doubt: a repeated key (log, kubernetes, \
    host, msg) or both log and message; Fluent Bit reads the last `kubernetes.host` and parses every `log`. \
    The router never produces this: tail, crio and the kubernetes filter write each key once";

// ---------------------------------------------------------------------------
// Tests

#[test]
fn shipped_configmap_obeys_the_router_rules() {
    let yaml = configmap_text();
    let bad = router_rule_violations(&yaml);
    assert!(
        bad.is_empty(),
        "{}:\n{}",
        configmap_path().display(),
        bad.join("\n")
    );
    // The checker catches what it claims to.
    for (broken, what) in [
        (
            yaml.replace("region region-code", "region ${AWS_REGION}"),
            "${",
        ),
        (
            yaml.replace("        Match zz.never\n", ""),
            "without match",
        ),
        (yaml.replace("Name grep", "Name lua"), "lua is not"),
        (
            yaml.replace(
                "        Match *\n        region",
                "      Match *\n        region",
            ),
            "mixed indentation",
        ),
        (
            yaml.replace(
                "log_group_name my-logs",
                &format!("log_group_name my-{}", "x".repeat(5300)),
            ),
            "characters",
        ),
        (
            yaml.replace(
                "  output.conf: |\n    [OUTPUT]",
                "  output.conf: |\n    [INPUT]",
            ),
            "[INPUT] section",
        ),
    ] {
        assert_ne!(broken, yaml, "the mutation for {what:?} changed nothing");
        let found = router_rule_violations(&broken);
        assert!(
            found.iter().any(|b| b.contains(what)),
            "a ConfigMap with {what:?} passed: {found:?}"
        );
    }
    let size = yaml.chars().count();
    println!("ConfigMap: {size} characters");
    let readme = configmap_path().with_file_name("README.md");
    let readme =
        std::fs::read_to_string(&readme).unwrap_or_else(|e| panic!("{}: {e}", readme.display()));
    assert!(
        readme.contains(&format!("{size} characters of the")),
        "the README states another ConfigMap size than {size} characters"
    );
}

fn rec(log: &str, host: &str) -> Map {
    vec![
        ("log".into(), J::Str(log.into())),
        (
            "kubernetes".into(),
            J::Obj(vec![("host".into(), J::Str(host.into()))]),
        ),
    ]
}

const OWN: &str = "fargate-ip-10-6-194-69.eu-west-2.compute.internal";
const OTHER: &str = "fargate-ip-10-6-130-17.eu-west-2.compute.internal";

fn cri_line(flag: char, node: &str) -> String {
    format!(
        "2026-11-28T06:00:05.123456789Z stderr {flag} E1128 06:00:05.123456       1 scraper.go:149] \
         \"Failed to scrape node\" err=\"Get \\\"https://10.6.194.69:10250/metrics/resource\\\": \
         dial tcp 10.6.194.69:10250: connect: connection refused\" node=\"{node}\""
    )
}

/// An application pod's tag, as the router's tail input names it.
fn app_tag(pod: &str, namespace: &str, container: &str) -> String {
    format!(
        "kube.var.log.containers.{pod}_{namespace}_{container}-{}.log",
        "0f".repeat(32)
    )
}

/// AWS's documented ConfigMap (`parser crio` + `kubernetes`), what an
/// application pod's records must see and nothing more.
fn aws_default() -> Router {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/fargate-router/aws-default.yaml");
    let yaml = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    Router::from_yaml(&yaml)
}

#[test]
fn own_node_refusal_is_dropped_and_other_node_kept_under_its_own_tag() {
    let router = Router::shipped();
    // From the tail input: the crio parser, the kubernetes filter, then ours.
    let out = router.run(rec(&cri_line('F', OWN), OWN), Start::Input);
    assert!(
        out.delivered.is_empty(),
        "own-node refusal kept: {:?}",
        out.delivered
    );
    // Another node's refusal went out under `ss.<tag>,<host>,<node>` for the
    // comparison and came back under its own tag, as the kubernetes filter
    // left it (it passed the crio parser and the kubernetes filter twice).
    let out = router.run(rec(&cri_line('F', OTHER), OWN), Start::Input);
    assert_eq!(out.delivered.len(), 1, "{:?}", out.delivered);
    let (tag, body) = &out.delivered[0];
    assert_eq!(tag, INPUT_TAG);
    assert_eq!(Some(body), out.after_kubernetes.as_ref());
    assert!(matches!(ra_get(body, &["logtag".into()]), Some(J::Str(f)) if f == "F"));
    assert_eq!(
        body.iter().filter(|(k, _)| k == "kubernetes").count(),
        1,
        "{body:?}"
    );
    assert!(body.iter().all(|(k, _)| !k.starts_with("ss_")), "{body:?}");
    // A cut line (CRI P) is never judged, even when its text looks whole.
    let out = router.run(rec(&cri_line('P', OWN), OWN), Start::Input);
    assert_eq!(out.delivered.len(), 1);
    assert_eq!(out.delivered[0].0, INPUT_TAG);
    // Anything else keeps its tag.
    let out = router.run(
        rec("2026-11-28T06:00:05Z stderr F hello", OWN),
        Start::Input,
    );
    assert_eq!(out.delivered.len(), 1);
    assert_eq!(out.delivered[0].0, INPUT_TAG);
    // JSON logging, merged by the kubernetes filter (Merge_Log On).
    let json = |node: &str| {
        format!(
            "2026-11-28T06:00:05.123456789Z stderr F {{\"ts\":1764309605123.4567,\"caller\":\"scraper/scraper.go:149\",\
             \"msg\":\"Failed to scrape node\",\"node\":{{\"name\":\"{node}\"}},\"err\":\"Get \\\"https://10.6.194.69:10250/metrics/resource\\\": \
             dial tcp 10.6.194.69:10250: connect: connection refused\"}}"
        )
    };
    assert!(
        router
            .run(rec(&json(OWN), OWN), Start::Input)
            .delivered
            .is_empty()
    );
    let out = router.run(rec(&json(OTHER), OWN), Start::Input);
    assert_eq!(out.delivered.len(), 1);
    assert_eq!(out.delivered[0].0, INPUT_TAG);
    assert_eq!(Some(&out.delivered[0].1), out.after_kubernetes.as_ref());
    assert!(
        matches!(
            ra_get(&out.delivered[0].1, &["msg".into()]),
            Some(J::Str(_))
        ),
        "not merged"
    );
    // A host that is not a node name is never put in a tag.
    let out = router.run(rec(&cri_line('F', OWN), "Fargate,Node"), Start::Input);
    assert_eq!(out.delivered.len(), 1);
    assert_eq!(out.delivered[0].0, INPUT_TAG);
    // Nor is a missing one (found on real Fluent Bit 5.1.1: a value
    // condition on a missing key is false, so "does not match" cannot
    // guard it): such a record stays where it is, unchanged.
    let no_host = vec![
        ("log".into(), J::Str(cri_line('F', OWN))),
        (
            "kubernetes".into(),
            J::Obj(vec![("pod_ip".into(), J::Str("10.6.194.69".into()))]),
        ),
    ];
    let out = router.run(no_host, Start::Input);
    assert_eq!(out.delivered.len(), 1, "{:?}", out.delivered);
    assert_eq!(out.delivered[0].0, INPUT_TAG);
    assert_eq!(Some(&out.delivered[0].1), out.after_kubernetes.as_ref());
}

#[test]
fn modify_value_conditions_need_the_key() {
    let rec = rec("x", OWN);
    let re = || Onig::new("\\Ay\\z");
    let path = |p: &str| ra_path(p);
    assert!(condition(
        &rec,
        &Cond::DoesNotMatch(path("$kubernetes['host']"), re())
    ));
    assert!(!condition(
        &rec,
        &Cond::DoesNotMatch(path("$kubernetes['pod_ip']"), re())
    ));
    assert!(!condition(
        &rec,
        &Cond::Matches(path("$kubernetes['pod_ip']"), re())
    ));
    assert!(condition(
        &rec,
        &Cond::NotExists(path("$kubernetes['pod_ip']"))
    ));
    assert!(!condition(&rec, &Cond::NotExists(path("log"))));
}

#[test]
fn a_pod_name_with_a_dot_is_kept_unjudged() {
    // The tag is rebuilt from its fifth dot-separated part, which a dotted
    // pod name would split: such a pod's records are never re-tagged.
    let mut router = Router::shipped();
    router.input_tag = INPUT_TAG.replace(
        "metrics-server-6d94bc8694-x7kqp_",
        "metrics.server-6d94bc8694-x7kqp_",
    );
    let mut record = rec(&cri_line('F', OWN), OWN);
    if let Some((_, J::Obj(k))) = record.iter_mut().find(|(k, _)| k == "kubernetes") {
        k.push((
            "pod_name".into(),
            J::Str("metrics.server-6d94bc8694-x7kqp".into()),
        ));
    }
    let out = router.run(record, Start::Input);
    assert_eq!(out.delivered.len(), 1, "{:?}", out.delivered);
    assert_eq!(out.delivered[0].0, router.input_tag);
    assert_eq!(Some(&out.delivered[0].1), out.after_kubernetes.as_ref());
}

#[test]
fn application_records_see_only_the_default_filters() {
    let shipped = Router::shipped();
    let default = aws_default();
    let selfscrape: Vec<&Filter> = shipped.filters.iter().skip(2).collect();
    assert!(
        shipped.filters[..2].iter().all(|f| !matches!(
            f.kind,
            Kind::RewriteTag(_) | Kind::Grep(_) | Kind::Modify { .. }
        )),
        "the first two filters are AWS's crio parser and kubernetes filter"
    );
    // Pods of every kind, including ones whose log mentions metrics-server.
    let apps = [
        app_tag("web-7d4b9c8f6-abcde", "default", "web"),
        app_tag("api-5f6d7c8b9-xk2lp", "payments", "api"),
        app_tag("metrics-server-client-7d4b9c8f6-abcde", "default", "app"),
        app_tag("prometheus-0", "monitoring", "prometheus"),
        app_tag(
            "kube-state-metrics-5d6f7-abcde",
            "kube-system",
            "kube-state-metrics",
        ),
        app_tag("coredns-6d8c4cb4d-4vn2k", "kube-system", "coredns"),
    ];
    for tag in &apps {
        for f in &selfscrape {
            assert!(
                !f.matcher.matches(tag),
                "{}: a selfscrape filter runs on {tag}",
                f.name
            );
        }
    }
    // End to end: the same records out as with AWS's ConfigMap, metrics-
    // server failures from another pod's log included.
    let lines = [
        cri_line('F', OWN),
        cri_line('F', OTHER),
        cri_line('P', OWN),
        "2026-11-28T06:00:05.123456789Z stdout F {\"level\":\"info\",\"msg\":\"ok\"}".to_string(),
        "2026-11-28T06:00:05.123456789Z stdout F plain text".to_string(),
    ];
    for tag in &apps {
        for line in &lines {
            let (mut ours, mut theirs) = (shipped.clone(), default.clone());
            ours.input_tag.clone_from(tag);
            theirs.input_tag.clone_from(tag);
            let a = ours.run(rec(line, OWN), Start::Input);
            let b = theirs.run(rec(line, OWN), Start::Input);
            assert_eq!(a.delivered, b.delivered, "{tag}: {line}");
            assert_eq!(a.delivered.len(), 1);
        }
    }
}

#[test]
fn metrics_server_is_recognised_under_every_usual_name() {
    let router = Router::shipped();
    let parser = router
        .filters
        .iter()
        .find(|f| matches!(&f.kind, Kind::Parser { parsers, .. } if parsers.iter().any(|p| p.starts_with("ms_"))))
        .expect("the metrics-server parser filter");
    for (tag, what) in [
        (
            app_tag(
                "metrics-server-6d94bc8694-x7kqp",
                "kube-system",
                "metrics-server",
            ),
            "the upstream manifest (components.yaml) and the EKS add-on",
        ),
        (
            app_tag(
                "metrics-server-85cc795fbf-7ghs2",
                "monitoring",
                "metrics-server",
            ),
            "the Helm chart installed as metrics-server in its own namespace",
        ),
        (
            app_tag(
                "my-release-metrics-server-5d8f7c6b9d-q2w3e",
                "kube-system",
                "metrics-server",
            ),
            "the Helm chart under another release name",
        ),
    ] {
        assert!(
            parser.matcher.matches(&tag),
            "{what}: {tag} is not in scope"
        );
        // And the whole chain drops its own-node refusal under that tag.
        let mut r = router.clone();
        r.input_tag.clone_from(&tag);
        assert!(
            r.run(rec(&cri_line('F', OWN), OWN), Start::Input)
                .delivered
                .is_empty(),
            "{what}"
        );
        let out = r.run(rec(&cri_line('F', OTHER), OWN), Start::Input);
        assert_eq!(out.delivered.len(), 1);
        assert_eq!(out.delivered[0].0, tag);
    }
}

#[test]
fn tag_halves_cannot_be_fooled_by_dots_in_node_names() {
    // With a dot between the halves, host "a.b.a" failing to scrape "b"
    // gives `x.a.b.a.b`, which `(.+)\.\1` splits as "a.b" twice.
    let dotted = TagRegex::new("\\Ax\\.(.+)\\.\\1\\z");
    assert!(
        dotted.matches("x.a.b.a.b"),
        "the emulation misses the known false match"
    );
    assert!(dotted.matches("x.n.n"));
    assert!(!dotted.matches("x.a.b"));
    // The shipped regex separates the parts with commas, which no tag of
    // the router's tail, no node name (a DNS subdomain) and no accepted
    // value can contain.
    let router = Router::shipped();
    let grep = router
        .filters
        .iter()
        .find(|f| matches!(f.kind, Kind::Grep(_)))
        .expect("the shipped config has a grep filter");
    let t = INPUT_TAG;
    for (tag, own) in [
        (format!("ss.{t},a.b.a,b"), false),
        (format!("ss.{t},a.b,a.b"), true),
        (format!("ss.{t},a.b.a.b"), false),
        (format!("ss.{t},a,a,a"), false),
        (format!("ss.{t},,"), false),
        (format!("ss.{t},n,n\n"), false),
        (format!("ss.{t},N,N"), false),
        (format!("kube.ss.{t},n,n"), false),
        ("ss.,n,n".to_string(), false),
        (format!("ss.{t},n,n"), true),
    ] {
        assert_eq!(grep.matcher.matches(&tag), own, "{tag:?}");
    }
    // End to end: the pod on "a.b.a" reporting "b" refused is kept, the
    // pod on "b" is not.
    let line = "E1128 06:00:05.123456       1 scraper.go:149] \"Failed to scrape node\" \
                err=\"Get \\\"https://10.0.0.1:10250/metrics/resource\\\": dial tcp 10.0.0.1:10250: connect: connection refused\" node=\"b\"";
    assert_eq!(
        router
            .run(rec(line, "a.b.a"), Start::AfterKubernetes)
            .delivered
            .len(),
        1
    );
    assert_eq!(
        router
            .run(rec(line, "b"), Start::AfterKubernetes)
            .delivered
            .len(),
        0
    );
}

#[test]
fn translation_refuses_what_the_engines_read_differently() {
    for p in [
        "\\d+",
        "a\\sb",
        "\\w",
        "(a)\\1",
        "[[:alpha:]]",
        "\\h",
        "[]a]",
        "[a",
        "\\x4",
    ] {
        assert!(translate(p).is_err(), "{p:?} translated");
    }
    assert_eq!(translate("^a$").as_deref(), Ok("(?m:^)a(?m:$)"));
    let o = Onig::new("\\A(?<n>[a-z]+): x \\k<n>\\z");
    assert!(o.is_match("ab: x ab"));
    assert!(!o.is_match("ab: x ac"));
    assert_eq!(
        o.search("ab: x ab"),
        Some(vec![("n".to_string(), "ab".to_string())])
    );
}

#[test]
fn json_records_keep_repeated_keys_and_deep_values() {
    let m = parse_record(r#"{"a":1,"a":"x","b":{"c":[true,null,-1.5e3]}}"#).expect("an object");
    assert_eq!(m.len(), 3, "both a and b");
    assert_eq!(ra_get(&m, &["a".into()]), Some(&J::Str("x".into())));
    let deep = format!(
        "{{\"d\":{}1{},\"log\":\"x\"}}",
        "[".repeat(5000),
        "]".repeat(5000)
    );
    let m = parse_record(&deep).expect("deep but valid");
    assert_eq!(ra_get(&m, &["log".into()]), Some(&J::Str("x".into())));
    for bad in [
        format!("{{\"d\":{}1{}}}", "[".repeat(5000), "]".repeat(4999)),
        format!("{{\"d\":{}1{}}}", "[".repeat(5000), "}".repeat(5000)),
        "{\"a\":\"\\q\"}".to_string(),
        "{\"a\":1,}".to_string(),
        "[1]".to_string(),
        "{\"a\":1} x".to_string(),
    ] {
        assert!(parse_record(&bad).is_none(), "{bad:.40} parsed");
    }
}

/// A record of the `multiline.parser cri` shape (`time`, `stream`, `_p`,
/// `log`) as the router's tail input would read the same container line:
/// `{"log":"<time> <stream> <_p> <log>"}`, with the record's `kubernetes`
/// map standing for what the kubernetes filter adds.
fn as_tail_line(m: &Map) -> Option<Map> {
    let one = |k: &str| -> Option<&str> {
        let mut it = m.iter().filter(|(key, _)| key == k);
        match (it.next(), it.next()) {
            (Some((_, J::Str(s))), None) => Some(s.as_str()),
            _ => None,
        }
    };
    let (time, stream, flag, log) = (one("time")?, one("stream")?, one("_p")?, one("log")?);
    if log.contains('\n') {
        return None;
    }
    let mut raw: Map = vec![(
        "log".into(),
        J::Str(format!("{time} {stream} {flag} {log}")),
    )];
    raw.extend(m.iter().filter(|(k, _)| k == "kubernetes").cloned());
    Some(raw)
}

struct Comparison {
    total: usize,
    /// Comparisons where both drop.
    both_drop: usize,
    differ: Vec<(String, Verdict, Verdict)>,
}

/// Both comparisons over the corpus. Records that are not one JSON object
/// (invalid JSON, msgpack, bytes) cannot exist in Fluent Bit: the config
/// keeps whatever Fluent Bit makes of them, so they count as config Keep.
/// One run of a corpus case through a router.
struct Run {
    label: String,
    start: Start,
    /// `None`: the record is not one JSON object (invalid JSON, msgpack,
    /// bytes) and cannot exist in Fluent Bit.
    record: Option<Map>,
    /// The router as the user's ConfigMap would have it for this record.
    router: Router,
    module: Verdict,
}

/// Every run of the corpus through `router`: each record as the filters
/// after the kubernetes filter see it, and where it is a container line,
/// also from the tail input (`Input:`: the raw CRI line in `log`; `Raw:`:
/// a `multiline.parser cri` record turned back into the line).
fn corpus_runs(router: &Router) -> Vec<Run> {
    let crio = router
        .parsers
        .get("crio")
        .and_then(|p| p.re.as_ref())
        .expect("the config has the crio parser")
        .clone();
    let mut runs = Vec::new();
    for case in common::corpus::load() {
        let module = module_verdict(&case.record);
        let map = std::str::from_utf8(&case.record)
            .ok()
            .and_then(parse_record);
        let log = map.as_ref().and_then(|m| match ra_get(m, &["log".into()]) {
            Some(J::Str(s)) => Some(s.clone()),
            _ => None,
        });
        let raw_cri = log.as_deref().is_some_and(|s| crio.is_match(s));
        // A record after the kubernetes filter with the raw CRI line or
        // unmerged JSON logging in `log` came through a ConfigMap without
        // the crio parser, or with Merge_Log Off; records that re-enter the
        // chain pass those filters again.
        let after = Router {
            no_crio: raw_cri,
            merge_log_off: log
                .as_deref()
                .is_some_and(|s| parse_record(s.trim_end()).is_some()),
            ..router.clone()
        };
        let mut add = |label: &str, start, record: Option<Map>, router: Router| {
            runs.push(Run {
                label: format!("{label}{}", case.name),
                start,
                record,
                router,
                module,
            });
        };
        add("", Start::AfterKubernetes, map.clone(), after);
        if raw_cri {
            add("Input:", Start::Input, map.clone(), router.clone());
        }
        if let Some(raw) = map.as_ref().and_then(as_tail_line) {
            add("Raw:", Start::Input, Some(raw), router.clone());
        }
    }
    runs
}

fn compare(router: &Router) -> Comparison {
    let mut differ = Vec::new();
    let mut broken = Vec::new();
    let mut total = 0;
    let mut both_drop = 0;
    for run in corpus_runs(router) {
        total += 1;
        let config = match &run.record {
            None => Ok(Verdict::Keep),
            Some(m) => config_verdict(&run.router, m, run.start),
        };
        match config {
            Ok(c) if c != run.module => differ.push((run.label, run.module, c)),
            Ok(c) => both_drop += usize::from(c == Verdict::Drop),
            Err(e) => broken.push(format!("{}: {e}", run.label)),
        }
    }
    assert!(
        broken.is_empty(),
        "the config mangles records:\n{}",
        broken.join("\n")
    );
    Comparison {
        total,
        both_drop,
        differ,
    }
}

#[test]
fn config_and_module_agree_on_the_corpus() {
    for version in [FbVersion::V1_9, FbVersion::V5_1] {
        let mut router = Router::shipped();
        router.version = version;
        agree_on_the_corpus(&router);
    }
}

fn agree_on_the_corpus(router: &Router) {
    let Comparison {
        total,
        both_drop,
        differ,
    } = compare(router);
    let got: BTreeMap<&str, (Verdict, Verdict)> = differ
        .iter()
        .map(|(n, m, c)| (n.as_str(), (*m, *c)))
        .collect();
    let want: BTreeSet<&str> = EXPECTED_DIFFERENCES.iter().map(|(n, _)| *n).collect();
    println!(
        "Fluent Bit {:?}: {} of {total} comparisons agree ({both_drop} both drop), {} differ ({} config keeps where the module drops, {} config drops where the module keeps)",
        router.version,
        total - differ.len(),
        differ.len(),
        differ.iter().filter(|d| d.2 == Verdict::Keep).count(),
        differ.iter().filter(|d| d.2 == Verdict::Drop).count(),
    );
    let unexpected: Vec<String> = got
        .iter()
        .filter(|(n, _)| !want.contains(*n))
        .map(|(n, (m, c))| format!("  {n}: module {m:?}, config {c:?}"))
        .collect();
    let gone: Vec<&&str> = want.iter().filter(|n| !got.contains_key(**n)).collect();
    assert!(
        unexpected.is_empty() && gone.is_empty(),
        "{:?}: differences changed.\nnew:\n{}\nno longer differing: {gone:?}",
        router.version,
        unexpected.join("\n")
    );
}

fn dry_run_path() -> PathBuf {
    configmap_path().with_file_name("aws-logging-dry-run.yaml")
}

#[test]
fn dry_run_configmap_is_the_shipped_one_marking_instead_of_dropping() {
    let dry = std::fs::read_to_string(dry_run_path()).expect("the dry-run ConfigMap");
    let bad = router_rule_violations(&dry);
    assert!(bad.is_empty(), "dry run:\n{}", bad.join("\n"));
    println!("dry-run ConfigMap: {} characters", dry.chars().count());
    // The same file but for the grep that drops: a mark in its place.
    let shipped = configmap_text();
    let grep = "    [FILTER]\n        Name grep\n        Match zz.never\n";
    let at = shipped.find(grep).expect("the shipped grep filter");
    let grep_end = at
        + shipped[at + 1..]
            .find("    [FILTER]")
            .expect("a filter after grep")
        + 1;
    let mark_end = at
        + dry[at + 1..]
            .find("    [FILTER]\n        Name modify\n        Match ss.*")
            .expect("the dry run's rename")
        + 1;
    assert_eq!(
        dry[..at],
        shipped[..at],
        "the dry run differs before the mark"
    );
    let parser = "  parsers.conf: |\n    [PARSER]\n        Name ss_mark\n        Format json\n";
    assert_eq!(
        dry[mark_end..].replacen(parser, "  parsers.conf: |\n", 1),
        shipped[grep_end..],
        "the dry run differs after the mark"
    );
}

#[test]
fn dry_run_marks_exactly_what_the_shipped_config_drops() {
    let yaml = std::fs::read_to_string(dry_run_path()).expect("the dry-run ConfigMap");
    let shipped = Router::shipped();
    let dry = Router::from_yaml(&yaml);
    let mut marked = 0;
    for run in corpus_runs(&shipped) {
        let Some(record) = run.record else { continue };
        let dry_router = Router {
            filters: dry.filters.clone(),
            parsers: dry.parsers.clone(),
            outputs: dry.outputs.clone(),
            ..run.router.clone()
        };
        let want = run.router.run(record.clone(), run.start);
        let got = dry_router.run(record, run.start);
        if want.delivered.is_empty() {
            // Dropped by the shipped config: delivered once, marked first.
            let [(tag, body)] = got.delivered.as_slice() else {
                panic!("{}: dry run delivered {:?}", run.label, got.delivered)
            };
            // The marked record went round the chain again: it is the
            // record as the crio parser and the kubernetes filter leave it
            // (`kubernetes` last, where that filter puts it), marked.
            let defaults = Router {
                filters: run.router.filters[..2].to_vec(),
                ..run.router.clone()
            };
            let again = defaults.run(
                got.after_kubernetes.clone().unwrap_or_default(),
                Start::Input,
            );
            let mut expected = vec![("self_scrape".to_string(), J::Bool(true))];
            expected.extend(again.delivered.into_iter().flat_map(|(_, body)| body));
            assert_eq!(tag, &run.router.input_tag, "{}", run.label);
            assert_eq!(body, &expected, "{}", run.label);
            marked += 1;
        } else {
            assert_eq!(got.delivered, want.delivered, "{}", run.label);
        }
    }
    println!("dry run: {marked} corpus runs marked");
    assert!(
        marked > 100,
        "only {marked} marked: the corpus has more own-node refusals"
    );
}

#[test]
fn selfscrape_check_finds_every_selfscrape_filter_unscoped_when_it_is() {
    use selfscrape_check::{router, yaml};
    let shipped = configmap_text();
    let scoped = shipped.matches("Match kube.*_metrics-server-*").count();
    assert!(scoped >= 6, "{scoped} scoped filters");
    let doc = yaml::parse_yaml(&shipped).expect("the shipped ConfigMap is YAML");
    assert!(router::unscoped_filters(&doc).is_empty());
    // Every one of them, opened to every pod, is reported.
    let wide = shipped.replace("Match kube.*_metrics-server-*", "Match kube.*");
    let doc = yaml::parse_yaml(&wide).expect("still YAML");
    assert_eq!(router::unscoped_filters(&doc).len(), scoped);
}

//! The EKS Fargate router ConfigMap (`fluent-bit-conf/fargate-router/`)
//! against the module's rule.
//!
//! The ConfigMap is read as shipped: its `filters.conf` and `parsers.conf`
//! are parsed and executed by a small emulator of the Fluent Bit filters it
//! uses (parser, kubernetes, modify, rewrite_tag, grep, with Match and
//! Match_Regex routing and the re-emission of rewritten records). The
//! ConfigMap's files are read, tags routed and Onigmo patterns (the grep
//! Match_Regex's `\1`, the parsers' `\k<name>` included) run by the
//! product's own config model (`selfscrape-fbconf`), which refuses by name
//! what it cannot translate. Every corpus case then gets two verdicts,
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
use super::common;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::PathBuf;

use regex::Regex;
use selfscrape_fbconf::onig::Onig;
use selfscrape_fbconf::tag::TagMatch;
use selfscrape_fbconf::{Document, Section};
use selfscrape_rule::{Scratch, evaluate};
use selfscrape_testkit::differences::EXPECTED_DIFFERENCES;

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

/// The `data:` entries of the ConfigMap (the first aws-logging ConfigMap
/// of a YAML stream), read by the product's own YAML reader.
fn configmap_data(yaml: &str) -> BTreeMap<String, String> {
    let docs = selfscrape_fbconf::yaml::parse_yaml_documents(yaml).expect("a YAML ConfigMap");
    let cm = docs
        .iter()
        .map(|(d, _)| d)
        .find(|d| selfscrape_check::router::is_router_configmap(d))
        .expect("an aws-logging ConfigMap");
    match cm.get("data") {
        Some(selfscrape_fbconf::yaml::Yaml::Map(m)) => m
            .iter()
            .map(|(k, v, _)| (k.clone(), v.as_str().expect("string data").to_string()))
            .collect(),
        _ => BTreeMap::new(),
    }
}

/// The one value of `key` in a section (the emulator refuses repeats it
/// does not model).
fn one<'s>(s: &'s Section, key: &str) -> Option<&'s str> {
    let all = s.all(key);
    assert!(all.len() <= 1, "[{}] repeats {key}: {all:?}", s.kind);
    all.first().copied()
}

/// A boolean key, strictly.
fn flag(s: &Section, key: &str, default: bool) -> bool {
    match one(s, key).map(str::to_ascii_lowercase).as_deref() {
        None => default,
        Some("on" | "true" | "yes") => true,
        Some("off" | "false" | "no") => false,
        Some(other) => panic!("[{}] {key} {other:?} is not a boolean", s.kind),
    }
}

/// The sections of one of the ConfigMap's files, read by the model.
fn parse_conf(text: &str) -> Vec<Section> {
    let doc = Document::parse(text, std::path::Path::new(""));
    assert!(
        !doc.problems
            .iter()
            .any(|(_, what)| what == "key before any section"),
        "key outside a section: {text:?}"
    );
    doc.sections
}

/// An Onigmo pattern of the ConfigMap, compiled by the model (the test
/// fails on one the model refuses).
fn onig(pattern: &str) -> Onig {
    Onig::new(pattern).unwrap_or_else(|e| panic!("{e}"))
}

/// A section's routing.
fn tag_match(s: &Section) -> TagMatch {
    TagMatch::new(one(s, "match"), one(s, "match_regex")).unwrap_or_else(|e| panic!("{e}"))
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
    /// Set: replaces or adds; Hard_rename: replaces the target.
    Set(String, String),
    HardRename(String, String),
    /// Remove_wildcard: every key starting with the prefix.
    RemovePrefix(String),
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
        /// Merge_Log_Key: the merged object goes under this key.
        merge_key: Option<String>,
    },
    Modify {
        conds: Vec<Cond>,
        rules: Vec<ModRule>,
    },
    RewriteTag(Vec<RwRule>),
    Grep(Vec<GrepRule>),
    /// nest: `Nest` moves the keys matching the wildcards under one key;
    /// `Lift` moves a map's keys up (with Add_Prefix).
    Nest {
        lift: bool,
        wildcards: Vec<String>,
        under: String,
        add_prefix: String,
    },
    RecordModifier {
        records: Vec<(String, String)>,
        remove: Vec<String>,
        allow: Vec<String>,
    },
    /// throttle: records at the rates of these tests all pass.
    Passthrough,
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
            let name = one(s, "name")
                .expect("filter without Name")
                .to_ascii_lowercase();
            let known: &[&str];
            let kind = match name.as_str() {
                "parser" => {
                    known = &[
                        "key_name",
                        "parser",
                        "reserve_data",
                        "preserve_key",
                        "alias",
                    ];
                    Kind::Parser {
                        key: one(s, "key_name")
                            .expect("parser without Key_Name")
                            .to_string(),
                        parsers: s.all("parser").iter().map(|p| p.to_string()).collect(),
                        reserve: flag(s, "reserve_data", false),
                        preserve: flag(s, "preserve_key", false),
                    }
                }
                "kubernetes" => {
                    // Keys that change where metadata comes from, not what
                    // the emulated filter does with a record.
                    known = &[
                        "merge_log",
                        "keep_log",
                        "merge_log_key",
                        "buffer_size",
                        "kube_meta_cache_ttl",
                        "kube_tag_prefix",
                        "labels",
                        "annotations",
                        "k8s-logging.parser",
                        "k8s-logging.exclude",
                        "tls.verify",
                        "use_kubelet",
                        "kubelet_port",
                        "kube_token_ttl",
                        "dns_retries",
                        "dns_wait_time",
                        "alias",
                    ];
                    for k in ["k8s-logging.parser", "k8s-logging.exclude"] {
                        assert!(!flag(s, k, false), "{k} On is not emulated");
                    }
                    Kind::Kubernetes {
                        merge_log: flag(s, "merge_log", false),
                        keep_log: flag(s, "keep_log", true),
                        merge_key: one(s, "merge_log_key").map(str::to_string),
                    }
                }
                "nest" => {
                    known = &[
                        "operation",
                        "wildcard",
                        "nest_under",
                        "nested_under",
                        "add_prefix",
                        "alias",
                    ];
                    let lift = match one(s, "operation").map(str::to_ascii_lowercase).as_deref() {
                        Some("lift") => true,
                        Some("nest") => false,
                        other => panic!("nest Operation {other:?}"),
                    };
                    Kind::Nest {
                        lift,
                        wildcards: s.all("wildcard").iter().map(|w| w.to_string()).collect(),
                        under: one(s, if lift { "nested_under" } else { "nest_under" })
                            .expect("nest without its key")
                            .to_string(),
                        add_prefix: one(s, "add_prefix").unwrap_or_default().to_string(),
                    }
                }
                "record_modifier" => {
                    known = &[
                        "record",
                        "remove_key",
                        "allowlist_key",
                        "whitelist_key",
                        "alias",
                    ];
                    let mut allow: Vec<String> = s
                        .all("allowlist_key")
                        .iter()
                        .map(|k| k.to_string())
                        .collect();
                    allow.extend(s.all("whitelist_key").iter().map(|k| k.to_string()));
                    Kind::RecordModifier {
                        records: s
                            .all("record")
                            .iter()
                            .map(|r| {
                                let (k, v) = r.split_once(' ').expect("Record KEY VALUE");
                                (k.to_string(), v.trim().to_string())
                            })
                            .collect(),
                        remove: s.all("remove_key").iter().map(|k| k.to_string()).collect(),
                        allow,
                    }
                }
                "throttle" => {
                    known = &["rate", "window", "interval", "print_status", "alias"];
                    Kind::Passthrough
                }
                "modify" => {
                    known = &[
                        "condition",
                        "copy",
                        "rename",
                        "add",
                        "remove",
                        "set",
                        "hard_rename",
                        "remove_wildcard",
                        "alias",
                    ];
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
                                "key_value_matches" => Cond::Matches(ra_path(key), onig(val)),
                                "key_value_does_not_match" => {
                                    Cond::DoesNotMatch(ra_path(key), onig(val))
                                }
                                other => panic!("modify condition {other} is not emulated"),
                            }
                        })
                        .collect();
                    let rules = s
                        .entries
                        .iter()
                        .map(|e| (e.key.to_ascii_lowercase(), &e.value))
                        .filter_map(|(k, v)| match k.as_str() {
                            "copy" | "rename" | "add" | "set" | "hard_rename" => {
                                let (a, b) = v.split_once(' ').expect("Copy/Rename/Add A B");
                                let (a, b) = (a.to_string(), b.trim().to_string());
                                Some(match k.as_str() {
                                    "copy" => ModRule::Copy(a, b),
                                    "rename" => ModRule::Rename(a, b),
                                    "set" => ModRule::Set(a, b),
                                    "hard_rename" => ModRule::HardRename(a, b),
                                    _ => ModRule::Add(a, b),
                                })
                            }
                            "remove" => Some(ModRule::Remove(v.clone())),
                            "remove_wildcard" => {
                                Some(ModRule::RemovePrefix(v.trim_end_matches('*').to_string()))
                            }
                            _ => None,
                        })
                        .collect();
                    Kind::Modify { conds, rules }
                }
                "rewrite_tag" => {
                    known = &["rule", "emitter_name", "emitter_mem_buf_limit", "alias"];
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
                                    regex: onig(f[1]),
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
                    known = &["regex", "exclude", "alias"];
                    Kind::Grep(
                        s.entries
                            .iter()
                            .map(|e| (e.key.to_ascii_lowercase(), &e.value))
                            .filter_map(|(k, v)| {
                                let (key, re) = v.split_once(' ')?;
                                match k.as_str() {
                                    "regex" => Some(GrepRule::Regex(ra_path(key), onig(re))),
                                    "exclude" => Some(GrepRule::Exclude(ra_path(key), onig(re))),
                                    _ => None,
                                }
                            })
                            .collect(),
                    )
                }
                other => panic!("filter {other} is not emulated"),
            };
            for k in s.entries.iter().map(|e| e.key.to_ascii_lowercase()) {
                assert!(
                    ["name", "match", "match_regex"].contains(&k.as_str())
                        || known.contains(&k.as_str()),
                    "{name}: key {k} is not emulated"
                );
            }
            Filter {
                name,
                matcher: tag_match(s),
                kind,
            }
        })
        .collect()
}

fn build_parsers(parsers: &[Section]) -> BTreeMap<String, RegexParser> {
    parsers
        .iter()
        .map(|s| {
            let name = one(s, "name").expect("parser without Name").to_string();
            let re = match one(s, "format").map(str::to_ascii_lowercase).as_deref() {
                Some("regex") => Some(onig(one(s, "regex").expect("regex parser without Regex"))),
                Some("json") => None,
                _ => panic!("parser {name}: only regex and json parsers are emulated"),
            };
            (
                name,
                RegexParser {
                    re,
                    time_key: one(s, "time_key").map(str::to_string),
                    time_keep: flag(s, "time_keep", false),
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

/// A router ConfigMap, ready to run.
#[derive(Clone)]
struct Router {
    version: FbVersion,
    /// The tag the router's tail input gives the records run through it.
    input_tag: String,
    filters: Vec<Filter>,
    parsers: BTreeMap<String, RegexParser>,
    /// (plugin name, routing) per output.
    outputs: Vec<(String, TagMatch)>,
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
            filters: build_filters(&conf("filters.conf")),
            parsers: build_parsers(&conf("parsers.conf")),
            outputs: conf("output.conf")
                .iter()
                .map(|o| {
                    let name = one(o, "name").unwrap_or_default().to_ascii_lowercase();
                    (name, tag_match(o))
                })
                .collect(),
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

    fn with_tag(&self, tag: &str) -> Router {
        Router {
            input_tag: tag.to_string(),
            ..self.clone()
        }
    }
}

/// What the router did with one record.
#[derive(Debug, Clone)]
struct Outcome {
    /// Records that reached an output: (tag, body), once per output.
    delivered: Vec<(String, Map)>,
    /// The output each of `delivered` went to (its plugin name).
    to: Vec<String>,
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

/// What the kubernetes filter adds for the pod of `tag`: the record's own
/// `kubernetes` map (host, pod_ip: what the API says), with the names the
/// filter always reads from the tag put first where the map lacks them.
fn pod_metadata(kube: &Map, tag: &str) -> Map {
    let file = tag.rsplit_once("containers.").map_or("", |(_, f)| f);
    let mut parts = file.splitn(3, '_');
    let (pod, ns, rest) = (
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
    );
    let container = rest.rsplit_once('-').map_or(rest, |(c, _)| c);
    kube.iter()
        .map(|(k, v)| match v {
            J::Obj(m) => {
                let mut out: Map = Vec::new();
                for (key, value) in [
                    ("pod_name", pod),
                    ("namespace_name", ns),
                    ("container_name", container),
                ] {
                    if !m.iter().any(|(k, _)| k == key) {
                        out.push((key.to_string(), J::Str(value.to_string())));
                    }
                }
                out.extend(m.iter().cloned());
                (k.clone(), J::Obj(out))
            }
            other => (k.clone(), other.clone()),
        })
        .collect()
}

impl Router {
    /// Runs one record from the tail input through the filters the way
    /// Fluent Bit does: in order, each filter on the tags it matches,
    /// records re-emitted by rewrite_tag entering the chain again from the
    /// first filter. The record's `kubernetes` map stands for the pod's
    /// metadata: it is set aside and added by every kubernetes filter the
    /// record passes (each has it in its cache).
    fn run(&self, record: Map) -> Outcome {
        let kube: Map = record
            .iter()
            .filter(|(k, _)| k == "kubernetes")
            .cloned()
            .collect();
        let rec: Map = record
            .into_iter()
            .filter(|(k, _)| k != "kubernetes")
            .collect();
        let mut queue = VecDeque::from([(self.input_tag.clone(), rec)]);
        let mut delivered = Vec::new();
        let mut to = Vec::new();
        let mut rounds = 0;
        while let Some((tag, mut rec)) = queue.pop_front() {
            rounds += 1;
            assert!(rounds < 16, "records re-emitted in a loop");
            let mut alive = true;
            for f in &self.filters {
                if !f.matcher.matches(&tag) {
                    continue;
                }
                match &f.kind {
                    Kind::Parser {
                        key,
                        parsers,
                        reserve,
                        preserve,
                    } => rec = self.parser_filter(rec, key, parsers, *reserve, *preserve),
                    Kind::Kubernetes {
                        merge_log,
                        keep_log,
                        merge_key,
                    } => {
                        // The tag must be a container log's (Kube_Tag_Prefix
                        // and the filter's tag regex), else nothing is added.
                        let meta = if kube_tag(&tag) {
                            pod_metadata(&kube, &tag)
                        } else {
                            Map::new()
                        };
                        rec = kubernetes_filter(
                            rec,
                            meta,
                            *merge_log,
                            *keep_log,
                            merge_key.as_deref(),
                        );
                    }
                    Kind::Modify { conds, rules } => {
                        if conds.iter().all(|c| condition(&rec, c)) {
                            for r in rules {
                                modify_rule(&mut rec, r);
                            }
                        }
                    }
                    Kind::Nest {
                        lift,
                        wildcards,
                        under,
                        add_prefix,
                    } => rec = nest_filter(rec, *lift, wildcards, under, add_prefix),
                    Kind::RecordModifier {
                        records,
                        remove,
                        allow,
                    } => {
                        if !allow.is_empty() {
                            rec.retain(|(k, _)| allow.contains(k));
                        }
                        rec.retain(|(k, _)| !remove.contains(k));
                        for (k, v) in records {
                            rec.push((k.clone(), J::Str(v.clone())));
                        }
                    }
                    Kind::Passthrough => {}
                    Kind::RewriteTag(rules) => {
                        if let Some(rule) = rules.iter().find(|r| {
                            matches!(ra_get(&rec, &r.key), Some(J::Str(s)) if r.regex.search(s))
                        }) {
                            match translate_template(&rule.template, &rec, &tag) {
                                Some(new_tag) => queue.push_back((new_tag, rec.clone())),
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
            if alive {
                for (name, o) in &self.outputs {
                    if o.matches(&tag) {
                        delivered.push((tag.clone(), rec.clone()));
                        to.push(name.clone());
                    }
                }
            }
        }
        Outcome { delivered, to }
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
                let caps = re.captures(s)?;
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

fn kubernetes_filter(
    rec: Map,
    kube: Map,
    merge_log: bool,
    keep_log: bool,
    merge_key: Option<&str>,
) -> Map {
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
    match (merged, merge_key) {
        (Some(m), Some(key)) => out.push((key.to_string(), J::Obj(m))),
        (Some(m), None) => out.extend(m),
        (None, _) => {}
    }
    out.extend(kube);
    out
}

/// filter_nest: `Nest` moves the keys matching any wildcard (a trailing
/// `*` is a prefix) into one map appended under `under`; `Lift` replaces
/// the map under `under` by its keys, prefixed.
fn nest_filter(rec: Map, lift: bool, wildcards: &[String], under: &str, prefix: &str) -> Map {
    let hit = |k: &str| {
        wildcards.iter().any(|w| match w.strip_suffix('*') {
            Some(p) => k.starts_with(p),
            None => k == w,
        })
    };
    if lift {
        let mut out = Map::new();
        let mut lifted = Map::new();
        for (k, v) in rec {
            match v {
                J::Obj(m) if k == under => {
                    lifted.extend(m.into_iter().map(|(k, v)| (format!("{prefix}{k}"), v)))
                }
                v => out.push((k, v)),
            }
        }
        out.extend(lifted);
        out
    } else {
        let (inner, mut out): (Map, Map) = rec.into_iter().partition(|(k, _)| hit(k));
        if !inner.is_empty() {
            out.push((under.to_string(), J::Obj(inner)));
        }
        out
    }
}

/// filter_modify's conditions: a value condition on a key that is not
/// there is false, `Key_value_does_not_match` included (it is "the key
/// exists and its value does not match"); only strings match a regex.
fn condition(rec: &Map, c: &Cond) -> bool {
    match c {
        Cond::Exists(k) => ra_get(rec, k).is_some(),
        Cond::NotExists(k) => ra_get(rec, k).is_none(),
        Cond::Equals(k, v) => matches!(ra_get(rec, k), Some(J::Str(s)) if s == v),
        Cond::Matches(k, re) => matches!(ra_get(rec, k), Some(J::Str(s)) if re.search(s)),
        Cond::DoesNotMatch(k, re) => {
            ra_get(rec, k).is_some_and(|v| !matches!(v, J::Str(s) if re.search(s)))
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
        ModRule::RemovePrefix(p) => rec.retain(|(k, _)| !k.starts_with(p.as_str())),
        ModRule::Set(key, value) => match rec.iter_mut().find(|(k, _)| k == key) {
            Some(e) => e.1 = J::Str(value.clone()),
            None => rec.push((key.clone(), J::Str(value.clone()))),
        },
        ModRule::HardRename(from, to) => {
            if rec.iter().any(|(k, _)| k == from) {
                rec.retain(|(k, _)| k != to);
                for (k, _) in rec.iter_mut().filter(|(k, _)| k == from) {
                    k.clone_from(to);
                }
            }
        }
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
        let hit = matches!(ra_get(rec, path), Some(J::Str(s)) if re.search(s));
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

/// What the merged ConfigMap did with a record, against the user's own:
/// `Drop` when it delivers nothing of what the user's delivers, `Keep` when
/// it delivers exactly the same (tag and body, every copy), and an error
/// for anything else (a changed body, another tag, a record twice).
fn merged_verdict(user: &Router, merged: &Router, record: &Map) -> Result<Verdict, String> {
    let theirs = user.run(record.clone()).delivered;
    let ours = merged.run(record.clone()).delivered;
    if ours == theirs {
        Ok(Verdict::Keep)
    } else if ours.is_empty() {
        Ok(Verdict::Drop)
    } else {
        Err(format!(
            "user's ConfigMap delivers {theirs:?}, merged {ours:?}"
        ))
    }
}

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
                "        Match kube.*\n        region",
                "      Match kube.*\n        region",
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
        readme.contains(&format!("{size} characters")),
        "the README states another ConfigMap size than {size} characters"
    );
}

fn rec(log: &str, host: &str) -> Map {
    vec![
        ("log".into(), J::Str(log.into())),
        (
            "kubernetes".into(),
            J::Obj(vec![
                (
                    "pod_name".into(),
                    J::Str("metrics-server-6d94bc8694-x7kqp".into()),
                ),
                ("host".into(), J::Str(host.into())),
            ]),
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

/// AWS's documented ConfigMap (`parser crio` + `kubernetes`): what
/// `selfscrape router` merges into without a file.
fn aws_default() -> Router {
    Router::from_yaml(selfscrape_router::AWS_DEFAULT)
}

#[test]
fn own_node_refusal_is_dropped_and_other_node_kept_under_its_own_tag() {
    let (router, default) = (Router::shipped(), aws_default());
    let verdict = |r: Map| merged_verdict(&default, &router, &r);
    assert_eq!(verdict(rec(&cri_line('F', OWN), OWN)), Ok(Verdict::Drop));
    // Another node's refusal went out under `ss.<tag>,<host>,<node>` for the
    // comparison and came back under its own tag, then through AWS's
    // filters once: exactly what AWS's ConfigMap delivers.
    assert_eq!(verdict(rec(&cri_line('F', OTHER), OWN)), Ok(Verdict::Keep));
    let out = router.run(rec(&cri_line('F', OTHER), OWN)).delivered;
    assert_eq!(out.len(), 1, "{out:?}");
    let (tag, body) = &out[0];
    assert_eq!(tag, INPUT_TAG);
    assert!(matches!(ra_get(body, &["logtag".into()]), Some(J::Str(f)) if f == "F"));
    assert_eq!(
        body.iter().filter(|(k, _)| k == "kubernetes").count(),
        1,
        "{body:?}"
    );
    assert!(body.iter().all(|(k, _)| !k.starts_with("ss_")), "{body:?}");
    // A cut line (CRI P) is never judged, even when its text looks whole.
    assert_eq!(verdict(rec(&cri_line('P', OWN), OWN)), Ok(Verdict::Keep));
    assert_eq!(
        verdict(rec("2026-11-28T06:00:05Z stderr F hello", OWN)),
        Ok(Verdict::Keep)
    );
    // JSON logging, as the raw line (the rule runs before any merge).
    let json = |node: &str| {
        format!(
            "2026-11-28T06:00:05.123456789Z stderr F {{\"ts\":1764309605123.4567,\"caller\":\"scraper/scraper.go:149\",\
             \"msg\":\"Failed to scrape node\",\"node\":{{\"name\":\"{node}\"}},\"err\":\"Get \\\"https://10.6.194.69:10250/metrics/resource\\\": \
             dial tcp 10.6.194.69:10250: connect: connection refused\"}}"
        )
    };
    assert_eq!(verdict(rec(&json(OWN), OWN)), Ok(Verdict::Drop));
    assert_eq!(verdict(rec(&json(OTHER), OWN)), Ok(Verdict::Keep));
    // A host that is not a node name is never put in a tag.
    assert_eq!(
        verdict(rec(&cri_line('F', OWN), "Fargate,Node")),
        Ok(Verdict::Keep)
    );
    // Nor is a missing one (found on real Fluent Bit 5.1.1: a value
    // condition on a missing key is false): such a record stays unchanged.
    let no_host = vec![
        ("log".into(), J::Str(cri_line('F', OWN))),
        (
            "kubernetes".into(),
            J::Obj(vec![("pod_ip".into(), J::Str("10.6.194.69".into()))]),
        ),
    ];
    assert_eq!(verdict(no_host), Ok(Verdict::Keep));
}

#[test]
fn modify_value_conditions_need_the_key() {
    let rec = rec("x", OWN);
    let re = || onig("\\Ay\\z");
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
    let tag = INPUT_TAG.replace(
        "metrics-server-6d94bc8694-x7kqp_",
        "metrics.server-6d94bc8694-x7kqp_",
    );
    let router = Router::shipped().with_tag(&tag);
    let mut record = rec(&cri_line('F', OWN), OWN);
    if let Some((_, J::Obj(k))) = record.iter_mut().find(|(k, _)| k == "kubernetes") {
        k[0].1 = J::Str("metrics.server-6d94bc8694-x7kqp".into());
    }
    assert_eq!(
        merged_verdict(&aws_default().with_tag(&tag), &router, &record),
        Ok(Verdict::Keep)
    );
}

/// Pods of every kind, including ones whose log mentions metrics-server.
fn app_tags() -> Vec<String> {
    vec![
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
    ]
}

/// Application lines, and metrics-server failures in another pod's log.
fn app_lines() -> Vec<String> {
    vec![
        cri_line('F', OWN),
        cri_line('F', OTHER),
        cri_line('P', OWN),
        "2026-11-28T06:00:05.123456789Z stdout F {\"level\":\"info\",\"msg\":\"ok\"}".to_string(),
        "2026-11-28T06:00:05.123456789Z stdout F plain text".to_string(),
        "2026-11-28T06:00:05.123456789Z stderr F {\"message\":\"json with message\",\"n\":1}"
            .to_string(),
    ]
}

#[test]
fn application_records_see_only_the_default_filters() {
    let shipped = Router::shipped();
    let default = aws_default();
    let n = shipped.filters.len() - default.filters.len();
    for tag in &app_tags() {
        for f in &shipped.filters[..n] {
            assert!(
                !f.matcher.matches(tag),
                "{}: a selfscrape filter runs on {tag}",
                f.name
            );
        }
        // End to end: the same records out as with AWS's ConfigMap.
        for line in &app_lines() {
            let a = shipped.with_tag(tag).run(rec(line, OWN));
            let b = default.with_tag(tag).run(rec(line, OWN));
            assert_eq!(a.delivered, b.delivered, "{tag}: {line}");
            assert_eq!(a.delivered.len(), 1);
        }
    }
}

#[test]
fn metrics_server_is_recognised_under_every_usual_name() {
    let router = Router::shipped();
    let default = aws_default();
    let parser = router
        .filters
        .iter()
        .find(|f| matches!(&f.kind, Kind::Parser { parsers, .. } if parsers.iter().any(|p| p.starts_with("ss_"))))
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
        let (r, d) = (router.with_tag(&tag), default.with_tag(&tag));
        assert_eq!(
            merged_verdict(&d, &r, &rec(&cri_line('F', OWN), OWN)),
            Ok(Verdict::Drop),
            "{what}"
        );
        let out = r.run(rec(&cri_line('F', OTHER), OWN));
        assert_eq!(out.delivered.len(), 1);
        assert_eq!(out.delivered[0].0, tag);
    }
}

#[test]
fn tag_halves_cannot_be_fooled_by_dots_in_node_names() {
    // With a dot between the halves, host "a.b.a" failing to scrape "b"
    // gives `x.a.b.a.b`, which `(.+)\.\1` splits as "a.b" twice.
    let dotted = onig("\\Ax\\.(.+)\\.\\1\\z");
    assert!(
        dotted.matches_start("x.a.b.a.b"),
        "the emulation misses the known false match"
    );
    assert!(dotted.matches_start("x.n.n"));
    assert!(!dotted.matches_start("x.a.b"));
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
    let line = "2026-11-28T06:00:05Z stderr F E1128 06:00:05.123456       1 scraper.go:149] \"Failed to scrape node\" \
                err=\"Get \\\"https://10.0.0.1:10250/metrics/resource\\\": dial tcp 10.0.0.1:10250: connect: connection refused\" node=\"b\"";
    let default = aws_default();
    assert_eq!(
        merged_verdict(&default, &router, &rec(line, "a.b.a")),
        Ok(Verdict::Keep)
    );
    assert_eq!(
        merged_verdict(&default, &router, &rec(line, "b")),
        Ok(Verdict::Drop)
    );
}

#[test]
fn the_model_runs_the_configmaps_onigmo_or_refuses_it_by_name() {
    // The rule's own grep Match_Regex: a backreference, run exactly.
    let own = onig(r"\Ass\.[^,]+,([a-z0-9.-]+),\1\z");
    assert!(own.matches_start("ss.t,ip-1.x,ip-1.x"));
    assert!(!own.matches_start("ss.t,ip-1.x,ip-1.xy"));
    assert!(!own.matches_start("ss.t,ip-1.x,p-1.x"));
    let o = onig("\\A(?<n>[a-z]+): x \\k<n>\\z");
    assert!(o.search("ab: x ab"));
    assert!(!o.search("ab: x ac"));
    assert_eq!(
        o.captures("ab: x ab"),
        Some(vec![("n".to_string(), "ab".to_string())])
    );
    // What it cannot read as Onigmo does, it names; the emulator stops.
    for p in ["[]a]", "[a", "(?~a)", "\\Ga", "[a&&b]"] {
        assert!(Onig::new(p).is_err(), "{p:?} translated");
    }
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

/// Whether the whole corpus runs (no `SELFSCRAPE_CASE`): the counts of
/// drops hold only then.
fn whole() -> bool {
    common::corpus::case_filter().is_none()
}

/// One corpus record as the router's tail can read it.
struct Run {
    label: String,
    record: Map,
    module: Verdict,
}

/// Every corpus case that a CRI file can hold (of those `SELFSCRAPE_CASE`
/// names, if set), as the router's tail reads it: `Input:` a record whose `log` is already a raw CRI line, `Raw:` a
/// `multiline.parser cri` record turned back into its line.
fn corpus_runs() -> Vec<Run> {
    static CRI: std::sync::LazyLock<Regex> = std::sync::LazyLock::new(|| {
        Regex::new(r"\A[^ ]+ (?:stdout|stderr) [PF] ").expect("the CRI prefix")
    });
    let mut runs = Vec::new();
    for case in common::corpus::selected() {
        let module = module_verdict(&case.record);
        let Some(map) = std::str::from_utf8(&case.record)
            .ok()
            .and_then(parse_record)
        else {
            continue;
        };
        let log = match ra_get(&map, &["log".into()]) {
            Some(J::Str(s)) => Some(s.clone()),
            _ => None,
        };
        if log
            .as_deref()
            .is_some_and(|s| CRI.is_match(s) && !s.contains('\n'))
        {
            runs.push(Run {
                label: format!("Input:{}", case.name),
                record: map.clone(),
                module,
            });
        }
        if let Some(raw) = as_tail_line(&map) {
            runs.push(Run {
                label: format!("Raw:{}", case.name),
                record: raw,
                module,
            });
        }
    }
    runs
}

/// The runs where the merged ConfigMap and the module differ, and how many
/// runs both drop; panics on a mangled record.
fn differences(
    user: &Router,
    merged: &Router,
    runs: &[Run],
) -> (Vec<(String, Verdict, Verdict)>, usize) {
    let mut differ = Vec::new();
    let mut broken = Vec::new();
    let mut both_drop = 0;
    for run in runs {
        match merged_verdict(user, merged, &run.record) {
            Ok(c) if c != run.module => differ.push((run.label.clone(), run.module, c)),
            Ok(c) => both_drop += usize::from(c == Verdict::Drop),
            Err(e) => broken.push(format!("{}: {e}", run.label)),
        }
    }
    assert!(
        broken.is_empty(),
        "the merged ConfigMap mangles records:\n{}",
        broken.join("\n")
    );
    (differ, both_drop)
}

#[test]
fn config_and_module_agree_on_the_corpus() {
    let runs = corpus_runs();
    for version in [FbVersion::V1_9, FbVersion::V5_1] {
        let mut router = Router::shipped();
        router.version = version;
        let mut default = aws_default();
        default.version = version;
        let (differ, both_drop) = differences(&default, &router, &runs);
        let got: BTreeMap<&str, (Verdict, Verdict)> = differ
            .iter()
            .map(|(n, m, c)| (n.as_str(), (*m, *c)))
            .collect();
        // Under SELFSCRAPE_CASE, the expected differences of the cases run.
        let want: BTreeSet<&str> = EXPECTED_DIFFERENCES
            .iter()
            .map(|(n, _)| *n)
            .filter(|n| runs.iter().any(|r| r.label == *n))
            .collect();
        println!(
            "Fluent Bit {version:?}: {} of {} runs agree ({both_drop} both drop), {} differ",
            runs.len() - differ.len(),
            runs.len(),
            differ.len(),
        );
        let unexpected: Vec<String> = got
            .iter()
            .filter(|(n, _)| !want.contains(*n))
            .map(|(n, (m, c))| format!("  {n}: module {m:?}, config {c:?}"))
            .collect();
        let gone: Vec<&&str> = want.iter().filter(|n| !got.contains_key(**n)).collect();
        assert!(
            unexpected.is_empty() && gone.is_empty(),
            "{version:?}: differences changed.\nnew:\n{}\nno longer differing: {gone:?}",
            unexpected.join("\n")
        );
        assert!(!whole() || both_drop > 50, "only {both_drop} drops");
    }
}

fn dry_run_path() -> PathBuf {
    configmap_path().with_file_name("aws-logging-dry-run.yaml")
}

fn merged(input: Option<&str>, dry_run: bool) -> selfscrape_router::Merged {
    let opts = selfscrape_router::Options {
        dry_run,
        ..selfscrape_router::Options::default()
    };
    selfscrape_router::merge(input, &opts).unwrap_or_else(|e| panic!("merge: {e}"))
}

#[test]
fn shipped_configmaps_are_the_commands_output() {
    for (path, dry) in [(configmap_path(), false), (dry_run_path(), true)] {
        let shipped = std::fs::read_to_string(&path).expect("the shipped ConfigMap");
        let m = merged(None, dry);
        assert_eq!(
            shipped,
            m.yaml,
            "{} is not `selfscrape router{}`'s output: regenerate it",
            path.display(),
            if dry { " --dry-run" } else { "" }
        );
        assert!(
            m.rule_chars <= selfscrape_router::RULE_BUDGET,
            "the rule takes {} characters",
            m.rule_chars
        );
        println!(
            "{}: {} characters, the rule {}",
            path.display(),
            m.chars,
            m.rule_chars
        );
    }
}

/// The user's record plus the dry run's mark, in any order.
fn same_plus_mark(marked: &Map, user: &Map) -> bool {
    let mut want = user.clone();
    want.push(("self_scrape".into(), J::Bool(true)));
    let key = |m: &Map| {
        let mut v: Vec<String> = m.iter().map(|kv| format!("{kv:?}")).collect();
        v.sort();
        v
    };
    key(marked) == key(&want)
}

#[test]
fn dry_run_marks_exactly_what_the_shipped_config_drops() {
    let shipped = Router::shipped();
    let default = aws_default();
    let dry = Router::from_yaml(&std::fs::read_to_string(dry_run_path()).expect("dry run"));
    let mut marked = 0;
    for run in corpus_runs() {
        let theirs = default.run(run.record.clone()).delivered;
        let got = dry.run(run.record.clone()).delivered;
        if shipped.run(run.record.clone()).delivered.is_empty() && !theirs.is_empty() {
            // Dropped by the shipped config: delivered once, marked.
            let ([(tag, body)], [(their_tag, their_body)]) = (got.as_slice(), theirs.as_slice())
            else {
                panic!("{}: dry run delivered {got:?}", run.label)
            };
            assert_eq!(tag, their_tag, "{}", run.label);
            assert!(same_plus_mark(body, their_body), "{}: {body:?}", run.label);
            marked += 1;
        } else {
            assert_eq!(got, theirs, "{}", run.label);
        }
    }
    println!("dry run: {marked} corpus runs marked");
    assert!(
        !whole() || marked > 50,
        "only {marked} marked: the corpus has more own-node refusals"
    );
}

#[test]
fn selfscrape_check_finds_every_selfscrape_filter_unscoped_when_it_is() {
    use selfscrape_check::router;
    use selfscrape_fbconf::yaml;
    let shipped = configmap_text();
    let scoped = shipped.matches("Match kube.*_metrics-server-*").count();
    assert!(scoped >= 5, "{scoped} scoped filters");
    let doc = yaml::parse_yaml(&shipped).expect("the shipped ConfigMap is YAML");
    assert!(router::unscoped_filters(&doc).is_empty());
    // Every one of them, opened to every pod, is reported.
    let wide = shipped.replace("Match kube.*_metrics-server-*", "Match kube.*");
    let doc = yaml::parse_yaml(&wide).expect("still YAML");
    assert_eq!(router::unscoped_filters(&doc).len(), scoped);
}

/// Every shape of tests/router: (file name, text).
fn shapes() -> Vec<(String, String)> {
    shape_paths()
        .into_iter()
        .map(|p| {
            let name = p
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .to_string();
            (name, std::fs::read_to_string(&p).expect("shape"))
        })
        .collect()
}

/// `selfscrape check` finds nothing in a merged ConfigMap that it does not
/// find in the user's own: the merge adds no finding (what the user's
/// filters do stays theirs: 07's rewrite_tag with keep false is
/// rewrite-tag-drops before and after).
fn assert_checks_clean(name: &str, user: &str, yaml: &str) {
    let check = |text: &str| {
        selfscrape_check::check_text(
            std::path::Path::new(name),
            text,
            true,
            &selfscrape_check::Options::default(),
        )
        .unwrap_or_else(|e| panic!("{name}: check could not read it: {}", e.message))
    };
    let mut theirs: Vec<&str> = check(user).iter().map(|f| f.code).collect();
    let added: Vec<String> = check(yaml)
        .into_iter()
        .filter(|f| match theirs.iter().position(|c| *c == f.code) {
            Some(i) => {
                theirs.remove(i);
                false
            }
            None => true,
        })
        .map(|f| format!("{}: {}", f.code, f.message))
        .collect();
    assert!(
        added.is_empty(),
        "{name}: selfscrape check on the merged ConfigMap: {added:?}"
    );
}

fn shape_paths() -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/router");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    paths.sort();
    assert!(paths.len() >= 12, "{} shapes", paths.len());
    paths
}

/// The merged ConfigMap of every shape in tests/router: it fits, checks
/// clean, and over the corpus and application pods' lines delivers exactly
/// what the user's delivers, less the own-node refusals (dry run: marked).
#[test]
fn every_configmap_shape_merges_and_keeps_everything_else_exactly() {
    let runs = corpus_runs();
    let (shipped, default) = (Router::shipped(), aws_default());
    // Which runs the rule drops: the shipped ConfigMap against AWS's (held
    // to the module by config_and_module_agree_on_the_corpus).
    let drops: Vec<bool> = runs
        .iter()
        .map(|r| merged_verdict(&default, &shipped, &r.record) == Ok(Verdict::Drop))
        .collect();
    let mut summary = Vec::new();
    for (name, text) in shapes() {
        for dry_run in [false, true] {
            let m = merged_with(&text, dry_run);
            assert!(m.chars <= 5300, "{name}: {} characters", m.chars);
            assert_checks_clean(&name, &text, &m.yaml);
            let mut user = Router::from_yaml(&text);
            let mut merged = Router::from_yaml(&m.yaml);
            let mut dropped = 0;
            for version in [FbVersion::V1_9, FbVersion::V5_1] {
                user.version = version;
                merged.version = version;
                for (run, drop) in runs.iter().zip(&drops) {
                    let theirs = user.run(run.record.clone()).delivered;
                    let ours = merged.run(run.record.clone()).delivered;
                    if *drop && theirs.is_empty() && dry_run {
                        // The user's ConfigMap drops it already (an earlier
                        // rule): the dry run marks whatever it delivers.
                        assert!(
                            ours.iter()
                                .all(|(_, b)| b.contains(&("self_scrape".into(), J::Bool(true)))),
                            "{name} {}: {ours:?}",
                            run.label
                        );
                    } else if *drop && !theirs.is_empty() {
                        if dry_run {
                            assert_eq!(ours.len(), theirs.len(), "{name} {}", run.label);
                            for ((t, body), (their_tag, their_body)) in ours.iter().zip(&theirs) {
                                assert_eq!(t, their_tag, "{name} {}", run.label);
                                assert!(
                                    same_plus_mark(body, their_body),
                                    "{name} {}: {body:?}",
                                    run.label
                                );
                            }
                        } else {
                            assert!(ours.is_empty(), "{name} {}: kept {ours:?}", run.label);
                        }
                        dropped += 1;
                    } else {
                        assert_eq!(ours, theirs, "{name} {} ({version:?})", run.label);
                    }
                }
                for tag in app_tags() {
                    for line in app_lines() {
                        let r = rec(&line, OWN);
                        assert_eq!(
                            merged.with_tag(&tag).run(r.clone()).delivered,
                            user.with_tag(&tag).run(r).delivered,
                            "{name}: {tag} {line}"
                        );
                    }
                }
            }
            if !dry_run {
                summary.push(format!(
                    "{name}: {} characters (the rule {}), {} own-node refusals dropped of {} runs",
                    m.chars,
                    m.rule_chars,
                    dropped / 2,
                    runs.len()
                ));
            }
        }
    }
    println!("{}", summary.join("\n"));
}

fn merged_with(text: &str, dry_run: bool) -> selfscrape_router::Merged {
    merged(Some(text), dry_run)
}

fn router_cli(args: &[&str], stdin: &str) -> common::CliRun {
    let args: Vec<&std::ffi::OsStr> = args.iter().map(std::ffi::OsStr::new).collect();
    common::run_cli(
        env!("CARGO_BIN_EXE_selfscrape"),
        &args,
        stdin.as_bytes(),
        &[],
    )
}

/// A shape of tests/router by file name.
fn shape(name: &str) -> String {
    std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/router")
            .join(name),
    )
    .expect("shape")
}

#[test]
fn router_command_writes_the_configmap_or_says_why_not() {
    // No file: AWS's documented ConfigMap with the rule, as shipped.
    let run = router_cli(&["router"], "");
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(String::from_utf8_lossy(&run.stdout), configmap_text());
    assert!(
        run.stderr.contains("size: 3643 of the router's 5300"),
        "{}",
        run.stderr
    );
    // kubectl's output on stdin: the server's fields go, and the result is
    // what `selfscrape check -` passes.
    let run = router_cli(&["router", "-"], &shape("12-kubectl-get.yaml"));
    assert_eq!(run.code, 0, "{}", run.stderr);
    let out = String::from_utf8(run.stdout).expect("UTF-8");
    for gone in [
        "managedFields",
        "resourceVersion",
        "uid:",
        "creationTimestamp",
        "last-applied",
    ] {
        assert!(!out.contains(gone), "{gone} is still there:\n{out}");
    }
    let check = router_cli(&["check", "-"], &out);
    assert_eq!(
        check.code,
        0,
        "{}{}",
        String::from_utf8_lossy(&check.stdout),
        check.stderr
    );
    // Merging its own output again changes nothing.
    let again = router_cli(&["router", "-"], &out);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(String::from_utf8_lossy(&again.stdout), out);
    assert!(
        again
            .stderr
            .contains("replaced the selfscrape rule already there")
    );

    // Bad input: exit 3, a clear message, nothing on stdout.
    let other_name =
        shape("01-aws-cloudwatch.yaml").replace("name: aws-logging", "name: my-logging");
    let deployment = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: x\n";
    for (args, stdin, needle) in [
        (vec!["router", "-"], "data: [unclosed\n", "not valid YAML"),
        (
            vec!["router", "-"],
            other_name.as_str(),
            "found aws-observability/my-logging",
        ),
        (vec!["router", "-"], deployment, "no ConfigMap in the input"),
        (
            vec!["router", "/nonexistent/aws-logging.yaml"],
            "",
            "reading /nonexistent",
        ),
        (
            vec!["router", "--metrics-server", "seven"],
            "",
            "not a metrics-server release",
        ),
        (
            vec!["router", "--container", "Bad_Name"],
            "",
            "not a container name",
        ),
        (
            vec!["router", "--aggregator", "bad host:x"],
            "",
            "is not HOST or HOST:PORT",
        ),
        (
            vec!["router", "--aggregator", "agg", "--dry-run"],
            "",
            "cannot be used with",
        ),
    ] {
        let run = router_cli(&args, stdin);
        assert_eq!(run.code, 3, "{args:?}: {}", run.stderr);
        assert!(run.stdout.is_empty(), "{args:?} wrote stdout");
        assert!(run.stderr.contains(needle), "{args:?}: {}", run.stderr);
    }

    // Refused: exit 2, why and what to do, nothing on stdout.
    let long = shape("10-long-outputs.yaml").replace(
        "        Trace_Error On\n",
        &format!(
            "        Trace_Error On\n        Logstash_Prefix {}\n",
            "x".repeat(900)
        ),
    );
    let taken = shape("06-modify-rename.yaml").replace("Add cluster prod-eu", "Add ss_nd prod-eu");
    let broken = shape("01-aws-cloudwatch.yaml")
        .replace("        Match   kube.*\n", "      Match   kube.*\n");
    for (args, stdin, needles) in [
        (
            vec!["router", "-"],
            long.as_str(),
            vec![
                "more than the router's 5300",
                "--metrics-server 0.7 or later: leaves out ss_v04, ss_v03",
                "fits",
            ],
        ),
        (
            vec!["router", "-"],
            taken.as_str(),
            vec!["uses the key ss_nd"],
        ),
        (
            vec!["router", "-"],
            broken.as_str(),
            vec!["would refuse your ConfigMap as it is", "mixed indentation"],
        ),
    ] {
        let run = router_cli(&args, stdin);
        assert_eq!(run.code, 2, "{}", run.stderr);
        assert!(run.stdout.is_empty());
        for n in needles {
            assert!(run.stderr.contains(n), "{n:?}: {}", run.stderr);
        }
    }
    // ... and the advice works.
    let run = router_cli(&["router", "--metrics-server", "0.7", "-"], &long);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(!String::from_utf8_lossy(&run.stdout).contains("ss_v03"));

    // Merged with a warning: exit 1.
    let allowlist = shape("13-nest-record-modifier.yaml").replace(
        "        Record cluster_name prod-apse2\n",
        "        Allowlist_key log\n",
    );
    let run = router_cli(&["router", "--dry-run", "-"], &allowlist);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("warning: dry run: your record_modifier filter"),
        "{}",
        run.stderr
    );
    assert!(!run.stdout.is_empty());
}

#[test]
fn router_options_scope_and_shapes() {
    // A renamed container: every scoped filter takes its tag, and the
    // emulated router drops its own-node refusal under that tag.
    let opts = selfscrape_router::Options {
        container: "ms".into(),
        ..selfscrape_router::Options::default()
    };
    let m = selfscrape_router::merge(None, &opts).expect("merged");
    assert!(!m.yaml.contains("_metrics-server-*"));
    assert_eq!(m.yaml.matches("Match kube.*_ms-*").count(), 5);
    let tag = INPUT_TAG.replace("_metrics-server-9b", "_ms-9b");
    let router = Router::from_yaml(&m.yaml).with_tag(&tag);
    assert_eq!(
        merged_verdict(
            &aws_default().with_tag(&tag),
            &router,
            &rec(&cri_line('F', OWN), OWN)
        ),
        Ok(Verdict::Drop)
    );
    // One release's shapes only, and fewer characters (as docs/router.md
    // says).
    let all = merged(None, false);
    let v07 = selfscrape_router::merge(
        None,
        &selfscrape_router::Options {
            metrics_server: Some((0, 7)),
            ..selfscrape_router::Options::default()
        },
    )
    .expect("merged");
    let doc =
        std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/router.md"))
            .expect("docs/router.md");
    let stated = format!(
        "the rule takes {} characters; {} with `0.7`",
        all.rule_chars, v07.rule_chars
    );
    assert!(
        doc.contains(&stated),
        "docs/router.md does not say {stated:?}"
    );
    for (release, has, lacks) in [
        (
            "0.7.2",
            vec!["ss_klog", "ss_json"],
            vec!["ss_v04", "ss_v03"],
        ),
        ("v0.6", vec!["ss_klog"], vec!["ss_json", "ss_v04", "ss_v03"]),
        ("0.4", vec!["ss_v04"], vec!["ss_klog", "ss_json", "ss_v03"]),
        (
            "0.3.7",
            vec!["ss_v03"],
            vec!["ss_klog", "ss_json", "ss_v04"],
        ),
    ] {
        let opts = selfscrape_router::Options {
            metrics_server: selfscrape_router::parse_release(release).ok(),
            ..selfscrape_router::Options::default()
        };
        let m = selfscrape_router::merge(None, &opts).expect("merged");
        assert!(m.chars < all.chars, "{release}");
        for p in has {
            assert!(m.yaml.contains(&format!("Name {p}")), "{release}: {p}");
        }
        for p in lacks {
            assert!(!m.yaml.contains(p), "{release}: {p}");
        }
    }
}

/// The aggregator variant of every shape that can take it: metrics-server's
/// records leave through the `es` output exactly as the user's ConfigMap
/// delivered them (tag and body), everything else as before, and the
/// shapes it cannot serve exactly are refused with exit status 2.
#[test]
fn aggregator_variant_sends_metrics_servers_records_as_they_were() {
    let runs = corpus_runs();
    let opts = selfscrape_router::Options {
        aggregator: Some((
            "selfscrape-aggregator.kube-system.svc.cluster.local".into(),
            9200,
        )),
        ..selfscrape_router::Options::default()
    };
    let ms = |tag: &str| tag.starts_with("kube.") && tag.contains("_metrics-server-");
    let (mut merged_shapes, mut refused) = (Vec::new(), Vec::new());
    for (name, text) in shapes() {
        if text.contains("ms_refused_") {
            // An earlier rule drops in the user's ConfigMap itself: nothing
            // to compare the aggregator's records with.
            continue;
        }
        let m = match selfscrape_router::merge(Some(&text), &opts) {
            Ok(m) => m,
            Err(e) => {
                assert_eq!(e.exit_code(), 2, "{name}: {e}");
                refused.push(format!("{name}: {e}"));
                continue;
            }
        };
        assert_checks_clean(&name, &text, &m.yaml);
        let user = Router::from_yaml(&text);
        let merged = Router::from_yaml(&m.yaml);
        let mut sent = 0;
        let mut check = |r: &Router, u: &Router, record: Map, label: &str| {
            let theirs = u.run(record.clone());
            let ours = r.run(record);
            let (mut to_es, mut rest) = (Vec::new(), Vec::new());
            for (d, to) in ours.delivered.into_iter().zip(ours.to) {
                if to == "es"
                    && d.1.iter().all(|(k, _)| k != "_selfscrape_tag")
                    && merged_es(&m.yaml)
                {
                    to_es.push(d);
                } else {
                    rest.push(d);
                }
            }
            let (their_ms, their_rest): (Vec<_>, Vec<_>) =
                theirs.delivered.into_iter().partition(|(t, _)| ms(t));
            assert_eq!(rest, their_rest, "{name} {label}: other records");
            assert_eq!(to_es, their_ms, "{name} {label}: to the aggregator");
            sent += to_es.len();
        };
        for run in &runs {
            check(&merged, &user, run.record.clone(), &run.label);
        }
        for tag in app_tags() {
            for line in app_lines() {
                check(
                    &merged.with_tag(&tag),
                    &user.with_tag(&tag),
                    rec(&line, OWN),
                    &tag,
                );
            }
        }
        merged_shapes.push(format!(
            "{name}: {} characters, {sent} records to the aggregator",
            m.chars
        ));
    }
    println!(
        "merged:\n{}\nrefused:\n{}",
        merged_shapes.join("\n"),
        refused.join("\n")
    );
    assert!(merged_shapes.len() >= 8, "{merged_shapes:?}");
    // Refused for the reasons that make it unsafe, and only those.
    for r in &refused {
        assert!(
            r.contains("none of your filters adds pod metadata")
                || r.contains("the aggregator delivers to CloudWatch Logs only")
                || r.contains("of your outputs take metrics-server's records"),
            "{r}"
        );
    }
}

/// Whether the merged ConfigMap has the aggregator's es output (the
/// user's own es outputs are theirs).
fn merged_es(yaml: &str) -> bool {
    yaml.contains("Tag_Key _selfscrape_tag")
}

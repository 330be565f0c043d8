//! An independent reference of the drop rule, written plainly for the
//! robustness tests (tests/fuzz_module.rs, tests/hostile_sizes.rs): its own
//! JSON parser into a small tree, `regex` for the line shapes, and the rule as
//! documented in /work/shared/metrics-server-logs.md, the team brief and the
//! module docs of src/rule. It never calls src/rule.
//!
//! The rule, as read here: drop a record exactly when it is a JSON object
//! that carries at least one metrics-server "Failed to scrape node" message
//! (v0.5+ klog line, JSON-logging object, or a v0.3/v0.4 aggregate with a
//! single failure), every message it carries is a refused dial
//! (`dial tcp <ip>:<port>: connect: connection refused`, nothing after it,
//! not through a proxy) of a valid node name, and that node is the emitting
//! pod's own: `kubernetes.host` when it is a string, else `kubernetes.pod_ip`
//! equal to the dialled IP. Every doubt keeps: a key the rule reads that
//! appears twice, a CRI partial line, a string that does not decode, a
//! bracketed aggregate, a message without `err`/`node`.
#![allow(dead_code)]

use regex::bytes::Regex;
use std::sync::LazyLock;

// ---------------------------------------------------------------- JSON ----

/// A parsed JSON value. Strings and keys are decoded to bytes (`Str(None)`
/// would be a string that does not decode; with lone surrogates decoded to
/// U+FFFD every valid string decodes).
#[derive(Debug)]
pub enum J {
    Null,
    Bool,
    Num,
    Str(Option<Vec<u8>>),
    Arr(Vec<J>),
    Obj(Vec<(Vec<u8>, J)>),
}

/// Nesting deeper than this is refused (the parser recurses; callers run it
/// on a thread with a large stack).
pub const MAX_DEPTH: usize = 20_000;

/// Parses one JSON text (RFC 8259: whitespace around one value, nothing
/// else). Bytes >= 0x80 inside strings are taken as they are.
pub fn parse(text: &[u8]) -> Option<J> {
    let mut p = Parser { s: text, i: 0 };
    p.ws();
    let v = p.value(0)?;
    p.ws();
    (p.i == text.len()).then_some(v)
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    fn lit(&mut self, word: &[u8]) -> Option<()> {
        if self.s[self.i..].starts_with(word) {
            self.i += word.len();
            Some(())
        } else {
            None
        }
    }

    fn value(&mut self, depth: usize) -> Option<J> {
        if depth > MAX_DEPTH {
            return None;
        }
        match self.peek()? {
            b'{' => {
                self.i += 1;
                let mut members = Vec::new();
                self.ws();
                if self.peek() == Some(b'}') {
                    self.i += 1;
                    return Some(J::Obj(members));
                }
                loop {
                    self.ws();
                    if self.peek() != Some(b'"') {
                        return None;
                    }
                    // An undecodable key cannot be any key the rule reads.
                    let key = self.string()?.unwrap_or_else(|| b"\xff\xff".to_vec());
                    self.ws();
                    if self.peek() != Some(b':') {
                        return None;
                    }
                    self.i += 1;
                    self.ws();
                    let v = self.value(depth + 1)?;
                    members.push((key, v));
                    self.ws();
                    match self.peek()? {
                        b',' => self.i += 1,
                        b'}' => {
                            self.i += 1;
                            return Some(J::Obj(members));
                        }
                        _ => return None,
                    }
                }
            }
            b'[' => {
                self.i += 1;
                let mut items = Vec::new();
                self.ws();
                if self.peek() == Some(b']') {
                    self.i += 1;
                    return Some(J::Arr(items));
                }
                loop {
                    self.ws();
                    items.push(self.value(depth + 1)?);
                    self.ws();
                    match self.peek()? {
                        b',' => self.i += 1,
                        b']' => {
                            self.i += 1;
                            return Some(J::Arr(items));
                        }
                        _ => return None,
                    }
                }
            }
            b'"' => Some(J::Str(self.string()?)),
            b't' => self.lit(b"true").map(|_| J::Bool),
            b'f' => self.lit(b"false").map(|_| J::Bool),
            b'n' => self.lit(b"null").map(|_| J::Null),
            b'-' | b'0'..=b'9' => self.number().map(|_| J::Num),
            _ => None,
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.i;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.i += 1;
        }
        self.i - start
    }

    fn number(&mut self) -> Option<()> {
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        match self.peek()? {
            b'0' => self.i += 1,
            b'1'..=b'9' => {
                self.digits();
            }
            _ => return None,
        }
        if self.peek() == Some(b'.') {
            self.i += 1;
            if self.digits() == 0 {
                return None;
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if self.digits() == 0 {
                return None;
            }
        }
        Some(())
    }

    fn hex4(&mut self) -> Option<u32> {
        let h = self.s.get(self.i..self.i + 4)?;
        let v = u32::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok()?;
        if !h.iter().all(u8::is_ascii_hexdigit) {
            return None;
        }
        self.i += 4;
        Some(v)
    }

    /// A string at `"`: Some(Some(decoded)), Some(None) for a lone
    /// surrogate, None for bad grammar.
    fn string(&mut self) -> Option<Option<Vec<u8>>> {
        self.i += 1;
        let mut out = Vec::new();
        let decodable = true;
        loop {
            let c = self.peek()?;
            self.i += 1;
            match c {
                b'"' => return Some(decodable.then_some(out)),
                0..=0x1f => return None,
                b'\\' => {
                    let e = self.peek()?;
                    self.i += 1;
                    let simple = match e {
                        b'"' => b'"',
                        b'\\' => b'\\',
                        b'/' => b'/',
                        b'b' => 8,
                        b'f' => 12,
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'u' => {
                            let u = self.hex4()?;
                            let cp = if (0xd800..0xdc00).contains(&u) {
                                // A high surrogate needs a low one right after.
                                let save = self.i;
                                let low = if self.s[self.i..].starts_with(b"\\u") {
                                    self.i += 2;
                                    self.hex4()
                                } else {
                                    None
                                };
                                match low {
                                    Some(l) if (0xdc00..0xe000).contains(&l) => {
                                        Some(0x10000 + ((u - 0xd800) << 10) + (l - 0xdc00))
                                    }
                                    _ => {
                                        self.i = save;
                                        None
                                    }
                                }
                            } else if (0xdc00..0xe000).contains(&u) {
                                None
                            } else {
                                Some(u)
                            };
                            // A lone surrogate decodes to U+FFFD (RFC 8259
                            // leaves it open; Fluent Bit never writes one).
                            let ch = cp.and_then(char::from_u32).unwrap_or('\u{FFFD}');
                            let mut b = [0u8; 4];
                            out.extend_from_slice(ch.encode_utf8(&mut b).as_bytes());
                            continue;
                        }
                        _ => return None,
                    };
                    out.push(simple);
                }
                _ => out.push(c),
            }
        }
    }
}

// ---------------------------------------------------------------- rule ----

/// Whether the rule drops this record (the JSON text a JSON-mode filter gets).
pub fn drops(record: &[u8]) -> bool {
    match parse(record) {
        Some(J::Obj(root)) => drops_object(&root),
        _ => false,
    }
}

type Members = [(Vec<u8>, J)];

fn all<'a>(obj: &'a Members, key: &'a [u8]) -> impl Iterator<Item = &'a J> + 'a {
    obj.iter().filter(move |(k, _)| k == key).map(|(_, v)| v)
}

fn count(obj: &Members, key: &[u8]) -> usize {
    all(obj, key).count()
}

fn last<'a>(obj: &'a Members, key: &[u8]) -> Option<&'a J> {
    obj.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v)
}

/// Who the emitting pod's node is.
enum Own {
    Host(Vec<u8>),
    Ip(Vec<u8>),
    Unknown,
}

/// A message found in the record: it drops or it keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum V {
    Drop,
    Keep,
}

fn drops_object(root: &Members) -> bool {
    // A key the rule reads, twice: doubt.
    for key in [
        &b"log"[..],
        b"message",
        b"kubernetes",
        b"msg",
        b"err",
        b"node",
    ] {
        if count(root, key) > 1 {
            return false;
        }
    }
    let partial = root
        .iter()
        .any(|(k, v)| (k == b"_p" || k == b"logtag") && matches!(v, J::Str(Some(s)) if s == b"P"));

    let own = match last(root, b"kubernetes") {
        Some(J::Obj(k8s)) => {
            let strings = |key: &'static [u8]| -> Vec<&Option<Vec<u8>>> {
                all(k8s, key)
                    .filter_map(|v| match v {
                        J::Str(s) => Some(s),
                        _ => None,
                    })
                    .collect()
            };
            let (hosts, ips) = (strings(b"host"), strings(b"pod_ip"));
            if hosts.len() > 1 || ips.len() > 1 {
                return false;
            }
            match (hosts.first(), ips.first()) {
                (Some(Some(h)), _) => Own::Host(h.clone()),
                (Some(None), _) => return false,
                (None, Some(Some(ip))) => Own::Ip(ip.clone()),
                (None, Some(None)) => return false,
                (None, None) => Own::Unknown,
            }
        }
        _ => Own::Unknown,
    };

    let mut messages: Vec<V> = Vec::new();
    let mut log_is_other = false;
    for key in [&b"log"[..], b"message"] {
        match last(root, key) {
            Some(J::Str(None)) => messages.push(V::Keep),
            Some(J::Str(Some(text))) => match judge_text(text, &own) {
                Some(v) => messages.push(v),
                None => log_is_other |= key == b"log",
            },
            _ => {}
        }
    }
    // Merged JSON-logging fields: at the root (when it has `msg`), and in any
    // top-level object with a `msg` (a Merge_Log_Key of any name); more than
    // 4 such objects is a doubt.
    let merged: Vec<&Members> = root
        .iter()
        .filter(|(k, _)| !matches!(k.as_slice(), b"kubernetes" | b"msg" | b"err" | b"node"))
        .filter_map(|(_, v)| match v {
            J::Obj(o) if count(o, b"msg") > 0 => Some(o.as_slice()),
            _ => None,
        })
        .collect();
    if merged.len() > 4 {
        return false;
    }
    if !log_is_other {
        if count(root, b"msg") > 0 {
            messages.extend(judge_fields(root, &own));
        }
        for obj in merged {
            messages.extend(judge_fields(obj, &own));
        }
    }
    if partial && !messages.is_empty() {
        return false;
    }
    !messages.is_empty() && messages.iter().all(|&v| v == V::Drop)
}

const SCRAPE: &[u8] = b"Failed to scrape node";

/// A JSON-logging object (`msg`, `err`, `node: {name}`); None when it is not
/// a failed-scrape message at all.
fn judge_fields(obj: &Members, own: &Own) -> Option<V> {
    let Some(J::Str(Some(msg))) = last(obj, b"msg") else {
        return None;
    };
    if msg.as_slice() != SCRAPE {
        // "Failed to scrape node, timeout to access kubelet" and friends are
        // failed scrapes, never refusals.
        return msg
            .starts_with(b"Failed to scrape node, ")
            .then_some(V::Keep);
    }
    if count(obj, b"msg") > 1 || count(obj, b"err") > 1 || count(obj, b"node") > 1 {
        return Some(V::Keep);
    }
    let (Some(J::Str(Some(err))), Some(J::Obj(node))) = (last(obj, b"err"), last(obj, b"node"))
    else {
        return Some(V::Keep);
    };
    if count(node, b"name") != 1 {
        return Some(V::Keep);
    }
    let Some(J::Str(Some(name))) = last(node, b"name") else {
        return Some(V::Keep);
    };
    Some(judge_one(own, name, err))
}

static RFC3339: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?-u)^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2}) ")
        .unwrap()
});
static KLOG: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?-u)^([IWEF])[0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]+ +[0-9]+ [^\] :]*:[0-9]+\] ",
    )
    .unwrap()
});
static REFUSED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?-u)dial tcp[46]? ([^ ]+):([0-9]+): connect: connection refused\z").unwrap()
});
static NODE_NAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?-u)^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$").unwrap());

/// A `log`/`message` text; None when it holds no failed-scrape message.
fn judge_text(text: &[u8], own: &Own) -> Option<V> {
    let mut t = text.strip_suffix(b"\n").unwrap_or(text);
    t = t.strip_suffix(b"\r").unwrap_or(t);
    if let Some(m) = RFC3339.find(t) {
        t = &t[m.end()..];
        if t.starts_with(b"stderr ") || t.starts_with(b"stdout ") {
            t = &t[7..];
            if t.starts_with(b"P ") {
                return Some(V::Keep); // a cut line
            }
            t = t.strip_prefix(b"F ")?;
        }
    }
    let klog = KLOG.captures(t);
    if let Some(c) = &klog {
        if &c[1] != b"E" {
            return None; // failed scrapes are logged at error severity
        }
        t = &t[c.get(0).unwrap().end()..];
    }
    if let Some(rest) = t.strip_prefix(b"\"Failed to scrape node\"") {
        if !rest.is_empty() && rest[0] != b' ' {
            return None;
        }
        return Some(judge_kvs(rest, own));
    }
    if t.starts_with(b"\"Failed to scrape node, ") {
        return Some(V::Keep);
    }
    if let Some(rest) = t.strip_prefix(b"unable to fully scrape metrics: ") {
        return Some(judge_aggregate(rest, false, own));
    }
    if let Some(rest) = t.strip_prefix(b"unable to fully collect metrics: ") {
        return Some(judge_aggregate(rest, true, own));
    }
    if klog.is_none() && t.starts_with(b"{") {
        return match parse(t) {
            Some(J::Obj(o)) => judge_fields(&o, own),
            _ => None,
        };
    }
    None
}

/// ` key="go string" key=bare ...` after "Failed to scrape node".
fn judge_kvs(mut t: &[u8], own: &Own) -> V {
    let mut err: Vec<Vec<u8>> = Vec::new();
    let mut node: Vec<Vec<u8>> = Vec::new();
    loop {
        let spaces = t.iter().take_while(|&&c| c == b' ').count();
        t = &t[spaces..];
        if t.is_empty() {
            break;
        }
        if spaces == 0 {
            return V::Keep;
        }
        let Some(eq) = t.iter().position(|&c| c == b'=') else {
            return V::Keep;
        };
        let key = &t[..eq];
        if key.is_empty()
            || !key
                .iter()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.'))
        {
            return V::Keep;
        }
        t = &t[eq + 1..];
        let value = if t.first() == Some(&b'"') {
            // Up to the first quote not escaped by a backslash.
            let mut i = 1;
            loop {
                match t.get(i) {
                    None => return V::Keep,
                    Some(b'"') => break,
                    Some(b'\\') => i += 2,
                    Some(_) => i += 1,
                }
            }
            let Some(v) = go_unquote(&t[1..i]) else {
                // Only matters for err/node; others are skipped anyway.
                if key == b"err" || key == b"node" {
                    return V::Keep;
                }
                t = &t[i + 1..];
                continue;
            };
            t = &t[i + 1..];
            v
        } else {
            let end = t.iter().position(|&c| c == b' ').unwrap_or(t.len());
            let v = t[..end].to_vec();
            t = &t[end..];
            v
        };
        match key {
            b"err" => err.push(value),
            b"node" => node.push(value),
            _ => {}
        }
    }
    match (err.as_slice(), node.as_slice()) {
        ([e], [n]) => judge_one(own, n, e),
        _ => V::Keep,
    }
}

/// Go's `strconv.Unquote` of the inside of a double-quoted literal.
fn go_unquote(s: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < s.len() {
        if s[i] != b'\\' {
            out.push(s[i]);
            i += 1;
            continue;
        }
        let e = *s.get(i + 1)?;
        i += 2;
        let hex = |n: usize, i: usize| -> Option<u32> {
            let h = s.get(i..i + n)?;
            if !h.iter().all(u8::is_ascii_hexdigit) {
                return None;
            }
            u32::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok()
        };
        match e {
            b'a' => out.push(7),
            b'b' => out.push(8),
            b'f' => out.push(12),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'v' => out.push(11),
            b'\\' => out.push(b'\\'),
            b'\'' => out.push(b'\''),
            b'"' => out.push(b'"'),
            b'x' => {
                out.push(hex(2, i)? as u8);
                i += 2;
            }
            b'u' | b'U' => {
                let n = if e == b'u' { 4 } else { 8 };
                let ch = char::from_u32(hex(n, i)?)?;
                out.extend_from_slice(ch.encode_utf8(&mut [0u8; 4]).as_bytes());
                i += n;
            }
            b'0'..=b'7' => {
                let o = s.get(i - 1..i + 2)?;
                if !o.iter().all(|c| (b'0'..=b'7').contains(c)) {
                    return None;
                }
                let v = o.iter().fold(0u32, |v, &c| v * 8 + u32::from(c - b'0'));
                out.push(u8::try_from(v).ok()?);
                i += 2;
            }
            _ => return None,
        }
    }
    Some(out)
}

/// v0.4/v0.3 aggregates: only a single (bare) own-node refusal drops.
fn judge_aggregate(body: &[u8], v03: bool, own: &Own) -> V {
    let prefix: &[u8] = if v03 {
        b"unable to fully scrape metrics from source kubelet_summary:"
    } else {
        b"unable to fully scrape metrics from node "
    };
    if body.starts_with(b"[") && body.ends_with(b"]") {
        return V::Keep; // several failures: never all the own node's
    }
    let Some(item) = body.strip_prefix(prefix) else {
        return V::Keep;
    };
    let mut another = b", ".to_vec();
    another.extend_from_slice(prefix);
    if find(item, &another).is_some() {
        return V::Keep;
    }
    let Some((name, mut err)) = split(item, b": ") else {
        return V::Keep;
    };
    if name.is_empty() || name.contains(&b' ') {
        return V::Keep;
    }
    if !v03 {
        if let Some(rest) = err.strip_prefix(&b"unable to fetch metrics from node "[..]) {
            let Some((named, rest)) = split(rest, b": ") else {
                return V::Keep;
            };
            if named != name {
                return V::Keep;
            }
            err = rest;
        }
    } else if let Some(rest) = err.strip_prefix(&b"unable to fetch metrics from Kubelet "[..]) {
        let Some((named, rest)) = split(rest, b" (") else {
            return V::Keep;
        };
        if named != name {
            return V::Keep;
        }
        let Some((_ip, rest)) = split(rest, b"): ") else {
            return V::Keep;
        };
        err = rest;
    }
    judge_one(own, name, err)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn split<'a>(t: &'a [u8], sep: &[u8]) -> Option<(&'a [u8], &'a [u8])> {
    let at = find(t, sep)?;
    Some((&t[..at], &t[at + sep.len()..]))
}

/// One failure of `node` with error `err`.
fn judge_one(own: &Own, node: &[u8], err: &[u8]) -> V {
    if node.len() > 253 || !NODE_NAME.is_match(node) {
        return V::Keep;
    }
    if find(err, b"proxyconnect").is_some() {
        return V::Keep; // the proxy refused, not the kubelet
    }
    let Some(c) = REFUSED.captures(err) else {
        return V::Keep;
    };
    let host = &c[1];
    let ip = match host.strip_prefix(b"[") {
        Some(inner) => match inner.strip_suffix(b"]") {
            Some(ip) => ip,
            None => return V::Keep,
        },
        None => host,
    };
    if ip.is_empty() {
        return V::Keep;
    }
    let own_node = match own {
        Own::Host(h) => h.as_slice() == node,
        Own::Ip(own_ip) => own_ip.as_slice() == ip,
        Own::Unknown => false,
    };
    if own_node { V::Drop } else { V::Keep }
}

// ------------------------------------------------------------ generator ----

/// A small deterministic generator (splitmix64): the tests print their seed.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in 0..n (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// True with probability 1/n.
    pub fn one_in(&mut self, n: usize) -> bool {
        self.below(n) == 0
    }

    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }
}

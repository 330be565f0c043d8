//! The rule, written plainly: the specification that the fast rule
//! ([`crate::evaluate`]) is checked against, on the whole case corpus
//! and by every fuzzer.
//!
//! Read it side by side with docs/ARCHITECTURE.md ("What the rule reads"),
//! which shows metrics-server's failed-scrape lines and where they sit in a
//! record. It parses the record into a small tree, then reads the rule off
//! the tree. Nothing in it is there for speed: no prefilter, no word-wise
//! compare, and it shares no helper with the fast rule (its own JSON parser,
//! in [`parser`], its own line shapes, its own error reading). It is slow,
//! allocates freely and is never called by the module.
//!
//! # The rule
//!
//! Drop a record exactly when
//!
//! 1. it is one JSON object (the text Fluent Bit's JSON event format passes);
//! 2. it carries at least one metrics-server failed-scrape message, in one of
//!    these places:
//!    - `log` or `message` (text): a klog line, bare or behind a container
//!      runtime prefix (`<RFC 3339> stderr F `, or only `<RFC 3339> `), with
//!      one trailing newline allowed: the v0.5+ line
//!      `E... "Failed to scrape node" err="..." node="..."`, a v0.4
//!      (`unable to fully scrape metrics: ...`) or v0.3
//!      (`unable to fully collect metrics: ...`) aggregate, or a
//!      JSON-logging line (`{"msg":"Failed to scrape node","node":{"name":..},"err":..}`);
//!    - the record's root (JSON logging merged by the kubernetes filter:
//!      `msg`, `err`, `node` at the root), when `log` is absent or is itself
//!      a failed-scrape message;
//!    - any top-level object with a `msg` (a `Merge_Log_Key`), likewise;
//! 3. every such message is a refused dial
//!    (`dial tcp[46] <ip>:<port>: connect: connection refused`, nothing after
//!    it, not through a proxy) of a valid node name (a DNS-1123 subdomain);
//! 4. and that node is the emitting pod's own: `kubernetes.host` when the
//!    record has a string `kubernetes.host`, else `kubernetes.pod_ip` equal to
//!    the dialled IP. A record with neither is never dropped.
//!
//! Every doubt keeps the record: a key the rule reads that appears twice, a
//! CRI partial line (`_p` or `logtag` equal to `P`, or a `P` runtime prefix),
//! a message without its `err` or `node`, a string that does not unquote, a
//! klog line of a severity other than error, a bracketed (several-failure)
//! aggregate, more than four merged objects, any other failure (timeouts,
//! DNS, TLS, 401/403, unreachable) and any other node's failure.
//!
//! The rule comes first below ([`drops`], then the shapes it reads); the
//! JSON parser is [`parser`].

mod parser;

pub use parser::{Json, parse};

/// Whether the rule drops this record (the JSON text a JSON-mode filter
/// gets, without the NUL).
pub fn drops(record: &[u8]) -> bool {
    match parse(record) {
        Some(Json::Object(root)) => drops_object(&root),
        _ => false,
    }
}

type Members = [(Vec<u8>, Json)];

fn all<'a>(obj: &'a Members, key: &'a [u8]) -> impl Iterator<Item = &'a Json> + 'a {
    obj.iter().filter(move |(k, _)| k == key).map(|(_, v)| v)
}

fn count(obj: &Members, key: &[u8]) -> usize {
    all(obj, key).count()
}

/// The value of `key`; the last one when it repeats (as Fluent Bit's own
/// readers take it).
fn get<'a>(obj: &'a Members, key: &'a [u8]) -> Option<&'a Json> {
    all(obj, key).last()
}

/// Who the emitting pod's node is.
enum Own {
    /// `kubernetes.host`.
    Host(Vec<u8>),
    /// `kubernetes.pod_ip`, when there is no string `kubernetes.host`.
    Ip(Vec<u8>),
    Unknown,
}

/// A message found in the record: it drops or it keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Says {
    Drop,
    Keep,
}

fn drops_object(root: &Members) -> bool {
    // A key the rule reads, twice: doubt.
    let read = [
        &b"log"[..],
        b"message",
        b"kubernetes",
        b"msg",
        b"err",
        b"node",
    ];
    if read.iter().any(|key| count(root, key) > 1) {
        return false;
    }
    let partial = root
        .iter()
        .any(|(k, v)| (k == b"_p" || k == b"logtag") && *v == Json::Str(b"P".to_vec()));
    let Some(own) = own_node(root) else {
        return false;
    };

    let mut messages: Vec<Says> = Vec::new();
    let mut log_is_other = false;
    for key in [&b"log"[..], b"message"] {
        if let Some(Json::Str(text)) = get(root, key) {
            match judge_text(text, &own) {
                Some(says) => messages.push(says),
                None => log_is_other |= key == b"log",
            }
        }
    }
    // Merged JSON-logging fields: at the root (when it has `msg`), and in any
    // top-level object with a `msg` (a Merge_Log_Key of any name); more than
    // four such objects is a doubt. When `log` holds some other line, merged
    // fields did not come from a failed scrape.
    let merged: Vec<&Members> = root
        .iter()
        .filter(|(k, _)| !matches!(k.as_slice(), b"kubernetes" | b"msg" | b"err" | b"node"))
        .filter_map(|(_, v)| match v {
            Json::Object(o) if count(o, b"msg") > 0 => Some(o.as_slice()),
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
    !messages.is_empty() && messages.iter().all(|&says| says == Says::Drop)
}

/// The own node from the `kubernetes` map; `None` is a doubt (a repeated
/// `host` or `pod_ip`).
fn own_node(root: &Members) -> Option<Own> {
    let Some(Json::Object(k8s)) = get(root, b"kubernetes") else {
        return Some(Own::Unknown);
    };
    let strings = |key: &'static [u8]| -> Vec<&Vec<u8>> {
        all(k8s, key)
            .filter_map(|v| match v {
                Json::Str(s) => Some(s),
                _ => None,
            })
            .collect()
    };
    match (strings(b"host").as_slice(), strings(b"pod_ip").as_slice()) {
        ([_, _, ..], _) | (_, [_, _, ..]) => None,
        ([host], _) => Some(Own::Host(host.to_vec())),
        ([], [ip]) => Some(Own::Ip(ip.to_vec())),
        ([], []) => Some(Own::Unknown),
    }
}

const SCRAPE: &[u8] = b"Failed to scrape node";

/// A JSON-logging object (`msg`, `err`, `node: {name}`); `None` when it is
/// not a failed-scrape message at all.
fn judge_fields(obj: &Members, own: &Own) -> Option<Says> {
    let Some(Json::Str(msg)) = get(obj, b"msg") else {
        return None;
    };
    if msg.as_slice() != SCRAPE {
        // "Failed to scrape node, timeout to access kubelet" and the like
        // are failed scrapes, never refusals.
        return msg
            .starts_with(b"Failed to scrape node, ")
            .then_some(Says::Keep);
    }
    if count(obj, b"msg") > 1 || count(obj, b"err") > 1 || count(obj, b"node") > 1 {
        return Some(Says::Keep);
    }
    let (Some(Json::Str(err)), Some(Json::Object(node))) = (get(obj, b"err"), get(obj, b"node"))
    else {
        return Some(Says::Keep);
    };
    match (count(node, b"name"), get(node, b"name")) {
        (1, Some(Json::Str(name))) => Some(judge_one(own, name, err)),
        _ => Some(Says::Keep),
    }
}

/// A `log`/`message` text; `None` when it holds no failed-scrape message.
fn judge_text(text: &[u8], own: &Own) -> Option<Says> {
    let mut t = text.strip_suffix(b"\n").unwrap_or(text);
    t = t.strip_suffix(b"\r").unwrap_or(t);
    // A container runtime's prefix: `<RFC 3339> stderr F ` (CRI), or a
    // timestamp alone (`kubectl logs --timestamps`).
    if let Some(rest) = after_rfc3339(t) {
        t = rest;
        if let Some(rest) = t.strip_prefix(b"stderr ").or(t.strip_prefix(b"stdout ")) {
            if rest.starts_with(b"P ") {
                return Some(Says::Keep); // a cut line
            }
            t = rest.strip_prefix(b"F ")?;
        }
    }
    let klog = klog_header(t);
    if let Some((severity, rest)) = klog {
        if severity != b'E' {
            return None; // failed scrapes are logged at error severity
        }
        t = rest;
    }
    if let Some(rest) = t.strip_prefix(b"\"Failed to scrape node\"") {
        if !rest.is_empty() && !rest.starts_with(b" ") {
            return None;
        }
        return Some(judge_pairs(rest, own));
    }
    if t.starts_with(b"\"Failed to scrape node, ") {
        return Some(Says::Keep);
    }
    if let Some(rest) = t.strip_prefix(b"unable to fully scrape metrics: ") {
        return Some(judge_aggregate(rest, Version::V04, own));
    }
    if let Some(rest) = t.strip_prefix(b"unable to fully collect metrics: ") {
        return Some(judge_aggregate(rest, Version::V03, own));
    }
    if klog.is_none() && t.starts_with(b"{") {
        return match parse(t) {
            Some(Json::Object(o)) => judge_fields(&o, own),
            _ => None,
        };
    }
    None
}

/// Reads a text against a fixed shape, a piece at a time.
struct Shape<'a>(&'a [u8]);

impl<'a> Shape<'a> {
    fn lit(mut self, s: &[u8]) -> Option<Self> {
        self.0 = self.0.strip_prefix(s)?;
        Some(self)
    }

    /// Exactly `n` ASCII digits.
    fn digits(mut self, n: usize) -> Option<Self> {
        let (d, rest) = self.0.split_at_checked(n)?;
        d.iter().all(u8::is_ascii_digit).then_some(())?;
        self.0 = rest;
        Some(self)
    }

    /// One or more bytes of `class`.
    fn some(mut self, class: impl Fn(u8) -> bool) -> Option<Self> {
        let n = self.0.iter().take_while(|&&c| class(c)).count();
        self.0 = self.0.get(n..).filter(|_| n > 0)?;
        Some(self)
    }

    /// Zero or more bytes of `class`.
    fn any(self, class: impl Fn(u8) -> bool) -> Self {
        let n = self.0.iter().take_while(|&&c| class(c)).count();
        Shape(self.0.get(n..).unwrap_or_default())
    }
}

/// `yyyy-mm-ddThh:mm:ss[.frac](Z|±hh:mm) `: what follows.
fn after_rfc3339(t: &[u8]) -> Option<&[u8]> {
    let s = Shape(t)
        .digits(4)?
        .lit(b"-")?
        .digits(2)?
        .lit(b"-")?
        .digits(2)?;
    let s = s
        .lit(b"T")?
        .digits(2)?
        .lit(b":")?
        .digits(2)?
        .lit(b":")?
        .digits(2)?;
    let s = match s.0.strip_prefix(b".") {
        Some(frac) => Shape(frac).some(|c| c.is_ascii_digit())?,
        None => s,
    };
    let s = match s.0.first()? {
        b'Z' => s.lit(b"Z")?,
        b'+' | b'-' => Shape(&s.0[1..]).digits(2)?.lit(b":")?.digits(2)?,
        _ => return None,
    };
    Some(s.lit(b" ")?.0)
}

/// klog's header `Lmmdd hh:mm:ss.uuuuuu <pid> file:line] `: the severity
/// letter and what follows.
fn klog_header(t: &[u8]) -> Option<(u8, &[u8])> {
    let severity = *t.first().filter(|c| b"IWEF".contains(c))?;
    let s = Shape(&t[1..]).digits(4)?.lit(b" ")?;
    let s = s
        .digits(2)?
        .lit(b":")?
        .digits(2)?
        .lit(b":")?
        .digits(2)?
        .lit(b".")?;
    let s = s.some(|c| c.is_ascii_digit())?.some(|c| c == b' ')?;
    let s = s.some(|c| c.is_ascii_digit())?.lit(b" ")?;
    let s = s.any(|c| !matches!(c, b']' | b' ' | b':')).lit(b":")?;
    let s = s.some(|c| c.is_ascii_digit())?.lit(b"] ")?;
    Some((severity, s.0))
}

/// ` key="go string" key=bare ...` after `"Failed to scrape node"`: exactly
/// one `err` and one `node`.
fn judge_pairs(mut t: &[u8], own: &Own) -> Says {
    let mut err: Vec<Vec<u8>> = Vec::new();
    let mut node: Vec<Vec<u8>> = Vec::new();
    loop {
        let spaces = t.iter().take_while(|&&c| c == b' ').count();
        t = &t[spaces..];
        if t.is_empty() {
            break;
        }
        if spaces == 0 {
            return Says::Keep;
        }
        let Some(eq) = t.iter().position(|&c| c == b'=') else {
            return Says::Keep;
        };
        let key = &t[..eq];
        let key_chars = |c: &u8| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.');
        if key.is_empty() || !key.iter().all(key_chars) {
            return Says::Keep;
        }
        t = &t[eq + 1..];
        let value = if t.first() == Some(&b'"') {
            // Up to the first quote not escaped by a backslash.
            let mut i = 1;
            loop {
                match t.get(i) {
                    None => return Says::Keep,
                    Some(b'"') => break,
                    Some(b'\\') => i += 2,
                    Some(_) => i += 1,
                }
            }
            let unquoted = go_unquote(&t[1..i]);
            t = &t[i + 1..];
            match unquoted {
                Some(v) => v,
                // Only `err` and `node` must unquote: the rule reads no other.
                None if key == b"err" || key == b"node" => return Says::Keep,
                None => continue,
            }
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
        _ => Says::Keep,
    }
}

/// Go's `strconv.Unquote` of the inside of a double-quoted literal.
fn go_unquote(s: &[u8]) -> Option<Vec<u8>> {
    let hex = |h: &[u8]| -> Option<u32> {
        h.iter()
            .try_fold(0u32, |v, &c| Some(v * 16 + char::from(c).to_digit(16)?))
    };
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(&c) = s.get(i) {
        if c != b'\\' {
            out.push(c);
            i += 1;
            continue;
        }
        let e = *s.get(i + 1)?;
        i += 2;
        match e {
            b'a' => out.push(7),
            b'b' => out.push(8),
            b'f' => out.push(12),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'v' => out.push(11),
            b'\\' | b'\'' | b'"' => out.push(e),
            b'x' => {
                out.push(u8::try_from(hex(s.get(i..i + 2)?)?).ok()?);
                i += 2;
            }
            b'u' | b'U' => {
                let n = if e == b'u' { 4 } else { 8 };
                let ch = char::from_u32(hex(s.get(i..i + n)?)?)?;
                out.extend_from_slice(ch.encode_utf8(&mut [0; 4]).as_bytes());
                i += n;
            }
            b'0'..=b'7' => {
                let octal = s.get(i - 1..i + 2)?;
                if !octal.iter().all(|c| (b'0'..=b'7').contains(c)) {
                    return None;
                }
                let v = octal.iter().fold(0u32, |v, &c| v * 8 + u32::from(c - b'0'));
                out.push(u8::try_from(v).ok()?);
                i += 2;
            }
            _ => return None,
        }
    }
    Some(out)
}

/// The metrics-server release lines that aggregate failures.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Version {
    /// `unable to fully scrape metrics from node N: unable to fetch metrics
    /// from node N: <error>`
    V04,
    /// `unable to fully scrape metrics from source kubelet_summary:N: unable
    /// to fetch metrics from Kubelet N (<ip>): <error>`
    V03,
}

/// A v0.4/v0.3 aggregate: only a single (bare) own-node refusal drops; one
/// failure prints bare, several print as `[e1, e2]` and can never all be the
/// own node's.
fn judge_aggregate(body: &[u8], version: Version, own: &Own) -> Says {
    let prefix: &[u8] = match version {
        Version::V04 => b"unable to fully scrape metrics from node ",
        Version::V03 => b"unable to fully scrape metrics from source kubelet_summary:",
    };
    if body.starts_with(b"[") && body.ends_with(b"]") {
        return Says::Keep;
    }
    let Some(item) = body.strip_prefix(prefix) else {
        return Says::Keep;
    };
    if find(item, &[b", ", prefix].concat()).is_some() {
        return Says::Keep;
    }
    let Some((name, mut err)) = split(item, b": ") else {
        return Says::Keep;
    };
    if name.is_empty() || name.contains(&b' ') {
        return Says::Keep;
    }
    let (inner, after_name): (&[u8], &[u8]) = match version {
        Version::V04 => (b"unable to fetch metrics from node ", b": "),
        Version::V03 => (b"unable to fetch metrics from Kubelet ", b" ("),
    };
    if let Some(rest) = err.strip_prefix(inner) {
        let Some((named, rest)) = split(rest, after_name) else {
            return Says::Keep;
        };
        if named != name {
            return Says::Keep;
        }
        err = match version {
            Version::V04 => rest,
            Version::V03 => match split(rest, b"): ") {
                Some((_ip, rest)) => rest,
                None => return Says::Keep,
            },
        };
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
fn judge_one(own: &Own, node: &[u8], err: &[u8]) -> Says {
    let Some(ip) = refused_ip(err) else {
        return Says::Keep;
    };
    let own_node = is_node_name(node)
        && match own {
            Own::Host(host) => host.as_slice() == node,
            Own::Ip(own_ip) => own_ip.as_slice() == ip,
            Own::Unknown => false,
        };
    if own_node { Says::Drop } else { Says::Keep }
}

/// `... dial tcp[46] <host>:<port>: connect: connection refused` at the very
/// end of a Go error, not through a proxy: the dialled IP (without IPv6
/// brackets).
fn refused_ip(err: &[u8]) -> Option<&[u8]> {
    if find(err, b"proxyconnect").is_some() {
        return None; // the proxy refused, not the kubelet
    }
    let dial = err.strip_suffix(b": connect: connection refused")?;
    let port = dial.iter().rev().take_while(|c| c.is_ascii_digit()).count();
    let host_end = dial.len().checked_sub(port + 1)?;
    if port == 0 || dial.get(host_end) != Some(&b':') {
        return None;
    }
    let before = &dial[..host_end];
    let host_len = before.iter().rev().take_while(|&&c| c != b' ').count();
    let (dialler, host) = before.split_at(before.len() - host_len);
    let dialler_ok = [&b"dial tcp "[..], b"dial tcp4 ", b"dial tcp6 "]
        .iter()
        .any(|d| dialler.ends_with(d));
    let ip = match host.strip_prefix(b"[") {
        Some(inner) => inner.strip_suffix(b"]")?,
        None => host,
    };
    (dialler_ok && !ip.is_empty()).then_some(ip)
}

/// A DNS-1123 subdomain, as Kubernetes requires of node names: at most 253
/// bytes of `a-z 0-9 . -`, starting and ending alphanumeric.
fn is_node_name(name: &[u8]) -> bool {
    let inner = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, b'.' | b'-');
    let alnum = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    name.len() <= 253
        && name.iter().all(inner)
        && name.first().is_some_and(alnum)
        && name.last().is_some_and(alnum)
}

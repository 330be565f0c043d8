//! The rule: drop a record exactly when it carries a metrics-server failed
//! scrape, refused, of the emitting pod's own node.
//!
//! Two stages, both behind [`evaluate`]. [`scan`] looks for `: connect:
//! connection refused`, which every droppable record contains, with a
//! strided word probe that touches a small fraction of the bytes; almost
//! every record stops there. A record that contains it is walked once,
//! structurally ([`walk`]: its grammar checked, what the rule reads picked
//! up), then every message found in it is judged (this file, top-down:
//! the record, then each place a message can be, then one failure against
//! the own node). Both stages are iterative, without recursion, and allocate
//! nothing once the [`Scratch`] buffers have grown.
//!
//! Where the message can be: `log` or `message` (text, or a JSON object as
//! text: JSON logging), the record's root (`msg`/`err`/`node` merged by the
//! kubernetes filter) or up to four top-level objects that have a `msg` (a
//! `Merge_Log_Key`). The own node is `kubernetes.host`, or, when the record
//! has no string `kubernetes.host`, `kubernetes.pod_ip` compared with the
//! dialled IP. Any doubt keeps the record. Nothing is remembered from one
//! record to the next.
//!
//! The same rule, written plainly ([`spec`]), is what the tests and fuzzers
//! hold this fast rule to.
//!
//! [`guest`] is the module's per-call logic around the rule (its allocator
//! arena, output buffer and replies), testable natively; the exports that
//! forward into it are the `selfscrape-filter` crate's, with all the unsafe.
#![forbid(unsafe_code)]

pub mod guest;

mod bytes;
mod cause;
mod json;
mod reason;
mod scan;
pub mod spec;
mod text;
mod walk;

pub use reason::{Cause, Reason};
pub use scan::NEEDLE;

use cause::Failure;
use json::{Malformed, Value};
use text::{Message, Version};
use walk::{Fields, Found};

/// The verdict on one JSON-mode record: the body as JSON object text, without
/// the NUL. Never panics, whatever the bytes.
pub fn evaluate(record: &[u8], scratch: &mut Scratch) -> Reason {
    scratch.clear();
    if !scan::contains_refused(record) {
        return Reason::NotScrapeFailure;
    }
    judge_record(record, scratch)
}

/// The same verdict as [`evaluate`], with a precise reason also for records
/// that the fast path keeps (a timeout, say). For explanations; slower.
pub fn explain(record: &[u8], scratch: &mut Scratch) -> Reason {
    scratch.clear();
    let candidate = scan::contains_refused(record);
    if !candidate && !scan::mentions_scrape(record) {
        return Reason::NotScrapeFailure;
    }
    match judge_record(record, scratch) {
        // Only reachable when the refusal text is escaped in the record,
        // which no Fluent Bit does: evaluate() keeps such a record.
        reason if reason.drops() && !candidate => Reason::Ambiguous,
        reason => reason,
    }
}

/// How many bytes of `record` stop a JSON string, found the way the walk
/// finds them, eight bytes per word test. Not part of the rule: the
/// `stop-floor` benchmark comparator of `selfscrape-filter` runs it on every
/// record and drops it, the least a module that checks every byte pays
/// (docs/performance.md, "Where the module's time goes").
#[doc(hidden)]
pub fn string_stops_in(record: &[u8]) -> usize {
    json::count_string_stops(record)
}

/// The structural verdict: the record walked, then its messages judged.
fn judge_record(record: &[u8], scratch: &mut Scratch) -> Reason {
    let Ok(found) = walk::record(record, &mut scratch.text) else {
        return Reason::NotJsonObject;
    };
    judge_found(&found, scratch)
}

/// Every message the walk found, judged against the own node; see
/// [`Verdicts`] for how their verdicts combine.
fn judge_found(found: &Found<'_>, scratch: &mut Scratch) -> Reason {
    if found.ambiguous {
        return Reason::Ambiguous;
    }
    let Scratch {
        decoded,
        text,
        own_host,
        own_ip,
    } = scratch;
    let Ok(own) = own_node(found.host, found.pod_ip, own_host, own_ip) else {
        return Reason::Ambiguous;
    };
    let mut verdicts = Verdicts::default();
    // A `log` that is some other line means merged fields did not come from
    // it (the kubernetes filter keeps the merged line itself in `log`).
    let mut log_is_other = false;
    if let Some(decoded_log) = found.log {
        let reason = if decoded_log {
            judge_text(text, own, decoded)
        } else {
            Some(Reason::Ambiguous)
        };
        log_is_other = reason.is_none();
        verdicts.add(reason);
    }
    if let Some(raw) = found.message {
        verdicts.add(judge_raw_text(raw, own, text, decoded));
    }
    if !log_is_other {
        if found.root.msg.is_some() {
            verdicts.add(judge_fields(&found.root, own, decoded));
        }
        for obj in found.merged.iter().flatten() {
            verdicts.add(match Fields::of(obj) {
                Ok(fields) => judge_fields(&fields, own, decoded),
                Err(Malformed) => Some(Reason::Ambiguous),
            });
        }
    }
    if found.partial && verdicts.any {
        return Reason::Ambiguous;
    }
    verdicts.reason()
}

/// Combines the verdicts on every message found in a record: drop only when
/// there is at least one and all of them drop.
#[derive(Debug, Default)]
struct Verdicts {
    any: bool,
    keep: Option<Reason>,
}

impl Verdicts {
    fn add(&mut self, reason: Option<Reason>) {
        if let Some(r) = reason {
            self.any = true;
            if !r.drops() && self.keep.is_none() {
                self.keep = Some(r);
            }
        }
    }

    fn reason(&self) -> Reason {
        match (self.any, self.keep) {
            (false, _) => Reason::NotScrapeFailure,
            (true, Some(keep)) => keep,
            (true, None) => Reason::OwnNodeRefused,
        }
    }
}

/// `kubernetes.host` and `kubernetes.pod_ip` (found by the walk) as they
/// decode: their raw contents when they hold no escape (almost always),
/// else decoded into `host` and `ip`.
fn own_node<'s>(
    host_raw: Option<json::Key<'s>>,
    ip_raw: Option<json::Key<'s>>,
    host: &'s mut Vec<u8>,
    ip: &'s mut Vec<u8>,
) -> Result<Own<'s>, Malformed> {
    let decode = |raw: Option<json::Key<'s>>, out: &'s mut Vec<u8>| match raw {
        Some(k) if k.escaped => json::decode_into(k.raw, out).map(|()| Some(out.as_slice())),
        Some(k) => Ok(Some(k.raw)),
        None => Ok(None),
    };
    Ok(Own {
        host: decode(host_raw, host)?,
        ip: decode(ip_raw, ip)?,
    })
}

/// What a record says about its own node.
#[derive(Debug, Clone, Copy)]
struct Own<'s> {
    host: Option<&'s [u8]>,
    ip: Option<&'s [u8]>,
}

/// A `log`/`message` value as raw JSON string contents: decoded, then
/// judged. A value that does not decode is a doubt.
fn judge_raw_text(
    raw: &[u8],
    own: Own<'_>,
    text: &mut Vec<u8>,
    decoded: &mut Decoded,
) -> Option<Reason> {
    if json::decode_into(raw, text).is_err() {
        return Some(Reason::Ambiguous);
    }
    judge_text(text, own, decoded)
}

/// A decoded `log`/`message` text, by the message [`text::locate`] finds at
/// its start. `None`: it holds no failed-scrape message.
fn judge_text(text: &[u8], own: Own<'_>, decoded: &mut Decoded) -> Option<Reason> {
    match text::locate(text) {
        Message::None => None,
        Message::Partial => Some(Reason::Ambiguous),
        Message::ScrapeVariant { kvs, timeout } => {
            let cause = if timeout {
                Cause::Timeout
            } else {
                Cause::Other
            };
            Some(judge_structured(kvs, own, decoded, Some(cause)))
        }
        Message::Json(obj) => match Fields::of(obj) {
            Ok(fields) => judge_fields(&fields, own, decoded),
            Err(Malformed) => None,
        },
        Message::Structured(kvs) => Some(judge_structured(kvs, own, decoded, None)),
        Message::Aggregate { version, body } => {
            Some(judge_aggregate(body, version, own, &mut decoded.node))
        }
    }
}

/// The v0.7+ message as JSON logging's `msg` holds it (decoded; in klog
/// text it is quoted: the `text` module's own constant).
const JSON_SCRAPE_MSG: &[u8] = b"Failed to scrape node";

/// A JSON-logging object: `msg` must be exactly the scrape message (or one
/// of its never-refused variants), `node` the object klog makes of
/// `klog.KObj(node)`, `err` a string. `None`: `msg` is not a string that
/// says a scrape failed.
fn judge_fields(fields: &Fields<'_>, own: Own<'_>, decoded: &mut Decoded) -> Option<Reason> {
    let Decoded { node, err, tmp } = decoded;
    let Some(Value::Str(msg)) = fields.msg else {
        return None;
    };
    let forced = if json::str_eq(msg, JSON_SCRAPE_MSG, tmp) {
        None
    } else {
        json::decode_into(msg, tmp).ok()?;
        let variant = bytes::strip_prefix(tmp, JSON_SCRAPE_MSG)?.strip_prefix(b", ")?;
        Some(if bytes::starts_with(variant, b"timeout") {
            Cause::Timeout
        } else {
            Cause::Other
        })
    };
    if fields.repeated {
        return Some(Reason::Ambiguous);
    }
    let (Some(Value::Str(err_raw)), Some(Value::Obj(node_obj))) = (fields.err, fields.node) else {
        return Some(forced.map_or(Reason::Ambiguous, |cause| not_refused(cause, own, None)));
    };
    let mut name = None;
    let mut repeated = false;
    let walked = json::members(node_obj, |k, v| {
        if k.is(b"name") {
            repeated |= name.is_some();
            name = Some(v);
        }
    });
    let (Ok(()), Some(Value::Str(name_raw)), false) = (walked, name, repeated) else {
        return Some(Reason::Ambiguous);
    };
    if json::decode_into(name_raw, node).is_err() || json::decode_into(err_raw, err).is_err() {
        return Some(Reason::Ambiguous);
    }
    Some(judge_one(own, node, err, forced))
}

/// `err="..." node="..."` after `"Failed to scrape node"` (or a variant of it,
/// whose `forced` cause is never a refusal).
fn judge_structured(
    kvs: &[u8],
    own: Own<'_>,
    decoded: &mut Decoded,
    forced: Option<Cause>,
) -> Reason {
    // `node` is decoded into the spare and becomes the failing node (the
    // buffers swapped) only once `err` has decoded: the failing node an
    // explanation reports is then what it was when `err` and `node` were
    // decoded one after the other.
    let Decoded { node, err, tmp } = decoded;
    // Whether each was seen and whether its value decoded: err and node are
    // Go-unquoted in the pass that finds their ends.
    let (mut err_ok, mut node_ok, mut repeated) = (None, None, false);
    let well_formed = text::pairs_with(kvs, |key, value| {
        let (out, ok) = match key {
            b"err" => (&mut *err, &mut err_ok),
            b"node" => (&mut *tmp, &mut node_ok),
            _ => return None,
        };
        repeated |= ok.is_some();
        let (end, decoded) = match value {
            text::PairValue::Quoted(rest) => {
                let end = text::go_unquote(rest, out);
                (end, end.is_some())
            }
            text::PairValue::Bare(value) => (None, copy_into(value, out)),
        };
        *ok = Some(decoded);
        end
    });
    let (true, false, Some(err_ok), Some(node_ok)) = (well_formed, repeated, err_ok, node_ok)
    else {
        return forced.map_or(Reason::Ambiguous, |cause| not_refused(cause, own, None));
    };
    if !err_ok {
        return Reason::Ambiguous;
    }
    std::mem::swap(tmp, node);
    if !node_ok {
        return Reason::Ambiguous;
    }
    judge_one(own, node, err, forced)
}

/// `from` copied into `out` (cleared first); false when there is no memory
/// for it (a doubt, not a trap).
fn copy_into(from: &[u8], out: &mut Vec<u8>) -> bool {
    out.clear();
    let room = out.try_reserve(from.len()).is_ok();
    if room {
        out.extend_from_slice(from);
    }
    room
}

/// A v0.3/v0.4 aggregate: one failure bare, several as `[e1, e2]`. Go's
/// `utilerrors` aggregate prints one distinct error bare and several,
/// deduplicated, in brackets; only one node is the pod's own, so a bracketed
/// list never qualifies as a whole. Drops only a bare own-node refusal.
fn judge_aggregate(body: &[u8], version: Version, own: Own<'_>, node: &mut Vec<u8>) -> Reason {
    let item_prefix: &[u8] = match version {
        Version::V04 => b"unable to fully scrape metrics from node ",
        Version::V03 => b"unable to fully scrape metrics from source kubelet_summary:",
    };
    let Some(inner) = body.strip_prefix(b"[").and_then(|b| b.strip_suffix(b"]")) else {
        let Some(item) = body.strip_prefix(item_prefix) else {
            return Reason::Ambiguous;
        };
        if next_item(item, item_prefix).is_some() {
            return Reason::Ambiguous;
        }
        return judge_item(item, version, own, node, true).unwrap_or(Reason::Ambiguous);
    };
    // The same reason for every failure, or MixedAggregate.
    let mut verdict: Option<Reason> = None;
    let mut count = 0usize;
    let mut rest = inner;
    loop {
        let Some(item) = rest.strip_prefix(item_prefix) else {
            return Reason::Ambiguous;
        };
        let (item, next) = match next_item(item, item_prefix) {
            Some(at) => (item.get(..at).unwrap_or_default(), item.get(at + 2..)),
            None => (item, None),
        };
        let Some(reason) = judge_item(item, version, own, node, count == 0) else {
            return Reason::Ambiguous;
        };
        count += 1;
        verdict = match verdict {
            None => Some(reason),
            Some(r) if r == reason => Some(r),
            Some(_) => Some(Reason::MixedAggregate),
        };
        match next {
            Some(n) => rest = n,
            None => break,
        }
    }
    match verdict {
        // One error in brackets, or the own node twice: not what
        // metrics-server prints.
        Some(r) if count < 2 || r.drops() => Reason::Ambiguous,
        Some(r) => r,
        None => Reason::Ambiguous,
    }
}

/// Index of the `, ` that starts the next aggregate item.
fn next_item(item: &[u8], item_prefix: &[u8]) -> Option<usize> {
    let mut from = 0;
    loop {
        let at = from + text::find(item.get(from..)?, b", ")?;
        if item.get(at + 2..)?.starts_with(item_prefix) {
            return Some(at);
        }
        from = at + 2;
    }
}

/// One aggregate item after its prefix: `<node>: [unable to fetch metrics from
/// node <node>: | ... Kubelet <node> (<ip>): ]<error>`. The `first` item's
/// node is the one explanations report. `None`: not an item metrics-server
/// prints.
fn judge_item(
    item: &[u8],
    version: Version,
    own: Own<'_>,
    node: &mut Vec<u8>,
    first: bool,
) -> Option<Reason> {
    let (name, mut err) = text::split_once(item, b": ")?;
    if name.is_empty() || name.contains(&b' ') {
        return None;
    }
    let (inner, after_name): (&[u8], &[u8]) = match version {
        Version::V04 => (b"unable to fetch metrics from node ", b": "),
        Version::V03 => (b"unable to fetch metrics from Kubelet ", b" ("),
    };
    if let Some(rest) = err.strip_prefix(inner) {
        let (named, rest) = text::split_once(rest, after_name)?;
        if named != name {
            return None;
        }
        err = match version {
            Version::V04 => rest,
            Version::V03 => text::split_once(rest, b"): ")?.1,
        };
    }
    if first {
        node.clear();
        if node.try_reserve(name.len()).is_ok() {
            node.extend_from_slice(name);
        }
    }
    Some(judge_one(own, name, err, None))
}

/// One failure of `node` with error `err`, judged against the own node.
/// `forced` marks a message that is never a refusal, whatever `err` says.
fn judge_one(own: Own<'_>, node: &[u8], err: &[u8], forced: Option<Cause>) -> Reason {
    if !is_node_name(node) {
        // Not a name Kubernetes accepts for a node: not the symptom.
        return Reason::Ambiguous;
    }
    match (cause::classify(err), forced) {
        (Failure::Refused { ip }, None) => match is_own(own, node, Some(ip)) {
            Some(true) => Reason::OwnNodeRefused,
            Some(false) => Reason::OtherNode,
            None => Reason::OwnNodeUnknown,
        },
        (Failure::Refused { ip }, Some(cause)) => not_refused(cause, own, Some((node, Some(ip)))),
        (Failure::NotRefused { cause, ip }, forced) => {
            not_refused(forced.unwrap_or(cause), own, Some((node, ip)))
        }
    }
}

/// A failure that is not a refusal; `failing` is its node and dialled IP.
fn not_refused(cause: Cause, own: Own<'_>, failing: Option<(&[u8], Option<&[u8]>)>) -> Reason {
    let own_node = failing.and_then(|(node, ip)| is_own(own, node, ip)) == Some(true);
    Reason::NotRefused { cause, own_node }
}

/// Whether the failing node is the own node: by name when the record has a
/// string `kubernetes.host`, else by the dialled IP against `pod_ip`.
fn is_own(own: Own<'_>, node: &[u8], ip: Option<&[u8]>) -> Option<bool> {
    match (own.host, own.ip) {
        (Some(host), _) => Some(bytes::eq(host, node)),
        (None, Some(own_ip)) => ip.map(|ip| bytes::eq(ip, own_ip)),
        (None, None) => None,
    }
}

/// A DNS-1123 subdomain, as Kubernetes requires of node names.
fn is_node_name(name: &[u8]) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && bytes::all_dns_chars(name)
        && name.first().is_some_and(u8::is_ascii_alphanumeric)
        && name.last().is_some_and(u8::is_ascii_alphanumeric)
}

/// Reusable buffers for the structural stage. Keep one for many records (the
/// module keeps one for its whole life): steady state allocates nothing.
#[derive(Debug, Default)]
pub struct Scratch {
    /// The failing node (kept for explanations), the error, a spare.
    decoded: Decoded,
    /// A decoded `log`/`message` value.
    text: Vec<u8>,
    /// The decoded `kubernetes.host`.
    own_host: Vec<u8>,
    /// The decoded `kubernetes.pod_ip`.
    own_ip: Vec<u8>,
}

impl Scratch {
    /// Empty buffers.
    pub const fn new() -> Scratch {
        Scratch {
            decoded: Decoded::new(),
            text: Vec::new(),
            own_host: Vec::new(),
            own_ip: Vec::new(),
        }
    }

    /// The failing node that the last evaluation read last (of an aggregate:
    /// its first failure's), as far as it decoded; empty when it read none.
    pub fn failing_node(&self) -> &[u8] {
        &self.decoded.node
    }

    /// Forgets the last evaluation (keeps the capacity).
    pub(crate) fn clear(&mut self) {
        self.decoded.node.clear();
    }

    /// Bytes of capacity held, for leak checks.
    pub fn capacity(&self) -> usize {
        [
            &self.decoded.node,
            &self.text,
            &self.decoded.err,
            &self.own_host,
            &self.own_ip,
            &self.decoded.tmp,
        ]
        .iter()
        .map(|v| v.capacity())
        .sum::<usize>()
    }
}

/// The buffers a judge decodes into. The failing node stays for
/// explanations; the error and the spare are overwritten by every judge.
#[derive(Debug, Default)]
struct Decoded {
    /// The failing node last read ([`Scratch::failing_node`]).
    node: Vec<u8>,
    /// A decoded error string.
    err: Vec<u8>,
    /// For comparisons of escaped strings.
    tmp: Vec<u8>,
}

impl Decoded {
    const fn new() -> Decoded {
        Decoded {
            node: Vec::new(),
            err: Vec::new(),
            tmp: Vec::new(),
        }
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests;

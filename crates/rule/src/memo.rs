//! What the rule remembers across records: exact, bounded, taken once.
//!
//! A metrics-server replica repeats the same failed scrape every cycle: the
//! same error, the same node, from the same pod; only the timestamps change.
//!
//! [`ObjectMemo`]: the `kubernetes` map, the same bytes on every record of a
//! pod, is walked once and then compared word by word, its members replayed.
//!
//! [`LineMemo`]: the verdict on a line with an error-severity klog header depends only on
//! what follows the header (see
//! [`text::error_header_len`](super::text::error_header_len)), and on a
//! JSON-logging line that starts with its `ts` number only on what follows
//! that member (see [`super::json_log_rest`]); and on the own node. So it is
//! remembered under exactly those bytes: the kind of line, the raw JSON
//! string after the header or `ts`, and the raw `kubernetes.host` and
//! `kubernetes.pod_ip`. A line whose key matches is not decoded or judged
//! again. Anything else about the record (the walk, other messages, `_p`)
//! is checked every time.
//!
//! Memory for lines is bounded and reserved once: [`SLOTS`] entries of at
//! most [`KEY_MAX`] key bytes and [`NODE_MAX`] node bytes; longer lines are
//! judged every time.

use super::json::{self, Malformed, NestedWalk, Value};
use super::reason::Reason;

/// Lines remembered at once (replicas behind one Fluent Bit, and a few
/// distinct failures each).
pub(crate) const SLOTS: usize = 32;
/// The longest key remembered: line after the header plus host and IP.
pub(crate) const KEY_MAX: usize = 1 << 10;
/// The longest failing node remembered.
pub(crate) const NODE_MAX: usize = 256;

/// `v` can hold `n` items: room taken now if it could not.
pub(crate) fn room<T>(v: &mut Vec<T>, n: usize) -> bool {
    v.capacity() >= n || v.try_reserve_exact(n).is_ok()
}

/// CLOCK replacement over `slots`: the first slot the hand at `next` finds
/// unused since it last passed (clearing the marks it passes), after at most
/// one turn; a thing found again is not pushed out by one-offs.
pub(crate) fn clock_victim<T>(
    slots: &mut [T],
    next: &mut usize,
    used: impl Fn(&mut T) -> &mut bool,
) -> usize {
    let n = slots.len().max(1);
    for _ in 0..n {
        let at = *next;
        *next = (*next + 1) % n;
        if !slots.get_mut(at).is_some_and(|s| std::mem::take(used(s))) {
            return at;
        }
    }
    let at = *next;
    *next = (*next + 1) % n;
    at
}

/// What judging one `log` line gave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LineVerdict {
    /// The JSON string did not decode.
    Undecodable,
    /// The judge's answer: None when the line holds no failed scrape.
    Judged(Option<Reason>),
}

/// Which prefix was taken off a remembered line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// An error-severity klog header (with any container-runtime prefix).
    Klog,
    /// A JSON-logging object's leading `{"ts":<number>,`.
    JsonTs,
}

#[derive(Debug)]
struct LineSlot {
    kind: Kind,
    /// The line after its header, then host, then IP (raw JSON contents).
    key: Vec<u8>,
    /// Lengths of the three parts; `None` for an absent host or IP.
    parts: (usize, Option<usize>, Option<usize>),
    outcome: LineVerdict,
    /// The failing node the judge left behind.
    node: Vec<u8>,
    /// Found since the replacement hand last passed (CLOCK): a line that
    /// keeps coming back is not pushed out by one-off lines.
    used: bool,
    /// [`fingerprint`] of the line: most slots are ruled out by it alone.
    fp: u64,
}

/// A few words of a line and its length: lines of other nodes' failures
/// differ in the node name at their end and the IP in their middle.
fn fingerprint(line: &[u8]) -> u64 {
    use super::bytes::word_at;
    let n = line.len();
    let w = |at: Option<usize>| at.and_then(|at| word_at(line, at)).unwrap_or(0);
    let mix =
        w(n.checked_sub(8)) ^ w(n.checked_sub(16)).rotate_left(21) ^ w(Some(n / 2)).rotate_left(42);
    (mix ^ n as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

impl LineSlot {
    const fn new() -> LineSlot {
        LineSlot {
            kind: Kind::Klog,
            key: Vec::new(),
            parts: (0, None, None),
            outcome: LineVerdict::Undecodable,
            node: Vec::new(),
            used: false,
            fp: 0,
        }
    }

    fn matches(
        &self,
        kind: Kind,
        fp: u64,
        line: &[u8],
        host: Option<&[u8]>,
        ip: Option<&[u8]>,
    ) -> bool {
        let (l, h, i) = self.parts;
        if self.fp != fp
            || self.key.is_empty()
            || self.kind != kind
            || l != line.len()
            || h != host.map(<[u8]>::len)
            || i != ip.map(<[u8]>::len)
        {
            return false;
        }
        let key = self.key.as_slice();
        let (k_line, rest) = key.split_at_checked(l).unwrap_or_default();
        let (k_host, k_ip) = rest.split_at_checked(h.unwrap_or(0)).unwrap_or_default();
        use super::bytes::eq_long;
        eq_long(k_line, line)
            && eq_long(k_host, host.unwrap_or_default())
            && eq_long(k_ip, ip.unwrap_or_default())
    }
}

/// The remembered verdicts.
#[derive(Debug)]
pub(crate) struct LineMemo {
    slots: [LineSlot; SLOTS],
    next: usize,
    /// Lines found so far (wrapping): tells a caller whether a line it had
    /// judged was one seen before.
    hits: u32,
    /// All slots have their room (taken once, kept for life).
    reserved: bool,
}

impl Default for LineMemo {
    fn default() -> Self {
        LineMemo::new()
    }
}

impl LineMemo {
    /// Nothing remembered, nothing allocated.
    pub(crate) const fn new() -> LineMemo {
        LineMemo {
            slots: [const { LineSlot::new() }; SLOTS],
            next: 0,
            hits: 0,
            reserved: false,
        }
    }

    /// The remembered outcome for `line` (after its header) judged against
    /// `host` and `ip` (raw), and the failing node it left.
    pub(crate) fn get(
        &mut self,
        kind: Kind,
        line: &[u8],
        host: Option<&[u8]>,
        ip: Option<&[u8]>,
    ) -> Option<(LineVerdict, &[u8])> {
        let fp = fingerprint(line);
        let slot = self
            .slots
            .iter_mut()
            .find(|s| s.matches(kind, fp, line, host, ip))?;
        slot.used = true;
        self.hits = self.hits.wrapping_add(1);
        Some((slot.outcome, slot.node.as_slice()))
    }

    /// How many lines were found so far (wrapping).
    pub(crate) fn hits(&self) -> u32 {
        self.hits
    }

    /// Remembers an outcome (when it fits).
    pub(crate) fn put(
        &mut self,
        kind: Kind,
        line: &[u8],
        host: Option<&[u8]>,
        ip: Option<&[u8]>,
        outcome: LineVerdict,
        node: &[u8],
    ) {
        let key_len = line.len() + host.map_or(0, <[u8]>::len) + ip.map_or(0, <[u8]>::len);
        if key_len > KEY_MAX || key_len == 0 || node.len() > NODE_MAX {
            return;
        }
        if !self.reserve() {
            return;
        }
        let Some(slot) = self.victim() else {
            return;
        };
        slot.key.clear();
        slot.node.clear();
        slot.key.extend_from_slice(line);
        slot.key.extend_from_slice(host.unwrap_or_default());
        slot.key.extend_from_slice(ip.unwrap_or_default());
        slot.kind = kind;
        slot.parts = (line.len(), host.map(<[u8]>::len), ip.map(<[u8]>::len));
        slot.outcome = outcome;
        slot.node.extend_from_slice(node);
        slot.fp = fingerprint(line);
    }

    /// Room for every slot, taken all at once the first time (so that the
    /// module's memory grows once, at the first line remembered, and never
    /// after); false when there is none.
    pub(crate) fn reserve(&mut self) -> bool {
        if !self.reserved {
            self.reserved = self
                .slots
                .iter_mut()
                .all(|s| room(&mut s.key, KEY_MAX) && room(&mut s.node, NODE_MAX));
        }
        self.reserved
    }

    /// The slot to replace: the first the hand finds unused since it last
    /// passed (clearing the marks it passes), at most one turn.
    fn victim(&mut self) -> Option<&mut LineSlot> {
        let at = clock_victim(&mut self.slots, &mut self.next, |s| &mut s.used);
        self.slots.get_mut(at)
    }

    /// Bytes of capacity held, for leak checks.
    pub(crate) fn capacity(&self) -> usize {
        self.slots
            .iter()
            .map(|s| s.key.capacity() + s.node.capacity())
            .sum()
    }

    /// The kinds of the lines remembered, for tests.
    #[cfg(all(test, not(target_arch = "wasm32")))]
    pub(crate) fn kinds(&self) -> Vec<Kind> {
        self.slots
            .iter()
            .filter(|s| !s.key.is_empty())
            .map(|s| s.kind)
            .collect()
    }
}

// --- Objects (the `kubernetes` map) ---

/// The last few objects a [`json::members_nested`](super::json::members_nested) walk found well-formed as the
/// value of its `nested` member, with their members. An object whose bytes
/// equal one of them parses the same way (a successful walk of an object
/// reads nothing past its closing brace), so its members are replayed from
/// here instead of being walked: one word compare per eight bytes instead of
/// the grammar walk. Fluent Bit's kubernetes filter puts the same map on
/// every record of a pod, so the `kubernetes` map of a metrics-server
/// replica's records is walked once, not every scrape cycle.
///
/// Memory is bounded: [`MEMO_SLOTS`] objects of at most [`MEMO_OBJECT_MAX`]
/// bytes and [`MEMO_MEMBERS_MAX`] members, reserved once; larger objects are
/// simply walked every time.
#[derive(Debug)]
pub(crate) struct ObjectMemo {
    slots: [MemoSlot; MEMO_SLOTS],
    /// The slot the next new object replaces (round robin).
    next: usize,
    /// Members of the object being walked, before it is known to be good.
    pending: Vec<MemoMember>,
}

/// Objects remembered at once (metrics-server replicas behind one Fluent Bit).
pub(crate) const MEMO_SLOTS: usize = 4;
/// The largest object remembered, in bytes.
pub(crate) const MEMO_OBJECT_MAX: usize = 8 << 10;
/// The most members of a remembered object.
pub(crate) const MEMO_MEMBERS_MAX: usize = 64;

/// One remembered object.
#[derive(Debug)]
pub(crate) struct MemoSlot {
    bytes: Vec<u8>,
    members: Vec<MemoMember>,
    /// Found since the replacement hand last passed (CLOCK).
    used: std::cell::Cell<bool>,
}

/// One member as offsets into its object: key and value, and the value's kind.
#[derive(Debug, Clone, Copy)]
pub(crate) struct MemoMember {
    key: (u32, u32),
    value: (u32, u32),
    kind: u8,
}

const KIND_STR: u8 = 0;
const KIND_OBJ: u8 = 1;
const KIND_OTHER: u8 = 2;

impl MemoMember {
    fn of(object: &[u8], key: &[u8], value: Value<'_>) -> Option<MemoMember> {
        let span = |part: &[u8]| {
            let from = (part.as_ptr() as usize).checked_sub(object.as_ptr() as usize)?;
            let to = from.checked_add(part.len())?;
            (to <= object.len()).then_some((u32::try_from(from).ok()?, u32::try_from(to).ok()?))
        };
        let (kind, value) = match value {
            Value::Str(v) => (KIND_STR, span(v)?),
            Value::Obj(v) => (KIND_OBJ, span(v)?),
            Value::Other(v) => (KIND_OTHER, span(v)?),
        };
        Some(MemoMember {
            key: span(key)?,
            value,
            kind,
        })
    }

    /// The member's key and value in `object` (the remembered bytes).
    pub(crate) fn get<'a>(&self, object: &'a [u8]) -> Option<(&'a [u8], Value<'a>)> {
        let part = |(from, to): (u32, u32)| object.get(from as usize..to as usize);
        let value = match self.kind {
            KIND_STR => Value::Str(part(self.value)?),
            KIND_OBJ => Value::Obj(part(self.value)?),
            _ => Value::Other(part(self.value)?),
        };
        Some((part(self.key)?, value))
    }
}

impl MemoSlot {
    /// The object's length in bytes.
    pub(crate) fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Its members, in order.
    pub(crate) fn members(&self) -> &[MemoMember] {
        &self.members
    }

    const fn new() -> MemoSlot {
        MemoSlot {
            bytes: Vec::new(),
            members: Vec::new(),
            used: std::cell::Cell::new(false),
        }
    }
}

impl Default for ObjectMemo {
    fn default() -> Self {
        ObjectMemo::new()
    }
}

impl ObjectMemo {
    /// Nothing remembered, nothing allocated.
    pub(crate) const fn new() -> ObjectMemo {
        ObjectMemo {
            slots: [const { MemoSlot::new() }; MEMO_SLOTS],
            next: 0,
            pending: Vec::new(),
        }
    }

    /// The remembered object that `rest` starts with.
    pub(crate) fn find(&self, rest: &[u8]) -> Option<&MemoSlot> {
        let slot = self.slots.iter().find(|slot| {
            !slot.bytes.is_empty()
                && rest
                    .get(..slot.bytes.len())
                    .is_some_and(|head| super::bytes::eq_long(head, &slot.bytes))
        })?;
        slot.used.set(true);
        Some(slot)
    }

    /// Starts recording the members of an object about to be walked; false
    /// when there is no room to.
    pub(crate) fn begin(&mut self) -> bool {
        self.pending.clear();
        room(&mut self.pending, MEMO_MEMBERS_MAX)
    }

    /// Records one member; false when the object has too many to remember.
    pub(crate) fn record(&mut self, object: &[u8], key: &[u8], value: Value<'_>) -> bool {
        match MemoMember::of(object, key, value) {
            Some(m) if self.pending.len() < MEMO_MEMBERS_MAX => {
                self.pending.push(m);
                true
            }
            _ => false,
        }
    }

    /// Remembers `object` (walked without fault) with the recorded members.
    pub(crate) fn commit(&mut self, object: &[u8]) {
        if object.len() > MEMO_OBJECT_MAX {
            return;
        }
        // The first slot the hand finds unused since it last passed
        // (clearing the marks it passes), after at most one turn.
        let mut at = self.next;
        for _ in 0..MEMO_SLOTS {
            at = self.next;
            self.next = (self.next + 1) % MEMO_SLOTS;
            if !self.slots.get(at).is_some_and(|s| s.used.replace(false)) {
                break;
            }
        }
        if !self.reserve() {
            return;
        }
        let Some(slot) = self.slots.get_mut(at) else {
            return;
        };
        slot.bytes.clear();
        slot.members.clear();
        slot.bytes.extend_from_slice(object);
        slot.members.extend_from_slice(&self.pending);
    }

    /// Room for every slot, taken all at once the first time, so that
    /// memory grows once and never after; false when there is none.
    pub(crate) fn reserve(&mut self) -> bool {
        self.slots
            .iter_mut()
            .all(|s| room(&mut s.bytes, MEMO_OBJECT_MAX) && room(&mut s.members, MEMO_MEMBERS_MAX))
    }

    /// Bytes of capacity held, for leak checks.
    pub(crate) fn capacity(&self) -> usize {
        self.pending.capacity() * std::mem::size_of::<MemoMember>()
            + self
                .slots
                .iter()
                .map(|s| {
                    s.bytes.capacity() + s.members.capacity() * std::mem::size_of::<MemoMember>()
                })
                .sum::<usize>()
    }
}

/// Replays a remembered object's members instead of walking it; walks (and
/// remembers) one it has not seen.
impl NestedWalk for ObjectMemo {
    fn nested_end<'a>(
        &mut self,
        obj: &'a [u8],
        start: usize,
        inner: &mut dyn FnMut(&'a [u8], Value<'a>) -> bool,
    ) -> Result<usize, Malformed> {
        let rest = obj.get(start..).ok_or(Malformed)?;
        if let Some(slot) = self.find(rest) {
            let object = rest.get(..slot.len()).ok_or(Malformed)?;
            for m in slot.members() {
                let (k, v) = m.get(object).ok_or(Malformed)?;
                if !inner(k, v) {
                    // As the walk does when `inner` stops it.
                    return Ok(obj.len());
                }
            }
            return Ok(start + object.len());
        }
        let mut recording = self.begin();
        let mut stopped = false;
        let end = json::Walk.nested_end(obj, start, &mut |k, v| {
            if recording {
                let object = obj.get(start..).unwrap_or_default();
                recording = self.record(object, k, v);
            }
            let go_on = inner(k, v);
            stopped |= !go_on;
            go_on
        })?;
        if recording && !stopped {
            if let Some(object) = obj.get(start..end) {
                self.commit(object);
            }
        }
        Ok(end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Guards the replacement policy: a line that keeps coming back (a
    /// replica's own-node refusal) stays remembered while any number of
    /// one-off lines (other nodes' failures) pass through; and a key is the
    /// line, the host and the IP together.
    #[test]
    fn a_returning_line_outlives_one_off_lines() {
        let mut memo = LineMemo::new();
        let hot = b"\"Failed to scrape node\" err=\"x\" node=\"n1\"";
        let drop = LineVerdict::Judged(Some(Reason::OwnNodeRefused));
        memo.put(Kind::Klog, hot, Some(b"n1"), None, drop, b"n1");
        let full = SLOTS * (KEY_MAX + NODE_MAX);
        assert_eq!(memo.capacity(), full, "all room taken at the first line");
        for i in 0..10 * SLOTS {
            let once = format!("one-off line {i}");
            assert_eq!(
                memo.get(Kind::Klog, once.as_bytes(), Some(b"n1"), None),
                None
            );
            memo.put(
                Kind::Klog,
                once.as_bytes(),
                Some(b"n1"),
                None,
                LineVerdict::Judged(None),
                b"",
            );
            assert_eq!(
                memo.get(Kind::Klog, hot, Some(b"n1"), None),
                Some((drop, &b"n1"[..])),
                "after {i} one-off lines"
            );
        }
        assert_eq!(
            memo.get(Kind::Klog, hot, Some(b"n2"), None),
            None,
            "other host"
        );
        assert_eq!(
            memo.get(Kind::Klog, hot, None, Some(b"n1")),
            None,
            "IP, not host"
        );
        assert_eq!(
            memo.get(Kind::Klog, hot, Some(b"n1"), Some(b"")),
            None,
            "empty IP is an IP"
        );
        let held = memo.capacity();
        assert_eq!(held, full, "and never more");
        memo.put(Kind::Klog, &vec![b'x'; KEY_MAX + 1], None, None, drop, b"");
        memo.put(Kind::Klog, hot, None, None, drop, &[b'n'; NODE_MAX + 1]);
        assert_eq!(memo.capacity(), held, "too long to remember, nothing grows");
    }

    /// Everything a `kubernetes` walk reports: outer and inner callbacks in
    /// order (with the value's bytes) and the result.
    fn trace(record: &[u8], walk: &mut dyn NestedWalk, stop_inner_at: usize) -> String {
        let show = |tag: &str, k: &[u8], v: Value<'_>| {
            let v = match v {
                Value::Str(s) => format!("s:{}", String::from_utf8_lossy(s)),
                Value::Obj(o) => format!("o:{}", String::from_utf8_lossy(o)),
                Value::Other(o) => format!("x:{}", String::from_utf8_lossy(o)),
            };
            format!("{tag} {}={v}\n", String::from_utf8_lossy(k))
        };
        let mut out = String::new();
        let mut inner_out = String::new();
        let mut seen = 0;
        let r = json::members_nested(
            record,
            true,
            b"kubernetes",
            &mut |k, v| {
                out.push_str(&show("outer", k, v));
                true
            },
            &mut |k, v| {
                seen += 1;
                inner_out.push_str(&show("inner", k, v));
                seen != stop_inner_at
            },
            walk,
        );
        format!("{inner_out}{out}{r:?}")
    }

    /// Guards the memo of nested objects: a walk that replays a remembered
    /// `kubernetes` map reports exactly what a fresh walk reports, whatever
    /// came before it, including when the bytes after the map differ or are
    /// broken, and when the map is too big to remember.
    #[test]
    fn memo_replays_exactly_what_a_walk_reports() {
        let k1 = r#"{"pod_name":"ms-1","labels":{"a":"b","c":["x",{"d":1}]},"host":"n1","pod_ip":"10.0.0.1","n":-1.5e3,"t":true}"#;
        let k2 = r#"{"pod_name":"ms-2","host":"n2","host":"n3"}"#;
        let big = format!(r#"{{"x":"{}","host":"n4"}}"#, "y".repeat(MEMO_OBJECT_MAX));
        let many = format!(
            "{{{}\"host\":\"n5\"}}",
            (0..MEMO_MEMBERS_MAX + 3)
                .map(|i| format!("\"k{i}\":{i},"))
                .collect::<String>()
        );
        let mut records: Vec<String> = Vec::new();
        for k in [k1, k2, &big, &many, "{}", r#"{"host":"a\"b"}"#] {
            records.push(format!(r#"{{"log":"x","kubernetes":{k}}}"#));
            records.push(format!(r#"{{"log":"y","kubernetes":{k},"after":1}}"#));
            records.push(format!(r#"{{"kubernetes":{k}}}  "#));
            records.push(format!(r#"{{"log":"x","kubernetes":{k}}} trailing"#));
            records.push(format!(r#"{{"log":"x","kubernetes":{k},}}"#));
            records.push(format!(r#"{{"log":"x","kubernetes":{k}"#));
            records.push(format!(r#"{{"kubernetes":{k},"kubernetes":{k}}}"#));
            records.push(format!(r#"{{"kubernetes":[{k}]}}"#));
        }
        // A map that starts like a remembered one but differs at its end.
        records.push(format!(
            r#"{{"kubernetes":{}}}"#,
            k1.replace("true}", "true,}")
        ));
        records.push(format!(
            r#"{{"kubernetes":{}}}"#,
            k1.replace("true}", "tru}")
        ));
        let mut memo = ObjectMemo::new();
        for r in [&records[0], &records[8], &records[16], &records[24]] {
            trace(r.as_bytes(), &mut memo, 0);
        }
        assert!(
            memo.find(k1.as_bytes()).is_some(),
            "a good map is remembered"
        );
        assert!(
            memo.find(k2.as_bytes()).is_some(),
            "repeated keys are the walker's business"
        );
        assert!(memo.find(big.as_bytes()).is_none(), "too big to remember");
        assert!(memo.find(many.as_bytes()).is_none(), "too many members");
        for stop in [0, 1, 3] {
            let mut memo = ObjectMemo::new();
            // Several passes in changing orders, so that every record meets
            // a memo holding every other one (and more than MEMO_SLOTS).
            for pass in 0..4 {
                let n = records.len();
                for j in 0..n {
                    let r = &records[(j * (2 * pass + 1) + pass) % n];
                    let fresh = trace(r.as_bytes(), &mut json::Walk, stop);
                    let memoised = trace(r.as_bytes(), &mut memo, stop);
                    assert_eq!(memoised, fresh, "stop {stop}, pass {pass}: {r}");
                }
            }
            let held = memo.capacity();
            for r in &records {
                trace(r.as_bytes(), &mut memo, stop);
            }
            assert_eq!(memo.capacity(), held, "bounded: no growth once warm");
        }
    }
}

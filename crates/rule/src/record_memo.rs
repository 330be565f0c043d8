//! Whole records the rule has judged, with the few places that may differ.
//!
//! A metrics-server replica logs the same failed scrape every cycle. Between
//! two such records only timestamps change: the record's `time` string, the
//! klog header at the start of `log` (or the `ts` number of a JSON-logging
//! line), a merged `ts` number. Everything else, from the error text to the
//! `kubernetes` map, is the same bytes. [`RecordMemo`] keeps a judged record
//! with those places marked as [`VarySpan`]s, and a new record that equals it
//! outside the spans, with a span of the same [`Vary`] class in each, gets
//! the same verdict without being walked: one word compare per eight bytes.
//!
//! Exact, because a span only ever marks bytes whose content the verdict
//! does not depend on, within its class:
//!
//! - [`Vary::Plain`]: the contents of a top-level string member that the
//!   rule ignores (the walk's catch-all arm in `find_candidates`), printable
//!   ASCII without `"` or `\`, so it stays one JSON string and decodes to
//!   itself;
//! - [`Vary::Number`]: a JSON number that the rule ignores (same arm), or the
//!   `ts` of a JSON-logging `log` line, which the rule reads only as a
//!   number (see [`super::json_log_rest`]);
//! - [`Vary::KlogHeader`]: the prefixes of `log` up to an error-severity
//!   klog header (see [`text::error_header_len`](super::text::error_header_len)), after which the verdict
//!   depends only on the rest of the line: the rule's line memo relies on
//!   the same fact.
//!
//! The fixed bytes around the spans are compared exactly, so the new
//! record's members, keys and structure are the remembered one's.
//!
//! Memory is bounded and reserved once, at the first record remembered:
//! [`SLOTS`] records of at most [`RECORD_MAX`] bytes.

use super::bytes::{eq_long, splat, word_at, zero_bytes};
use super::json;
use super::memo::{self, NODE_MAX, room};
use super::reason::Reason;

/// Records remembered at once (replicas x the shapes of their failures).
pub(crate) const SLOTS: usize = 64;
/// The longest record remembered.
pub(crate) const RECORD_MAX: usize = 2 << 10;
/// The most spans in one record.
pub(crate) const SPANS_MAX: usize = 6;
/// The longest [`Vary::Plain`] span (a timestamp is about 30 bytes).
const PLAIN_MAX: usize = 64;

/// What may stand in a span.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Vary {
    /// Printable ASCII but `"` and `\`, at most [`PLAIN_MAX`] bytes.
    Plain,
    /// A JSON number (not a literal).
    Number,
    /// Prefixes ending in an error-severity klog header, printable ASCII but
    /// `"` and `\`.
    KlogHeader,
}

/// ASCII from the space up (DEL too), but `"` and `\`: a JSON string's
/// contents that decode to themselves.
fn plain(c: u8) -> bool {
    (0x20..0x80).contains(&c) && c != b'"' && c != b'\\'
}

/// How many bytes at the start of `t` are [`plain`], eight at a time; any
/// count above `max` only says "more than `max`".
fn plain_run(t: &[u8], max: usize) -> usize {
    let mut i = 0;
    while i <= max {
        let Some(w) = word_at(t, i) else {
            break;
        };
        // Below 0x20: `w - 0x20..` borrows into bit 7; from 0x80 up: bit 7.
        let stop = zero_bytes(w ^ splat(b'"'))
            | zero_bytes(w ^ splat(b'\\'))
            | (w.wrapping_sub(splat(0x20)) & !w & splat(0x80))
            | (w & splat(0x80));
        if stop != 0 {
            return i + (stop.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    i + t
        .get(i..)
        .unwrap_or_default()
        .iter()
        .take(max + 1)
        .take_while(|&&c| plain(c))
        .count()
}

/// A klog header shaped like `model` (digits where it has digits, its other
/// bytes as they are): the header grammar decides by digit or not, and by
/// those other bytes, so such a header parses as `model` does, to the same
/// length.
fn same_shape(model: &[u8], t: &[u8]) -> bool {
    if model.len() != t.len() {
        return false;
    }
    let mut i = 0;
    while let (Some(m), Some(c)) = (word_at(model, i), word_at(t, i)) {
        let (dm, dc) = (digit_bytes(m), digit_bytes(c));
        // Digits in the same places, and every other byte equal.
        if dm != dc || (m ^ c) & !dm != 0 {
            return false;
        }
        i += 8;
    }
    let (model, t) = (
        model.get(i..).unwrap_or_default(),
        t.get(i..).unwrap_or_default(),
    );
    model.iter().zip(t).all(|(&m, &c)| {
        if m.is_ascii_digit() {
            c.is_ascii_digit()
        } else {
            c == m
        }
    })
}

/// 0xff in every byte of `w` that is an ASCII digit, 0 in the others
/// (exact in every byte: no borrow crosses bytes).
fn digit_bytes(w: u64) -> u64 {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // A digit is a byte whose XOR with 0x30 is below 10: adding 0x76 to
    // its low seven bits leaves bit 7 clear, and its own bit 7 is clear.
    let x = w ^ 0x3030_3030_3030_3030;
    let digits = !(((x & LOW7) + 0x7676_7676_7676_7676) | x) & HIGH;
    (digits >> 7) * 0xff
}

impl Vary {
    /// The length of the span of this class that starts `t`.
    fn len(self, t: &[u8]) -> Option<usize> {
        match self {
            Vary::Plain => Some(plain_run(t, PLAIN_MAX)).filter(|&n| n <= PLAIN_MAX),
            Vary::Number => {
                let first = *t.first()?;
                if !(first.is_ascii_digit() || first == b'-') {
                    return None;
                }
                json::scalar_end(t, 0).ok()
            }
            // All of `t` when plain: a header is found by
            // text::error_header_len where it is recorded, and matched by
            // same_shape.
            Vary::KlogHeader => t.iter().all(|&c| plain(c)).then_some(t.len()),
        }
    }
}

/// A place in a record: `start..end`, and what may stand there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct VarySpan {
    start: u32,
    end: u32,
    vary: Vary,
}

/// The spans of one record, in order, as a judge found them.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Spans {
    list: [VarySpan; SPANS_MAX],
    count: usize,
    /// False when a span did not fit or the walk did not finish: such a
    /// record is not remembered.
    ok: bool,
}

impl Default for Spans {
    fn default() -> Self {
        Spans::new()
    }
}

impl Spans {
    /// None yet (and not complete).
    const fn new() -> Spans {
        Spans {
            list: [VarySpan {
                start: 0,
                end: 0,
                vary: Vary::Plain,
            }; SPANS_MAX],
            count: 0,
            ok: false,
        }
    }

    /// The walk of the record finished: what was added is all there is.
    /// Spans are put in order; two that touch or overlap spoil the record
    /// (a greedy class could take the next one's bytes).
    pub(crate) fn finish(&mut self) {
        let Some(list) = self.list.get_mut(..self.count) else {
            self.ok = false;
            return;
        };
        list.sort_unstable_by_key(|s| s.start);
        self.ok = list.windows(2).all(|w| match w {
            [a, b] => a.end < b.start,
            _ => true,
        });
    }

    /// Marks `part` (a slice of `record`) when it is of class `vary` and
    /// exactly fills its span; anything else leaves it fixed, which is
    /// always correct, only less often reused.
    pub(crate) fn add(&mut self, record: &[u8], part: &[u8], vary: Vary) {
        let Some(start) = (part.as_ptr() as usize).checked_sub(record.as_ptr() as usize) else {
            return;
        };
        let end = start + part.len();
        if end > record.len() || vary.len(part) != Some(part.len()) {
            return;
        }
        let (Ok(start), Ok(end)) = (u32::try_from(start), u32::try_from(end)) else {
            return;
        };
        match self.list.get_mut(self.count) {
            Some(slot) => {
                *slot = VarySpan { start, end, vary };
                self.count += 1;
            }
            // More than fit: the record is not remembered (finish() would
            // otherwise call it complete).
            None => self.count = SPANS_MAX + 1,
        }
    }

    fn as_slice(&self) -> &[VarySpan] {
        // count > SPANS_MAX (overflow) gives None: finish() then fails too.
        self.list.get(..self.count).unwrap_or_default()
    }
}

/// Eight-byte samples from the end of a record, hashed one more at a time
/// with the record's length: `h[k]` covers the first `k`. A remembered
/// record's samples all lie in its last fixed stretch, so a record of the
/// same length that matches it has the same hash. (The length tells apart
/// records of one pod, whose ends are all the same `kubernetes` map; a
/// record whose timestamps changed length is remembered apart.)
const SAMPLES: usize = 8;
const SAMPLE_STEP: usize = 120;

fn samples(record: &[u8]) -> [u64; SAMPLES + 1] {
    let mut h = [0u64; SAMPLES + 1];
    let mut acc = (record.len() as u64).wrapping_mul(0xD6E8_FEB8_6659_FD93);
    if let Some(slot) = h.first_mut() {
        *slot = acc;
    }
    for k in 0..SAMPLES {
        let w = record
            .len()
            .checked_sub(8 + k * SAMPLE_STEP)
            .and_then(|at| word_at(record, at))
            .unwrap_or(0);
        acc = (acc.rotate_left(17) ^ w).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        if let Some(slot) = h.get_mut(k + 1) {
            *slot = acc;
        }
    }
    h
}

/// How many samples fall in a fixed tail of `tail` bytes.
fn samples_in(tail: usize) -> usize {
    (0..SAMPLES)
        .take_while(|k| 8 + k * SAMPLE_STEP <= tail)
        .count()
}

#[derive(Debug)]
struct RecordSlot {
    bytes: Vec<u8>,
    spans: Spans,
    /// How many samples of [`samples`] lie in the last fixed stretch, and
    /// their hash.
    sampled: usize,
    hash: u64,
    reason: Reason,
    /// The failing node the judge left behind.
    node: Vec<u8>,
    /// Found since the replacement hand last passed (CLOCK).
    used: bool,
}

impl RecordSlot {
    const fn new() -> RecordSlot {
        RecordSlot {
            bytes: Vec::new(),
            spans: Spans::new(),
            sampled: 0,
            hash: 0,
            reason: Reason::NotScrapeFailure,
            node: Vec::new(),
            used: false,
        }
    }

    /// `record` equals this one outside the spans, and has a span of the
    /// same class in each.
    fn matches(&self, record: &[u8]) -> bool {
        let t = self.bytes.as_slice();
        let spans = self.spans.as_slice();
        let tail_from = spans.last().map_or(0, |s| s.end as usize);
        let Some(tail) = t.get(tail_from..) else {
            return false;
        };
        let Some(cut) = record.len().checked_sub(tail.len()) else {
            return false;
        };
        // The long fixed tail first: where records of different pods and
        // failures differ.
        if !record.get(cut..).is_some_and(|r| eq_long(r, tail)) {
            return false;
        }
        let (mut r, mut from) = (0usize, 0usize);
        for (i, span) in spans.iter().enumerate() {
            let Some(fixed) = t.get(from..span.start as usize) else {
                return false;
            };
            if !record
                .get(r..r + fixed.len())
                .is_some_and(|head| eq_long(head, fixed))
            {
                return false;
            }
            r += fixed.len();
            let limit = if i + 1 == spans.len() {
                cut
            } else {
                record.len()
            };
            let Some(rest) = record.get(r..limit) else {
                return false;
            };
            let n = match span.vary {
                Vary::KlogHeader => {
                    let model = t.get(span.start as usize..span.end as usize);
                    match model.zip(rest.get(..model.map_or(0, <[u8]>::len))) {
                        Some((model, head)) if same_shape(model, head) => model.len(),
                        _ => return false,
                    }
                }
                vary => match vary.len(rest) {
                    Some(n) => n,
                    None => return false,
                },
            };
            r += n;
            from = span.end as usize;
        }
        r == cut
    }
}

/// Entries of the index from sample hashes to slots (a power of two, four
/// times [`SLOTS`]), and how far a hash's entry may sit from its bucket.
const INDEX: usize = 4 * SLOTS;
const PROBES: usize = 4;

/// The remembered records, found through an index of their sample hashes:
/// a lookup costs the same whether one record is remembered or [`SLOTS`].
#[derive(Debug)]
pub(crate) struct RecordMemo {
    slots: [RecordSlot; SLOTS],
    /// RecordSlot + 1 of a remembered record, 0 for none, at `bucket(hash)` or up
    /// to [`PROBES`] - 1 entries after it.
    index: [u8; INDEX],
    /// How many remembered records have each number of samples.
    by_samples: [u16; SAMPLES + 1],
    next: usize,
    /// All slots have their room (taken once, kept for life).
    reserved: bool,
}

fn bucket(hash: u64, probe: usize) -> usize {
    ((hash >> 40) as usize).wrapping_add(probe) % INDEX
}

impl Default for RecordMemo {
    fn default() -> Self {
        RecordMemo::new()
    }
}

impl RecordMemo {
    /// Nothing remembered, nothing allocated.
    pub(crate) const fn new() -> RecordMemo {
        RecordMemo {
            slots: [const { RecordSlot::new() }; SLOTS],
            index: [0; INDEX],
            by_samples: [0; SAMPLES + 1],
            next: 0,
            reserved: false,
        }
    }

    /// The verdict on a remembered record that `record` matches; the failing
    /// node it left goes to `node`.
    pub(crate) fn get(&mut self, record: &[u8], node: &mut Vec<u8>) -> Option<Reason> {
        let h = samples(record);
        let mut found = None;
        'search: for (k, &count) in self.by_samples.iter().enumerate() {
            let Some(&hash) = h.get(k).filter(|_| count > 0) else {
                continue;
            };
            for probe in 0..PROBES {
                let Some(at) = self
                    .index
                    .get(bucket(hash, probe))
                    .and_then(|e| e.checked_sub(1))
                else {
                    continue;
                };
                let at = usize::from(at);
                if self
                    .slots
                    .get(at)
                    .is_some_and(|s| s.sampled == k && s.hash == hash && s.matches(record))
                {
                    found = Some(at);
                    break 'search;
                }
            }
        }
        let slot = self.slots.get_mut(found?)?;
        node.clear();
        node.try_reserve(slot.node.len()).ok()?;
        node.extend_from_slice(&slot.node);
        slot.used = true;
        Some(slot.reason)
    }

    /// Remembers a judged record (when it fits).
    pub(crate) fn put(&mut self, record: &[u8], spans: &Spans, reason: Reason, node: &[u8]) {
        if !spans.ok || record.len() > RECORD_MAX || node.len() > NODE_MAX {
            return;
        }
        let tail = record.len() - spans.as_slice().last().map_or(0, |s| s.end as usize);
        let sampled = samples_in(tail);
        let Some(&hash) = samples(record).get(sampled) else {
            return;
        };
        if !self.reserve() {
            return;
        }
        // A free index entry for it, or it is not remembered.
        let Some(entry) = (0..PROBES)
            .map(|probe| bucket(hash, probe))
            .find(|&b| self.index.get(b) == Some(&0))
        else {
            return;
        };
        let at = memo::clock_victim(&mut self.slots, &mut self.next, |s| &mut s.used);
        self.forget(at);
        let (Some(slot), Some(e), Ok(tag)) = (
            self.slots.get_mut(at),
            self.index.get_mut(entry),
            u8::try_from(at + 1),
        ) else {
            return;
        };
        slot.bytes.extend_from_slice(record);
        slot.node.extend_from_slice(node);
        slot.spans = *spans;
        slot.sampled = sampled;
        slot.hash = hash;
        slot.reason = reason;
        *e = tag;
        if let Some(c) = self.by_samples.get_mut(sampled) {
            *c += 1;
        }
    }

    /// Empties slot `at` and its index entry.
    fn forget(&mut self, at: usize) {
        let Some(slot) = self.slots.get_mut(at) else {
            return;
        };
        if !slot.bytes.is_empty() {
            for probe in 0..PROBES {
                if let Some(e) = self
                    .index
                    .get_mut(bucket(slot.hash, probe))
                    .filter(|e| usize::from(**e) == at + 1)
                {
                    *e = 0;
                }
            }
            if let Some(c) = self.by_samples.get_mut(slot.sampled) {
                *c = c.saturating_sub(1);
            }
        }
        slot.bytes.clear();
        slot.node.clear();
    }

    /// Room for every slot, taken all at once the first time.
    pub(crate) fn reserve(&mut self) -> bool {
        if !self.reserved {
            self.reserved = self
                .slots
                .iter_mut()
                .all(|s| room(&mut s.bytes, RECORD_MAX) && room(&mut s.node, NODE_MAX));
        }
        self.reserved
    }

    /// Bytes of capacity held, for leak checks.
    pub(crate) fn capacity(&self) -> usize {
        self.slots
            .iter()
            .map(|s| s.bytes.capacity() + s.node.capacity())
            .sum()
    }

    /// How many records are remembered, and their spans' classes, for tests.
    #[cfg(all(test, not(target_arch = "wasm32")))]
    pub(crate) fn remembered(&self) -> Vec<Vec<Vary>> {
        self.slots
            .iter()
            .filter(|s| !s.bytes.is_empty())
            .map(|s| s.spans.as_slice().iter().map(|sp| sp.vary).collect())
            .collect()
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;

    /// Guards the word-at-a-time scan of a plain span: it stops where the
    /// byte-at-a-time definition stops, for every byte value in every
    /// position of the first words (and after a first stop).
    #[test]
    fn plain_run_is_exact() {
        for b in 0..=255u8 {
            for pos in 0..20 {
                for second in [None, Some(b'"'), Some(0x80)] {
                    let mut t = vec![b'1'; 24];
                    t[pos] = b;
                    if let Some(c) = second {
                        t[(pos + 1).min(23)] = c;
                    }
                    let want = t.iter().take_while(|&&c| plain(c)).count();
                    assert_eq!(
                        plain_run(&t, 64),
                        want,
                        "byte {b:#x} at {pos}, then {second:?}"
                    );
                }
            }
        }
        assert!(plain_run(&[b'1'; 100], PLAIN_MAX) > PLAIN_MAX);
        assert_eq!(Vary::Plain.len(&[b'1'; 100]), None, "too long for a span");
    }

    /// Guards the word-at-a-time header comparison: it agrees with the
    /// byte-at-a-time definition on every byte value in every position.
    #[test]
    fn digit_bytes_and_same_shape_are_exact() {
        for b in 0..=255u8 {
            for pos in 0..8 {
                let mut w = [b'x'; 8];
                w[pos] = b;
                let want = if b.is_ascii_digit() {
                    0xffu64 << (8 * pos)
                } else {
                    0
                };
                assert_eq!(
                    digit_bytes(u64::from_le_bytes(w)),
                    want,
                    "byte {b:#x} at {pos}"
                );
            }
        }
        let model = b"E0912 01:02:03.456789       1 scraper.go:140] ";
        let bytewise = |t: &[u8]| {
            t.len() == model.len()
                && model.iter().zip(t).all(|(&m, &c)| {
                    if m.is_ascii_digit() {
                        c.is_ascii_digit()
                    } else {
                        c == m
                    }
                })
        };
        let mut t = model.to_vec();
        for i in 0..t.len() {
            for b in [b'0', b'9', b'/', b':', b'E', b' ', 0x80, 0xb9, 0] {
                let keep = t[i];
                t[i] = b;
                assert_eq!(same_shape(model, &t), bytewise(&t), "{i} {b:#x}");
                t[i] = keep;
            }
        }
        assert!(same_shape(
            model,
            b"E1231 23:59:59.999999       7 scraper.go:149] "
        ));
        assert!(!same_shape(
            model,
            b"E0912 01:02:03.456789      12 scraper.go:140] "
        ));
    }
}

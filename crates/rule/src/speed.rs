//! Every speed device of the rule, in one place. None changes a verdict:
//! the tests and fuzzers hold the rule to [`super::spec`] with the memos on
//! and off. What each saves (docs/performance-memos.md has the figures and
//! how they were taken):
//!
//! - The prefilter, [`super::scan::contains_refused`]: a strided word probe
//!   for `: connect: connection refused` that ends almost every record
//!   without a walk (always on: without it every record is walked).
//! - Word compares (`super::bytes`): eight bytes per step where the walk
//!   looks for a string's end or compares keys; always on.
//! - The three memos, behind the cargo feature `memo` (off in the shipped
//!   module) and reached only through [`Memos`]:
//!   - the record memo ([`super::record_memo::RecordMemo`]): a whole record
//!     equal to a judged one but for its timestamps gets its verdict from one
//!     compare, without a walk;
//!   - the line memo ([`super::memo::LineMemo`]): a klog or JSON-logging line
//!     equal to a judged one but for its header is not decoded or judged
//!     again;
//!   - the kubernetes-map memo ([`super::memo::ObjectMemo`]): a `kubernetes`
//!     map walked before is compared and its members replayed.
//!
//!   Together they cut the CPU of metrics-server-only traffic about 2.9x in
//!   a real Fluent Bit 5.1.1 (about 22 us less per own-node refusal in
//!   WAMR) and hold about 220 KiB of linear memory, taken once at the first
//!   record walked. A replica logs one own-node refusal per 15 s scrape
//!   cycle, so in production they save well under a second of CPU per
//!   replica per day: off by default. Without the feature, [`Memos`] holds
//!   nothing and remembers nothing.

use super::json::NestedWalk;
use super::memo::{Kind, LineVerdict};
use super::reason::Reason;
use super::record_memo::Spans;

#[cfg(feature = "memo")]
use super::{memo, record_memo};

/// The memos, or (without the `memo` feature) nothing.
#[derive(Debug, Default)]
pub(crate) struct Memos {
    #[cfg(feature = "memo")]
    objects: memo::ObjectMemo,
    #[cfg(feature = "memo")]
    lines: memo::LineMemo,
    #[cfg(feature = "memo")]
    records: record_memo::RecordMemo,
    /// [`Memos::reserve`] ran.
    #[cfg(feature = "memo")]
    reserved: bool,
    /// The plain walk of a `kubernetes` map.
    #[cfg(not(feature = "memo"))]
    walk: super::json::Walk,
}

#[cfg(feature = "memo")]
impl Memos {
    pub(crate) const fn new() -> Memos {
        Memos {
            objects: memo::ObjectMemo::new(),
            lines: memo::LineMemo::new(),
            records: record_memo::RecordMemo::new(),
            reserved: false,
        }
    }

    /// Room for every memo, all taken at the first record walked, in one
    /// order: memory grows there once, the same way whatever the records.
    /// Each memo also checks its room before each use.
    pub(crate) fn reserve(&mut self) {
        if !self.reserved {
            self.reserved = true;
            let _ = self.objects.reserve() && self.lines.reserve() && self.records.reserve();
        }
    }

    /// Bytes of capacity held, for leak checks.
    pub(crate) fn capacity(&self) -> usize {
        self.objects.capacity() + self.lines.capacity() + self.records.capacity()
    }

    /// The remembered verdict on a record judged before but for its
    /// timestamps; its failing node goes to `node`.
    pub(crate) fn record(&mut self, record: &[u8], node: &mut Vec<u8>) -> Option<Reason> {
        self.records.get(record, node)
    }

    /// Remembers a judged record: an own-node refusal (it comes back every
    /// scrape cycle), or any record whose line came back once already
    /// (`lines_before` is [`Memos::line_hits`] before it was judged). Not a
    /// one-off: it would only push out what returns.
    pub(crate) fn remember_record(
        &mut self,
        record: &[u8],
        spans: &Spans,
        reason: Reason,
        node: &[u8],
        lines_before: u32,
    ) {
        if reason.drops() || self.lines.hits() != lines_before {
            self.records.put(record, spans, reason, node);
        }
    }

    /// How many lines the line memo answered so far (wrapping).
    pub(crate) fn line_hits(&self) -> u32 {
        self.lines.hits()
    }

    /// The remembered outcome of a line (after its header) judged against
    /// the raw own host and IP, and the failing node it left.
    pub(crate) fn line(
        &mut self,
        kind: Kind,
        line: &[u8],
        host: Option<&[u8]>,
        ip: Option<&[u8]>,
    ) -> Option<(LineVerdict, &[u8])> {
        self.lines.get(kind, line, host, ip)
    }

    /// Remembers the outcome of a line (when it fits).
    pub(crate) fn remember_line(
        &mut self,
        kind: Kind,
        line: &[u8],
        host: Option<&[u8]>,
        ip: Option<&[u8]>,
        outcome: LineVerdict,
        node: &[u8],
    ) {
        self.lines.put(kind, line, host, ip, outcome, node);
    }

    /// How the walk goes through a record's `kubernetes` map.
    pub(crate) fn kubernetes(&mut self) -> &mut dyn NestedWalk {
        &mut self.objects
    }

    #[cfg(all(test, not(target_arch = "wasm32")))]
    pub(crate) fn lines(&self) -> &memo::LineMemo {
        &self.lines
    }

    #[cfg(all(test, not(target_arch = "wasm32")))]
    pub(crate) fn records(&self) -> &record_memo::RecordMemo {
        &self.records
    }
}

#[cfg(not(feature = "memo"))]
impl Memos {
    pub(crate) const fn new() -> Memos {
        Memos {
            walk: super::json::Walk,
        }
    }

    pub(crate) fn reserve(&mut self) {}

    pub(crate) fn capacity(&self) -> usize {
        0
    }

    pub(crate) fn record(&mut self, _record: &[u8], _node: &mut Vec<u8>) -> Option<Reason> {
        None
    }

    pub(crate) fn remember_record(&mut self, _: &[u8], _: &Spans, _: Reason, _: &[u8], _: u32) {}

    pub(crate) fn line_hits(&self) -> u32 {
        0
    }

    pub(crate) fn line(
        &mut self,
        _: Kind,
        _: &[u8],
        _: Option<&[u8]>,
        _: Option<&[u8]>,
    ) -> Option<(LineVerdict, &[u8])> {
        None
    }

    pub(crate) fn remember_line(
        &mut self,
        _: Kind,
        _: &[u8],
        _: Option<&[u8]>,
        _: Option<&[u8]>,
        _: LineVerdict,
        _: &[u8],
    ) {
    }

    pub(crate) fn kubernetes(&mut self) -> &mut dyn NestedWalk {
        &mut self.walk
    }
}

//! Verdicts on `log` lines remembered across records.
//!
//! A metrics-server replica repeats the same failed scrape every cycle: the
//! same error, the same node, from the same pod; only the timestamp changes.
//! The verdict on a line with an error-severity klog header depends only on
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
//! Memory is bounded and reserved once: [`SLOTS`] entries of at most
//! [`KEY_MAX`] key bytes and [`NODE_MAX`] node bytes; longer lines are judged
//! every time.

use super::Reason;

/// Lines remembered at once (replicas behind one Fluent Bit, and a few
/// distinct failures each).
pub(crate) const SLOTS: usize = 32;
/// The longest key remembered: line after the header plus host and IP.
pub(crate) const KEY_MAX: usize = 1 << 10;
/// The longest failing node remembered.
pub(crate) const NODE_MAX: usize = 256;

/// What judging one `log` line gave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
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
struct Slot {
    kind: Kind,
    /// The line after its header, then host, then IP (raw JSON contents).
    key: Vec<u8>,
    /// Lengths of the three parts; `None` for an absent host or IP.
    parts: (usize, Option<usize>, Option<usize>),
    outcome: Outcome,
    /// The failing node the judge left behind.
    node: Vec<u8>,
    /// Found since the replacement hand last passed (CLOCK): a line that
    /// keeps coming back is not pushed out by one-off lines.
    used: bool,
}

impl Slot {
    const fn new() -> Slot {
        Slot {
            kind: Kind::Klog,
            key: Vec::new(),
            parts: (0, None, None),
            outcome: Outcome::Undecodable,
            node: Vec::new(),
            used: false,
        }
    }

    fn matches(&self, kind: Kind, line: &[u8], host: Option<&[u8]>, ip: Option<&[u8]>) -> bool {
        let (l, h, i) = self.parts;
        if self.key.is_empty()
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
    slots: [Slot; SLOTS],
    next: usize,
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
            slots: [const { Slot::new() }; SLOTS],
            next: 0,
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
    ) -> Option<(Outcome, &[u8])> {
        let slot = self
            .slots
            .iter_mut()
            .find(|s| s.matches(kind, line, host, ip))?;
        slot.used = true;
        Some((slot.outcome, slot.node.as_slice()))
    }

    /// Remembers an outcome (when it fits).
    pub(crate) fn put(
        &mut self,
        kind: Kind,
        line: &[u8],
        host: Option<&[u8]>,
        ip: Option<&[u8]>,
        outcome: Outcome,
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
    }

    /// Room for every slot, taken all at once the first time (so that the
    /// module's memory grows once, at the first line remembered, and never
    /// after); false when there is none.
    fn reserve(&mut self) -> bool {
        self.slots.iter_mut().all(|s| {
            (s.key.capacity() >= KEY_MAX || s.key.try_reserve_exact(KEY_MAX).is_ok())
                && (s.node.capacity() >= NODE_MAX || s.node.try_reserve_exact(NODE_MAX).is_ok())
        })
    }

    /// The slot to replace: the first the hand finds unused since it last
    /// passed (clearing the marks it passes), at most one turn.
    fn victim(&mut self) -> Option<&mut Slot> {
        for _ in 0..SLOTS {
            let at = self.next;
            self.next = (self.next + 1) % SLOTS;
            let slot = self.slots.get_mut(at)?;
            if !std::mem::take(&mut slot.used) {
                return self.slots.get_mut(at);
            }
        }
        let at = self.next;
        self.next = (self.next + 1) % SLOTS;
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
        let drop = Outcome::Judged(Some(Reason::OwnNodeRefused));
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
                Outcome::Judged(None),
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
}

//! The module's state and its per-call logic, in safe Rust.
//!
//! `abi.rs` owns the one [`Guest`] of the module and turns the host's raw
//! pointers into calls here. Native tests drive a [`Guest`] the way a host
//! does (malloc, write, call, free) to check replies and memory.
//!
//! Memory: the host copies each call's tag and record in through [`Guest::malloc`].
//! Those copies are dead once the call returns, on every Fluent Bit version,
//! but some versions never free them (4.1.0/4.1.1) and others free them only
//! with the instance (before 4.0.14). So the allocator is a bump arena that is
//! reset by the first `malloc` after a call has started: whatever the host
//! does, it holds at most one call's copies, and once it has grown to the
//! largest record seen it allocates nothing more. `free` has nothing to do.

use crate::{Reason, Scratch};

/// Which export was called.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Export {
    /// `drop_self_scrape`: `""` for a record the rule drops, the input otherwise.
    Drop,
    /// `mark_self_scrape`: the dry run; adds `"self_scrape":true` to exactly the
    /// records `drop_self_scrape` drops.
    Mark,
    /// `explain_self_scrape`: `{"verdict":..,"reason":..,"node":..}` for any record.
    Explain,
}

impl Export {
    /// Every export with Fluent Bit's filter signature, in this order.
    pub const ALL: [Export; 3] = [Export::Drop, Export::Mark, Export::Explain];

    /// The export's name in the module (what a Fluent Bit config's
    /// `function_name` says): the one place these names are spelled.
    pub const fn name(self) -> &'static str {
        match self {
            Export::Drop => "drop_self_scrape",
            Export::Mark => "mark_self_scrape",
            Export::Explain => "explain_self_scrape",
        }
    }
}

/// What the module returns to the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reply {
    /// The input record itself (it is NUL-terminated and the host copies the
    /// reply before it frees its input): kept byte for byte, no copy.
    Input,
    /// The empty string: Fluent Bit drops the record (JSON event format).
    Empty,
    /// The guest's output buffer ([`Guest::buffer`]), NUL-terminated, valid
    /// until the next call.
    Buffer,
}

/// The record as the host handed it over.
#[derive(Debug, Clone, Copy)]
pub enum HostRecord<'a> {
    /// Readable bytes; `terminated` tells whether a NUL follows them (always in
    /// the JSON event format, never in msgpack).
    Bytes { bytes: &'a [u8], terminated: bool },
    /// A null or out-of-range pointer: nothing to read.
    Unreadable,
}

/// Replaces a record that cannot be returned intact; see [`Guest::call`].
pub const UNREADABLE_JSON: &[u8] =
    b"{\"selfscrape_error\":\"the host passed no readable record (allocation failed?)\"}";

/// A msgpack map `{"selfscrape_error": "..."}` without a 0x00 byte, returned in
/// place of a msgpack record that contains 0x00 (see [`Guest::call`]).
pub const MSGPACK_PLACEHOLDER: &[u8] =
    b"\x81\xb0selfscrape_error\xd9\x3amsgpack event_format is unsupported: use event_format json";

/// The bump arena for the host's input copies.
#[derive(Debug)]
struct Arena {
    /// Backing store; `u64` for 8-byte alignment.
    main: Vec<u64>,
    /// Words of `main` handed out since the last reset.
    used: usize,
    /// Chunks for what did not fit `main` in this cycle; folded into `main` at
    /// the next reset.
    overflow: Vec<Vec<u64>>,
    /// Words requested since the last reset.
    demand: usize,
    /// A call has started since the last reset: everything handed out is dead.
    stale: bool,
}

impl Arena {
    const fn new() -> Arena {
        Arena {
            main: Vec::new(),
            used: 0,
            overflow: Vec::new(),
            demand: 0,
            stale: false,
        }
    }

    fn reset(&mut self) {
        if self.demand > self.main.len() {
            // Grow once to what the last cycle needed; the old store and the
            // overflow chunks go back to the global allocator. Out of memory,
            // keep the old store: the next cycle overflows again.
            self.overflow.clear();
            if let Some(store) = zeroed(self.demand) {
                self.main = store;
            }
        }
        self.overflow.clear();
        self.used = 0;
        self.demand = 0;
        self.stale = false;
    }

    fn alloc(&mut self, size: usize) -> *mut u8 {
        if self.stale {
            self.reset();
        }
        let words = size.div_ceil(8).max(1);
        self.demand = self.demand.saturating_add(words);
        let end = self.used.saturating_add(words);
        if let Some(region) = self.main.get_mut(self.used..end) {
            self.used = end;
            return region.as_mut_ptr().cast();
        }
        // Out of memory is a null pointer, never a trap: a trap inside
        // malloc leaves WAMR's exception pending and costs later records.
        let Some(mut chunk) = zeroed(words) else {
            return core::ptr::null_mut();
        };
        if self.overflow.try_reserve(1).is_err() {
            return core::ptr::null_mut();
        }
        let ptr = chunk.as_mut_ptr().cast();
        self.overflow.push(chunk);
        ptr
    }

    fn bytes_held(&self) -> usize {
        let overflow: usize = self.overflow.iter().map(Vec::len).sum();
        (self.main.len() + overflow) * 8
    }
}

/// `words` zeroed words, or `None` when memory cannot grow that far.
fn zeroed(words: usize) -> Option<Vec<u64>> {
    let mut v = Vec::new();
    v.try_reserve_exact(words).ok()?;
    v.resize(words, 0);
    Some(v)
}

/// The module's whole state.
#[derive(Debug)]
pub struct Guest {
    arena: Arena,
    out: Vec<u8>,
    scratch: Scratch,
}

impl Default for Guest {
    fn default() -> Self {
        Guest::new()
    }
}

impl Guest {
    /// A fresh guest, as after instantiation.
    pub const fn new() -> Guest {
        Guest {
            arena: Arena::new(),
            out: Vec::new(),
            scratch: Scratch::new(),
        }
    }

    /// The exported `malloc`: room for `size` bytes, 8-aligned, valid until the
    /// first `malloc` after the next call has started.
    pub fn malloc(&mut self, size: usize) -> *mut u8 {
        self.arena.alloc(size)
    }

    /// The exported `free`: a no-op, the arena reclaims everything at once.
    pub fn free(&mut self, _ptr: *mut u8) {}

    /// Bytes the arena holds (for leak checks).
    pub fn arena_bytes(&self) -> usize {
        self.arena.bytes_held()
    }

    /// Capacity of the output buffer (for leak checks).
    pub fn buffer_capacity(&self) -> usize {
        self.out.capacity()
    }

    /// The output buffer behind [`Reply::Buffer`].
    pub fn buffer(&self) -> &[u8] {
        &self.out
    }

    /// Marks the start of a call: the host's earlier copies are now dead.
    /// Must run before anything else in a call, so that even a call that
    /// never returns lets the next `malloc` reclaim them.
    pub fn begin_call(&mut self) {
        self.arena.stale = true;
    }

    /// One filter call.
    ///
    /// JSON records (the first non-blank byte is `{`) get the rule. Anything
    /// else is not what the filter is for, and is returned so that the host
    /// sees the same bytes: the input itself when it is NUL-terminated, or a
    /// NUL-terminated copy. A msgpack record (event_format msgpack) that
    /// contains a 0x00 byte cannot survive any reply, since the host cuts the
    /// reply at the first 0x00 and would corrupt the stream; it is replaced
    /// by [`MSGPACK_PLACEHOLDER`], a valid msgpack map saying why. A record
    /// the host never delivered is replaced by [`UNREADABLE_JSON`].
    pub fn call(&mut self, export: Export, input: HostRecord<'_>) -> Reply {
        let (bytes, terminated) = match input {
            HostRecord::Bytes { bytes, terminated } => (bytes, terminated),
            HostRecord::Unreadable => {
                return match export {
                    Export::Explain => self.explain(Reason::Unreadable),
                    _ => self.reply_copy(UNREADABLE_JSON),
                };
            }
        };
        let reason = if !is_json_object_start(bytes) {
            self.scratch.clear();
            Reason::NotJsonObject
        } else if export == Export::Explain {
            crate::explain(bytes, &mut self.scratch)
        } else {
            crate::evaluate(bytes, &mut self.scratch)
        };
        match export {
            Export::Explain => self.explain(reason),
            Export::Drop if reason.drops() => Reply::Empty,
            Export::Mark if reason.drops() => self.mark(bytes),
            _ => self.keep(bytes, terminated),
        }
    }

    /// The record kept: the input itself, or a NUL-terminated copy (also
    /// the benchmark comparators' reply, `selfscrape-filter`'s features).
    pub fn keep(&mut self, bytes: &[u8], terminated: bool) -> Reply {
        // The first byte first: a JSON record is never a msgpack map, and
        // the scan for a 0x00 reads every byte.
        if !bytes.first().is_some_and(|b| is_msgpack_map_marker(*b)) || !bytes.contains(&0) {
            if terminated {
                return Reply::Input;
            }
            return self.reply_copy(bytes);
        }
        self.reply_copy(MSGPACK_PLACEHOLDER)
    }

    fn reply_copy(&mut self, bytes: &[u8]) -> Reply {
        self.out.clear();
        if self.out.try_reserve(bytes.len() + 1).is_err() {
            // Out of memory: the empty reply (a drop in JSON mode) is all
            // that can still be said without trapping.
            return Reply::Empty;
        }
        self.out.extend_from_slice(bytes);
        self.out.push(0);
        Reply::Buffer
    }

    fn mark(&mut self, bytes: &[u8]) -> Reply {
        // The rule only drops well-formed objects, so a closing brace exists.
        let Some(close) = bytes.iter().rposition(|&b| b == b'}') else {
            return self.reply_copy(bytes);
        };
        let head = bytes.get(..close).unwrap_or(bytes);
        let empty = head
            .iter()
            .rev()
            .find(|b| !b.is_ascii_whitespace())
            .is_some_and(|&b| b == b'{');
        self.out.clear();
        if self.out.try_reserve(head.len() + 32).is_err() {
            // Out of memory: this record would be dropped by
            // drop_self_scrape, so the dry run drops it too.
            return Reply::Empty;
        }
        self.out.extend_from_slice(head);
        if !empty {
            self.out.push(b',');
        }
        self.out.extend_from_slice(b"\"self_scrape\":true}\0");
        Reply::Buffer
    }

    fn explain(&mut self, reason: Reason) -> Reply {
        self.out.clear();
        self.out.extend_from_slice(b"{\"verdict\":\"");
        self.out
            .extend_from_slice(if reason.drops() { b"drop" } else { b"keep" });
        self.out.extend_from_slice(b"\",\"reason\":\"");
        self.out.extend_from_slice(reason.code().as_bytes());
        self.out.extend_from_slice(b"\",\"node\":\"");
        // A node name is at most 253 bytes; longer is not a name, and is cut.
        for &b in self.scratch.failing_node().iter().take(253) {
            push_json_escaped(&mut self.out, b);
        }
        self.out.extend_from_slice(b"\"}\0");
        Reply::Buffer
    }
}

fn is_json_object_start(bytes: &[u8]) -> bool {
    bytes
        .iter()
        .find(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
        .is_some_and(|&b| b == b'{')
}

fn is_msgpack_map_marker(b: u8) -> bool {
    matches!(b, 0x80..=0x8f | 0xde | 0xdf)
}

/// Appends one byte of a node name as JSON string content. Node names are
/// ASCII; anything else is escaped so that the explanation stays valid JSON.
fn push_json_escaped(out: &mut Vec<u8>, b: u8) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    match b {
        b'"' => out.extend_from_slice(b"\\\""),
        b'\\' => out.extend_from_slice(b"\\\\"),
        0x20..=0x7e => out.push(b),
        _ => {
            out.extend_from_slice(b"\\u00");
            out.push(HEX[usize::from(b >> 4)]);
            out.push(HEX[usize::from(b & 0xf)]);
        }
    }
}

//! Benchmark comparators, never shipped: with the `passthrough` feature the
//! module's exports go here instead of to [`Guest::call`], so that the
//! benchmarks (benches/filter.rs) can measure the floor of any JSON-mode wasm
//! filter with the same allocator and reply path.
//!
//! - `passthrough`: every record is returned unchanged, as [`Guest::call`]
//!   returns a kept one;
//! - `read-floor`: the same, after reading every byte of the record once, as
//!   cheaply as the interpreter allows: the least any module pays to be sure
//!   of a whole record, which a correct drop needs.
//! - `stop-floor`: every byte through the rule's own search for string stops
//!   (`"`, `\`, control bytes), then a drop: the least a module pays that
//!   checks the grammar of every string before it drops (measured with
//!   `scripts/wasm-cost`; docs/performance.md).

use selfscrape_rule::guest::{Export, Guest, HostRecord, Reply};

/// The comparator's reply to one call.
pub(crate) fn call(guest: &mut Guest, export: Export, input: HostRecord<'_>) -> Reply {
    let HostRecord::Bytes { bytes, terminated } = input else {
        return guest.call(export, input);
    };
    if cfg!(feature = "read-floor") {
        std::hint::black_box(read_every_byte(bytes));
    }
    if cfg!(feature = "stop-floor") {
        std::hint::black_box(selfscrape_rule::string_stops_in(bytes));
        return Reply::Empty;
    }
    guest.keep(bytes, terminated)
}

/// The `read-floor` comparator's work: every byte read once, 64 bytes per
/// turn (eight word loads, one bounds check and one branch per turn), folded
/// so that nothing can be skipped. LLVM emits each load as an address add
/// and a load (it does not fold the constant offsets into the loads here),
/// as it does for the module's own scans.
fn read_every_byte(bytes: &[u8]) -> u64 {
    let mut blocks = bytes.chunks_exact(64);
    let mut acc = 0u64;
    for b in &mut blocks {
        for w in b.chunks_exact(8) {
            acc |= u64::from_le_bytes(w.try_into().unwrap_or_default());
        }
    }
    let mut words = blocks.remainder().chunks_exact(8);
    for w in &mut words {
        acc |= u64::from_le_bytes(w.try_into().unwrap_or_default());
    }
    words.remainder().iter().fold(acc, |a, &b| a | u64::from(b))
}

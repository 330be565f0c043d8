//! The module's exports. Every `extern "C"` function is a one-line forward
//! into [`selfscrape_rule::guest`]; this file holds all of the module's `unsafe`: the one
//! [`Guest`] and the conversion of the host's pointers into slices.
//!
//! The exports are `#[no_mangle]` only on wasm32, so that the native library
//! (replay tool, tests) neither exports nor overrides the C `malloc`/`free`.

#![cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]

use core::cell::UnsafeCell;
use selfscrape_rule::guest::{Export, Guest, HostRecord, Reply};

/// The module's state. Fluent Bit calls a module from one thread at a time
/// (one instance per filter, one exec env), and wasm32 has no threads here.
struct Single(UnsafeCell<Guest>);

// SAFETY: wasm32-unknown-unknown without the atomics feature has one thread;
// on native the exports are plain Rust functions that nothing calls
// concurrently (tests drive their own `Guest` values instead).
unsafe impl Sync for Single {}

static GUEST: Single = Single(UnsafeCell::new(Guest::new()));

fn guest() -> &'static mut Guest {
    // SAFETY: single-threaded (see `Single`), and no export re-enters another
    // while it holds this reference.
    unsafe { &mut *GUEST.0.get() }
}

/// Fluent Bit's filter signature:
/// `(tag, tag_len, sec, nsec, record, record_len) -> NUL-terminated reply`.
type Filter = extern "C" fn(*const u8, u32, u32, u32, *const u8, u32) -> *const u8;

const _: Filter = drop_self_scrape;
const _: Filter = mark_self_scrape;
const _: Filter = explain_self_scrape;

#[cfg_attr(target_arch = "wasm32", unsafe(no_mangle))]
pub extern "C" fn drop_self_scrape(
    _t: *const u8,
    _tl: u32,
    _s: u32,
    _n: u32,
    rec: *const u8,
    len: u32,
) -> *const u8 {
    reset_sp();
    call(Export::Drop, rec, len)
}

#[cfg_attr(target_arch = "wasm32", unsafe(no_mangle))]
pub extern "C" fn mark_self_scrape(
    _t: *const u8,
    _tl: u32,
    _s: u32,
    _n: u32,
    rec: *const u8,
    len: u32,
) -> *const u8 {
    reset_sp();
    call(Export::Mark, rec, len)
}

#[cfg_attr(target_arch = "wasm32", unsafe(no_mangle))]
pub extern "C" fn explain_self_scrape(
    _t: *const u8,
    _tl: u32,
    _s: u32,
    _n: u32,
    rec: *const u8,
    len: u32,
) -> *const u8 {
    reset_sp();
    call(Export::Explain, rec, len)
}

#[cfg_attr(target_arch = "wasm32", unsafe(no_mangle))]
pub extern "C" fn malloc(size: usize) -> *mut u8 {
    reset_sp();
    do_malloc(size)
}

#[cfg_attr(target_arch = "wasm32", unsafe(no_mangle))]
pub extern "C" fn free(ptr: *mut u8) {
    reset_sp();
    do_free(ptr)
}

#[inline(never)]
fn do_malloc(size: usize) -> *mut u8 {
    guest().malloc(size)
}

#[inline(never)]
fn do_free(ptr: *mut u8) {
    guest().free(ptr)
}

/// The empty string: a drop in Fluent Bit's JSON event format.
static EMPTY: u8 = 0;

#[cfg(target_arch = "wasm32")]
unsafe extern "C" {
    fn selfscrape_get_sp() -> u32;
    fn selfscrape_set_sp(sp: u32);
}

/// The shadow stack pointer at the first entry (the stack's top).
static mut SP0: u32 = 0;

/// Every export is entered from the host with no wasm frame below it, so
/// the shadow stack pointer must be at its top; a trap in an earlier call
/// left it where the trap cut it. Must run before any shadow frame.
#[inline(always)]
fn reset_sp() {
    #[cfg(target_arch = "wasm32")]
    // SAFETY: top-level entry, no frame on the shadow stack yet.
    unsafe {
        if SP0 == 0 {
            SP0 = selfscrape_get_sp();
        } else {
            selfscrape_set_sp(SP0);
        }
    }
}

#[inline(never)]
fn call(export: Export, rec: *const u8, len: u32) -> *const u8 {
    let guest = guest();
    guest.begin_call();
    // SAFETY: `input` checks the range against linear memory before reading.
    let input = unsafe { input(rec, len) };
    #[cfg(feature = "passthrough")]
    let reply = crate::comparator::call(guest, export, input);
    #[cfg(not(feature = "passthrough"))]
    let reply = guest.call(export, input);
    match reply {
        Reply::Input => rec,
        Reply::Empty => &EMPTY,
        Reply::Buffer => guest.buffer().as_ptr(),
    }
}

/// The host's record as a slice, or [`HostRecord::Unreadable`] when the pointer is
/// null or the range leaves linear memory (reading there would trap).
///
/// # Safety
/// On wasm32 any in-bounds range of linear memory is readable. On native the
/// caller must pass a pointer valid for `len + 1` bytes, or null.
unsafe fn input<'a>(ptr: *const u8, len: u32) -> HostRecord<'a> {
    if ptr.is_null() {
        return HostRecord::Unreadable;
    }
    let len = len as usize;
    let Some(end) = (ptr as usize).checked_add(len) else {
        return HostRecord::Unreadable;
    };
    if end > memory_end() {
        return HostRecord::Unreadable;
    }
    // SAFETY: `ptr..end` lies in linear memory (checked above).
    let bytes = unsafe { core::slice::from_raw_parts(ptr, len) };
    // SAFETY: `end` is checked against the memory's end before it is read.
    let terminated = end < memory_end() && unsafe { *ptr.add(len) } == 0;
    HostRecord::Bytes { bytes, terminated }
}

#[cfg(target_arch = "wasm32")]
fn memory_end() -> usize {
    core::arch::wasm32::memory_size(0).saturating_mul(65536)
}

#[cfg(not(target_arch = "wasm32"))]
fn memory_end() -> usize {
    usize::MAX
}

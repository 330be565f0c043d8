//! selfscrape: a Fluent Bit wasm filter that drops metrics-server's own-node
//! scrape failures on EKS Fargate and keeps every other record byte for byte.
//!
//! Layout (one concern per module):
//! - [`rule`]: the decision, pure safe Rust, no allocation in steady state.
//! - [`guest`]: the module's state (allocator arena, output buffer) and the
//!   per-call logic, safe and testable natively.
//! - `abi` (private): the `extern "C"` exports, one-line forwards into
//!   [`guest`]; the only `unsafe` in the module.
//! - `host` and `replay` (native only): a WAMR host that behaves like Fluent
//!   Bit's wasm filter, and the `selfscrape replay` tool built on it.
//! - `check` (native only): `selfscrape check`, the config checker.
pub mod guest;
pub mod rule;
#[doc(hidden)]
pub mod testkit;

#[cfg(feature = "module")]
mod abi;
#[cfg(all(feature = "module", feature = "passthrough"))]
mod comparator;

#[cfg(not(target_arch = "wasm32"))]
pub mod check;
#[cfg(not(target_arch = "wasm32"))]
pub mod host;
#[cfg(not(target_arch = "wasm32"))]
pub mod replay;

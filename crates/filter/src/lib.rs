//! The Fluent Bit module `selfscrape_filter.wasm`: the `extern "C"` exports
//! (`malloc`, `free`, `drop_self_scrape`, `mark_self_scrape`,
//! `explain_self_scrape`), each a one-line forward into
//! [`selfscrape_rule::guest`]. All of the module's `unsafe` is in `abi`;
//! the rule and the per-call logic are the `selfscrape-rule` crate's, which
//! forbids it. Build: `cargo build --release -p selfscrape-filter --target
//! wasm32-unknown-unknown` (scripts/setup does).

mod abi;
#[cfg(feature = "passthrough")]
mod comparator;

//! What the tests, the benches, the acceptance runs and the playground's
//! tests share, and the filter never uses:
//! - [`corpus`]: the engine-independent case corpus (`tests/corpus/*.toml`);
//! - [`Rng`]: the one pseudo-random generator;
//! - [`differences`]: where the Fargate router's rule and the module differ
//!   by design, case by case;
//! - [`paths`]: where cargo put the module;
//! - [`report`]: what the benches and the acceptance runs say about a
//!   measurement (sources, machine, medians);
//! - [`workload`] (feature `workload`): the benchmarks' generated records, as
//!   the exact JSON text Fluent Bit prints (the benches and the acceptance
//!   runs of crates/acceptance).
//!
//! The oracle the corpus and the fuzzers hold the rule to is the rule's own
//! plain statement, `selfscrape_rule::spec`.

pub mod build;
pub mod corpus;
pub mod differences;
pub mod paths;
pub mod report;
mod rng;
#[cfg(feature = "workload")]
pub mod workload;

pub use rng::Rng;

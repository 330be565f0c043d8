//! What the tests, the benches and the playground's tests share, and the
//! filter never uses:
//! - [`corpus`]: the engine-independent case corpus (`tests/corpus/*.toml`);
//! - [`Rng`]: the one pseudo-random generator;
//! - [`paths`]: where cargo put the module.
//!
//! The oracle the corpus and the fuzzers hold the rule to is the rule's own
//! plain statement, `selfscrape_rule::spec`.

pub mod corpus;
pub mod paths;
mod rng;

pub use rng::Rng;

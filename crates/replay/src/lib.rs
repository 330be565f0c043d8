//! `selfscrape replay` as a library: log lines to the records Fluent Bit
//! would build, through a filter, into a tally and out to a sink.
//!
//! One concern per module:
//! - [`lines`]: files, stdin and gzip, split into lines, every error kept.
//! - [`input`]: each line's format, and the record Fluent Bit would build.
//! - [`fbjson`]: the JSON text Fluent Bit hands a module for a record.
//! - [`fast`]: lines already in Fluent Bit's JSON form, taken as they are.
//! - [`time`]: timestamps in lines and records.
//! - [`savings`]: CloudWatch ingestion saved.
//! - [`summary`]: the tally and the report on stderr.
//! - [`engine`]: what the replay asks of a filter, and the rule as one.
//! - [`judge`]: the loop body, once: a record through an engine, into the
//!   tally, out to a sink as an event.
//! - `run` (feature `cli`): files and stdin through the loop, split by
//!   concern: `run::module` (which module file, and why it cannot load),
//!   `run::host_engine` (the module on the WAMR host), `run::terminal`
//!   (stdout and `--explain`), `run::progress` (the bar).
//!
//! The browser playground builds this crate without `cli` (no WAMR, no C)
//! and runs [`engine::RuleEngine`] through the same [`judge::Judge`].

pub mod engine;
pub mod fast;
pub mod fbjson;
pub mod input;
pub mod judge;
pub mod lines;
#[cfg(feature = "cli")]
pub mod run;
pub mod savings;
pub mod summary;
pub mod time;

pub use engine::{EXPLAIN, Engine, Filtered, RuleEngine};
pub use fbjson::fluent_bit_json;
pub use judge::{Event, Fate, Function, Judge, Sink};
#[cfg(feature = "cli")]
pub use run::{BUILD_COMMAND, HostEngine, Options, SetupError, default_wasm_path, replay, run};

//! `selfscrape replay`: run the module over logs the way Fluent Bit would,
//! print the records it passes on, and report what it drops and saves.
//!
//! One concern per module:
//! - [`lines`]: files, stdin and gzip, split into lines, every error kept.
//! - [`input`]: each line's format, and the record Fluent Bit would build.
//! - [`fast`]: lines already in Fluent Bit's JSON form, taken as they are.
//! - [`time`]: timestamps in lines and records.
//! - [`savings`]: CloudWatch ingestion saved.
//! - [`summary`]: the tally and the report on stderr.
//! - [`run`]: the loop: records through the module (filter and explain).

pub mod fast;
pub mod input;
pub mod lines;
pub mod run;
pub mod savings;
pub mod summary;
pub mod time;

pub use run::{
    BUILD_COMMAND, Engine, Function, HostEngine, Options, SetupError, default_wasm_path, replay,
    run,
};

//! Fluent Bit's config model, as Fluent Bit's own flb_cf keeps it: one
//! section type ([`Section`]), fed by a classic reader ([`classic`], with
//! `@INCLUDE` and `@SET`) and a YAML reader ([`yaml`], [`config`]), plus
//! what reading a config needs to know of Fluent Bit:
//!
//! - [`tag`]: `Match`/`Match_Regex` routing; [`onig`]: Onigmo patterns
//!   (translated, or refused by name);
//! - [`size`]: the size syntax;
//! - [`tables`]: the keys each Fluent Bit version knows, the images, the
//!   Fargate router's limits, with sources.
//!
//! No WebAssembly runtime and no file system: included files come through
//! the caller's [`config::Files`]. `selfscrape check`, `selfscrape router`,
//! the router emulator of the tests and the real-Fluent-Bit runs all read
//! configs through it, natively and in the browser.

pub mod classic;
pub mod config;
pub mod onig;
pub mod section;
pub mod size;
pub mod tables;
pub mod tag;
pub mod yaml;

pub use classic::Document;
pub use section::{Entry, Section, Span};
pub use tables::Version;

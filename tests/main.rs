//! The integration tests: one test binary (`cargo test --test suite`), one
//! module per subject, as ripgrep and regex keep theirs. Run one subject with
//! a filter (`cargo test --test suite corpus_wasm::`), one corpus case in
//! every engine with `SELFSCRAPE_CASE=<name>` (crates/testkit, `corpus::run`).
//! It is the package's only test target (Cargo.toml: `autotests = false`);
//! workspace::every_test_file_is_compiled fails on a tests/*.rs that is not a
//! module here.
//!
//! Test functions may run past clippy's 100 lines (the workspace lint holds
//! product code to it): a test reads as one scenario.
#![allow(clippy::too_many_lines)]

mod allocations;
mod common;

mod check;
mod cli;
mod configs;
mod corpus_native;
mod corpus_wasm;
mod docs;
mod examples_shape;
mod fargate_router;
mod fuzz_module;
mod guest_native;
mod host;
mod hostile_sizes;
mod module_shape;
mod playground;
mod real_fluent_bit_check;
mod replay_function;
mod router_output;
mod soak;
mod steady_state_alloc;
mod workspace;

//! The integration tests: one test binary (`cargo test --test suite`), one
//! module per subject, as ripgrep and regex keep theirs. Run one subject with
//! a filter (`cargo test --test suite corpus_wasm::`), one corpus case in
//! every engine with `SELFSCRAPE_CASE=<name>` (crates/testkit, `corpus::run`).
//! tests/check.rs and tests/fargate_router.rs are binaries of their own
//! (Cargo.toml lists every test target: `autotests = false`, and
//! workspace::every_test_file_is_compiled keeps the list whole).

mod allocations;
mod common;

mod cli;
mod configs;
mod corpus_native;
mod corpus_wasm;
mod docs;
mod examples_shape;
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

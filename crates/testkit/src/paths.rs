//! Where cargo puts what the tests and benches run. Cargo tells an
//! integration test or bench its own `<target>/tmp` at compile time
//! (`CARGO_TARGET_TMPDIR`), which a library cannot read for it: callers pass
//! `env!("CARGO_TARGET_TMPDIR")` (tests/common and benches/common do).

use std::path::{Path, PathBuf};

/// The target directory (`$CARGO_TARGET_DIR`, `build.target-dir` or
/// `./target`) of a test or bench built with `target_tmpdir`.
pub fn target_dir(target_tmpdir: &str) -> PathBuf {
    Path::new(target_tmpdir)
        .parent()
        .expect("CARGO_TARGET_TMPDIR is <target>/tmp")
        .to_path_buf()
}

/// `<target>/wasm32-unknown-unknown/release/selfscrape_filter.wasm`: the
/// shipped module.
pub fn module_path(target_tmpdir: &str) -> PathBuf {
    target_dir(target_tmpdir).join("wasm32-unknown-unknown/release/selfscrape_filter.wasm")
}

//! Where cargo puts what the tests and benches run: one helper for both
//! (benches/common includes this file).

use std::path::{Path, PathBuf};

/// The target directory cargo builds these tests in (`$CARGO_TARGET_DIR`,
/// `build.target-dir` or `./target`): cargo's own `<target>/tmp` says where.
pub fn target_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("CARGO_TARGET_TMPDIR is <target>/tmp")
        .to_path_buf()
}

/// `<target>/wasm32-unknown-unknown/release/selfscrape_filter.wasm`: the
/// shipped module.
pub fn module_path() -> PathBuf {
    target_dir().join("wasm32-unknown-unknown/release/selfscrape_filter.wasm")
}

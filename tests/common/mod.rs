//! Shared by the integration tests: where the built module is, and a check
//! that it is not older than the code it is built from.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::SystemTime;

#[cfg(not(target_arch = "wasm32"))]
pub mod corpus;

/// The command that builds the module the tests run.
pub const BUILD_COMMAND: &str = "cargo build --release --lib --target wasm32-unknown-unknown";

/// `target/wasm32-unknown-unknown/release/selfscrape_filter.wasm` of this checkout.
pub fn module_path() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    target.join("wasm32-unknown-unknown/release/selfscrape_filter.wasm")
}

/// The built module's bytes. Fails the test (never skips it) when the module
/// is missing or older than a source it is built from, saying how to build it.
pub fn module_bytes() -> Vec<u8> {
    let path = module_path();
    let built = std::fs::metadata(&path)
        .and_then(|m| m.modified())
        .unwrap_or_else(|_| {
            panic!(
                "{} is missing: build it with `{BUILD_COMMAND}` (scripts/test does)",
                path.display()
            )
        });
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut newest: Option<(SystemTime, PathBuf)> = None;
    let mut consider = |p: PathBuf| {
        if let Ok(t) = std::fs::metadata(&p).and_then(|m| m.modified()) {
            if newest.as_ref().is_none_or(|(n, _)| t > *n) {
                newest = Some((t, p));
            }
        }
    };
    consider(root.join("Cargo.toml"));
    consider(root.join(".cargo/config.toml"));
    let mut dirs = vec![root.join("src")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let p = entry.path();
            if p.is_dir() {
                // The native-only parts are not in the module.
                if !p.ends_with("host") && !p.ends_with("replay") {
                    dirs.push(p);
                }
            } else if p.extension().is_some_and(|e| e == "rs") && !p.ends_with("main.rs") {
                consider(p);
            }
        }
    }
    if let Some((t, p)) = newest {
        assert!(
            t <= built,
            "{} is older than {}: rebuild it with `{BUILD_COMMAND}`",
            path.display(),
            p.display()
        );
    }
    std::fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

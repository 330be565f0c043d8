//! Builds what the benchmarks and the acceptance runs measure, from this
//! checkout (a no-op when up to date): the module, its comparators (the
//! module crate with a feature, each in its own target directory) and, when
//! asked, the release `selfscrape`. `SELFSCRAPE_BENCH_NO_BUILD=1` skips the
//! build; the files must then exist.

use std::path::{Path, PathBuf};
use std::process::Command;

const WASM: [&str; 6] = [
    "build",
    "--release",
    "-p",
    "selfscrape-filter",
    "--target",
    "wasm32-unknown-unknown",
];

/// The module crate built with `--features feature` under `target`.
pub fn comparator_path(target: &Path, feature: &str) -> PathBuf {
    target
        .join(feature)
        .join("wasm32-unknown-unknown/release/selfscrape_filter.wasm")
}

fn cargo(root: &Path, who: &str, args: &[&str]) -> Result<(), String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    eprintln!("{who}: cargo {}", args.join(" "));
    match Command::new(&cargo).args(args).current_dir(root).status() {
        Ok(s) if s.success() => Ok(()),
        Ok(s) => Err(format!("`cargo {}` failed ({s})", args.join(" "))),
        Err(e) => Err(format!("cannot run {cargo}: {e}")),
    }
}

/// Builds the module, the `comparators` and (with `selfscrape`) the
/// release binary of the workspace at `root` whose target directory is
/// `target`; `who` prefixes what it prints. Says which file is missing
/// afterwards, if one is.
pub fn build(
    root: &Path,
    target: &Path,
    comparators: &[&str],
    selfscrape: bool,
    who: &str,
) -> Result<(), String> {
    if std::env::var_os("SELFSCRAPE_BENCH_NO_BUILD").is_none() {
        cargo(root, who, &WASM)?;
        for feature in comparators {
            let dir = target.join(feature);
            let dir = dir.to_string_lossy();
            let mut args = WASM.to_vec();
            args.extend(["--features", feature, "--target-dir", &dir]);
            cargo(root, who, &args)?;
        }
        if selfscrape {
            cargo(root, who, &["build", "--release", "--bin", "selfscrape"])?;
        }
    }
    let mut needed = vec![target.join("wasm32-unknown-unknown/release/selfscrape_filter.wasm")];
    needed.extend(comparators.iter().map(|f| comparator_path(target, f)));
    if selfscrape {
        needed.push(target.join("release/selfscrape"));
    }
    match needed.iter().find(|p| !p.is_file()) {
        Some(p) => Err(format!(
            "{} is missing (unset SELFSCRAPE_BENCH_NO_BUILD to build it)",
            p.display()
        )),
        None => Ok(()),
    }
}

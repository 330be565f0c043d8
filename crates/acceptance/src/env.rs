//! Where things are and what is measured: this checkout, cargo's target
//! directory, what the runs build from the checkout's sources, the machine,
//! the environment the shipped configs expect, small statistics.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

pub use selfscrape_testkit::report::{machine, median, min_max};

/// The checkout's root (the workspace's).
pub fn root() -> &'static Path {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .ancestors()
            .nth(2)
            .expect("crates/acceptance is two levels below the root")
            .to_path_buf()
    })
}

/// Stops the run with a message and exit status 1 (something the run needs
/// failed: not a check that failed, which the summary reports).
pub fn fail(message: &str) -> ! {
    eprintln!("acceptance: {message}");
    std::process::exit(1);
}

/// Cargo's target directory as `cargo metadata` resolves it
/// (`$CARGO_TARGET_DIR`, `build.target-dir`, or `./target`).
pub fn target_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let out = Command::new(cargo())
            .args(["metadata", "--no-deps", "--format-version", "1"])
            .current_dir(root())
            .output()
            .unwrap_or_else(|e| fail(&format!("cannot run cargo metadata: {e}")));
        serde_json::from_slice::<serde_json::Value>(&out.stdout)
            .ok()
            .and_then(|m| m["target_directory"].as_str().map(PathBuf::from))
            .unwrap_or_else(|| fail("cargo metadata names no target_directory"))
    })
}

/// The shipped module, where cargo built it.
pub fn module_path() -> PathBuf {
    target_dir().join("wasm32-unknown-unknown/release/selfscrape_filter.wasm")
}

/// The passthrough comparator: the module crate built with `--features
/// passthrough` into its own target dir.
pub fn passthrough_path() -> PathBuf {
    selfscrape_testkit::build::comparator_path(target_dir(), "passthrough")
}

/// The stop-floor comparator (`--features stop-floor`): every byte through
/// the rule's search for string stops, then a drop.
pub fn stop_floor_path() -> PathBuf {
    selfscrape_testkit::build::comparator_path(target_dir(), "stop-floor")
}

/// The release `selfscrape` (the check and the router).
pub fn selfscrape_path() -> PathBuf {
    target_dir().join("release/selfscrape")
}

/// Which sources were measured: this checkout's commit, and whether it had
/// uncommitted changes.
pub fn source_state() -> String {
    selfscrape_testkit::report::source_state(root())
}

/// Where the runs write their inputs and outputs.
pub fn work_dir() -> PathBuf {
    let dir = target_dir().join("bench");
    mkdir(&dir);
    dir
}

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

/// Builds from this checkout's sources (a no-op when up to date): the
/// module, the passthrough and stop-floor modules, and with `selfscrape` the
/// release `selfscrape` (testkit's `build`).
pub fn build(selfscrape: bool) {
    let built = selfscrape_testkit::build::build(
        root(),
        target_dir(),
        &["passthrough", "stop-floor"],
        selfscrape,
        "acceptance",
    );
    built.unwrap_or_else(|e| fail(&e));
}

pub fn mkdir(p: &Path) {
    std::fs::create_dir_all(p)
        .unwrap_or_else(|e| fail(&format!("cannot create {}: {e}", p.display())));
}

pub fn write(p: &Path, text: impl AsRef<[u8]>) {
    if let Some(dir) = p.parent() {
        mkdir(dir);
    }
    std::fs::write(p, text).unwrap_or_else(|e| fail(&format!("cannot write {}: {e}", p.display())));
}

/// The paths in a directory, sorted (none when it cannot be read).
pub fn sorted_entries(dir: &Path) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .collect();
    paths.sort();
    paths
}

/// The plugins a config names (its inputs, filters, outputs and customs),
/// classic or YAML, as the config model reads it (its includes left out).
pub fn plugin_names(text: &str) -> Vec<String> {
    use selfscrape_fbconf::config::{NoFiles, is_yaml_config, read_yaml_config};
    let plugin = |s: &&selfscrape_fbconf::Section| {
        matches!(s.kind.as_str(), "input" | "filter" | "output" | "custom")
    };
    let names = |sections: &[selfscrape_fbconf::Section]| -> Vec<String> {
        sections
            .iter()
            .filter(plugin)
            .map(selfscrape_fbconf::Section::name)
            .filter(|n| !n.is_empty())
            .collect()
    };
    if let Ok(doc) = selfscrape_fbconf::yaml::parse_yaml(text) {
        if is_yaml_config(&doc) {
            if let Ok(config) = read_yaml_config(Path::new(""), &doc, &NoFiles) {
                return names(&config.plugins);
            }
        }
    }
    names(&selfscrape_fbconf::Document::parse(text, Path::new("")).sections)
}

/// The environment the shipped configs' variables expect, with the values
/// the runs give them when they run a config as it is.
pub fn config_env() -> Vec<(String, String)> {
    [
        ("SELFSCRAPE_ROOT", root().display().to_string()),
        ("SELFSCRAPE_TARGET", target_dir().display().to_string()),
        ("AWS_REGION", "eu-west-2".into()),
        ("LOG_GROUP_NAME", "selfscrape-check".into()),
        ("LOG_STREAM_PREFIX", "check-".into()),
        (
            "NODE_NAME",
            "fargate-ip-10-6-194-69.eu-west-2.compute.internal".into(),
        ),
        ("POD_NAME", "metrics-server-6d94bc8694-x7kqp".into()),
        ("POD_NAMESPACE", "kube-system".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

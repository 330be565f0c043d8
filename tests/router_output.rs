//! `selfscrape router`'s output pinned byte for byte: every shape of
//! tests/router under every mode the CLI has, stdout (the merged ConfigMap),
//! stderr (the report) and the exit status, against tests/router/expected/.
//! A change of the router's code must not move a byte of these unless it
//! means to; then `SELFSCRAPE_BLESS=1 cargo test --test suite router_output`
//! rewrites them, and the diff is the review.

use super::common;
use std::path::{Path, PathBuf};

/// (file suffix, arguments after the input)
const MODES: &[(&str, &[&str])] = &[
    ("drop", &[]),
    ("dry-run", &["--dry-run"]),
    (
        "aggregator",
        &["--aggregator", "selfscrape-aggregator.logging.svc"],
    ),
    ("ms-0.7", &["--metrics-server", "0.7"]),
    ("container", &["--container", "metrics-server-nanny"]),
];

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/router")
}

fn shapes() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir())
        .expect("tests/router")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    v.sort();
    v
}

/// What the CLI wrote for `input` (None: AWS's ConfigMap) under `args`.
fn run(input: Option<&Path>, args: &[&str]) -> (String, String) {
    let mut argv: Vec<std::ffi::OsString> = vec!["router".into()];
    argv.extend(args.iter().map(Into::into));
    if let Some(p) = input {
        argv.push(p.into());
    }
    let argv: Vec<&std::ffi::OsStr> = argv.iter().map(|a| a.as_os_str()).collect();
    let run = common::run_cli(env!("CARGO_BIN_EXE_selfscrape"), &argv, b"", &[]);
    let stdout = String::from_utf8(run.stdout).expect("UTF-8 ConfigMap");
    // The input's path is the checkout's; the pinned report names the file.
    let stderr = run
        .stderr
        .replace(&format!("{}/", dir().display()), "tests/router/");
    (stdout, format!("exit {}\n{stderr}", run.code))
}

#[test]
fn router_output_is_pinned_byte_for_byte_on_every_shape_and_mode() {
    let bless = std::env::var_os("SELFSCRAPE_BLESS").is_some();
    let expected = dir().join("expected");
    let mut inputs: Vec<(String, Option<PathBuf>)> = vec![("aws-default".into(), None)];
    for p in shapes() {
        let stem = p.file_stem().unwrap().to_string_lossy().into_owned();
        inputs.push((stem, Some(p)));
    }
    let mut moved = Vec::new();
    let mut compared = 0;
    for (stem, input) in &inputs {
        for (mode, args) in MODES {
            let (yaml, report) = run(input.as_deref(), args);
            for (ext, got) in [("yaml", &yaml), ("report", &report)] {
                let path = expected.join(format!("{stem}.{mode}.{ext}"));
                if bless {
                    std::fs::create_dir_all(&expected).unwrap();
                    std::fs::write(&path, got).unwrap();
                    continue;
                }
                let want = std::fs::read_to_string(&path)
                    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                compared += 1;
                if &want != got {
                    moved.push(path.display().to_string());
                }
            }
        }
    }
    assert!(
        !bless,
        "blessed {} files: review the diff and run again without SELFSCRAPE_BLESS",
        inputs.len() * MODES.len() * 2
    );
    assert_eq!(compared, inputs.len() * MODES.len() * 2);
    assert!(
        moved.is_empty(),
        "the router's output moved (diff against the file):\n{}",
        moved.join("\n")
    );
}

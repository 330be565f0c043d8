//! The browser playground (playground/, its own Cargo package built from
//! this crate's core with `default-features = false`).
//!
//! - `playground_core_agrees_with_the_module`: the playground's own tests,
//!   natively (no wasm-bindgen): its per-record and per-line API give the
//!   module's verdict, reason and node on the whole corpus and on every line
//!   of examples/ (playground/tests/agreement.rs); its ConfigMap view gives
//!   `selfscrape router`'s pinned stdout, stderr and exit status for every
//!   shape and mode of tests/router/expected (playground/tests/configmap.rs).
//! - `playground_summary_equals_selfscrape_replay`: for every sample, the
//!   playground's summary is `selfscrape replay`'s, line for line (but the
//!   first, which names the engine).
//! - `playground_page_in_headless_chromium`: builds the page (playground/build),
//!   opens it from disk in Debian's Chromium (playwright-core), pastes sample
//!   lines, and checks the table, the filters, the summary (against the
//!   replay's), a CloudWatch JSON export and 100k lines from a file
//!   (playground/browser_test.mjs). Without Chromium it FAILS; only
//!   SELFSCRAPE_SKIP_BROWSER_TEST=1 (for machines where Chromium cannot be
//!   installed) turns it into a loud skip.
//!
//! The nested builds use `<target dir>/playground`, apart from this build.
use crate::common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn playground_target() -> PathBuf {
    common::target_dir().join("playground")
}

fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.current_dir(root().join("playground"))
        .arg("--color=never")
        .env("CARGO_TARGET_DIR", playground_target());
    cmd
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn playground_core_agrees_with_the_module() {
    let out = cargo()
        .args(["test", "--", "--nocapture"])
        .output()
        .expect("runs cargo test in playground/");
    let all = text(&out);
    assert!(
        out.status.success(),
        "playground tests failed ({}):\n{all}",
        out.status
    );
    // Make sure the agreement tests ran, and say what they compared.
    for needle in [
        "corpus cases agree",
        "compared line by line",
        "sample lines agree",
        "router outputs agree",
    ] {
        let line = all
            .lines()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("playground tests did not report {needle:?}:\n{all}"));
        println!("{line}");
    }
}

fn samples() -> Vec<(PathBuf, Option<String>)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(root().join("examples"))
        .unwrap()
        .flatten()
    {
        let expect = entry.path();
        if expect.extension().is_none_or(|x| x != "expect") {
            continue;
        }
        let node = std::fs::read_to_string(&expect)
            .unwrap()
            .lines()
            .find_map(|l| l.strip_prefix('#')?.trim().strip_prefix("node:"))
            .map(|n| n.trim().to_owned())
            .filter(|n| n != "-");
        out.push((expect.with_extension(""), node));
    }
    out.sort();
    assert!(out.len() >= 5, "{out:?}");
    out
}

/// `selfscrape replay`'s summary (stderr, from its first line on), with the
/// file's name in its examples written as the page writes it (`input:LINE`).
fn replay_summary(file: &Path, node: Option<&str>) -> String {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_selfscrape"));
    cmd.arg("replay");
    if let Some(node) = node {
        cmd.arg("--node").arg(node);
    }
    let out = cmd.arg(file).output().expect("runs selfscrape");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{}: {stderr}", file.display());
    let start = stderr
        .find("selfscrape replay:")
        .unwrap_or_else(|| panic!("no summary: {stderr}"));
    stderr[start..].replace(&format!("  {}:", file.display()), "  input:")
}

/// All but the first line (which names the engine).
fn body(summary: &str) -> &str {
    summary.split_once('\n').map_or("", |(_, rest)| rest)
}

#[test]
fn playground_summary_equals_selfscrape_replay() {
    common::module_bytes();
    let mut compared = 0;
    for (file, node) in samples() {
        let replay = replay_summary(&file, node.as_deref());
        let mut cmd = cargo();
        cmd.args(["run", "-q", "--example", "summary", "--"]);
        if let Some(node) = &node {
            cmd.arg("--node").arg(node);
        }
        let out = cmd
            .arg(&file)
            .output()
            .expect("runs the playground summary");
        assert!(out.status.success(), "{}", text(&out));
        let page = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            page.starts_with("selfscrape replay: drop_self_scrape (browser playground"),
            "{page}"
        );
        assert_eq!(
            body(&page),
            body(&replay),
            "{}: the playground's summary differs from selfscrape replay's",
            file.display()
        );
        assert!(body(&page).contains("  records    "), "{page}");
        compared += 1;
    }
    println!("{compared} sample summaries identical to selfscrape replay's");
}

const CHROMIUM: &str = "/usr/bin/chromium";

#[test]
fn playground_page_in_headless_chromium() {
    let skip = std::env::var("SELFSCRAPE_SKIP_BROWSER_TEST").is_ok_and(|v| v == "1");
    if !Path::new(CHROMIUM).exists() {
        if skip {
            eprintln!(
                "\n################################################################\n\
                 # BROWSER TEST SKIPPED: no Chromium at {CHROMIUM}, and\n\
                 # SELFSCRAPE_SKIP_BROWSER_TEST=1 says it cannot be installed here.\n\
                 # The page was NOT tested in a browser.\n\
                 ################################################################\n"
            );
            return;
        }
        panic!(
            "no Chromium at {CHROMIUM}: run scripts/setup-playground (apt-get install chromium), \
             or set SELFSCRAPE_SKIP_BROWSER_TEST=1 where it cannot be installed"
        );
    }
    let playground = root().join("playground");
    assert!(
        playground.join("node_modules/playwright-core").is_dir(),
        "playground/node_modules/playwright-core missing: run scripts/setup-playground (npm ci --prefix playground)"
    );

    // The page, built the documented way.
    let out = Command::new(playground.join("build"))
        .env("CARGO_TARGET_DIR", playground_target().parent().unwrap())
        .output()
        .expect("runs playground/build");
    assert!(
        out.status.success(),
        "playground/build failed:\n{}",
        text(&out)
    );

    // What the replay says about the sample the test pastes.
    common::module_bytes();
    let (file, node) = samples()
        .into_iter()
        .find(|(f, _)| f.ends_with("v0.7-cri.log"))
        .expect("examples/v0.7-cri.log");
    let summary = replay_summary(&file, node.as_deref());
    let summary_file = playground_target().join("replay-summary-v0.7-cri.txt");
    std::fs::create_dir_all(playground_target()).unwrap();
    std::fs::write(&summary_file, summary).unwrap();

    let out = Command::new("node")
        .current_dir(&playground)
        .arg("browser_test.mjs")
        .arg(playground.join("dist"))
        .arg(root().join("examples"))
        .arg(&summary_file)
        .env("CHROMIUM", CHROMIUM)
        .output()
        .expect("runs node (scripts/setup-playground installs it)");
    let all = text(&out);
    println!("{all}");
    assert!(out.status.success(), "browser test failed:\n{all}");
    assert!(all.contains("checks passed"), "{all}");
}

/// .github/workflows/pages.yml publishes the page CI tests: on every push
/// to main it runs playground/build and deploys playground/dist to GitHub
/// Pages with the permissions Pages needs.
#[test]
fn the_pages_workflow_publishes_what_playground_build_makes() {
    use selfscrape_fbconf::yaml::{Yaml, parse_yaml};
    let path = root().join(".github/workflows/pages.yml");
    let text = std::fs::read_to_string(&path).expect(".github/workflows/pages.yml");
    let wf = parse_yaml(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let at = |node: &Yaml, keys: &[&str]| -> Option<Yaml> {
        keys.iter().try_fold(node.clone(), |n, k| n.get(k).cloned())
    };
    let branches = at(&wf, &["on", "push", "branches"]);
    assert_eq!(
        branches,
        Some(Yaml::Seq(vec![Yaml::Str("main".into())])),
        "on.push.branches"
    );
    for (key, want) in [("pages", "write"), ("id-token", "write")] {
        assert_eq!(
            at(&wf, &["permissions", key])
                .as_ref()
                .and_then(Yaml::as_str),
            Some(want),
            "permissions.{key}"
        );
    }
    let steps = |job: &str| -> Vec<Yaml> {
        match at(&wf, &["jobs", job, "steps"]) {
            Some(Yaml::Seq(s)) => s,
            other => panic!("jobs.{job}.steps: {other:?}"),
        }
    };
    let value = |step: &Yaml, key: &str| step.get(key).and_then(Yaml::as_str).map(str::to_owned);
    let build = steps("build");
    assert!(
        build
            .iter()
            .any(|s| value(s, "run").as_deref() == Some("playground/build")),
        "the build job runs playground/build"
    );
    let upload = build
        .iter()
        .find(|s| value(s, "uses").is_some_and(|u| u.starts_with("actions/upload-pages-artifact@")))
        .expect("the build job uploads a Pages artifact");
    assert_eq!(
        upload
            .get("with")
            .and_then(|w| w.get("path"))
            .and_then(Yaml::as_str),
        Some("playground/dist")
    );
    assert!(
        steps("deploy")
            .iter()
            .any(|s| value(s, "uses").is_some_and(|u| u.starts_with("actions/deploy-pages@"))),
        "the deploy job deploys"
    );
    // playground/build writes dist/ there, and the version it checks is the
    // one the workflow installs.
    let build_script = std::fs::read_to_string(root().join("playground/build")).unwrap();
    assert!(build_script.contains("mkdir dist"), "{build_script}");
    assert!(text.contains(r#"s/^wasm-bindgen = "=\([0-9.]*\)".*/\1/p"#));
}

//! The layers are crates, and the compiler keeps their walls; what it cannot
//! see is checked here: no file is compiled into two crates by `#[path]`,
//! the rule crate forbids `unsafe`, the module's `unsafe` is in its `abi.rs`
//! and the host's in its `wamr.rs`, and the module depends on the rule alone
//! (docs/ARCHITECTURE.md), and that document and the workspace's crate list
//! name every crate and its real edges (`cargo metadata`), and the router
//! builds without the WAMR host (`cargo tree`).

use std::path::{Path, PathBuf};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Every `.rs` file of the checkout's sources (not target/ or node_modules/).
fn rust_files() -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut dirs: Vec<PathBuf> = ["src", "crates", "tests", "benches", "playground"]
        .iter()
        .map(|d| root().join(d))
        .collect();
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let p = entry.unwrap().path();
            let name = p.file_name().unwrap().to_string_lossy();
            if p.is_dir() {
                if name != "target" && name != "node_modules" && name != "dist" {
                    dirs.push(p);
                }
            } else if name.ends_with(".rs") {
                out.push(p);
            }
        }
    }
    assert!(out.len() > 50, "found only {} Rust files", out.len());
    out
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn manifest(crate_dir: &str) -> toml::Table {
    read(&root().join(crate_dir).join("Cargo.toml"))
        .parse()
        .unwrap_or_else(|e| panic!("{crate_dir}/Cargo.toml: {e}"))
}

#[test]
fn no_file_is_compiled_into_a_crate_by_path() {
    let with_path: Vec<String> = rust_files()
        .into_iter()
        .filter(|p| {
            read(p)
                .lines()
                .any(|l| l.trim_start().starts_with("#[path"))
        })
        .map(|p| p.display().to_string())
        .collect();
    assert!(with_path.is_empty(), "#[path] includes in {with_path:?}");
}

#[test]
fn unsafe_code_lives_in_two_files_of_the_shipped_crates() {
    let rule = read(&root().join("crates/rule/src/lib.rs"));
    assert!(rule.contains("#![forbid(unsafe_code)]"));
    let allowed = [
        root().join("crates/filter/src/abi.rs"),
        root().join("crates/host/src/wamr.rs"),
    ];
    let crates = root().join("crates");
    let mut found = Vec::new();
    for p in rust_files().into_iter().filter(|p| p.starts_with(&crates)) {
        let code = read(&p);
        let uses = code.lines().any(|l| {
            let l = l.trim_start();
            !l.starts_with("//")
                && (l.contains("unsafe {")
                    || l.contains("unsafe impl")
                    || l.contains("unsafe fn")
                    || l.contains("unsafe extern"))
        });
        if uses && !allowed.contains(&p) {
            found.push(p.display().to_string());
        }
    }
    assert!(
        found.is_empty(),
        "unsafe code outside abi.rs and wamr.rs: {found:?}"
    );
    for p in &allowed {
        assert!(
            read(p).contains("unsafe"),
            "{} has no unsafe: update this test",
            p.display()
        );
    }
}

#[test]
fn the_module_depends_on_the_rule_alone_and_the_rule_on_nothing() {
    let filter = manifest("crates/filter");
    let deps: Vec<&String> = filter["dependencies"].as_table().unwrap().keys().collect();
    assert_eq!(deps, ["selfscrape-rule"]);
    assert_eq!(
        filter["lib"]["name"].as_str(),
        Some("selfscrape_filter"),
        "the artifact is selfscrape_filter.wasm"
    );
    let rule = manifest("crates/rule");
    assert!(
        rule.get("dependencies").is_none(),
        "selfscrape-rule has dependencies"
    );
    // The workspace's members are the layers.
    let root = manifest(".");
    let members = root["workspace"]["members"].as_array().unwrap();
    assert_eq!(members.len(), 1);
    for krate in ["rule", "filter", "host", "replay", "check", "testkit"] {
        assert!(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("crates")
                .join(krate)
                .join("Cargo.toml")
                .is_file(),
            "crates/{krate}"
        );
    }
}

/// With `autotests = false` a new tests/*.rs that nobody declares would never
/// run: every one is a module of the suite (tests/main.rs) or a test target
/// in Cargo.toml.
#[test]
fn every_test_file_is_compiled() {
    let main = read(&root().join("tests/main.rs"));
    let manifest = manifest(".");
    let targets: Vec<&str> = manifest["test"]
        .as_array()
        .expect("[[test]] targets")
        .iter()
        .filter_map(|t| t["path"].as_str())
        .collect();
    assert_eq!(
        targets,
        ["tests/main.rs"],
        "the suite (tests/main.rs) is the one test target: make a test file a `mod` of it"
    );
    let mut missing = Vec::new();
    for entry in std::fs::read_dir(root().join("tests")).expect("tests/") {
        let path = entry.expect("tests/ entry").path();
        let Some(stem) = path
            .extension()
            .filter(|x| *x == "rs")
            .and_then(|_| path.file_stem())
            .map(|s| s.to_string_lossy().into_owned())
        else {
            continue;
        };
        let declared = main.lines().any(|l| l.trim() == format!("mod {stem};"));
        if stem != "main" && !declared {
            missing.push(format!("tests/{stem}.rs"));
        }
    }
    assert!(
        missing.is_empty(),
        "not compiled (add `mod` to tests/main.rs): {missing:?}"
    );
}

/// The workspace's crates and the edges between them, from `cargo metadata`:
/// (package name, its directory relative to the root, the workspace crates
/// it depends on for building, optional ones included, dev-dependencies not).
fn workspace_edges() -> Vec<(String, String, Vec<String>)> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = std::process::Command::new(cargo)
        .args(["metadata", "--no-deps", "--format-version", "1"])
        .current_dir(root())
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let mut crates = Vec::new();
    for p in meta["packages"].as_array().expect("packages") {
        let name = p["name"].as_str().expect("name").to_string();
        let dir = Path::new(p["manifest_path"].as_str().expect("manifest_path"))
            .parent()
            .expect("a directory")
            .strip_prefix(root())
            .expect("inside the checkout")
            .display()
            .to_string();
        let mut deps: Vec<String> = p["dependencies"]
            .as_array()
            .expect("dependencies")
            .iter()
            .filter(|d| d["kind"].is_null())
            .filter_map(|d| d["name"].as_str()?.strip_prefix("selfscrape-"))
            .map(str::to_string)
            .collect();
        deps.sort();
        crates.push((name, if dir.is_empty() { ".".into() } else { dir }, deps));
    }
    crates
}

/// docs/ARCHITECTURE.md's crate table and the workspace Cargo.toml's crate
/// list name every crate of `cargo metadata`, and the table's `->` edges
/// are its real ones.
#[test]
fn the_architecture_and_the_crate_list_follow_cargo_metadata() {
    let arch = read(&root().join("docs/ARCHITECTURE.md"));
    let table: Vec<&str> = arch
        .split("```")
        .nth(1)
        .expect("the crate table, the first code block")
        .lines()
        .collect();
    let list = read(&root().join("Cargo.toml"));
    let short = |name: &str| name.strip_prefix("selfscrape-").unwrap_or(name).to_string();
    let mut errs = Vec::new();
    let edges = workspace_edges();
    let crates: Vec<String> = edges.iter().map(|(n, _, _)| short(n)).collect();
    for (name, dir, deps) in edges {
        let Some(line) = table.iter().find(|l| {
            let mut w = l.split_whitespace();
            w.next() == Some(dir.as_str()) && w.next() == Some(name.as_str())
        }) else {
            errs.push(format!("docs/ARCHITECTURE.md: no line `{dir}  {name}`"));
            continue;
        };
        // Workspace crates named after `->`; "(+ host with `cli`)" counts.
        let mut named: Vec<String> = line
            .split_once("->")
            .map(|(_, r)| r)
            .unwrap_or("")
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
            .filter(|w| crates.iter().any(|c| c == w))
            .map(str::to_string)
            .collect();
        named.sort();
        named.dedup();
        if named != deps {
            errs.push(format!(
                "docs/ARCHITECTURE.md: {name} -> {named:?}, cargo metadata says {deps:?}"
            ));
        }
        if dir != "."
            && !list
                .lines()
                .any(|l| l.starts_with(&format!("#   {dir} ")) && l.contains(&name))
        {
            errs.push(format!(
                "Cargo.toml's crate list does not name {dir} ({})",
                short(&name)
            ));
        }
    }
    assert!(errs.is_empty(), "{}", errs.join("\n"));
}

/// What `cargo tree` says `package` is built from (normal dependencies,
/// the features it gets when built alone), one package name a line.
fn built_from(package: &str, target: &str) -> Vec<String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = std::process::Command::new(cargo)
        .args([
            "tree", "-e", "normal", "--prefix", "none", "--target", target, "-p",
        ])
        .arg(package)
        .current_dir(root())
        .output()
        .expect("cargo tree runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut names: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
        .collect();
    names.sort();
    names.dedup();
    names
}

/// Merging a ConfigMap is text in, text out: the router, and the check
/// under it without its `module` feature, build without WAMR (no cmake, no
/// C toolchain) and for wasm32 (the playground). The binary turns the
/// feature on, so `selfscrape check` still runs the module.
#[test]
fn the_router_and_the_check_under_it_need_no_wasm_runtime() {
    for target in ["all", "wasm32-unknown-unknown"] {
        let deps = built_from("selfscrape-router", target);
        assert!(
            deps.iter().any(|d| d == "selfscrape-check"),
            "{target}: {deps:?}"
        );
        let wamr: Vec<&String> = deps
            .iter()
            .filter(|d| d.starts_with("wamr") || *d == "selfscrape-host")
            .collect();
        assert!(
            wamr.is_empty(),
            "{target}: selfscrape-router is built from {wamr:?}"
        );
    }
    let binary = built_from("selfscrape", "all");
    assert!(
        binary.iter().any(|d| d == "wamrx-sys"),
        "the CLI lost the check's module feature: {binary:?}"
    );
    let check = manifest("crates/check");
    assert_eq!(
        check["features"]["default"].as_array().map(Vec::len),
        Some(1),
        "selfscrape-check's default features: {:?}",
        check["features"]
    );
    assert_eq!(
        check["features"]["module"][0].as_str(),
        Some("dep:selfscrape-host")
    );
}

#[test]
fn every_crate_takes_the_workspace_lints_and_functions_stay_under_100_lines() {
    // CI's clippy runs with -D warnings: `too_many_lines` on everywhere.
    let root_manifest = manifest(".");
    let lints = root_manifest
        .get("workspace")
        .and_then(|w| w.get("lints"))
        .and_then(|l| l.get("clippy"))
        .and_then(|c| c.get("too_many_lines"))
        .and_then(|v| v.as_str());
    assert_eq!(lints, Some("warn"), "Cargo.toml: [workspace.lints.clippy]");
    assert!(
        read(&root().join("clippy.toml")).contains("too-many-lines-threshold = 100"),
        "clippy.toml holds the limit"
    );
    let mut dirs = vec![".".to_string()];
    for (_, dir, _) in workspace_edges() {
        dirs.push(dir);
    }
    dirs.dedup();
    for dir in dirs {
        let m = manifest(&dir);
        let takes = m
            .get("lints")
            .and_then(|l| l.get("workspace"))
            .and_then(toml::Value::as_bool);
        assert_eq!(
            takes,
            Some(true),
            "{dir}/Cargo.toml: [lints] workspace = true"
        );
    }
    let playground = manifest("playground");
    assert_eq!(
        playground
            .get("lints")
            .and_then(|l| l.get("clippy"))
            .and_then(|c| c.get("too_many_lines"))
            .and_then(|v| v.as_str()),
        Some("warn"),
        "playground/Cargo.toml: [lints.clippy] too_many_lines"
    );
}

//! The ConfigMap view says what `selfscrape router` says, byte for byte.
//!
//! tests/router/expected/ pins the command's output (the root crate's
//! tests/router_output.rs keeps it so) for AWS's ConfigMap and every shape
//! of tests/router/ under every mode: `NAME.MODE.yaml` its stdout,
//! `NAME.MODE.report` its exit status and stderr. The page's core
//! ([`configmap::run`], what the page calls) must give exactly those bytes
//! from the pasted text and the same options.

use selfscrape_playground::configmap::{self, AWS_DEFAULT, Request};
use std::path::{Path, PathBuf};

fn router_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/router")
}

/// The modes of tests/router_output.rs, as the page's controls set them.
fn modes() -> Vec<(&'static str, Request)> {
    vec![
        ("drop", Request::default()),
        (
            "dry-run",
            Request {
                dry_run: true,
                ..Request::default()
            },
        ),
        (
            "aggregator",
            Request {
                aggregator: "selfscrape-aggregator.logging.svc".into(),
                ..Request::default()
            },
        ),
        (
            "ms-0.7",
            Request {
                metrics_server: "0.7".into(),
                ..Request::default()
            },
        ),
        (
            "container",
            Request {
                container: "metrics-server-nanny".into(),
                ..Request::default()
            },
        ),
    ]
}

#[test]
fn every_shape_and_mode_gives_the_commands_exact_output() {
    let mut inputs: Vec<(String, String)> = vec![("aws-default".into(), AWS_DEFAULT.into())];
    let mut shapes: Vec<PathBuf> = std::fs::read_dir(router_dir())
        .expect("tests/router")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    shapes.sort();
    assert!(shapes.len() >= 16, "{shapes:?}");
    for p in shapes {
        let stem = p.file_stem().unwrap().to_string_lossy().into_owned();
        inputs.push((stem, std::fs::read_to_string(&p).unwrap()));
    }
    let expected = router_dir().join("expected");
    let (mut compared, mut merged) = (0, 0);
    let mut moved = Vec::new();
    for (stem, text) in &inputs {
        for (mode, request) in modes() {
            let out = configmap::run(text, &request);
            let want = |ext: &str| {
                let path = expected.join(format!("{stem}.{mode}.{ext}"));
                std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            };
            let report = format!("exit {}\n{}", out.exit_code, out.stderr);
            if out.yaml != want("yaml") {
                moved.push(format!("{stem}.{mode}.yaml"));
            }
            if report != want("report") {
                moved.push(format!("{stem}.{mode}.report: got\n{report}"));
            }
            compared += 2;
            if let Some(after) = &out.after {
                merged += 1;
                // The merged ConfigMap passes the router's rules.
                assert_eq!(after.errors, 0, "{stem}.{mode}: {}", after.text);
            }
        }
    }
    assert!(
        moved.is_empty(),
        "the page's output differs from selfscrape router's:\n{}",
        moved.join("\n")
    );
    assert_eq!(compared, inputs.len() * modes().len() * 2);
    println!(
        "{compared} router outputs agree ({} ConfigMaps x {} modes, {merged} merged)",
        inputs.len(),
        modes().len()
    );
}

/// The check in the page has no wasm runtime (its `module` feature is off):
/// a wasm filter still gets every finding that needs no run (here from the
/// module's export section), and a warning names what was not checked.
#[test]
fn a_wasm_filter_is_checked_as_far_as_no_runtime_allows() {
    use selfscrape_check::{Options, Severity, check_text};
    // A module that exports one function, `f` (no malloc, no free).
    let module = Path::new(env!("CARGO_TARGET_TMPDIR")).join("exports-f.wasm");
    std::fs::write(&module, b"\0asm\x01\0\0\0\x07\x05\x01\x01f\x00\x00").unwrap();
    let conf = "[FILTER]\n    Name wasm\n    Match kube.var.log.containers.metrics-server-*\n    WASM_Path /fluent-bit/etc/selfscrape_filter.wasm\n    Function_Name drop_self_scrape\n";
    let opts = Options {
        fluent_bit: Some(selfscrape_check::Version(4, 2, 2)),
        wasm: Some(module),
        ..Options::default()
    };
    let findings = check_text(Path::new("fluent-bit.conf"), conf, false, &opts).unwrap();
    let codes: Vec<(&str, Severity)> = findings.iter().map(|f| (f.code, f.severity)).collect();
    assert_eq!(
        codes,
        [
            ("wasm-function-missing", Severity::Error),
            ("wasm-no-malloc-free", Severity::Warning),
            ("wasm-module-not-run", Severity::Warning),
        ],
        "{findings:#?}"
    );
    let not_run = &findings[2];
    assert!(
        not_run.message.contains("was not checked")
            && not_run.fix.contains("selfscrape check --wasm"),
        "{not_run:?}"
    );
    // A size that is not one is found without running anything.
    let bad = conf.replace(
        "    Function_Name",
        "    WASM_Stack_Size lots\n    Function_Name",
    );
    let findings = check_text(Path::new("fluent-bit.conf"), &bad, false, &opts).unwrap();
    assert_eq!(
        findings.iter().map(|f| f.code).collect::<Vec<_>>(),
        ["wasm-size-invalid"]
    );
}

/// A ConfigMap cut anywhere (a paste that lost its end, a file dropped
/// half-written) or with a line doubled is an answer, never a panic: in
/// the page a panic is a trap that leaves the core unusable.
#[test]
fn cut_and_mangled_configmaps_never_panic() {
    let mut texts = vec![AWS_DEFAULT.to_owned()];
    for e in std::fs::read_dir(router_dir()).expect("tests/router") {
        let p = e.expect("entry").path();
        if p.extension().is_some_and(|x| x == "yaml") {
            texts.push(std::fs::read_to_string(&p).unwrap());
        }
    }
    let (mut runs, mut merged) = (0, 0);
    for text in &texts {
        let cuts = (0..text.len())
            .step_by(23)
            .filter(|i| text.is_char_boundary(*i));
        let mut variants: Vec<String> = cuts.map(|i| text[..i].to_owned()).collect();
        let lines: Vec<&str> = text.lines().collect();
        for i in (0..lines.len()).step_by(3) {
            let mut doubled = lines.clone();
            doubled.insert(i, lines[i]);
            variants.push(doubled.join("\n"));
            let mut dedented = lines.clone();
            dedented[i] = lines[i].trim_start();
            variants.push(dedented.join("\n"));
        }
        for v in variants {
            let out = configmap::run(&v, &Request::default());
            runs += 1;
            if out.merged.is_some() {
                merged += 1;
                assert!(out.exit_code <= 1 && !out.yaml.is_empty());
            } else {
                assert!(
                    out.exit_code >= 2 && out.stderr.starts_with("selfscrape router: error: "),
                    "{v:?}: {}",
                    out.stderr
                );
            }
        }
    }
    assert!(runs > 1000 && merged > 0, "{runs} runs, {merged} merged");
    println!("{runs} cut or mangled ConfigMaps: {merged} merged, the rest refused with a message");
}

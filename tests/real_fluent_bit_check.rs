//! `scripts/real-fluent-bit-check` without a usable Fluent Bit binary: a
//! clear message and exit status 2 before anything is built (CI has no
//! Fluent Bit; what the script does with one is checked by hand, see
//! fluent-bit-conf/fargate-router/README.md).
use std::path::Path;
use std::process::Command;

fn run(args: &[&str]) -> (i32, String) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/real-fluent-bit-check");
    let out = Command::new("bash")
        .arg(&script)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", script.display()));
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn refuses_without_a_binary() {
    let (code, err) = run(&[]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("give the Fluent Bit binary"), "{err}");
}

#[test]
fn refuses_what_is_not_an_executable_file() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    for bad in [
        dir.join("no-such-fluent-bit"),
        dir.join("README.md"),
        dir.join("src"),
    ] {
        let (code, err) = run(&[bad.to_str().expect("a UTF-8 path")]);
        assert_eq!(code, 2, "{}: {err}", bad.display());
        assert!(err.contains("is not an executable file"), "{err}");
    }
}

#[test]
fn help_says_what_it_checks() {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/real-fluent-bit-check");
    let out = Command::new("bash")
        .arg(&script)
        .arg("--help")
        .output()
        .expect("running the script");
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    for what in [
        "router",
        "dry-run",
        "module",
        "--configmap",
        "--aggregator",
        "--only check",
        "Exit status",
    ] {
        assert!(
            text.contains(what),
            "--help does not mention {what}:\n{text}"
        );
    }
}

#[test]
fn the_aggregator_check_wants_two_executable_binaries() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let (code, err) = run(&["--aggregator"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("takes two binaries"), "{err}");
    let readme = dir.join("README.md");
    let readme = readme.to_str().expect("a UTF-8 path");
    let (code, err) = run(&["--aggregator", "/bin/sh"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("takes two binaries"), "{err}");
    for (router, aggregator, bad) in [
        ("/bin/sh", readme, readme),
        (readme, "/bin/sh", readme),
        ("/bin/sh", "no-such-fluent-bit", "no-such-fluent-bit"),
    ] {
        let (code, err) = run(&["--aggregator", router, aggregator]);
        assert_eq!(code, 2, "{router} {aggregator}: {err}");
        assert!(
            err.contains(&format!("{bad} is not an executable file")),
            "{err}"
        );
    }
}

#[test]
fn a_configmap_that_does_not_exist_is_refused_before_anything_runs() {
    let (code, err) = run(&["/bin/sh", "--configmap", "no-such-configmap.yaml"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("no-such-configmap.yaml: no such file or directory"),
        "{err}"
    );
}

#[test]
fn the_burst_run_refuses_a_configmap_that_is_not_there() {
    let (code, err) = run(&[
        "/bin/true",
        "--burst",
        "1000",
        "--merged",
        "/nonexistent/aws-logging.yaml",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("/nonexistent/aws-logging.yaml: no such file"),
        "{err}"
    );
}

#[test]
fn only_takes_a_part_of_the_default_run_or_check() {
    let (code, err) = run(&["/bin/sh", "--only", "everything"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("--only takes router, dry-run, module or check"),
        "{err}"
    );
}

//! `selfscrape check` through its binary: the corpus of broken configs in
//! tests/check/ (each file says the findings it must produce, one line of
//! why, the arguments and the module to check with), the JSON shape, the
//! exit codes, and input the check cannot read (exit 3 with a message that
//! says where, never a panic).
//!
//! Corpus header (leading comments):
//!   `# expect: SEVERITY CODE [line N [in FILE]]`  one per finding, exactly;
//!   `# why: ...`                                  what the file shows;
//!   `# args: ...`                                 extra arguments;
//!   `# wasm: shipped|none|text|FIXTURE.wat`       what `--wasm` gets
//!                                                 (default: the built module).
use super::common::{self, TempDir, run_cli};
use serde_json::Value;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn check(args: &[OsString]) -> (i32, String, String) {
    let refs: Vec<&std::ffi::OsStr> = args.iter().map(OsString::as_os_str).collect();
    let mut all: Vec<&std::ffi::OsStr> = vec!["check".as_ref()];
    all.extend(refs);
    let run = run_cli(env!("CARGO_BIN_EXE_selfscrape"), &all, b"", &[]);
    (
        run.code,
        String::from_utf8(run.stdout).expect("UTF-8 output"),
        run.stderr,
    )
}

/// (severity, code, line, file relative to tests/check)
type Expected = (String, String, Option<usize>, Option<String>);

struct Case {
    file: PathBuf,
    expect: Vec<Expected>,
    why: String,
    args: Vec<String>,
    wasm: String,
}

fn corpus() -> Vec<Case> {
    let dir = root().join("tests/check");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/check")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "conf" || e == "yaml"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|file| {
            let text = std::fs::read_to_string(&file).unwrap();
            let mut case = Case {
                file: file.clone(),
                expect: Vec::new(),
                why: String::new(),
                args: Vec::new(),
                wasm: "shipped".into(),
            };
            for line in text.lines().take_while(|l| l.starts_with('#')) {
                let body = line.trim_start_matches('#').trim();
                if let Some(e) = body.strip_prefix("expect:") {
                    let words: Vec<&str> = e.split_whitespace().collect();
                    let at = |w: &str| words.iter().position(|x| *x == w);
                    case.expect.push((
                        words[0].to_string(),
                        words[1].to_string(),
                        at("line").map(|i| words[i + 1].parse().expect("line number")),
                        at("in").map(|i| words[i + 1].to_string()),
                    ));
                } else if let Some(w) = body.strip_prefix("why:") {
                    case.why = w.trim().to_string();
                } else if let Some(a) = body.strip_prefix("args:") {
                    case.args = a.split_whitespace().map(str::to_string).collect();
                } else if let Some(w) = body.strip_prefix("wasm:") {
                    case.wasm = w.trim().to_string();
                }
            }
            case
        })
        .collect()
}

#[test]
fn every_corpus_file_gives_exactly_its_findings() {
    common::module_bytes();
    let tmp = TempDir::new("check-corpus");
    let cases = corpus();
    let mut failures = Vec::new();
    for case in &cases {
        let name = case
            .file
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        assert!(!case.expect.is_empty(), "{name}: no `# expect:` line");
        assert!(!case.why.is_empty(), "{name}: no `# why:` line");
        let mut args: Vec<OsString> = vec!["--format".into(), "json".into()];
        match case.wasm.as_str() {
            "shipped" => args.extend(["--wasm".into(), common::module_path().into()]),
            "none" => {}
            "text" => args.extend(["--wasm".into(), case.file.clone().into()]),
            fixture => {
                let wat = root().join("tests/fixtures/host").join(fixture);
                let bytes = wat::parse_file(&wat).unwrap_or_else(|e| panic!("{fixture}: {e}"));
                args.extend([
                    "--wasm".into(),
                    tmp.file(&format!("{fixture}.wasm"), &bytes).into(),
                ]);
            }
        }
        args.extend(case.args.iter().map(OsString::from));
        args.push(case.file.clone().into());
        let (code, stdout, stderr) = check(&args);
        let report: Value = serde_json::from_str(&stdout)
            .unwrap_or_else(|e| panic!("{name}: not JSON ({e}): {stdout}\n{stderr}"));
        let found: Vec<&Value> = report["findings"].as_array().unwrap().iter().collect();
        let mut got: Vec<String> = found
            .iter()
            .map(|f| {
                format!(
                    "{} {}",
                    f["severity"].as_str().unwrap(),
                    f["code"].as_str().unwrap()
                )
            })
            .collect();
        let mut want: Vec<String> = case
            .expect
            .iter()
            .map(|(s, c, _, _)| format!("{s} {c}"))
            .collect();
        got.sort();
        want.sort();
        if got != want {
            failures.push(format!("{name}: want {want:?}, got {got:?}\n{stdout}"));
            continue;
        }
        for (s, c, line, file) in &case.expect {
            let Some(line) = line else { continue };
            let want_file = file
                .as_ref()
                .map_or(case.file.clone(), |f| root().join("tests/check").join(f));
            let hit = found.iter().any(|f| {
                f["severity"] == s.as_str()
                    && f["code"] == c.as_str()
                    && f["line"] == *line
                    && Path::new(f["file"].as_str().unwrap()) == want_file
            });
            if !hit {
                failures.push(format!(
                    "{name}: {s} {c} not at {}:{line}\n{stdout}",
                    want_file.display()
                ));
            }
        }
        let want_code = if case.expect.iter().any(|(s, _, _, _)| s == "error") {
            2
        } else {
            1
        };
        if code != want_code || report["exit_code"] != want_code {
            failures.push(format!("{name}: exit {code}, want {want_code}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    // Every finding the docs list is covered by the corpus, classic and YAML
    // where the finding is about a Fluent Bit config.
    let docs = std::fs::read_to_string(root().join("docs/check.md")).expect("docs/check.md");
    let codes: Vec<&str> = docs
        .lines()
        .filter_map(|l| l.strip_prefix("### `"))
        .filter_map(|l| l.split('`').next())
        .collect();
    assert!(codes.len() >= 20, "{codes:?}");
    for code in codes {
        let covering: Vec<&Case> = cases
            .iter()
            .filter(|c| c.expect.iter().any(|(_, k, _, _)| k == code))
            .collect();
        assert!(!covering.is_empty(), "no corpus file produces {code}");
        let ext = |e: &str| {
            covering
                .iter()
                .any(|c| c.file.extension().is_some_and(|x| x == e))
        };
        let configmap_or_manifest = code.starts_with("router-") || code.starts_with("image-");
        assert!(
            configmap_or_manifest || (ext("conf") && ext("yaml")),
            "{code}: needs a classic and a YAML corpus file"
        );
    }
}

#[test]
fn json_output_has_its_documented_shape() {
    let file = root().join("tests/check/match-all.conf");
    let (code, stdout, _) = check(&[
        "--format".into(),
        "json".into(),
        "--wasm".into(),
        common::module_path().into(),
        "--fluent-bit".into(),
        "4.2.2".into(),
        file.clone().into(),
    ]);
    let v: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(code, 1);
    assert_eq!(v["exit_code"], 1);
    assert_eq!(v["errors"], 0);
    assert_eq!(v["warnings"], 1);
    assert_eq!(v["files"], serde_json::json!([file.display().to_string()]));
    assert_eq!(v["failures"], serde_json::json!([]));
    let f = &v["findings"][0];
    let keys: Vec<&String> = f.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["file", "line", "severity", "code", "message", "fix"]);
    assert_eq!(f["severity"], "warning");
    assert_eq!(f["code"], "wasm-match-wide");
    assert!(f["line"].as_u64().is_some());
    // The measured cost is quoted, from the one place figures live.
    let ratio = selfscrape_check::figures::MODULE_VS_PASSTHROUGH.ratio;
    assert!(f["message"].as_str().unwrap().contains(ratio), "{f}");
    assert!(!f["fix"].as_str().unwrap().is_empty());
}

#[test]
fn text_output_and_exit_codes() {
    let shipped = root().join("fluent-bit-conf/sidecar/fluent-bit.conf");
    let wasm: OsString = common::module_path().into();
    // 0: clean.
    let (code, out, _) = check(&["--wasm".into(), wasm.clone(), shipped.clone().into()]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.ends_with("0 error(s), 0 warning(s) in 1 file(s)\n"),
        "{out}"
    );
    // 2: an error, as `file:line: error[code]: message` then the fix.
    let (code, out, _) = check(&[
        "--wasm".into(),
        wasm.clone(),
        "--image".into(),
        "aws-for-fluent-bit:3.0.0".into(),
        shipped.clone().into(),
    ]);
    assert_eq!(code, 2, "{out}");
    let first = out.lines().next().unwrap();
    assert!(
        first.starts_with(&format!("{}:", shipped.display()))
            && first.contains(": error[wasm-leaky-host]: "),
        "{out}"
    );
    assert!(
        out.lines().nth(1).unwrap().starts_with("    fix: "),
        "{out}"
    );
    // --help documents the exit codes.
    let (code, out, _) = check(&["--help".into()]);
    assert_eq!(code, 0);
    for needle in [
        "Exit status",
        "0 no findings",
        "1 warnings only",
        "2 at least one error",
        "3 the check could not run",
    ] {
        assert!(out.contains(needle), "--help lacks {needle:?}:\n{out}");
    }
}

#[test]
fn input_the_check_cannot_read_exits_3_and_says_where() {
    let tmp = TempDir::new("check-bad");
    let good = root().join("fluent-bit-conf/sidecar/fluent-bit.conf");
    let wasm: OsString = common::module_path().into();
    let cases: Vec<(PathBuf, &str)> = vec![
        (tmp.0.join("missing.conf"), "missing.conf: No such file"),
        (tmp.0.clone(), "is a directory"),
        (
            tmp.file("binary.conf", b"[INPUT]\n    Name \xff\xfe\n"),
            "binary.conf:2: not UTF-8 text",
        ),
        (
            tmp.file("bad.conf", b"[INPUT]\n    Name tail\n  Path /x\n"),
            "bad.conf:3: indentation differs",
        ),
        (
            tmp.file("nokey.conf", b"[FILTER]\n    Name\n"),
            "nokey.conf:2: key without a value",
        ),
        (
            tmp.file(
                "bad.yaml",
                b"pipeline:\n  inputs:\n    - name: tail\n      tag: *x\n",
            ),
            "bad.yaml:4: while parsing node, found unknown anchor",
        ),
        (
            tmp.file("tab.yaml", b"service:\n\tflush: 1\n"),
            "tab.yaml:2: tabs disallowed",
        ),
        (
            tmp.file("inc.conf", b"@INCLUDE nowhere.conf\n"),
            "inc.conf:1: included file",
        ),
        (
            tmp.file("other.yaml", b"service:\n  flush: 1\nfoo: 1\n"),
            "other.yaml:3: top-level \"foo\"",
        ),
    ];
    for (file, needle) in cases {
        // The readable file beside it is still checked and reported.
        let (code, out, err) = check(&[
            "--wasm".into(),
            wasm.clone(),
            good.clone().into(),
            file.clone().into(),
        ]);
        assert_eq!(code, 3, "{}: {out}{err}", file.display());
        assert!(
            err.contains(needle),
            "{}: stderr lacks {needle:?}: {err}",
            file.display()
        );
        assert!(err.starts_with("selfscrape check: error: "), "{err}");
        assert!(out.contains("could not be checked"), "{out}");
        assert!(out.contains("in 2 file(s)"), "{out}");
    }
    // A JSON report lists the failure with its line.
    let bad = tmp.file("bad2.conf", b"[INPUT]\n    Name tail\n  Path /x\n");
    let (code, out, _) = check(&["--format".into(), "json".into(), bad.clone().into()]);
    assert_eq!(code, 3);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["exit_code"], 3);
    assert_eq!(v["failures"][0]["line"], 3);
    assert_eq!(v["failures"][0]["file"], bad.display().to_string());
    // Bad usage: the check could not run either.
    for args in [
        vec![],
        vec!["--fluent-bit".into(), "four".into(), good.clone().into()],
        vec!["--format".into(), "xml".into(), good.clone().into()],
    ] {
        let (code, _, err) = check(&args);
        assert_eq!(code, 3, "{args:?}: {err}");
        assert!(err.contains("error"), "{err}");
    }
}

/// Configs the real Fluent Bit starts with are not called errors (issue 20:
/// 15 of Fluent Bit 5.1.1's own configs were): any `[SERVICE]` key (1.9.10,
/// 4.2.2 and 5.1.1 start with an unknown one), 5.x's HTTP server keys on
/// the elasticsearch input, tail's `Parser_N` prefix keys, and a YAML
/// top-level mapping Fluent Bit reads as a section of its own. Each was
/// run through the real binary named (`--dry-run`, and a start for 1.9.10).
#[test]
fn configs_fluent_bit_starts_with_are_not_errors() {
    let tmp = TempDir::new("check-accepted");
    let cases: Vec<(&str, &str, &[u8])> = vec![
        (
            "5.1.1",
            "service-unknown.conf",
            b"[SERVICE]\n    Flush 1\n    HTTP_Monitor On\n    storage.delete_irrecoverable_chunks On\n\n[INPUT]\n    Name tail\n    Path /var/log/x.log\n    Parser_1 docker\n\n[OUTPUT]\n    Name stdout\n    Match *\n",
        ),
        (
            "1.9.10",
            "service-unknown-1.9.conf",
            b"[SERVICE]\n    Flush 1\n    http_monitor on\n\n[INPUT]\n    Name tail\n    Path /var/log/x.log\n\n[OUTPUT]\n    Name es\n    Match *\n    net.connect_timeout 5\n",
        ),
        (
            "5.1.1",
            "es-input-http-server.yaml",
            b"service:\n  flush: 1\n  hot_reload.watch: on\n  hot_reload.watch_interval: 5\n\npipeline:\n  inputs:\n    - name: elasticsearch\n      port: 9200\n      http2: off\n      workers: 2\n      http_server.idle_timeout: 60s\n      net.io_timeout: 60s\n  outputs:\n    - name: stdout\n      match: '*'\n",
        ),
        (
            "5.1.1",
            "extensions.yaml",
            b"service:\n  flush: 1\n\nextensions:\n  opamp:\n    endpoint: 127.0.0.1:4318\n\npipeline:\n  inputs:\n    - name: dummy\n  outputs:\n    - name: stdout\n      match: '*'\n",
        ),
    ];
    for (version, name, text) in cases {
        let file = tmp.file(name, text);
        let (code, out, err) = check(&[
            "--format".into(),
            "json".into(),
            "--fluent-bit".into(),
            version.into(),
            file.into(),
        ]);
        assert_eq!(code, 0, "{name} on {version}: {out}{err}");
        let v: Value = serde_json::from_str(&out).unwrap();
        // The report names the Fluent Bit it judged against.
        assert_eq!(v["fluent_bit"], serde_json::json!([version]), "{out}");
        assert_eq!(
            v["fluent_bit_by_file"][0]["fluent_bit"],
            serde_json::json!([version]),
            "{out}"
        );
    }
    // What those versions do refuse is still an error: a key the tail
    // input's config map lacks, net.* an upstream map lacks, a YAML
    // top-level scalar.
    for (version, name, text, code) in [
        (
            "5.1.1",
            "tail-unknown.conf",
            &b"[INPUT]\n    Name tail\n    Path /x.log\n    windows.path_encoding utf-8\n"[..],
            2,
        ),
        (
            "1.9.10",
            "es-io-timeout.conf",
            b"[OUTPUT]\n    Name es\n    Match *\n    net.io_timeout 5\n",
            2,
        ),
        ("5.1.1", "scalar.yaml", b"service:\n  flush: 1\nfoo: 1\n", 3),
    ] {
        let file = tmp.file(name, text);
        let (got, out, err) = check(&["--fluent-bit".into(), version.into(), file.into()]);
        assert_eq!(got, code, "{name} on {version}: {out}{err}");
    }
}

/// `--format json` names the versions from `--image` and from a header
/// range, and none for a file that names none.
#[test]
fn json_names_the_fluent_bit_versions_checked_against() {
    let run = |args: &[OsString]| -> Value {
        let mut all: Vec<OsString> = vec!["--format".into(), "json".into()];
        all.extend_from_slice(args);
        let (_, out, _) = check(&all);
        serde_json::from_str(&out).unwrap()
    };
    let shipped = root().join("fluent-bit-conf/sidecar/fluent-bit.conf");
    let v = run(&[
        "--wasm".into(),
        common::module_path().into(),
        "--image".into(),
        "aws-for-fluent-bit:3.4.15".into(),
        shipped.into(),
    ]);
    assert_eq!(v["fluent_bit"], serde_json::json!(["5.0.9"]), "{v}");
    let tmp = TempDir::new("check-versions");
    let range = tmp.file(
        "range.conf",
        b"# fluent-bit: >=5.0.0\n[INPUT]\n    Name tail\n    Path /x.log\n",
    );
    let none = tmp.file("none.conf", b"[INPUT]\n    Name tail\n    Path /x.log\n");
    let v = run(&[range.clone().into(), none.clone().into()]);
    assert_eq!(
        v["fluent_bit"],
        serde_json::json!(["5.0.5", "5.0.7", "5.0.9", "5.1.1"]),
        "{v}"
    );
    assert_eq!(
        v["fluent_bit_by_file"][1]["fluent_bit"],
        serde_json::json!([])
    );
}

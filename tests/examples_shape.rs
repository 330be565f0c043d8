//! The sample logs in examples/: every file has a `.expect` file with one
//! verdict per line, every line has the envelope its `.expect` names, the
//! verdicts are what the rule decides on the record Fluent Bit would build
//! from the line (the way the shipped configs build it), and the table in
//! examples/README.md agrees with the `.expect` files.
use crate::common;

use selfscrape_rule::{self as rule, Reason, Scratch};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples")
}

/// How a line of a sample file becomes a Fluent Bit record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Envelope {
    /// A bare klog line (metrics-server's `--log_file`): `tail` without a
    /// parser makes `{"log": line}`.
    Klog,
    /// `<RFC3339> <stdout|stderr> <P|F> <msg>`: `tail` + `multiline.parser cri`.
    Cri,
    /// docker json-file: `{"log":"..\n","stream":..,"time":..}`.
    Docker,
    /// One Fluent Bit record per line, own node in `kubernetes`.
    Ndjson,
}

struct Expect {
    envelope: Envelope,
    /// The emitting pod's node, for envelopes that do not carry it.
    node: Option<String>,
    /// (drops, reason code) per line.
    verdicts: Vec<(bool, String)>,
}

fn parse_expect(path: &Path) -> Expect {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let mut envelope = None;
    let mut node = None;
    let mut verdicts = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let at = || format!("{}:{}", path.display(), i + 1);
        if let Some(comment) = line.strip_prefix('#') {
            let comment = comment.trim();
            if let Some(v) = comment.strip_prefix("envelope:") {
                envelope = Some(match v.trim() {
                    "klog" => Envelope::Klog,
                    "cri" => Envelope::Cri,
                    "docker" => Envelope::Docker,
                    "ndjson" => Envelope::Ndjson,
                    other => panic!("{}: unknown envelope {other:?}", at()),
                });
            } else if let Some(v) = comment.strip_prefix("node:") {
                let v = v.trim();
                node = (v != "-").then(|| v.to_string());
            }
            continue;
        }
        let (verdict, code) = line
            .split_once(' ')
            .unwrap_or_else(|| panic!("{}: want `drop|keep <reason>`, got {line:?}", at()));
        let reason = Reason::from_code(code)
            .unwrap_or_else(|| panic!("{}: unknown reason code {code:?}", at()));
        let drops = match verdict {
            "drop" => true,
            "keep" => false,
            other => panic!("{}: verdict must be drop or keep, got {other:?}", at()),
        };
        assert_eq!(
            drops,
            reason.drops(),
            "{}: {verdict} contradicts reason {code}",
            at()
        );
        verdicts.push((drops, code.to_string()));
    }
    let envelope = envelope.unwrap_or_else(|| panic!("{}: no `# envelope:`", path.display()));
    assert_eq!(
        node.is_some(),
        envelope != Envelope::Ndjson,
        "{}: `# node:` must name the pod's node exactly when the envelope does not carry it",
        path.display()
    );
    Expect {
        envelope,
        node,
        verdicts,
    }
}

/// The sample files and their `.expect` files, sorted by name.
fn samples() -> Vec<(PathBuf, Expect)> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(examples_dir())
        .expect("examples/ exists")
        .map(|e| e.expect("readable examples/").path())
        .filter(|p| p.extension().is_some_and(|e| e == "log" || e == "ndjson"))
        .collect();
    files.sort();
    assert!(files.len() >= 7, "examples/ lost sample files: {files:?}");
    files
        .into_iter()
        .map(|p| {
            let expect = PathBuf::from(format!("{}.expect", p.display()));
            assert!(
                expect.is_file(),
                "{} has no {}",
                p.display(),
                expect.display()
            );
            let e = parse_expect(&expect);
            (p, e)
        })
        .collect()
}

/// The record Fluent Bit's pipeline hands the filter for one line, with the
/// pod's node in `kubernetes.host` as the sidecar config (modify + nest) or
/// the kubernetes filter puts it there.
fn record(envelope: Envelope, line: &str, node: Option<&str>, at: &str) -> Value {
    let mut map: Map<String, Value> = match envelope {
        Envelope::Klog => {
            assert!(!line.starts_with('{'), "{at}: a klog line cannot be JSON");
            let mut m = Map::new();
            m.insert("log".into(), Value::String(line.into()));
            m
        }
        Envelope::Cri => {
            let mut parts = line.splitn(4, ' ');
            let (time, stream, flag, log) = (
                parts.next().unwrap_or(""),
                parts.next().unwrap_or(""),
                parts.next().unwrap_or(""),
                parts.next(),
            );
            assert!(
                time.len() >= 20 && time.ends_with('Z') && time.as_bytes()[10] == b'T',
                "{at}: CRI time {time:?}"
            );
            assert!(
                stream == "stdout" || stream == "stderr",
                "{at}: CRI stream {stream:?}"
            );
            // No partial lines in the samples: Fluent Bit's cri parser joins
            // them, which this simple builder does not do.
            assert_eq!(flag, "F", "{at}: CRI flag");
            let log = log.unwrap_or_else(|| panic!("{at}: CRI line without message"));
            let mut m = Map::new();
            m.insert("time".into(), json!(time));
            m.insert("stream".into(), json!(stream));
            m.insert("_p".into(), json!(flag));
            m.insert("log".into(), json!(log));
            m
        }
        Envelope::Docker | Envelope::Ndjson => {
            let v: Value =
                serde_json::from_str(line).unwrap_or_else(|e| panic!("{at}: not a JSON line: {e}"));
            let Value::Object(m) = v else {
                panic!("{at}: not a JSON object")
            };
            if envelope == Envelope::Docker {
                let keys: Vec<&str> = m.keys().map(String::as_str).collect();
                assert_eq!(
                    keys,
                    ["log", "stream", "time"],
                    "{at}: docker json-file keys"
                );
                let log = m["log"]
                    .as_str()
                    .unwrap_or_else(|| panic!("{at}: log not a string"));
                assert!(log.ends_with('\n'), "{at}: docker keeps the newline in log");
            } else {
                assert!(
                    m.get("kubernetes").is_none_or(Value::is_object),
                    "{at}: kubernetes must be a map"
                );
            }
            m
        }
    };
    if let Some(node) = node {
        map.insert("kubernetes".into(), json!({ "host": node }));
    }
    Value::Object(map)
}

#[test]
fn every_sample_has_its_envelope_and_one_verdict_per_line() {
    for (path, expect) in samples() {
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines.len(),
            expect.verdicts.len(),
            "{}: {} lines but {} verdicts in its .expect",
            path.display(),
            lines.len(),
            expect.verdicts.len()
        );
        assert!(text.ends_with('\n'), "{}: no final newline", path.display());
        for (i, line) in lines.iter().enumerate() {
            let at = format!("{}:{}", path.display(), i + 1);
            assert!(!line.trim().is_empty(), "{at}: empty line");
            record(expect.envelope, line, expect.node.as_deref(), &at);
        }
        let drops = expect.verdicts.iter().filter(|(d, _)| *d).count();
        assert!(
            drops > 0 && drops < lines.len()
                || expect
                    .verdicts
                    .iter()
                    .any(|(_, c)| c.starts_with("own_node_not_refused")),
            "{}: a sample must mix drops and keeps (or show the self-scrape misconfiguration)",
            path.display()
        );
    }
}

#[test]
fn the_rule_decides_what_each_expect_file_says() {
    let mut scratch = Scratch::default();
    let mut wrong = Vec::new();
    for (path, expect) in samples() {
        let text = std::fs::read_to_string(&path).expect("readable sample");
        for (i, (line, (drops, code))) in text.lines().zip(&expect.verdicts).enumerate() {
            let at = format!("{}:{}", path.display(), i + 1);
            let rec = record(expect.envelope, line, expect.node.as_deref(), &at);
            let bytes = serde_json::to_vec(&rec).expect("serialisable");
            let fast = rule::evaluate(&bytes, &mut scratch);
            let precise = rule::explain(&bytes, &mut scratch);
            if fast.drops() != *drops || precise.drops() != *drops || precise.code() != code {
                wrong.push(format!(
                    "{at}: expected {} {code}, evaluate() says {}, explain() says {}",
                    if *drops { "drop" } else { "keep" },
                    fast.code(),
                    precise.code()
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} verdicts differ:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

/// examples/README.md has one table row per sample:
/// `| [name](name) | envelope | node | lines | drops | keeps | ... |`.
#[test]
fn readme_table_matches_the_expect_files() {
    let readme_path = examples_dir().join("README.md");
    let readme = std::fs::read_to_string(&readme_path).expect("examples/README.md exists");
    let mut rows: BTreeMap<String, (usize, usize, usize)> = BTreeMap::new();
    for line in readme.lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        // ["", name, envelope, node, lines, drops, keeps, ..., ""]
        if cells.len() < 8 || !cells[1].starts_with('[') {
            continue;
        }
        let name = cells[1]
            .trim_start_matches('[')
            .split(']')
            .next()
            .unwrap_or("")
            .trim_matches('`')
            .to_string();
        let num = |s: &str| -> usize {
            s.parse()
                .unwrap_or_else(|_| panic!("examples/README.md row {name}: {s:?} is not a count"))
        };
        rows.insert(name.clone(), (num(cells[4]), num(cells[5]), num(cells[6])));
    }
    let samples = samples();
    assert_eq!(
        rows.keys().cloned().collect::<Vec<_>>(),
        samples
            .iter()
            .map(|(p, _)| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect::<Vec<_>>(),
        "examples/README.md must have exactly one row per sample file"
    );
    for (path, expect) in &samples {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let drops = expect.verdicts.iter().filter(|(d, _)| *d).count();
        let keeps = expect.verdicts.len() - drops;
        assert_eq!(
            rows[&name],
            (expect.verdicts.len(), drops, keeps),
            "examples/README.md row {name}: (lines, drops, keeps) disagree with {name}.expect"
        );
    }
}

/// The real replay (`selfscrape replay --node NAME --explain FILE`, the
/// module in the WAMR host) explains every line as its `.expect` file says,
/// and passes on exactly the kept records.
#[test]
fn replay_explains_what_each_expect_file_says() {
    // Fails loudly when the module is missing or stale.
    common::module_bytes();
    let mut wrong = Vec::new();
    for (path, expect) in samples() {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_selfscrape"));
        cmd.arg("replay").arg("--explain");
        if let Some(node) = &expect.node {
            cmd.arg("--node").arg(node);
        }
        let out = cmd.arg(&path).output().expect("runs selfscrape");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "{}: replay failed ({}):\n{stderr}",
            path.display(),
            out.status
        );
        let prefix = format!("{}:", path.display());
        let explained: Vec<(bool, String)> = stderr
            .lines()
            .filter_map(|l| l.strip_prefix(&prefix))
            .filter_map(|rest| {
                let (_line, rest) = rest.split_once(": ")?;
                let mut words = rest.split([' ', ':']);
                let verdict = words.next()?;
                let code = words.next()?;
                Some((verdict == "drop", code.to_string()))
            })
            .collect();
        if explained != expect.verdicts {
            wrong.push(format!(
                "{}: replay explains\n  {explained:?}\nexpected\n  {:?}",
                path.display(),
                expect.verdicts
            ));
        }
        let kept = expect.verdicts.iter().filter(|(d, _)| !d).count();
        let passed = String::from_utf8_lossy(&out.stdout).lines().count();
        if passed != kept {
            wrong.push(format!(
                "{}: replay passed on {passed} records, expected {kept}",
                path.display()
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

//! `selfscrape replay --function F` on any export with Fluent Bit's filter
//! signature, in modules without `explain_self_scrape`: the verdicts come
//! from what the function returned (dropped: an empty reply, kept: the record
//! unchanged, modified: another JSON object), and on the case corpus the
//! module without explain gives the normal replay's verdicts and records.
use crate::common::{self, corpus};

use std::path::{Path, PathBuf};

struct Run {
    code: i32,
    stdout: Vec<u8>,
    stderr: String,
}

/// `selfscrape replay --wasm WASM ARGS` over `stdin`.
fn replay(wasm: &Path, args: &[&str], stdin: &[u8]) -> Run {
    let mut all: Vec<&std::ffi::OsStr> =
        vec!["replay".as_ref(), "--wasm".as_ref(), wasm.as_os_str()];
    all.extend(args.iter().map(std::ffi::OsStr::new));
    let run = common::run_cli(env!("CARGO_BIN_EXE_selfscrape"), &all, stdin, &[]);
    Run {
        code: run.code,
        stdout: run.stdout,
        stderr: run.stderr,
    }
}

/// A directory of this test process's own, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!(
            "selfscrape-replay-function-{name}-{}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).expect("temp dir");
        Scratch(dir)
    }

    fn file(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let p = self.0.join(name);
        std::fs::write(&p, bytes).expect("write");
        p
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// tests/fixtures/replay/filters.wat, built.
fn filters(dir: &Scratch) -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/replay/filters.wat");
    let wasm = wat::parse_file(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    dir.file("filters.wasm", &wasm)
}

/// The `--explain` lines' outcomes (`drop`, `keep`, `modify`, ...), in order.
fn outcomes(stderr: &str) -> Vec<String> {
    stderr
        .lines()
        .filter(|l| l.starts_with("<stdin>:"))
        .map(|l| {
            let rest = l.splitn(3, ':').nth(2).unwrap_or("").trim_start();
            rest.split([' ', ':']).next().unwrap_or("").to_string()
        })
        .collect()
}

fn leb(bytes: &[u8], at: &mut usize) -> u32 {
    let (mut value, mut shift) = (0u32, 0);
    loop {
        let b = bytes[*at];
        *at += 1;
        value |= u32::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return value;
        }
        shift += 7;
    }
}

fn put_leb(out: &mut Vec<u8>, mut value: u32) {
    loop {
        let b = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

/// `wasm` without the export named `name` (the function stays in the code;
/// only its export entry goes).
fn without_export(wasm: &[u8], name: &str) -> Vec<u8> {
    let mut out = wasm[..8].to_vec();
    let mut at = 8;
    let mut removed = false;
    while at < wasm.len() {
        let id = wasm[at];
        at += 1;
        let size = leb(wasm, &mut at) as usize;
        let body = &wasm[at..at + size];
        at += size;
        let body = if id == 7 {
            let mut i = 0;
            let count = leb(body, &mut i);
            let mut kept = Vec::new();
            let mut n = 0;
            for _ in 0..count {
                let start = i;
                let len = leb(body, &mut i) as usize;
                let export = &body[i..i + len];
                i += len + 1;
                leb(body, &mut i);
                if export == name.as_bytes() {
                    removed = true;
                } else {
                    kept.extend_from_slice(&body[start..i]);
                    n += 1;
                }
            }
            let mut section = Vec::new();
            put_leb(&mut section, n);
            section.extend_from_slice(&kept);
            section
        } else {
            body.to_vec()
        };
        out.push(id);
        put_leb(&mut out, body.len() as u32);
        out.extend_from_slice(&body);
    }
    assert!(removed, "the module has no export {name}");
    out
}

#[test]
fn verdicts_come_from_what_the_function_returned() {
    let dir = Scratch::new("verdicts");
    let wasm = filters(&dir);
    // 25, 59 and 99 bytes: one of each outcome of by_length.
    let records = [
        r#"{"log":"short record"}"#.to_string(),
        format!(r#"{{"log":"{}"}}"#, "m".repeat(50)),
        format!(r#"{{"log":"{}"}}"#, "l".repeat(90)),
    ];
    let input = format!("{}\n", records.join("\n"));
    let replaced = r#"{"replaced":true}"#;

    let run = replay(
        &wasm,
        &["--function", "by_length", "--explain"],
        input.as_bytes(),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(outcomes(&run.stderr), ["drop", "keep", "modify"]);
    assert_eq!(
        String::from_utf8(run.stdout).unwrap(),
        format!("{}\n{replaced}\n", records[1])
    );
    for want in [
        "selfscrape replay: by_length (",
        "  records    3 read, 2 passed on (1 of them modified), 1 dropped (33.3%)",
        "  reasons    not available: the module has no explain_self_scrape (the verdicts are what by_length returned)",
        "  result     ok",
    ] {
        assert!(run.stderr.contains(want), "no {want:?} in:\n{}", run.stderr);
    }

    for (function, out, summary) in [
        ("keep", input.clone(), "3 read, 3 passed on, 0 dropped"),
        ("drop_all", String::new(), "3 read, 0 passed on, 3 dropped"),
        ("null", String::new(), "3 read, 0 passed on, 3 dropped"),
        (
            "replace",
            format!("{replaced}\n{replaced}\n{replaced}\n"),
            "3 read, 3 passed on (3 of them modified), 0 dropped",
        ),
    ] {
        let run = replay(&wasm, &["--function", function], input.as_bytes());
        assert_eq!(run.code, 0, "{function}: {}", run.stderr);
        assert_eq!(String::from_utf8(run.stdout).unwrap(), out, "{function}");
        assert!(run.stderr.contains(summary), "{function}: {}", run.stderr);
    }
}

#[test]
fn a_function_fluent_bit_cannot_call_is_refused_clearly() {
    let dir = Scratch::new("refused");
    let wasm = filters(&dir);
    for (function, message) in [
        ("not_a_filter", "`not_a_filter` in the module"),
        ("nope", "has no function `nope`"),
        ("drop_self_scrape", "has no function `drop_self_scrape`"),
    ] {
        let run = replay(&wasm, &["--function", function], b"{\"a\":1}\n");
        assert_eq!(run.code, 3, "{function}: {}", run.stderr);
        assert!(run.stdout.is_empty(), "{function}");
        assert!(
            run.stderr.contains(message) && !run.stderr.contains("panicked"),
            "{function}: {}",
            run.stderr
        );
    }
    let run = replay(&wasm, &["--function", "not_a_filter"], b"");
    assert!(
        run.stderr
            .contains("is (i32) -> (i32), not a Fluent Bit filter"),
        "{}",
        run.stderr
    );
}

#[test]
fn the_module_without_explain_agrees_with_the_normal_replay_on_the_corpus() {
    let dir = Scratch::new("corpus");
    let module = common::module_path();
    let stripped = dir.file(
        "no-explain.wasm",
        &without_export(&common::module_bytes(), "explain_self_scrape"),
    );
    // Every record Fluent Bit can send in JSON mode that is one line of
    // NDJSON the replay reads (not nested beyond serde_json's limit).
    let cases: Vec<&corpus::Case> = corpus::selected()
        .into_iter()
        .filter(|c| {
            c.json_mode()
                && !c.record.contains(&b'\n')
                && !c.record.contains(&b'\r')
                && serde_json::from_slice::<serde_json::Value>(&c.record).is_ok()
        })
        .collect();
    // The whole corpus unless SELFSCRAPE_CASE narrows it.
    let whole = corpus::case_filter().is_none();
    assert!(!whole || cases.len() > 300, "{} cases", cases.len());
    let mut input = Vec::new();
    for c in &cases {
        input.extend_from_slice(&c.record);
        input.push(b'\n');
    }

    let args = ["--function", "drop_self_scrape", "--explain"];
    let normal = replay(&module, &args, &input);
    let without = replay(&stripped, &args, &input);
    assert_eq!(normal.code, 0, "{}", normal.stderr);
    assert_eq!(without.code, 0, "{}", without.stderr);
    assert!(
        without.stderr.contains("reasons    not available"),
        "{}",
        without.stderr
    );
    assert!(normal.stdout == without.stdout, "the kept records differ");
    let (a, b) = (outcomes(&normal.stderr), outcomes(&without.stderr));
    assert_eq!(a.len(), cases.len(), "{}", normal.stderr);
    assert_eq!(a, b);
    let records_line = |s: &str| {
        s.lines()
            .find(|l| l.starts_with("  records "))
            .map(str::to_owned)
    };
    assert_eq!(records_line(&normal.stderr), records_line(&without.stderr));
    // And both are the corpus's verdicts (Fluent Bit's) wherever the module
    // got the corpus's own bytes: records already in Fluent Bit's compact
    // form (the replay prints the others again, and a repeated key does not
    // survive that).
    let as_sent = |c: &corpus::Case| {
        serde_json::from_slice(&c.record)
            .is_ok_and(|v| selfscrape_replay::fluent_bit_json(&v) == c.record)
    };
    assert!(!whole || cases.iter().filter(|c| as_sent(c)).count() > 300);
    let mut outcome = b.iter();
    corpus::run_cases(
        "the replay without explain_self_scrape, records as sent",
        &cases,
        |c, f| {
            let got = outcome.next().expect("an outcome per case");
            if as_sent(c) && c.verdict.as_str() != got.as_str() {
                f.add(c, format!("the replay says {got}"));
            }
        },
    );
    assert!(!whole || b.iter().filter(|o| *o == "drop").count() > 50);
}
